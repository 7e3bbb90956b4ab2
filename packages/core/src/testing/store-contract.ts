import type { Store } from '../stores/types.js';

/** The few test-runner functions the contract needs; vitest's, jest's or node:test's wrappers. */
export interface ContractRunner {
  describe: (name: string, fn: () => void) => void;
  it: (name: string, fn: () => Promise<void> | void) => void;
  beforeEach: (fn: () => Promise<void> | void) => void;
  afterEach: (fn: () => Promise<void> | void) => void;
  /** Must throw when `actual` and `expected` differ (deep equality). */
  assertEqual: (actual: unknown, expected: unknown, message?: string) => void;
}

/**
 * The behaviour every {@link Store} must have, as one suite to run against each
 * implementation: `MemoryStore` here, `RedisStore` in `@vigil/redis`, any third-party
 * store in its own repository.
 *
 * @example
 * import { describe, it, beforeEach, afterEach, expect } from 'vitest'
 * runStoreContract('MyStore', () => new MyStore(), {
 *   describe, it, beforeEach, afterEach, assertEqual: (a, b, m) => expect(a, m).toEqual(b),
 * })
 */
export function runStoreContract(name: string, makeStore: () => Store | Promise<Store>, t: ContractRunner): void {
  const W = 60_000;
  let store: Store;
  // Each test works in its own key space and from a window-aligned clock, so the
  // results are exact whatever the wall clock says.
  let ns: string;
  let t0: number;
  let counter = 0;

  t.describe(`Store contract: ${name}`, () => {
    t.beforeEach(async () => {
      store = await makeStore();
      ns = `contract:${process.pid}:${Date.now()}:${counter++}:`;
      t0 = Math.floor(Date.now() / W) * W;
    });
    t.afterEach(async () => {
      await store.close?.();
    });

    t.it('hit adds and returns the count; count reads without adding; unknown keys count 0', async () => {
      const k = `${ns}a`;
      t.assertEqual(await store.execute([{ type: 'count', key: k, windowMs: W }], t0), [0]);
      t.assertEqual(await store.execute([{ type: 'hit', key: k, windowMs: W }], t0 + 1), [1]);
      t.assertEqual(await store.execute([{ type: 'hit', key: k, windowMs: W }, { type: 'hit', key: k, windowMs: W, amount: 3 }], t0 + 2), [2, 5]);
      t.assertEqual(await store.execute([{ type: 'count', key: k, windowMs: W }], t0 + 3), [5]);
    });

    t.it('counts slide: the previous window weighs by its remaining overlap, then is forgotten', async () => {
      const k = `${ns}slide`;
      await store.execute([{ type: 'hit', key: k, windowMs: W, amount: 10 }], t0 + 10);
      t.assertEqual(await store.execute([{ type: 'count', key: k, windowMs: W }], t0 + W), [10], 'start of next window');
      t.assertEqual(await store.execute([{ type: 'count', key: k, windowMs: W }], t0 + W + W / 2), [5], 'half way');
      t.assertEqual(await store.execute([{ type: 'hit', key: k, windowMs: W }], t0 + W + (3 * W) / 4), [3], 'three quarters, plus one hit');
      t.assertEqual(await store.execute([{ type: 'count', key: k, windowMs: W }], t0 + 2 * W), [1], 'next window: only the last hit, fully weighted');
      t.assertEqual(await store.execute([{ type: 'count', key: k, windowMs: W }], t0 + 4 * W), [0], 'two windows later: nothing');
    });

    t.it('reset forgets a counter', async () => {
      const k = `${ns}reset`;
      await store.execute([{ type: 'hit', key: k, windowMs: W, amount: 4 }], t0);
      t.assertEqual(await store.execute([{ type: 'reset', key: k }, { type: 'count', key: k, windowMs: W }, { type: 'hit', key: k, windowMs: W }], t0 + 1), [null, 0, 1]);
    });

    t.it('distinct counts members once, across the current and previous windows', async () => {
      const k = `${ns}distinct`;
      const add = (member: string, at: number) => store.execute([{ type: 'distinct', key: k, windowMs: W, member }], at);
      t.assertEqual(await store.execute([{ type: 'distinct', key: k, windowMs: W }], t0), [0]);
      t.assertEqual(await add('a', t0), [1]);
      t.assertEqual(await add('b', t0 + 1), [2]);
      t.assertEqual(await add('a', t0 + 2), [2]);
      t.assertEqual(await add('c', t0 + W + 5), [3], 'previous window still counts');
      t.assertEqual(await add('a', t0 + W + 6), [3], 'a member of the previous window is not new');
      t.assertEqual(await store.execute([{ type: 'distinct', key: k, windowMs: W }], t0 + 2 * W + 1), [2], 'first window forgotten: c and a remain');
      t.assertEqual(await store.execute([{ type: 'distinct', key: k, windowMs: W }], t0 + 4 * W), [0]);
    });

    t.it('distinct counts of a few hundred members are exact', async () => {
      const k = `${ns}many`;
      let last: unknown;
      for (let i = 0; i < 300; i++) [last] = await store.execute([{ type: 'distinct', key: k, windowMs: W, member: `member-${i}` }], t0 + i);
      // HyperLogLog-backed stores are approximate; within 2% here.
      const count = last as number;
      t.assertEqual(Math.abs(count - 300) <= 6, true, `distinct count ${count} is not within 2% of 300`);
    });

    t.it('values: set, get, delete, and expiry relative to the batch clock', async () => {
      const k = `${ns}value`;
      t.assertEqual(await store.execute([{ type: 'get', key: k }], t0), [null]);
      t.assertEqual(await store.execute([{ type: 'set', key: k, value: 'v1' }, { type: 'get', key: k }], t0), [null, 'v1']);
      t.assertEqual(await store.execute([{ type: 'delete', key: k }, { type: 'get', key: k }], t0), [null, null]);
      await store.execute([{ type: 'set', key: k, value: 'v2', ttlMs: 30_000 }], t0);
      t.assertEqual(await store.execute([{ type: 'get', key: k }], t0 + 29_999), ['v2']);
      t.assertEqual(await store.execute([{ type: 'get', key: k }], t0 + 30_000), [null]);
    });

    t.it('claim writes only over no live value: the first batch wins, until the TTL runs out', async () => {
      const k = `${ns}claim`;
      t.assertEqual(await store.execute([{ type: 'claim', key: k, value: 'a', ttlMs: 10_000 }], t0), [1], 'first claim');
      t.assertEqual(await store.execute([{ type: 'claim', key: k, value: 'b', ttlMs: 10_000 }], t0 + 1), [0], 'second claim');
      t.assertEqual(await store.execute([{ type: 'get', key: k }], t0 + 2), ['a'], 'the first value stays');
      t.assertEqual(await store.execute([{ type: 'claim', key: k, value: 'c', ttlMs: 10_000 }, { type: 'claim', key: k, value: 'd', ttlMs: 10_000 }], t0 + 10_000), [1, 0], 'after the TTL: claimable again, once');
      t.assertEqual(await store.execute([{ type: 'set', key: `${ns}held`, value: 'x', ttlMs: 5_000 }, { type: 'claim', key: `${ns}held`, value: 'y', ttlMs: 5_000 }], t0), [null, 0], 'a value set by set is live too');
    });

    t.it('concurrent claims of one key: exactly one wins', async () => {
      const k = `${ns}race`;
      const results = await Promise.all(Array.from({ length: 20 }, () => store.execute([{ type: 'claim', key: k, value: '1', ttlMs: 60_000 }], t0)));
      t.assertEqual(results.map((r) => r[0]).filter((r) => r === 1).length, 1);
    });

    t.it('keys lists live values under a prefix', async () => {
      if (!store.keys) return;
      await store.execute(
        [
          { type: 'set', key: `${ns}blocked:u1`, value: '{}' },
          { type: 'set', key: `${ns}blocked:u2`, value: '{}', ttlMs: 60_000 },
          { type: 'set', key: `${ns}other:u3`, value: '{}' },
        ],
        Date.now(),
      );
      t.assertEqual((await store.keys(`${ns}blocked:`)).sort(), [`${ns}blocked:u1`, `${ns}blocked:u2`]);
    });

    t.it('keys are independent and results come back in order', async () => {
      const results = await store.execute(
        [
          { type: 'hit', key: `${ns}x`, windowMs: W },
          { type: 'hit', key: `${ns}y`, windowMs: W, amount: 2 },
          { type: 'distinct', key: `${ns}z`, windowMs: W, member: 'm' },
          { type: 'set', key: `${ns}v`, value: 'val' },
          { type: 'get', key: `${ns}v` },
          { type: 'count', key: `${ns}x`, windowMs: W },
        ],
        t0,
      );
      t.assertEqual(results, [1, 2, 1, null, 'val', 1]);
    });

    t.it('concurrent batches on one key lose no increment', async () => {
      const k = `${ns}concurrent`;
      await Promise.all(Array.from({ length: 200 }, () => store.execute([{ type: 'hit', key: k, windowMs: W }], t0 + 1)));
      t.assertEqual(await store.execute([{ type: 'count', key: k, windowMs: W }], t0 + 2), [200]);
    });

    t.it('windows of different lengths on the same key prefix do not collide', async () => {
      await store.execute([{ type: 'hit', key: `${ns}w1`, windowMs: 1000 }, { type: 'hit', key: `${ns}w2`, windowMs: W }], t0);
      t.assertEqual(await store.execute([{ type: 'count', key: `${ns}w1`, windowMs: 1000 }, { type: 'count', key: `${ns}w2`, windowMs: W }], t0 + 1), [1, 1]);
    });
  });
}
