import * as fc from 'fast-check';
import { Pacer, runWhile, runWithConcurrency } from '../../../../lambdas/core/pacing';

/** A clock that stands still and records when each sleeper would wake. */
function frozenClock(now = 1_000) {
  const wakes: number[] = [];
  return { wakes, clock: { now: () => now, sleep: async (ms: number) => void wakes.push(now + ms) } };
}

describe('Class: Pacer', () => {
  describe('Method: slot', () => {
    it('spaces concurrent callers of one key by the interval, and lets other keys through at once', async () => {
      // Prepare
      const { wakes, clock } = frozenClock();
      const pacer = new Pacer(clock);

      // Act
      await Promise.all([pacer.slot('a', 4_000), pacer.slot('a', 4_000), pacer.slot('b', 4_000), pacer.slot('a', 4_000)]);

      // Assess: the first of each key goes at once; the others wake 4 s apart
      expect(wakes).toEqual([5_000, 9_000]);
    });

    it('for any calls, never grants two slots of one key closer than the interval', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.integer({ min: 0, max: 5_000 })), { maxLength: 30 }), async (calls) => {
          let now = 0;
          const granted = new Map<string, number[]>();
          const pacer = new Pacer({ now: () => now, sleep: async (ms) => void (now += ms) });
          for (const [key, advance] of calls) {
            now += advance;
            await pacer.slot(key, 1_000);
            granted.set(key, [...(granted.get(key) ?? []), now]);
          }
          for (const times of granted.values()) {
            for (let i = 1; i < times.length; i += 1) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(1_000);
          }
        }),
      );
    });
  });

  describe('Method: backOff', () => {
    it('makes the next caller of the key wait for a platform\'s Retry-After', async () => {
      // Prepare
      const { wakes, clock } = frozenClock();
      const pacer = new Pacer(clock);

      // Act
      pacer.backOff('a', 120_000);
      await pacer.slot('a', 500);
      await pacer.slot('b', 500);

      // Assess
      expect(wakes).toEqual([121_000]);
    });

    it('says how long a caller would wait (waitFor), without reserving anything', async () => {
      // Prepare
      const { wakes, clock } = frozenClock();
      const pacer = new Pacer(clock);
      pacer.backOff('a', 30_000);

      // Act & Assess
      expect(pacer.waitFor('a')).toBe(30_000);
      expect(pacer.waitFor('a')).toBe(30_000);
      expect(pacer.waitFor('b')).toBe(0);
      await pacer.slot('a', 1_000);
      expect(wakes).toEqual([31_000]);
      expect(pacer.waitFor('a')).toBe(31_000);
    });
  });
});

describe('Function: runWithConcurrency', () => {
  it('keeps at most `limit` in flight and the results in order', async () => {
    // Prepare
    let inFlight = 0;
    let max = 0;

    // Act
    const results = await runWithConcurrency([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight += 1;
      max = Math.max(max, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return n * 10;
    });

    // Assess
    expect(results).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(max).toBe(3);
  });

  it('handles an empty list', async () => {
    expect(await runWithConcurrency([], 4, async () => 1)).toEqual([]);
  });
});

describe('Function: runWhile', () => {
  it('starts no new item once keepGoing answers false, finishes those in flight, and reports the prefix done', async () => {
    const done: number[] = [];
    let budget = 4;
    const count = await runWhile([1, 2, 3, 4, 5, 6, 7], 2, async (n) => {
      budget -= 1;
      await new Promise((resolve) => setTimeout(resolve, 1));
      done.push(n);
    }, () => budget > 0);
    expect(count).toBe(4);
    expect(done.sort()).toEqual([1, 2, 3, 4]);
  });
});
