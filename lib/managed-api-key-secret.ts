import { CfnOutput, RemovalPolicy, Stack, Tags } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { BOOTSTRAP_SECRET_KEY, BOOTSTRAP_SECRET_MARKER, TAG, type SecretKind } from '../lambdas/core/contracts';
import { secretNameFor, type CredentialConfig } from './config';
import type { RotationFunction } from './rotation-function';

// The bootstrap value is a constant on purpose (see BOOTSTRAP_SECRET_MARKER): CloudFormation
// regenerates a secret whose GenerateSecretString changes, so nothing derived from config may
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

/** What this construct's secrets hold (the `keyrotor:kind` tag). */
const KIND: SecretKind = 'api-key';

/** Secrets Manager's service principal, which invokes rotation functions. */
const SECRETS_MANAGER_PRINCIPAL = 'secretsmanager.amazonaws.com';

/** Properties of {@link ManagedApiKeySecret}. */
export interface ManagedApiKeySecretProps {
  /** The credential this secret holds. Its id names the secret `keyrotor/<id>`. */
  readonly credential: CredentialConfig;

  /** The customer-managed key the secret is encrypted with. */
  readonly encryptionKey: kms.IKey;

  /** The function that runs the rotation steps; it is granted access to this secret only. */
  readonly rotationFunction: RotationFunction;

  /**
   * What happens to the secret when it leaves the stack. The secret holds a live API key, so
   * it is kept unless a caller decides otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * One managed API key: a KMS-encrypted secret named `keyrotor/<id>` with a native rotation
 * schedule (`rate(N days)`) that calls the rotation function.
 *
 * Config-derived metadata (provider, environment, base URL, credential id, kind) lives in the
 * secret's tags, which listing reads without decrypting and which a deploy may change freely.
 * The secret's value is never derived from config (see {@link BOOTSTRAP_SECRET_MARKER}), and
 * deploying never starts a rotation (`RotateImmediatelyOnUpdate: false`).
 *
 * Secrets Manager may invoke the rotation function for this secret only: the invoke
 * permission is scoped to this account and this secret's ARN. No `GetRandomPassword`
 * permission is granted, because new keys come from the platform, not from a generator.
 */
export class ManagedApiKeySecret extends Construct {
  /** The secret. Applications get read access with `secret.grantRead(role)`. */
  public readonly secret: secretsmanager.Secret;
  /** The native rotation schedule. */
  public readonly rotationSchedule: secretsmanager.CfnRotationSchedule;
  /** Lets Secrets Manager invoke the rotation function for this secret. */
  public readonly invokePermission: lambda.CfnPermission;

  public constructor(scope: Construct, id: string, props: ManagedApiKeySecretProps) {
    super(scope, id);
    const { credential, rotationFunction } = props;

    this.secret = new secretsmanager.Secret(this, 'Secret', {
      secretName: secretNameFor(credential.id),
      description: `keyrotor-managed API key ${credential.id}; provider, environment and base URL are in its keyrotor:* tags`,
      encryptionKey: props.encryptionKey,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      generateSecretString: bootstrapSecretString(),
    });

    const tags = Tags.of(this.secret);
    tags.add(TAG.provider, credential.provider);
    tags.add(TAG.environment, credential.environment);
    tags.add(TAG.kind, KIND);
    tags.add(TAG.baseUrl, credential.baseUrl);
    tags.add(TAG.credential, credential.id);

    rotationFunction.grantRotation(this.secret);

    this.invokePermission = new lambda.CfnPermission(this, 'RotationInvokePermission', {
      action: 'lambda:InvokeFunction',
      functionName: rotationFunction.function.functionArn,
      principal: SECRETS_MANAGER_PRINCIPAL,
      sourceAccount: Stack.of(this).account,
      sourceArn: this.secret.secretArn,
    });

    this.rotationSchedule = new secretsmanager.CfnRotationSchedule(this, 'RotationSchedule', {
      secretId: this.secret.secretArn,
      rotationLambdaArn: rotationFunction.function.functionArn,
      rotationRules: { scheduleExpression: rotationRate(credential.rotationIntervalDays) },
      // Deploying must not rotate. Secrets Manager still runs the function's testSecret step
      // once to check the configuration, so the permission must exist first.
      rotateImmediatelyOnUpdate: false,
    });
    this.rotationSchedule.node.addDependency(this.invokePermission);

    new CfnOutput(this, 'SecretArn', {
      description: credential.description
        ? `ARN of keyrotor/${credential.id}: ${credential.description}`
        : `ARN of keyrotor/${credential.id} (${credential.provider}, ${credential.environment})`,
      value: this.secret.secretArn,
    });
  }
}

/** `rate(1 day)`, `rate(90 days)`: Secrets Manager's rate expressions use the singular for one. */
export function rotationRate(days: number): string {
  return days === 1 ? 'rate(1 day)' : `rate(${days} days)`;
}
