/**
 * Keeping fleet-wide work inside the limits others share with it: a platform instance's rate
 * limit is also the applications' (a sweep that used it up would break them), and Secrets
 * Manager's write quota is the account's and region's.
 */

/** The clock a {@link Pacer} waits on; injected so tests run on simulated time. */
export interface PacingClock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const REAL_CLOCK: PacingClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * Spaces calls per key (a platform instance, a quota): each caller reserves the next free slot
 * `intervalMs` after the previous one and waits for it, so concurrent callers of one key never
 * run closer together than the interval, while different keys do not wait for each other.
 *
 * @example
 * const pacer = new Pacer();
 * await pacer.slot('https://acme.thoughtindustries.com', 4_000); // then call the platform
 */
export class Pacer {
  readonly #next = new Map<string, number>();

  public constructor(private readonly clock: PacingClock = REAL_CLOCK) {}

  /** Waits for the next slot of `key` and reserves the one after it. */
  public async slot(key: string, intervalMs: number): Promise<void> {
    const now = this.clock.now();
    const at = Math.max(now, this.#next.get(key) ?? now);
    this.#next.set(key, at + intervalMs);
    if (at > now) await this.clock.sleep(at - now);
  }

  /** How long a caller of `key` would wait now for its slot. */
  public waitFor(key: string): number {
    return Math.max(0, (this.#next.get(key) ?? 0) - this.clock.now());
  }

  /** Pushes the next slot of `key` at least `ms` into the future (a platform's `Retry-After`). */
  public backOff(key: string, ms: number): void {
    const until = this.clock.now() + Math.max(0, ms);
    this.#next.set(key, Math.max(this.#next.get(key) ?? 0, until));
  }
}

/** Runs `work` over `items` with at most `limit` in flight; results keep the items' order. */
export async function runWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  await runWhile(items, limit, async (item, index) => {
    results[index] = await work(item);
  }, () => true);
  return results;
}

/**
 * Runs `work` over `items` in order with at most `limit` in flight, starting no new item once
 * `keepGoing()` answers false; waits for the items in flight.
 * @returns how many items were started (and so finished): always a prefix of `items`.
 */
export async function runWhile<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>, keepGoing: () => boolean): Promise<number> {
  let next = 0;
  let stopped = false;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (!stopped && next < items.length) {
      if (!keepGoing()) {
        stopped = true;
        break;
      }
      const index = next;
      next += 1;
      await work(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
  return next;
}
