import type { VirtualClock } from './virtual-clock';

/**
 * Makes `Date.now()` and `new Date()` read `clock`, for code that takes no clock (Powertools
 * Parameters stamps its cache with `new Date()` and checks it with `Date.now()`). Dates built from
 * a value are untouched. Returns the function that puts the real `Date` back.
 */
export function installVirtualDate(clock: VirtualClock): () => void {
  const RealDate = globalThis.Date;
  class VirtualDate extends RealDate {
    public constructor(...args: unknown[]) {
      super(...((args.length === 0 ? [clock.now()] : args) as [number]));
    }
    public static override now(): number {
      return clock.now();
    }
  }
  globalThis.Date = VirtualDate as DateConstructor;
  return () => {
    globalThis.Date = RealDate;
  };
}
