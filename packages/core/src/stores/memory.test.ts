import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStoreFullError, VigilConfigError } from '../errors.js';
import { runStoreContract } from '../testing/store-contract.js';
import { MemoryStore } from './memory.js';
import type { StoreOp } from './types.js';

runStoreContract('MemoryStore', () => new MemoryStore(), {
  describe,
  it,
  beforeEach,
  afterEach,
  assertEqual: (actual, expected, message) => expect(actual, message).toEqual(expected),
});

describe('MemoryStore bounds', () => {
  it('never holds more than maxKeys keys, evicting keys seen once first', async () => {
    const store = new MemoryStore({ maxKeys: 100 });
    const now = Date.now();
    await store.execute([{ type: 'set', key: 'keep', value: 'v' }], now);
    for (let i = 0; i < 1000; i++) {
      await store.execute([{ type: 'hit', key: `ip:${i}`, windowMs: 60_000 }], now);
      if (i % 10 === 0) await store.execute([{ type: 'get', key: 'keep' }], now); // keep it recent
    }
    expect(store.size).toBeLessThanOrEqual(100);
    expect(await store.execute([{ type: 'get', key: 'keep' }, { type: 'count', key: 'ip:0', windowMs: 60_000 }], now)).toEqual(['v', 0]);
  });

  it('saturates a distinct set at maxMembersPerSet', async () => {
    const store = new MemoryStore({ maxMembersPerSet: 10 });
    const now = Date.now();
    let count = 0;
    for (let i = 0; i < 50; i++) [count] = (await store.execute([{ type: 'distinct', key: 'k', windowMs: 60_000, member: String(i) }], now)) as [number];
    expect(count).toBe(10);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects maxKeys %s at construction', (maxKeys) => {
    expect(() => new MemoryStore({ maxKeys })).toThrow(VigilConfigError);
    expect(() => new MemoryStore({ maxKeys })).toThrow(/MemoryStore.maxKeys/);
  });

  it('only ever forgets: whatever the operations, it holds at most maxKeys keys, never counts more than was hit, never reads a value not written last', () => {
    const W = 60_000;
    const t0 = Math.floor(1_700_000_000_000 / W) * W;
    const key = fc.integer({ min: 0, max: 40 }).map((i) => `k${i}`);
    const op: fc.Arbitrary<StoreOp> = fc.oneof(
      fc.record({ type: fc.constant('hit' as const), key, windowMs: fc.constant(W), amount: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ type: fc.constant('count' as const), key, windowMs: fc.constant(W) }),
      fc.record({ type: fc.constant('distinct' as const), key, windowMs: fc.constant(W), member: fc.integer({ min: 0, max: 5 }).map(String) }),
      fc.record({ type: fc.constant('set' as const), key, value: fc.string({ maxLength: 3 }) }),
      fc.record({ type: fc.constant('get' as const), key }),
      fc.record({ type: fc.constant('delete' as const), key }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(op, { maxLength: 300 }), (maxKeys, ops) => {
        const store = new MemoryStore({ maxKeys });
        // What a store with no bound would answer (one window, so no sliding).
        const hits = new Map<string, number>();
        const members = new Map<string, Set<string>>();
        const values = new Map<string, string>();
        const forget = (k: string) => {
          hits.delete(k);
          members.delete(k);
          values.delete(k);
        };
        for (const o of ops) {
          const [result] = store.executeSync([o], t0 + 1);
          if (o.type === 'hit') {
            if (!hits.has(o.key)) forget(o.key);
            hits.set(o.key, (hits.get(o.key) ?? 0) + (o.amount ?? 1));
            expect(result as number).toBeLessThanOrEqual(hits.get(o.key) as number);
            expect(result as number).toBeGreaterThanOrEqual(o.amount ?? 1);
          } else if (o.type === 'count') {
            expect(result as number).toBeLessThanOrEqual(hits.get(o.key) ?? 0);
          } else if (o.type === 'distinct') {
            if (!members.has(o.key)) forget(o.key);
            const set = members.get(o.key) ?? new Set<string>();
            set.add(o.member as string);
            members.set(o.key, set);
            expect(result as number).toBeLessThanOrEqual(set.size);
            expect(result as number).toBeGreaterThanOrEqual(1);
          } else if (o.type === 'set') {
            forget(o.key);
            values.set(o.key, o.value);
          } else if (o.type === 'get') {
            if (result !== null) expect(result).toBe(values.get(o.key));
          } else {
            forget(o.key);
          }
          expect(store.size).toBeLessThanOrEqual(maxKeys);
        }
      }),
    );
  });
});

describe('MemoryStore under a spray of keys that each carry evidence', () => {
  const W = 15 * 60_000;
  const t0 = Math.floor(1_700_000_000_000 / W) * W + 60_000;
  /** A blocked credential stuffer (6 attempts, 5 failed accounts), a permanent block and a familiarity record. */
  function seeded(maxKeys: number): MemoryStore {
    const store = new MemoryStore({ maxKeys });
    for (let i = 0; i < 6; i++) store.executeSync([{ type: 'hit', key: 'v:ip:A:ev:$login', windowMs: W }], t0);
    for (let i = 0; i < 5; i++) store.executeSync([{ type: 'distinct', key: 'v:ip:A:facct', windowMs: W, member: `victim${i}` }], t0);
    store.executeSync([{ type: 'set', key: 'b:user:banned', value: '{}' }], t0);
    return store;
  }
  /** Each fresh /64 fails a login twice (on two accounts): every key it leaves was touched again. */
  function sprayTwice(store: MemoryStore, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      for (let attempt = 0; attempt < 2; attempt++) {
        store.executeSync(
          [
            { type: 'hit', key: `v:ip:${i}::/64:ev:$login`, windowMs: W },
            { type: 'hit', key: `v:ip:${i}::/64:fail`, windowMs: W },
            { type: 'distinct', key: `v:ip:${i}::/64:facct`, windowMs: W, member: `a${i}-${attempt}` },
          ],
          t0,
        );
      }
      expect(store.size).toBeLessThanOrEqual(1_000);
    }
  }
  const read = (store: MemoryStore, last: number) =>
    store.executeSync(
      [
        { type: 'count', key: 'v:ip:A:ev:$login', windowMs: W },
        { type: 'distinct', key: 'v:ip:A:facct', windowMs: W },
        { type: 'get', key: 'b:user:banned' },
        { type: 'count', key: `v:ip:${last}::/64:fail`, windowMs: W },
      ],
      t0,
    );

  it('stays bounded, admits the newest evidence, and keeps a blocked stuffer through twice maxKeys such networks', () => {
    const store = seeded(1_000);
    sprayTwice(store, 0, 2_000);
    expect(read(store, 1_999)).toEqual([6, 5, '{}', 2]);
  });

  it('is not worn out by such networks either: an untouched stuffer stays for its window, then leaves on its own', () => {
    const store = seeded(1_000);
    sprayTwice(store, 0, 30_000);
    expect(read(store, 29_999)).toEqual([6, 5, '{}', 2]);
    // Two windows after its last hit, the stuffer's counters are gone on their own; the
    // permanent block is not traffic and stays.
    const later = t0 + 2 * W;
    expect(
      store.executeSync(
        [
          { type: 'count', key: 'v:ip:A:ev:$login', windowMs: W },
          { type: 'get', key: 'b:user:banned' },
        ],
        later,
      ),
    ).toEqual([0, '{}']);
  });
});


describe('MemoryStore pinned values (block and allow lists, reported and approved devices)', () => {
  const W = 60_000;
  const t0 = Math.floor(1_700_000_000_000 / W) * W;

  it('holds values without a TTL, or marked pinned, apart from the traffic keys: no spray of any kind evicts them', () => {
    const store = new MemoryStore({ maxKeys: 50 });
    store.executeSync(
      [
        { type: 'set', key: 'b:user:u1', value: 'for good' },
        { type: 'set', key: 'b:user:u2', value: 'for a day', ttlMs: 86_400_000, pinned: true },
      ],
      t0,
    );
    expect([store.size, store.pinnedSize]).toEqual([0, 2]);
    for (let i = 0; i < 5_000; i++) {
      // Keys hit five times (at a limit) and values written twice: the strongest traffic.
      for (let n = 0; n < 5; n++) store.executeSync([{ type: 'hit', key: `c${i}`, windowMs: W }], t0);
      store.executeSync([{ type: 'set', key: `k${i}`, value: '1', ttlMs: W }, { type: 'set', key: `k${i}`, value: '1', ttlMs: W }], t0);
    }
    expect(store.size).toBeLessThanOrEqual(50);
    expect(store.executeSync([{ type: 'get', key: 'b:user:u1' }, { type: 'get', key: 'b:user:u2' }], t0)).toEqual(['for good', 'for a day']);
    // A pinned value with a TTL still expires.
    expect(store.executeSync([{ type: 'get', key: 'b:user:u2' }], t0 + 86_400_000)).toEqual([null]);
    expect(store.pinnedSize).toBe(1);
  });

  it('refuses a whole batch past maxPinnedKeys rather than evict, and counts what the batch deletes', async () => {
    const store = new MemoryStore({ maxPinnedKeys: 2 });
    store.executeSync([{ type: 'set', key: 'b:device:d1', value: 'r' }, { type: 'set', key: 'b:user:u1', value: 'b' }], t0);
    expect(() => store.executeSync([{ type: 'hit', key: 'c', windowMs: W }, { type: 'set', key: 'a:device:d2', value: 'a' }], t0)).toThrow(MemoryStoreFullError);
    await expect(store.execute([{ type: 'set', key: 'a:device:d2', value: 'a' }], t0)).rejects.toThrow(/maxPinnedKeys/);
    // Nothing of the refused batch ran, and what was held is intact.
    expect(store.executeSync([{ type: 'count', key: 'c', windowMs: W }, { type: 'get', key: 'b:device:d1' }, { type: 'get', key: 'b:user:u1' }], t0)).toEqual([0, 'r', 'b']);
    // approveDevice's batch (set a:, delete b:) leaves as many as before: allowed.
    store.executeSync([{ type: 'set', key: 'a:device:d1', value: 'a' }, { type: 'delete', key: 'b:device:d1' }], t0);
    expect(store.executeSync([{ type: 'get', key: 'a:device:d1' }, { type: 'get', key: 'b:device:d1' }], t0)).toEqual(['a', null]);
    // Overwriting a pinned key needs no room; a value rewritten with a TTL leaves the pinned map.
    store.executeSync([{ type: 'set', key: 'b:user:u1', value: 'b2' }], t0);
    // (keys() reads the wall clock: a TTL far past it.)
    store.executeSync([{ type: 'set', key: 'b:user:u1', value: 'b3', ttlMs: 1e13 }], t0);
    expect([store.pinnedSize, store.size]).toEqual([1, 1]);
    expect(await store.keys('b:user:')).toEqual(['b:user:u1']);
  });

  it('makes room past the bound from pinned values that expired', () => {
    const store = new MemoryStore({ maxPinnedKeys: 1 });
    store.executeSync([{ type: 'set', key: 'b:user:u1', value: 'b', ttlMs: 10, pinned: true }], t0);
    expect(() => store.executeSync([{ type: 'set', key: 'b:user:u2', value: 'b' }], t0)).toThrow(MemoryStoreFullError);
    store.executeSync([{ type: 'set', key: 'b:user:u2', value: 'b' }], t0 + 10);
    expect(store.executeSync([{ type: 'get', key: 'b:user:u1' }, { type: 'get', key: 'b:user:u2' }], t0 + 10)).toEqual([null, 'b']);
  });

  it.each([0, -1, 1.5])('rejects maxPinnedKeys %s at construction', (maxPinnedKeys) => {
    expect(() => new MemoryStore({ maxPinnedKeys })).toThrow(/MemoryStore.maxPinnedKeys/);
  });
});

describe('MemoryStore credit comes from repeated evidence, not from reads', () => {
  const W = 60_000;
  const t0 = Math.floor(1_700_000_000_000 / W) * W;
  it('a key hit once and read often stays on probation: fresh keys evict it', () => {
    const store = new MemoryStore({ maxKeys: 100 });
    store.executeSync([{ type: 'hit', key: 'once', windowMs: W }], t0);
    for (let i = 0; i < 1_000; i++) {
      store.executeSync([{ type: 'hit', key: `fresh${i}`, windowMs: W }], t0);
      store.executeSync([{ type: 'count', key: 'once', windowMs: W }], t0);
    }
    expect(store.executeSync([{ type: 'count', key: 'once', windowMs: W }], t0)).toEqual([0]);
  });
});

describe('MemoryStore claims', () => {
  it('are bounded apart from traffic and pinned values: past maxClaimKeys a claim is refused (0), expired ones make room again', async () => {
    const store = new MemoryStore({ maxClaimKeys: 2, maxPinnedKeys: 1 });
    const claim = (key: string, now: number) => store.execute([{ type: 'claim', key, value: '1', ttlMs: 1000 }], now);
    expect(await claim('a', 0)).toEqual([1]);
    expect(await claim('b', 0)).toEqual([1]);
    expect(await claim('c', 10)).toEqual([0]);
    // An operator's write still has its room, and no traffic evicts a claim.
    await store.execute([{ type: 'set', key: 'block', value: 'x', pinned: true }], 10);
    for (let i = 0; i < 100; i++) await store.execute([{ type: 'hit', key: `t${i}`, windowMs: 1000 }], 20);
    expect(await claim('a', 30)).toEqual([0]);
    expect(await claim('c', 1000)).toEqual([1]);
  });
});
