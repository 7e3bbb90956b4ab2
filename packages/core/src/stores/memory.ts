import { MemoryStoreFullError, VigilConfigError } from '../errors.js';
import { type Credited, SegmentedMap } from './segmented-map.js';
import { type Store, type StoreOp, type StoreResult, slidingCount } from './types.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most traffic keys kept (counters, distinct sets, values written with a TTL). Default
   * 40 000: a spray of a million distinct IPs on a login route then grows RSS by less
   * than 64 MB (measured; see the README), and keys seen once are evicted before keys
   * that carry evidence. Pinned values are held apart ({@link maxPinnedKeys}).
   */
  maxKeys?: number;
  /**
   * Most pinned values kept: values written without a TTL or with `pinned` (block and
   * allow lists, reported and approved devices; admin operations write them, never
   * request traffic). They are never evicted: past this bound a batch that would add
   * one is refused whole with a {@link MemoryStoreFullError}, so the admin call fails
   * loudly instead of a block silently disappearing. Default 10 000 (about 3 MB).
   */
  maxPinnedKeys?: number;
  /**
   * Most claims kept (single-use tokens spent: challenge solutions), each until its TTL.
   * Held apart from traffic and from pinned values; past the bound (expired ones swept
   * first) a claim is refused (result 0), so that a flood of solved challenges can
   * neither evict a spent one nor fill the room of operator writes. Default 100 000.
   */
  maxClaimKeys?: number;
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
  /** |current ∪ previous|, kept as members are added: a count is O(1), not O(set size). */
  union = 0;
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

/**
 * What a count of `n` (hits, or members) is worth as eviction credit: one per hit after
 * the first, so credit is the repeated evidence itself. A key that an attacker makes
 * stronger costs it one more request per unit, and a key with a count of c is only
 * ever displaced by a key with a higher count (see `SegmentedMap`).
 */
function evidence(n: number): number {
  return n <= 1 ? 0 : n - 1;
}
/**
 * Credit of a value written with a TTL that is not pinned: a familiarity record or a
 * device list, which an attacker can write at will (one successful login of an account
 * of its own per fresh network). As much as a key hit three times: above the cheapest
 * spray (keys hit twice cannot push these out), below every per-IP and per-account
 * limit (a counter at 5 has credit 4), and written once, so it takes free slots only.
 */
const VALUE_CREDIT = evidence(3);

/**
 * The default store: one process, bounded, no timers. Values an operator wrote (no TTL,
 * or `pinned`: block and allow lists, reported and approved devices) are held in a map
 * of their own that traffic never evicts (`maxPinnedKeys`, refused past it). Traffic
 * keys (at most `maxKeys`) are held so that an attacker cannot evict evidence: a new key
 * starts on probation and is evicted first; a key with evidence is protected, and a
 * protected key only gives its slot to a strictly stronger key that earned its credit
 * over several hits, or when it expires. Evidence is read from the operations
 * themselves: a counter's count, a distinct set's size, and a modest, fixed credit for a
 * value written with a TTL (familiarity, device lists). Reads add none. Each entry
 * carries its own expiry, checked when it is read, so there is no timer per key and
 * every operation is amortized O(1) (distinct sets keep their union's size as members
 * are added).
 *
 * @example
 * const vigil = createVigil({ provider: localProvider({ store: new MemoryStore({ maxKeys: 20_000 }) }) })
 */
export class MemoryStore implements Store {
  readonly name = 'memory';
  #map: SegmentedMap<string, Entry> | undefined;
  // Operator-written values, apart from the traffic keys so that no spray competes
  // with them. A plain Map: bounded by refusal, not by eviction.
  readonly #pinned = new Map<string, Value>();
  // Claimed single-use tokens, apart from both: bounded by refusal too.
  readonly #claims = new Map<string, Value>();
  readonly #maxClaims: number;
  readonly #maxKeys: number;
  readonly #maxPinned: number;
  readonly #maxMembers: number;

  constructor(options: MemoryStoreOptions = {}) {
    const maxKeys = options.maxKeys ?? 40_000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'MemoryStore.maxKeys', options.maxKeys, 'which is not a positive whole number', 'Use e.g. 40000 (the default); each key costs a few hundred bytes.');
    }
    const maxPinned = options.maxPinnedKeys ?? 10_000;
    if (!Number.isInteger(maxPinned) || maxPinned < 1) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'MemoryStore.maxPinnedKeys', options.maxPinnedKeys, 'which is not a positive whole number', 'Use e.g. 10000 (the default): one per blocked user, reported or approved device.');
    }
    const maxClaims = options.maxClaimKeys ?? 100_000;
    if (!Number.isInteger(maxClaims) || maxClaims < 1) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'MemoryStore.maxClaimKeys', options.maxClaimKeys, 'which is not a positive whole number', 'Use e.g. 100000 (the default): one per challenge solution spent in the last few minutes.');
    }
    this.#maxClaims = maxClaims;
    const maxMembers = options.maxMembersPerSet ?? 1000;
    if (!Number.isInteger(maxMembers) || maxMembers < 1) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'MemoryStore.maxMembersPerSet', options.maxMembersPerSet, 'which is not a positive whole number', 'Use e.g. 1000 (the default).');
    }
    this.#maxKeys = maxKeys;
    this.#maxPinned = maxPinned;
    this.#maxMembers = maxMembers;
  }

  get #cache(): SegmentedMap<string, Entry> {
    this.#map ??= new SegmentedMap(this.#maxKeys);
    return this.#map;
  }

  /** Traffic keys held now, at most `maxKeys` (expired ones included until touched or evicted); pinned values are {@link pinnedSize}. */
  get size(): number {
    return this.#map?.size ?? 0;
  }

  /** Pinned values held now, at most `maxPinnedKeys` (expired ones included until read or swept). */
  get pinnedSize(): number {
    return this.#pinned.size;
  }

  /** Runs the batch; see {@link Store.execute}. Synchronous underneath, so a batch is atomic. */
  async execute(ops: readonly StoreOp[], now: number = Date.now()): Promise<StoreResult[]> {
    return this.executeSync(ops, now);
  }

  /** The synchronous core of {@link execute}, for callers in the same process. */
  executeSync(ops: readonly StoreOp[], now: number = Date.now()): StoreResult[] {
    this.#checkPinnedRoom(ops, now);
    const results: StoreResult[] = new Array(ops.length);
    for (let i = 0; i < ops.length; i++) results[i] = this.#apply(ops[i] as StoreOp, now);
    return results;
  }

  /** Live values under `prefix`; see {@link Store.keys}. Walks every key: for admin listings only. */
  async keys(prefix: string): Promise<string[]> {
    const now = Date.now();
    const out: string[] = [];
    for (const [key, entry] of this.#pinned) if (entry.expiresAt > now && key.startsWith(prefix)) out.push(key);
    for (const [key, entry] of this.#cache.entries()) {
      if (entry instanceof Value && entry.expiresAt > now && key.startsWith(prefix)) out.push(key);
    }
    return out;
  }

  /** Forgets every key. */
  async close(): Promise<void> {
    this.#map?.clear();
    this.#pinned.clear();
    this.#claims.clear();
  }

  /**
   * Refuses the whole batch (before any of it runs, so a batch stays atomic) when it
   * would leave more pinned values than the bound. Expired pinned values (a temporary
   * block) are dropped first; that walk only happens at the bound, on an admin write.
   */
  #checkPinnedRoom(ops: readonly StoreOp[], now: number): void {
    let added: Set<string> | undefined;
    let removed = 0;
    for (const op of ops) {
      if (op.type === 'set' && isPinned(op) && !this.#pinned.has(op.key)) {
        added ??= new Set();
        added.add(op.key);
      }
      else if ((op.type === 'delete' || op.type === 'reset') && this.#pinned.has(op.key)) removed++;
    }
    if (added === undefined || this.#pinned.size + added.size - removed <= this.#maxPinned) return;
    for (const [key, entry] of this.#pinned) if (entry.expiresAt <= now) this.#pinned.delete(key);
    if (this.#pinned.size + added.size - removed > this.#maxPinned) throw new MemoryStoreFullError(this.#maxPinned);
  }

  /** Forgets a key wherever it is held. */
  #forget(key: string): void {
    this.#claims.delete(key);
    this.#pinned.delete(key);
    this.#cache.delete(key);
  }

  #live(key: string, now: number): Entry | undefined {
    const claim = this.#claims.size === 0 ? undefined : this.#claims.get(key);
    if (claim !== undefined) {
      if (claim.expiresAt > now) return claim;
      this.#claims.delete(key);
    }
    // Most batches touch no pinned value: skip the lookup while there are none.
    const pinned = this.#pinned.size === 0 ? undefined : this.#pinned.get(key);
    if (pinned !== undefined) {
      if (pinned.expiresAt > now) return pinned;
      this.#pinned.delete(key);
      return undefined;
    }
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
          // A read is no evidence (the engine reads keys it never hits): no credit.
          return entry.window === window ? slidingCount(entry.current, entry.previous, now, op.windowMs) : entry.window === window - 1 ? slidingCount(0, entry.current, now, op.windowMs) : 0;
        }
        const amount = op.amount ?? 1;
        if (!entry) {
          if (found) this.#forget(op.key);
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
        this.#cache.credit(op.key, entry, evidence(count), now);
        return count;
      }
      case 'distinct': {
        const window = Math.floor(now / op.windowMs);
        const found = this.#live(op.key, now);
        const entry = found instanceof Distinct ? found : undefined;
        if (op.member === undefined) {
          if (!entry) return 0;
          return entry.window === window ? entry.union : entry.window === window - 1 ? sizeOf(entry.current) : 0;
        }
        if (!entry) {
          if (found) this.#forget(op.key);
          const created = new Distinct(window, op.windowMs);
          created.current = op.member;
          created.union = 1;
          this.#cache.insert(op.key, created, now);
          return 1;
        }
        if (entry.window !== window) {
          entry.previous = entry.window === window - 1 ? entry.current : undefined;
          entry.current = undefined;
          entry.window = window;
          entry.union = sizeOf(entry.previous);
        }
        entry.windowMs = op.windowMs;
        const current = entry.current;
        let added = false;
        if (current === undefined) {
          entry.current = op.member;
          added = true;
        } else if (typeof current === 'string') {
          if (current !== op.member && this.#maxMembers > 1) {
            entry.current = new Set([current, op.member]);
            added = true;
          }
        } else if (current.size < this.#maxMembers && !current.has(op.member)) {
          current.add(op.member);
          added = true;
        }
        // A member new to this window adds to the union unless the previous window had it.
        if (added && !hasMember(entry.previous, op.member)) entry.union++;
        const count = entry.union;
        this.#cache.credit(op.key, entry, evidence(count), now);
        return count;
      }
      case 'get': {
        const entry = this.#live(op.key, now);
        return entry instanceof Value ? entry.value : null;
      }
      case 'set': {
        if (this.#claims.size > 0) this.#claims.delete(op.key);
        const expiresAt = op.ttlMs === undefined ? Number.POSITIVE_INFINITY : now + op.ttlMs;
        if (isPinned(op)) {
          // Room was checked for the whole batch before it ran.
          this.#cache.delete(op.key);
          this.#pinned.set(op.key, new Value(op.value, expiresAt));
          return null;
        }
        this.#pinned.delete(op.key);
        const found = this.#cache.get(op.key);
        if (found instanceof Value && found.expiresAt > now) {
          found.value = op.value;
          found.expiresAt = expiresAt;
          // Written again while live: a second write is repeated evidence.
          this.#cache.credit(op.key, found, VALUE_CREDIT, now);
          return null;
        }
        if (found) this.#cache.delete(op.key);
        const created = new Value(op.value, expiresAt);
        created.credit = VALUE_CREDIT;
        this.#cache.insert(op.key, created, now);
        return null;
      }
      case 'claim': {
        if (this.#live(op.key, now) instanceof Value) return 0;
        if (this.#claims.size >= this.#maxClaims) {
          for (const [key, entry] of this.#claims) if (entry.expiresAt <= now) this.#claims.delete(key);
          // No room to remember it: refused, never accepted unrecorded.
          if (this.#claims.size >= this.#maxClaims) return 0;
        }
        this.#cache.delete(op.key);
        this.#claims.set(op.key, new Value(op.value, now + op.ttlMs));
        return 1;
      }
      case 'reset':
      case 'delete':
        this.#forget(op.key);
        return null;
      default:
        return null;
    }
  }
}

/** Whether a write goes to the pinned map: an operator's value, marked or without a TTL. */
function isPinned(op: Extract<StoreOp, { type: 'set' }>): boolean {
  return op.pinned === true || op.ttlMs === undefined;
}
