import { bench, describe } from 'vitest';
import { createVigil, localProvider, MemoryStore, type RequestInfo } from '../src/index.js';

// vigil.protect() alone, no framework: what core adds to a request before any adapter.
const vigil = createVigil({
  mode: 'monitoring',
  routes: [
    { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } },
    { method: 'POST', path: '/register', event: '$registration', user: { email: 'body.email' } },
    { method: 'POST', path: '/password-reset', event: '$password_reset_request', user: { email: 'body.email' } },
  ],
  uriExclusion: ['/static', /\.(css|js|png)$/],
  provider: { name: 'instant', filter: async () => ({ risk: 0.1 }), risk: async () => ({ risk: 0.1 }), log: async () => undefined },
});

// The embedded engine with its default MemoryStore: every request scored, none blocked.
const engine = createVigil({
  mode: 'monitoring',
  routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
  provider: localProvider({ store: new MemoryStore() }),
});

const headers = {
  host: 'shop.example',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'application/json',
  'accept-language': 'en-GB,en;q=0.9',
  'content-type': 'application/json',
  cookie: 'sid=abc',
  'x-forwarded-for': '198.51.100.23',
};
const base = { headers, remoteAddress: '127.0.0.1', body: { email: 'alice@example.com', password: 'x' } };
const unmatched: RequestInfo = { ...base, method: 'GET', url: '/products/42', path: '/products/42' };
const excluded: RequestInfo = { ...base, method: 'GET', url: '/static/app.css', path: '/static/app.css' };
const matched: RequestInfo = { ...base, method: 'POST', url: '/login', path: '/login' };

// The engine's cases take a new request object each call, as a server does: a device
// cookie is issued once per request object, so reusing one would hide that cost.
const first = await engine.protect({ ...matched });
const cookie = String(first.responseHeaders?.['set-cookie'] ?? '').split(';')[0] as string;
if (!cookie.includes('=')) throw new Error('bench: the engine issued no device cookie');
/** A returning browser: its device cookie, its network, its account. */
const returning = (): RequestInfo => ({ ...matched, headers: { ...headers, cookie: `sid=abc; ${cookie}` } });
/** A client without cookies: every request a new device (a bot's, or a first visit). */
const fresh = (): RequestInfo => ({ ...matched, headers: { ...headers } });

describe('vigil.protect()', () => {
  bench('unmatched route', async () => {
    await vigil.protect(unmatched);
  });
  bench('excluded route', async () => {
    await vigil.protect(excluded);
  });
  bench('matched route, instant provider', async () => {
    await vigil.protect(matched);
  });
  bench('matched route, embedded engine + MemoryStore, returning browser', async () => {
    await engine.protect(returning());
  });
  bench('matched route, embedded engine + MemoryStore, no cookie (new device)', async () => {
    await engine.protect(fresh());
  });
  bench('decision and outcome (login 200), returning browser', async () => {
    const decision = await engine.protect(returning());
    await engine.logOutcome(decision, 200);
  });
  bench('decision and outcome (login 200), no cookie (new device)', async () => {
    const decision = await engine.protect(fresh());
    await engine.logOutcome(decision, 200);
  });
  bench('vigil.match() alone, unmatched (what adapters call first)', () => {
    vigil.match(unmatched);
  });
});
