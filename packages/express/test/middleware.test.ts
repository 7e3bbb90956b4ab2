import express from 'express';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { EXCLUDED_DECISION, UNPROTECTED_DECISION } from '@vigil/core';
import { VigilConfigError } from '../src/index.js';
import { BROWSER_ACCEPT, guard, LOGIN_ROUTE, loginApp, recordingProvider, seen } from './helpers.js';

const BOT = { risk: 0.95, threatCode: 3, reasons: ['test bot'] };
// What `seen(req)` shows (through JSON) for a request Vigil does not protect.
const UNPROTECTED = { action: 'allow', wouldAction: 'allow', wouldBlock: false, protected: false, failover: false };

describe('app.use(vigil(options)): what it leaves alone', () => {
  it('lets an unprotected route through untouched, without asking the provider', async () => {
    const { provider, calls } = recordingProvider(BOT);
    const app = loginApp(guard({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] }));
    const res = await request(app).get('/public').expect(200);
    // req.vigil is there (for identify and tracking), and says the route is not protected.
    expect(res.body).toEqual({ page: 'public', vigil: UNPROTECTED });
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(calls.filter).toHaveLength(0);
  });

  it('lets an excluded route through untouched', async () => {
    const { provider, calls } = recordingProvider(BOT);
    const middleware = guard({
      mode: 'blocking',
      provider,
      routes: [{ method: 'POST', path: '/account/*', event: '$profile_update' }],
      uriExclusion: ['/account/public'],
    });
    const app = express();
    app.use(middleware);
    app.post('/account/:page', (req, res) => {
      res.json({ vigil: seen(req) ?? null, reasons: req.vigil?.reasons });
    });
    const excluded = await request(app).post('/account/public').expect(200);
    expect(excluded.body).toEqual({ vigil: UNPROTECTED, reasons: ['excluded by uriExclusion'] });
    expect(calls.filter).toHaveLength(0);
    // The route next to it is protected.
    await request(app).post('/account/email').set('accept', 'application/json').expect(403);
    expect(calls.filter).toHaveLength(1);
  });

  it('matches the full path wherever it is mounted, ignoring case and a trailing slash as Express does', async () => {
    const { provider, calls } = recordingProvider(BOT);
    const app = express();
    const router = express.Router();
    router.use(guard({ mode: 'blocking', provider, routes: [{ method: 'POST', path: '/auth/login', event: '$login' }] }));
    router.post('/login', (_req, res) => {
      res.json({ ok: true });
    });
    app.use('/auth', router);
    await request(app).post('/auth/login?next=%2F').expect(403);
    await request(app).post('/AUTH/Login/').expect(403);
    expect(calls.filter.map((e) => e.context.path)).toEqual(['/auth/login', '/AUTH/Login/']);
  });
});

describe('req.vigil: a handle on every request that went through the middleware', () => {
  it('reads through to the decision, shared for unprotected and excluded requests, with the helpers on each', async () => {
    const { provider } = recordingProvider();
    const middleware = guard({ mode: 'blocking', provider, routes: [LOGIN_ROUTE], uriExclusion: ['/static'] });
    const handles: NonNullable<express.Request['vigil']>[] = [];
    const app = express();
    app.use(express.json(), middleware);
    app.all('/*any', (req, res) => {
      handles.push(req.vigil!);
      res.sendStatus(204);
    });
    await request(app).get('/public').expect(204);
    await request(app).get('/static/app.js').expect(204);
    await request(app).post('/login').set('accept', 'application/json').send({}).expect(204);
    await request(app).get('/public').expect(204);
    const [unprotected, excluded, loggedIn, again] = handles;
    expect(unprotected?.decision).toBe(middleware.core.unprotectedDecision);
    expect(unprotected?.decision.mode).toBe('blocking');
    expect(again?.decision).toBe(middleware.core.unprotectedDecision);
    expect(unprotected).not.toBe(again);
    expect(excluded?.decision).toBe(middleware.core.excludedDecision);
    expect(loggedIn?.decision).toMatchObject({ protected: true, event: '$login', action: 'allow' });
    expect(Object.isFrozen(loggedIn?.decision)).toBe(true);
    for (const handle of handles) {
      for (const field of ['action', 'wouldAction', 'wouldBlock', 'protected', 'event', 'route', 'risk', 'reasons', 'requestId', 'responseHeaders'] as const) {
        expect(handle[field]).toBe(handle.decision[field]);
      }
      for (const helper of ['identify', 'trackLogin', 'trackSignup', 'trackCustom'] as const) expect(typeof handle[helper]).toBe('function');
      // Like the decision, the handle cannot be changed by the app.
      expect(() => {
        (handle as { action: string }).action = 'block';
      }).toThrow(TypeError);
    }
  });

  it('is set by per-route middleware too', async () => {
    const { provider, calls } = recordingProvider();
    const middleware = guard({ provider });
    const app = express();
    app.use(express.json());
    app.post('/signup', middleware.protect('$registration'), async (req, res) => {
      await req.vigil!.trackCustom('signup_form_seen');
      res.json({ protected: req.vigil!.protected, event: req.vigil!.event });
    });
    expect((await request(app).post('/signup').send({}).expect(200)).body).toEqual({ protected: true, event: '$registration' });
    // The tracked event, then the route's outcome once the response finished.
    await vi.waitFor(() => expect(calls.log).toHaveLength(2));
    expect(calls.log.map((e) => [e.type, e.name, e.status])).toEqual([
      ['$custom', 'signup_form_seen', '$succeeded'],
      ['$registration', '$registration', '$succeeded'],
    ]);
  });
});

describe('app.use(vigil(options)): carrying out decisions', () => {
  it('never blocks in monitoring mode, and shows the handler what blocking would have done', async () => {
    const { provider, calls } = recordingProvider(BOT);
    const app = loginApp(guard({ provider, routes: [LOGIN_ROUTE] }));
    const res = await request(app).post('/login').send({ email: 'a@example.com', password: 'right' }).expect(200);
    expect(res.body.vigil).toMatchObject({ action: 'allow', wouldAction: 'block', wouldBlock: true, protected: true, event: '$login' });
    expect(calls.filter[0]?.user).toEqual({ email: 'a@example.com' });
  });

  it('blocks with a 403 HTML page for a browser and JSON for an API client', async () => {
    const { provider } = recordingProvider(BOT);
    const app = loginApp(guard({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] }));

    const html = await request(app).post('/login').set('accept', BROWSER_ACCEPT).type('form').send({ email: 'a@example.com' }).expect(403);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    expect(html.text).toContain('Request blocked');

    const json = await request(app).post('/login').set('accept', 'application/json').send({ email: 'a@example.com' }).expect(403);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    expect(json.headers['cache-control']).toBe('no-store');
    expect(json.body).toMatchObject({ blocked: true, message: 'Request blocked' });
    expect(json.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('redirects with the configured status when redirectUrl is set', async () => {
    const { provider } = recordingProvider(BOT);
    const app = loginApp(guard({ mode: 'blocking', provider, routes: [LOGIN_ROUTE], redirectUrl: '/blocked', redirectStatus: 303 }));
    const res = await request(app).post('/login').send({ email: 'a@example.com' }).expect(303);
    expect(res.headers.location).toBe('/blocked');
  });

  it('hands a challenge to onChallenge with the Express req and res, which answers or proceeds', async () => {
    const { provider, calls } = recordingProvider({ risk: 0.7, reasons: ['suspicious'] });
    const onChallenge = vi.fn(({ decision, proceed, raw: { req, res } }) => {
      expect(req.vigil.decision).toBe(decision);
      if (req.body.captcha === 'passed') return proceed();
      res.status(403).json({ challenge: 'captcha', requestId: decision.requestId });
    });
    const app = loginApp(guard({ mode: 'blocking', provider, routes: [LOGIN_ROUTE], onChallenge }));

    const challenged = await request(app).post('/login').send({ email: 'a@example.com', password: 'right' }).expect(403);
    expect(challenged.body).toEqual({ challenge: 'captcha', requestId: expect.any(String) });
    const passed = await request(app).post('/login').send({ email: 'a@example.com', password: 'right', captcha: 'passed' }).expect(200);
    expect(passed.body.vigil).toMatchObject({ action: 'challenge', wouldAction: 'challenge' });
    expect(onChallenge).toHaveBeenCalledTimes(2);
    // Only the request that reached the app has an outcome to learn from.
    await vi.waitFor(() => expect(calls.log).toHaveLength(1));
    expect(calls.log[0]).toMatchObject({ status: '$succeeded', responseStatus: 200 });
  });

  it('fails over when the provider does not answer within the timeout', async () => {
    const never = () => new Promise<never>(() => {});
    const allow = loginApp(guard({ mode: 'blocking', provider: never, routes: [LOGIN_ROUTE], timeout: 50 }));
    const started = Date.now();
    const res = await request(allow).post('/login').send({ email: 'a@example.com', password: 'right' }).expect(200);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(res.body.vigil).toMatchObject({ action: 'allow', failover: true, failoverReason: 'timeout' });

    const deny = loginApp(guard({ mode: 'blocking', provider: never, routes: [LOGIN_ROUTE], timeout: 50, failover: 'deny' }));
    expect((await request(deny).post('/login').send({}).expect(403)).body.blocked).toBe(true);
  });

  it("passes a VigilProviderError to Express's error handling with failover: 'throw'", async () => {
    const app = loginApp(guard({ mode: 'blocking', provider: async () => Promise.reject(new Error('down')), routes: [LOGIN_ROUTE], failover: 'throw' }));
    const res = await request(app).post('/login').send({}).expect(500);
    expect(res.body).toEqual({ error: 'VigilProviderError', reason: 'provider error' });
  });
});

describe('outcome logging', () => {
  it('logs $succeeded or $failed from the status, after the response, without delaying it', async () => {
    const { provider, calls } = recordingProvider();
    // A provider whose log never answers: the response must not wait for it.
    provider.log = (event) => {
      calls.log.push(event);
      return new Promise(() => {});
    };
    const loggedWhenSent: number[] = [];
    const app = express();
    app.use(express.json(), guard({ provider, routes: [LOGIN_ROUTE], timeout: 100 }));
    app.post('/login', (req, res) => {
      res.status(req.body.password === 'right' ? 200 : 401).json({});
      loggedWhenSent.push(calls.log.length);
    });
    await request(app).post('/login').send({ email: 'a@example.com', password: 'wrong' }).expect(401);
    await request(app).post('/login').send({ email: 'a@example.com', password: 'right' }).expect(200);
    await vi.waitFor(() => expect(calls.log).toHaveLength(2));
    expect(loggedWhenSent).toEqual([0, 1]);
    expect(calls.log.map((e) => [e.type, e.status, e.responseStatus, e.user.email])).toEqual([
      ['$login', '$failed', 401, 'a@example.com'],
      ['$login', '$succeeded', 200, 'a@example.com'],
    ]);
    expect(calls.log[0]?.requestId).toBe(calls.filter[0]?.requestId);
  });

  it("follows the route's outcome statuses and logs nothing for the others", async () => {
    const { provider, calls } = recordingProvider();
    const app = express();
    app.use(express.json(), guard({ provider, routes: [{ ...LOGIN_ROUTE, outcome: { failed: [401, 423] } }] }));
    app.post('/login', (req, res) => {
      res.sendStatus(req.body.status);
    });
    for (const status of [423, 500, 204]) await request(app).post('/login').send({ status }).expect(status);
    await vi.waitFor(() => expect(calls.log).toHaveLength(2));
    expect(calls.log.map((e) => [e.status, e.responseStatus])).toEqual([
      ['$failed', 423],
      ['$succeeded', 204],
    ]);
  });

  it('logs a streamed response once it is finished, with the status its headers carried', async () => {
    const { provider, calls } = recordingProvider();
    const app = express();
    app.use(express.json(), guard({ provider, routes: [LOGIN_ROUTE] }));
    app.post('/login', (_req, res) => {
      res.status(401).flushHeaders();
      res.write('{"ok":');
      setTimeout(() => {
        expect(calls.log).toHaveLength(0);
        res.end('false}');
      }, 20);
    });
    await request(app).post('/login').send({ email: 'a@example.com' }).expect(401);
    await vi.waitFor(() => expect(calls.log).toHaveLength(1));
    expect(calls.log[0]).toMatchObject({ status: '$failed', responseStatus: 401 });
  });

  it('logs nothing for a request Vigil answered itself', async () => {
    const { provider, calls } = recordingProvider(BOT);
    const app = loginApp(guard({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] }));
    await request(app).post('/login').send({}).expect(403);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls.log).toHaveLength(0);
  });
});

describe('responses already started are never written twice', () => {
  it('leaves a response an earlier middleware sent alone, even when blocking', async () => {
    const { provider } = recordingProvider({ ...BOT, responseHeaders: { 'set-cookie': 'vigil=1' } });
    const errors = vi.fn();
    const app = loginApp(guard({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] }), (a) =>
      a.use((_req, res, next) => {
        res.status(200).send('early');
        next();
      }),
    );
    app.use((err: Error, _req: express.Request, _res: express.Response, next: express.NextFunction) => {
      errors(err);
      next(err);
    });
    const res = await request(app).post('/login').send({}).expect(200);
    expect(res.text).toBe('early');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(errors).not.toHaveBeenCalled();
  });

  it('does not answer again when onChallenge answered and then threw', async () => {
    const { provider } = recordingProvider({ risk: 0.7 });
    const error = vi.fn();
    const app = loginApp(
      guard({
        mode: 'blocking',
        provider,
        routes: [LOGIN_ROUTE],
        logger: { warn() {}, error },
        onChallenge: ({ raw: { res } }) => {
          res.status(429).json({ challenge: 'later' });
          throw new Error('captcha service down');
        },
      }),
    );
    const res = await request(app).post('/login').send({}).expect(429);
    expect(res.body).toEqual({ challenge: 'later' });
    expect(error).toHaveBeenCalledWith(expect.objectContaining({ code: 'VIGIL_E_ON_CHALLENGE_FAILED' }), expect.any(String));
  });
});

describe('configuration', () => {
  it('throws a VigilConfigError at vigil(options) time, naming the option', () => {
    expect(() => guard({ mode: 'block' as never })).toThrow(VigilConfigError);
    expect(() => guard({ mode: 'block' as never })).toThrow(/VIGIL_E_MODE: mode is "block"/);
    expect(() => guard({ routes: [{ path: 'login', event: '$login' }] })).toThrow(/VIGIL_E_ROUTE: routes\[0\]\.path/);
    expect(() => guard({ modee: 'blocking' } as never)).toThrow(/Did you mean "mode"/);
  });

  it('exposes the core instance', async () => {
    const middleware = guard({ routes: [LOGIN_ROUTE] });
    expect(middleware.core.mode).toBe('monitoring');
    expect(middleware.core.match({ method: 'POST', path: '/login', url: '/login' })?.event).toBe('$login');
    expect(Object.keys(middleware)).toEqual([
      'protect',
      'challengeAssets',
      'core',
      'close',
      'identify',
      'trackLogin',
      'trackSignup',
      'trackCustom',
      'blockUser',
      'unblockUser',
      'listBlockedUsers',
      'reportDevice',
      'approveDevice',
      'getDevicesForUser',
    ]);
  });
});
