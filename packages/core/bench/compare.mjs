// The embedded engine's cost per decision in two checkouts, side by side in one process
// (interleaved rounds, medians): what a change to the engine costs, as a ratio.
//
//   git worktree add /tmp/before <commit> && (cd /tmp/before && pnpm install && pnpm --filter @vigil/core build)
//   pnpm --filter @vigil/core build
//   node packages/core/bench/compare.mjs /tmp/before [this checkout, default: here]
//
// Each case takes a new request object per call, as a server does (a device cookie is
// issued once per request object). "returning": the browser presents the device cookie
// it was given (when the checkout issues one); "new device": no cookie at all. "with
// outcome": the login's 200 is learned from too.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const [beforeDir, afterDir = resolve(fileURLToPath(import.meta.url), '../../../..')] = process.argv.slice(2);
if (!beforeDir) {
  console.error('usage: node packages/core/bench/compare.mjs <checkout before> [<checkout after>]');
  process.exit(2);
}
const N = Number(process.env.N ?? 20_000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);

async function setUp(dir) {
  const { createVigil, MemoryStore, localProvider } = await import(resolve(dir, 'packages/core/dist/index.js'));
  const engine = createVigil({ mode: 'monitoring', routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }], provider: localProvider({ store: new MemoryStore() }) });
  const headers = {
    host: 'shop.example',
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    accept: 'application/json',
    'accept-language': 'en-GB,en;q=0.9',
    'content-type': 'application/json',
    cookie: 'sid=abc',
    'x-forwarded-for': '198.51.100.23',
  };
  const login = { headers, remoteAddress: '127.0.0.1', body: { email: 'alice@example.com', password: 'x' }, method: 'POST', url: '/login', path: '/login' };
  const first = await engine.protect({ ...login });
  const cookie = String(first.responseHeaders?.['set-cookie'] ?? '').split(';')[0];
  return {
    engine,
    returning: () => ({ ...login, headers: { ...headers, cookie: cookie ? `sid=abc; ${cookie}` : 'sid=abc' } }),
    fresh: () => ({ ...login, headers: { ...headers } }),
  };
}

const sides = { before: await setUp(beforeDir), after: await setUp(afterDir) };
const cases = {
  'protect(), returning browser': (s) => s.engine.protect(s.returning()),
  'protect(), new device': (s) => s.engine.protect(s.fresh()),
  'protect() with outcome, returning': async (s) => s.engine.logOutcome(await s.engine.protect(s.returning()), 200),
  'protect() with outcome, new device': async (s) => s.engine.logOutcome(await s.engine.protect(s.fresh()), 200),
};
const tick = () => new Promise((r) => setImmediate(r));
const times = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, run] of Object.entries(cases)) {
    // Alternate which side goes first, so neither always runs on a warmer process.
    for (const side of round % 2 === 0 ? ['before', 'after'] : ['after', 'before']) {
      const start = performance.now();
      for (let i = 0; i < N; i++) {
        await run(sides[side]);
        if (i % 256 === 0) await tick();
      }
      await tick();
      ((times[name] ??= { before: [], after: [] })[side]).push(((performance.now() - start) / N) * 1000);
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`| case | before µs | after µs | after / before |\n|---|---:|---:|---:|`);
for (const [name, t] of Object.entries(times)) {
  const b = median(t.before);
  const a = median(t.after);
  console.log(`| ${name} | ${b.toFixed(1)} | ${a.toFixed(1)} | ${(a / b).toFixed(2)} |`);
}
