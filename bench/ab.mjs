#!/usr/bin/env node
// An interleaved A/B of one benchmark server variant: two checkouts (or one checkout
// under two environments), A B, B A, A B… so that neither side always runs first, each
// server pinned to core 1 and autocannon on core 0 as in run.mjs. Prints the medians of
// user and total CPU per request and of req/s, and every round's user CPU. Between two
// runs of the same code the medians of 8 rounds agree within ~3 µs on Express, where a
// single round moves by ±8 µs: use it to decide whether a change to an adapter pays.
//
//   node bench/ab.mjs --framework express --variant vigil-instant --a <checkout> [--b <checkout>]
//   node bench/ab.mjs --framework nestjs --variant vigil-unprotected --env-b SOME_SWITCH=1
//   node bench/ab.mjs --framework fastify --variant vigil-memory --returning   # with the device cookie
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cpuTimes } from './lib/proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    framework: { type: 'string', default: 'express' },
    variant: { type: 'string', default: 'vigil-instant' },
    rounds: { type: 'string', default: '8' },
    duration: { type: 'string', default: '4' },
    a: { type: 'string', default: resolve(here, '..') },
    b: { type: 'string', default: resolve(here, '..') },
    'env-a': { type: 'string', default: '' },
    'env-b': { type: 'string', default: '' },
    returning: { type: 'boolean', default: false },
  },
});
const pinned = spawnSync('taskset', ['-V']).status === 0 && cpus().length >= 2;
if (pinned && !process.env.VIGIL_BENCH_PINNED) {
  const child = spawn('taskset', ['-c', '0', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...process.env, VIGIL_BENCH_PINNED: '1' } });
  const [code] = await once(child, 'exit');
  process.exit(code ?? 1);
}

const HEADERS = { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', accept: 'application/json', 'accept-language': 'en-GB,en;q=0.9', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' };
const body = JSON.stringify({ email: 'alice@example.com', password: 'correct horse battery staple' });
const envOf = (text) => Object.fromEntries(text.split(',').filter(Boolean).map((pair) => pair.split('=')));
const sides = { A: { dir: resolve(values.a), env: envOf(values['env-a']) }, B: { dir: resolve(values.b), env: envOf(values['env-b']) } };

async function round({ dir, env }) {
  const script = join(dir, 'bench', 'servers', `${values.framework}.mjs`);
  const args = [script, values.variant];
  const child = spawn(pinned ? 'taskset' : process.execPath, pinned ? ['-c', '1', process.execPath, ...args] : args, {
    env: { ...process.env, ...env, PORT: '0', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: join(dir, 'bench'),
  });
  let buffer = '';
  let url;
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout) {
    buffer += chunk;
    const line = buffer.split('\n').find((l) => l.startsWith('{'));
    if (line) {
      url = JSON.parse(line).url;
      break;
    }
  }
  child.stdout.resume();
  if (url === undefined) throw new Error(`${script} ${values.variant} exited before listening`);
  try {
    const headers = { ...HEADERS };
    if (values.returning) {
      const first = await fetch(`${url}/api/login`, { method: 'POST', headers: HEADERS, body });
      await first.arrayBuffer();
      const cookie = first.headers.getSetCookie().find((c) => c.startsWith('vigil_did='));
      if (cookie === undefined) throw new Error('--returning: the server issued no device cookie');
      headers.cookie = cookie.split(';')[0];
    }
    const load = (seconds) => autocannon({ url: `${url}/api/login`, method: 'POST', connections: 50, duration: seconds, headers, body });
    await load(2);
    const before = cpuTimes(child.pid);
    const result = await load(Number(values.duration));
    const after = cpuTimes(child.pid);
    const n = result.requests.total;
    if (n === 0 || result.errors > 0 || result.non2xx > 0) throw new Error(`${script} ${values.variant}: ${n} requests, ${result.errors} errors, ${result.non2xx} non-2xx`);
    return { user: ((after.user - before.user) * 1e6) / n, total: ((after.user + after.system - before.user - before.system) * 1e6) / n, rps: result.requests.average };
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
}

const results = { A: [], B: [] };
for (let i = 0; i < Number(values.rounds); i++) {
  for (const side of i % 2 === 0 ? ['A', 'B'] : ['B', 'A']) results[side].push(await round(sides[side]));
}
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
console.log(`${values.framework} ${values.variant}${values.returning ? ' (returning browser)' : ''}, ${values.rounds} interleaved rounds × ${values.duration} s, 50 connections`);
for (const side of ['A', 'B']) {
  const r = results[side];
  const what = `${sides[side].dir}${values[side === 'A' ? 'env-a' : 'env-b'] ? ` ${values[side === 'A' ? 'env-a' : 'env-b']}` : ''}`;
  console.log(`${side} ${what}: user ${median(r.map((x) => x.user)).toFixed(1)} µs/request, total ${median(r.map((x) => x.total)).toFixed(1)} µs/request, ${median(r.map((x) => x.rps)).toFixed(0)} req/s (rounds, user µs: ${r.map((x) => x.user.toFixed(0)).join(' ')})`);
}
