import type { PacingClock } from '../../lambdas/core/pacing';

interface Sleeper {
  readonly at: number;
  readonly seq: number;
  readonly wake: () => void;
}

/** A binary min-heap of sleepers by wake-up time, then by the order they went to sleep. */
class SleeperHeap {
  readonly #items: Sleeper[] = [];

  public get size(): number {
    return this.#items.length;
  }

  public peek(): Sleeper | undefined {
    return this.#items[0];
  }

  public push(item: Sleeper): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!SleeperHeap.#before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  public pop(): Sleeper | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && SleeperHeap.#before(items[left]!, items[smallest]!)) smallest = left;
        if (right < items.length && SleeperHeap.#before(items[right]!, items[smallest]!)) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top;
  }

  static #before(a: Sleeper, b: Sleeper): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }
}

/**
 * A discrete-event clock for benchmarks: `sleep` parks the caller on a heap instead of a timer,
 * and {@link VirtualClock.run} moves time to the earliest wake-up only once every task is waiting
 * (the microtask queue has drained: a `setImmediate` callback runs only then). Sleepers due at the
 * same instant wake together, in the order they went to sleep. Hours of simulated work with
 * thousands of concurrent sleepers take seconds of wall time, and a run is deterministic.
 *
 * Everything that waits inside `run` must wait on this clock (or on promises that settle through
 * it): a real timer or real I/O would be mistaken for a deadlock.
 */
export class VirtualClock implements PacingClock {
  #now: number;
  #seq = 0;
  readonly #sleepers = new SleeperHeap();
  /** How many times time moved (a measure of the simulation's work). */
  public advances = 0;

  public constructor(startMs = Date.UTC(2026, 10, 23, 6, 0, 0)) {
    this.#now = startMs;
  }

  public now(): number {
    return this.#now;
  }

  public date(): Date {
    return new Date(this.#now);
  }

  public sleep(ms: number): Promise<void> {
    if (!(ms > 0)) return Promise.resolve();
    return new Promise((resolve) => this.#sleepers.push({ at: this.#now + ms, seq: this.#seq++, wake: resolve }));
  }

  /** Sleeps until the absolute time `atMs` (at once when it has passed). */
  public sleepUntil(atMs: number): Promise<void> {
    return this.sleep(atMs - this.#now);
  }

  /**
   * Runs `main` to completion on simulated time.
   * @throws whatever `main` throws; an Error when every task waits and nobody sleeps (a deadlock).
   */
  public async run<T>(main: () => Promise<T>): Promise<T> {
    const settled: { outcome?: { ok: true; value: T } | { ok: false; error: unknown } } = {};
    main().then(
      (value) => (settled.outcome = { ok: true, value }),
      (error: unknown) => (settled.outcome = { ok: false, error }),
    );
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (settled.outcome) break;
      const next = this.#sleepers.peek();
      if (!next) throw new Error('VirtualClock: every task is waiting and none sleeps (a wait on something other than this clock?)');
      this.#now = next.at;
      this.advances += 1;
      while (this.#sleepers.peek()?.at === next.at) this.#sleepers.pop()!.wake();
    }
    const outcome = settled.outcome!;
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  }
}
