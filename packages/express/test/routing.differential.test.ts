import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DifferentialApp, type DifferentialReport, requestTargetArbitrary, runRoutingDifferential, sampleRouting, sendOnce, usefulnessProblems } from '@vigil/core/testing';
import express, { type Request, type Response } from 'express';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VigilExpressOptions, type VigilMiddleware, vigil } from '../src/index.js';

// Issue 12, item 1: every request Express's router sends to a protected handler carries
// Vigil's decision, whatever the request target looks like. Real apps on loopback,
// targets written byte for byte on a raw socket. `pnpm fuzz` runs it longer.
const RUNS = Number(process.env.VIGIL_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 12);
// A guard against a hung socket, not a speed assertion: scales with the runs asked for.
const TIMEOUT = 120_000 + RUNS * 25;

const ROUTES: NonNullable<VigilExpressOptions['routes']> = [
  { method: 'POST', path: '/api/login', event: '$login', user: { email: 'body.email' } },
  { method: 'POST', path: '/users/:id/reset', event: '$password_reset_request' },
  { method: 'POST', path: '/api/signup', event: '$registration' },
  { method: 'POST', path: '/api/orders/:id/pay', event: '$transaction' },
];
const AUTH_ROUTE = { method: 'POST', path: '/auth/*', event: '$login', name: 'auth' } as const;
const EXCLUSIONS = ['/static', /\.css$/, /^\/health/];

const answer = (reached: string) => (req: Request, res: Response) => {
  res.json({ reached, decided: req.vigil?.protected === true });
};

/**
 * The test app: protected handlers (a static path, a parameter, a wildcard, a router
 * mounted at /api, a per-route guard) and unprotected ones that look like them.
 * Returns the names of the handlers Vigil protects.
 */
function buildApp(guard: VigilMiddleware, wildcardProtected: boolean): { app: express.Express; protectedHandlers: string[] } {
  const app = express();
  app.use(express.json());
  app.use(guard);
  app.post('/api/login', answer('login'));
  app.post('/users/:id/reset', answer('reset'));
  app.post('/auth/{*rest}', answer('auth'));
  app.post('/account/:id/email', guard.protect('$profile_update'), answer('email'));
  const api = express.Router();
  api.post('/signup', answer('signup'));
  api.post('/orders/:id/pay', answer('pay'));
  api.post('/logout', answer('logout'));
  app.use('/api', api);
  app.post('/users/:id', answer('user'));
  app.post('/static/{*file}', answer('static'));
  app.post('/health', answer('health'));
  app.post('/checkout', answer('checkout'));
  const protectedHandlers = ['login', 'reset', 'email', 'signup', 'pay', ...(wildcardProtected ? ['auth'] : [])];
  return { app, protectedHandlers };
}

const servers: Server[] = [];
const guards: VigilMiddleware[] = [];

async function start(name: string, options: VigilExpressOptions, wildcardProtected: boolean): Promise<DifferentialApp> {
  const guard = vigil({ mode: 'monitoring', ...options });
  guards.push(guard);
  const { app, protectedHandlers } = buildApp(guard, wildcardProtected);
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return { name, port: (server.address() as AddressInfo).port, protectedHandlers };
}

let routed: DifferentialApp;
let excluding: DifferentialApp;

beforeAll(async () => {
  routed = await start('express (routes)', { routes: [...ROUTES, AUTH_ROUTE] }, true);
  // No wildcard route here: "/auth/x.css" is rightly excluded by /\.css$/.
  excluding = await start('express (routes + uriExclusion)', { routes: ROUTES, uriExclusion: EXCLUSIONS }, false);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await Promise.all(guards.map((g) => g.close()));
});

const post = (app: DifferentialApp, target: string) => sendOnce(app.port, 'POST', target, { email: 'a@example.com' });

// The protected handlers' paths, and decoys next to them (unprotected, excluded).
const targets = requestTargetArbitrary(fc, {
  bases: ['/api/login', '/api/signup', '/api/orders/7/pay', '/users/42/reset', '/auth/x/callback', '/account/9/email', '/users/42', '/static/app.css', '/health'],
});

// The property cannot hold by sending 404s: a good share reaches a protected handler.
const expectUseful = (report: DifferentialReport) => expect(usefulnessProblems(report)).toEqual([]);

describe('issue 12: Express routing differential', () => {
  it(
    'every response from a protected handler says decided: true (routes, uriExclusion)',
    async () => {
      await runRoutingDifferential(fc, { apps: [routed, excluding], targets, numRuns: RUNS, seed: SEED });
    },
    TIMEOUT,
  );

  it('the targets reach protected handlers, mutated ones included', async () => {
    expectUseful(await sampleRouting(fc, { apps: [routed, excluding], targets, seed: SEED, count: 600 }));
  }, TIMEOUT);

  it('issue 12: absolute-form target', async () => {
    for (const target of ['http://localhost/api/login', 'HTTPS://a@b:1/api/login', 'ftp://x/users/1/reset']) {
      const res = await post(routed, target);
      expect(res.json, target).toMatchObject({ decided: true });
    }
  });

  it('issue 12: fragment', async () => {
    for (const target of ['/api/login#x', '/api/login#/../logout', '/auth/x#y']) {
      const res = await post(routed, target);
      expect(res.json, target).toMatchObject({ decided: true });
    }
  });

  it('issue 12: excluded-looking query, fragment and wildcard rest are still decided', async () => {
    for (const target of ['/api/login?x=.css', '/api/login#.css', '/api/login?/static/a.css', '/users/static/reset', 'http://h/api/login#/static']) {
      const res = await post(excluding, target);
      expect(res.json, target).toMatchObject({ decided: true });
    }
  });

  it('issue 12: case and trailing slash of a mounted router', async () => {
    for (const target of ['/API/Signup/', '/api/ORDERS/1/pay', '/Users/1/RESET/']) {
      const res = await post(routed, target);
      expect(res.json, target).toMatchObject({ decided: true });
    }
  });
});
