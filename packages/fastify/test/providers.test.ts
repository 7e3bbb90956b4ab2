import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { castleProvider, cheqProvider } from '@vigil/core';
import { startFakeCastle, startFakeCheq } from '@vigil/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type VigilFastifyOptions, VigilUnsupportedError, vigil, WebhookVerificationError } from '../src/index.js';
import { BROWSER, DEVICE_COOKIE, fastify, formBodies, setCookies } from './helpers.js';

// Issue 7, through Fastify: the remote providers against the fake vendors of
// @vigil/core/testing (real HTTP servers speaking Castle v1 and CHEQ RTI v1).

const FETCH = { ...BROWSER, accept: 'application/json' };
const CHEQ_COOKIE = '_cheq_rti=rti-new; Path=/; Max-Age=1800; SameSite=Lax';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request over a real socket, with its headers in exactly this order and case. */
function send(port: number, method: string, path: string, rawHeaders: string[], body = ''): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method, agent: false, setHost: false, headers: rawHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('CHEQ through Fastify', () => {
  const API_KEY = 'cheq-api-key';
  const TAG_HASH = 'cheq-tag-hash';
  let cheq: Awaited<ReturnType<typeof startFakeCheq>>;
  beforeAll(async () => {
    cheq = await startFakeCheq(API_KEY, TAG_HASH);
  });
  afterAll(async () => {
    await cheq.close();
  });
  beforeEach(() => {
    cheq.reset();
  });

  /** CHEQ as the provider; POST /login (protected, sets the app's own `sid` cookie) and GET / (page_load). */
  async function cheqApp(options: Partial<VigilFastifyOptions> = {}, setup?: (app: FastifyInstance) => void | Promise<void>) {
    const app = fastify();
    await app.register(formBodies);
    await app.register(vigil, {
      provider: cheqProvider({ apiKey: API_KEY, tagHash: TAG_HASH, apiEndpoint: cheq.url, timeout: 2000 }),
      routeToEventType: { '/login': 'login', '/': 'page_load' },
      ...options,
    });
    await setup?.(app);
    app.post('/login', async (_request, reply) => reply.header('set-cookie', 'sid=1; Path=/; HttpOnly').send({ ok: true }));
    app.get('/', async (request) => ({ page: true, wouldBlock: request.vigil.wouldBlock }));
    return app;
  }

  it('receives every field from a real request: header names in the order and case the client sent them', async () => {
    const app = await cheqApp();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const body = 'email=alice%40example.com&password=x';
    const headers = [
      'Host', `127.0.0.1:${port}`,
      'User-Agent', BROWSER['user-agent'],
      'ACCEPT', 'text/html,application/xhtml+xml',
      'accept-language', 'en-US,en;q=0.5',
      'Accept-Encoding', 'gzip, deflate',
      'Referer', `http://127.0.0.1:${port}/`,
      'Origin', `http://127.0.0.1:${port}`,
      'X-Requested-With', 'XMLHttpRequest',
      'Pragma', 'no-cache',
      'Cache-Control', 'no-cache',
      'Content-Type', 'application/x-www-form-urlencoded',
      'Content-Length', String(Buffer.byteLength(body)),
      'Cookie', '_cheq_rti=rti%20old; sid=0',
      'X-Forwarded-For', '198.51.100.7',
      'Connection', 'close',
    ];
    const before = Date.now();
    const res = await send(port, 'POST', '/login?next=%2Fhome', headers, body);
    expect(res.status).toBe(200);
    const [call] = await cheq.waitForRequests(1);
    const form = call?.body as Record<string, string>;
    expect(form).toEqual({
      ApiKey: API_KEY,
      TagHash: TAG_HASH,
      EventType: 'login',
      // The loopback peer is a trusted proxy by default: the client is the forwarded address.
      ClientIP: '198.51.100.7',
      // Query values are redacted unless cheqProvider's sendQueryValues is set.
      RequestURL: `http://127.0.0.1:${port}/login?next=REDACTED`,
      Method: 'POST',
      ResourceType: 'text/html',
      CheqCookie: 'rti old',
      RequestTime: expect.stringMatching(/^\d{13}$/),
      HeaderNames: 'Host,User-Agent,ACCEPT,accept-language,Accept-Encoding,Referer,Origin,X-Requested-With,Pragma,Cache-Control,Content-Type,Content-Length,Cookie,X-Forwarded-For,Connection',
      Host: `127.0.0.1:${port}`,
      UserAgent: BROWSER['user-agent'],
      XForwardedFor: '198.51.100.7',
      Referer: `http://127.0.0.1:${port}/`,
      Accept: 'text/html,application/xhtml+xml',
      AcceptLanguage: 'en-US,en;q=0.5',
      AcceptEncoding: 'gzip, deflate',
      Origin: `http://127.0.0.1:${port}`,
      XRequestedWith: 'XMLHttpRequest',
      Connection: 'close',
      Pragma: 'no-cache',
      CacheControl: 'no-cache',
      ContentType: 'application/x-www-form-urlencoded',
      RemoteAddr: '127.0.0.1',
    });
    expect(Number(form.RequestTime)).toBeGreaterThanOrEqual(before);
    expect(Number(form.RequestTime)).toBeLessThanOrEqual(Date.now());
  });

  it('gets the protocol Fastify sees in RequestURL (https behind a trusted proxy), and page_load for a GET decided in onRequest', async () => {
    const app = fastify({ trustProxy: true });
    await app.register(vigil, { provider: cheqProvider({ apiKey: API_KEY, tagHash: TAG_HASH, apiEndpoint: cheq.url, timeout: 2000 }), routeToEventType: { '/': 'page_load' } });
    app.get('/', async () => ({ page: true }));
    await app.inject({ method: 'GET', url: '/?utm=1', headers: { ...BROWSER, host: 'shop.example.com', 'x-forwarded-proto': 'https' } });
    const [call] = await cheq.waitForRequests(1);
    expect(call?.body).toMatchObject({ EventType: 'page_load', Method: 'GET', RequestURL: 'https://shop.example.com/?utm=REDACTED' });
  });

  describe.each(['monitoring', 'blocking'] as const)('in %s mode', (mode) => {
    it('appends CHEQ’s setCookie next to the app’s own Set-Cookie on an allowed request', async () => {
      cheq.verdict = { isInvalid: false, threatTypeCode: 0, setCookie: CHEQ_COOKIE };
      const app = await cheqApp({ mode });
      const res = await app.inject({ method: 'POST', url: '/login', payload: { email: 'a@example.com' }, headers: FETCH });
      expect(res.statusCode).toBe(200);
      expect(setCookies(res)).toEqual([CHEQ_COOKIE, DEVICE_COOKIE, 'sid=1; Path=/; HttpOnly']);
    });

    it('appends it on invalid traffic too: with the app’s cookies in monitoring mode, on the 403 in blocking mode', async () => {
      cheq.verdict = { isInvalid: true, threatTypeCode: 3, setCookie: CHEQ_COOKIE };
      const app = await cheqApp({ mode }, (a) => {
        a.addHook('onRequest', async (_request, reply) => {
          reply.header('set-cookie', 'early=1; Path=/');
        });
      });
      const res = await app.inject({ method: 'POST', url: '/login', payload: { email: 'a@example.com' }, headers: FETCH });
      if (mode === 'monitoring') {
        expect(res.statusCode).toBe(200);
        expect(setCookies(res)).toEqual(['early=1; Path=/', CHEQ_COOKIE, DEVICE_COOKIE, 'sid=1; Path=/; HttpOnly']);
      } else {
        expect([res.statusCode, res.json().blocked]).toEqual([403, true]);
        expect(setCookies(res)).toEqual(['early=1; Path=/', CHEQ_COOKIE, DEVICE_COOKIE]);
      }
    });

    it('appends it on a GET page and next to the device cookie', async () => {
      cheq.verdict = { isInvalid: false, threatTypeCode: 0, setCookie: CHEQ_COOKIE };
      const app = await cheqApp({ mode, deviceCookie: true });
      const page = await app.inject({ method: 'GET', url: '/', headers: BROWSER });
      expect(page.json()).toEqual({ page: true, wouldBlock: false });
      const cookies = setCookies(page);
      expect(cookies[0]).toBe(CHEQ_COOKIE);
      expect(cookies[1]).toMatch(/^vigil_did=/);
      const login = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: FETCH });
      expect(setCookies(login).map((c) => c.split('=')[0])).toEqual(['_cheq_rti', 'vigil_did', 'sid']);
    });
  });

  it('has no block lists: the admin operations reject with VigilUnsupportedError', async () => {
    const app = await cheqApp();
    await expect(app.vigil.blockUser('u-1')).rejects.toBeInstanceOf(VigilUnsupportedError);
    await expect(app.vigil.listBlockedUsers()).rejects.toThrow(/listBlockedUsers is not supported by the "cheq" provider/);
  });
});

describe('Castle through Fastify', () => {
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

  async function castleApp(options: Partial<VigilFastifyOptions> = {}, setup?: (app: FastifyInstance) => void | Promise<void>) {
    const app = fastify();
    await app.register(formBodies);
    await app.register(vigil, {
      mode: 'blocking',
      provider: castleProvider({ apiSecret: API_SECRET, baseUrl: castle.url }),
      routes: [
        { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } },
        { method: 'GET', path: '/settings', event: '$profile_update', name: 'settings' },
      ],
      ...options,
    });
    await setup?.(app);
    app.post('/login', async (request) => ({ ok: true, device: request.vigil.device?.id, risk: request.vigil.risk }));
    app.get('/settings', async (request) => ({ settings: true, event: request.vigil.event }));
    return app;
  }

  const decided = () => castle.requests.filter((r) => r.path === '/v1/filter' || r.path === '/v1/risk').map((r) => r.body as Record<string, unknown>);

  it('reads request_token from the castle_request_token form field', async () => {
    const app = await castleApp();
    const res = await app.inject({
      method: 'POST',
      url: '/login',
      payload: 'email=alice%40example.com&password=x&castle_request_token=tok_form',
      headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(res.json()).toEqual({ ok: true, device: 'dev_token_1', risk: 0.1 });
    expect(decided()).toEqual([expect.objectContaining({ type: '$login', status: '$attempted', request_token: 'tok_form', params: { email: 'alice@example.com' } })]);
  });

  it('reads it from the X-Castle-Request-Token header, on a JSON post and on a GET decided before any body', async () => {
    const app = await castleApp();
    await app.inject({ method: 'POST', url: '/login', payload: { email: 'alice@example.com' }, headers: { ...FETCH, 'X-Castle-Request-Token': 'tok_header' } });
    const settings = await app.inject({ method: 'GET', url: '/settings', headers: { ...FETCH, 'x-castle-request-token': 'tok_get' } });
    expect(settings.json()).toEqual({ settings: true, event: '$profile_update' });
    expect(decided().map((b) => b.request_token)).toEqual(['tok_header', 'tok_get']);
    // The body field wins over the header when both are there.
    await app.inject({ method: 'POST', url: '/login', payload: { email: 'a@example.com', castle_request_token: 'tok_body' }, headers: { ...FETCH, 'x-castle-request-token': 'tok_header' } });
    expect(decided().at(-1)?.request_token).toBe('tok_body');
  });

  it('without a token, Castle’s 422 (invalid_request_token) is a failover that createVigil’s failover decides, never an error for Fastify’s handler', async () => {
    const errors: string[] = [];
    const onError = (a: FastifyInstance) => {
      a.setErrorHandler((error, _request, reply) => {
        errors.push((error as Error).name);
        return reply.code(503).send({ unavailable: true });
      });
    };
    const allowing = await castleApp({}, onError);
    expect((await allowing.inject({ method: 'POST', url: '/login', payload: { email: 'a@example.com' }, headers: FETCH })).statusCode).toBe(200);
    const denying = await castleApp({ failover: 'deny' }, onError);
    expect((await denying.inject({ method: 'POST', url: '/login', payload: { email: 'a@example.com' }, headers: FETCH })).statusCode).toBe(403);
    expect(errors).toEqual([]);
    const monitoring = await castleApp({ mode: 'monitoring', failover: 'deny' });
    expect((await monitoring.inject({ method: 'POST', url: '/login', payload: { email: 'a@example.com' }, headers: FETCH })).statusCode).toBe(200);
  });

  it('serves the device operations through fastify.vigil, and has no user block list', async () => {
    const app = await castleApp();
    castle.devices.set('dev_token_1', { user_id: 'u-1' });
    expect(await app.vigil.getDevicesForUser('u-1')).toMatchObject({ total_count: 1, data: [{ token: 'dev_token_1', user_id: 'u-1' }] });
    await app.vigil.approveDevice('dev_token_1');
    await app.vigil.reportDevice('dev_token_1');
    expect(castle.devices.get('dev_token_1')).toMatchObject({ approved_at: expect.any(String), escalated_at: expect.any(String) });
    await expect(app.vigil.blockUser('u-1')).rejects.toBeInstanceOf(VigilUnsupportedError);
  });
});

describe('webhooks: fastify.vigil.verifyWebhook', () => {
  const SECRET = 'castle-api-secret';
  const sign = (body: string | Buffer) => createHmac('sha256', SECRET).update(body).digest('base64');
  const EVENT = JSON.stringify({ type: '$incident.confirmed', data: { user_id: 'u-1' } });

  /** The README's recipe: a buffer parser scoped to the webhook routes; the rest of the app parses JSON as usual. */
  async function webhookApp() {
    const received: unknown[] = [];
    const app = fastify();
    await app.register(vigil, {});
    await app.register(async (webhooks) => {
      webhooks.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
      webhooks.post('/webhooks/castle', async (request, reply) => {
        try {
          app.vigil.verifyWebhook(request, SECRET);
        } catch (error) {
          if (error instanceof WebhookVerificationError) return reply.code(400).send({ error: error.message });
          throw error;
        }
        received.push(JSON.parse((request.body as Buffer).toString('utf8')));
        return reply.code(204).send();
      });
    });
    app.post('/parsed', async (request, reply) => {
      try {
        app.vigil.verifyWebhook(request, SECRET);
        return { verified: true };
      } catch (error) {
        return reply.code(400).send({ error: (error as Error).message, body: request.body });
      }
    });
    return { app, received };
  }

  it('accepts a correctly signed raw body and rejects a tampered one or a missing signature', async () => {
    const { app, received } = await webhookApp();
    const post = (payload: string, signature?: string) =>
      app.inject({ method: 'POST', url: '/webhooks/castle', payload, headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'x-castle-signature': signature }) } });
    expect((await post(EVENT, sign(EVENT))).statusCode).toBe(204);
    expect(received).toEqual([JSON.parse(EVENT)]);

    const tampered = await post(EVENT.replace('u-1', 'u-2'), sign(EVENT));
    expect([tampered.statusCode, tampered.json()]).toEqual([400, { error: 'the webhook signature does not match' }]);
    const unsigned = await post(EVENT);
    expect([unsigned.statusCode, unsigned.json()]).toEqual([400, { error: 'the webhook has no signature' }]);
    // Whitespace changes the bytes: a re-serialized body would not match either.
    expect((await post(JSON.stringify(JSON.parse(EVENT), null, 2), sign(EVENT))).statusCode).toBe(400);
    expect(received).toHaveLength(1);
  });

  it('explains a parsed body, while routes outside the webhook scope keep Fastify’s JSON parser', async () => {
    const { app } = await webhookApp();
    const res = await app.inject({ method: 'POST', url: '/parsed', payload: EVENT, headers: { 'content-type': 'application/json', 'x-castle-signature': sign(EVENT) } });
    expect(res.statusCode).toBe(400);
    expect(res.json().body).toEqual(JSON.parse(EVENT));
    expect(res.json().error).toMatch(/parsed.*parseAs: "buffer"/);
  });

  it('takes request.rawBody when a parser keeps it next to the parsed body (fastify-raw-body’s way)', async () => {
    const app = fastify();
    await app.register(vigil, {});
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      (request as unknown as { rawBody: string }).rawBody = body as string;
      done(null, JSON.parse(body as string));
    });
    app.post('/webhooks/castle', async (request) => {
      app.vigil.verifyWebhook(request, SECRET);
      return { type: (request.body as { type: string }).type };
    });
    const ok = await app.inject({ method: 'POST', url: '/webhooks/castle', payload: EVENT, headers: { 'content-type': 'application/json', 'x-castle-signature': sign(EVENT) } });
    expect(ok.json()).toEqual({ type: '$incident.confirmed' });
    const bad = await app.inject({ method: 'POST', url: '/webhooks/castle', payload: EVENT, headers: { 'content-type': 'application/json', 'x-castle-signature': sign('{}') } });
    expect(bad.statusCode).toBe(500);
  });
});
