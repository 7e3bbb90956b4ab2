import { createVigil, type Decision, localProvider, MemoryStore, type Vigil } from '@vigil/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store.js';
import { adminClient, closedPort, deleteKeys, LOGIN_ROUTES, loginRequest, REDIS_URL, RedisProxy, recordingLogger, SECRET, uniquePrefix } from './test-support.js';

// Redis trouble is not an outage: whatever happens to Redis, every decision arrives
// within Vigil's timeout (here 300 ms), fails over (or runs on the fallback store), and
// the store logs one warning per incident; when Redis is back, so are its decisions.
// `failoverReason: 'store error'` (not 'timeout') shows the store gave up on Redis
// before Vigil's own timer fired.

const VIGIL_TIMEOUT = 300;
const prefix = uniquePrefix('faults');
let admin: Redis;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(() => {
  admin = adminClient();
  process.on('unhandledRejection', onUnhandled);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
  await deleteKeys(admin, prefix);
  admin.disconnect();
});

function engine(store: RedisStore): Vigil {
  return createVigil({ mode: 'blocking', failover: 'allow', timeout: VIGIL_TIMEOUT, routes: LOGIN_ROUTES, provider: localProvider({ store, secret: SECRET }) });
}

let users = 0;
const attempt = (vigil: Vigil, ip = '198.51.100.20') => vigil.protect(loginRequest(ip, `user${users++}@example.com`));

/** Decides until a decision is not a failover again (Redis reachable), within `ms`. */
async function untilRecovered(vigil: Vigil, ms = 5_000): Promise<Decision> {
  const deadline = Date.now() + ms;
  for (;;) {
    const decision = await attempt(vigil);
    if (!decision.failover || Date.now() > deadline) return decision;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function expectStoreFailover(decision: Decision): void {
  expect(decision.failover).toBe(true);
  expect(decision.failoverReason).toBe('store error');
  expect(decision.action).toBe('allow'); // the configured strategy
}

describe('Redis trouble is not an outage', () => {
  it('start-up: the first decisions wait for the connection instead of failing over', async () => {
    const store = new RedisStore({ url: REDIS_URL, prefix });
    const vigil = engine(store);
    try {
      const decisions = await Promise.all(Array.from({ length: 20 }, () => attempt(vigil)));
      for (const decision of decisions) expect(decision.failover).toBe(false);
    } finally {
      await vigil.close();
      await store.close();
    }
  });

  it('nothing listening on the port: every decision fails over in time, one warning; then Redis comes up and decisions recover', async () => {
    const port = await closedPort();
    const logger = recordingLogger();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeout: 100, logger, redisOptions: { retryStrategy: () => 50 } });
    const vigil = engine(store);
    const proxy = new RedisProxy();
    try {
      // A burst, then a steady trickle.
      for (const decision of await Promise.all(Array.from({ length: 20 }, () => attempt(vigil)))) expectStoreFailover(decision);
      for (let i = 0; i < 20; i++) expectStoreFailover(await attempt(vigil));
      expect(logger.codes('warn')).toEqual(['VIGIL_W_REDIS_UNAVAILABLE']);
      expect(store.stats).toMatchObject({ failing: true, incidents: 1, batches: 0, failures: 40 });

      // Redis becomes reachable on that port: the client reconnects by itself.
      await proxy.listen(port);
      expect((await untilRecovered(vigil)).failover).toBe(false);
      expect(store.stats).toMatchObject({ failing: false, incidents: 1 });
      expect(logger.codes('info')).toEqual(['VIGIL_I_REDIS_RECOVERED']);
      expect(logger.codes('warn')).toEqual(['VIGIL_W_REDIS_UNAVAILABLE']);
    } finally {
      await vigil.close();
      await store.close();
      await proxy.close();
    }
  });

  it('a live connection killed mid-run (CLIENT KILL): decisions keep coming, fail over, then recover', async () => {
    const name = `vigil-test-kill-${process.pid}-${Date.now()}`;
    const logger = recordingLogger();
    const store = new RedisStore({ url: REDIS_URL, prefix, commandTimeout: 100, logger, redisOptions: { connectionName: name } });
    const vigil = engine(store);
    try {
      expect((await attempt(vigil)).failover).toBe(false);
      // The victim: the store's own connection, found by its name (no other client is touched).
      const line = ((await admin.client('LIST')) as string).split('\n').find((l) => l.includes(` name=${name} `)) ?? '';
      const id = / id=(\d+)/.exec(` ${line}`)?.[1] as string;
      expect(id).toBeDefined();
      const decisions: Decision[] = [];
      let started = 0;
      let killed: Promise<unknown> | undefined;
      // Four concurrent request streams; the connection is killed a third of the way in.
      const worker = async () => {
        while (started < 300) {
          started++;
          if (started === 100) killed = admin.client('KILL', 'ID', id);
          decisions.push(await attempt(vigil));
          // Leave the client time to reconnect within the run.
          if (decisions.length % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
      await killed;
      expect(decisions).toHaveLength(300);
      const failovers = decisions.filter((d) => d.failover);
      expect(failovers.length).toBeGreaterThan(0);
      for (const decision of failovers) expectStoreFailover(decision);
      expect(decisions.slice(0, 90).every((d) => !d.failover)).toBe(true);
      expect((await untilRecovered(vigil)).failover).toBe(false);
      expect(store.stats).toMatchObject({ failing: false, incidents: 1 });
      expect(logger.codes('warn')).toEqual(['VIGIL_W_REDIS_UNAVAILABLE']);
    } finally {
      await vigil.close();
      await store.close();
    }
  });

  it('Redis stops answering (commandTimeout): the batches sent time out, the next ones fail over at once; then it answers again', async () => {
    const port = await closedPort();
    const proxy = new RedisProxy();
    await proxy.listen(port);
    const logger = recordingLogger();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeout: 100, logger });
    const vigil = engine(store);
    try {
      expect((await attempt(vigil)).failover).toBe(false);
      proxy.stall();
      // The burst's batches all went to Redis and time out together...
      for (const decision of await Promise.all(Array.from({ length: 10 }, () => attempt(vigil)))) expectStoreFailover(decision);
      expect(store.stats).toMatchObject({ failures: 10, timeouts: 10 });
      // ...after which nothing waits for a Redis known to be slow.
      for (const decision of await Promise.all(Array.from({ length: 10 }, () => attempt(vigil)))) expectStoreFailover(decision);
      for (let i = 0; i < 10; i++) expectStoreFailover(await attempt(vigil));
      expect(store.stats).toMatchObject({ failures: 30, timeouts: 10, incidents: 1 });
      expect(logger.codes('warn')).toEqual(['VIGIL_W_REDIS_UNAVAILABLE']);
      proxy.stall(false);
      expect((await untilRecovered(vigil)).failover).toBe(false);
      expect(store.stats.failing).toBe(false);
    } finally {
      await vigil.close();
      await store.close();
      await proxy.close();
    }
  });

  it('with a fallback store, decisions keep counting locally while Redis is down: a stuffing run is still blocked', async () => {
    const port = await closedPort();
    const logger = recordingLogger();
    const fallback = new MemoryStore();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeout: 100, logger, fallback, redisOptions: { retryStrategy: () => 50 } });
    const provider = localProvider({ store, secret: SECRET });
    const vigil = createVigil({ mode: 'blocking', timeout: VIGIL_TIMEOUT, routes: LOGIN_ROUTES, provider });
    const proxy = new RedisProxy();
    try {
      let firstBlock = 0;
      for (let i = 1; i <= 20 && firstBlock === 0; i++) {
        const decision = await vigil.protect(loginRequest('203.0.113.99', `victim${i}@example.com`));
        expect(decision.failover).toBe(false);
        if (decision.action === 'block') firstBlock = i;
        else await provider.log({ type: '$login', status: '$failed', requestId: decision.requestId, timestamp: Date.now(), context: { ip: '203.0.113.99', headers: {} }, user: { email: `victim${i}@example.com` } } as never);
      }
      expect(firstBlock).toBe(6); // as with Redis up (see the fleet test)
      expect(store.stats.fallbacks).toBeGreaterThan(10);
      expect(store.stats.batches).toBe(0);
      expect(logger.lines.filter((l) => l.level === 'warn')).toMatchObject([{ obj: { code: 'VIGIL_W_REDIS_UNAVAILABLE', fallback: 'memory' } }]);

      await proxy.listen(port);
      const deadline = Date.now() + 5_000;
      while (store.stats.batches === 0 && Date.now() < deadline) {
        await attempt(vigil);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(store.stats).toMatchObject({ failing: false });
      expect(store.stats.batches).toBeGreaterThan(0);
    } finally {
      await vigil.close();
      await store.close();
      await proxy.close();
    }
  });

  it('an error reply from Redis fails the batch like an outage: failover, one warning', async () => {
    const logger = recordingLogger();
    const store = new RedisStore({ url: REDIS_URL, prefix, logger });
    try {
      // Someone else's data where a counter should be: Redis answers WRONGTYPE.
      await admin.set(store.layout.counter('clobbered'), 'not a hash');
      for (let i = 0; i < 3; i++) {
        await expect(store.execute([{ type: 'hit', key: 'clobbered', windowMs: 60_000 }])).rejects.toMatchObject({ name: 'RedisStoreError', reason: 'error' });
      }
      expect(logger.codes('warn')).toEqual(['VIGIL_W_REDIS_UNAVAILABLE']);
      expect(store.stats).toMatchObject({ failures: 3, incidents: 1, failing: true });
      expect(await store.execute([{ type: 'hit', key: 'fine', windowMs: 60_000 }])).toEqual([1]);
      expect(store.stats.failing).toBe(false);
    } finally {
      await store.close();
    }
  });

  it('close() during an outage returns promptly', async () => {
    const port = await closedPort();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeout: 100 });
    await store.execute([{ type: 'count', key: 'k', windowMs: 1000 }]).catch(() => undefined);
    await store.close();
    await expect(store.execute([{ type: 'count', key: 'k', windowMs: 1000 }])).rejects.toMatchObject({ reason: 'closed' });
  });
});
