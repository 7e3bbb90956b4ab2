/**
 * A Map with a size bound and second-chance ("clock") eviction: a read only sets a flag,
 * so reads cost one Map lookup; when the bound is reached, the oldest entries that were
 * not read since their last pass are evicted, and the others get a second chance at the
 * back of the line. Amortized O(1) per operation, no timers, no preallocation. Close to
 * LRU for access patterns like a store's (hot keys stay, one-off keys go first).
 *
 * @example
 * const memo = new BoundedMap<string, number>(1000)
 * memo.set('a', 1); memo.get('a') // 1
 */
export class BoundedMap<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, { value: V; used: boolean }>();
  // The clock hand: a live iterator that keeps its place across evictions. Starting a
  // new iterator each time would walk over every deleted slot at the front of the Map,
  // making a spray of new keys quadratic.
  #hand: IterableIterator<[K, { value: V; used: boolean }]> | undefined;

  constructor(max: number) {
    this.#max = max;
  }

  /** Number of entries held. */
  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    entry.used = true;
    return entry.value;
  }

  set(key: K, value: V): void {
    const entry = this.#map.get(key);
    if (entry !== undefined) {
      entry.value = value;
      entry.used = true;
      return;
    }
    if (this.#map.size >= this.#max) this.#evict();
    this.#map.set(key, { value, used: false });
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
    this.#hand = undefined;
  }

  /** Live entries, oldest first. */
  *entries(): IterableIterator<[K, V]> {
    for (const [key, entry] of this.#map) yield [key, entry.value];
  }

  #evict(): void {
    // Walk from the oldest: recently read entries move to the back, the first unread
    // one goes. Bounded: after one full pass every flag is clear.
    for (let scanned = 0, limit = this.#map.size * 2 + 1; scanned <= limit; scanned++) {
      this.#hand ??= this.#map.entries();
      const next = this.#hand.next();
      if (next.done) {
        this.#hand = undefined;
        if (this.#map.size === 0) return;
        continue;
      }
      const [key, entry] = next.value;
      this.#map.delete(key);
      if (!entry.used) return;
      entry.used = false;
      this.#map.set(key, entry);
    }
  }
}
