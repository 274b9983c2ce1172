import * as z from 'zod/mini';
import { STAGE } from './contracts';
import { ManualActionRequiredError, SecretStateError, ValidationError } from './errors';
import { registerSecret } from './redaction';
import { keyIdOf } from './rotation';
import { resolveSecretContext } from './secret-context';
import { credentialStrings, describeIssues, parseSecretValue } from './secret-value';
import type { Ledger } from '../ports/ledger';
import { NO_EVENTS, publishSecretEvent, type EventPublisher } from './events';
import type { LoggerPort } from '../ports/logger';
import type { RevocationRequest } from '../ports/revocation-scheduler';
import type { SecretStore } from '../ports/secret-store';
import type { ProviderRegistry } from '../providers/registry';

export interface RevokeDeps {
  readonly store: SecretStore;
  readonly providers: ProviderRegistry;
  readonly ledger: Ledger;
  readonly logger: LoggerPort;
  readonly now: () => Date;
  /** Where keyrotor's events go. @default NO_EVENTS */
  readonly events?: EventPublisher;
}

const requestSchema = z.object({
  secretArn: z.string().check(z.minLength(1)),
  token: z.string().check(z.minLength(1)),
  versionId: z.string().check(z.minLength(1)),
  providerKeyId: z.string().check(z.minLength(1)),
  fingerprint: z.string(),
});

/** Validates the revoker's event (the schedule's input). */
export function parseRevocationRequest(event: unknown): RevocationRequest {
  const result = requestSchema.safeParse(event);
  if (!result.success) throw new ValidationError('revocation request', describeIssues(result.error.issues));
  return result.data;
}

/**
 * Revokes an old key once its grace period has passed. Re-reads the secret first and refuses
 * to revoke a key that is AWSCURRENT (a rotation that never finished, or a rollback): that
 * would cut every reader off.
 * @throws SecretStateError when the key is current; ManualActionRequiredError when the platform cannot revoke by API.
 */
export async function revokeOldKey(request: RevocationRequest, deps: RevokeDeps): Promise<'revoked' | 'already-revoked'> {
  const metadata = await deps.store.describe(request.secretArn);
  const stages = metadata.versionIdsToStages[request.versionId] ?? [];
  const currentRaw = await deps.store.getValue(metadata.arn, { stage: STAGE.current });
  const current = parseSecretValue(currentRaw ?? '', `current value of ${metadata.name}`);
  registerSecret(...credentialStrings(current));
  const context = resolveSecretContext(metadata, current);
  const provider = deps.providers.get(context.provider);

  if (stages.includes(STAGE.current) || keyIdOf(provider, current) === request.providerKeyId) {
    await deps.ledger.record({
      secretArn: metadata.arn,
      token: request.token,
      state: 'revocation-refused',
      at: deps.now().toISOString(),
      actor: 'revoker',
      providerKeyId: request.providerKeyId,
      fingerprint: request.fingerprint,
      detail: 'the key is AWSCURRENT',
    });
    await publishSecretEvent(deps.events ?? NO_EVENTS, deps.logger, metadata, 'RotationFailed', {
      step: 'revoke',
      rotation: request.token,
      fingerprint: request.fingerprint,
      errorName: 'SecretStateError',
      summary: `the scheduled revocation of key ${request.fingerprint} of ${metadata.name} was refused: the key is still AWSCURRENT`,
      done: 'Nothing was revoked; the key keeps working.',
      action: 'Finish or restart the rotation (npx keyrotor submit / aws secretsmanager rotate-secret); revoke the old key only after another key is current.',
    });
    throw new SecretStateError(
      `refusing to revoke key ${request.fingerprint} of ${metadata.name}: it is still AWSCURRENT (the rotation that replaced it did not finish). ` +
        `Finish or restart the rotation (npx keyrotor submit / aws secretsmanager rotate-secret); revoke it by hand only after another key is current.`,
    );
  }
  if (!provider.capabilities.revokeByApi || !provider.revokeKey) {
    throw new ManualActionRequiredError(provider.manual.revoke({ secretName: metadata.name, baseUrl: context.baseUrl, fingerprint: request.fingerprint }));
  }
  const outcome = await provider.revokeKey({ authenticateWith: current, providerKeyId: request.providerKeyId, target: context });
  await deps.ledger.record({
    secretArn: metadata.arn,
    token: request.token,
    state: 'revoked',
    at: deps.now().toISOString(),
    actor: 'revoker',
    providerKeyId: request.providerKeyId,
    fingerprint: request.fingerprint,
    detail: outcome,
  });
  await publishSecretEvent(deps.events ?? NO_EVENTS, deps.logger, metadata, 'KeyRevoked', {
    step: 'revoke',
    rotation: request.token,
    fingerprint: request.fingerprint,
    summary: `the old key ${request.fingerprint} of ${metadata.name} was revoked after its grace period (${outcome})`,
    done: `Revoked at ${provider.displayName} by API; the ledger records it.`,
  });
  deps.logger.info('old key revoked', { secret: metadata.name, fingerprint: request.fingerprint, providerKeyId: request.providerKeyId, outcome });
  return outcome;
}
