import formbody from '@fastify/formbody';
import { MemoryStore, type Provider, type ProviderEvent, type Store, type StoreOp, type StoreResult, type Verdict } from '@vigil/core';
import Fastify, { type FastifyInstance, type FastifyPluginCallback, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { afterEach, expect } from 'vitest';
import { type VigilFastifyOptions, vigil } from '../src/index.js';

export { RecordingStore, recordingProvider } from '@vigil/core/testing';

export const LOGIN_ROUTE = { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } } as const;
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
/** What a browser's form post sends (Firefox: no Sec-Fetch-* needed over plain HTTP checks). */
export const BROWSER = { 'user-agent': BROWSER_UA, accept: BROWSER_ACCEPT, 'accept-language': 'en-US,en;q=0.5' };
export const API = { 'user-agent': 'curl/8.5.0', accept: 'application/json' };

/**
 * @fastify/formbody, typed against this package's Fastify: pnpm may resolve its types
 * to another copy of Fastify in the workspace, which TypeScript sees as a different type.
 */
export const formBodies = formbody as unknown as FastifyPluginCallback;

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** A Fastify 5 instance, closed after the test. */
export function fastify(options: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify(options);
  apps.push(app);
  return app;
}

/** What a handler tells about the decision it saw. */
export function seen(decision: FastifyRequest['vigil']) {
  return (
    decision && {
      action: decision.action,
      wouldAction: decision.wouldAction,
      wouldBlock: decision.wouldBlock,
      event: decision.event,
      route: decision.route,
      ip: decision.ip,
      failover: decision.failover,
      failoverReason: decision.failoverReason,
    }
  );
}

/**
 * Vigil registered with `options`, then a login handler (password "right" → 200, else
 * 401) and an unprotected page; `setup` runs after Vigil and before these routes.
 */
export async function loginApp(options: VigilFastifyOptions, setup?: (app: FastifyInstance) => void | Promise<void>, serverOptions?: FastifyServerOptions) {
  const app = fastify(serverOptions);
  await app.register(vigil, options);
  await setup?.(app);
  app.post('/login', async (request, reply) => {
    const ok = (request.body as { password?: string } | undefined)?.password === 'right';
    return reply.code(ok ? 200 : 401).send({ ok, vigil: seen(request.vigil) });
  });
  app.get('/page', async (request) => ({ page: true, vigil: request.vigil }));
  return app;
}

/** Resolves once `check` stops throwing (outcome logs happen after the response). */
export async function eventually(check: () => void, timeoutMs = 1000): Promise<void> {
  const start = Date.now();
  for (;;) {
    try {
      check();
      return;
    } catch (error) {
      if (Date.now() - start > timeoutMs) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/**
 * Records the hook names of every route declared after this call, as Fastify will run
 * them: an onRoute hook added after Vigil's sees the route options Vigil left.
 */
export function recordHooks(app: FastifyInstance): Map<string, Record<string, string[]>> {
  const routes = new Map<string, Record<string, string[]>>();
  const names = (hooks: unknown) => [hooks ?? []].flat().map((h) => (h as { name: string }).name);
  app.addHook('onRoute', (r) => {
    routes.set(`${[r.method].flat().join(',')} ${r.url}`, { onRequest: names(r.onRequest), preValidation: names(r.preValidation), preHandler: names(r.preHandler), onResponse: names(r.onResponse) });
  });
  return routes;
}

/** Vigil's device cookie (on by default) as a Set-Cookie line, for `toEqual` lists of cookies. */
export const DEVICE_COOKIE = expect.stringMatching(/^vigil_did=[0-9a-f]{32}\.[\w-]+; Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax(; Secure)?$/);

/** The Set-Cookie values of a response, in order. */
export function setCookies(res: { headers: Record<string, unknown> }): string[] {
  const value = res.headers['set-cookie'];
  return value === undefined ? [] : [value].flat().map(String);
}

/** Vigil's device cookie in a response: the whole header, the cookie value, and the id it carries. */
export function deviceCookieOf(res: { headers: Record<string, unknown> }, name = 'vigil_did'): { header: string; value: string; id: string } | undefined {
  const header = setCookies(res).find((c) => c.startsWith(`${name}=`));
  if (header === undefined) return undefined;
  const value = header.slice(name.length + 1).split(';')[0] as string;
  return { header, value, id: value.slice(0, value.lastIndexOf('.')) };
}
