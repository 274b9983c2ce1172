import { randomUUID } from 'node:crypto';
import { STAGE } from './contracts';
import { KeyrotorError, ManualActionRequiredError, SecretStateError, ValidationError } from './errors';
import { fingerprintOf } from './fingerprint';
import { registerSecret } from './redaction';
import { keyNameFor } from './rotation';
import { resolveSecretContext } from './secret-context';
import { credentialStrings, secretValueSchema, describeIssues, tryParseSecretValue, type ManagedSecretValue, type SecretContext } from './secret-value';
import { assertFitsSecret, verifyWithPropagation, type PropagationPolicy } from './verification';
import type { Ledger } from '../ports/ledger';
import { recordAfterTheFact } from './ledger-record';
import type { LoggerPort } from '../ports/logger';
import type { Provider, SubmissionExtras } from '../ports/provider';
import type { ProviderRegistry } from '../providers/registry';
import { versionWithStage, type SecretMetadata, type SecretStore } from '../ports/secret-store';

export interface SubmitDeps {
  readonly store: SecretStore;
  readonly providers: ProviderRegistry;
  readonly logger: LoggerPort;
  readonly propagation: PropagationPolicy;
  readonly now: () => Date;
  readonly newToken?: () => string;
  /** Where the submission is recorded (best effort: a ledger outage does not block a hand-over). */
  readonly ledger?: Ledger;
}

export interface SubmitResult {
  readonly secretName: string;
  /** The rotation's ClientRequestToken (the new version id). */
  readonly token: string;
  readonly fingerprint: string;
  readonly previousFingerprint: string | undefined;
  /** True when the key joined a rotation that was already waiting for it. */
  readonly joinedRotation: boolean;
  readonly checked: string;
}

/** The submission was stored but the rotation could not be started; the message says what to run. */
export class RotationStartError extends KeyrotorError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RotationStartError';
  }
}

interface Target {
  readonly metadata: SecretMetadata;
  readonly current: ManagedSecretValue | undefined;
  readonly context: SecretContext;
  readonly provider: Provider;
}

async function loadTarget(secretId: string, deps: SubmitDeps): Promise<Target> {
  const metadata = await deps.store.describe(secretId);
  if (!metadata.rotationEnabled) {
    throw new SecretStateError(`secret ${metadata.name} does not have rotation enabled; deploy keyrotor's stack for it first`);
  }
  const current = tryParseSecretValue(await deps.store.getValue(metadata.arn, { stage: STAGE.current }));
  if (current) registerSecret(...credentialStrings(current));
  const context = resolveSecretContext(metadata, current);
  return { metadata, current, context, provider: deps.providers.get(context.provider) };
}

/** The full secret value for a new credential: the current value's extra fields, the secret's own metadata, fresh keyrotor fields. */
function newValue(target: Target, credential: Partial<ManagedSecretValue>, deps: SubmitDeps): ManagedSecretValue {
  const candidate = secretValueSchema.safeParse({
    ...(target.current ?? {}),
    expiresAt: undefined,
    providerKeyId: undefined,
    ...credential,
    provider: target.context.provider,
    environment: target.context.environment,
    baseUrl: target.context.baseUrl,
    issuedAt: deps.now().toISOString(),
    fingerprint: undefined,
  });
  if (!candidate.success) throw new ValidationError('submitted credential', describeIssues(candidate.error.issues));
  registerSecret(...credentialStrings(candidate.data));
  return candidate.data;
}

const fingerprintOfValue = (value: ManagedSecretValue): string => fingerprintOf(credentialStrings(value)[0] ?? '');

/**
 * Hands a person-made key to keyrotor: checks its shape and environment, proves it live,
 * stores it as AWSPENDING and starts the rotation that tests and promotes it.
 *
 * - No rotation in progress: the key goes into a new version (new ClientRequestToken) and
 *   RotateSecret is called with that token: the documented retry path, so the rotation
 *   Lambda's idempotent createSecret finds the key already there.
 * - A rotation waiting for a key (a scheduled rotation that raised ManualActionRequired
 *   leaves its AWSPENDING version without a value): the key goes into that version.
 * - If Secrets Manager refuses to start the rotation, a version this call created is
 *   un-staged again so nothing is left half-done, and the error says what to run next.
 */
export async function submitKey(secretId: string, input: string, deps: SubmitDeps, extras: SubmissionExtras = {}): Promise<SubmitResult> {
  const target = await loadTarget(secretId, deps);
  const value = newValue(target, target.provider.parseSubmission(input, extras), deps);
  const fingerprint = fingerprintOfValue(value);
  if (target.current && fingerprintOfValue(target.current) === fingerprint) {
    throw new ValidationError('submitted credential', [`is the key that is already current (${fingerprint}); create a new key first`]);
  }
  assertFitsSecret(target.provider, value, target.context);
  const verified = await verifyWithPropagation(target.provider, value, target.context, deps.propagation, deps.logger);
  return stageAndRotate(target, value, verified.checked, 'keyrotor submit', deps);
}

/**
 * For platforms whose keys can be made by API only with a person's short-lived admin token
 * (Thrive): keyrotor creates the key itself with the token (used once, never stored) and
 * stores it as AWSPENDING at once, because the platform shows it only once; the rotation's
 * testSecret then proves it before promotion.
 */
export async function submitWithAdminToken(
  secretId: string,
  adminToken: string,
  correlationId: string,
  deps: SubmitDeps,
): Promise<SubmitResult> {
  registerSecret(adminToken);
  const target = await loadTarget(secretId, deps);
  const { provider, metadata, context, current } = target;
  if (!provider.issueKeyWithAdminToken) {
    throw new ValidationError('--admin-token', [`${provider.displayName} keys are not created with an admin token; run npx keyrotor submit ${metadata.name} with the new key instead`]);
  }
  if (!current) {
    throw new ManualActionRequiredError(
      `${metadata.name} holds no ${provider.displayName} credential yet; hand over the first key (JSON with tenantId and apiKey) with npx keyrotor submit ${metadata.name}`,
    );
  }
  const issued = await provider.issueKeyWithAdminToken({
    current,
    target: context,
    keyName: keyNameFor(metadata.name, deps.now()),
    adminToken,
    correlationId,
  });
  const value = newValue(target, { ...issued.value, providerKeyId: issued.providerKeyId ?? issued.value.providerKeyId }, deps);
  return stageAndRotate(target, value, `created with ${provider.displayName}'s API (verified by the rotation's testSecret)`, 'keyrotor submit --admin-token', deps);
}

async function stageAndRotate(target: Target, value: ManagedSecretValue, checked: string, actor: string, deps: SubmitDeps): Promise<SubmitResult> {
  const { metadata, current } = target;
  const fingerprint = fingerprintOfValue(value);
  const previousFingerprint = current ? fingerprintOfValue(current) : undefined;
  const serialized = JSON.stringify({ ...value, fingerprint });

  const currentVersion = versionWithStage(metadata, STAGE.current);
  const waiting = versionWithStage(metadata, STAGE.pending);
  const rotationInProgress = waiting !== undefined && waiting !== currentVersion;

  let token: string;
  let createdVersion = false;
  if (rotationInProgress) {
    token = waiting;
    const existing = await deps.store.getValue(metadata.arn, { versionId: token, stage: STAGE.pending });
    const existingValue = tryParseSecretValue(existing);
    if (existing !== undefined && !(existingValue && fingerprintOfValue(existingValue) === fingerprint)) {
      throw new SecretStateError(
        `a rotation of ${metadata.name} (version ${token}) already holds a different pending key. ` +
          `Let it finish, or discard it with: aws secretsmanager update-secret-version-stage --secret-id ${metadata.name} ` +
          `--version-stage AWSPENDING --remove-from-version-id ${token}   and submit again.`,
      );
    }
    if (existing === undefined) await deps.store.putPendingValue(metadata.arn, token, serialized);
  } else {
    token = (deps.newToken ?? randomUUID)();
    await deps.store.putPendingValue(metadata.arn, token, serialized);
    createdVersion = true;
  }
  await noteSubmission(deps, { secretArn: metadata.arn, token, fingerprint, actor, providerKeyId: value.providerKeyId });

  try {
    await deps.store.startRotation(metadata.arn, token);
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown error';
    if (createdVersion) {
      await deps.store.removeStage(metadata.arn, STAGE.pending, token);
      throw new RotationStartError(
        `Secrets Manager refused to start the rotation of ${metadata.name} (${reason}). The submitted key was verified but ` +
          `has been un-staged, so nothing changed; fix the cause and run the submit again.`,
        { cause: error },
      );
    }
    throw new RotationStartError(
      `the key ${fingerprint} is stored as AWSPENDING of the rotation already in progress for ${metadata.name}, but Secrets Manager ` +
        `refused to re-drive it (${reason}). Run: aws secretsmanager rotate-secret --secret-id ${metadata.name} --client-request-token ${token}`,
      { cause: error },
    );
  }
  deps.logger.info('submitted key stored as AWSPENDING and rotation started', { secret: metadata.name, clientRequestToken: token, fingerprint });
  return { secretName: metadata.name, token, fingerprint, previousFingerprint, joinedRotation: rotationInProgress, checked };
}

async function noteSubmission(
  deps: SubmitDeps,
  event: { secretArn: string; token: string; fingerprint: string; actor: string; providerKeyId: string | undefined },
): Promise<void> {
  if (!deps.ledger) return;
  await recordAfterTheFact(deps.ledger, deps.logger, {
    secretArn: event.secretArn,
    token: event.token,
    state: 'stored-pending',
    at: deps.now().toISOString(),
    actor: event.actor,
    fingerprint: event.fingerprint,
    ...(event.providerKeyId ? { providerKeyId: event.providerKeyId } : {}),
  });
}
