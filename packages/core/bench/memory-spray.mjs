#!/usr/bin/env node --expose-gc
// Memory under an address spray: a protected login route receives N requests from N
// distinct client IPs (through a trusted loopback proxy), with the default MemoryStore.
// Usage: node --expose-gc bench/memory-spray.mjs [N] [maxKeys]
import { createVigil, localProvider, MemoryStore } from '../dist/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
const maxKeys = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const store = new MemoryStore(maxKeys === undefined ? {} : { maxKeys });
const vigil = createVigil({
  mode: 'monitoring',
  routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
  provider: localProvider({ store }),
});

const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);
function snapshot() {
  global.gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

const headers = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0', accept: '*/*', 'accept-language': 'en', 'content-type': 'application/json' };
// Warm up the code paths so the "before" figure is the steady state, not cold start.
for (let i = 0; i < 1000; i++) await vigil.protect({ method: 'POST', url: '/login', path: '/login', headers: { ...headers, 'x-forwarded-for': `198.18.0.${i % 250}` }, remoteAddress: '127.0.0.1', body: { email: `w${i}@example.com` } });
const before = snapshot();
const started = process.hrtime.bigint();
let peakRss = before.rss;
for (let i = 0; i < N; i++) {
  const ip = `${11 + ((i >>> 24) & 0x3f)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  const decision = await vigil.protect({ method: 'POST', url: '/login', path: '/login', headers: { ...headers, 'x-forwarded-for': ip }, remoteAddress: '127.0.0.1', body: { email: `user${i}@example.com` } });
  vigil.logOutcome(decision, 401);
  if ((i & 0xffff) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await new Promise((r) => setTimeout(r, 50));
const after = snapshot();
peakRss = Math.max(peakRss, after.rss);
console.log(
  JSON.stringify({
    requests: N,
    maxKeys: maxKeys ?? 'default',
    storeKeys: store.size,
    heapBeforeMB: mb(before.heapUsed),
    heapAfterMB: mb(after.heapUsed),
    extraHeapMB: mb(after.heapUsed - before.heapUsed),
    rssBeforeMB: mb(before.rss),
    rssAfterMB: mb(after.rss),
    peakRssMB: mb(peakRss),
    decisionsPerSecond: Math.round(N / seconds),
    node: process.version,
  }),
);
await vigil.close();
