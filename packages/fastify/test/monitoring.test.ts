import { castleProvider, localProvider } from '@vigil/core';
import { deviceTrail, startFakeCastle } from '@vigil/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type VigilFastifyOptions, vigil } from '../src/index.js';
import { BROWSER, DEVICE_COOKIE, deviceCookieOf, fastify, RecordingStore, recordHooks, recordingProvider, setCookies } from './helpers.js';

// Issue 8, through Fastify: tracking, identify (on routes without any Vigil hook too),
// the admin operations, the device cookie, and what reaches the store. Every provider
// here is real: the embedded engine over a MemoryStore, or castleProvider against the
// fake Castle of @vigil/core/testing.

const SECRET = 'device-cookie-secret-0123456789';
/** A browser's fetch(): a browser's headers, asking for JSON. */
const FETCH = { ...BROWSER, accept: 'application/json' };
const LOGIN = { method: 'POST', path: '/login', event: '$login', user: { id: 'body.userId', email: 'body.email' } } as const;
const BLOCK_PAGE = /^text\/html/;

interface Built {
  app: FastifyInstance;
  store: RecordingStore;
  warnings: string[];
}

/**
 * The embedded engine over a recording MemoryStore, blocking mode and the device cookie
 * unless `options` say otherwise. Routes: POST /login (protected; password "right" →
 * 200, else 401) and GET /account (no Vigil hook; the session stand-in is the x-user
 * header), which identifies its user with the reply.
 */
async function monitoringApp(options: Partial<VigilFastifyOptions> = {}, setup?: (app: FastifyInstance) => void | Promise<void>, engine: { requireSecFetch?: boolean } = {}): Promise<Built> {
  const store = new RecordingStore();
  const warnings: string[] = [];
  const app = fastify();
  await app.register(vigil, {
    mode: 'blocking',
    provider: localProvider({ store, ...engine }),
    deviceCookie: { secret: SECRET },
    routes: [LOGIN],
    logger: { warn: (obj) => warnings.push(String((obj as { code?: string }).code)), error: () => undefined },
    ...options,
  });
  await setup?.(app);
  app.post('/login', async (request, reply) => {
    const ok = (request.body as { password?: string }).password === 'right';
    return reply.code(ok ? 200 : 401).send({ ok });
  });
  app.get('/account', async (request, reply) => {
    const id = String(request.headers['x-user'] ?? '');
    const { blocked, handled, decision } = await request.vigil.identify({ id, plan: 'pro' }, reply);
    if (handled) return reply;
    return { id, blocked, action: decision.action, wouldBlock: decision.wouldBlock, protected: request.vigil.protected };
  });
  return { app, store, warnings };
}

const login = (app: FastifyInstance, userId: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/login', payload: { userId, email: `${userId}@example.com`, password: 'right' }, headers: { ...FETCH, ...headers } });
const account = (app: FastifyInstance, userId: string, headers: Record<string, string> = FETCH) => app.inject({ method: 'GET', url: '/account', headers: { ...headers, 'x-user': userId } });

describe('identify on a route without any Vigil hook', () => {
  it('answers a blocked user with the block response in blocking mode: HTML for browsers, JSON for API clients', async () => {
    let hooks = new Map<string, Record<string, string[]>>();
    const { app } = await monitoringApp({}, (a) => {
      hooks = recordHooks(a);
    });
    await app.ready();
    // The constraint of issue 6 stands: /account has no Vigil hook at all.
    expect(hooks.get('GET /account')).toEqual({ onRequest: [], preValidation: [], preHandler: [], onResponse: [] });

    await app.vigil.blockUser('u-1', { reason: 'fraud ring' });
    const html = await account(app, 'u-1', BROWSER);
    expect(html.statusCode).toBe(403);
    expect(html.headers['content-type']).toMatch(BLOCK_PAGE);
    expect(html.body).toContain('Request blocked');
    const json = await account(app, 'u-1');
    expect(json.statusCode).toBe(403);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.json()).toEqual({ blocked: true, requestId: expect.any(String), message: expect.any(String) });

    const other = await account(app, 'u-2');
    expect([other.statusCode, other.json()]).toEqual([200, { id: 'u-2', blocked: false, action: 'allow', wouldBlock: false, protected: false }]);
  });

  it('redirects a blocked user when redirectUrl is set, like every block', async () => {
    const { app } = await monitoringApp({ redirectUrl: '/blocked', redirectStatus: 303 });
    await app.vigil.blockUser('u-1');
    const res = await account(app, 'u-1', BROWSER);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/blocked');
  });

  it('works through fastify.vigil.identify(request, user, reply) and from an app-wide session hook, on every route', async () => {
    const feed: string[] = [];
    const { app } = await monitoringApp({}, (a) => {
      // How an app refuses a blocked user everywhere: identify where it loads the session.
      a.addHook('preHandler', async (request, reply) => {
        const id = request.headers['x-session-user'];
        if (typeof id === 'string' && (await a.vigil.identify(request, { id }, reply)).handled) return reply;
      });
      a.get('/feed', async (request) => {
        feed.push(String(request.headers['x-session-user']));
        return { feed: [] };
      });
    });
    await app.vigil.blockUser('u-1');
    const session = { ...FETCH, 'x-session-user': 'u-1' };
    expect((await app.inject({ method: 'GET', url: '/feed', headers: session })).statusCode).toBe(403);
    const protectedLogin = await app.inject({ method: 'POST', url: '/login', payload: { password: 'right' }, headers: session });
    expect([protectedLogin.statusCode, protectedLogin.json().blocked]).toEqual([403, true]);
    expect((await app.inject({ method: 'GET', url: '/feed', headers: { ...FETCH, 'x-session-user': 'u-2' } })).statusCode).toBe(200);
    expect(feed).toEqual(['u-2']);
  });

  it('in monitoring mode says blocked, answers nothing, and the request goes on', async () => {
    const { app } = await monitoringApp({ mode: 'monitoring' });
    await app.vigil.blockUser('u-1');
    const res = await account(app, 'u-1');
    expect([res.statusCode, res.json()]).toEqual([200, { id: 'u-1', blocked: true, action: 'allow', wouldBlock: true, protected: false }]);
  });

  it('cannot answer without the reply there: handled stays false, the decision says block, and Vigil warns once', async () => {
    const { app, warnings } = await monitoringApp({}, (a) => {
      a.get('/no-reply', async (request) => {
        const { blocked, handled, decision } = await request.vigil.identify({ id: 'u-1' });
        return { blocked, handled, action: decision.action };
      });
    });
    await app.vigil.blockUser('u-1');
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({ method: 'GET', url: '/no-reply', headers: FETCH });
      expect([res.statusCode, res.json()]).toEqual([200, { blocked: true, handled: false, action: 'block' }]);
    }
    expect(warnings.filter((w) => w === 'VIGIL_W_IDENTIFY_UNANSWERED')).toHaveLength(1);
  });

  it('on a protected route answers through the hook’s reply, and request.vigil stays the route’s decision', async () => {
    const { app } = await monitoringApp({}, (a) => {
      a.post('/checkout', { config: { vigil: { event: '$transaction', name: 'checkout' } } }, async (request, reply) => {
        const { handled } = await request.vigil.identify({ id: (request.body as { userId: string }).userId });
        if (handled) return reply;
        return { paid: true, event: request.vigil.event, route: request.vigil.route, protected: request.vigil.protected };
      });
    });
    await app.vigil.blockUser('u-1');
    const blocked = await app.inject({ method: 'POST', url: '/checkout', payload: { userId: 'u-1' }, headers: FETCH });
    expect([blocked.statusCode, blocked.json().blocked]).toEqual([403, true]);
    const paid = await app.inject({ method: 'POST', url: '/checkout', payload: { userId: 'u-2' }, headers: FETCH });
    expect(paid.json()).toEqual({ paid: true, event: '$transaction', route: 'checkout', protected: true });
  });
});

describe('admin operations through fastify.vigil', () => {
  it('unblockUser lets the user back in; listBlockedUsers lists who is blocked, why and since when', async () => {
    const { app } = await monitoringApp();
    await app.vigil.blockUser('u-1', { reason: 'chargebacks' });
    await app.vigil.blockUser('u-2');
    const listed = await app.vigil.listBlockedUsers();
    expect(listed.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'u-1', reason: 'chargebacks', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      { id: 'u-2', reason: '', at: expect.any(String) },
    ]);
    expect((await account(app, 'u-1')).statusCode).toBe(403);
    await app.vigil.unblockUser('u-1');
    expect((await account(app, 'u-1')).json()).toMatchObject({ blocked: false });
    expect((await app.vigil.listBlockedUsers()).map((u) => u.id)).toEqual(['u-2']);
  });

  it('getDevicesForUser lists the device of a successful protected login', async () => {
    const { app } = await monitoringApp();
    const res = await login(app, 'u-1');
    expect(res.statusCode).toBe(200);
    const device = deviceCookieOf(res);
    expect(device?.id).toMatch(/^[0-9a-f]{32}$/);
    // The outcome is logged after the response; closing waits for it.
    await app.close();
    expect(await app.vigil.getDevicesForUser('u-1')).toEqual([
      { id: device?.id, firstSeen: expect.any(String), lastSeen: expect.any(String), ips: ['127.0.0.1'], userAgent: BROWSER['user-agent'], approved: false, reported: false },
    ]);
  });

  it('reportDevice refuses the request’s device on every route that identifies or protects; approveDevice trusts it again', async () => {
    const { app } = await monitoringApp();
    const first = await login(app, 'u-1');
    const device = deviceCookieOf(first);
    if (!device) throw new Error('no device cookie');
    const withDevice = { ...FETCH, cookie: `vigil_did=${device.value}` };

    await app.vigil.reportDevice(device.id, { reason: 'stolen laptop' });
    // A user nobody blocked, on a route without a hook: the device alone is refused.
    const identified = await account(app, 'u-9', withDevice);
    expect([identified.statusCode, identified.json().blocked]).toEqual([403, true]);
    // The protected login refuses it too (the engine denies reported devices).
    expect((await login(app, 'u-1', { cookie: `vigil_did=${device.value}` })).statusCode).toBe(403);
    // Another device of the same user is fine.
    expect((await account(app, 'u-9')).statusCode).toBe(200);
    expect(await app.vigil.getDevicesForUser('u-1')).toEqual([expect.objectContaining({ id: device.id, reported: true, approved: false })]);

    await app.vigil.approveDevice(device.id);
    expect((await account(app, 'u-9', withDevice)).json()).toMatchObject({ blocked: false });
    expect((await login(app, 'u-1', { cookie: `vigil_did=${device.value}` })).statusCode).toBe(200);
    expect(await app.vigil.getDevicesForUser('u-1')).toEqual([expect.objectContaining({ id: device.id, reported: false, approved: true })]);
  });

  it('trackSignup from request.vigil reaches the engine with the request’s device', async () => {
    const { app } = await monitoringApp({}, (a) => {
      a.post('/signup', async (request) => {
        const { userId, email } = request.body as { userId: string; email: string };
        await request.vigil.trackSignup({ userId, email });
        return { created: true };
      });
    });
    const device = deviceCookieOf(await login(app, 'u-1'));
    const res = await app.inject({ method: 'POST', url: '/signup', payload: { userId: 'u-new', email: 'new@example.com' }, headers: { ...FETCH, cookie: `vigil_did=${device?.value}` } });
    expect(res.json()).toEqual({ created: true });
    expect(await app.vigil.getDevicesForUser('u-new')).toEqual([expect.objectContaining({ id: device?.id })]);
  });
});

describe('tracking reaches the provider (castleProvider against the fake Castle)', () => {
  const API_SECRET = 'castle-api-secret';
  let castle: Awaited<ReturnType<typeof startFakeCastle>>;
  beforeAll(async () => {
    castle = await startFakeCastle(API_SECRET);
  });
  afterAll(async () => {
    await castle.close();
  });
  beforeEach(() => {
    castle.reset();
  });

  const logs = () => castle.requests.filter((r) => r.path === '/v1/log').map((r) => r.body as Record<string, unknown>);

  it('through request.vigil and fastify.vigil, from routes without a hook, with the request’s context', async () => {
    const app = fastify();
    await app.register(vigil, { provider: castleProvider({ apiSecret: API_SECRET, baseUrl: castle.url }) });
    app.post('/session', async (request) => {
      const { email } = request.body as { email: string };
      await request.vigil.trackLogin({ success: false, email, userExists: false });
      await app.vigil.trackLogin(request, { success: true, userId: 'u-1', email });
      return { ok: true };
    });
    app.post('/users', async (request) => {
      await request.vigil.trackSignup({ userId: 'u-2', email: 'new@example.com' });
      await app.vigil.trackCustom(request, 'export_data', { rows: 1200 });
      await request.vigil.trackCustom('invite_sent');
      return { ok: true };
    });
    await app.inject({ method: 'POST', url: '/session', payload: { email: 'alice@example.com' }, headers: FETCH, remoteAddress: '203.0.113.9' });
    await app.inject({ method: 'POST', url: '/users', payload: {}, headers: FETCH, remoteAddress: '203.0.113.9' });

    const sent = logs();
    expect(sent.map((b) => [b.type, b.status, b.name])).toEqual([
      ['$login', '$failed', undefined],
      ['$login', '$succeeded', undefined],
      ['$registration', '$succeeded', undefined],
      ['$custom', '$succeeded', 'export_data'],
      ['$custom', '$succeeded', 'invite_sent'],
    ]);
    expect(sent[0]).toMatchObject({ user: { email: 'alice@example.com' }, properties: { user_exists: false }, context: { ip: '203.0.113.9', headers: { 'User-Agent': BROWSER['user-agent'] } } });
    expect(sent[1]).toMatchObject({ user: { id: 'u-1', email: 'alice@example.com' } });
    expect(sent[2]).toMatchObject({ user: { id: 'u-2', email: 'new@example.com' } });
    expect(sent[3]).toMatchObject({ properties: { rows: 1200 } });
  });

  it('on a protected route the helpers reuse the request the hook scored', async () => {
    const app = fastify();
    await app.register(vigil, { provider: castleProvider({ apiSecret: API_SECRET, baseUrl: castle.url }), routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }] });
    app.post('/login', async (request) => {
      await request.vigil.trackCustom('login_page_used', { risk: request.vigil.risk });
      return { ok: true };
    });
    const res = await app.inject({ method: 'POST', url: '/login', payload: { email: 'alice@example.com' }, headers: { ...FETCH, 'x-castle-request-token': 'tok_1' }, remoteAddress: '203.0.113.9' });
    expect(res.json()).toEqual({ ok: true });
    const filter = castle.requests.find((r) => r.path === '/v1/filter')?.body as Record<string, unknown>;
    expect(filter).toMatchObject({ type: '$login', request_token: 'tok_1', params: { email: 'alice@example.com' } });
    expect(logs()[0]).toMatchObject({ type: '$custom', name: 'login_page_used', properties: { risk: 0.1 }, context: { ip: '203.0.113.9' } });
  });
});

describe('the device cookie', () => {
  it('is set on protected responses only: signed, HttpOnly, SameSite=Lax, under the configured name, Secure over HTTPS', async () => {
    const { app } = await monitoringApp({ deviceCookie: { secret: SECRET, name: 'dev_id' } });
    const res = await login(app, 'u-1');
    const device = deviceCookieOf(res, 'dev_id');
    expect(device?.header).toMatch(/^dev_id=[0-9a-f]{32}\.[A-Za-z0-9_-]{24}; Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax$/);
    // Sent back, it is the device: no new cookie.
    expect(setCookies(await login(app, 'u-1', { cookie: `dev_id=${device?.value}` }))).toEqual([]);
    // No hook on /account: no cookie either.
    expect(setCookies(await account(app, 'u-1'))).toEqual([]);
  });

  it('gets Secure when Fastify sees the request came over HTTPS (request.protocol)', async () => {
    const store = new RecordingStore();
    const app = fastify({ trustProxy: true });
    await app.register(vigil, { provider: localProvider({ store }), deviceCookie: true, routes: [LOGIN] });
    app.post('/login', async () => ({ ok: true }));
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: { ...FETCH, 'x-forwarded-proto': 'https' } });
    expect(deviceCookieOf(res)?.header).toMatch(/; HttpOnly; SameSite=Lax; Secure$/);
  });

  it('rejects a tampered or forged cookie: it is no device, and a new id is issued', async () => {
    const { app } = await monitoringApp();
    const device = deviceCookieOf(await login(app, 'u-1'));
    if (!device) throw new Error('no device cookie');
    const [id, signature] = device.value.split('.') as [string, string];
    const flip = (s: string) => (s[0] === 'a' ? 'b' : 'a') + s.slice(1);
    const forger = await monitoringApp({ deviceCookie: { secret: 'another-secret-0123456789abcdef' } });
    const forged = deviceCookieOf(await login(forger.app, 'u-1'));
    for (const cookie of [`${flip(id)}.${signature}`, `${id}.${flip(signature)}`, id, forged?.value]) {
      const res = await login(app, 'u-1', { cookie: `vigil_did=${cookie}` });
      const issued = deviceCookieOf(res);
      expect(issued?.id).toMatch(/^[0-9a-f]{32}$/);
      expect(issued?.id).not.toBe(id);
      expect(issued?.id).not.toBe(cookie?.split('.')[0]);
    }
    // A tampered cookie does not carry a reported device's block either way: it is no device.
    await app.vigil.reportDevice(flip(id));
    expect((await account(app, 'u-9', { ...FETCH, cookie: `vigil_did=${flip(id)}.${signature}` })).statusCode).toBe(200);
  });

  it('never replaces the app’s own Set-Cookie: set before Vigil, after it, or on reply.raw', async () => {
    const { app } = await monitoringApp({}, (a) => {
      a.addHook('onRequest', async (_request, reply) => {
        reply.header('set-cookie', 'early=1; Path=/');
      });
      a.post('/session', { config: { vigil: { event: '$login' } } }, async (_request, reply) => {
        reply.header('set-cookie', 'sid=1; Path=/; HttpOnly');
        reply.raw.setHeader('set-cookie', 'raw=1; Path=/');
        return { ok: true };
      });
    });
    const res = await app.inject({ method: 'POST', url: '/session', payload: {}, headers: FETCH });
    expect(res.statusCode).toBe(200);
    const cookies = setCookies(res);
    expect(cookies.map((c) => c.split('=')[0])).toEqual(['early', 'vigil_did', 'sid', 'raw']);
    expect(cookies).toContain('sid=1; Path=/; HttpOnly');
    expect(cookies).toContain('raw=1; Path=/');
  });
});

describe('the device cookie, on by default (issue 13): every protected outcome, never elsewhere, never twice', () => {
  // The verdict each test email gets from the recording provider.
  const VERDICTS: Record<string, { risk: number }> = { 'allow@example.com': { risk: 0 }, 'block@example.com': { risk: 1 }, 'challenge@example.com': { risk: 0.7 } };
  const EARLY = 'early=1; Path=/';
  const SESSION = 'sid=1; Path=/; HttpOnly';

  /**
   * A real Fastify app, the device cookie left to its default: an onRequest hook of the
   * app sets a cookie before Vigil, POST /login (protected) sets a session cookie, GET
   * /magic is protected (and so its HEAD), GET /account has no Vigil hook; onChallenge
   * answers 429 with a cookie of its own unless the body says the CAPTCHA was passed.
   */
  async function outcomesApp(options: Partial<VigilFastifyOptions> = {}) {
    const { provider, calls } = recordingProvider((event) => VERDICTS[String(event.user.email)] ?? { risk: 0 });
    const app = fastify();
    await app.register(vigil, {
      provider,
      routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }, { method: 'GET', path: '/magic', event: '$login' }],
      onChallenge: ({ request: info, proceed, raw: { reply } }) => {
        if ((info.body as { captcha?: string } | undefined)?.captcha === 'passed') return proceed();
        reply.header('set-cookie', 'captcha=pending; Path=/').code(429).send({ challenge: true });
      },
      ...options,
    });
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('set-cookie', EARLY);
    });
    app.post('/login', async (request, reply) => {
      reply.header('set-cookie', SESSION);
      return { action: request.vigil.action };
    });
    app.get('/magic', async () => ({ magic: true }));
    app.get('/account', async (_request, reply) => {
      reply.header('set-cookie', 'sid=account; Path=/');
      return {};
    });
    return { app, calls };
  }
  const post = (app: FastifyInstance, email: string, extra: Record<string, unknown> = {}, cookie?: string) =>
    app.inject({ method: 'POST', url: '/login', payload: { email, password: 'pw', ...extra }, headers: { ...FETCH, ...(cookie ? { cookie } : {}) } });

  it('blocking mode: allow, block, redirect, the challenge hand-off and a passed challenge each carry exactly one, with the app’s own cookies', async () => {
    const { app } = await outcomesApp({ mode: 'blocking' });
    const allowed = await post(app, 'allow@example.com');
    expect([allowed.statusCode, setCookies(allowed)]).toEqual([200, [EARLY, DEVICE_COOKIE, SESSION]]);
    const blocked = await post(app, 'block@example.com');
    expect([blocked.statusCode, blocked.json().blocked, setCookies(blocked)]).toEqual([403, true, [EARLY, DEVICE_COOKIE]]);
    const challenged = await post(app, 'challenge@example.com');
    expect([challenged.statusCode, setCookies(challenged)]).toEqual([429, [EARLY, DEVICE_COOKIE, 'captcha=pending; Path=/']]);
    const passed = await post(app, 'challenge@example.com', { captcha: 'passed' });
    expect([passed.statusCode, setCookies(passed)]).toEqual([200, [EARLY, DEVICE_COOKIE, SESSION]]);

    const { app: redirecting } = await outcomesApp({ mode: 'blocking', redirectUrl: '/sorry' });
    const redirected = await post(redirecting, 'block@example.com');
    expect([redirected.statusCode, redirected.headers.location, setCookies(redirected)]).toEqual([302, '/sorry', [EARLY, DEVICE_COOKIE]]);
  });

  it('monitoring mode: every request goes on to the route, with the cookie, whatever would have happened', async () => {
    const { app } = await outcomesApp();
    for (const email of ['allow@example.com', 'block@example.com', 'challenge@example.com']) {
      const res = await post(app, email);
      expect([res.statusCode, res.json().action, setCookies(res)]).toEqual([200, 'allow', [EARLY, DEVICE_COOKIE, SESSION]]);
    }
  });

  it('a protected GET and the HEAD Fastify adds for it carry it; a returning device gets none, a forged cookie a new one; unhooked and unknown routes never', async () => {
    const { app } = await outcomesApp({ mode: 'blocking' });
    for (const method of ['GET', 'HEAD'] as const) {
      expect(setCookies(await app.inject({ method, url: '/magic', headers: FETCH }))).toEqual([EARLY, DEVICE_COOKIE]);
    }
    const first = deviceCookieOf(await post(app, 'allow@example.com'));
    const cookie = `vigil_did=${first?.value}`;
    expect(setCookies(await post(app, 'allow@example.com', {}, `a=1; ${cookie}`))).toEqual([EARLY, SESSION]);
    expect(setCookies(await post(app, 'block@example.com', {}, cookie))).toEqual([EARLY]);
    const forged = await post(app, 'allow@example.com', {}, `${cookie.slice(0, -2)}xx`);
    expect(setCookies(forged)).toEqual([EARLY, DEVICE_COOKIE, SESSION]);
    expect(deviceCookieOf(forged)?.id).not.toBe(first?.id);

    expect(setCookies(await app.inject({ method: 'GET', url: '/account', headers: FETCH }))).toEqual([EARLY, 'sid=account; Path=/']);
    const missing = await app.inject({ method: 'POST', url: '/nowhere', payload: {}, headers: FETCH });
    expect([missing.statusCode, setCookies(missing)]).toEqual([404, [EARLY]]);
  });

  it('deviceCookie: false: no cookie and no device id, in any outcome', async () => {
    const { app, calls } = await outcomesApp({ mode: 'blocking', deviceCookie: false });
    expect(setCookies(await post(app, 'allow@example.com'))).toEqual([EARLY, SESSION]);
    expect(setCookies(await post(app, 'block@example.com'))).toEqual([EARLY]);
    expect(setCookies(await post(app, 'challenge@example.com'))).toEqual([EARLY, 'captcha=pending; Path=/']);
    expect(calls.filter.map((e) => e.deviceId)).toEqual([undefined, undefined, undefined]);
  });

  it('the provider gets the id (deviceFresh on a first visit, on the decision and on the logged outcome), never the cookie; raw headers over a listening server', async () => {
    const { app, calls } = await outcomesApp({ mode: 'blocking' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const send = (cookie?: string) =>
      fetch(`http://127.0.0.1:${port}/login`, { method: 'POST', headers: { ...FETCH, 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ email: 'allow@example.com' }) });
    const first = await send();
    expect(first.status).toBe(200);
    const lines = first.headers.getSetCookie();
    expect(lines).toEqual([EARLY, DEVICE_COOKIE, SESSION]);
    const cookie = (lines[1] as string).split(';')[0] as string;
    const [id, signature] = cookie.slice('vigil_did='.length).split('.') as [string, string];
    expect((await send(cookie)).headers.getSetCookie()).toEqual([EARLY, SESSION]);
    await expect.poll(() => calls.log.length).toBe(2);
    expect(deviceTrail(calls, signature)).toEqual({
      decisions: [
        [id, true],
        [id, undefined],
      ],
      outcomes: [
        ['$succeeded', id, true],
        ['$succeeded', id, undefined],
      ],
      cookieSeen: false,
    });
  });
});

describe.each([false, true])('no raw identifier reaches the store (anonymize: %s)', (anonymize) => {
  const EMAIL = 'Alice.Wonder@Example.com';
  const USERNAME = 'alice_wonderland';
  const PHONE = '+1 (555) 010-0199';
  const NEEDLES = ['alice.wonder@example.com', 'alice.wonder', 'alice_wonderland', '5550100199', '555) 010-0199'];

  it('after protected logins, every tracking call, identify and the admin operations', async () => {
    const { app, store } = await monitoringApp({ anonymize, routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email', username: 'body.username' } }] }, (a) => {
      a.post('/track', async (request) => {
        await request.vigil.trackLogin({ success: false, email: EMAIL, username: USERNAME, phone: PHONE, userExists: true });
        await request.vigil.trackLogin({ success: true, userId: 'u-77', email: EMAIL, username: USERNAME, phone: PHONE });
        await a.vigil.trackSignup(request, { userId: 'u-77', email: EMAIL, username: USERNAME, phone: PHONE });
        await request.vigil.trackCustom('profile_viewed', { plan: 'pro' });
        const { blocked } = await request.vigil.identify({ id: 'u-77', email: EMAIL, username: USERNAME });
        return { blocked };
      });
    });
    for (const password of ['wrong', 'wrong', 'right']) {
      await app.inject({ method: 'POST', url: '/login', payload: { email: EMAIL, username: USERNAME, password }, headers: FETCH });
    }
    const device = deviceCookieOf(await app.inject({ method: 'POST', url: '/login', payload: { email: EMAIL, username: USERNAME, password: 'right' }, headers: FETCH }));
    expect((await app.inject({ method: 'POST', url: '/track', payload: {}, headers: { ...FETCH, cookie: `vigil_did=${device?.value}` } })).json()).toEqual({ blocked: false });
    await app.vigil.blockUser('u-77', { reason: 'test' });
    await app.vigil.listBlockedUsers();
    await app.vigil.getDevicesForUser('u-77');
    await app.vigil.reportDevice(String(device?.id));
    await app.vigil.approveDevice(String(device?.id));
    // Waits for the outcome logs still in flight.
    await app.close();

    // The scan means something: the engine counted per account, and listed devices.
    expect(store.ops.length).toBeGreaterThan(30);
    expect(store.strings.some((s) => s.startsWith('v:acct:'))).toBe(true);
    expect(store.strings.some((s) => s.startsWith('d:user:u-77'))).toBe(true);
    const leaks = store.strings.filter((s) => NEEDLES.some((needle) => s.toLowerCase().includes(needle)));
    expect(leaks).toEqual([]);
  });
});
