import { STAGE, TAG, type Environment, type ProviderId } from './contracts';
import { Pacer, runWithConcurrency } from './pacing';
import type { InventoryEntry, SecretInventory } from '../ports/secret-inventory';
import type { SecretStore } from '../ports/secret-store';
import type { ProviderRegistry } from '../providers/registry';

/**
 * Starting many rotations at once (`keyrotor rotate --provider X --all`, an emergency after a
 * platform breach) without tripping Secrets Manager's quotas: RotateSecret is limited to 50 calls
 * per second, and every rotation it starts makes about two more writes (PutSecretValue of the new
 * key, UpdateSecretVersionStage to promote it) against the 50 writes per second that
 * PutSecretValue, UpdateSecret and UpdateSecretVersionStage share per account and region — with
 * the applications' own writes. So the default pace is 22 rotations per second: 44 writes per
 * second from the rotations, leaving 6 (12%) to everyone else, and within 1.2× of the floor the
 * write quota sets (bench/fleet.ts: 1,000 rotations in 47.5 s against a 40 s floor; 15/s took 1.7×).
 */
export const DEFAULT_ROTATIONS_PER_SECOND = 22;
/** The most a caller may ask for: RotateSecret's own quota, at which the rotations' writes alone would exceed the write quota. */
export const MAX_ROTATIONS_PER_SECOND = 25;

/** Which managed secrets a fleet operation takes. */
export interface FleetSelection {
  readonly provider?: ProviderId;
  readonly environment?: Environment;
}

/** What became of one secret. */
export type FleetOutcome =
  | { readonly secret: string; readonly outcome: 'started'; readonly token: string }
  | { readonly secret: string; readonly outcome: 'in-progress' | 'needs-a-person' | 'failed'; readonly reason: string };

export interface FleetProgress {
  readonly done: number;
  readonly total: number;
  readonly last: FleetOutcome;
}

export interface FleetRotationDeps {
  readonly inventory: SecretInventory;
  readonly store: SecretStore;
  readonly providers: ProviderRegistry;
  readonly newToken: () => string;
  /** Spaces the RotateSecret calls; inject one on a simulated clock in tests and benchmarks. */
  readonly pacer?: Pacer;
  /** Called after each secret. */
  readonly onProgress?: (progress: FleetProgress) => void;
  /** RotateSecret calls in flight at once (they are paced regardless). @default 8 */
  readonly concurrency?: number;
  /** Attempts per secret when Secrets Manager throttles (it also retries inside the SDK). @default 4 */
  readonly attempts?: number;
}

/** Every managed API-key secret matching `selection`, sorted by name (listing only; nothing is decrypted). */
export async function selectSecrets(inventory: SecretInventory, selection: FleetSelection): Promise<InventoryEntry[]> {
  const selected: InventoryEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await inventory.listPage('api-key', cursor);
    for (const entry of page.secrets) {
      if (selection.provider !== undefined && entry.tags[TAG.provider] !== selection.provider) continue;
      if (selection.environment !== undefined && entry.tags[TAG.environment] !== selection.environment) continue;
      selected.push(entry);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return selected.sort((a, b) => a.name.localeCompare(b.name));
}

const THROTTLED = new Set(['ThrottlingException', 'TooManyRequestsException', 'LimitExceededException', 'RequestLimitExceeded']);

/**
 * Starts a rotation of each secret, paced at `ratePerSecond` RotateSecret calls. A secret with a
 * rotation already open is left to it (Secrets Manager would refuse a second); a secret whose keys
 * a person must create is left out (a rotation would only wait for them). Throttling is retried
 * at the pace; any other refusal is reported for that secret and the rest go on.
 */
export async function rotateFleet(entries: readonly InventoryEntry[], ratePerSecond: number, deps: FleetRotationDeps): Promise<FleetOutcome[]> {
  if (!(ratePerSecond > 0 && ratePerSecond <= MAX_ROTATIONS_PER_SECOND)) {
    throw new RangeError(`ratePerSecond must be more than 0 and at most ${MAX_ROTATIONS_PER_SECOND} (Secrets Manager's write quota), not ${ratePerSecond}`);
  }
  const pacer = deps.pacer ?? new Pacer();
  const intervalMs = 1000 / ratePerSecond;
  const attempts = deps.attempts ?? 4;
  let done = 0;

  const one = async (entry: InventoryEntry): Promise<FleetOutcome> => {
    const pending = Object.values(entry.versionIdsToStages).some((stages) => stages.includes(STAGE.pending) && !stages.includes(STAGE.current));
    if (pending) return { secret: entry.name, outcome: 'in-progress', reason: 'a rotation is already open; Secrets Manager retries it' };
    const providerId = entry.tags[TAG.provider] as ProviderId | undefined;
    let issuesByApi = false;
    try {
      issuesByApi = providerId !== undefined && deps.providers.get(providerId).capabilities.issueByApi;
    } catch {
      return { secret: entry.name, outcome: 'failed', reason: `unknown provider tag "${String(providerId)}"` };
    }
    if (!issuesByApi) return { secret: entry.name, outcome: 'needs-a-person', reason: 'a person creates these keys: npx keyrotor submit' };
    const token = deps.newToken();
    for (let attempt = 1; ; attempt++) {
      await pacer.slot('secretsmanager:RotateSecret', intervalMs);
      try {
        await deps.store.startRotation(entry.arn, token);
        return { secret: entry.name, outcome: 'started', token };
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        if (!THROTTLED.has(name) || attempt >= attempts) return { secret: entry.name, outcome: 'failed', reason: name };
      }
    }
  };

  return runWithConcurrency(entries, deps.concurrency ?? 8, async (entry) => {
    const outcome = await one(entry);
    done += 1;
    deps.onProgress?.({ done, total: entries.length, last: outcome });
    return outcome;
  });
}
