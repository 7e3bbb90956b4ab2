/**
 * The store interface: small and atomic enough that one decision's reads and writes
 * run as one batch, in one round trip on a networked store.
 *
 * Windows. Counters are **sliding windows approximated from two fixed windows**: the
 * count of the current fixed window plus the previous window's count weighted by how
 * much of it still overlaps the sliding window (`floor(previous × (1 − elapsed/window))`).
 * Distinct counts are the size of the union of the current and previous fixed windows'
 * member sets, so a member is remembered for between one and two windows. Every key
 * expires on its own (two windows for counters and distinct sets; the given TTL for
 * values), so a store's memory is bounded by recent traffic, never by history.
 */
export type StoreOp =
  /** Add `amount` (default 1) to the counter, then read it. Result: the sliding count. */
  | { type: 'hit'; key: string; windowMs: number; amount?: number }
  /** Read the counter. Result: the sliding count. */
  | { type: 'count'; key: string; windowMs: number }
  /** Forget the counter. Result: `null`. */
  | { type: 'reset'; key: string }
  /** Add `member` (when given) to the distinct set, then count it. Result: the distinct count. */
  | { type: 'distinct'; key: string; windowMs: number; member?: string }
  /** Read a value. Result: the string, or `null` when absent or expired. */
  | { type: 'get'; key: string }
  /**
   * Write a value, with an optional TTL in ms. Result: `null`. `pinned`: an operator
   * wrote it (a block or allow list entry, a reported or approved device), not traffic,
   * so a store with a bound must never evict it to make room for traffic keys. A value
   * without a TTL is pinned too. A store without a bound of its own may ignore it.
   */
  | { type: 'set'; key: string; value: string; ttlMs?: number; pinned?: boolean }
  /** Delete a value. Result: `null`. */
  | { type: 'delete'; key: string }
  /**
   * Write a value only if the key holds no live value, with a TTL in ms: the atomic
   * "first one wins" of a single-use token (a spent challenge solution), so that two
   * instances of a fleet spending the same token at once cannot both succeed. Result: 1
   * when this batch wrote it, 0 when a live value was there (nothing is changed) or the
   * store has no room left to remember it (a bounded store refuses rather than forget:
   * a claim is never evicted to make room for traffic before its TTL).
   */
  | { type: 'claim'; key: string; value: string; ttlMs: number };

/** One result per operation, in order: a number for counts and claims, a string or null otherwise. */
export type StoreResult = number | string | null;

/**
 * Where the engine keeps its counters, distinct sets and values. `MemoryStore`
 * (default, one process) and `RedisStore` (`@vigil/redis`, a fleet) implement it with
 * the same semantics; the shared suite in `@vigil/core/testing` checks any other.
 *
 * @example
 * const [attempts, accounts] = await store.execute([
 *   { type: 'hit', key: 'ip:203.0.113.7:ev:$login', windowMs: 600_000 },
 *   { type: 'distinct', key: 'ip:203.0.113.7:acct', windowMs: 600_000, member: 'h:3f9a' },
 * ])
 */
export interface Store {
  /** Shown in logs and metrics. */
  readonly name: string;
  /**
   * True for a store that several processes share (`RedisStore`). The engine keys
   * emails, usernames and phones in it by an HMAC, and device cookies are signed, with
   * a `secret`: over a shared store, every instance needs the same one, so a missing
   * secret is a start-up error (`VIGIL_E_SECRET_REQUIRED`) instead of a random key per
   * process that silently stops the fleet's per-account counters adding up. Leave it
   * out (or false) for a store private to one process.
   */
  readonly shared?: boolean;
  /**
   * Runs the operations as one batch and resolves their results in order. `now` (ms
   * since epoch) is the batch's clock, so every instance of a fleet computes windows
   * from the time the engine saw, and tests can move time.
   */
  execute(ops: readonly StoreOp[], now?: number): Promise<StoreResult[]>;
  /**
   * Lists the keys with this prefix that hold values (not counters), for admin
   * listings such as blocked users. Not on the request path.
   */
  keys?(prefix: string): Promise<string[]>;
  /** Releases what the store opened. */
  close?(): Promise<void>;
}

/** Sliding count from two fixed windows; see {@link StoreOp}. Shared by every store. */
export function slidingCount(current: number, previous: number, now: number, windowMs: number): number {
  const elapsed = (now % windowMs) / windowMs;
  return current + Math.floor(previous * (1 - elapsed));
}
