import { STAGE, type RotationStep } from './contracts';
import { ManualActionRequiredError, SecretStateError, ValidationError } from './errors';
import { fingerprintOf } from './fingerprint';
import { registerSecret } from './redaction';
import { resolveSecretContext } from './secret-context';
import { credentialStrings, parseSecretValue, tryParseSecretValue, type SecretContext } from './secret-value';
import { assertFitsSecret, verifyWithPropagation, type PropagationPolicy } from './verification';
import type { LoggerPort } from '../ports/logger';
import type { ProviderRegistry } from '../providers/registry';
import { versionWithStage, type SecretMetadata, type SecretStore } from '../ports/secret-store';

/** Secrets Manager's rotation event. */
export interface RotationEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: RotationStep;
}

export interface RotationDeps {
  readonly store: SecretStore;
  readonly providers: ProviderRegistry;
  readonly logger: LoggerPort;
  readonly propagation: PropagationPolicy;
  readonly now: () => Date;
}

/** What a step did, for logs and tests. */
export type StepOutcome =
  | 'already-current'
  | 'pending-exists'
  | 'nothing-to-set'
  | 'verified'
  | 'configuration-test'
  | 'promoted'
  | 'already-promoted';

/** A name for the new platform key that ties it to the secret and the day, so a person can find it later. */
export function keyNameFor(secretName: string, now: Date): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  return `keyrotor-${secretName.replace(/^keyrotor\//, '').replace(/[^A-Za-z0-9-]/g, '-')}-${day}`;
}

/**
 * Runs one step of Secrets Manager's rotation protocol with the guards of AWS's own rotation
 * template: rotation must be enabled, the token must be a version of the secret staged
 * AWSPENDING, and a token that is already AWSCURRENT means the work is done.
 * @throws SecretStateError when a guard fails; ManualActionRequiredError when a person must
 *   hand over a key; ProviderError / EnvironmentMismatchError when the pending key is refused.
 */
export async function runRotationStep(event: RotationEvent, deps: RotationDeps): Promise<StepOutcome> {
  const { SecretId: secretId, ClientRequestToken: token, Step: step } = event;
  const metadata = await deps.store.describe(secretId);
  if (!metadata.rotationEnabled) {
    throw new SecretStateError(`secret ${metadata.name} does not have rotation enabled; enable it (cdk deploy) before rotating`);
  }
  const stages = metadata.versionIdsToStages[token];
  if (stages === undefined) {
    throw new SecretStateError(`secret ${metadata.name} has no version ${token} to rotate to`);
  }
  if (stages.includes(STAGE.current)) {
    deps.logger.info('version is already AWSCURRENT; nothing to do', { step, secret: metadata.name, token });
    return 'already-current';
  }
  if (!stages.includes(STAGE.pending)) {
    throw new SecretStateError(`version ${token} of secret ${metadata.name} is not staged AWSPENDING; start the rotation again`);
  }

  switch (step) {
    case 'createSecret':
      return createSecret(metadata, token, deps);
    case 'setSecret':
      // The platform issued the key; there is nothing to set on its side.
      deps.logger.info('setSecret: nothing to set for a platform-issued key', { secret: metadata.name, token });
      return 'nothing-to-set';
    case 'testSecret':
      return testSecret(metadata, token, deps);
    case 'finishSecret':
      return finishSecret(metadata, token, deps);
  }
}

async function readCurrent(metadata: SecretMetadata, deps: RotationDeps) {
  const raw = await deps.store.getValue(metadata.arn, { stage: STAGE.current });
  const value = tryParseSecretValue(raw);
  if (value) registerSecret(...credentialStrings(value));
  return value;
}

async function createSecret(metadata: SecretMetadata, token: string, deps: RotationDeps): Promise<StepOutcome> {
  const pending = await deps.store.getValue(metadata.arn, { versionId: token, stage: STAGE.pending });
  if (pending !== undefined) {
    // Idempotent: a retried step, or a key a person submitted with `keyrotor submit`.
    const value = parseSecretValue(pending, `pending value of ${metadata.name}`);
    registerSecret(...credentialStrings(value));
    deps.logger.info('createSecret: pending version already holds a key', {
      secret: metadata.name,
      token,
      fingerprint: value.fingerprint ?? fingerprintOf(credentialStrings(value)[0] ?? ''),
    });
    return 'pending-exists';
  }

  const current = await readCurrent(metadata, deps);
  const context = resolveSecretContext(metadata, current);
  const provider = deps.providers.get(context.provider);
  if (!provider.capabilities.issueByApi) {
    throw new ManualActionRequiredError(
      `${metadata.name} is due for rotation and ${provider.displayName} keys can only be created by a person. ` +
        provider.manual.issue({
          secretName: metadata.name,
          baseUrl: context.baseUrl,
          environment: context.environment,
          keyName: keyNameFor(metadata.name, deps.now()),
        }),
    );
  }
  // No provider that issues keys by API is implemented in this release; the registry refuses them.
  throw new SecretStateError(`${provider.displayName} can issue keys by API but keyrotor does not implement it yet`);
}

async function testSecret(metadata: SecretMetadata, token: string, deps: RotationDeps): Promise<StepOutcome> {
  const raw = await deps.store.getValue(metadata.arn, { versionId: token, stage: STAGE.pending });
  if (raw === undefined) {
    throw new SecretStateError(`version ${token} of ${metadata.name} has no pending value to test; run createSecret first`);
  }
  const currentRaw = await deps.store.getValue(metadata.arn, { stage: STAGE.current });
  if (raw === currentRaw) {
    // Secrets Manager's configuration test: when a schedule is created or changed without
    // rotating (RotateImmediatelyOnUpdate false, as keyrotor deploys it), the service runs
    // testSecret alone on a pending copy of the current value, then removes it. keyrotor never
    // stages a copy of the current key in a real rotation (submit refuses it), so there is no
    // new key to prove; calling the platform here would make a deploy depend on it.
    deps.logger.info('testSecret: configuration test on a copy of the current value; nothing to verify', { secret: metadata.name, token });
    return 'configuration-test';
  }
  const pending = parseSecretValue(raw, `pending value of ${metadata.name}`);
  registerSecret(...credentialStrings(pending));
  const current = tryParseSecretValue(currentRaw);
  if (current) registerSecret(...credentialStrings(current));
  const context: SecretContext = resolveSecretContext(metadata, current);
  const provider = deps.providers.get(context.provider);
  assertFitsSecret(provider, pending, context);
  const result = await verifyWithPropagation(provider, pending, context, deps.propagation, deps.logger);
  deps.logger.info('testSecret: pending key verified', {
    secret: metadata.name,
    token,
    fingerprint: fingerprintOf(credentialStrings(pending)[0] ?? ''),
    checked: result.checked,
  });
  return 'verified';
}

async function finishSecret(metadata: SecretMetadata, token: string, deps: RotationDeps): Promise<StepOutcome> {
  const currentVersion = versionWithStage(metadata, STAGE.current);
  if (currentVersion === token) return 'already-promoted';
  const current = await readCurrent(metadata, deps);
  const raw = await deps.store.getValue(metadata.arn, { versionId: token, stage: STAGE.pending });
  if (raw === undefined) {
    throw new ValidationError(`pending value of ${metadata.name}`, ['is missing; the rotation must be started again']);
  }
  const pending = parseSecretValue(raw, `pending value of ${metadata.name}`);
  registerSecret(...credentialStrings(pending));

  await deps.store.moveStage(metadata.arn, STAGE.current, token, currentVersion);
  const newFingerprint = fingerprintOf(credentialStrings(pending)[0] ?? '');
  deps.logger.info('finishSecret: new key is AWSCURRENT', { secret: metadata.name, token, fingerprint: newFingerprint, previousVersion: currentVersion });

  if (current) {
    const context = resolveSecretContext(metadata, current);
    const provider = deps.providers.get(context.provider);
    const oldFingerprint = fingerprintOf(credentialStrings(current)[0] ?? '');
    if (!provider.capabilities.revokeByApi) {
      deps.logger.warn('manual action required: remove the old key', {
        secret: metadata.name,
        fingerprint: oldFingerprint,
        action: provider.manual.revoke({ secretName: metadata.name, baseUrl: context.baseUrl, fingerprint: oldFingerprint }),
      });
    }
  }
  return 'promoted';
}
