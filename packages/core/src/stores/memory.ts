import { VigilConfigError } from '../errors.js';
import { type Credited, MAX_CREDIT, SegmentedMap } from './segmented-map.js';
import { type Store, type StoreOp, type StoreResult, slidingCount } from './types.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most keys kept. Default 40 000: a spray of a million distinct IPs on a login route
   * then grows the heap by about 10 MB and RSS by about 45 MB (measured; see the
   * README), and keys seen once are evicted before keys that carry evidence.
   */
  maxKeys?: number;
  /** Most members remembered per distinct set per window; counting saturates there. Default 1 000. */
  maxMembersPerSet?: number;
}

// Entries are classes with whole-number fields only, so that V8 keeps them small
// (no boxed doubles): a counter's expiry is computed from its window, not stored.

/** A counter: the count of the window of its last hit, and of the window before. */
class Counter implements Credited {
  credit = 0;
  current = 0;
  previous = 0;
  constructor(
    public window: number,
    public windowMs: number,
  ) {}
  get expiresAt(): number {
    return (this.window + 2) * this.windowMs;
  }
}

// A distinct set of one member is the member itself: a spray leaves millions of sets
// of one, and a Set costs a hundred bytes or more.
type Members = string | Set<string> | undefined;

/** A distinct set: the members of the window of its last addition, and of the window before. */
class Distinct implements Credited {
  credit = 0;
  current: Members = undefined;
  previous: Members = undefined;
  constructor(
    public window: number,
    public windowMs: number,
  ) {}
  get expiresAt(): number {
    return (this.window + 2) * this.windowMs;
  }
}

/** A value with its own expiry. */
class Value implements Credited {
  credit = 0;
  constructor(
    public value: string,
    public expiresAt: number,
  ) {}
}

type Entry = Counter | Distinct | Value;

function sizeOf(members: Members): number {
  return members === undefined ? 0 : typeof members === 'string' ? 1 : members.size;
}

function hasMember(members: Members, member: string): boolean {
  return members === undefined ? false : typeof members === 'string' ? members === member : members.has(member);
}

function unionSize(current: Members, previous: Members): number {
  if (sizeOf(previous) === 0) return sizeOf(current);
  let union = sizeOf(previous);
  if (typeof current === 'string') return hasMember(previous, current) ? union : union + 1;
  if (current !== undefined) for (const member of current) if (!hasMember(previous, member)) union++;
  return union;
}

/**
 * What a count of `n` (hits, or members) is worth as eviction credit: nothing for a
 * single hit, then the square, so that a key over a limit outlives keys a few hits
 * old by far more than the hits that made it (see `SegmentedMap`).
 */
function evidence(n: number): number {
  return n <= 1 ? 0 : (n - 1) * (n - 1);
}
/** Credit of a value written with a TTL (familiarity, device lists, temporary blocks): a key at a typical limit. */
const VALUE_CREDIT = evidence(5);

/**
 * The default store: one process, bounded, no timers. At most `maxKeys` keys, held so
 * that an attacker cannot evict evidence with fresh keys: a new key starts on probation
 * and is evicted first unless it is touched again; keys touched again, or written with
 * evidence, are protected, and among those the ones with less evidence go first.
 * Evidence is read from the operations themselves: a counter's count, a distinct set's
 * members, and any value (a value set without a TTL, such as a block list entry, most of
 * all). Each entry carries its own expiry, checked when it is read, so there is no timer
 * per key and every operation is amortized O(1) (distinct counts: O(set size)).
 *
 * @example
 * const vigil = createVigil({ provider: localProvider({ store: new MemoryStore({ maxKeys: 20_000 }) }) })
 */
export class MemoryStore implements Store {
  readonly name = 'memory';
  #map: SegmentedMap<string, Entry> | undefined;
  readonly #maxKeys: number;
  readonly #maxMembers: number;

  constructor(options: MemoryStoreOptions = {}) {
    const maxKeys = options.maxKeys ?? 40_000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'MemoryStore.maxKeys', options.maxKeys, 'which is not a positive whole number', 'Use e.g. 40000 (the default); each key costs a few hundred bytes.');
    }
    const maxMembers = options.maxMembersPerSet ?? 1000;
    if (!Number.isInteger(maxMembers) || maxMembers < 1) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'MemoryStore.maxMembersPerSet', options.maxMembersPerSet, 'which is not a positive whole number', 'Use e.g. 1000 (the default).');
    }
    this.#maxKeys = maxKeys;
    this.#maxMembers = maxMembers;
  }

  get #cache(): SegmentedMap<string, Entry> {
    this.#map ??= new SegmentedMap(this.#maxKeys);
    return this.#map;
  }

  /** Number of keys held now (expired ones included until touched or evicted). */
  get size(): number {
    return this.#map?.size ?? 0;
  }

  /** Runs the batch; see {@link Store.execute}. Synchronous underneath, so a batch is atomic. */
  async execute(ops: readonly StoreOp[], now: number = Date.now()): Promise<StoreResult[]> {
    return this.executeSync(ops, now);
  }

  /** The synchronous core of {@link execute}, for callers in the same process. */
  executeSync(ops: readonly StoreOp[], now: number = Date.now()): StoreResult[] {
    const results: StoreResult[] = new Array(ops.length);
    for (let i = 0; i < ops.length; i++) results[i] = this.#apply(ops[i] as StoreOp, now);
    return results;
  }

  /** Live values under `prefix`; see {@link Store.keys}. Walks every key: for admin listings only. */
  async keys(prefix: string): Promise<string[]> {
    const now = Date.now();
    const out: string[] = [];
    for (const [key, entry] of this.#cache.entries()) {
      if (entry instanceof Value && entry.expiresAt > now && key.startsWith(prefix)) out.push(key);
    }
    return out;
  }

  /** Forgets every key. */
  async close(): Promise<void> {
    this.#map?.clear();
  }

  #live(key: string, now: number): Entry | undefined {
    const entry = this.#cache.get(key);
    if (entry && entry.expiresAt <= now) {
      this.#cache.delete(key);
      return undefined;
    }
    return entry;
  }

  #apply(op: StoreOp, now: number): StoreResult {
    switch (op.type) {
      case 'hit':
      case 'count': {
        const window = Math.floor(now / op.windowMs);
        const found = this.#live(op.key, now);
        const entry = found instanceof Counter ? found : undefined;
        if (op.type === 'count') {
          if (!entry) return 0;
          // Read without rolling the window: the entry's window stays that of its last
          // hit, which is what its expiry is computed from.
          const count = entry.window === window ? slidingCount(entry.current, entry.previous, now, op.windowMs) : entry.window === window - 1 ? slidingCount(0, entry.current, now, op.windowMs) : 0;
          this.#cache.credit(op.key, entry, Math.max(1, evidence(count)), now);
          return count;
        }
        const amount = op.amount ?? 1;
        if (!entry) {
          if (found) this.#cache.delete(op.key);
          const created = new Counter(window, op.windowMs);
          created.current = amount;
          created.credit = evidence(amount);
          this.#cache.insert(op.key, created, now);
          return slidingCount(amount, 0, now, op.windowMs);
        }
        if (entry.window !== window) {
          entry.previous = entry.window === window - 1 ? entry.current : 0;
          entry.current = 0;
          entry.window = window;
        }
        entry.windowMs = op.windowMs;
        entry.current += amount;
        const count = slidingCount(entry.current, entry.previous, now, op.windowMs);
        this.#cache.credit(op.key, entry, Math.max(1, evidence(count)), now);
        return count;
      }
      case 'distinct': {
        const window = Math.floor(now / op.windowMs);
        const found = this.#live(op.key, now);
        const entry = found instanceof Distinct ? found : undefined;
        if (op.member === undefined) {
          if (!entry) return 0;
          const count = entry.window === window ? unionSize(entry.current, entry.previous) : entry.window === window - 1 ? sizeOf(entry.current) : 0;
          this.#cache.credit(op.key, entry, Math.max(1, evidence(count)), now);
          return count;
        }
        if (!entry) {
          if (found) this.#cache.delete(op.key);
          const created = new Distinct(window, op.windowMs);
          created.current = op.member;
          this.#cache.insert(op.key, created, now);
          return 1;
        }
        if (entry.window !== window) {
          entry.previous = entry.window === window - 1 ? entry.current : undefined;
          entry.current = undefined;
          entry.window = window;
        }
        entry.windowMs = op.windowMs;
        const current = entry.current;
        if (current === undefined) entry.current = op.member;
        else if (typeof current === 'string') {
          if (current !== op.member && this.#maxMembers > 1) entry.current = new Set([current, op.member]);
        } else if (current.size < this.#maxMembers) current.add(op.member);
        const count = unionSize(entry.current, entry.previous);
        this.#cache.credit(op.key, entry, Math.max(1, evidence(count)), now);
        return count;
      }
      case 'get': {
        const entry = this.#live(op.key, now);
        if (!(entry instanceof Value)) return null;
        this.#cache.credit(op.key, entry, creditOf(entry), now);
        return entry.value;
      }
      case 'set': {
        const expiresAt = op.ttlMs === undefined ? Number.POSITIVE_INFINITY : now + op.ttlMs;
        const found = this.#cache.get(op.key);
        if (found instanceof Value && found.expiresAt > now) {
          found.value = op.value;
          found.expiresAt = expiresAt;
          this.#cache.credit(op.key, found, creditOf(found), now);
          return null;
        }
        if (found) this.#cache.delete(op.key);
        const created = new Value(op.value, expiresAt);
        created.credit = creditOf(created);
        this.#cache.insert(op.key, created, now);
        return null;
      }
      case 'reset':
      case 'delete':
        this.#cache.delete(op.key);
        return null;
      default:
        return null;
    }
  }
}

/**
 * A value is evidence by nature: someone wrote it on purpose. Written to last (no TTL:
 * a block list entry, an approved device) it is kept longest.
 */
function creditOf(value: Value): number {
  return value.expiresAt === Number.POSITIVE_INFINITY ? MAX_CREDIT : VALUE_CREDIT;
}
