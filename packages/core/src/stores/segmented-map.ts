/**
 * What {@link SegmentedMap} needs from a value: the eviction credit it carries and when
 * it expires. The map owns `credit` once the value is in; owners set it through
 * {@link SegmentedMap.credit}.
 */
export interface Credited {
  /** {@link COLD} on probation; 0..{@link MAX_CREDIT} in the protected segment. */
  credit: number;
  /** Ms since epoch from which the value is dead (`Infinity`: never). */
  readonly expiresAt: number;
}

/** The credit of a value on probation: no evidence that keeps it yet. */
export const COLD = -1;
/** The most credit a value can hold: keys with more evidence than this rank as equals. */
export const MAX_CREDIT = 255;
/** Share of the bound the protected segment may hold; probation always keeps the rest. */
export const PROTECTED_SHARE = 0.8;
// Protected entries one admission looks at: the sample in which it looks for an expired
// entry or one weaker than the newcomer. A constant, so every operation is O(1).
const SCAN_BUDGET = 16;

/**
 * A bounded map that an attacker cannot flush with fresh keys, nor with keys that carry
 * a little evidence each. New keys enter a **probation** segment, evicted oldest first.
 * A key with evidence (its owner gives it credit above 0) is **protected** (a segment of
 * at most {@link PROTECTED_SHARE} of the bound) and so only competes with other
 * protected keys: a spray of single-hit keys, however long, only ever evicts single-hit
 * keys.
 *
 * When the protected segment is full, a newcomer takes the slot of an expired entry, or
 * that of the weakest of {@link SCAN_BUDGET} entries under a hand, and only when it is
 * **strictly stronger** and its credit came from **repeated evidence**
 * ({@link credit}, on a key touched again): a key written once with credit
 * ({@link insert}) gets a free or expired slot, never someone else's. Ties keep the
 * incumbent. Otherwise the newcomer waits on probation, where touching it again gives
 * it another try.
 *
 * Credit does not wear out with traffic: protected evidence leaves when it expires (its
 * own window or TTL; a sweep hands back the slots of expired entries one per eviction),
 * when its owner lowers its credit, or when a strictly stronger key takes its slot. So
 * to push out a key with credit c, an attacker must fill the whole segment with keys
 * that each earned more than c.
 *
 * Every operation is O(1) amortized and O(SCAN_BUDGET) at worst; no timers, no
 * preallocation. Values are the owner's objects (no wrapper), keys are strings.
 *
 * @example
 * const map = new SegmentedMap<string, { credit: number; expiresAt: number }>(1000)
 * const entry = { credit: 0, expiresAt: Infinity }
 * map.insert('ip:203.0.113.7', entry, Date.now()) // on probation
 * map.credit('ip:203.0.113.7', entry, 1, Date.now()) // hit again: protected
 */
export class SegmentedMap<K, V extends Credited> {
  readonly #max: number;
  readonly #protectedMax: number;
  readonly #probation = new Map<K, V>();
  readonly #protected = new Map<K, V>();
  // Live iterators keep their place across deletions and see appended entries, so a
  // long spray never rescans the deleted slots at the front of a Map (BoundedMap's lesson).
  #probationHand: IterableIterator<K> | undefined;
  #hand: IterableIterator<[K, V]> | undefined;
  #sweep: IterableIterator<[K, V]> | undefined;

  /** @param max most entries held, both segments together. */
  constructor(max: number) {
    this.#max = max;
    this.#protectedMax = Math.floor(max * PROTECTED_SHARE);
  }

  /** Entries held, both segments. */
  get size(): number {
    return this.#probation.size + this.#protected.size;
  }

  /** Entries in the protected segment (never more than {@link PROTECTED_SHARE} of the bound). */
  get protectedSize(): number {
    return this.#protected.size;
  }

  /** The value, or undefined. No side effect: what a touch is worth is the owner's call ({@link credit}). */
  get(key: K): V | undefined {
    return this.#protected.get(key) ?? this.#probation.get(key);
  }

  /**
   * Adds a key that is not held. A value whose `credit` is above 0 takes a free (or
   * expired) protected slot; it never displaces another key, since one write is not
   * repeated evidence. Otherwise it starts on probation.
   */
  insert(key: K, value: V, now: number): void {
    if (this.size >= this.#max) this.#evictOne(now);
    if (value.credit > 0) {
      value.credit = Math.min(value.credit, MAX_CREDIT);
      this.#admit(key, value, now, false);
    } else {
      value.credit = COLD;
      this.#probation.set(key, value);
    }
  }

  /**
   * Sets a held value's credit from the evidence it carries now, after a touch. A
   * protected value keeps its slot at any credit (raised or lowered: evidence that fades
   * with its own window fades here too); a value on probation with credit above 0 asks
   * for a protected slot, and may take a weaker key's.
   */
  credit(key: K, value: V, credit: number, now: number): void {
    const granted = Math.max(0, Math.min(credit, MAX_CREDIT));
    if (value.credit !== COLD) {
      value.credit = granted;
      return;
    }
    if (granted === 0) return;
    value.credit = granted;
    this.#probation.delete(key);
    this.#admit(key, value, now, true);
  }

  /** Removes a key from whichever segment holds it. */
  delete(key: K): boolean {
    return this.#protected.delete(key) || this.#probation.delete(key);
  }

  /** Removes everything. */
  clear(): void {
    this.#probation.clear();
    this.#protected.clear();
    this.#probationHand = undefined;
    this.#hand = undefined;
    this.#sweep = undefined;
  }

  /** Every entry, protected ones first. */
  *entries(): IterableIterator<[K, V]> {
    yield* this.#protected;
    yield* this.#probation;
  }

  /** The protected entry under the hand (the next not visited this lap), or undefined when empty. */
  #nextProtected(): [K, V] | undefined {
    if (this.#protected.size === 0) return undefined;
    this.#hand ??= this.#protected.entries();
    let next = this.#hand.next();
    if (next.done) {
      this.#hand = this.#protected.entries();
      next = this.#hand.next();
    }
    return next.value as [K, V];
  }

  #toProbation(key: K, value: V): void {
    // At the back: a demoted key gets a whole probation period to be touched again.
    value.credit = COLD;
    this.#probation.set(key, value);
  }

  /**
   * Puts a credited value (held in neither segment) into the protected segment, or on
   * probation. `mayDisplace`: its credit is repeated evidence, so it may take the slot
   * of a strictly weaker key.
   */
  #admit(key: K, value: V, now: number, mayDisplace: boolean): void {
    if (this.#protected.size < this.#protectedMax) {
      this.#protected.set(key, value);
      return;
    }
    let weakestKey: K | undefined;
    let weakest: V | undefined;
    for (let step = 0; step < SCAN_BUDGET; step++) {
      const next = this.#nextProtected();
      if (next === undefined) break;
      const [k, v] = next;
      if (v.expiresAt <= now) {
        this.#protected.delete(k);
        this.#protected.set(key, value);
        return;
      }
      if (weakest === undefined || v.credit < weakest.credit) {
        weakest = v;
        weakestKey = k;
      }
    }
    // Strictly stronger only: on a tie the incumbent stays, so a spray of keys as strong
    // as some evidence can never cycle it out.
    if (mayDisplace && weakest !== undefined && value.credit > weakest.credit) {
      this.#protected.delete(weakestKey as K);
      this.#toProbation(weakestKey as K, weakest);
      this.#protected.set(key, value);
    } else {
      this.#toProbation(key, value);
    }
  }

  /** Frees one slot. */
  #evictOne(now: number): void {
    // One step of a sweep over the protected segment first: evidence that expired while
    // only fresh keys arrived (so no admission looked at it) gives its slot back.
    if (this.#protected.size > 0) {
      this.#sweep ??= this.#protected.entries();
      let next = this.#sweep.next();
      if (next.done) {
        this.#sweep = this.#protected.entries();
        next = this.#sweep.next();
      }
      const [k, v] = next.value as [K, V];
      if (v.expiresAt <= now) {
        this.#protected.delete(k);
        return;
      }
    }
    if (this.#probation.size > 0) {
      this.#probationHand ??= this.#probation.keys();
      let next = this.#probationHand.next();
      if (next.done) {
        this.#probationHand = this.#probation.keys();
        next = this.#probationHand.next();
      }
      this.#probation.delete(next.value as K);
      return;
    }
    // Not reached while the protected segment stays below the bound (probation then
    // holds the rest); kept so that the bound holds whatever the segment sizes.
    const next = this.#nextProtected();
    if (next !== undefined) this.#protected.delete(next[0]);
  }
}
