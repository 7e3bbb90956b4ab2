import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, HttpCode, type INestApplication, Post } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { EventType, RouteDefinition, VigilHandle } from '@vigil/core';
import { type DifferentialApp, type DifferentialReport, requestTargetArbitrary, runRoutingDifferential, sampleRouting, sendOnce, usefulnessProblems } from '@vigil/core/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Protect, VigilDecision, VigilGuard, VigilModule, type VigilModuleOptions } from '../src/index.js';
import { createApp, PLATFORMS, type Platform } from './helpers.js';

// Issue 12, item 1: every request Nest's router sends to a protected handler carries
// Vigil's decision, whatever the request target looks like — with the `routes` option
// and with @Protect(), on the Express and the Fastify platform. Real apps on loopback,
// targets written byte for byte on a raw socket. `pnpm fuzz` runs it longer.
const RUNS = Number(process.env.VIGIL_FUZZ_RUNS ?? 2000);
const SEED = Number(process.env.VIGIL_FUZZ_SEED ?? 12);
// A guard against a hung socket, not a speed assertion: scales with the runs asked for.
const TIMEOUT = 120_000 + RUNS * 40;

/** One handler of the test app: where Nest mounts it, and the route Vigil protects it as. */
interface HandlerSpec {
  controller: string;
  /** Nest passes paths to the platform's router: wildcards are spelt its way. */
  path: string | Record<Platform, string>;
  reached: string;
  /** The event it is protected as; undefined: unprotected. */
  event?: EventType;
  /** The `routes` entry of the handler (the full path as Vigil matches it). */
  route?: string;
  /** A wildcard: not protected next to uriExclusion (/\.css$/ rightly excludes "/auth/x.css"). */
  wildcard?: boolean;
}

const HANDLERS: HandlerSpec[] = [
  { controller: 'api', path: 'login', reached: 'login', event: '$login', route: '/api/login' },
  { controller: 'api', path: 'signup', reached: 'signup', event: '$registration', route: '/api/signup' },
  { controller: 'api', path: 'orders/:id/pay', reached: 'pay', event: '$transaction', route: '/api/orders/:id/pay' },
  { controller: 'api', path: 'logout', reached: 'logout' },
  { controller: 'users', path: ':id/reset', reached: 'reset', event: '$password_reset_request', route: '/users/:id/reset' },
  { controller: 'users', path: ':id', reached: 'user' },
  { controller: 'account', path: ':id/email', reached: 'email', event: '$profile_update', route: '/account/:id/email' },
  { controller: 'auth', path: { express: '{*rest}', fastify: '*' }, reached: 'auth', event: '$login', route: '/auth/*', wildcard: true },
  { controller: 'static', path: { express: '{*file}', fastify: '*' }, reached: 'static' },
  { controller: '', path: 'health', reached: 'health' },
];

type Style = 'routes' | 'protect';

/**
 * Controllers for the handlers, built per app (decorators are applied by hand, as
 * they would be by the compiler): `routes` style leaves them undecorated, for the
 * `routes` option; `protect` style puts @Protect() on the protected ones.
 */
function controllersFor(platform: Platform, style: Style, wildcards: boolean): (new () => object)[] {
  const byPrefix = new Map<string, HandlerSpec[]>();
  for (const handler of HANDLERS) byPrefix.set(handler.controller, [...(byPrefix.get(handler.controller) ?? []), handler]);
  return [...byPrefix].map(([prefix, handlers]) => {
    class RoutingController {}
    handlers.forEach((handler, i) => {
      const name = `handle${i}`;
      const protects = handler.event !== undefined && (wildcards || !handler.wildcard);
      Object.defineProperty(RoutingController.prototype, name, {
        value: (vigil: VigilHandle | undefined) => ({ reached: handler.reached, decided: vigil?.protected === true }),
        writable: true,
        configurable: true,
      });
      VigilDecision()(RoutingController.prototype, name, 0);
      const descriptor = Object.getOwnPropertyDescriptor(RoutingController.prototype, name) as PropertyDescriptor;
      const decorators: MethodDecorator[] = [Post(typeof handler.path === 'string' ? handler.path : handler.path[platform]), HttpCode(200)];
      if (style === 'protect' && protects) decorators.push(Protect(handler.event as EventType, { name: handler.reached }));
      for (const decorator of decorators.reverse()) decorator(RoutingController.prototype, name, descriptor);
      Object.defineProperty(RoutingController.prototype, name, descriptor);
    });
    Object.defineProperty(RoutingController, 'name', { value: `${prefix || 'root'}RoutingController` });
    Controller(prefix)(RoutingController);
    return RoutingController;
  });
}

function protectedNames(wildcards: boolean): string[] {
  return HANDLERS.filter((h) => h.event !== undefined && (wildcards || !h.wildcard)).map((h) => h.reached);
}

function routesOption(wildcards: boolean): RouteDefinition[] {
  return HANDLERS.filter((h) => h.route !== undefined && (wildcards || !h.wildcard)).map((h) => ({ method: 'POST', path: h.route as string, event: h.event as EventType, name: h.reached }));
}

const EXCLUSIONS = ['/static', /\.css$/, /^\/health/];
const nestApps: INestApplication[] = [];

async function start(platform: Platform, name: string, style: Style, options: VigilModuleOptions, wildcards: boolean): Promise<DifferentialApp> {
  const app = await createApp(platform, {
    imports: [VigilModule.forRoot({ mode: 'monitoring', ...options })],
    controllers: controllersFor(platform, style, wildcards),
    providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
  });
  nestApps.push(app);
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as Server;
  return { name: `nest ${platform}: ${name}`, port: (server.address() as AddressInfo).port, protectedHandlers: protectedNames(wildcards) };
}

afterAll(async () => {
  await Promise.all(nestApps.map((app) => app.close()));
});

// The protected handlers' paths, and decoys next to them (unprotected, excluded).
const targets = requestTargetArbitrary(fc, {
  bases: ['/api/login', '/api/signup', '/api/orders/7/pay', '/users/42/reset', '/auth/x/callback', '/account/9/email', '/users/42', '/static/app.css', '/health'],
});

const post = (app: DifferentialApp, target: string) => sendOnce(app.port, 'POST', target, { email: 'a@example.com' });

// The property cannot hold by sending 404s: a good share reaches a protected handler.
const expectUseful = (report: DifferentialReport) => expect(usefulnessProblems(report)).toEqual([]);

describe.each(PLATFORMS)('issue 12: Nest routing differential on %s', (platform) => {
  let routed: DifferentialApp;
  let protecting: DifferentialApp;
  let excluding: DifferentialApp;

  beforeAll(async () => {
    routed = await start(platform, 'routes option', 'routes', { routes: routesOption(true) }, true);
    protecting = await start(platform, '@Protect()', 'protect', {}, true);
    excluding = await start(platform, 'routes option + @Protect() + uriExclusion', 'protect', { routes: routesOption(false), uriExclusion: EXCLUSIONS }, false);
  });

  it(
    'every response from a protected handler says decided: true (routes, @Protect, uriExclusion)',
    async () => {
      await runRoutingDifferential(fc, { apps: [routed, protecting, excluding], targets, numRuns: RUNS, seed: SEED });
    },
    TIMEOUT,
  );

  it('the targets reach protected handlers, mutated ones included', async () => {
    expectUseful(await sampleRouting(fc, { apps: [routed, protecting, excluding], targets, seed: SEED, count: 600 }));
  }, TIMEOUT);

  it('issue 12: absolute-form target', async () => {
    for (const target of ['http://localhost/api/login', 'HTTPS://a@b:1/users/1/reset', 'hTtP://[::1]:80/auth/x']) {
      expect((await post(routed, target)).json, target).toMatchObject({ decided: true });
    }
  });

  it('issue 12: fragment', async () => {
    for (const target of ['/api/login#x', '/users/1/reset#/../logout', '/auth/x#']) {
      expect((await post(routed, target)).json, target).toMatchObject({ decided: true });
    }
  });

  it('issue 12: excluded-looking query and fragment are still decided', async () => {
    for (const target of ['/api/login?x=.css', '/api/login#.css', '/users/static/reset', '/account/1/email?/static']) {
      expect((await post(excluding, target)).json, target).toMatchObject({ decided: true });
    }
  });

  it('issue 12: a decoded line break in a wildcard route (%0a, %0D, %E2%80%A8)', async () => {
    // find-my-way decodes them before routing; a "." in a RegExp does not match them.
    for (const target of ['/auth/%0ax', '/auth/x%0D', '/auth/%E2%80%A8x', '/auth/x/%e2%80%a9']) {
      expect((await post(routed, target)).json, target).toMatchObject({ reached: 'auth', decided: true });
    }
  });

  if (platform === 'fastify') {
    it('issue 12: %6Cogin on find-my-way (it decodes before routing)', async () => {
      for (const target of ['/api/%6Cogin', '/users/1/%72eset', '/%61uth/x', '/api/orders/1/%70ay']) {
        expect((await post(routed, target)).json, target).toMatchObject({ decided: true });
      }
    });
  }
});
