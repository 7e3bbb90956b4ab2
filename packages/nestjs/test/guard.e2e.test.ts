import { Body, Controller, ForbiddenException, Get, HttpCode, Inject, type INestApplication, Post, Res, UnauthorizedException } from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import type { Decision } from '@vigil/core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Protect, SkipVigil, type VigilChallengeContext, VigilDecision, VigilGuard, VigilModule, type VigilModuleOptions } from '../src/index.js';
import { BROWSER_ACCEPT, createApp, DEVICE_COOKIE, PLATFORMS, recordingProvider, summary, waitFor } from './helpers.js';

const order: string[] = [];

@Controller()
class AuthController {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  @Post('login')
  @HttpCode(200)
  @Protect('$login', { user: { email: 'body.email' } })
  login(@Body() body: { password?: string }, @VigilDecision() decision: Decision) {
    order.push('handler');
    if (body.password !== 'right') throw new UnauthorizedException({ ok: false });
    return { ok: true, decision: summary(decision) };
  }

  @Get('open')
  open(@VigilDecision() decision: Decision) {
    return { ok: true, decision: summary(decision), reasons: decision?.reasons };
  }

  @Post('configured')
  @HttpCode(200)
  configured(@VigilDecision() decision: Decision) {
    return { decision: summary(decision) };
  }

  @Post('excluded/login')
  @HttpCode(200)
  @Protect('$login')
  excluded(@VigilDecision() decision: Decision) {
    return { decision: summary(decision), reasons: decision?.reasons };
  }

  @Post('cookie')
  @HttpCode(200)
  @Protect('$login')
  cookie(@Res({ passthrough: true }) response: unknown) {
    this.adapterHost.httpAdapter.appendHeader(response, 'set-cookie', 'app=1; Path=/');
    return { ok: true };
  }
}

@Controller('class')
@Protect('$registration', { name: 'class-route' })
class ClassProtectedController {
  @Post('inherit')
  @HttpCode(200)
  inherit(@VigilDecision() decision: Decision) {
    return { decision: summary(decision) };
  }

  @Post('override')
  @HttpCode(200)
  @Protect('$password_reset_request')
  override(@VigilDecision() decision: Decision) {
    return { decision: summary(decision) };
  }

  @Post('skip')
  @HttpCode(200)
  @SkipVigil()
  skip(@VigilDecision() decision: Decision) {
    return { decision: summary(decision) };
  }
}

@Controller('skipped')
@SkipVigil()
class SkippedController {
  @Post('configured')
  @HttpCode(200)
  configured(@VigilDecision() decision: Decision) {
    return { decision: summary(decision) };
  }

  @Post('unskipped')
  @HttpCode(200)
  @SkipVigil(false)
  @Protect('$login')
  unskipped(@VigilDecision() decision: Decision) {
    return { decision: summary(decision) };
  }
}

// The request picks the app's answer to a challenge: `challenge: 'write' | 'throw' |
// 'ignore'`; `captcha: 'passed'` proceeds.
function onChallenge({ request, decision, proceed, raw }: VigilChallengeContext) {
  const body = request.body as { challenge?: string; captcha?: string };
  if (body?.captcha === 'passed') return proceed();
  if (body?.challenge === 'throw') throw new ForbiddenException({ challenge: 'captcha', via: 'exception' });
  if (body?.challenge === 'ignore') return undefined;
  // Express's Response and Fastify's Reply both have status(), header() and send().
  return raw.response
    .status(403)
    .header('content-type', 'application/json; charset=utf-8')
    .send(JSON.stringify({ challenge: 'captcha', requestId: decision.requestId }));
}

function appModule(options: VigilModuleOptions) {
  return {
    imports: [VigilModule.forRoot(options)],
    controllers: [AuthController, ClassProtectedController, SkippedController],
    providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
  };
}

const BASE: VigilModuleOptions = {
  routes: [{ method: 'POST', path: '/configured', event: '$login' }],
  uriExclusion: ['/excluded'],
  timeout: 100,
  onChallenge,
};

describe.each(PLATFORMS)('VigilGuard on %s', (platform) => {
  const blockingProvider = recordingProvider();
  const monitoringProvider = recordingProvider();
  const redirectProvider = recordingProvider();
  let blocking: INestApplication;
  let monitoring: INestApplication;
  let redirecting: INestApplication;

  beforeAll(async () => {
    blocking = await createApp(platform, appModule({ ...BASE, mode: 'blocking', failover: 'deny', provider: blockingProvider }));
    monitoring = await createApp(platform, appModule({ ...BASE, mode: 'monitoring', provider: monitoringProvider }));
    redirecting = await createApp(platform, appModule({ ...BASE, mode: 'blocking', redirectUrl: '/blocked', redirectStatus: 303, provider: redirectProvider }));
  });
  afterAll(async () => {
    await Promise.all([blocking?.close(), monitoring?.close(), redirecting?.close()]);
  });

  it('leaves an unprotected route untouched: no provider call, an unprotected decision', async () => {
    const before = blockingProvider.attempts.length;
    const res = await request(blocking.getHttpServer()).get('/open').set('x-test-risk', '1');
    expect(res.status).toBe(200);
    expect(res.body.decision).toMatchObject({ protected: false, action: 'allow' });
    expect(res.body.reasons).toEqual(['not a protected route']);
    expect(blockingProvider.attempts.length).toBe(before);
  });

  // issue 12 review: uriExclusion reads text the client controls; a handler with
  // @Protect() is the app's choice, and @SkipVigil() is the way to leave one alone.
  it('decides a @Protect() handler even where uriExclusion matches', async () => {
    const before = blockingProvider.attempts.length;
    const res = await request(blocking.getHttpServer()).post('/excluded/login').set('x-test-risk', '1').send({});
    expect(res.status).toBe(403);
    expect(blockingProvider.attempts.length).toBe(before + 1);
  });

  it('protects a route of the configured list without @Protect() (global guard)', async () => {
    const res = await request(blocking.getHttpServer()).post('/configured').send({});
    expect(res.status).toBe(200);
    expect(res.body.decision).toMatchObject({ protected: true, event: '$login', route: '/configured', action: 'allow' });
  });

  it('reads @Protect() handler over controller, and applies the controller one to the others', async () => {
    const inherit = await request(blocking.getHttpServer()).post('/class/inherit').send({});
    expect(inherit.body.decision).toMatchObject({ event: '$registration', route: 'class-route' });
    const override = await request(blocking.getHttpServer()).post('/class/override').send({});
    expect(override.body.decision).toMatchObject({ event: '$password_reset_request', route: '$password_reset_request' });
  });

  it('skips a handler with @SkipVigil(), and a whole controller, even routes of the configured list', async () => {
    const before = blockingProvider.attempts.length;
    const handler = await request(blocking.getHttpServer()).post('/class/skip').set('x-test-risk', '1').send({});
    expect(handler.status).toBe(200);
    expect(handler.body.decision).toBeNull();
    const controller = await request(blocking.getHttpServer()).post('/skipped/configured').set('x-test-risk', '1').send({});
    expect(controller.status).toBe(200);
    expect(controller.body.decision).toBeNull();
    expect(blockingProvider.attempts.length).toBe(before);
    const unskipped = await request(blocking.getHttpServer()).post('/skipped/unskipped').send({});
    expect(unskipped.body.decision).toMatchObject({ protected: true, event: '$login' });
  });

  it('puts the decision on the request for the handler, and reads user fields from the body', async () => {
    const res = await request(blocking.getHttpServer()).post('/login').send({ email: 'alice@example.com', password: 'right' });
    expect(res.status).toBe(200);
    expect(res.body.decision).toMatchObject({ protected: true, event: '$login', action: 'allow' });
    expect(blockingProvider.attempts.at(-1)?.user).toEqual({ email: 'alice@example.com' });
  });

  it('in monitoring mode never blocks, but exposes wouldBlock', async () => {
    const res = await request(monitoring.getHttpServer()).post('/login').set('x-test-risk', '0.95').send({ password: 'right' });
    expect(res.status).toBe(200);
    expect(res.body.decision).toMatchObject({ action: 'allow', wouldAction: 'block', wouldBlock: true });
  });

  it('in blocking mode answers 403 JSON to an API client, without running the handler', async () => {
    order.length = 0;
    const res = await request(blocking.getHttpServer()).post('/login').set('accept', 'application/json').set('x-test-risk', '0.95').send({ password: 'right' });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ blocked: true, message: 'Request blocked' });
    expect(res.body.requestId).toEqual(expect.any(String));
    expect(order).toEqual([]);
  });

  it('in blocking mode answers 403 HTML to a browser', async () => {
    const res = await request(blocking.getHttpServer()).post('/login').set('accept', BROWSER_ACCEPT).set('x-test-risk', '0.95').type('form').send({ password: 'right' });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('<h1>Request blocked</h1>');
  });

  it('redirects through the platform when redirectUrl is set', async () => {
    const res = await request(redirecting.getHttpServer()).post('/login').set('x-test-risk', '0.95').send({ password: 'right' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/blocked');
  });

  it('hands a challenge to onChallenge, which answers through the platform response', async () => {
    order.length = 0;
    const res = await request(blocking.getHttpServer()).post('/login').set('x-test-risk', '0.7').send({ password: 'right' });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ challenge: 'captcha', requestId: expect.any(String) });
    expect(order).toEqual([]);
  });

  it('lets a challenged request through once onChallenge proceeds', async () => {
    const res = await request(blocking.getHttpServer()).post('/login').set('x-test-risk', '0.7').send({ password: 'right', captcha: 'passed' });
    expect(res.status).toBe(200);
    expect(res.body.decision).toMatchObject({ action: 'challenge', protected: true });
  });

  it('sends an HttpException thrown by onChallenge through Nest', async () => {
    const res = await request(blocking.getHttpServer()).post('/login').set('x-test-risk', '0.7').send({ challenge: 'throw' });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ challenge: 'captcha', via: 'exception' });
  });

  it('answers with the block response when onChallenge neither answers nor proceeds', async () => {
    const res = await request(blocking.getHttpServer()).post('/login').set('x-test-risk', '0.7').send({ challenge: 'ignore' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ blocked: true });
  });

  it('fails over when the provider times out: deny blocks, allow lets through and says why', async () => {
    const started = Date.now();
    const denied = await request(blocking.getHttpServer()).post('/login').set('x-test-risk', 'hang').send({ password: 'right' });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ blocked: true });
    const allowed = await request(monitoring.getHttpServer()).post('/login').set('x-test-risk', 'hang').send({ password: 'right' });
    expect(allowed.status).toBe(200);
    expect(allowed.body.decision).toMatchObject({ action: 'allow', failover: true, failoverReason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('logs the outcome after the response, with the final status (also one an exception filter wrote)', async () => {
    order.length = 0;
    const logs = monitoringProvider.logs;
    const before = logs.length;
    monitoringProvider.order.length = 0;
    const failed = await request(monitoring.getHttpServer()).post('/login').send({ email: 'a@example.com', password: 'wrong' });
    expect(failed.status).toBe(401);
    await waitFor(() => logs.length === before + 1);
    expect(logs.at(-1)).toMatchObject({ type: '$login', status: '$failed', responseStatus: 401 });
    const succeeded = await request(monitoring.getHttpServer()).post('/login').send({ email: 'a@example.com', password: 'right' });
    expect(succeeded.status).toBe(200);
    await waitFor(() => logs.length === before + 2);
    expect(logs.at(-1)).toMatchObject({ type: '$login', status: '$succeeded', responseStatus: 200 });
    expect(logs.at(-1)?.requestId).toBe(monitoringProvider.attempts.at(-1)?.requestId);
    expect([...order, ...monitoringProvider.order]).toEqual(['handler', 'handler', 'log 401', 'log 200']);
  });

  it('logs no outcome for a request Vigil answered itself', async () => {
    const before = blockingProvider.logs.length;
    await request(blocking.getHttpServer()).post('/login').set('x-test-risk', '0.95').send({ password: 'right' });
    await request(blocking.getHttpServer()).get('/open');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(blockingProvider.logs.length).toBe(before);
  });

  it("appends the verdict's response headers to the app's own, on allowed and blocked answers", async () => {
    const allowed = await request(blocking.getHttpServer()).post('/cookie').set('x-test-set', 'vigil_device=abc; Path=/').send({});
    expect(allowed.status).toBe(200);
    // The verdict's cookie, then Vigil's own device cookie, then the handler's.
    expect(allowed.headers['set-cookie']).toEqual(['vigil_device=abc; Path=/', DEVICE_COOKIE, 'app=1; Path=/']);
    const blocked = await request(blocking.getHttpServer()).post('/cookie').set('x-test-set', 'vigil_device=abc; Path=/').set('x-test-risk', '0.95').send({});
    expect(blocked.status).toBe(403);
    expect(blocked.headers['set-cookie']).toEqual(['vigil_device=abc; Path=/', DEVICE_COOKIE]);
  });
});

describe.each(PLATFORMS)('the device cookie, on by default, through VigilGuard on %s (issue 13)', (platform) => {
  const blockingProvider = recordingProvider();
  let blocking: INestApplication;
  let monitoring: INestApplication;
  let redirecting: INestApplication;
  let off: INestApplication;

  beforeAll(async () => {
    // No deviceCookie option: the default.
    blocking = await createApp(platform, appModule({ ...BASE, mode: 'blocking', failover: 'deny', provider: blockingProvider }));
    monitoring = await createApp(platform, appModule({ ...BASE, mode: 'monitoring', provider: recordingProvider() }));
    redirecting = await createApp(platform, appModule({ ...BASE, mode: 'blocking', redirectUrl: '/blocked', redirectStatus: 303, provider: recordingProvider() }));
    off = await createApp(platform, appModule({ ...BASE, mode: 'blocking', provider: recordingProvider(), deviceCookie: false }));
  });
  afterAll(async () => {
    await Promise.all([blocking?.close(), monitoring?.close(), redirecting?.close(), off?.close()]);
  });

  const post = (app: INestApplication, path: string, risk: string, body: Record<string, unknown> = {}, cookie?: string) => {
    const req = request(app.getHttpServer()).post(path).set('accept', 'application/json').set('x-test-risk', risk);
    return (cookie ? req.set('cookie', cookie) : req).send(body);
  };
  const cookiesOf = (res: { headers: Record<string, unknown> }) => [res.headers['set-cookie'] ?? []].flat();

  it('blocking mode: allowed, refused by the handler, blocked, redirected, challenged (each way onChallenge answers), failed over: exactly one each time', async () => {
    const cases: [string, Promise<request.Response>, number, unknown[]][] = [
      ['allowed, with the handler’s cookie', post(blocking, '/cookie', '0'), 200, [DEVICE_COOKIE, 'app=1; Path=/']],
      ['allowed', post(blocking, '/login', '0', { password: 'right' }), 200, [DEVICE_COOKIE]],
      ['refused by the handler (an exception filter writes the 401)', post(blocking, '/login', '0', { password: 'wrong' }), 401, [DEVICE_COOKIE]],
      ['blocked', post(blocking, '/login', '0.95', { password: 'right' }), 403, [DEVICE_COOKIE]],
      ['challenged: onChallenge answers', post(blocking, '/login', '0.7', { password: 'right' }), 403, [DEVICE_COOKIE]],
      ['challenged: onChallenge proceeds', post(blocking, '/login', '0.7', { password: 'right', captcha: 'passed' }), 200, [DEVICE_COOKIE]],
      ['challenged: onChallenge throws an HttpException', post(blocking, '/login', '0.7', { challenge: 'throw' }), 403, [DEVICE_COOKIE]],
      ['challenged: onChallenge neither answers nor proceeds', post(blocking, '/login', '0.7', { challenge: 'ignore' }), 403, [DEVICE_COOKIE]],
      ['failed over (deny)', post(blocking, '/login', 'hang', { password: 'right' }), 403, [DEVICE_COOKIE]],
      ['redirected', post(redirecting, '/login', '0.95', { password: 'right' }), 303, [DEVICE_COOKIE]],
      ['a route of the routes list', post(blocking, '/configured', '0'), 200, [DEVICE_COOKIE]],
      ['a class-level @Protect()', post(blocking, '/class/inherit', '0'), 200, [DEVICE_COOKIE]],
      ['a @Protect() route under uriExclusion (the framework chose it)', post(blocking, '/excluded/login', '0'), 200, [DEVICE_COOKIE]],
    ];
    for (const [what, pending, status, cookies] of cases) {
      const res = await pending;
      expect([what, res.status, cookiesOf(res)]).toEqual([what, status, cookies]);
    }
  });

  it('monitoring mode: every request goes on to the handler, with the cookie, whatever would have happened', async () => {
    for (const risk of ['0', '0.7', '0.95']) {
      const res = await post(monitoring, '/login', risk, { password: 'right' });
      expect([risk, res.status, cookiesOf(res)]).toEqual([risk, 200, [DEVICE_COOKIE]]);
    }
  });

  it('none where the guard leaves the request alone, none for a returning device, a new one for a forged cookie', async () => {
    expect(cookiesOf(await request(blocking.getHttpServer()).get('/open'))).toEqual([]);
    for (const path of ['/class/skip', '/skipped/configured', '/nowhere']) {
      expect([path, cookiesOf(await post(blocking, path, '0'))]).toEqual([path, []]);
    }
    const first = await post(blocking, '/login', '0', { password: 'right' });
    const cookie = (cookiesOf(first)[0] as string).split(';')[0] as string;
    expect(cookiesOf(await post(blocking, '/cookie', '0', {}, `a=1; ${cookie}`))).toEqual(['app=1; Path=/']);
    expect(cookiesOf(await post(blocking, '/login', '0.95', {}, cookie))).toEqual([]);
    const forged = await post(blocking, '/login', '0', { password: 'right' }, `${cookie.slice(0, -2)}xx`);
    expect(cookiesOf(forged)).toEqual([DEVICE_COOKIE]);
    expect(cookiesOf(forged)[0]).not.toContain(cookie);
  });

  it('deviceCookie: false: none in any outcome', async () => {
    expect(cookiesOf(await post(off, '/cookie', '0'))).toEqual(['app=1; Path=/']);
    expect(cookiesOf(await post(off, '/login', '0.95'))).toEqual([]);
    expect(cookiesOf(await post(off, '/login', '0.7', { password: 'right' }))).toEqual([]);
  });

  it('the provider gets the id, with deviceFresh on a first visit (decision and logged outcome), never the cookie', async () => {
    const attempts = blockingProvider.attempts.length;
    const logs = blockingProvider.logs.length;
    const first = await post(blocking, '/login', '0', { password: 'right' });
    const cookie = (cookiesOf(first)[0] as string).split(';')[0] as string;
    const [id, signature] = cookie.slice('vigil_did='.length).split('.') as [string, string];
    await post(blocking, '/login', '0', { password: 'wrong' }, cookie).expect(401);
    await waitFor(() => blockingProvider.logs.length >= logs + 2);
    const decided = blockingProvider.attempts.slice(attempts);
    const logged = blockingProvider.logs.slice(logs);
    expect(decided.map((e) => [e.deviceId, e.deviceFresh])).toEqual([
      [id, true],
      [id, undefined],
    ]);
    expect(logged.map((e) => [e.status, e.deviceId, e.deviceFresh])).toEqual([
      ['$succeeded', id, true],
      ['$failed', id, undefined],
    ]);
    const seen = JSON.stringify([decided, logged]);
    expect(seen).not.toContain(signature);
    expect(seen).not.toContain('vigil_did');
  });
});
