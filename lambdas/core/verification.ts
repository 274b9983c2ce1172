import { ProviderAuthError } from './errors';
import type { ManagedSecretValue, SecretContext } from './secret-value';
import type { Provider, VerifyResult } from '../ports/provider';
import type { LoggerPort } from '../ports/logger';
import { EnvironmentMismatchError } from './errors';

/** How long to keep trying a new key that the platform may not have propagated yet. */
export interface PropagationPolicy {
  /** Attempts in all. @default 5 */
  readonly attempts: number;
  /** Wait before the second attempt, doubled each time. @default 2_000 (2+4+8+16 s = 30 s in all) */
  readonly initialDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_PROPAGATION: PropagationPolicy = {
  attempts: 5,
  initialDelayMs: 2_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Checks that a credential suits the secret without calling the platform: same provider,
 * same environment, and a key shaped for that environment (no `ti_test_` key in production).
 * @throws EnvironmentMismatchError
 */
export function assertFitsSecret(provider: Provider, value: ManagedSecretValue, context: SecretContext): void {
  const problems: string[] = [];
  if (value.provider !== context.provider) problems.push(`provider: the key is for ${value.provider} but the secret is ${context.provider}`);
  if (value.environment !== context.environment) problems.push(`environment: the key is marked ${value.environment} but the secret is ${context.environment}`);
  problems.push(...provider.formatProblems(value, context.environment));
  if (problems.length > 0) throw new EnvironmentMismatchError(`refusing the key: ${problems.join('; ')}`);
}

/**
 * Proves a credential with a live read-only call. A 401 is retried with back-off because a
 * key that was just created may take a moment to propagate; anything else is final here
 * (the HTTP helper has already retried 429 and 5xx).
 * @throws ProviderAuthError when the key is still rejected after the last attempt.
 */
export async function verifyWithPropagation(
  provider: Provider,
  value: ManagedSecretValue,
  context: SecretContext,
  policy: PropagationPolicy,
  logger: LoggerPort,
): Promise<VerifyResult> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await provider.verify(value, context);
    } catch (error) {
      if (!(error instanceof ProviderAuthError) || attempt >= policy.attempts) throw error;
      const delay = policy.initialDelayMs * 2 ** (attempt - 1);
      logger.info('new key not accepted yet; retrying in case it is still propagating', { attempt, delayMs: delay });
      await policy.sleep(delay);
    }
  }
}
