import { createHmac } from 'node:crypto';
import http from 'node:http';
import { castleProvider, cheqProvider } from '@vigil/core';
import { startFakeCastle, startFakeCheq } from '@vigil/core/testing';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type VigilExpressOptions, VigilUnsupportedError, verifyWebhook, WebhookVerificationError } from '../src/index.js';
import { DEVICE_COOKIE, FIREFOX, FIREFOX_API, guard, LOGIN_ROUTE, listen } from './helpers.js';

// Remote providers through real Express apps: Castle's and CHEQ's clients from
// @vigil/core, talking over loopback HTTP to the fakes of @vigil/core/testing.

/** Express app: an early middleware sets a cookie, then body parsers, Vigil, and a login route that sets its own. */
function appWith(options: VigilExpressOptions, setup?: (app: Express) => void) {
  const app = express();
  setup?.(app);
  app.use((_req, res, next) => {
    res.cookie('before', '1');
    next();
  });
  app.use(express.json(), express.urlencoded());
  app.use(guard({ routes: [LOGIN_ROUTE], ...options }));
  app.post('/login', (req, res) => {
    res.cookie('sid', 'app-session').json({ action: req.vigil?.action, wouldAction: req.vigil?.wouldAction, device: req.vigil?.device ?? null, failover: req.vigil?.failoverReason ?? null });
  });
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: err.name });
  });
  return app;
}

/** A POST sent with node:http, header names exactly as given (order and case). */
function rawPost(base: string, path: string, headers: [string, string][], body: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'POST', path: url.pathname + url.search, headers: headers.flat(), agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('CHEQ through Express (fake CHEQ RTI)', () => {
  let cheq: Awaited<ReturnType<typeof startFakeCheq>>;
  beforeAll(async () => {
    cheq = await startFakeCheq('cheq-key', 'tag-hash');
  });
  afterAll(() => cheq.close());
  beforeEach(() => cheq.reset());

  const provider = () => cheqProvider({ apiKey: 'cheq-key', tagHash: 'tag-hash', apiEndpoint: cheq.origin, timeout: 2000 });
  const form = (i = 0) => cheq.requests[i]?.body as Record<string, string>;

  it('receives every field of its list, HeaderNames in the order and case the client sent', async () => {
    const app = appWith({ provider: provider(), getChannel: () => 'web', getJa3: () => 'ja3-fingerprint' });
    const base = await listen(app);
    const port = new URL(base).port;
    const body = JSON.stringify({ email: 'ann@example.com' });
    const headers: [string, string][] = [
      ['Host', `127.0.0.1:${port}`],
      ['user-AGENT', FIREFOX['user-agent']],
      ['Accept', 'application/json'],
      ['Accept-Language', 'en-US,en;q=0.5'],
      ['Accept-Encoding', 'gzip, deflate, br'],
      ['Referer', `${base}/signin`],
      ['Origin', base],
      ['X-Requested-With', 'XMLHttpRequest'],
      ['Pragma', 'no-cache'],
      ['Cache-Control', 'no-cache'],
      ['X-Forwarded-For', '203.0.113.7'],
      ['True-Client-IP', '203.0.113.8'],
      ['X-Real-IP', '203.0.113.9'],
      ['Forwarded', 'for=203.0.113.7'],
      ['cookie', 'sid=secret-session; _cheq_rti=rti%3Dabc'],
      ['X-Custom-Thing', '1'],
      ['Content-Type', 'application/json'],
      ['Content-Length', String(Buffer.byteLength(body))],
      ['Connection', 'close'],
    ];
    const before = Date.now();
    const res = await rawPost(base, '/login?next=%2Fhome', headers, body);
    expect(res.status).toBe(200);
    expect(cheq.requests).toHaveLength(1);
    expect(cheq.requests[0]?.path).toBe('/v1/realtime-interception');
    expect(cheq.requests[0]?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    const sent = form();
    expect(sent).toEqual({
      ApiKey: 'cheq-key',
      TagHash: 'tag-hash',
      EventType: 'login',
      // X-Forwarded-For from the loopback peer (a trusted proxy by default) names the client.
      ClientIP: '203.0.113.7',
      // Query values are redacted unless cheqProvider's sendQueryValues is set.
      RequestURL: `http://127.0.0.1:${port}/login?next=REDACTED`,
      Method: 'POST',
      ResourceType: 'text/html',
      CheqCookie: 'rti=abc',
      RequestTime: expect.stringMatching(/^\d{13}$/),
      HeaderNames: headers.map(([name]) => name).join(','),
      Host: `127.0.0.1:${port}`,
      UserAgent: FIREFOX['user-agent'],
      Accept: 'application/json',
      AcceptLanguage: 'en-US,en;q=0.5',
      AcceptEncoding: 'gzip, deflate, br',
      Referer: `${base}/signin`,
      Origin: base,
      XRequestedWith: 'XMLHttpRequest',
      Pragma: 'no-cache',
      CacheControl: 'no-cache',
      ContentType: 'application/json',
      Connection: 'close',
      XForwardedFor: '203.0.113.7',
      TrueClientIP: '203.0.113.8',
      XRealIP: '203.0.113.9',
      Forwarded: 'for=203.0.113.7',
      RemoteAddr: '127.0.0.1',
      JA3: 'ja3-fingerprint',
      Channel: 'web',
    });
    expect(Number(sent.RequestTime)).toBeGreaterThanOrEqual(before);
    expect(Number(sent.RequestTime)).toBeLessThanOrEqual(Date.now());
    // Only the _cheq_rti cookie goes to CHEQ, never the app's session.
    expect(cheq.requests[0]?.rawBody).not.toContain('secret-session');
  });

  it("maps each route's event, and reads _cheq_rti from cookie-parser's req.cookies when it ran", async () => {
    const app = appWith(
      {
        provider: provider(),
        routes: [
          { method: 'POST', path: '/signup', event: '$registration' },
          { method: 'GET', path: '/', event: '$custom', name: 'page_load' },
        ],
      },
      // cookie-parser's effect: req.cookies, decoded.
      (a) =>
        a.use((req, _res, next) => {
          req.cookies = { _cheq_rti: 'from-parser' };
          next();
        }),
    );
    app.post('/signup', (_req, res) => {
      res.sendStatus(201);
    });
    app.get('/', (_req, res) => {
      res.send('home');
    });
    await request(app).post('/signup').set(FIREFOX_API).set('cookie', '_cheq_rti=from-header').send({}).expect(201);
    await request(app).get('/').set(FIREFOX).expect(200);
    expect([form(0), form(1)].map((f) => [f.EventType, f.Method, f.CheqCookie])).toEqual([
      ['registration', 'POST', 'from-parser'],
      ['page_load', 'GET', 'from-parser'],
    ]);
  });

  it("says https in RequestURL when Express does (trust proxy and X-Forwarded-Proto, req.protocol)", async () => {
    const app = appWith({ provider: provider() });
    const post = () => request(app).post('/login').set(FIREFOX_API).set('host', 'shop.example').set('x-forwarded-proto', 'https').send({});
    await post().expect(200);
    app.set('trust proxy', 'loopback');
    await post().expect(200);
    expect([form(0).RequestURL, form(1).RequestURL]).toEqual(['http://shop.example/login', 'https://shop.example/login']);
  });

  describe.each(['monitoring', 'blocking'] as const)("appends CHEQ's setCookie next to the app's own Set-Cookie, in %s mode", (mode) => {
    const CHEQ_COOKIE = '_cheq_rti=rti-value; Path=/; Max-Age=31536000; SameSite=Lax';

    it('on valid traffic', async () => {
      cheq.verdict = { isInvalid: false, threatTypeCode: 0, setCookie: CHEQ_COOKIE };
      const res = await request(appWith({ mode, provider: provider() })).post('/login').set(FIREFOX_API).send({}).expect(200);
      expect(res.body.action).toBe('allow');
      // CHEQ's cookie, then Vigil's own device cookie, between what the app set before and after.
      expect(res.headers['set-cookie']).toEqual(['before=1; Path=/', CHEQ_COOKIE, DEVICE_COOKIE, 'sid=app-session; Path=/']);
    });

    it('on invalid traffic (threat code 3, a block code)', async () => {
      cheq.verdict = { isInvalid: true, threatTypeCode: 3, setCookie: CHEQ_COOKIE };
      const res = await request(appWith({ mode, provider: provider() })).post('/login').set(FIREFOX_API).send({});
      if (mode === 'monitoring') {
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ action: 'allow', wouldAction: 'block' });
        expect(res.headers['set-cookie']).toEqual(['before=1; Path=/', CHEQ_COOKIE, DEVICE_COOKIE, 'sid=app-session; Path=/']);
      } else {
        // Vigil's block response keeps what the app set before it, and carries CHEQ's cookie.
        expect(res.status).toBe(403);
        expect(res.body.blocked).toBe(true);
        expect(res.headers['set-cookie']).toEqual(['before=1; Path=/', CHEQ_COOKIE, DEVICE_COOKIE]);
      }
    });
  });

  it('fails open when CHEQ does not answer in time, and has no block lists', async () => {
    cheq.set({ delayMs: 500 });
    const middleware = guard({ mode: 'blocking', provider: cheqProvider({ apiKey: 'cheq-key', tagHash: 'tag-hash', apiEndpoint: cheq.origin, timeout: 50 }) });
    const app = express();
    app.post('/login', middleware.protect('$login'), (req, res) => {
      res.json({ action: req.vigil?.action, failover: req.vigil?.failoverReason });
    });
    expect((await request(app).post('/login').set(FIREFOX_API).expect(200)).body).toEqual({ action: 'allow', failover: 'timeout' });
    await expect(middleware.blockUser('u-1')).rejects.toBeInstanceOf(VigilUnsupportedError);
    await expect(middleware.reportDevice('d-1')).rejects.toThrow(/reportDevice is not supported by the "cheq" provider/);
  });
});

describe('Castle through Express (fake Castle)', () => {
  let castle: Awaited<ReturnType<typeof startFakeCastle>>;
  beforeAll(async () => {
    castle = await startFakeCastle('castle-secret');
  });
  afterAll(() => castle.close());
  beforeEach(() => castle.reset());

  const provider = () => castleProvider({ apiSecret: 'castle-secret', baseUrl: castle.url });
  const calls = (path: string) => castle.requests.filter((r) => r.path === `/v1/${path}`).map((r) => r.body as Record<string, any>);

  it('gets the request token from the castle_request_token form field, a JSON field, or the X-Castle-Request-Token header', async () => {
    const app = appWith({ mode: 'blocking', provider: provider() });
    await request(app).post('/login').set(FIREFOX).type('form').send({ email: 'ann@example.com', castle_request_token: 'tok-form' }).expect(200);
    await request(app).post('/login').set(FIREFOX_API).send({ email: 'ann@example.com', castle_request_token: 'tok-json' }).expect(200);
    await request(app).post('/login').set(FIREFOX_API).set('X-Castle-Request-Token', 'tok-header').send({ email: 'ann@example.com' }).expect(200);
    // The body field wins over the header.
    await request(app).post('/login').set(FIREFOX_API).set('X-Castle-Request-Token', 'tok-header').send({ email: 'ann@example.com', castle_request_token: 'tok-both' }).expect(200);
    expect(calls('filter').map((b) => [b.type, b.status, b.request_token, b.params.email])).toEqual([
      ['$login', '$attempted', 'tok-form', 'ann@example.com'],
      ['$login', '$attempted', 'tok-json', 'ann@example.com'],
      ['$login', '$attempted', 'tok-header', 'ann@example.com'],
      ['$login', '$attempted', 'tok-both', 'ann@example.com'],
    ]);
    expect(calls('filter')[0]?.context).toMatchObject({ ip: '127.0.0.1', headers: { 'User-Agent': FIREFOX['user-agent'] } });
    // The route's outcomes follow to /log, with the same token.
    await vi.waitFor(() => expect(calls('log')).toHaveLength(4));
    expect(calls('log')[0]).toMatchObject({ type: '$login', status: '$succeeded', request_token: 'tok-form' });
  });

  it("a missing token is a Castle 422 (invalid_request_token): a failover that createVigil's failover decides, never a 500", async () => {
    const allowed = await request(appWith({ mode: 'blocking', provider: provider() })).post('/login').set(FIREFOX_API).send({ email: 'ann@example.com' }).expect(200);
    expect(allowed.body).toMatchObject({ action: 'allow', failover: 'invalid_request_token' });
    await request(appWith({ mode: 'blocking', failover: 'deny', provider: provider() })).post('/login').set(FIREFOX_API).send({ email: 'ann@example.com' }).expect(403);
    const monitoring = await request(appWith({ failover: 'deny', provider: provider() })).post('/login').set(FIREFOX_API).send({ email: 'ann@example.com' }).expect(200);
    expect(monitoring.body).toMatchObject({ action: 'allow', wouldAction: 'block', failover: 'invalid_request_token' });
  });

  it("Castle's deny blocks with the negotiated response; its device token is req.vigil.device", async () => {
    const app = appWith({ mode: 'blocking', provider: provider() });
    const ok = await request(app).post('/login').set(FIREFOX_API).set('X-Castle-Request-Token', 't').send({}).expect(200);
    expect(ok.body.device).toEqual({ id: 'dev_token_1' });
    castle.verdict = { risk: 0.95, action: 'deny' };
    const html = await request(app).post('/login').set(FIREFOX).set('X-Castle-Request-Token', 't').send({}).expect(403);
    expect(html.text).toContain('Request blocked');
  });

  it("device operations go to Castle's device endpoints; user blocks are not Castle's", async () => {
    const middleware = guard({ provider: provider() });
    castle.devices.set('dev_token_1', { user_id: 'u-1', created_at: '2024-01-01T00:00:00Z' });
    expect(await middleware.getDevicesForUser('u-1')).toEqual({ total_count: 1, data: [{ token: 'dev_token_1', user_id: 'u-1', created_at: '2024-01-01T00:00:00Z' }] });
    await middleware.reportDevice('dev_token_1');
    await middleware.approveDevice('dev_token_1');
    expect(castle.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/users/u-1/devices', 'PUT /v1/devices/dev_token_1/report', 'PUT /v1/devices/dev_token_1/approve']);
    expect(castle.devices.get('dev_token_1')).toMatchObject({ escalated_at: expect.any(String), approved_at: expect.any(String) });
    await expect(middleware.blockUser('u-1')).rejects.toBeInstanceOf(VigilUnsupportedError);
    await expect(middleware.listBlockedUsers()).rejects.toBeInstanceOf(VigilUnsupportedError);
  });
});

describe('webhooks: express.raw() and verifyWebhook', () => {
  const SECRET = 'castle-webhook-secret';
  const sign = (body: string | Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');

  /** The README's recipe: the webhook route before the JSON parser, with express.raw. */
  function webhookApp(jsonFirst = false) {
    const received: unknown[] = [];
    const app = express();
    if (jsonFirst) app.use(express.json());
    app.post('/webhooks/castle', express.raw({ type: 'application/json' }), (req, res) => {
      try {
        verifyWebhook(req.body, req.get('X-Castle-Signature'), SECRET);
      } catch (error) {
        if (error instanceof WebhookVerificationError) return res.status(401).json({ error: error.message });
        throw error;
      }
      received.push(JSON.parse(req.body.toString('utf8')));
      res.sendStatus(204);
    });
    app.use(express.json());
    app.use(guard({ routes: [LOGIN_ROUTE] }));
    return { app, received };
  }

  const EVENT = '{"type":"$incident.confirmed","data":{"user_id":"u-1","device_token":"dev_token_1"}}';
  const post = (app: Express, body: string, signature?: string) => {
    const r = request(app).post('/webhooks/castle').set('content-type', 'application/json');
    return (signature === undefined ? r : r.set('X-Castle-Signature', signature)).send(body);
  };

  it('accepts a correctly signed body', async () => {
    const { app, received } = webhookApp();
    await post(app, EVENT, sign(EVENT)).expect(204);
    expect(received).toEqual([{ type: '$incident.confirmed', data: { user_id: 'u-1', device_token: 'dev_token_1' } }]);
  });

  it('rejects a tampered body, a missing or wrong signature, and a re-serialized body', async () => {
    const { app, received } = webhookApp();
    const tampered = EVENT.replace('u-1', 'u-2');
    expect((await post(app, tampered, sign(EVENT)).expect(401)).body.error).toMatch(/does not match/);
    expect((await post(app, EVENT).expect(401)).body.error).toMatch(/no signature/);
    await post(app, EVENT, sign(EVENT, 'another-secret')).expect(401);
    await post(app, EVENT, 'not base64!').expect(401);
    // The same JSON with other whitespace is another body: sign and verify bytes, not objects.
    await post(app, JSON.stringify(JSON.parse(EVENT), null, 2), sign(EVENT)).expect(401);
    expect(received).toEqual([]);
  });

  it('fails, saying why, when a JSON parser ran before express.raw()', async () => {
    const { app } = webhookApp(true);
    expect((await post(app, EVENT, sign(EVENT)).expect(401)).body.error).toMatch(/pass the raw body/);
  });
});
