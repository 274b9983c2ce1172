import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretKind } from '../../lambdas/core/contracts';
import type { InventoryPage, SecretInventory, SecretVersion } from '../../lambdas/ports/secret-inventory';
import type { SecretMetadata, SecretStore } from '../../lambdas/ports/secret-store';
import { isThrottle } from './quota-secrets-manager';
import type { Random } from './seeded-random';
import type { VirtualClock } from './virtual-clock';

/**
 * The AWS SDK v3 client's standard retry mode, as the installed `@smithy/core`
 * (`retry/util-retry/StandardRetryStrategy.js`, `retries-2026-config.js`) implements it:
 * 3 attempts in all; before retry i (0-based) a full-jitter wait of
 * `random × min(base × 2^i, 20 s)` with base 1,000 ms for a throttling error; a retry costs 5
 * tokens of the client's 500-token capacity (and is refused when fewer are left); a success gives
 * back the retry's 5 tokens, or 1 without a retry.
 */
export const SDK_STANDARD_RETRY = {
  maxAttempts: 3,
  throttlingBaseDelayMs: 1_000,
  maxDelayMs: 20_000,
  capacity: 500,
  throttlingRetryCost: 5,
  noRetryIncrement: 1,
} as const;

/** What the installed client reports about its retry strategy, to print beside the model. */
export async function installedRetryStrategy(): Promise<{ mode: string; maxAttempts: number; capacity: number }> {
  const client = new SecretsManagerClient({ region: 'eu-west-1' });
  try {
    const strategy = (await client.config.retryStrategy()) as unknown as { mode: string; getCapacity?: () => number; getMaxAttempts?: () => Promise<number> };
    return { mode: strategy.mode, maxAttempts: (await strategy.getMaxAttempts?.()) ?? NaN, capacity: strategy.getCapacity?.() ?? NaN };
  } finally {
    client.destroy();
  }
}

export interface RetryStats {
  /** Attempts that were throttled and retried inside the client. */
  retried: number;
  /** Calls whose throttling reached the caller (attempts or capacity used up). */
  surfaced: number;
}

/**
 * One SDK client in front of the fake service: each port method is one API call, retried on
 * ThrottlingException as {@link SDK_STANDARD_RETRY} says, with waits on the virtual clock.
 * A client is per process (the CLI; one Lambda container), and so is its retry capacity.
 */
export class SdkRetryingClient implements SecretStore, SecretInventory {
  #capacity: number = SDK_STANDARD_RETRY.capacity;
  public readonly stats: RetryStats = { retried: 0, surfaced: 0 };

  public constructor(
    private readonly service: SecretStore & SecretInventory,
    private readonly clock: VirtualClock,
    private readonly random: Random,
  ) {}

  async #send<T>(call: () => Promise<T>): Promise<T> {
    for (let retries = 0; ; retries += 1) {
      try {
        const result = await call();
        this.#capacity = Math.min(SDK_STANDARD_RETRY.capacity, this.#capacity + (retries > 0 ? SDK_STANDARD_RETRY.throttlingRetryCost : SDK_STANDARD_RETRY.noRetryIncrement));
        return result;
      } catch (error) {
        if (!isThrottle(error)) throw error;
        if (retries + 1 >= SDK_STANDARD_RETRY.maxAttempts || this.#capacity < SDK_STANDARD_RETRY.throttlingRetryCost) {
          this.stats.surfaced += 1;
          throw error;
        }
        this.#capacity -= SDK_STANDARD_RETRY.throttlingRetryCost;
        this.stats.retried += 1;
        await this.clock.sleep(Math.floor(this.random() * Math.min(SDK_STANDARD_RETRY.throttlingBaseDelayMs * 2 ** retries, SDK_STANDARD_RETRY.maxDelayMs)));
      }
    }
  }

  public listPage(kind: SecretKind, cursor?: string): Promise<InventoryPage> {
    return this.#send(() => this.service.listPage(kind, cursor));
  }
  public listVersions(secretId: string): Promise<SecretVersion[]> {
    return this.#send(() => this.service.listVersions(secretId));
  }
  public readValue(secretId: string, stage: string): Promise<string | undefined> {
    return this.#send(() => this.service.readValue(secretId, stage));
  }
  public describe(secretId: string): Promise<SecretMetadata> {
    return this.#send(() => this.service.describe(secretId));
  }
  public getValue(secretId: string, selector: { versionId?: string; stage?: string }): Promise<string | undefined> {
    return this.#send(() => this.service.getValue(secretId, selector));
  }
  public putPendingValue(secretId: string, versionId: string, value: string): Promise<void> {
    return this.#send(() => this.service.putPendingValue(secretId, versionId, value));
  }
  public moveStage(secretId: string, stage: string, toVersionId: string, fromVersionId?: string): Promise<void> {
    return this.#send(() => this.service.moveStage(secretId, stage, toVersionId, fromVersionId));
  }
  public removeStage(secretId: string, stage: string, fromVersionId: string): Promise<void> {
    return this.#send(() => this.service.removeStage(secretId, stage, fromVersionId));
  }
  public tag(secretId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    return this.#send(() => this.service.tag(secretId, tags));
  }
  public untag(secretId: string, keys: readonly string[]): Promise<void> {
    return this.#send(() => this.service.untag(secretId, keys));
  }
  public startRotation(secretId: string, clientRequestToken: string): Promise<void> {
    return this.#send(() => this.service.startRotation(secretId, clientRequestToken));
  }
}

/**
 * `target` with its asynchronous methods (`methods`, or every method) delayed by a latency drawn
 * from [min, max) ms on the virtual clock: a platform's HTTP round trip, a DynamoDB or Scheduler call.
 */
export function withLatency<T extends object>(target: T, clock: VirtualClock, random: Random, [min, max]: readonly [number, number], methods?: readonly (keyof T)[]): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      const value: unknown = Reflect.get(object, property, receiver);
      if (typeof value !== 'function' || (methods !== undefined && !methods.includes(property as keyof T))) return value;
      return async (...args: unknown[]) => {
        await clock.sleep(min + (max - min) * random());
        return (value as (...a: unknown[]) => unknown).apply(object, args);
      };
    },
  });
}
