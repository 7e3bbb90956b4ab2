import { BoundedMap } from './bounded-map.js';
import { VigilConfigError } from '../errors.js';
import { type Store, type StoreOp, type StoreResult, slidingCount } from './types.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most keys kept; the least recently used go first. Default 200 000: a spray of a
   * million distinct IPs on a login route then holds about 65 MB of heap and grows RSS by
   * about 146 MB (measured; see the README). Each key costs about 320 bytes.
   */
  maxKeys?: number;
  /** Most members remembered per distinct set per window; counting saturates there. Default 1 000. */
  maxMembersPerSet?: number;
}

type Entry =
  | { kind: 'counter'; window: number; current: number; previous: number; expiresAt: number }
  | { kind: 'distinct'; window: number; current: Set<string>; previous: Set<string> | undefined; expiresAt: number }
  | { kind: 'value'; value: string; expiresAt: number };

/**
 * The default store: one process, bounded, no timers. A bounded map with second-chance
 * eviction (close to LRU; see `BoundedMap`) holds at most `maxKeys` entries; each entry
 * carries its own expiry, checked when it is read, so there is no timer per key and
 * every operation is amortized O(1) (distinct counts: O(set size) when a window rolls
 * over).
 *
 * @example
 * const vigil = createVigil({ provider: localProvider({ store: new MemoryStore({ maxKeys: 50_000 }) }) })
 */
export class MemoryStore implements Store {
  readonly name = 'memory';
  #lru: BoundedMap<string, Entry> | undefined;
  readonly #maxKeys: number;
  readonly #maxMembers: number;

  constructor(options: MemoryStoreOptions = {}) {
    const maxKeys = options.maxKeys ?? 200_000;
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'MemoryStore.maxKeys', options.maxKeys, 'which is not a positive whole number', 'Use e.g. 100000 (the default); each key costs a few hundred bytes.');
    }
    const maxMembers = options.maxMembersPerSet ?? 1000;
    if (!Number.isInteger(maxMembers) || maxMembers < 1) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'MemoryStore.maxMembersPerSet', options.maxMembersPerSet, 'which is not a positive whole number', 'Use e.g. 1000 (the default).');
    }
    this.#maxKeys = maxKeys;
    this.#maxMembers = maxMembers;
  }

  get #cache(): BoundedMap<string, Entry> {
    this.#lru ??= new BoundedMap(this.#maxKeys);
    return this.#lru;
  }

  /** Number of keys held now (expired ones included until touched or evicted). */
  get size(): number {
    return this.#lru?.size ?? 0;
  }

  async execute(ops: readonly StoreOp[], now: number = Date.now()): Promise<StoreResult[]> {
    return this.executeSync(ops, now);
  }

  /** The synchronous core of {@link execute}, for callers in the same process. */
  executeSync(ops: readonly StoreOp[], now: number = Date.now()): StoreResult[] {
    const results: StoreResult[] = new Array(ops.length);
    for (let i = 0; i < ops.length; i++) results[i] = this.#apply(ops[i] as StoreOp, now);
    return results;
  }

  async keys(prefix: string): Promise<string[]> {
    const now = Date.now();
    const out: string[] = [];
    for (const [key, entry] of this.#cache.entries()) {
      if (entry.kind === 'value' && entry.expiresAt > now && key.startsWith(prefix)) out.push(key);
    }
    return out;
  }

  async close(): Promise<void> {
    this.#lru?.clear();
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
        let entry = this.#live(op.key, now);
        if (entry && entry.kind !== 'counter') entry = undefined;
        if (entry) {
          if (entry.window !== window) {
            entry.previous = entry.window === window - 1 ? entry.current : 0;
            entry.current = 0;
            entry.window = window;
          }
        } else if (op.type === 'hit') {
          entry = { kind: 'counter', window, current: 0, previous: 0, expiresAt: 0 };
          this.#cache.set(op.key, entry);
        } else {
          return 0;
        }
        if (op.type === 'hit') {
          entry.current += op.amount ?? 1;
          entry.expiresAt = (window + 2) * op.windowMs;
        }
        return slidingCount(entry.current, entry.previous, now, op.windowMs);
      }
      case 'distinct': {
        const window = Math.floor(now / op.windowMs);
        let entry = this.#live(op.key, now);
        if (entry && entry.kind !== 'distinct') entry = undefined;
        if (entry) {
          if (entry.window !== window) {
            entry.previous = entry.window === window - 1 ? entry.current : undefined;
            entry.current = new Set();
            entry.window = window;
          }
        } else if (op.member !== undefined) {
          entry = { kind: 'distinct', window, current: new Set(), previous: undefined, expiresAt: 0 };
          this.#cache.set(op.key, entry);
        } else {
          return 0;
        }
        if (op.member !== undefined) {
          if (entry.current.size < this.#maxMembers) entry.current.add(op.member);
          entry.expiresAt = (window + 2) * op.windowMs;
        }
        if (!entry.previous || entry.previous.size === 0) return entry.current.size;
        let union = entry.previous.size;
        for (const member of entry.current) if (!entry.previous.has(member)) union++;
        return union;
      }
      case 'get': {
        const entry = this.#live(op.key, now);
        return entry?.kind === 'value' ? entry.value : null;
      }
      case 'set':
        this.#cache.set(op.key, { kind: 'value', value: op.value, expiresAt: op.ttlMs === undefined ? Number.POSITIVE_INFINITY : now + op.ttlMs });
        return null;
      case 'reset':
      case 'delete':
        this.#cache.delete(op.key);
        return null;
      default:
        return null;
    }
  }
}
