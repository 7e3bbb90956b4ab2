// Decisions per second and p50 / p99 decision latency of the embedded engine with its
// counters in process (MemoryStore) or in Redis (RedisStore), on a protected login
// route. Run after `pnpm --filter @vigil/redis build`, with Redis at REDIS_URL
// (default redis://127.0.0.1:6379):
//
//   node bench/latency.mjs [decisions per case = 20000]
//
// "sequential": one decision at a time, the latency a single request sees.
// "64 in flight": 64 concurrent requests, the throughput of one busy process.
import { createVigil, localProvider, MemoryStore } from '@vigil/core';
import { Redis } from 'ioredis';
import { RedisStore } from '@vigil/redis';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number(process.argv[2] ?? 20_000);
const prefix = `vigil-bench:${process.pid}:${Date.now()}:`;

const headers = {
  host: 'shop.example',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'application/json',
  'accept-language': 'en-GB,en;q=0.9',
  'content-type': 'application/json',
};
// 1 000 clients and 1 000 accounts in turn, so that keys are spread as in real traffic.
const requests = Array.from({ length: 1000 }, (_, i) => ({
  method: 'POST',
  url: '/login',
  path: '/login',
  headers: { ...headers, 'x-forwarded-for': `198.51.${(i >> 8) & 255}.${i & 255}` },
  remoteAddress: '127.0.0.1',
  body: { email: `user${i}@example.com`, password: 'x' },
}));

function engine(store) {
  return createVigil({
    mode: 'monitoring',
    timeout: 5_000,
    routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
    provider: localProvider({ store, secret: 'bench-secret-0123456789abcdef' }),
  });
}

async function measure(vigil, concurrency) {
  const latencies = new Float64Array(N);
  let next = 0;
  let failovers = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const start = performance.now();
      const decision = await vigil.protect(requests[i % requests.length]);
      latencies[i] = performance.now() - start;
      if (decision.failover) failovers++;
    }
  };
  // Warm-up: JIT, connection, script loaded.
  for (let i = 0; i < 2000; i++) await vigil.protect(requests[i % requests.length]);
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort();
  const at = (q) => latencies[Math.min(N - 1, Math.floor(q * N))];
  return { perSecond: Math.round(N / seconds), p50: at(0.5), p99: at(0.99), failovers };
}

const memory = engine(new MemoryStore());
const redisStore = new RedisStore({ url: REDIS_URL, prefix, commandTimeout: 2_000 });
const redis = engine(redisStore);
const rows = [];
for (const [name, vigil] of [['MemoryStore', memory], ['RedisStore (loopback)', redis]]) {
  for (const concurrency of [1, 64]) {
    const r = await measure(vigil, concurrency);
    rows.push({ store: name, load: concurrency === 1 ? 'sequential' : `${concurrency} in flight`, 'decisions/s': r.perSecond, 'p50 ms': r.p50.toFixed(3), 'p99 ms': r.p99.toFixed(3), failovers: r.failovers });
  }
}
console.log(`Node ${process.version}, ${N} decisions per case`);
console.table(rows);

await memory.close();
await redis.close();
await redisStore.close();
const admin = new Redis(REDIS_URL);
let cursor = '0';
do {
  const [nextCursor, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
  cursor = nextCursor;
  if (keys.length > 0) await admin.del(...keys);
} while (cursor !== '0');
admin.disconnect();
