/**
 * An in-memory cache with one load in flight per key: concurrent readers of a key that is
 * missing or expired share one load, a failed load is not cached (the next read loads again),
 * and every entry remembers which load produced it (its generation) so that a caller who saw
 * an entry rejected can ask for "something newer than that" without starting a second load
 * when another caller already did. No AWS here: the reader supplies the loader and the clock.
 */

/** What a loader returns: the value, a label to compare credentials by, and when the entry expires. */
export interface Loaded<T> {
  readonly value: T;
  /** Safe-to-log label of the credential in `value`; equal labels mean the same credential. */
  readonly fingerprint: string;
  /** Epoch milliseconds (on the cache's clock) after which the entry is not served. */
  readonly expiresAtMs: number;
}

/** A cached value. */
export interface CacheEntry<T> extends Loaded<T> {
  /** Increases with every load the cache starts; a later load has a higher generation. */
  readonly generation: number;
}

interface Flight<T> {
  readonly generation: number;
  readonly promise: Promise<CacheEntry<T>>;
}

export class SingleFlightCache<T> {
  readonly #load: (key: string) => Promise<Loaded<T>>;
  readonly #now: () => number;
  readonly #entries = new Map<string, CacheEntry<T>>();
  readonly #inFlight = new Map<string, Flight<T>>();
  /** Loads started at or before this generation of a key are not stored (they began before an invalidation). */
  readonly #floor = new Map<string, number>();
  #floorForAll = 0;
  #generation = 0;

  public constructor(load: (key: string) => Promise<Loaded<T>>, now: () => number) {
    this.#load = load;
    this.#now = now;
  }

  /** The cached entry while it is fresh; otherwise the load in flight for the key, or a new one. */
  public get(key: string): Promise<CacheEntry<T>> {
    const entry = this.#entries.get(key);
    if (entry && this.#now() < entry.expiresAtMs) return Promise.resolve(entry);
    return this.#inFlight.get(key)?.promise ?? this.#start(key);
  }

  /**
   * An entry loaded after `rejected` was: the cached one if another caller has already
   * reloaded, the load in flight if one started after `rejected`, otherwise a new load. The
   * rejected entry is dropped at once, so readers meanwhile wait for the new load instead of
   * being served a credential that is known to fail.
   */
  public refresh(key: string, rejected: CacheEntry<T>): Promise<CacheEntry<T>> {
    const entry = this.#entries.get(key);
    if (entry && entry.generation > rejected.generation) return this.get(key);
    if (entry) this.#entries.delete(key);
    const flight = this.#inFlight.get(key);
    if (flight && flight.generation > rejected.generation) return flight.promise;
    return this.#start(key);
  }

  /** Drops a key (or every key): the next read loads afresh, and a load already running is not stored. */
  public invalidate(key?: string): void {
    if (key === undefined) {
      this.#floorForAll = this.#generation;
      this.#entries.clear();
      this.#inFlight.clear();
      this.#floor.clear();
      return;
    }
    this.#floor.set(key, this.#generation);
    this.#entries.delete(key);
    this.#inFlight.delete(key);
  }

  #start(key: string): Promise<CacheEntry<T>> {
    this.#generation += 1;
    const generation = this.#generation;
    const promise = this.#load(key)
      .then((loaded): CacheEntry<T> => {
        const entry: CacheEntry<T> = { value: loaded.value, fingerprint: loaded.fingerprint, expiresAtMs: loaded.expiresAtMs, generation };
        const current = this.#entries.get(key);
        const floor = Math.max(this.#floorForAll, this.#floor.get(key) ?? 0);
        if (generation > floor && (!current || current.generation < generation)) this.#entries.set(key, entry);
        return entry;
      })
      .finally(() => {
        if (this.#inFlight.get(key)?.generation === generation) this.#inFlight.delete(key);
      });
    this.#inFlight.set(key, { generation, promise });
    return promise;
  }
}
