import { Body, Controller, ForbiddenException, Get, HttpCode, Inject, type INestApplication, Post, Res, UnauthorizedException } from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import type { Decision } from '@vigil/core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Protect, SkipVigil, type VigilChallengeContext, VigilDecision, VigilGuard, VigilModule, type VigilModuleOptions } from '../src/index.js';
import { BROWSER_ACCEPT, createApp, PLATFORMS, recordingProvider, summary, waitFor } from './helpers.js';

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
    expect(allowed.headers['set-cookie']).toEqual(['vigil_device=abc; Path=/', 'app=1; Path=/']);
    const blocked = await request(blocking.getHttpServer()).post('/cookie').set('x-test-set', 'vigil_device=abc; Path=/').set('x-test-risk', '0.95').send({});
    expect(blocked.status).toBe(403);
    expect(blocked.headers['set-cookie']).toEqual(['vigil_device=abc; Path=/']);
  });
});
