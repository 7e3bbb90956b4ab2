import { createVigil, localProvider, MemoryStore, type RequestInfo, type Store, type StoreOp } from '@vigil/core';
import { Redis } from 'ioredis';
import { afterAll, bench, describe } from 'vitest';
import { RedisStore } from '../src/index.js';

// The embedded engine deciding on a protected login route, with its counters in
// process (MemoryStore) or in Redis on loopback (RedisStore): what a fleet pays for
// deciding as one. `pnpm --filter @vigil/redis bench` (needs Redis at REDIS_URL).
// Latency per decision; `node bench/latency.mjs` adds p50/p99 and throughput under
// concurrency.

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `vigil-bench:${process.pid}:${Date.now()}:`;
const redisStore = new RedisStore({ url: REDIS_URL, prefix });
const memoryStore = new MemoryStore();

const engine = (store: Store) =>
  createVigil({
    mode: 'monitoring',
    routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
    provider: localProvider({ store, secret: 'bench-secret-0123456789abcdef' }),
  });
const withRedis = engine(redisStore);
const withMemory = engine(memoryStore);

const headers = {
  host: 'shop.example',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'application/json',
  'accept-language': 'en-GB,en;q=0.9',
  'content-type': 'application/json',
  cookie: 'sid=abc',
};
// 1 000 clients and 1 000 accounts in turn, so that keys are spread as in real traffic.
const requests: RequestInfo[] = Array.from({ length: 1000 }, (_, i) => ({
  method: 'POST',
  url: '/login',
  path: '/login',
  headers: { ...headers, 'x-forwarded-for': `198.51.${(i >> 8) & 255}.${i & 255}` },
  remoteAddress: '127.0.0.1',
  body: { email: `user${i}@example.com`, password: 'x' },
}));
let next = 0;
// Long runs: on a shared machine, short ones measure the neighbours.
const options = { time: 3_000, warmupTime: 500 };
const request = () => requests[next++ % requests.length] as RequestInfo;

// The batch of one login decision, as the engine sends it.
const W = 15 * 60_000;
const batch = (i: number): StoreOp[] => [
  { type: 'hit', key: `v:ip:198.51.0.${i & 255}:ev:$login`, windowMs: W },
  { type: 'count', key: `v:ip:198.51.0.${i & 255}:fail`, windowMs: W },
  { type: 'distinct', key: `v:ip:198.51.0.${i & 255}:facct`, windowMs: W },
  { type: 'distinct', key: `v:ip:198.51.0.${i & 255}:acct`, windowMs: W, member: `acct${i}` },
  { type: 'count', key: `v:ip:198.51.0.${i & 255}:ok`, windowMs: W },
  { type: 'count', key: `v:acct:acct${i}:fail`, windowMs: W },
  { type: 'get', key: `k:acct${i}:198.51.0.${i & 255}` },
  { type: 'count', key: 'v:site:unfamiliar', windowMs: W },
  { type: 'count', key: 'v:site:unfamiliar:fail', windowMs: W },
];

afterAll(async () => {
  await withRedis.close();
  await redisStore.close();
  const admin = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [nextCursor, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = nextCursor;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
  admin.disconnect();
});

describe('vigil.protect() on a protected login route, embedded engine', () => {
  bench('MemoryStore', async () => {
    await withMemory.protect(request());
  }, options);
  bench('RedisStore, Redis on loopback', async () => {
    await withRedis.protect(request());
  }, options);
});

describe('store.execute() of one login decision batch (9 operations)', () => {
  let i = 0;
  bench('MemoryStore', async () => {
    await memoryStore.execute(batch(i++));
  }, options);
  bench('RedisStore, Redis on loopback', async () => {
    await redisStore.execute(batch(i++));
  }, options);
});
