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
// A challenge handler, so that blocking mode's start-up warning about a missing one
// (VIGIL_W_NO_CHALLENGE_HANDLER) is not among the lines the outage tests count.
const onChallenge = () => undefined;
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
    // No quiet period: the first answer ends the incident (the default waits 10 s).
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeout: 100, logger, incidentQuietMs: 0, redisOptions: { retryStrategy: () => 50 } });
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

  it('200 decisions and their outcomes while Redis is unreachable log 2 warnings in all, not one per request', async () => {
    const port = await closedPort();
    const logger = recordingLogger();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeout: 100, logger });
    // One logger for the store and for Vigil, as an app would have it.
    const vigil = createVigil({ mode: 'blocking', timeout: VIGIL_TIMEOUT, routes: LOGIN_ROUTES, logger, onChallenge, provider: localProvider({ store, secret: SECRET }) });
    try {
      for (let i = 0; i < 200; i++) {
        const decision = await attempt(vigil);
        expectStoreFailover(decision);
        vigil.logOutcome(decision, 401);
      }
      // close() waits for the outcomes in flight: every failure has been reported.
      await vigil.close();
      expect(store.stats.failures).toBe(400);
      expect(logger.codes('warn').sort()).toEqual(['VIGIL_W_FAILOVER', 'VIGIL_W_REDIS_UNAVAILABLE']);
      expect(logger.lines.filter((l) => l.level !== 'debug')).toHaveLength(2);
    } finally {
      await vigil.close();
      await store.close();
    }
  });

  // As at Redis' maxmemory, where reads answer and writes fail: here every decision's
  // batch meets an error reply (its IP's clobbered attempt counter) while each outcome's
  // batches are answered, so Redis alternates between failing and answering.
  // That used to be one incident (two lines) per flap, plus a VIGIL_W_LOG_FAILED per outcome.
  it('Redis flapping (every other batch fails) is one incident per logger, not one per flap', async () => {
    const logger = recordingLogger();
    const store = new RedisStore({ url: REDIS_URL, prefix, logger });
    const vigil = createVigil({ mode: 'blocking', timeout: VIGIL_TIMEOUT, routes: LOGIN_ROUTES, logger, onChallenge, provider: localProvider({ store, secret: SECRET }) });
    try {
      await admin.set(store.layout.counter('v:ip:198.51.100.20:ev:$login'), 'not a hash');
      for (let i = 0; i < 200; i++) {
        const decision = await attempt(vigil);
        expectStoreFailover(decision);
        vigil.logOutcome(decision, 401);
        // Let the outcome's read reach Redis before the next decision.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await vigil.close();
      // Redis answered between the failures: it flapped, and it was one incident all the same.
      expect(store.stats.batches).toBeGreaterThan(20);
      expect(store.stats.failures).toBeGreaterThanOrEqual(200);
      expect(store.stats.incidents).toBe(1);
      expect(logger.codes('warn').sort()).toEqual(['VIGIL_W_FAILOVER', 'VIGIL_W_REDIS_UNAVAILABLE']);
      expect(logger.lines.filter((l) => l.level !== 'debug')).toHaveLength(2);
    } finally {
      await vigil.close();
      await store.close();
      await admin.del(store.layout.counter('v:site:unfamiliar'));
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

describe('Redis down without a fallback: signals from the request alone keep deciding', () => {
  const PYTHON = { host: 'shop.example', 'user-agent': 'python-requests/2.31', accept: '*/*', 'accept-encoding': 'gzip, deflate', connection: 'keep-alive' };
  // What a login from a new client (a device cookie issued on this request) cannot be
  // scored on without the store: per IP, range, device and account, attack mode, new device.
  const VELOCITY = [
    'high_activity_ip',
    'failed_logins_ip',
    'credential_stuffing',
    'multiple_accounts_ip',
    'credential_stuffing_range',
    'multiple_accounts_device',
    'multiple_networks_device',
    'high_activity_account',
    'unfamiliar_login_during_attack',
    'multiple_networks_account',
    'new_device',
  ];

  async function unreachable(failover: 'allow' | 'deny', run: (vigil: Vigil) => Promise<void>): Promise<void> {
    const port = await closedPort();
    const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, prefix, commandTimeout: 100 });
    const vigil = createVigil({ mode: 'blocking', failover, timeout: VIGIL_TIMEOUT, routes: LOGIN_ROUTES, provider: localProvider({ store, secret: SECRET }) });
    try {
      await run(vigil);
    } finally {
      await vigil.close();
      await store.close();
    }
  }

  it("failover 'allow': a python-requests login is blocked with its threat code, and the decision names the signals that went quiet", () =>
    unreachable('allow', async (vigil) => {
      const decision = await vigil.protect({ ...loginRequest('198.51.100.21', 'bot@example.com'), headers: PYTHON });
      expect(decision).toMatchObject({ action: 'block', verdict: 'deny', threatCode: 3, threatGroup: 'block', failover: true, failoverReason: 'store error' });
      expect(decision.signals).toHaveProperty('http_client_library');
      expect([...(decision.degraded ?? [])].sort()).toEqual([...VELOCITY].sort());
    }));

  it("failover 'allow': a browser login is allowed, as the strategy says, with what went quiet", () =>
    unreachable('allow', async (vigil) => {
      const decision = await attempt(vigil);
      expectStoreFailover(decision);
      expect(decision).toMatchObject({ verdict: 'allow', risk: 0 });
      expect(decision.degraded).toEqual(expect.arrayContaining(VELOCITY));
    }));

  it("failover 'deny': the store failure still denies a browser login", () =>
    unreachable('deny', async (vigil) => {
      expect(await attempt(vigil)).toMatchObject({ action: 'block', verdict: 'deny', failover: true, failoverReason: 'store error' });
    }));
});
