#!/usr/bin/env node
// Solve times of the built-in challenge in real Chromium (Debian's, through
// playwright-core), at each difficulty level. (DevTools' CPU throttling does not slow
// the widget's Web Workers, where the work runs, so it cannot stand in for a slower
// phone: the per-attempt cost printed last is what to scale by.) A bare Node
// server in front of core serves the challenge page exactly as the adapters do; the
// time is the one the widget reports for its proof of work (`solution.time`), without
// the widget's half-second minimum display time.
//
//   node tools/browser/solve-times.mjs [--runs 10]
import { createServer } from 'node:http';
import { createVigil } from '@vigil/core';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS_LIST } from './args.mjs';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 10;
// The provider's verdict comes from the request: a test harness, not a policy.
const vigil = createVigil({
  mode: 'blocking',
  routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
  // Level 2 for the accounts named so (a softened deny); level 1 for the others.
  provider: async (event) => (event.user.email?.startsWith('l2-') ? { risk: 0.95, action: 'challenge' } : { risk: 0.7 }),
  deviceCookie: false,
});

const readBody = (req) =>
  new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });

const solved = [];
const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const asset = vigil.challengeAsset(req.method, url.pathname);
  if (asset) return res.writeHead(asset.status, asset.headers).end(asset.body);
  if (req.method === 'GET' && url.pathname === '/start') {
    // The harness's own page (not Vigil's): the form a person posts, submitted on load.
    const fields = [...url.searchParams].map(([k, v]) => `<input name="${k}" value="${v}">`).join('');
    return res.writeHead(200, { 'content-type': 'text/html' }).end(`<form id=f method=post action="/login">${fields}</form><script>document.getElementById('f').submit()</script>`);
  }
  if (req.method !== 'POST') return res.writeHead(404).end();
  const text = await readBody(req);
  const body = Object.fromEntries(new URLSearchParams(text));
  const info = { method: 'POST', url: req.url, path: url.pathname, headers: req.headers, remoteAddress: '198.51.100.7', body, setBody: (b) => (info.body = b) };
  const decision = await vigil.protect(info);
  if (decision.challenge?.passed) {
    const payload = JSON.parse(Buffer.from(body.vigil_challenge, 'base64').toString());
    solved.push({ ms: payload.solution.time, level: decision.challenge.level, attempts: payload.solution.counter + 1 });
    return res.writeHead(200, { 'content-type': 'text/html' }).end('<title>done</title>');
  }
  let sent;
  await vigil.enforce(decision, info, { raw: null, appendHeader: () => {}, headersSent: () => sent !== undefined, send: (r) => void (sent = r) });
  res.writeHead(sent.status, sent.headers).end(sent.body);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS_LIST, headless: true });
const probe = await browser.newPage();
const userAgent = (await probe.evaluate(() => navigator.userAgent)).replace('HeadlessChrome', 'Chrome');
const cores = await probe.evaluate(() => navigator.hardwareConcurrency);
await probe.close();

const rows = [];
for (const throttle of [1]) {
  for (const level of [1, 2, 3]) {
    solved.length = 0;
    for (let i = 0; i < runs; i++) {
      const context = await browser.newContext({ userAgent });
      const page = await context.newPage();
      // The form the person posted: level 3 is the retry after a solution that failed.
      const fields = new URLSearchParams({ email: `l${level}-p${i}@example.com`, password: 'x', ...(level === 3 ? { vigil_challenge: 'not-a-solution' } : {}) });
      await page.goto(`${origin}/start?${fields}`);
      await page.waitForFunction(() => document.title === 'done', undefined, { timeout: 120_000 });
      await context.close();
    }
    const ms = solved.map((s) => s.ms).sort((a, b) => a - b);
    const q = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
    rows.push({ throttle, level, runs: ms.length, median: q(0.5), p90: q(0.9), max: ms.at(-1), attempts: Math.round(solved.reduce((a, s) => a + s.attempts, 0) / solved.length) });
  }
}
await browser.close();
server.close();
await vigil.close();

console.log(`Chromium ${browser.version()} headless, navigator.hardwareConcurrency ${cores}, ${runs} solves per row; default options (difficulty 800, cost 500)`);
console.log('| CPU | level | mean attempts asked | median | p90 | max |');
console.log('|---|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| this machine | ${r.level} | ${[800, 3200, 12800][r.level - 1]} (${r.attempts} here) | ${r.median.toFixed(0)} ms | ${r.p90.toFixed(0)} ms | ${r.max.toFixed(0)} ms |`);
const perAttempt = rows.reduce((a, r) => a + (r.median / r.attempts) * cores, 0) / rows.length;
console.log(`\nOne attempt (500 PBKDF2-SHA-256 iterations) costs about ${perAttempt.toFixed(2)} ms of one core in this Chromium.`);
