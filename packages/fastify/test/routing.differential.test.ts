import { type DifferentialApp, type DifferentialReport, requestTargetArbitrary, runRoutingDifferential, sampleRouting, sendOnce, usefulnessProblems } from '@vigil/core/testing';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VigilFastifyOptions, vigil } from '../src/index.js';

// Issue 12, item 1: every request find-my-way sends to a protected route carries
// Vigil's decision, whatever the request target looks like — routes from the plugin's
// `routes` (static, parametric, wildcard) and from `config.vigil`, with Fastify's
// default router and with the router options that change what it routes. Real
// instances on loopback, targets written byte for byte on a raw socket.
const RUNS = Number(process.env.VIGIL_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 12);
// A guard against a hung socket, not a speed assertion: scales with the runs asked for.
const TIMEOUT = 120_000 + RUNS * 40;

const ROUTES: NonNullable<VigilFastifyOptions['routes']> = [
  { method: 'POST', path: '/api/login', event: '$login', user: { email: 'body.email' } },
  { method: 'POST', path: '/users/:id/reset', event: '$password_reset_request' },
  { method: 'POST', path: '/api/signup', event: '$registration' },
  { method: 'POST', path: '/api/orders/:id/pay', event: '$transaction' },
];
const AUTH_ROUTE = { method: 'POST', path: '/auth/*', event: '$login', name: 'auth' } as const;
const EXCLUSIONS = ['/static', /\.css$/, /^\/health/];
// The router options that change what find-my-way routes. Fastify 5 takes them under
// routerOptions (the top-level ones are deprecated, FSTDEP022); useSemicolonDelimiter
// is one at run time (Fastify's routerKeys) that find-my-way's types do not list.
const LENIENT_ROUTER = { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false, useSemicolonDelimiter: true } as NonNullable<FastifyServerOptions['routerOptions']>;

const answer = (reached: string) => async (request: FastifyRequest) => ({ reached, decided: request.vigil.protected === true });

/**
 * The test app: routes protected through `routes` (static, parametric, wildcard, under
 * a prefix) and through `config.vigil` (static, parametric, wildcard), and unprotected
 * ones that look like them. With `wildcards: false` neither wildcard is protected:
 * "/auth/x.css" is rightly excluded by /\.css$/.
 */
async function buildApp(serverOptions: FastifyServerOptions, options: VigilFastifyOptions, wildcards: boolean): Promise<{ app: FastifyInstance; protectedHandlers: string[] }> {
  const app = Fastify({ logger: false, ...serverOptions });
  await app.register(vigil, { mode: 'monitoring', ...options, routes: [...ROUTES, ...(wildcards ? [AUTH_ROUTE] : [])] });
  app.post('/api/login', answer('login'));
  app.post('/users/:id/reset', answer('reset'));
  app.post('/auth/*', answer('auth'));
  await app.register(
    async (api) => {
      api.post('/signup', answer('signup'));
      api.post('/orders/:id/pay', answer('pay'));
      api.post('/logout', answer('logout'));
    },
    { prefix: '/api' },
  );
  app.post('/account/:id/email', { config: { vigil: { event: '$profile_update' } } }, answer('email'));
  app.post('/checkout', { config: { vigil: { event: '$transaction' } } }, answer('checkout'));
  app.post('/pay/*', wildcards ? { config: { vigil: { event: '$transaction', name: 'pay' } } } : {}, answer('pay-any'));
  app.post('/users/:id', answer('user'));
  app.post('/static/*', answer('static'));
  app.post('/health', answer('health'));
  const protectedHandlers = ['login', 'reset', 'signup', 'pay', 'email', 'checkout', ...(wildcards ? ['auth', 'pay-any'] : [])];
  return { app, protectedHandlers };
}

const apps: FastifyInstance[] = [];

async function start(name: string, serverOptions: FastifyServerOptions, options: VigilFastifyOptions, wildcards: boolean): Promise<DifferentialApp> {
  const { app, protectedHandlers } = await buildApp(serverOptions, options, wildcards);
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { name, port: address.port, protectedHandlers };
}

let routed: DifferentialApp;
let excluding: DifferentialApp;
let lenient: DifferentialApp;

beforeAll(async () => {
  routed = await start('fastify (routes, config.vigil)', {}, {}, true);
  excluding = await start('fastify (routes, config.vigil, uriExclusion)', {}, { uriExclusion: EXCLUSIONS }, false);
  lenient = await start('fastify (ignoreTrailingSlash, ignoreDuplicateSlashes, caseSensitive: false, useSemicolonDelimiter)', { routerOptions: LENIENT_ROUTER }, {}, true);
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

const post = (app: DifferentialApp, target: string) => sendOnce(app.port, 'POST', target, { email: 'a@example.com' });

// The protected routes' paths, and decoys next to them (unprotected, excluded).
const targets = requestTargetArbitrary(fc, {
  bases: ['/api/login', '/api/signup', '/api/orders/7/pay', '/users/42/reset', '/auth/x/callback', '/account/9/email', '/checkout', '/pay/card/visa', '/users/42', '/static/app.css', '/health'],
});

// The property cannot hold by sending 404s: a good share reaches a protected handler.
const expectUseful = (report: DifferentialReport) => expect(usefulnessProblems(report)).toEqual([]);

describe('issue 12: Fastify routing differential', () => {
  it(
    'every response from a protected route says decided: true (routes, config.vigil, uriExclusion, router options)',
    async () => {
      await runRoutingDifferential(fc, { apps: [routed, excluding, lenient], targets, numRuns: RUNS, seed: SEED });
    },
    TIMEOUT,
  );

  it('the targets reach protected routes, mutated ones included', async () => {
    expectUseful(await sampleRouting(fc, { apps: [routed, excluding, lenient], targets, seed: SEED, count: 600 }));
  }, TIMEOUT);

  it('issue 12: absolute-form target', async () => {
    for (const target of ['http://localhost/users/1/reset', 'HTTPS://a@b:1/auth/x', 'hTtP://[::1]:80/api/orders/1/pay']) {
      expect((await post(routed, target)).json, target).toMatchObject({ decided: true });
    }
  });

  it('issue 12: fragment', async () => {
    for (const target of ['/users/1/reset#x', '/auth/x#/../logout', '/api/orders/1/pay#']) {
      expect((await post(routed, target)).json, target).toMatchObject({ decided: true });
    }
  });

  it('issue 12: %72eset and %61uth on find-my-way (it decodes before routing)', async () => {
    for (const target of ['/users/1/%72eset', '/%61uth/x', '/api/orders/1/%70ay', '/%75sers/1/reset']) {
      expect((await post(routed, target)).json, target).toMatchObject({ decided: true });
    }
  });

  it('issue 12: excluded-looking query, fragment and parameter are still decided', async () => {
    for (const target of ['/users/1/reset?x=.css', '/users/1/reset#.css', '/users/static/reset', '/users/x.css/reset', '/account/1/email?/static']) {
      expect((await post(excluding, target)).json, target).toMatchObject({ decided: true });
    }
  });

  it('issue 12: router options: duplicate slashes, case, semicolon', async () => {
    for (const target of ['//users//1//reset', '/USERS/1/Reset/', '/users/1/reset;jsessionid=1', '/AUTH/x']) {
      expect((await post(lenient, target)).json, target).toMatchObject({ decided: true });
    }
  });
});
