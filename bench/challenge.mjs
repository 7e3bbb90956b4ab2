#!/usr/bin/env node
// What the built-in challenge costs, on one core of this machine, side by side in one run:
// - an attacker who solves: one attempt with Node's native PBKDF2 (the fastest solver
//   short of a GPU farm) and with ALTCHA's own solver (WebCrypto, what a script would
//   reuse); the CPU time a solve takes at each level, and the attempts per second (logins
//   tried) one core buys;
// - the server: issuing a challenge (one derivation, in deterministic mode) and checking
//   a solution (two HMACs and one store claim), against a decision without either.
//
//   node bench/challenge.mjs [--seconds 3]
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { createVigil } from '@vigil/core';
import { solveChallenge } from '@vigil/core/testing';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 3;
const COST = 500;
const DIFFICULTY = 800;
const LEVELS = [1, 4, 16];

/** Mean ms of `fn` over `seconds`, after a short warm-up. */
async function time(fn, budget = seconds) {
  for (let i = 0; i < 20; i++) await fn(i);
  let n = 0;
  const start = process.cpuUsage();
  const wall = performance.now();
  while (performance.now() - wall < budget * 1000) await fn(n++);
  const used = process.cpuUsage(start);
  return { cpuMs: (used.user + used.system) / 1000 / n, wallMs: (performance.now() - wall) / n, n };
}

// The attacker's attempt: one key derived from salt, nonce and a counter.
const salt = randomBytes(16);
const nonce = randomBytes(20);
const native = await time((i) => {
  nonce.writeUInt32BE(i >>> 0, 16);
  pbkdf2Sync(nonce, salt, COST, 32, 'sha256');
});

// ALTCHA's solver on real challenges, through Vigil: attempts and CPU per solve.
const vigil = createVigil({ mode: 'blocking', routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }], provider: async () => ({ risk: 0.7 }), deviceCookie: false });
const request = (i, headers = {}) => ({ method: 'POST', url: '/login', path: '/login', headers: { accept: 'application/json', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', ...headers }, remoteAddress: `198.51.100.${i % 250}`, body: { email: `u${i}@example.com`, password: 'x' } });
const challengeOf = async (i) => {
  const req = request(i);
  const decision = await vigil.protect(req);
  let sent;
  await vigil.enforce(decision, req, { raw: null, appendHeader() {}, headersSent: () => sent !== undefined, send: (r) => void (sent = r) });
  return JSON.parse(sent.body).challenge;
};
const solves = [];
let attempts = 0;
const solveStart = process.cpuUsage();
for (let i = 0; i < 20; i++) {
  const solved = await solveChallenge(await challengeOf(i));
  solves.push(solved);
  attempts += solved.attempts;
}
const solveCpu = process.cpuUsage(solveStart);
const altchaPerAttempt = (solveCpu.user + solveCpu.system) / 1000 / attempts;

// The server: a challenged decision (protect + enforce: issue), a solution checked (protect with it), a plain decision.
const plain = createVigil({ mode: 'blocking', routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }], provider: async () => ({ risk: 0.1 }), deviceCookie: false });
const decide = await time((i) => plain.protect(request(i)));
const issue = await time(async (i) => challengeOf(i));
const payloads = [];
for (let i = 0; i < 400; i++) payloads.push({ i, payload: (await solveChallenge(await challengeOf(i))).payload });
let k = 0;
const check = await time(async () => {
  const { i, payload } = payloads[k++ % payloads.length];
  await vigil.protect(request(i, { 'vigil-challenge': payload }));
}, 1);

console.log(`${cpus()[0]?.model ?? 'cpu'} (${cpus().length} vCPU), Node ${process.version}; PBKDF2-SHA-256 cost ${COST}, difficulty ${DIFFICULTY}`);
console.log('\n| solver | ms of CPU per attempt | level 1 (800 attempts) | level 2 (3200) | level 3 (12800) | attempts/s per core at levels 1 / 2 / 3 |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [name, per] of [['Node native pbkdf2', native.cpuMs], ["ALTCHA's solver (WebCrypto)", altchaPerAttempt]]) {
  const at = LEVELS.map((f) => per * DIFFICULTY * f);
  console.log(`| ${name} | ${per.toFixed(3)} | ${at[0].toFixed(0)} ms | ${at[1].toFixed(0)} ms | ${at[2].toFixed(0)} ms | ${at.map((ms) => (1000 / ms).toFixed(2)).join(' / ')} |`);
}
console.log(`\n(ALTCHA's solver: ${solves.length} real level-1 challenges solved, ${(attempts / solves.length).toFixed(0)} attempts each on average.)`);
console.log('\n| server, per request | CPU µs | runs |');
console.log('|---|---:|---:|');
console.log(`| decision, allowed (no challenge) | ${(decide.cpuMs * 1000).toFixed(0)} | ${decide.n} |`);
console.log(`| decision + challenge issued (JSON) | ${(issue.cpuMs * 1000).toFixed(0)} | ${issue.n} |`);
console.log(`| decision with a solution checked and spent | ${(check.cpuMs * 1000).toFixed(0)} | ${check.n} |`);
await vigil.close();
await plain.close();
