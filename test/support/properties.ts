import * as fc from 'fast-check';

/**
 * Shared pieces of the property tests on outside input: what a near-miss of a valid value looks
 * like, and every string a parsed or rejected value could echo back.
 */

/** A valid value most of the time, otherwise some other JSON or one of `oddities` (empty, null, zero, huge, a near-miss spelling). */
export function nearly<T>(good: fc.Arbitrary<T>, oddities: readonly unknown[] = ['', null, 0]): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 3, arbitrary: good }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }, { weight: 1, arbitrary: fc.constantFrom(...oddities) });
}

/** Every string inside `node`, down to a few levels (what an error message could quote). */
export function stringsIn(node: unknown, depth = 0): string[] {
  if (typeof node === 'string') return [node];
  if (depth > 4 || typeof node !== 'object' || node === null) return [];
  return Object.values(node).flatMap((value) => stringsIn(value, depth + 1));
}
