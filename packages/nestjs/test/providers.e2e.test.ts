import { createHmac } from 'node:crypto';
import { type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import {
  Body,
  Controller,
  Header,
  HttpCode,
  Inject,
  type INestApplication,
  type MiddlewareConsumer,
  Module,
  type NestModule,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { castleProvider, cheqProvider } from '@vigil/core';
import { startFakeCastle, startFakeCheq } from '@vigil/core/testing';
import request from 'supertest';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Protect, SkipVigil, VigilDecision, VigilGuard, type VigilHandle, VigilModule, type VigilModuleOptions, VigilService } from '../src/index.js';
import { createApp, DEVICE_COOKIE, FIREFOX, PLATFORMS, setCookies } from './helpers.js';

const JSON_ACCEPT = 'application/json';

// ---------------------------------------------------------------------------------
// CHEQ

const API_KEY = 'cheq-api-key-0123';
const TAG_HASH = 'tag-hash-4567';
const CHEQ_COOKIE = '_cheq_rti=fresh-rti-value; Path=/; Max-Age=31536000; SameSite=Lax';
const MIDDLEWARE_COOKIE = 'mw=1; Path=/';
const APP_COOKIE = 'app=1; Path=/';

// A middleware of the app that sets a cookie before Vigil's guard runs: on Fastify, Nest
// middleware writes to the raw response, under the reply's headers.
function cookieMiddleware(_req: unknown, res: { setHeader(name: string, value: string[]): void }, next: () => void) {
  res.setHeader('Set-Cookie', [MIDDLEWARE_COOKIE]);
  next();
}

@Controller()
class CheqController {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  @Post('login')
  @HttpCode(200)
  @Protect('$login', { user: { email: 'body.email' } })
  login(@Res({ passthrough: true }) res: object, @VigilDecision() vigil: VigilHandle) {
    this.adapterHost.httpAdapter.appendHeader(res, 'set-cookie', APP_COOKIE);
    return { action: vigil.action, wouldAction: vigil.wouldAction, threatCode: vigil.threatCode ?? null };
  }

  @Post('decorated')
  @HttpCode(200)
  @Protect('$login')
  @Header('Set-Cookie', 'decorated=1; Path=/')
  decorated() {
    return { ok: true };
  }
}

function cheqModule(options: VigilModuleOptions) {
  @Module({
    imports: [VigilModule.forRoot(options)],
    controllers: [CheqController],
    providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
  })
  class CheqAppModule implements NestModule {
    configure(consumer: MiddlewareConsumer) {
      consumer.apply(cookieMiddleware).forRoutes(CheqController);
    }
  }
  return CheqAppModule;
}

/** Sends a request with node:http: header names go out in this order and case. */
function rawRequest(url: string, method: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(PLATFORMS)('CHEQ through Nest on %s', (platform) => {
  let cheq: Awaited<ReturnType<typeof startFakeCheq>>;
  let monitoring: INestApplication;
  let blocking: INestApplication;
  let monitoringUrl: string;

  beforeAll(async () => {
    cheq = await startFakeCheq(API_KEY, TAG_HASH);
    const provider = () => cheqProvider({ apiKey: API_KEY, tagHash: TAG_HASH, apiEndpoint: cheq.origin, timeout: 1000 });
    monitoring = await createApp(platform, { imports: [cheqModule({ mode: 'monitoring', provider: provider(), getChannel: () => 'web' })] }, false, { trustProxy: true });
    blocking = await createApp(platform, { imports: [cheqModule({ mode: 'blocking', provider: provider() })] });
    await monitoring.listen(0, '127.0.0.1');
    monitoringUrl = await monitoring.getUrl();
  });
  afterAll(async () => {
    await Promise.all([monitoring?.close(), blocking?.close()]);
    await cheq?.close();
  });
  beforeEach(() => cheq.reset());

  it("sends every field of CHEQ's list, with the header names in the order and case the client sent them", async () => {
    const body = JSON.stringify({ email: 'a@example.com' });
    const headers: Record<string, string> = {
      Host: 'shop.example',
      'user-AGENT': FIREFOX['user-agent'],
      Accept: 'application/json',
      'Accept-language': 'en-US,en;q=0.5',
      'accept-encoding': 'gzip, br',
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(body)),
      Referer: 'https://shop.example/login',
      ORIGIN: 'https://shop.example',
      'X-Requested-With': 'XMLHttpRequest',
      Pragma: 'no-cache',
      'Cache-Control': 'no-cache',
      Cookie: 'other=1; _cheq_rti=rti%20value%3D1',
      'X-Forwarded-For': '198.51.100.7',
      'x-forwarded-PROTO': 'https',
      'True-Client-IP': '198.51.100.7',
      'X-Real-IP': '198.51.100.7',
      Forwarded: 'for=198.51.100.7;proto=https',
      'x-Custom-HEADER': 'kept in HeaderNames only',
      Connection: 'close',
    };
    const before = Date.now();
    const res = await rawRequest(monitoringUrl, 'POST', '/login?next=%2Fhome', headers, body);
    expect(res.status).toBe(200);
    const [call] = await cheq.waitForRequests(1);
    expect(call?.path).toBe('/v1/realtime-interception');
    expect(call?.body).toEqual({
      ApiKey: API_KEY,
      TagHash: TAG_HASH,
      EventType: 'login',
      ClientIP: '198.51.100.7',
      // The platform's protocol (X-Forwarded-Proto from the trusted loopback proxy), the Host, the target as sent.
      // Query values are redacted unless cheqProvider's sendQueryValues is set.
      RequestURL: 'https://shop.example/login?next=REDACTED',
      Method: 'POST',
      ResourceType: 'text/html',
      CheqCookie: 'rti value=1',
      RequestTime: expect.stringMatching(/^\d{13}$/),
      HeaderNames: Object.keys(headers).join(','),
      Host: 'shop.example',
      UserAgent: FIREFOX['user-agent'],
      Accept: 'application/json',
      AcceptLanguage: 'en-US,en;q=0.5',
      AcceptEncoding: 'gzip, br',
      ContentType: 'application/json',
      Referer: 'https://shop.example/login',
      Origin: 'https://shop.example',
      XRequestedWith: 'XMLHttpRequest',
      Pragma: 'no-cache',
      CacheControl: 'no-cache',
      Connection: 'close',
      XForwardedFor: '198.51.100.7',
      TrueClientIP: '198.51.100.7',
      XRealIP: '198.51.100.7',
      Forwarded: 'for=198.51.100.7;proto=https',
      RemoteAddr: '127.0.0.1',
      Channel: 'web',
    });
    const requestTime = Number((call?.body as { RequestTime?: string } | undefined)?.RequestTime);
    expect(requestTime).toBeGreaterThanOrEqual(before);
    expect(requestTime).toBeLessThanOrEqual(Date.now());
  });

  it('takes the protocol from the platform: http without a trusted proxy saying otherwise', async () => {
    await request(blocking.getHttpServer()).post('/login').set(FIREFOX).set('host', 'shop.example').set('x-forwarded-proto', 'https').send({});
    const [call] = await cheq.waitForRequests(1);
    expect((call?.body as { RequestURL?: string } | undefined)?.RequestURL).toBe('http://shop.example/login');
  });

  it("appends CHEQ's setCookie next to the app's own Set-Cookie in monitoring mode, valid or invalid traffic", async () => {
    cheq.verdict = { isInvalid: false, threatTypeCode: 0, setCookie: CHEQ_COOKIE };
    const valid = await request(monitoring.getHttpServer()).post('/login').set(FIREFOX).send({});
    expect([valid.status, valid.body.action]).toEqual([200, 'allow']);
    // CHEQ's cookie, then Vigil's own device cookie, between the middleware's and the handler's.
    expect(setCookies(valid)).toEqual([MIDDLEWARE_COOKIE, CHEQ_COOKIE, DEVICE_COOKIE, APP_COOKIE]);
    cheq.verdict = { isInvalid: true, threatTypeCode: 2, setCookie: CHEQ_COOKIE };
    const invalid = await request(monitoring.getHttpServer()).post('/login').set(FIREFOX).send({});
    expect(invalid.status).toBe(200);
    expect(invalid.body).toEqual({ action: 'allow', wouldAction: 'block', threatCode: 2 });
    expect(setCookies(invalid)).toEqual([MIDDLEWARE_COOKIE, CHEQ_COOKIE, DEVICE_COOKIE, APP_COOKIE]);
  });

  it("appends CHEQ's setCookie in blocking mode, on allowed answers and on the block", async () => {
    cheq.verdict = { isInvalid: false, threatTypeCode: 0, setCookie: CHEQ_COOKIE };
    const valid = await request(blocking.getHttpServer()).post('/login').set(FIREFOX).send({});
    expect(valid.status).toBe(200);
    expect(setCookies(valid)).toEqual([MIDDLEWARE_COOKIE, CHEQ_COOKIE, DEVICE_COOKIE, APP_COOKIE]);
    cheq.verdict = { isInvalid: true, threatTypeCode: 2, setCookie: CHEQ_COOKIE };
    const blocked = await request(blocking.getHttpServer()).post('/login').set(FIREFOX).set('accept', JSON_ACCEPT).send({});
    expect(blocked.status).toBe(403);
    expect(blocked.body).toMatchObject({ blocked: true });
    // The handler never ran: its cookie is not there; the middleware's, CHEQ's and Vigil's are.
    expect(setCookies(blocked)).toEqual([MIDDLEWARE_COOKIE, CHEQ_COOKIE, DEVICE_COOKIE]);
  });

  it("keeps CHEQ's cookie when a handler's @Header('Set-Cookie') would replace it", async () => {
    cheq.verdict = { isInvalid: false, threatTypeCode: 0, setCookie: CHEQ_COOKIE };
    const res = await request(blocking.getHttpServer()).post('/decorated').set(FIREFOX).send({});
    expect(res.status).toBe(200);
    expect(setCookies(res)).toEqual(expect.arrayContaining([CHEQ_COOKIE, DEVICE_COOKIE, 'decorated=1; Path=/']));
  });
});

// ---------------------------------------------------------------------------------
// Castle

const CASTLE_SECRET = 'castle-api-secret-0123';

@Controller()
class CastleController {
  @Post('login')
  @HttpCode(200)
  @Protect('$login', { user: { email: 'body.email' } })
  login(@VigilDecision() vigil: VigilHandle) {
    return { action: vigil.action, device: vigil.device ?? null };
  }

  // A user id from a cookie, with no cookie parser registered.
  @Post('profile')
  @HttpCode(200)
  @Protect('$profile_update', { user: { id: 'cookies.uid' } })
  profile(@VigilDecision() vigil: VigilHandle) {
    return { action: vigil.action };
  }
}

describe.each(PLATFORMS)('Castle through Nest on %s', (platform) => {
  let castle: Awaited<ReturnType<typeof startFakeCastle>>;
  let app: INestApplication;

  beforeAll(async () => {
    castle = await startFakeCastle(CASTLE_SECRET);
    app = await createApp(platform, {
      imports: [VigilModule.forRoot({ mode: 'blocking', provider: castleProvider({ apiSecret: CASTLE_SECRET, baseUrl: castle.url }) })],
      controllers: [CastleController],
      providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
    });
  });
  afterAll(async () => {
    await app?.close();
    await castle?.close();
  });
  beforeEach(() => castle.reset());

  // The decision's call (outcomes go to /v1/log after the response, maybe after a reset).
  const decisionCall = async () => {
    for (let count = 1; ; count++) {
      const found = (await castle.waitForRequests(count)).find((r) => r.path !== '/v1/log');
      if (found) return found;
    }
  };
  const tokenSent = async () => ((await decisionCall()).body as { request_token?: string }).request_token;

  it('sends the request token of the castle_request_token body field (JSON)', async () => {
    const res = await request(app.getHttpServer()).post('/login').set(FIREFOX).send({ email: 'a@example.com', castle_request_token: 'tok-json' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ action: 'allow', device: { id: 'dev_token_1' } });
    expect(await tokenSent()).toBe('tok-json');
    expect((await decisionCall()).path).toBe('/v1/filter');
  });

  it('sends the request token of the castle_request_token body field (form)', async () => {
    const res = await request(app.getHttpServer()).post('/login').set(FIREFOX).type('form').send({ email: 'a@example.com', castle_request_token: 'tok-form' });
    expect(res.status).toBe(200);
    expect(await tokenSent()).toBe('tok-form');
  });

  it('sends the request token of the X-Castle-Request-Token header; the body field wins over it', async () => {
    const res = await request(app.getHttpServer()).post('/login').set(FIREFOX).set('X-Castle-Request-Token', 'tok-header').send({ email: 'a@example.com' });
    expect(res.status).toBe(200);
    expect(await tokenSent()).toBe('tok-header');
    castle.reset();
    await request(app.getHttpServer()).post('/login').set(FIREFOX).set('X-Castle-Request-Token', 'tok-header').send({ castle_request_token: 'tok-body' });
    expect(await tokenSent()).toBe('tok-body');
  });

  it('reads cookies.* user fields from the Cookie header without a cookie parser (/risk with the user id)', async () => {
    const res = await request(app.getHttpServer()).post('/profile').set(FIREFOX).set('cookie', 'a=b; uid=u-7').set('X-Castle-Request-Token', 'tok').send({});
    expect(res.status).toBe(200);
    const call = await decisionCall();
    expect(call.path).toBe('/v1/risk');
    expect((call.body as { user: unknown }).user).toEqual({ id: 'u-7' });
  });

  it("a deny from Castle's policy blocks with the negotiated response", async () => {
    castle.verdict = { risk: 0.97, action: 'deny' };
    const res = await request(app.getHttpServer()).post('/login').set(FIREFOX).set('accept', 'text/html').send({ castle_request_token: 'tok' });
    expect(res.status).toBe(403);
    expect(res.text).toContain('<h1>Request blocked</h1>');
  });
});

// ---------------------------------------------------------------------------------
// Webhooks

const WEBHOOK_SECRET = 'webhook-secret-0123';
const sign = (body: string, secret = WEBHOOK_SECRET) => createHmac('sha256', secret).update(body).digest('base64');

@Controller('webhooks')
@SkipVigil()
class WebhookController {
  constructor(@Inject(VigilService) private readonly vigil: VigilService) {}

  @Post('castle')
  @HttpCode(200)
  castle(@Req() req: object, @Body() event: { type?: string }) {
    this.vigil.verifyWebhook(req, WEBHOOK_SECRET);
    return { received: event.type };
  }
}

describe.each(PLATFORMS)('verifyWebhook with rawBody: true on %s', (platform) => {
  const warnings: object[] = [];
  let app: INestApplication;
  let withoutRawBody: INestApplication;

  beforeAll(async () => {
    const logger = { warn: (obj: object) => void warnings.push(obj), error: () => {} };
    app = await createApp(platform, { imports: [VigilModule.forRoot({ logger })], controllers: [WebhookController] }, false, { rawBody: true });
    withoutRawBody = await createApp(platform, { imports: [VigilModule.forRoot({ logger })], controllers: [WebhookController] });
  });
  afterAll(async () => {
    await Promise.all([app?.close(), withoutRawBody?.close()]);
  });

  // Spaces and key order a re-serialized body would lose: the signature is over the bytes.
  const body = '{"type":"$incident.confirmed",  "data": {"user_id": "u-1"}}';

  it('accepts a correctly signed body', async () => {
    const res = await request(app.getHttpServer()).post('/webhooks/castle').set('content-type', 'application/json').set('X-Castle-Signature', sign(body)).send(body);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: '$incident.confirmed' });
  });

  it('rejects a tampered body, a wrong secret and a missing signature with 401', async () => {
    const server = app.getHttpServer();
    const tampered = await request(server).post('/webhooks/castle').set('content-type', 'application/json').set('X-Castle-Signature', sign(body)).send(body.replace('u-1', 'u-2'));
    expect(tampered.status).toBe(401);
    expect(tampered.body).toMatchObject({ statusCode: 401, message: 'the webhook signature does not match' });
    const wrongSecret = await request(server).post('/webhooks/castle').set('content-type', 'application/json').set('X-Castle-Signature', sign(body, 'another-secret')).send(body);
    expect(wrongSecret.status).toBe(401);
    const unsigned = await request(server).post('/webhooks/castle').set('content-type', 'application/json').send(body);
    expect(unsigned.status).toBe(401);
    expect(unsigned.body.message).toBe('the webhook has no signature');
  });

  it('without rawBody: true, refuses every webhook and says why, once, in the logs', async () => {
    warnings.length = 0;
    for (let i = 0; i < 2; i++) {
      const res = await request(withoutRawBody.getHttpServer()).post('/webhooks/castle').set('content-type', 'application/json').set('X-Castle-Signature', sign(body)).send(body);
      expect(res.status).toBe(401);
    }
    expect(warnings).toEqual([{ code: 'VIGIL_W_NO_RAW_BODY' }]);
  });
});
