import { randomUUID } from 'node:crypto';
import { STAGE } from './contracts';
import { KeyrotorError, SecretStateError, ValidationError } from './errors';
import { fingerprintOf } from './fingerprint';
import { registerSecret } from './redaction';
import { resolveSecretContext } from './secret-context';
import { credentialStrings, secretValueSchema, describeIssues, tryParseSecretValue, type ManagedSecretValue } from './secret-value';
import { assertFitsSecret, verifyWithPropagation, type PropagationPolicy } from './verification';
import type { LoggerPort } from '../ports/logger';
import type { ProviderRegistry } from '../providers/registry';
import { versionWithStage, type SecretStore } from '../ports/secret-store';

export interface SubmitDeps {
  readonly store: SecretStore;
  readonly providers: ProviderRegistry;
  readonly logger: LoggerPort;
  readonly propagation: PropagationPolicy;
  readonly now: () => Date;
  readonly newToken?: () => string;
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

/** The submission was stored but the rotation could not be started; `nextStep` says what to run. */
export class RotationStartError extends KeyrotorError {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RotationStartError';
  }
}

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
export async function submitKey(secretId: string, input: string, deps: SubmitDeps): Promise<SubmitResult> {
  const metadata = await deps.store.describe(secretId);
  if (!metadata.rotationEnabled) {
    throw new SecretStateError(`secret ${metadata.name} does not have rotation enabled; deploy keyrotor's stack for it first`);
  }
  const currentRaw = await deps.store.getValue(metadata.arn, { stage: STAGE.current });
  const current = tryParseSecretValue(currentRaw);
  if (current) registerSecret(...credentialStrings(current));
  const context = resolveSecretContext(metadata, current);
  const provider = deps.providers.get(context.provider);

  const credential = provider.parseSubmission(input);
  const candidate = secretValueSchema.safeParse({
    ...(current ?? {}),
    ...credential,
    provider: context.provider,
    environment: context.environment,
    baseUrl: context.baseUrl,
    issuedAt: deps.now().toISOString(),
    expiresAt: undefined,
    providerKeyId: undefined,
    fingerprint: undefined,
  });
  if (!candidate.success) throw new ValidationError('submitted credential', describeIssues(candidate.error.issues));
  const value: ManagedSecretValue = candidate.data;
  const secretStrings = credentialStrings(value);
  registerSecret(...secretStrings);
  const fingerprint = fingerprintOf(secretStrings[0] ?? '');
  const previousFingerprint = current ? fingerprintOf(credentialStrings(current)[0] ?? '') : undefined;
  if (previousFingerprint === fingerprint) {
    throw new ValidationError('submitted credential', [`is the key that is already current (${fingerprint}); create a new key first`]);
  }

  assertFitsSecret(provider, value, context);
  const verified = await verifyWithPropagation(provider, value, context, deps.propagation, deps.logger);
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
    if (existing !== undefined && !(existingValue && fingerprintOf(credentialStrings(existingValue)[0] ?? '') === fingerprint)) {
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
  deps.logger.info('submitted key stored as AWSPENDING and rotation started', { secret: metadata.name, token, fingerprint });
  return { secretName: metadata.name, token, fingerprint, previousFingerprint, joinedRotation: rotationInProgress, checked: verified.checked };
}
