import { VigilProviderError } from '@vigil/core';
import { describe, expect, it } from 'vitest';
import type { FastifyRaw } from '../src/index.js';
import { API, BROWSER, DEVICE_COOKIE, eventually, LOGIN_ROUTE, loginApp, recordingProvider } from './helpers.js';

const RISKY = { risk: 0.95, threatCode: 3, reasons: ['scripted'] };

describe('modes', () => {
  it('monitoring never blocks but exposes what blocking would do', async () => {
    const { provider } = recordingProvider(RISKY);
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE] });
    const res = await app.inject({ method: 'POST', url: '/login', payload: { password: 'right' }, headers: API });
    expect(res.statusCode).toBe(200);
    expect(res.json().vigil).toMatchObject({ action: 'allow', wouldAction: 'block', wouldBlock: true, event: '$login' });
  });

  it('blocking answers 403 HTML to a browser and JSON to an API client, without running the route', async () => {
    let routeRan = 0;
    const { provider } = recordingProvider(RISKY);
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] }, (a) => {
      a.addHook('preHandler', async () => {
        routeRan++;
      });
    });
    const html = await app.inject({ method: 'POST', url: '/login', payload: { password: 'right' }, headers: BROWSER });
    expect(html.statusCode).toBe(403);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.body).toContain('Request blocked');
    const json = await app.inject({ method: 'POST', url: '/login', payload: { password: 'right' }, headers: API });
    expect(json.statusCode).toBe(403);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.json()).toMatchObject({ blocked: true, requestId: expect.any(String) });
    // Vigil decides in the route's preValidation: neither the instance-level preHandler
    // nor the route itself runs for a blocked request.
    expect(routeRan).toBe(0);
  });

  it('redirects when redirectUrl is set', async () => {
    const { provider } = recordingProvider(RISKY);
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE], redirectUrl: '/blocked', redirectStatus: 303 });
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: BROWSER });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/blocked');
  });

  it('uses the embedded engine by default: curl on /login is blocked with JSON', async () => {
    const app = await loginApp({ mode: 'blocking', routes: [LOGIN_ROUTE] });
    const res = await app.inject({ method: 'POST', url: '/login', payload: { email: 'alice@example.com', password: 'right' }, headers: { 'user-agent': 'curl/8.5.0' } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ blocked: true });
    const browser = await app.inject({ method: 'POST', url: '/login', payload: { email: 'alice@example.com', password: 'right' }, headers: BROWSER });
    expect(browser.statusCode).toBe(200);
  });
});

describe('challenges', () => {
  const challenged = { risk: 0.7, action: 'challenge' as const };

  it('hands the challenge to onChallenge with the Fastify request and reply; proceed() goes on to the route', async () => {
    const { provider, calls } = recordingProvider(challenged);
    const raws: FastifyRaw[] = [];
    const app = await loginApp({
      mode: 'blocking',
      provider,
      routes: [LOGIN_ROUTE],
      onChallenge: ({ request, decision, proceed, raw }) => {
        raws.push(raw);
        if ((request.body as { captcha?: string }).captcha === 'passed') return proceed();
        return raw.reply.code(403).send({ challenge: 'captcha', requestId: decision.requestId });
      },
    });
    const asked = await app.inject({ method: 'POST', url: '/login', payload: { password: 'right' }, headers: API });
    expect(asked.statusCode).toBe(403);
    expect(asked.json()).toEqual({ challenge: 'captcha', requestId: expect.any(String) });
    expect(raws[0]?.request.url).toBe('/login');
    expect(typeof raws[0]?.reply.code).toBe('function');

    const passed = await app.inject({ method: 'POST', url: '/login', payload: { password: 'right', captcha: 'passed' }, headers: API });
    expect(passed.statusCode).toBe(200);
    expect(passed.json().vigil).toMatchObject({ action: 'challenge' });
    // Only the request that reached the route has an outcome to learn from.
    await eventually(() => expect(calls.log).toHaveLength(1));
    expect(calls.log[0]).toMatchObject({ status: '$succeeded', responseStatus: 200 });
  });

  it('writes the challenge page once, even when an async onSend hook delays the end of the response', async () => {
    const warnings: string[] = [];
    const stream = { write: (line: string) => warnings.push(line) };
    const { provider } = recordingProvider(challenged);
    const app = await loginApp(
      {
        mode: 'blocking',
        provider,
        routes: [LOGIN_ROUTE],
        onChallenge: ({ raw: { reply } }) => reply.code(403).send({ challenge: 'captcha' }),
      },
      (a) => {
        a.addHook('onSend', async (_request, reply) => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          reply.header('x-after', '1');
        });
      },
      { logger: { level: 'warn', stream } },
    );
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: API });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ challenge: 'captcha' });
    expect(res.headers['x-after']).toBe('1');
    expect(warnings.join('')).not.toMatch(/already sent|VIGIL_W_CHALLENGE_UNANSWERED|ERR_HTTP_HEADERS_SENT/);
  });

  it('writes the challenge page once when onChallenge answers without returning the reply', async () => {
    const warnings: string[] = [];
    const stream = { write: (line: string) => warnings.push(line) };
    const { provider } = recordingProvider(challenged);
    const app = await loginApp(
      {
        mode: 'blocking',
        provider,
        routes: [LOGIN_ROUTE],
        onChallenge: ({ raw: { reply } }) => {
          reply.code(403).send({ challenge: 'captcha' });
        },
      },
      (a) => {
        a.addHook('onSend', async () => {
          await new Promise((resolve) => setTimeout(resolve, 10));
        });
      },
      { logger: { level: 'warn', stream } },
    );
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: API });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ challenge: 'captcha' });
    expect(warnings.join('')).not.toMatch(/already sent|VIGIL_W_CHALLENGE_UNANSWERED|ERR_HTTP_HEADERS_SENT/);
  });

  it('never writes twice when onChallenge answered and then threw', async () => {
    const warnings: string[] = [];
    const stream = { write: (line: string) => warnings.push(line) };
    const { provider } = recordingProvider(challenged);
    const app = await loginApp(
      {
        mode: 'blocking',
        provider,
        routes: [LOGIN_ROUTE],
        onChallenge: ({ raw: { reply } }) => {
          reply.code(429).send({ slowDown: true });
          throw new Error('captcha service down');
        },
      },
      undefined,
      { logger: { level: 'warn', stream } },
    );
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: API });
    expect(res.statusCode).toBe(429);
    expect(res.json()).toEqual({ slowDown: true });
    expect(warnings.join('')).not.toMatch(/already sent/);
    expect(warnings.join('')).toMatch(/VIGIL_E_ON_CHALLENGE_FAILED/);
  });

  it('answers with the block response when onChallenge neither answers nor proceeds', async () => {
    const { provider } = recordingProvider(challenged);
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE], onChallenge: () => undefined });
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: API });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ blocked: true });
  });

  it('answers a challenge with the built-in one without onChallenge (test/challenge.test.ts walks it through); lets it through with challenge: false', async () => {
    const { provider } = recordingProvider(challenged);
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] });
    const res = await app.inject({ method: 'POST', url: '/login', payload: { password: 'right' }, headers: API });
    expect(res.statusCode).toBe(403);
    expect(res.json().challenge).toMatchObject({ type: 'altcha' });
    const off = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE], challenge: false });
    expect((await off.inject({ method: 'POST', url: '/login', payload: { password: 'right' }, headers: API })).statusCode).toBe(200);
  });
});

describe('failover', () => {
  const hanging = async () => new Promise<never>(() => undefined);

  it('allows within the timeout by default, and says so on request.vigil', async () => {
    const app = await loginApp({ mode: 'blocking', provider: hanging, timeout: 30, routes: [LOGIN_ROUTE] });
    const started = Date.now();
    const res = await app.inject({ method: 'POST', url: '/login', payload: { password: 'right' }, headers: API });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.statusCode).toBe(200);
    expect(res.json().vigil).toMatchObject({ action: 'allow', failover: true, failoverReason: 'timeout' });
  });

  it('blocks on timeout with failover: deny', async () => {
    const app = await loginApp({ mode: 'blocking', provider: hanging, timeout: 30, failover: 'deny', routes: [LOGIN_ROUTE] });
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: API });
    expect(res.statusCode).toBe(403);
  });

  it('hands a VigilProviderError to Fastify’s error handler with failover: throw', async () => {
    const errors: unknown[] = [];
    const app = await loginApp({ mode: 'blocking', provider: async () => Promise.reject(new Error('boom')), failover: 'throw', routes: [LOGIN_ROUTE] }, (a) => {
      a.setErrorHandler((error, _request, reply) => {
        errors.push(error);
        return reply.code(503).send({ unavailable: true });
      });
    });
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: API });
    expect(res.statusCode).toBe(503);
    expect(errors[0]).toBeInstanceOf(VigilProviderError);
  });
});

describe('after the response', () => {
  it('logs the route’s answer as the outcome, in onResponse', async () => {
    const { provider, calls } = recordingProvider();
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE] });
    await app.inject({ method: 'POST', url: '/login', payload: { email: 'a@example.com', password: 'wrong' }, headers: API });
    await app.inject({ method: 'POST', url: '/login', payload: { email: 'a@example.com', password: 'right' }, headers: API });
    await eventually(() => expect(calls.log).toHaveLength(2));
    expect(calls.log.map((e) => [e.status, e.responseStatus, e.user.email])).toEqual([
      ['$failed', 401, 'a@example.com'],
      ['$succeeded', 200, 'a@example.com'],
    ]);
    expect(calls.log[0]?.requestId).toBe(calls.filter[0]?.requestId);
  });

  it('logs no outcome for blocked requests nor unprotected routes', async () => {
    const { provider, calls } = recordingProvider(RISKY);
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] });
    await app.inject({ method: 'POST', url: '/login', payload: {}, headers: API });
    await app.inject({ method: 'GET', url: '/page', headers: API });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.filter).toHaveLength(1);
    expect(calls.log).toHaveLength(0);
  });
});

describe('response headers from the verdict', () => {
  const withCookie = { risk: 0, responseHeaders: { 'set-cookie': ['vigil_d=abc; Path=/; HttpOnly'], 'x-vigil': 'seen' } };

  it('are appended: a verdict’s Set-Cookie never replaces the app’s own', async () => {
    const { provider } = recordingProvider(withCookie);
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE] }, (a) => {
      a.post('/session', { config: { vigil: { event: '$login' } } }, async (_request, reply) => {
        reply.header('set-cookie', 'sid=1; Path=/');
        reply.header('x-vigil', 'app');
        return { ok: true };
      });
    });
    const res = await app.inject({ method: 'POST', url: '/session', payload: {}, headers: BROWSER });
    // The verdict's cookie, then Vigil's own device cookie, then the handler's.
    expect(res.headers['set-cookie']).toEqual(['vigil_d=abc; Path=/; HttpOnly', DEVICE_COOKIE, 'sid=1; Path=/']);
  });

  it('are appended to headers an earlier hook set, and ride on block responses too', async () => {
    const { provider } = recordingProvider({ ...RISKY, responseHeaders: withCookie.responseHeaders });
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] }, (a) => {
      a.addHook('onRequest', async (_request, reply) => {
        reply.header('set-cookie', 'early=1');
        reply.header('x-vigil', 'early');
      });
    });
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: API });
    expect(res.statusCode).toBe(403);
    expect(res.headers['set-cookie']).toEqual(['early=1', 'vigil_d=abc; Path=/; HttpOnly', DEVICE_COOKIE]);
    expect(res.headers['x-vigil']).toEqual(['early', 'seen']);
  });
});
