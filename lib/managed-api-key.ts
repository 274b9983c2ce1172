import { ArnFormat, RemovalPolicy, Stack, Tags, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { normaliseBaseUrl } from '../lambdas/core/base-url';
import { BOOTSTRAP_SECRET_KEY, BOOTSTRAP_SECRET_MARKER, STAGE, TAG, type Environment, type ProviderId, type SecretKind } from '../lambdas/core/contracts';
import { ConfigError, KeyrotorError } from '../lambdas/core/errors';
import { CREDENTIAL_ID_PATTERN, DEFAULT_ROTATION_INTERVAL_DAYS, parseConfig, SECRET_NAME_PREFIX } from './config';
import { EncryptionKey } from './encryption-key';
import { ROTATION_SECRET_ACTIONS } from './rotation-function';

// The bootstrap value is a constant on purpose (see BOOTSTRAP_SECRET_MARKER): CloudFormation
// regenerates a secret whose GenerateSecretString changes, so nothing derived from props may
// go in it, or a later `cdk deploy` would overwrite the live API key.
export { BOOTSTRAP_SECRET_KEY, BOOTSTRAP_SECRET_MARKER };

/**
 * The `generateSecretString` of every keyrotor secret: the constant {@link BOOTSTRAP_SECRET_MARKER}
 * plus a random `bootstrap` field. Never put anything config-derived in it.
 */
export function bootstrapSecretString(): secretsmanager.SecretStringGenerator {
  return {
    secretStringTemplate: JSON.stringify(BOOTSTRAP_SECRET_MARKER),
    generateStringKey: BOOTSTRAP_SECRET_KEY,
    excludePunctuation: true,
  };
}

/** `rate(1 day)`, `rate(90 days)`: Secrets Manager's rate expressions use the singular for one. */
export function rotationRate(days: number): string {
  return days === 1 ? 'rate(1 day)' : `rate(${days} days)`;
}

/**
 * The staging labels {@link ManagedApiKey.grantRead} lets a reader ask for: the current key, and
 * the one it replaced (still alive during the grace period). Never `AWSPENDING`: a pending key
 * has not passed `testSecret` yet.
 */
export const READABLE_STAGES = [STAGE.current, STAGE.previous] as const;

/** What this construct's secrets hold (the `keyrotor:kind` tag). */
const KIND: SecretKind = 'api-key';

/** Secrets Manager's service principal, which invokes rotation functions. */
const SECRETS_MANAGER_PRINCIPAL = 'secretsmanager.amazonaws.com';

/** Secrets Manager's limit on a secret's description. */
const MAX_DESCRIPTION_LENGTH = 2048;

/**
 * A rotation function that grants itself what it needs on each secret it rotates, such as
 * keyrotor's `RotationFunction` (its `grantRotation` allows the four rotation steps and the tags
 * it keeps current on that secret's ARN only).
 *
 * A rotator uses the encryption key it was built with (keyrotor's `RotationFunction`: its
 * `encryptionKey` prop), so a {@link ManagedApiKey} rotated by one must be encrypted with that key.
 */
export interface IApiKeyRotator {
  /** The function Secrets Manager invokes for the rotation steps. */
  readonly function: lambda.IFunction;

  /** Lets the function run the rotation steps on `secret`, and on no other secret. */
  grantRotation(secret: secretsmanager.ISecret): void;
}

/** What runs a {@link ManagedApiKey}'s rotation: your own function, or a rotator such as keyrotor's `RotationFunction`. */
export type ManagedApiKeyRotationFunction = lambda.IFunction | IApiKeyRotator;

/** Properties of {@link ManagedApiKey}. */
export interface ManagedApiKeyProps {
  /** The platform that issued the key: one of `PROVIDER_IDS` (`thought-industries`, `thrive`, …). */
  readonly provider: ProviderId;

  /**
   * `production` or `sandbox`. keyrotor's rotation never promotes a sandbox key into a
   * production secret.
   */
  readonly environment: Environment;

  /**
   * The platform instance, e.g. `https://acme.thoughtindustries.com`. https only; plain http is
   * accepted for loopback hosts (local platform sandboxes). Stored, without a trailing slash, in
   * the secret's `keyrotor:base-url` tag, so it must fit a tag value.
   */
  readonly baseUrl: string;

  /**
   * The secret's name. It must be `keyrotor/<id>` with `<id>` 1 to 63 lowercase letters, digits
   * or hyphens: keyrotor's sweep, CLI and alerts find managed secrets by that prefix, and `<id>`
   * goes into the `keyrotor:credential` tag.
   *
   * Changing it replaces the secret (a new, empty one): choose it once.
   * @default `keyrotor/<construct id>`
   */
  readonly secretName?: string;

  /**
   * Days between scheduled rotations, from 1 to 1000 (the Secrets Manager limit). The schedule
   * is native (`rate(N days)`), so Secrets Manager itself starts each rotation.
   * @default DEFAULT_ROTATION_INTERVAL_DAYS (90)
   */
  readonly rotationIntervalDays?: number;

  /**
   * The customer-managed KMS key the secret is encrypted with. Required with an
   * {@link IApiKeyRotator}: pass the key the rotator was built with.
   * @default - a new customer-managed key with automatic rotation, kept or deleted with the secret (see `removalPolicy`)
   */
  readonly encryptionKey?: kms.IKey;

  /**
   * What Secrets Manager invokes to rotate the key.
   *
   * - An {@link IApiKeyRotator} (keyrotor's `RotationFunction`) grants itself access with
   *   `grantRotation(secret)`.
   * - Any other function is granted `DescribeSecret`, `GetSecretValue`, `PutSecretValue` and
   *   `UpdateSecretVersionStage` on this secret only, and the key's `Decrypt` and
   *   `GenerateDataKey` only through Secrets Manager for this secret. It needs an execution role
   *   this app can add to (an imported function: `lambda.Function.fromFunctionAttributes` with `role`).
   *
   * Either way, Secrets Manager may invoke it for this secret only, and it gets no
   * `GetRandomPassword`: new keys come from the platform, not from a generator.
   */
  readonly rotationFunction: ManagedApiKeyRotationFunction;

  /**
   * What happens to the secret (and to the key, when this construct created it) when it leaves
   * the stack. The secret holds a live API key, so it is kept unless you decide otherwise.
   * `SNAPSHOT` is not supported by Secrets Manager.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * The secret's description, shown in the Secrets Manager console (1 to 2048 characters). It is
   * not secret: never put a key in it. Changing it updates the secret in place.
   * @default `keyrotor-managed API key <id>; provider, environment and base URL are in its keyrotor:* tags`
   */
  readonly description?: string;
}

/** {@link ManagedApiKey}'s properties are invalid; `issues` lists every problem, each naming its property. */
export class ManagedApiKeyPropsError extends KeyrotorError {
  public readonly issues: readonly string[];
  public constructor(path: string, issues: readonly string[]) {
    super(`ManagedApiKey ${path}: invalid properties:\n${issues.map((issue) => `  - ${issue}`).join('\n')}`);
    this.name = 'ManagedApiKeyPropsError';
    this.issues = issues;
  }
}

/**
 * One managed third-party API key: a KMS-encrypted secret named `keyrotor/<id>` with a native
 * rotation schedule (`rate(N days)`) that invokes the rotation function, ready for applications
 * to read with {@link ManagedApiKey.grantRead}.
 *
 * Secure by default: encrypted with a customer-managed key, retained when it leaves the stack,
 * rotated by Secrets Manager's own schedule (cdk-nag AwsSolutions-SMG4), never rotated by a
 * deploy (`RotateImmediatelyOnUpdate: false`), and created with a constant bootstrap value
 * (`{"keyrotor":"awaiting-first-key", …}`) instead of anything derived from props, so a later
 * deploy can never overwrite a live key. Hand the first key over with `keyrotor submit`.
 *
 * Metadata (provider, environment, base URL, credential id, kind) lives in `keyrotor:*` tags,
 * which keyrotor's sweep lists without decrypting and which a deploy may change freely.
 *
 * Every property is checked at construction; all problems are reported together in one
 * {@link ManagedApiKeyPropsError}.
 *
 * @example
 * const apiKey = new ManagedApiKey(this, 'acme-prod', {
 *   provider: 'thought-industries',
 *   environment: 'production',
 *   baseUrl: 'https://acme.thoughtindustries.com',
 *   rotationFunction: rotator,
 * });
 * apiKey.grantRead(appFunction);
 */
export class ManagedApiKey extends Construct {
  /** The secret. Give applications access with {@link ManagedApiKey.grantRead}. */
  public readonly secret: secretsmanager.Secret;
  /** The key the secret is encrypted with: the one passed in, or the one this construct created. */
  public readonly encryptionKey: kms.IKey;
  /** The secret's name, `keyrotor/<id>`. */
  public readonly secretName: string;
  /** The `<id>` of `keyrotor/<id>`, also in the `keyrotor:credential` tag. */
  public readonly credentialId: string;
  /** The native rotation schedule. */
  public readonly rotationSchedule: secretsmanager.CfnRotationSchedule;
  /** Lets Secrets Manager invoke the rotation function for this secret. */
  public readonly invokePermission: lambda.CfnPermission;

  public constructor(scope: Construct, id: string, props: ManagedApiKeyProps) {
    super(scope, id);
    const secretName = props.secretName ?? `${SECRET_NAME_PREFIX}${id}`;
    const issues = managedApiKeyProblems(id, secretName, props);
    if (issues.length > 0) throw new ManagedApiKeyPropsError(this.node.path, issues);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.secretName = secretName;
    this.credentialId = secretName.slice(SECRET_NAME_PREFIX.length);
    // A key this construct creates lives exactly as long as the secret: a retained secret is
    // unreadable without it.
    this.encryptionKey =
      props.encryptionKey ??
      new EncryptionKey(this, 'EncryptionKey', { description: `keyrotor: encrypts the managed API key ${secretName}`, removalPolicy }).key;

    this.secret = new secretsmanager.Secret(this, 'Secret', {
      secretName,
      description: props.description ?? `keyrotor-managed API key ${this.credentialId}; provider, environment and base URL are in its keyrotor:* tags`,
      encryptionKey: this.encryptionKey,
      removalPolicy,
      generateSecretString: bootstrapSecretString(),
    });

    const tags = Tags.of(this.secret);
    tags.add(TAG.provider, props.provider);
    tags.add(TAG.environment, props.environment);
    tags.add(TAG.kind, KIND);
    tags.add(TAG.baseUrl, normaliseBaseUrl(props.baseUrl));
    tags.add(TAG.credential, this.credentialId);

    const rotationFunction = props.rotationFunction;
    const fn = isRotator(rotationFunction) ? rotationFunction.function : rotationFunction;
    if (isRotator(rotationFunction)) rotationFunction.grantRotation(this.secret);
    else this.grantRotationSteps(rotationFunction);

    this.invokePermission = new lambda.CfnPermission(this, 'RotationInvokePermission', {
      action: 'lambda:InvokeFunction',
      functionName: fn.functionArn,
      principal: SECRETS_MANAGER_PRINCIPAL,
      sourceAccount: Stack.of(this).account,
      sourceArn: this.secret.secretArn,
    });

    this.rotationSchedule = new secretsmanager.CfnRotationSchedule(this, 'RotationSchedule', {
      secretId: this.secret.secretArn,
      rotationLambdaArn: fn.functionArn,
      rotationRules: { scheduleExpression: rotationRate(props.rotationIntervalDays ?? DEFAULT_ROTATION_INTERVAL_DAYS) },
      // Deploying must not rotate. Secrets Manager still runs the function's testSecret step
      // once to check the configuration, so the permission must exist first.
      rotateImmediatelyOnUpdate: false,
    });
    this.rotationSchedule.node.addDependency(this.invokePermission);
  }

  /**
   * Lets `grantee` read the current and the previous key, and nothing else:
   * `secretsmanager:GetSecretValue` on this secret only, when the request names the staging label
   * `AWSCURRENT` or `AWSPREVIOUS` (`ForAnyValue:StringEquals` on `secretsmanager:VersionStage`),
   * and `kms:Decrypt` on the secret's key only when Secrets Manager decrypts this secret for it
   * (`kms:ViaService`, and `kms:EncryptionContext:SecretARN` naming this secret). No write, no
   * `AWSPENDING`, no `DescribeSecret`.
   *
   * The condition key is matched against the request's `VersionStage` parameter, so the reader
   * must pass it: `GetSecretValue({ SecretId, VersionStage: 'AWSCURRENT' })`. A request without
   * it, or by `VersionId` alone, is denied even though the service would default to `AWSCURRENT`.
   *
   * @returns the combined grant; for a principal in another account, the statements go into the
   * secret's resource policy and the key's policy instead.
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const readValue = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [this.secret.secretArn],
      resource: this.secret,
      conditions: { 'ForAnyValue:StringEquals': { 'secretsmanager:VersionStage': [...READABLE_STAGES] } },
    });
    const decrypt = iam.Grant.addToPrincipalOrResource({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [this.encryptionKey.keyArn],
      resourceSelfArns: ['*'],
      resource: this.encryptionKey,
      conditions: this.keyUseConditions(),
    });
    return readValue.combine(decrypt);
  }

  /**
   * What a rotation function that is not an {@link IApiKeyRotator} needs: the four rotation
   * steps on this secret, and the key through Secrets Manager for this secret. No Sids, so the
   * statements sit beside whatever else the function's policy holds.
   */
  private grantRotationSteps(fn: lambda.IFunction): void {
    iam.Grant.addToPrincipal({ grantee: fn, actions: [...ROTATION_SECRET_ACTIONS], resourceArns: [this.secret.secretArn] });
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resourceArns: [this.encryptionKey.keyArn],
      conditions: this.keyUseConditions(),
    });
  }

  /**
   * The key only through Secrets Manager in this region, and only for this secret (Secrets Manager
   * puts the secret's ARN in the encryption context of every KMS call it makes for it), so a
   * grant on this secret never helps to decrypt another secret that shares the key.
   *
   * The ARN is built from the name (`<name>-??????`, the six characters Secrets Manager appends)
   * rather than taken from the secret: in a key policy (a grantee in another account), a
   * reference to the secret, which itself references the key, would be a circular dependency.
   */
  private keyUseConditions(): Record<string, Record<string, string>> {
    const stack = Stack.of(this);
    const secretArnPattern = stack.formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${this.secretName}-??????`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    return {
      StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.amazonaws.com` },
      StringLike: { 'kms:EncryptionContext:SecretARN': secretArnPattern },
    };
  }
}

function isRotator(candidate: ManagedApiKeyRotationFunction): candidate is IApiKeyRotator {
  return typeof (candidate as Partial<IApiKeyRotator>).grantRotation === 'function';
}

/** Every problem with `props`, each prefixed with the property it concerns; empty when they are valid. */
function managedApiKeyProblems(id: string, secretName: string, props: ManagedApiKeyProps): string[] {
  const problems: string[] = [];
  const literals = {
    secretName: props.secretName,
    provider: props.provider,
    environment: props.environment,
    baseUrl: props.baseUrl,
    rotationIntervalDays: props.rotationIntervalDays,
    description: props.description,
  };
  // A token's value is unknown here: report it once, and judge only the other properties.
  const tokens = new Set(Object.keys(literals).filter((name) => Token.isUnresolved(literals[name as keyof typeof literals])));
  for (const name of tokens) {
    problems.push(`${name}: must be known at synth time, not a token: it is validated here and written into the secret's name, schedule or tags`);
  }

  if (!tokens.has('secretName')) problems.push(...secretNameProblems(id, props.secretName === undefined ? undefined : secretName));
  problems.push(...credentialRuleProblems(props).filter((problem) => ![...tokens].some((name) => problem.startsWith(`${name}:`))));

  const description = props.description as unknown;
  if (description !== undefined && !tokens.has('description') && (typeof description !== 'string' || description.length === 0 || description.length > MAX_DESCRIPTION_LENGTH)) {
    problems.push(`description: must be 1 to ${MAX_DESCRIPTION_LENGTH} characters (leave it out for the default)`);
  }
  if (props.removalPolicy === RemovalPolicy.SNAPSHOT) {
    problems.push('removalPolicy: SNAPSHOT is not supported by Secrets Manager secrets; use RETAIN (the default) or DESTROY');
  }

  const rotationFunction = props.rotationFunction as ManagedApiKeyRotationFunction | undefined | null;
  if (rotationFunction === undefined || rotationFunction === null) {
    problems.push('rotationFunction: is required: the function Secrets Manager invokes for the rotation steps (your own, or keyrotor\'s RotationFunction)');
  } else if (isRotator(rotationFunction)) {
    if (props.encryptionKey === undefined) {
      problems.push(
        'encryptionKey: is required with a rotator such as keyrotor\'s RotationFunction, which can use only the key it was built with; pass that key (leaving it out would create a new key the rotator cannot use)',
      );
    }
  } else if (rotationFunction.role === undefined) {
    problems.push(
      'rotationFunction: has no execution role in this app (an imported function), so it cannot be granted the rotation steps on this secret; import it with lambda.Function.fromFunctionAttributes({ functionArn, role })',
    );
  }
  return problems;
}

/** `secretName`, or the construct id it defaults from, must name a secret `keyrotor/<id>`. */
function secretNameProblems(id: string, secretName: string | undefined): string[] {
  const idRule = '1 to 63 lowercase letters, digits or hyphens, starting with a letter or digit';
  if (secretName === undefined) {
    return CREDENTIAL_ID_PATTERN.test(id) ? [] : [`id: ${JSON.stringify(id)} cannot name the secret ${SECRET_NAME_PREFIX}<id> (${idRule}); give secretName instead`];
  }
  if (typeof secretName !== 'string' || !secretName.startsWith(SECRET_NAME_PREFIX)) {
    return [`secretName: must start with ${SECRET_NAME_PREFIX} (keyrotor's sweep, CLI and alerts find managed secrets by this prefix)`];
  }
  const credentialId = secretName.slice(SECRET_NAME_PREFIX.length);
  return CREDENTIAL_ID_PATTERN.test(credentialId) ? [] : [`secretName: the part after ${SECRET_NAME_PREFIX} must be ${idRule}, not ${JSON.stringify(credentialId)}`];
}

const CREDENTIAL_FIELD = 'credentials[0].';

/**
 * The config file's rules for a credential (provider, environment, base URL — https, or http on
 * a loopback host, and short enough for its tag — and rotation interval), applied by the config
 * parser itself, so a construct accepts exactly what `keyrotor.config.json` accepts. The name is
 * judged by {@link secretNameProblems}, so the parser's verdict on the id is left out.
 */
function credentialRuleProblems(props: ManagedApiKeyProps): string[] {
  const credential = {
    id: 'placeholder',
    provider: props.provider,
    environment: props.environment,
    baseUrl: props.baseUrl,
    ...(props.rotationIntervalDays === undefined ? {} : { rotationIntervalDays: props.rotationIntervalDays }),
  };
  try {
    parseConfig({ credentials: [credential] }, 'ManagedApiKey props');
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Only the credential's own fields: rules about the rest of a config file do not apply here.
    return error.issues.filter((issue) => issue.startsWith(CREDENTIAL_FIELD)).map((issue) => issue.slice(CREDENTIAL_FIELD.length));
  }
}
