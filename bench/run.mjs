#!/usr/bin/env node
// `pnpm bench`: each framework bare, with its usual rate limiter, and with Vigil, side by
// side in one run. Servers run one at a time on one core, autocannon on the other.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cpuTimes, machineTicks, peakRssMb } from './lib/proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    framework: { type: 'string', default: 'all' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string', default: '50' },
    // A comma-separated subset (bare is always run: every ratio is to it).
    variants: { type: 'string', default: 'all' },
    redis: { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
  },
});

const hasTaskset = spawnSync('taskset', ['-V']).status === 0 && cpus().length >= 2;
// The load generator itself runs on core 0; the servers on core 1.
if (hasTaskset && !process.env.VIGIL_BENCH_PINNED) {
  const child = spawn('taskset', ['-c', '0', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, VIGIL_BENCH_PINNED: '1' } });
  const [code] = await once(child, 'exit');
  process.exit(code ?? 1);
}

const FRAMEWORKS = values.framework === 'all' ? ['express', 'fastify', 'nestjs'] : values.framework.split(',');
const ALL_VARIANTS = ['bare', 'peer', 'vigil-unprotected', 'vigil-memory', 'vigil-returning', 'vigil-redis', 'vigil-instant'];
// vigil-memory: autocannon keeps no cookies, so every request is a new device logging in
// (a first visit, or a bot without a cookie jar: the engine's costliest request).
// vigil-returning: the same server, and every request presents the device cookie the
// server issued on a first login (a returning browser, which is most of real traffic).
const VARIANTS = values.variants === 'all' ? ALL_VARIANTS : ALL_VARIANTS.filter((v) => v === 'bare' || values.variants.split(',').includes(v));
const PEER = { express: 'express-rate-limit', fastify: '@fastify/rate-limit', nestjs: 'ThrottlerGuard' };
const rounds = Number(values.rounds ?? (values.quick ? 1 : 3));
const duration = Number(values.duration ?? (values.quick ? 3 : 10));
const warmup = values.quick ? 1 : 3;
const connections = Number(values.connections);
const body = JSON.stringify({ email: 'alice@example.com', password: 'correct horse battery staple' });

async function startServer(framework, variant) {
  const args = [join(here, 'servers', `${framework}.mjs`), variant];
  const command = hasTaskset ? 'taskset' : process.execPath;
  const child = spawn(command, hasTaskset ? ['-c', '1', process.execPath, ...args] : args, {
    env: { ...process.env, PORT: '0', REDIS_URL: values.redis, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffer = '';
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout) {
    buffer += chunk;
    const line = buffer.split('\n').find((l) => l.startsWith('{'));
    if (line) {
      child.stdout.resume();
      return { child, ...JSON.parse(line) };
    }
  }
  throw new Error(`${framework}/${variant} exited before listening`);
}

const HEADERS = { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', accept: 'application/json', 'accept-language': 'en-GB,en;q=0.9', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };

/** The device cookie the server issues on a first login (`name=value`), or undefined. */
async function deviceCookie(url) {
  const response = await fetch(`${url}/api/login`, { method: 'POST', headers: HEADERS, body });
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('vigil_did='));
  await response.arrayBuffer();
  return cookie?.split(';')[0];
}

function load(url, seconds, cookie) {
  return autocannon({ url: `${url}/api/login`, method: 'POST', connections, duration: seconds, headers: cookie === undefined ? HEADERS : { ...HEADERS, cookie }, body });
}

async function measure(framework, variant) {
  const server = await startServer(framework, variant);
  try {
    const cookie = variant === 'vigil-returning' ? await deviceCookie(server.url) : undefined;
    if (variant === 'vigil-returning' && cookie === undefined) throw new Error(`${framework}/${variant}: the server issued no device cookie`);
    await load(server.url, warmup, cookie);
    const cpuBefore = cpuTimes(server.child.pid);
    const ticksBefore = machineTicks();
    const result = await load(server.url, duration, cookie);
    const cpuAfter = cpuTimes(server.child.pid);
    const ticksAfter = machineTicks();
    const total = result.requests.total;
    return {
      framework,
      variant,
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      errors: result.errors + result.non2xx,
      cpuUsPerRequest: total > 0 ? ((cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) * 1e6) / total : Number.NaN,
      userUsPerRequest: total > 0 ? ((cpuAfter.user - cpuBefore.user) * 1e6) / total : Number.NaN,
      peakRssMb: peakRssMb(server.child.pid),
      stealPct: (100 * (ticksAfter.steal - ticksBefore.steal)) / Math.max(1, ticksAfter.total - ticksBefore.total),
    };
  } finally {
    server.child.kill('SIGTERM');
    if (server.child.exitCode === null) await once(server.child, 'exit');
  }
}

const median = (xs) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (x, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '–');

const all = [];
const started = Date.now();
for (const framework of FRAMEWORKS) {
  for (let round = 1; round <= rounds; round++) {
    // A B C D E, then the next round starting one further (B C D E A...): every variant
    // sees the same machine conditions, and none always runs first or last.
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]);
    for (const variant of order) {
      process.stderr.write(`${framework} round ${round}/${rounds}: ${variant}…\n`);
      const m = await measure(framework, variant);
      all.push({ ...m, round });
    }
  }
}

const lines = [];
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, Node ${process.version}${hasTaskset ? ', server pinned to core 1, autocannon to core 0' : ', no taskset (unpinned)'}`;
lines.push(`Machine: ${machine}. ${rounds} round(s) × ${duration} s per variant (+${warmup} s warm-up), ${connections} connections, POST JSON login body.`, '');
for (const framework of FRAMEWORKS) {
  lines.push(`### ${framework}`, '', `| variant | req/s (median) | p50 ms | p99 ms | CPU µs/request | ratio to bare (req/s) | ratio to bare (CPU/request) | added CPU µs | user CPU µs/request | added user CPU µs | peak RSS MB | rounds flagged (steal > 5%) |`, '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const variant of VARIANTS) {
    const rows = all.filter((m) => m.framework === framework && m.variant === variant);
    const ratios = rows.map((m) => {
      const bare = all.find((b) => b.framework === framework && b.variant === 'bare' && b.round === m.round);
      // Added CPU: over bare in the same round (what the middleware costs a request).
      return { rps: m.rps / bare.rps, cpu: m.cpuUsPerRequest / bare.cpuUsPerRequest, added: m.cpuUsPerRequest - bare.cpuUsPerRequest, addedUser: m.userUsPerRequest - bare.userUsPerRequest };
    });
    const name = variant === 'peer' ? `peer: ${PEER[framework]}` : variant;
    lines.push(
      `| ${name} | ${fmt(median(rows.map((m) => m.rps)))} | ${fmt(median(rows.map((m) => m.p50)), 1)} | ${fmt(median(rows.map((m) => m.p99)), 1)} | ${fmt(median(rows.map((m) => m.cpuUsPerRequest)), 1)} | ${fmt(median(ratios.map((r) => r.rps)), 3)} | ${fmt(median(ratios.map((r) => r.cpu)), 3)} | ${fmt(median(ratios.map((r) => r.added)), 1)} | ${fmt(median(rows.map((m) => m.userUsPerRequest)), 1)} | ${fmt(median(ratios.map((r) => r.addedUser)), 1)} | ${fmt(Math.max(...rows.map((m) => m.peakRssMb)), 0)} | ${rows.filter((m) => m.stealPct > 5).length} |`,
    );
  }
  lines.push('');
}
lines.push(`Total ${((Date.now() - started) / 1000).toFixed(0)} s.`);
console.log(lines.join('\n'));
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'latest.json'), `${JSON.stringify({ machine, rounds, duration, connections, measurements: all }, null, 2)}\n`);
