import { VigilConfigError } from '@vigil/core';
import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { vigil } from '../src/index.js';
import { API, BROWSER, fastify, LOGIN_ROUTE, loginApp, recordHooks, recordingProvider } from './helpers.js';

describe('registration', () => {
  it('is a fastify-plugin named @vigil/fastify for Fastify 5.x', () => {
    const meta = (vigil as unknown as Record<symbol, unknown>)[Symbol.for('plugin-meta')];
    expect(meta).toMatchObject({ name: '@vigil/fastify', fastify: '5.x' });
    expect((vigil as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')]).toBe(true);
    expect((vigil as unknown as Record<symbol, unknown>)[Symbol.for('fastify.display-name')]).toBe('@vigil/fastify');
  });

  it('decorates the instance with Vigil and requests with a handle over core’s unprotected decision', async () => {
    const { provider } = recordingProvider();
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE] });
    await app.ready();
    expect(typeof app.vigil.protect).toBe('function');
    expect(app.vigil.provider.name).toBe('recording');
    expect(app.hasRequestDecorator('vigil')).toBe(true);
    const res = await app.inject({ method: 'GET', url: '/page', headers: BROWSER });
    // No hook on /page: request.vigil (a getter) reads through to the unprotected decision.
    expect(res.json()).toEqual({ page: true, vigil: expect.objectContaining({ protected: false, action: 'allow', reasons: ['not a protected route'] }) });
    expect(typeof app.vigil.core.protect).toBe('function');
    expect(typeof app.vigil.blockUser).toBe('function');
  });

  it('fails ready() with a VigilConfigError for a bad option', async () => {
    const app = fastify();
    app.register(vigil, { mode: 'block' as 'blocking' });
    const error = await app.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VigilConfigError);
    expect(error).toMatchObject({ code: 'VIGIL_E_MODE', option: 'mode' });
  });

  it('fails for an unknown option, a bad route and a bad config.vigil', async () => {
    const unknown = fastify();
    unknown.register(vigil, { modee: 'blocking' } as never);
    await expect(unknown.ready()).rejects.toMatchObject({ code: 'VIGIL_E_UNKNOWN_OPTION', option: 'modee' });

    const badRoute = fastify();
    badRoute.register(vigil, { routes: [{ path: 'login', event: '$login' }] });
    await expect(badRoute.ready()).rejects.toMatchObject({ code: 'VIGIL_E_ROUTE', option: 'routes[0].path' });

    const badEvent = fastify();
    await badEvent.register(vigil, {});
    expect(() => badEvent.post('/x', { config: { vigil: { event: '$nope' as '$login' } } }, async () => 'x')).toThrow(/config\.vigil of POST \/x\.event is "\$nope"/);
    expect(() => badEvent.post('/y', { config: { vigil: { event: '$login', path: '/y' } as never } }, async () => 'y')).toThrow(VigilConfigError);
    expect(() => badEvent.post('/z', { config: { vigil: true as never } }, async () => 'z')).toThrow(/VIGIL_E_ROUTE: config\.vigil of POST \/z is true/);
  });

  it('fails ready() when a listed route was registered before the plugin', async () => {
    const app = fastify();
    app.post('/login', async () => ({ ok: true }));
    app.register(vigil, { routes: [LOGIN_ROUTE] });
    const error = await app.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VigilConfigError);
    expect(String((error as Error).message)).toMatch(/routes\[0\]\.path is "\/login", which Fastify registered \(POST\) before the Vigil plugin/);
  });

  it('accepts a listed route that does not exist, or that was registered after it in a child context', async () => {
    const app = fastify();
    await app.register(vigil, { routes: [LOGIN_ROUTE, { path: '/v1/signup', event: '$registration' }] });
    await app.register(
      async (child) => {
        child.post('/signup', async () => ({ ok: true }));
      },
      { prefix: '/v1' },
    );
    await expect(app.ready()).resolves.toBeDefined();
    const res = await app.inject({ method: 'POST', url: '/v1/signup', payload: {}, headers: API });
    expect(res.statusCode).toBe(200);
  });

  it('closes the core (and its provider) with Fastify', async () => {
    const { provider, calls } = recordingProvider();
    const app = fastify();
    await app.register(vigil, { provider, routes: [LOGIN_ROUTE] });
    await app.ready();
    await app.close();
    expect(calls.close).toBe(1);
  });

  it('logs through fastify.log unless given a logger', async () => {
    const lines: { code?: string; level: number }[] = [];
    const stream = { write: (line: string) => lines.push(JSON.parse(line)) };
    const app = fastify({ logger: { level: 'warn', stream } });
    await app.register(vigil, { provider: async () => new Promise(() => undefined), timeout: 20, routes: [LOGIN_ROUTE] });
    app.post('/login', async () => ({ ok: true }));
    await app.inject({ method: 'POST', url: '/login', payload: { email: 'a@example.com' }, headers: API });
    expect(lines.some((l) => l.code === 'VIGIL_W_FAILOVER' && l.level === 40)).toBe(true);
  });
});

describe('which routes get a hook', () => {
  it('gives unprotected and opted-out routes no hook at all, and never calls the provider for them', async () => {
    const { provider, calls } = recordingProvider({ risk: 1 });
    let hooks = new Map<string, Record<string, string[]>>();
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE, { method: 'POST', path: '/internal/login', event: '$login' }] }, (a) => {
      hooks = recordHooks(a);
      a.post('/internal/login', { config: { vigil: false } }, async () => ({ internal: true }));
    });
    await app.ready();
    expect(hooks.get('GET /page')).toEqual({ onRequest: [], preValidation: [], preHandler: [], onResponse: [] });
    expect(hooks.get('POST /internal/login')).toEqual({ onRequest: [], preValidation: [], preHandler: [], onResponse: [] });
    expect(hooks.get('POST /login')).toEqual({ onRequest: [], preValidation: ['vigilDecide'], preHandler: [], onResponse: ['vigilLogOutcome'] });
    expect(app.printRoutes({ includeHooks: true }).match(/vigilDecide/g)).toHaveLength(1);

    expect((await app.inject({ method: 'GET', url: '/page', headers: API })).statusCode).toBe(200);
    const internal = await app.inject({ method: 'POST', url: '/internal/login', payload: {}, headers: API });
    expect(internal.json()).toEqual({ internal: true });
    expect(calls.filter).toHaveLength(0);
    expect((await app.inject({ method: 'POST', url: '/login', payload: {}, headers: API })).statusCode).toBe(403);
  });

  it('decides GET and HEAD routes in onRequest and body routes in preValidation, before the route’s own hooks', async () => {
    const { provider, calls } = recordingProvider();
    let hooks = new Map<string, Record<string, string[]>>();
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE, { method: ['GET', 'HEAD'], path: '/account', event: '$profile_update', user: { id: 'query.user' } }] }, (a) => {
      hooks = recordHooks(a);
      a.get('/account', { onRequest: async function appOnRequest() {} }, async (request) => ({ event: request.vigil?.event }));
    });
    await app.ready();
    expect(hooks.get('GET /account')?.onRequest).toEqual(['vigilDecide', 'appOnRequest']);
    expect(hooks.get('HEAD /account')?.onRequest).toEqual(['vigilDecide', 'appOnRequest']);
    expect(hooks.get('POST /login')?.preValidation).toEqual(['vigilDecide']);

    const get = await app.inject({ method: 'GET', url: '/account?user=u1', headers: BROWSER });
    expect(get.json()).toEqual({ event: '$profile_update' });
    expect(calls.risk[0]?.user).toEqual({ id: 'u1' });
    // POST decides once the body is parsed: the user field comes from it.
    await app.inject({ method: 'POST', url: '/login', payload: { email: 'alice@example.com' }, headers: BROWSER });
    expect(calls.filter[0]?.user).toEqual({ email: 'alice@example.com' });
  });

  it('blocks a GET before Fastify reads anything, and a POST once its body is parsed and validated', async () => {
    const phases: string[] = [];
    const { provider } = recordingProvider({ risk: 1 });
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE, { method: 'GET', path: '/page', event: '$custom', name: 'page' }] }, (a) => {
      a.addHook('preParsing', async (request) => {
        phases.push(`preParsing ${request.method}`);
      });
      a.addHook('preValidation', async (request) => {
        phases.push(`preValidation ${request.method}`);
      });
    });
    expect((await app.inject({ method: 'GET', url: '/page', headers: API })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/login', payload: {}, headers: API })).statusCode).toBe(403);
    expect(phases).toEqual(['preParsing POST', 'preValidation POST']);
  });

  it('protects a route through config.vigil even when it is not in the global list', async () => {
    const { provider, calls } = recordingProvider();
    const app = await loginApp({ provider }, (a) => {
      a.post('/signup', { config: { vigil: { event: '$registration', user: { email: 'body.email' } } } }, async (request) => ({ vigil: request.vigil?.event, route: request.vigil?.route }));
      a.post('/checkout', { config: { vigil: { event: '$custom', name: 'checkout' } } }, async (request) => ({ route: request.vigil?.route }));
    });
    const signup = await app.inject({ method: 'POST', url: '/signup', payload: { email: 'new@example.com' }, headers: BROWSER });
    expect(signup.json()).toEqual({ vigil: '$registration', route: '/signup' });
    expect(calls.filter[0]).toMatchObject({ type: '$registration', user: { email: 'new@example.com' } });
    const checkout = await app.inject({ method: 'POST', url: '/checkout', payload: {}, headers: BROWSER });
    expect(checkout.json()).toEqual({ route: 'checkout' });
    // /login is not configured anywhere: untouched.
    await app.inject({ method: 'POST', url: '/login', payload: {}, headers: BROWSER });
    expect(calls.filter).toHaveLength(2);
  });

  it('lets config.vigil override the global route of the same path', async () => {
    const { provider, calls } = recordingProvider();
    const app = fastify();
    await app.register(vigil, { provider, routes: [LOGIN_ROUTE] });
    app.post('/login', { config: { vigil: { event: '$login', user: { username: 'body.user' } } } }, async () => ({ ok: true }));
    await app.inject({ method: 'POST', url: '/login', payload: { user: 'al', email: 'a@example.com' }, headers: BROWSER });
    expect(calls.filter[0]?.user).toEqual({ username: 'al' });
  });

  it('matches parametric Fastify routes per request, and skips them when no configured route takes their method', async () => {
    const { provider, calls } = recordingProvider();
    let hooks = new Map<string, Record<string, string[]>>();
    const app = fastify();
    await app.register(vigil, { provider, routes: [{ method: 'POST', path: '/users/:id/reset', event: '$password_reset_request' }] });
    hooks = recordHooks(app);
    app.post('/users/:id/:action', async (request) => ({ protected: request.vigil.protected }));
    app.get('/users/:id', async () => ({ user: true }));
    await app.ready();
    expect(hooks.get('GET /users/:id')?.onRequest).toEqual([]);
    expect(hooks.get('POST /users/:id/:action')?.preValidation).toEqual(['vigilDecide']);
    expect((await app.inject({ method: 'POST', url: '/users/42/reset', payload: {}, headers: BROWSER })).json()).toEqual({ protected: true });
    expect((await app.inject({ method: 'POST', url: '/users/42/rename', payload: {}, headers: BROWSER })).json()).toEqual({ protected: false });
    expect(calls.filter).toHaveLength(1);
  });

  it('protects the route Fastify chose however the path was spelt', async () => {
    const { provider, calls } = recordingProvider({ risk: 1 });
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] });
    // find-my-way decodes %6C to "l": this is the /login handler, so it is /login's protection.
    const res = await app.inject({ method: 'POST', url: '/%6Cogin?next=/', payload: {}, headers: API });
    expect(res.statusCode).toBe(403);
    // The decision sees the path the router routed on, not the client's spelling of it.
    expect(calls.filter[0]?.context.path).toBe('/login');
  });

  it('protects only the listed methods of a multi-method route', async () => {
    const { provider, calls } = recordingProvider();
    const app = fastify();
    await app.register(vigil, { provider, routes: [LOGIN_ROUTE] });
    app.route({ method: ['GET', 'POST'], url: '/login', handler: async (request) => ({ scored: request.vigil.protected }) });
    expect((await app.inject({ method: 'GET', url: '/login', headers: BROWSER })).json()).toEqual({ scored: false });
    expect((await app.inject({ method: 'POST', url: '/login', payload: {}, headers: BROWSER })).json()).toEqual({ scored: true });
    expect(calls.filter).toHaveLength(1);
  });

  it('leaves excluded paths untouched: no provider call and request.vigil is the excluded decision', async () => {
    const { provider, calls } = recordingProvider({ risk: 1 });
    const app = fastify();
    await app.register(vigil, { mode: 'blocking', provider, routes: [{ path: '/auth/*', event: '$login' }], uriExclusion: ['/auth/sso', /^\/auth\/probe$/, /\?probe=1$/] });
    const excluded = (request: FastifyRequest) => ({ protected: request.vigil.protected, reasons: request.vigil.reasons });
    app.post('/auth/sso/callback', async (request) => excluded(request));
    app.post('/auth/login', async (request) => excluded(request));
    app.post('/auth/:step', async (request) => excluded(request));
    const sso = await app.inject({ method: 'POST', url: '/auth/sso/callback', payload: {}, headers: API });
    expect(sso.json()).toEqual({ protected: false, reasons: ['excluded by uriExclusion'] });
    // A RegExp exclusion sees the routed path, per request...
    expect((await app.inject({ method: 'POST', url: '/auth/%70robe', payload: {}, headers: API })).json()).toEqual({ protected: false, reasons: ['excluded by uriExclusion'] });
    // ...and never the query string (issue 12: `?probe=1` skipped the login's decision).
    expect((await app.inject({ method: 'POST', url: '/auth/login?probe=1', payload: {}, headers: API })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/auth/login', payload: {}, headers: API })).statusCode).toBe(403);
    expect(calls.filter).toHaveLength(2);
  });

  it('covers routes declared in prefixed child plugins', async () => {
    const { provider } = recordingProvider({ risk: 1 });
    const app = fastify();
    await app.register(vigil, { mode: 'blocking', provider, routes: [{ method: 'POST', path: '/api/login', event: '$login' }] });
    await app.register(
      async (api) => {
        api.post('/login', async () => ({ ok: true }));
      },
      { prefix: '/api' },
    );
    expect((await app.inject({ method: 'POST', url: '/api/login', payload: {}, headers: API })).statusCode).toBe(403);
  });
});
