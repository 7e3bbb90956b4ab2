import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VigilConfigError } from '../errors.js';
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

  it('is not kept for good either: an untouched stuffer goes after many times maxKeys such networks, a permanent block later', () => {
    const store = seeded(1_000);
    sprayTwice(store, 0, 10_000);
    expect(read(store, 9_999)).toEqual([0, 0, '{}', 2]);
    sprayTwice(store, 10_000, 60_000);
    expect(read(store, 59_999)).toEqual([0, 0, null, 2]);
  });
});

