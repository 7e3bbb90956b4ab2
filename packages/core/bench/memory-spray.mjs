#!/usr/bin/env node --expose-gc
// Memory under an address spray, and whether the spray evicts the attackers' state
// (issue 12, item 4). First, 100 attackers each make 120 failed logins on 12 accounts of
// their own from one IP (blocked: over every per-IP limit); then a protected login
// route receives N requests from N distinct client IPs (through a trusted loopback
// proxy), with the default MemoryStore. The kind of spray is what the attacker
// controls:
//   single:      every request from a new IP, followed by a failed outcome (keys seen once);
//   double:      every IP makes two failed logins on two accounts (every key touched again);
//   familiarity: every request from a new IP is a successful login of the attacker's
//                own account (each writes a familiarity record, a value with a TTL).
// An admin also blocks a user for good and another for a day, and reports a device.
// Reported: heap and RSS growth over the spray, and how many of the attackers' keys and
// blocks survived it. N counts requests, whatever the kind.
// Usage: node --expose-gc bench/memory-spray.mjs [N] [maxKeys|default] [single|double|familiarity]
import { createVigil, localProvider, MemoryStore } from '../dist/index.js';

const N = Number(process.argv[2] ?? 1_000_000);
const maxKeys = process.argv[3] === undefined || process.argv[3] === 'default' ? undefined : Number(process.argv[3]);
const kind = process.argv[4] ?? 'single';
if (!['single', 'double', 'familiarity'].includes(kind)) throw new Error(`unknown spray kind ${kind}`);
const store = new MemoryStore(maxKeys === undefined ? {} : { maxKeys });
// Records the keys the attackers write, to read them back after the spray; a plain
// pass-through during the spray.
let recording = false;
const attackerKeys = new Map();
const recorder = {
  name: store.name,
  execute(ops, now) {
    if (recording) {
      // Site-wide counters are everyone's, not the attackers'.
      for (const op of ops) {
        if (op.key.startsWith('v:site:')) continue;
        if (op.type === 'hit') attackerKeys.set(op.key, { type: 'count', key: op.key, windowMs: op.windowMs });
        else if (op.type === 'distinct' && op.member !== undefined) attackerKeys.set(op.key, { type: 'distinct', key: op.key, windowMs: op.windowMs });
      }
    }
    return store.execute(ops, now);
  },
  close: () => store.close(),
};
const provider = localProvider({ store: recorder });
const vigil = createVigil({
  mode: 'monitoring',
  routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
  provider,
});
const DAY = 24 * 3_600_000;
await provider.blockUser('u-banned', { reason: 'fraud' });
await provider.blockUser('u-suspended', { reason: 'review', ttlMs: DAY });
await provider.reportDevice('dev-stolen', { reason: 'stolen', ttlMs: DAY });
const adminKeys = ['b:user:u-banned', 'b:user:u-suspended', 'b:device:dev-stolen'].map((key) => ({ type: 'get', key }));

const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);
function snapshot() {
  global.gc?.();
  const { heapUsed, heapTotal, external, rss } = process.memoryUsage();
  return { heapUsed, heapTotal, external, rss };
}

const headers = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0', accept: '*/*', 'accept-language': 'en', 'content-type': 'application/json' };
const login = (ip, email) => ({ method: 'POST', url: '/login', path: '/login', headers: { ...headers, 'x-forwarded-for': ip }, remoteAddress: '127.0.0.1', body: { email } });
// Warm up the code paths so the "before" figure is the steady state, not cold start.
for (let i = 0; i < 1000; i++) await vigil.protect(login(`198.18.0.${i % 250}`, `w${i}@example.com`));

const ATTACKERS = 100;
const attackerIp = (a) => `203.0.${a >> 8}.${a & 255}`;
recording = true;
for (let round = 0; round < 120; round++) {
  for (let a = 0; a < ATTACKERS; a++) {
    const decision = await vigil.protect(login(attackerIp(a), `victim${a}-${round % 12}@example.com`));
    vigil.logOutcome(decision, 401);
  }
}
await new Promise((r) => setTimeout(r, 50));
recording = false;
const probes = [...attackerKeys.values()];
const beforeCounts = await store.execute(probes);

const before = snapshot();
const started = process.hrtime.bigint();
let peakRss = before.rss;
const perIp = kind === 'double' ? 2 : 1;
for (let i = 0; i < N; i++) {
  const n = Math.floor(i / perIp);
  const ip = `${11 + ((n >>> 24) & 0x3f)}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  const email = kind === 'familiarity' ? 'mine@example.com' : `user${i}@example.com`;
  const decision = await vigil.protect(login(ip, email));
  vigil.logOutcome(decision, kind === 'familiarity' ? 200 : 401);
  if ((i & 0xffff) === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
await new Promise((r) => setTimeout(r, 50));
const after = snapshot();
peakRss = Math.max(peakRss, after.rss);

// Read back before any attacker request touches its keys again. A key is "kept" when it
// still counts something (a window boundary during the run may weigh a count down).
const afterCounts = await store.execute(probes);
const kept = afterCounts.filter((count) => count > 0).length;
const unchanged = afterCounts.filter((count, i) => count === beforeCounts[i]).length;
const adminKept = (await store.execute(adminKeys)).filter((value) => typeof value === 'string').length;
let stillBlocked = 0;
for (let a = 0; a < ATTACKERS; a++) if ((await vigil.protect(login(attackerIp(a), `victim${a}-next@example.com`))).wouldBlock) stillBlocked++;

console.log(
  JSON.stringify({
    kind,
    requests: N,
    maxKeys: maxKeys ?? 'default',
    storeKeys: store.size,
    pinnedKeys: store.pinnedSize,
    adminBlocksKept: `${adminKept}/${adminKeys.length}`,
    attackerKeys: probes.length,
    attackerKeysKept: kept,
    attackerKeysUnchanged: unchanged,
    attackersStillBlocked: `${stillBlocked}/${ATTACKERS}`,
    heapBeforeMB: mb(before.heapUsed),
    heapAfterMB: mb(after.heapUsed),
    extraHeapMB: mb(after.heapUsed - before.heapUsed),
    heapTotalAfterMB: mb(after.heapTotal),
    externalAfterMB: mb(after.external),
    rssBeforeMB: mb(before.rss),
    rssAfterMB: mb(after.rss),
    extraRssMB: mb(after.rss - before.rss),
    peakRssMB: mb(peakRss),
    decisionsPerSecond: Math.round(N / seconds),
    node: process.version,
  }),
);
await vigil.close();
