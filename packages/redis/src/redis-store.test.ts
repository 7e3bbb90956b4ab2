import { createHash } from 'node:crypto';
import { createVigil, DEFAULT_LIMITS, localProvider, MemoryStore, type StoreOp, VigilConfigError } from '@vigil/core';
import { runStoreContract } from '@vigil/core/testing';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLOCK_SKEW_MS } from './batch.js';
import { RedisStore, RedisStoreError } from './redis-store.js';
import { adminClient, deleteKeys, LOGIN_ROUTES, loginRequest, monitorCommands, REDIS_URL, SECRET, uniquePrefix } from './test-support.js';

const prefix = uniquePrefix('store');
let admin: Redis;

beforeAll(() => {
  admin = adminClient();
});
afterAll(async () => {
  await deleteKeys(admin, prefix);
  admin.disconnect();
});

const runner = { describe, it, beforeEach, afterEach, assertEqual: (actual: unknown, expected: unknown, message?: string) => expect(actual, message).toEqual(expected) };

// The shared suite, unchanged, against a store that owns its connection...
runStoreContract('RedisStore (url)', () => new RedisStore({ url: REDIS_URL, prefix }), runner);

// ...and against one given an existing client, which the suite's close() must leave open.
describe('given client', () => {
  const client = new Redis(REDIS_URL, { enableOfflineQueue: false });
  client.on('error', () => undefined);
  afterAll(() => client.disconnect());
  runStoreContract('RedisStore (client)', () => new RedisStore({ client, prefix }), runner);
  it('is still open after the stores using it were closed', async () => {
    expect(client.status).toBe('ready');
    expect(await client.ping()).toBe('PONG');
  });
});

describe('same results as MemoryStore', () => {
  // Random batches over time, run on both stores: counters, distinct sets (small
  // enough for HyperLogLog to be exact), values with and without TTLs, resets and
  // deletes. Keys of each kind come from their own pool: one key, one kind.
  const counterKeys = ['c1', 'c2'];
  const distinctKeys = ['d1', 'd2'];
  const valueKeys = ['v1', 'v2'];
  const opArb = fc.oneof(
    fc.record({ type: fc.constant('hit' as const), key: fc.constantFrom(...counterKeys), amount: fc.integer({ min: 1, max: 5 }) }),
    fc.record({ type: fc.constant('count' as const), key: fc.constantFrom(...counterKeys) }),
    fc.record({ type: fc.constant('reset' as const), key: fc.constantFrom(...counterKeys) }),
    fc.record({ type: fc.constant('distinct' as const), key: fc.constantFrom(...distinctKeys), member: fc.option(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g'), { nil: undefined }) }),
    fc.record({ type: fc.constant('get' as const), key: fc.constantFrom(...valueKeys) }),
    fc.record({ type: fc.constant('set' as const), key: fc.constantFrom(...valueKeys), value: fc.string({ maxLength: 8 }), ttlMs: fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: undefined }) }),
    fc.record({ type: fc.constant('delete' as const), key: fc.constantFrom(...valueKeys) }),
  );
  const stepArb = fc.record({ advance: fc.integer({ min: 0, max: 7_000 }), ops: fc.array(opArb, { minLength: 1, maxLength: 6 }) });

  it('for random batches over several windows', async () => {
    const redis = new RedisStore({ url: REDIS_URL, prefix });
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 3 }).map((n) => n * 5_000), fc.array(stepArb, { minLength: 5, maxLength: 25 }), async (windowMs, steps) => {
          const memory = new MemoryStore();
          const ns = `diff:${run++}:`;
          let now = Math.floor(Date.now() / windowMs) * windowMs + 1;
          for (const { advance, ops } of steps) {
            now += advance;
            const batch = ops.map((op) => ({ ...op, key: ns + op.key, ...(op.type === 'hit' || op.type === 'count' || op.type === 'distinct' ? { windowMs } : {}) })) as StoreOp[];
            expect(await redis.execute(batch, now), JSON.stringify({ now, batch })).toEqual(await memory.execute(batch, now));
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      await redis.close();
    }
  });
});

describe('distinct counts', () => {
  it('are HyperLogLog estimates: exact for a few members, within one up to 100', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix });
    try {
      const now = Date.now();
      // Members like the engine's: truncated HMACs of account identifiers.
      for (let i = 1; i <= 100; i++) {
        const member = createHash('sha256').update(`account-${i}`).digest('base64url').slice(0, 22);
        const [count] = (await store.execute([{ type: 'distinct', key: 'estimate', windowMs: 60_000, member }], now)) as [number];
        if (i <= 10) expect(count).toBe(i);
        else expect(Math.abs(count - i)).toBeLessThanOrEqual(1);
      }
    } finally {
      await store.close();
    }
  });
});

describe('atomic under concurrency', () => {
  it('2 000 concurrent increments from four connections end at exactly 2 000, each seeing its own count', async () => {
    const stores = Array.from({ length: 4 }, () => new RedisStore({ url: REDIS_URL, prefix, commandTimeout: 5_000 }));
    try {
      const key = 'concurrency:one-key';
      const now = Date.now();
      const op: StoreOp = { type: 'hit', key, windowMs: 3_600_000 };
      const results = await Promise.all(Array.from({ length: 2_000 }, (_, i) => (stores[i % 4] as RedisStore).execute([op], now)));
      expect(await (stores[0] as RedisStore).execute([{ type: 'count', key, windowMs: 3_600_000 }], now)).toEqual([2_000]);
      // Every increment was applied alone: the counts seen are 1..2000, each once.
      const seen = results.map(([count]) => count as number).sort((a, b) => a - b);
      expect(seen).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
      for (const store of stores) expect(store.stats.failures).toBe(0);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});

describe('one round trip per decision', () => {
  it('an engine decision is exactly one Redis command (EVAL once per connection, then EVALSHA)', async () => {
    const name = `vigil-test-rt-${process.pid}-${Date.now()}`;
    const store = new RedisStore({ url: REDIS_URL, prefix, redisOptions: { connectionName: name } });
    const vigil = createVigil({ mode: 'blocking', routes: LOGIN_ROUTES, provider: localProvider({ store, secret: SECRET }) });
    const monitor = await monitorCommands();
    try {
      await store.execute([{ type: 'count', key: 'warm-up', windowMs: 60_000 }]);
      const clients = (await admin.client('LIST')) as string;
      const line = clients.split('\n').find((l) => l.includes(` name=${name} `)) ?? '';
      const addr = / addr=(\S+)/.exec(line)?.[1] as string;
      expect(addr).toBeDefined();
      // MONITOR lines arrive asynchronously: wait for the warm-up's.
      const scripts = () => monitor.commandsFrom(addr).filter((command) => command.startsWith('eval'));
      for (let i = 0; i < 100 && scripts().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(scripts()).toEqual(['eval']); // the first batch on a connection loads the script
      const before = monitor.commandsFrom(addr).length;
      const decisions = 20;
      for (let i = 0; i < decisions; i++) {
        const decision = await vigil.protect(loginRequest('198.51.100.7', `user${i}@example.com`));
        expect(decision.failover).toBe(false);
      }
      // Wait for every decision's line, then for stragglers: nothing but one EVALSHA per
      // decision may come from the store's connection.
      const seen = () => monitor.commandsFrom(addr).slice(before);
      for (let i = 0; i < 100 && seen().length < decisions; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(seen()).toEqual(Array.from({ length: decisions }, () => 'evalsha'));
    } finally {
      monitor.stop();
      await vigil.close();
      await store.close();
    }
  });

  it('reloads the script when Redis lost it (NOSCRIPT after SCRIPT FLUSH)', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix });
    try {
      const op: StoreOp = { type: 'hit', key: 'noscript', windowMs: 60_000 };
      const now = Date.now();
      expect(await store.execute([op], now)).toEqual([1]);
      await admin.script('FLUSH');
      expect(await store.execute([op], now)).toEqual([2]);
      expect(store.stats.failures).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('key layout', () => {
  it('every key of a decision shares one hash tag, has its documented type, and expires', async () => {
    const own = uniquePrefix('layout');
    const store = new RedisStore({ url: REDIS_URL, prefix: own });
    const windowMs = 600_000;
    const provider = localProvider({ store, secret: SECRET, limits: { windowMs } });
    const vigil = createVigil({ mode: 'blocking', routes: LOGIN_ROUTES, provider });
    try {
      const decision = await vigil.protect(loginRequest('198.51.100.8', 'alice@example.com'));
      expect(decision.failover).toBe(false);
      // An outcome (failed, then succeeded) and an admin block: every kind of key.
      const event = { type: '$login' as const, requestId: 'r', timestamp: Date.now(), context: { ip: '198.51.100.8', headers: {} }, user: { email: 'alice@example.com' } };
      await provider.log({ ...event, status: '$failed' } as never);
      await provider.log({ ...event, status: '$succeeded' } as never);
      await provider.blockUser('u-42');
      const keys = await admin.keys(`${own}*`);
      expect(keys.length).toBeGreaterThan(4);
      for (const key of keys) {
        expect(key.startsWith(`${own}{vigil}:`)).toBe(true);
        const kind = key.slice(`${own}{vigil}:`.length, `${own}{vigil}:`.length + 2);
        const [type, ttl] = await Promise.all([admin.type(key), admin.pttl(key)]);
        if (kind === 'c:') {
          expect(type).toBe('hash');
          expect(ttl).toBeGreaterThan(windowMs);
          expect(ttl).toBeLessThanOrEqual(2 * windowMs + CLOCK_SKEW_MS);
        } else if (kind === 'd:') {
          expect(type).toBe('string'); // a HyperLogLog
          expect(await admin.pfcount(key)).toBeGreaterThan(0);
          // Two windows of its own: the decision's, or a population's (a day by default).
          const population = /:pop(dev)?:\d+$/.test(key);
          expect(ttl).toBeLessThanOrEqual(2 * (population ? DEFAULT_LIMITS.populationWindowMs : windowMs) + CLOCK_SKEW_MS);
          expect(ttl).toBeGreaterThan(0);
        } else {
          expect(kind).toBe('v:');
          expect(type).toBe('string');
          // Only what an admin set for good (a block without a TTL) lives without one.
          if (key === `${own}{vigil}:v:b:user:u-42`) expect(ttl).toBe(-1);
          else expect(ttl).toBeGreaterThan(0);
        }
      }
      expect(keys).toContain(`${own}{vigil}:v:b:user:u-42`);
      expect(await store.keys('b:user:')).toEqual(['b:user:u-42']);
    } finally {
      await vigil.close();
      await store.close();
      await deleteKeys(admin, own);
    }
  });

  it('a counter keeps two windows at most', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix });
    try {
      const W = 1000;
      const t0 = Math.floor(Date.now() / W) * W;
      for (let i = 0; i < 6; i++) await store.execute([{ type: 'hit', key: 'windows', windowMs: W }], t0 + i * W);
      const fields = await admin.hkeys(store.layout.counter('windows'));
      expect(fields.sort()).toEqual([String(t0 / W + 4), String(t0 / W + 5)]);
    } finally {
      await store.close();
    }
  });

  it('keys() matches its prefix literally and skips expired values', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix });
    try {
      const now = Date.now();
      await store.execute(
        [
          { type: 'set', key: 'lit:[a]*:1', value: 'x' },
          { type: 'set', key: 'lit:b:2', value: 'x' },
          { type: 'set', key: 'lit:[a]*:gone', value: 'x', ttlMs: 1 },
        ],
        now - 10,
      );
      expect(await store.keys('lit:[a]*:')).toEqual(['lit:[a]*:1']);
    } finally {
      await store.close();
    }
  });
});

describe('options and lifecycle', () => {
  it.each([
    [undefined, 'VIGIL_E_OPTION_TYPE', 'RedisStore'],
    [{}, 'VIGIL_E_OPTION_TYPE', 'RedisStore.client'],
    [{ url: REDIS_URL, client: {} }, 'VIGIL_E_OPTION_VALUE', 'RedisStore.url'],
    [{ client: { get: () => 1 } }, 'VIGIL_E_OPTION_TYPE', 'RedisStore.client'],
    [{ url: 'http://127.0.0.1:6379' }, 'VIGIL_E_OPTION_VALUE', 'RedisStore.url'],
    [{ url: 'not a url' }, 'VIGIL_E_OPTION_VALUE', 'RedisStore.url'],
    [{ url: REDIS_URL, prefix: 42 }, 'VIGIL_E_OPTION_VALUE', 'RedisStore.prefix'],
    [{ url: REDIS_URL, prefix: 'a{b}:' }, 'VIGIL_E_OPTION_VALUE', 'RedisStore.prefix'],
    [{ url: REDIS_URL, hashTag: '' }, 'VIGIL_E_OPTION_VALUE', 'RedisStore.hashTag'],
    [{ url: REDIS_URL, commandTimeout: 0 }, 'VIGIL_E_OPTION_VALUE', 'RedisStore.commandTimeout'],
    [{ url: REDIS_URL, commandTimeout: Number.NaN }, 'VIGIL_E_OPTION_VALUE', 'RedisStore.commandTimeout'],
    [{ url: REDIS_URL, fallback: {} }, 'VIGIL_E_OPTION_TYPE', 'RedisStore.fallback'],
    [{ url: REDIS_URL, logger: { info() {} } }, 'VIGIL_E_LOGGER', 'RedisStore.logger'],
    [{ url: REDIS_URL, redisOptions: 'tls' }, 'VIGIL_E_OPTION_TYPE', 'RedisStore.redisOptions'],
    [{ url: REDIS_URL, prefx: 'x' }, 'VIGIL_E_UNKNOWN_OPTION', 'RedisStore.prefx'],
    [{ url: REDIS_URL, incidentQuietMs: -1 }, 'VIGIL_E_OPTION_VALUE', 'RedisStore.incidentQuietMs'],
  ])('rejects %j at construction', (options, code, option) => {
    let error: unknown;
    try {
      new RedisStore(options as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(VigilConfigError);
    expect((error as VigilConfigError).code).toBe(code);
    expect((error as VigilConfigError).option).toBe(option);
    expect((error as VigilConfigError).message).toMatch(/\. \S/); // names the fix
  });

  it('is a shared store: an engine over it without a secret, or its device cookie without one, fails at start-up', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix, redisOptions: { lazyConnect: true } });
    const configError = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error as VigilConfigError;
      }
      throw new Error('no error');
    };
    try {
      expect(store.shared).toBe(true);
      // What a fleet gets when VIGIL_SECRET is not set on an instance.
      const noSecret = configError(() => localProvider({ store, secret: process.env.VIGIL_TEST_SECRET_NEVER_SET }));
      expect(noSecret).toMatchObject({ name: 'VigilConfigError', code: 'VIGIL_E_SECRET_REQUIRED', option: 'secret', value: undefined });
      expect(noSecret.message).toContain('while the store ("redis") is shared');
      expect(noSecret.message).toContain('Pass the same `secret` to every instance, e.g. from an environment variable');
      const provider = localProvider({ store, secret: SECRET });
      // The device cookie (on by default) is keyed from the engine's secret, or its own.
      expect(configError(() => createVigil({ provider, deviceCookie: { secret: '' } }))).toMatchObject({ code: 'VIGIL_E_SECRET_REQUIRED', option: 'deviceCookie.secret' });
      for (const deviceCookie of [undefined, true as const, { secret: 'device-secret-0123456789' }]) {
        expect(() => createVigil({ provider, ...(deviceCookie === undefined ? {} : { deviceCookie }) })).not.toThrow();
      }
      // A provider over the shared store with no key of its own: the cookie needs a secret.
      const keyless = { name: 'keyless', store, filter: async () => ({ risk: 0 }), risk: async () => ({ risk: 0 }), log: async () => undefined };
      expect(configError(() => createVigil({ provider: keyless }))).toMatchObject({ code: 'VIGIL_E_SECRET_REQUIRED', option: 'deviceCookie.secret' });
    } finally {
      await store.close();
    }
  });

  it('names keys <prefix>{<hashTag>}:<kind>:<key>', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix: 'shop:vigil:', hashTag: 'shop' });
    expect([store.layout.counter('v:ip:1'), store.layout.distinct('v:ip:1:acct', 7), store.layout.value('b:user:42')]).toEqual([
      'shop:vigil:{shop}:c:v:ip:1',
      'shop:vigil:{shop}:d:v:ip:1:acct:7',
      'shop:vigil:{shop}:v:b:user:42',
    ]);
    await store.close();
  });

  it('rejects redisOptions with a client of your own', () => {
    const client = new Redis(REDIS_URL, { lazyConnect: true });
    expect(() => new RedisStore({ client, redisOptions: {} })).toThrow(/RedisStore.redisOptions/);
  });

  it('close() ends the connection it created, and batches after it reject', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix });
    await store.execute([{ type: 'count', key: 'x', windowMs: 1000 }]);
    await store.close();
    expect(store.client.status).toBe('end');
    await store.close(); // twice is fine
    const error = await store.execute([{ type: 'count', key: 'x', windowMs: 1000 }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisStoreError);
    expect((error as RedisStoreError).reason).toBe('closed');
    expect(store.stats.failures).toBe(0);
  });

  it('a malformed operation is the caller’s error, not a Redis failure', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix });
    try {
      await expect(store.execute([{ type: 'hit', key: 'k', windowMs: 0 }])).rejects.toThrow(TypeError);
      await expect(store.execute([{ type: 'hit', key: 'k', windowMs: 1000, amount: 1.5 }])).rejects.toThrow(/amount/);
      await expect(store.execute([{ type: 'nope', key: 'k' } as never])).rejects.toThrow(/unknown type/);
      expect(store.stats).toMatchObject({ failures: 0, incidents: 0 });
      expect(await store.execute([])).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
