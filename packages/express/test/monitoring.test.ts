import { castleProvider, type DeviceRecord, localProvider } from '@vigil/core';
import { deviceTrail, startFakeCastle } from '@vigil/core/testing';
import express, { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { VigilExpressOptions, VigilMiddleware } from '../src/index.js';
import { cookieOf, DEVICE_COOKIE, FIREFOX, FIREFOX_API, guard, LOGIN_ROUTE, listen, RecordingStore, recordingProvider } from './helpers.js';

// Real providers only: the embedded engine over a recording MemoryStore, and Castle's
// client talking to the fake Castle from @vigil/core/testing.

const DEVICE_SECRET = 'device-cookie-secret-for-tests';

/** The embedded engine over a store that records every operation. */
function engine() {
  const store = new RecordingStore();
  return { store, provider: localProvider({ store, secret: 'engine-secret-for-the-tests' }) };
}

/**
 * An app with the middleware mounted app-wide: a protected `POST /login` (email in the
 * body; password "right" → 200), an unprotected `GET /account` that identifies the
 * user named by `x-user-id`, and an unprotected `POST /track` that tracks through
 * `req.vigil`. `served` counts the requests that reached a route's own answer.
 */
function monitoringApp(middleware: VigilMiddleware) {
  const served: string[] = [];
  const app = express();
  app.use(express.json(), express.urlencoded());
  app.use(middleware);
  app.post('/login', async (req, res) => {
    const ok = req.body?.password === 'right';
    if (ok && typeof req.body.userId === 'string') await req.vigil!.trackLogin({ success: true, userId: req.body.userId });
    served.push('/login');
    res.cookie('sid', 'app-session').status(ok ? 200 : 401).json({ ok, action: req.vigil?.action });
  });
  app.get('/account', async (req, res) => {
    const result = await req.vigil!.identify({ id: String(req.get('x-user-id')), plan: 'pro' });
    if (result.handled) return;
    served.push('/account');
    res.json({ protected: req.vigil!.protected, blocked: result.blocked, handled: result.handled, action: result.decision.action, wouldBlock: result.decision.wouldBlock, reasons: result.decision.reasons });
  });
  app.post('/track', async (req, res) => {
    await req.vigil!.trackLogin({ success: false, email: req.body.email, userExists: false, properties: { method: 'password' } });
    await req.vigil!.trackSignup({ userId: 'u-7', email: req.body.email, username: req.body.username });
    await req.vigil!.trackCustom('export_data', { rows: 12 });
    served.push('/track');
    res.sendStatus(204);
  });
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: err.name, message: err.message });
  });
  return { app, served };
}

/** The device id a protected response gave (`<name>=<id>.<signature>`). */
function deviceIdOf(res: request.Response, name = 'vigil_did'): string {
  const cookie = cookieOf(res.headers['set-cookie'], name);
  if (!cookie) throw new Error(`no ${name} cookie in ${JSON.stringify(res.headers['set-cookie'])}`);
  const value = cookie.slice(name.length + 1);
  return value.slice(0, value.lastIndexOf('.'));
}

function withEngine(options: VigilExpressOptions = {}) {
  const { store, provider } = engine();
  const middleware = guard({ routes: [LOGIN_ROUTE], provider, ...options });
  return { store, middleware, ...monitoringApp(middleware) };
}

describe('tracking through Express reaches the provider (fake Castle)', () => {
  let castle: Awaited<ReturnType<typeof startFakeCastle>>;
  beforeAll(async () => {
    castle = await startFakeCastle('castle-secret');
  });
  afterAll(() => castle.close());
  beforeEach(() => castle.reset());

  const logs = () => castle.requests.filter((r) => r.path === '/v1/log').map((r) => r.body as Record<string, any>);

  it('req.vigil.trackLogin, trackSignup and trackCustom on an unprotected route, with the request context', async () => {
    const middleware = guard({ provider: castleProvider({ apiSecret: 'castle-secret', baseUrl: castle.url }) });
    const { app } = monitoringApp(middleware);
    await request(app).post('/track').set(FIREFOX_API).set('cookie', 'sid=secret-session').send({ email: 'ann@example.com', username: 'ann_w' }).expect(204);
    await castle.waitForRequests(3);
    const [login, signup, custom] = logs();
    expect(login).toMatchObject({ type: '$login', status: '$failed', user: { email: 'ann@example.com' }, properties: { method: 'password', user_exists: false } });
    expect(signup).toMatchObject({ type: '$registration', status: '$succeeded', user: { id: 'u-7', email: 'ann@example.com', username: 'ann_w' } });
    expect(custom).toMatchObject({ type: '$custom', status: '$succeeded', name: 'export_data', properties: { rows: 12 } });
    for (const event of [login, signup, custom]) {
      expect(event?.context.ip).toBe('127.0.0.1');
      expect(event?.context.headers['User-Agent']).toBe(FIREFOX['user-agent']);
      // The scrubbed context: the session cookie never leaves the process.
      expect(event?.context.headers.Cookie).toBe(true);
    }
    expect(JSON.stringify(castle.requests.map((r) => r.rawBody))).not.toContain('secret-session');
  });

  it('guard.trackLogin(req, …), trackSignup and trackCustom where no app-level middleware ran', async () => {
    const middleware = guard({ provider: castleProvider({ apiSecret: 'castle-secret', baseUrl: castle.url }) });
    const app = express();
    app.use(express.json());
    app.post('/login', async (req, res) => {
      await middleware.trackLogin(req, { success: true, userId: 'u-2', email: req.body.email });
      await middleware.trackSignup(req);
      await middleware.trackCustom(req, 'viewed_pricing');
      res.json({ vigil: req.vigil ?? null });
    });
    expect((await request(app).post('/login').set(FIREFOX_API).set('x-forwarded-for', '203.0.113.9').send({ email: 'bo@example.com' }).expect(200)).body).toEqual({ vigil: null });
    await castle.waitForRequests(3);
    expect(logs().map((e) => [e.type, e.status, e.user?.id ?? null, e.name ?? null, e.context.ip])).toEqual([
      // X-Forwarded-For from the loopback peer (a trusted proxy by default) names the client.
      ['$login', '$succeeded', 'u-2', null, '203.0.113.9'],
      ['$registration', '$succeeded', null, null, '203.0.113.9'],
      ['$custom', '$succeeded', null, 'viewed_pricing', '203.0.113.9'],
    ]);
  });

  it('with anonymize: true, the provider gets hashed identifiers (an email keeps its domain)', async () => {
    const middleware = guard({ provider: castleProvider({ apiSecret: 'castle-secret', baseUrl: castle.url }), anonymize: true });
    const { app } = monitoringApp(middleware);
    await request(app).post('/track').set(FIREFOX_API).send({ email: 'Ann@Example.com', username: 'ann_w' }).expect(204);
    await castle.waitForRequests(3);
    const [login, signup] = logs();
    expect(login?.user.email).toMatch(/^[0-9a-f]{32}@example\.com$/);
    expect(signup?.user).toEqual({ id: 'u-7', email: login?.user.email, username: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const wire = castle.requests.map((r) => r.rawBody).join('\n').toLowerCase();
    expect(wire).not.toContain('ann@example.com');
    expect(wire).not.toContain('ann_w');
  });
});

describe('identify and user blocks (embedded engine)', () => {
  it('in blocking mode, identify on an unprotected route answers a blocked user with the negotiated 403', async () => {
    const { app, served, middleware } = withEngine({ mode: 'blocking' });
    expect((await request(app).get('/account').set(FIREFOX_API).set('x-user-id', 'u-1').expect(200)).body).toMatchObject({ protected: false, blocked: false, handled: false, action: 'allow' });

    await middleware.blockUser('u-1', { reason: 'fraud ring' });
    served.length = 0;
    const html = await request(app).get('/account').set(FIREFOX).set('x-user-id', 'u-1').expect(403);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.text).toContain('Request blocked');
    const json = await request(app).get('/account').set(FIREFOX_API).set('x-user-id', 'u-1').expect(403);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.headers['cache-control']).toBe('no-store');
    expect(json.body).toEqual({ blocked: true, requestId: expect.stringMatching(/^[0-9a-f-]{36}$/), message: 'Request blocked' });
    // The route stopped: it did not answer after Vigil did.
    expect(served).toEqual([]);
    // Another user goes on.
    await request(app).get('/account').set(FIREFOX_API).set('x-user-id', 'u-2').expect(200);
  });

  it('the block response follows the configuration like every block (redirectUrl, blockResponse)', async () => {
    const redirecting = withEngine({ mode: 'blocking', redirectUrl: '/blocked', redirectStatus: 303 });
    await redirecting.middleware.blockUser('u-1');
    expect((await request(redirecting.app).get('/account').set(FIREFOX).set('x-user-id', 'u-1').expect(303)).headers.location).toBe('/blocked');

    const custom = withEngine({ mode: 'blocking', blockResponse: { status: 451, headers: { 'x-blocked-by': 'vigil' } } });
    await custom.middleware.blockUser('u-1');
    const res = await request(custom.app).get('/account').set(FIREFOX_API).set('x-user-id', 'u-1').expect(451);
    expect(res.headers['x-blocked-by']).toBe('vigil');
  });

  it('in monitoring mode, identify says blocked but does not answer: the request goes on', async () => {
    const { app, served, middleware } = withEngine();
    await middleware.blockUser('u-1', { reason: 'fraud ring' });
    const res = await request(app).get('/account').set(FIREFOX_API).set('x-user-id', 'u-1').expect(200);
    expect(res.body).toEqual({ protected: false, blocked: true, handled: false, action: 'allow', wouldBlock: true, reasons: expect.arrayContaining(['the user is blocked: fraud ring']) });
    expect(served).toEqual(['/account']);
  });

  it('unblockUser lifts the block, and listBlockedUsers lists who is blocked', async () => {
    const { app, middleware } = withEngine({ mode: 'blocking' });
    await middleware.blockUser('u-1', { reason: 'fraud ring' });
    await middleware.blockUser('u-2', { ttl: 60_000 });
    const listed = await middleware.listBlockedUsers();
    expect(listed.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
      { id: 'u-1', reason: 'fraud ring', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      { id: 'u-2', reason: '', at: expect.any(String) },
    ]);
    await request(app).get('/account').set(FIREFOX_API).set('x-user-id', 'u-1').expect(403);

    await middleware.unblockUser('u-1');
    await request(app).get('/account').set(FIREFOX_API).set('x-user-id', 'u-1').expect(200);
    expect((await middleware.listBlockedUsers()).map((u) => u.id)).toEqual(['u-2']);
  });

  it('a blocked user is refused on a protected route that identifies them, even with the right password', async () => {
    const { middleware } = withEngine({ mode: 'blocking' });
    const app = express();
    app.use(express.json(), middleware);
    app.post('/login', async (req, res) => {
      if (req.body.password !== 'right') return res.sendStatus(401);
      if ((await req.vigil!.identify({ id: 'u-1' })).handled) return;
      res.json({ ok: true });
    });
    await request(app).post('/login').set(FIREFOX_API).send({ email: 'ann@example.com', password: 'right' }).expect(200);
    await middleware.blockUser('u-1');
    expect((await request(app).post('/login').set(FIREFOX_API).send({ email: 'ann@example.com', password: 'right' }).expect(403)).body.blocked).toBe(true);
  });

  it('guard.identify(req, res, user) works where no app-level middleware ran', async () => {
    const { provider } = engine();
    const middleware = guard({ mode: 'blocking', provider });
    const app = express();
    const router = express.Router();
    router.get('/me', async (req, res) => {
      const { blocked, handled } = await middleware.identify(req, res, { id: String(req.get('x-user-id')) });
      if (handled) return;
      res.json({ blocked, vigil: req.vigil ?? null });
    });
    app.use('/api', router);
    expect((await request(app).get('/api/me').set(FIREFOX_API).set('x-user-id', 'u-1').expect(200)).body).toEqual({ blocked: false, vigil: null });
    await middleware.blockUser('u-1');
    expect((await request(app).get('/api/me').set(FIREFOX).set('x-user-id', 'u-1').expect(403)).text).toContain('Request blocked');
  });

  it('rejects bad admin input instead of writing it', async () => {
    const { middleware } = withEngine();
    await expect(middleware.blockUser('')).rejects.toThrow(/userId/);
    await expect(middleware.blockUser('u-1', { ttl: -5 })).rejects.toThrow(/ttl/);
    await expect(middleware.reportDevice('')).rejects.toThrow(/deviceId/);
  });
});

describe('the device cookie', () => {
  it('is set on protected responses only: signed, HttpOnly, SameSite=Lax, next to the app’s own cookies', async () => {
    const { app } = withEngine({ deviceCookie: { name: 'did', secret: DEVICE_SECRET } });
    const login = await request(app).post('/login').set(FIREFOX_API).send({ email: 'ann@example.com', password: 'right' }).expect(200);
    const cookies = login.headers['set-cookie'] as unknown as string[];
    expect(cookies).toHaveLength(2);
    expect(cookies[0]).toMatch(/^did=[A-Za-z0-9_-]{8,64}\.[A-Za-z0-9_-]+; Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax$/);
    expect(cookies[1]).toBe('sid=app-session; Path=/');

    // A request that carries a valid cookie keeps it: no new one.
    const again = await request(app).post('/login').set(FIREFOX_API).set('cookie', cookieOf(cookies, 'did')!).send({ email: 'ann@example.com', password: 'right' }).expect(200);
    expect(again.headers['set-cookie']).toEqual(['sid=app-session; Path=/']);

    // Unprotected responses carry none.
    expect((await request(app).get('/account').set(FIREFOX_API).set('x-user-id', 'u-1').expect(200)).headers['set-cookie']).toBeUndefined();
  });

  it('is Secure over HTTPS, as Express sees it through trust proxy (req.protocol)', async () => {
    const { app } = withEngine({ deviceCookie: { secret: DEVICE_SECRET } });
    const deviceCookie = async () => {
      const res = await request(app).post('/login').set(FIREFOX_API).set('x-forwarded-proto', 'https').send({ email: 'ann@example.com', password: 'right' }).expect(200);
      return (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('vigil_did='));
    };
    // Without trust proxy, Express ignores X-Forwarded-Proto: plain HTTP, no Secure.
    expect(await deviceCookie()).toMatch(/; HttpOnly; SameSite=Lax$/);
    app.set('trust proxy', 'loopback');
    expect(await deviceCookie()).toMatch(/; HttpOnly; SameSite=Lax; Secure$/);
  });

  it('a tampered or forged cookie counts as no device: a new one is issued, with a new id', async () => {
    const { app } = withEngine({ deviceCookie: { secret: DEVICE_SECRET } });
    const post = (cookie?: string) => {
      const r = request(app).post('/login').set(FIREFOX_API);
      return (cookie ? r.set('cookie', cookie) : r).send({ email: 'ann@example.com', password: 'right' }).expect(200);
    };
    const first = await post();
    const id = deviceIdOf(first);
    const value = cookieOf(first.headers['set-cookie'], 'vigil_did')!.slice('vigil_did='.length);
    const signature = value.slice(id.length + 1);
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);

    for (const forged of [`${id}.${flip(signature)}`, `${flip(id)}.${signature}`, `${id}`, `${id}.`, 'x'.repeat(32), `${id}.${signature}x`]) {
      const res = await post(`vigil_did=${forged}`);
      const issued = deviceIdOf(res);
      expect([forged, issued === id]).toEqual([forged, false]);
    }
    // The genuine cookie is still good.
    expect((await post(`vigil_did=${value}`)).headers['set-cookie']).toEqual(['sid=app-session; Path=/']);
  });

  it('reportDevice: the next identify and protected request from that device are refused; approveDevice lifts it', async () => {
    const { app, middleware } = withEngine({ mode: 'blocking', deviceCookie: { secret: DEVICE_SECRET } });
    const first = await request(app).post('/login').set(FIREFOX_API).send({ email: 'ann@example.com', password: 'right' }).expect(200);
    const id = deviceIdOf(first);
    const cookie = cookieOf(first.headers['set-cookie'], 'vigil_did')!;
    const identify = () => request(app).get('/account').set(FIREFOX_API).set('cookie', cookie).set('x-user-id', 'u-9');
    const login = () => request(app).post('/login').set(FIREFOX_API).set('cookie', cookie).send({ email: 'ann@example.com', password: 'right' });

    await middleware.reportDevice(id, { reason: 'stolen laptop' });
    expect((await identify().expect(403)).body.blocked).toBe(true);
    expect((await login().expect(403)).body.blocked).toBe(true);
    // Other devices, and a forged copy of the reported one's cookie, are not that device.
    await request(app).get('/account').set(FIREFOX_API).set('x-user-id', 'u-9').expect(200);
    await request(app).get('/account').set(FIREFOX_API).set('cookie', `${cookie}x`).set('x-user-id', 'u-9').expect(200);

    await middleware.approveDevice(id);
    await identify().expect(200);
    await login().expect(200);
  });

  it('getDevicesForUser lists the device of a successful login tracked with the user id', async () => {
    const { app, middleware } = withEngine({ deviceCookie: { secret: DEVICE_SECRET } });
    const body = { email: 'ann@example.com', password: 'right', userId: 'u-1' };
    // The browser's first protected response gives it its cookie; its next login carries it.
    const first = await request(app).post('/login').set(FIREFOX_API).send({ email: 'ann@example.com', password: 'wrong' }).expect(401);
    const id = deviceIdOf(first);
    await request(app).post('/login').set(FIREFOX_API).set('cookie', cookieOf(first.headers['set-cookie'], 'vigil_did')!).send(body).expect(200);
    const devices = (await middleware.getDevicesForUser('u-1')) as DeviceRecord[];
    expect(devices).toEqual([
      { id, firstSeen: expect.any(String), lastSeen: expect.any(String), ips: ['127.0.0.1'], userAgent: FIREFOX['user-agent'], approved: false, reported: false },
    ]);
    await middleware.reportDevice(id);
    expect(((await middleware.getDevicesForUser('u-1')) as DeviceRecord[])[0]).toMatchObject({ id, reported: true, approved: false });
    await middleware.approveDevice(id);
    expect(((await middleware.getDevicesForUser('u-1')) as DeviceRecord[])[0]).toMatchObject({ id, reported: false, approved: true });
    expect(await middleware.getDevicesForUser('u-unknown')).toEqual([]);
  });
});

describe('the device cookie, on by default (issue 13): every protected outcome, never elsewhere, never twice', () => {
  // The verdict each test email gets from the recording provider.
  const VERDICTS: Record<string, { risk: number }> = { 'allow@example.com': { risk: 0 }, 'block@example.com': { risk: 1 }, 'challenge@example.com': { risk: 0.7 } };

  /**
   * A real Express app: a cookie set by a middleware before Vigil, the app-wide
   * middleware protecting POST /login (whose handler sets its own session cookie), an
   * unprotected GET /account that sets one too, and an onChallenge hand-off that answers
   * 429 with a cookie of its own unless the body says the CAPTCHA was passed.
   */
  function outcomesApp(options: VigilExpressOptions = {}) {
    const { provider, calls } = recordingProvider((event) => VERDICTS[String(event.user.email)] ?? { risk: 0 });
    const middleware = guard({
      routes: [LOGIN_ROUTE],
      provider,
      onChallenge: ({ request: info, proceed, raw: { res } }) => {
        if ((info.body as { captcha?: string } | undefined)?.captcha === 'passed') return proceed();
        res.cookie('captcha', 'pending').status(429).json({ challenge: true });
      },
      ...options,
    });
    const app = express();
    app.use(express.json());
    app.use((_req, res, next) => {
      res.cookie('before', '1');
      next();
    });
    app.use(middleware);
    app.post('/login', (req, res) => {
      res.cookie('sid', 'app-session').json({ action: req.vigil?.action, wouldAction: req.vigil?.wouldAction });
    });
    app.get('/account', (_req, res) => {
      res.cookie('sid', 'account').json({});
    });
    return { app, calls, middleware };
  }
  const login = (app: express.Express, email: string, extra: Record<string, unknown> = {}, cookie?: string) => {
    const r = request(app).post('/login').set(FIREFOX_API);
    return (cookie ? r.set('cookie', cookie) : r).send({ email, password: 'pw', ...extra });
  };
  const BEFORE = 'before=1; Path=/';
  const SESSION = 'sid=app-session; Path=/';

  it('blocking mode: allow, block, redirect, the challenge hand-off and a passed challenge each carry exactly one, with the app’s own cookies', async () => {
    const { app } = outcomesApp({ mode: 'blocking' });
    const allowed = await login(app, 'allow@example.com').expect(200);
    expect(allowed.headers['set-cookie']).toEqual([BEFORE, DEVICE_COOKIE, SESSION]);
    const blocked = await login(app, 'block@example.com').expect(403);
    expect(blocked.body.blocked).toBe(true);
    expect(blocked.headers['set-cookie']).toEqual([BEFORE, DEVICE_COOKIE]);
    const challenged = await login(app, 'challenge@example.com').expect(429);
    expect(challenged.headers['set-cookie']).toEqual([BEFORE, DEVICE_COOKIE, 'captcha=pending; Path=/']);
    const passed = await login(app, 'challenge@example.com', { captcha: 'passed' }).expect(200);
    expect(passed.headers['set-cookie']).toEqual([BEFORE, DEVICE_COOKIE, SESSION]);

    const { app: redirecting } = outcomesApp({ mode: 'blocking', redirectUrl: '/sorry' });
    const redirected = await login(redirecting, 'block@example.com').expect(302);
    expect(redirected.headers.location).toBe('/sorry');
    expect(redirected.headers['set-cookie']).toEqual([BEFORE, DEVICE_COOKIE]);
  });

  it('monitoring mode: every request goes on to the route, with the cookie, whatever would have happened', async () => {
    const { app } = outcomesApp();
    for (const email of ['allow@example.com', 'block@example.com', 'challenge@example.com']) {
      const res = await login(app, email).expect(200);
      expect(res.body.action).toBe('allow');
      expect(res.headers['set-cookie']).toEqual([BEFORE, DEVICE_COOKIE, SESSION]);
    }
  });

  it('a returning device (valid cookie) gets none; a forged one a new one; unprotected, unknown and excluded paths never', async () => {
    const { app } = outcomesApp({ mode: 'blocking', uriExclusion: ['/login/health'] });
    app.post('/login/health', (_req, res) => {
      res.json({ ok: true });
    });
    const first = await login(app, 'allow@example.com').expect(200);
    const cookie = cookieOf(first.headers['set-cookie'], 'vigil_did') as string;
    expect((await login(app, 'allow@example.com', {}, `a=1; ${cookie}`).expect(200)).headers['set-cookie']).toEqual([BEFORE, SESSION]);
    expect((await login(app, 'block@example.com', {}, cookie).expect(403)).headers['set-cookie']).toEqual([BEFORE]);
    const forged = await login(app, 'allow@example.com', {}, `${cookie.slice(0, -2)}xx`).expect(200);
    expect(forged.headers['set-cookie']).toEqual([BEFORE, DEVICE_COOKIE, SESSION]);
    expect(cookieOf(forged.headers['set-cookie'], 'vigil_did')).not.toBe(cookie);

    expect((await request(app).get('/account').set(FIREFOX_API).expect(200)).headers['set-cookie']).toEqual([BEFORE, 'sid=account; Path=/']);
    expect((await request(app).get('/login').set(FIREFOX_API).expect(404)).headers['set-cookie']).toEqual([BEFORE]);
    expect((await request(app).post('/nowhere').set(FIREFOX_API).send({}).expect(404)).headers['set-cookie']).toEqual([BEFORE]);
  });

  it('per-route middleware sets it too, and once only when the app-wide middleware already decided the request', async () => {
    const { provider, calls } = recordingProvider();
    const perRoute = guard({ provider });
    const app = express();
    app.use(express.json());
    app.post('/signup', perRoute.protect('$registration', { user: { email: 'body.email' } }), (_req, res) => {
      res.cookie('sid', 'new').status(201).json({});
    });
    const both = guard({ routes: [LOGIN_ROUTE], provider });
    app.use(both);
    app.post('/login', both.protect('$login'), (_req, res) => {
      res.json({});
    });
    expect((await request(app).post('/signup').set(FIREFOX_API).send({ email: 'ann@example.com' }).expect(201)).headers['set-cookie']).toEqual([DEVICE_COOKIE, 'sid=new; Path=/']);
    expect((await request(app).post('/login').set(FIREFOX_API).send({ email: 'ann@example.com' }).expect(200)).headers['set-cookie']).toEqual([DEVICE_COOKIE]);
    expect(calls.filter).toHaveLength(2);
  });

  it('deviceCookie: false: no cookie and no device id, in any outcome', async () => {
    const { app, calls } = outcomesApp({ mode: 'blocking', deviceCookie: false });
    expect((await login(app, 'allow@example.com').expect(200)).headers['set-cookie']).toEqual([BEFORE, SESSION]);
    expect((await login(app, 'block@example.com').expect(403)).headers['set-cookie']).toEqual([BEFORE]);
    expect((await login(app, 'challenge@example.com').expect(429)).headers['set-cookie']).toEqual([BEFORE, 'captcha=pending; Path=/']);
    expect(calls.filter.map((e) => e.deviceId)).toEqual([undefined, undefined, undefined]);
  });

  it('the provider gets the id (deviceFresh on a first visit, on the decision and on the logged outcome), never the cookie; raw headers over a listening server', async () => {
    const { app, calls } = outcomesApp({ mode: 'blocking' });
    const base = await listen(app);
    const post = (cookie?: string) =>
      fetch(`${base}/login`, { method: 'POST', headers: { ...FIREFOX_API, 'content-type': 'application/json', ...(cookie ? { cookie } : {}) }, body: JSON.stringify({ email: 'allow@example.com', password: 'pw' }) });
    const first = await post();
    expect(first.status).toBe(200);
    const lines = first.headers.getSetCookie();
    expect(lines).toEqual([BEFORE, DEVICE_COOKIE, SESSION]);
    const cookie = (lines[1] as string).split(';')[0] as string;
    const [id, signature] = cookie.slice('vigil_did='.length).split('.') as [string, string];
    expect((await post(cookie)).headers.getSetCookie()).toEqual([BEFORE, SESSION]);
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

describe('PII: no raw email or username reaches the store', () => {
  it('the engine keys and values carry only hashes, whatever the routes and tracking calls send', async () => {
    const EMAIL = 'Ann.Smith+vigil@Example.com';
    const USERNAME = 'ann_smith_77';
    const { app, store, middleware } = withEngine({
      mode: 'blocking',
      deviceCookie: { secret: DEVICE_SECRET },
      routes: [LOGIN_ROUTE, { method: 'POST', path: '/signup', event: '$registration', user: { email: 'body.email', username: 'body.username' } }],
    });
    app.post('/signup', (_req, res) => {
      res.status(201).json({});
    });
    app.post('/guard-track', async (req, res) => {
      await middleware.trackLogin(req, { success: false, email: req.body.email, username: req.body.username });
      await middleware.trackSignup(req, { success: false, email: req.body.email, username: req.body.username });
      res.sendStatus(204);
    });
    const agent = request.agent(app);
    await agent.post('/login').set(FIREFOX_API).send({ email: EMAIL, password: 'wrong' }).expect(401);
    await agent.post('/login').set(FIREFOX_API).send({ email: EMAIL.toLowerCase(), password: 'right', userId: 'u-1' }).expect(200);
    await agent.post('/signup').set(FIREFOX_API).type('form').send({ email: ` ${EMAIL} `, username: USERNAME }).expect(201);
    await agent.post('/track').set(FIREFOX_API).send({ email: EMAIL, username: USERNAME }).expect(204);
    await agent.get('/account').set(FIREFOX_API).set('x-user-id', 'u-1').expect(200);
    await agent.post('/guard-track').set(FIREFOX_API).send({ email: EMAIL, username: USERNAME }).expect(204);
    await middleware.blockUser('u-1');
    await middleware.listBlockedUsers();
    await middleware.getDevicesForUser('u-1');
    // Outcomes are logged after the response: wait for them to land.
    await new Promise((resolve) => setTimeout(resolve, 50));

    const seen = store.dump().toLowerCase();
    // The scan is meaningful: the engine wrote per-account counters and device records.
    expect(store.ops.some((op) => op.key.startsWith('v:acct:'))).toBe(true);
    expect(store.ops.some((op) => op.key === 'd:user:u-1' && op.value?.includes('127.0.0.1'))).toBe(true);
    for (const needle of [EMAIL, EMAIL.trim(), 'ann.smith+vigil', 'ann.smith', USERNAME]) expect([needle, seen.includes(needle.toLowerCase())]).toEqual([needle, false]);
  });
});
