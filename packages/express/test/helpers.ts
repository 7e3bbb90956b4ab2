import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MemoryStore, type Provider, type ProviderEvent, type Store, type StoreOp, type StoreResult, type Verdict } from '@vigil/core';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { afterEach, expect } from 'vitest';
import { type VigilExpressOptions, type VigilMiddleware, vigil } from '../src/index.js';

export { RecordingStore, recordingProvider } from '@vigil/core/testing';

export const LOGIN_ROUTE = { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } } as const;
export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

const guards: VigilMiddleware[] = [];
afterEach(async () => {
  await Promise.all(guards.splice(0).map((guard) => guard.close()));
});

/** `vigil(options)`, closed after the test. */
export function guard(options: VigilExpressOptions): VigilMiddleware {
  const middleware = vigil(options);
  guards.push(middleware);
  return middleware;
}

/** What the handlers tell about the decision they saw. */
export function seen(req: Request) {
  const d = req.vigil;
  return d && { action: d.action, wouldAction: d.wouldAction, wouldBlock: d.wouldBlock, protected: d.protected, event: d.event, failover: d.failover, failoverReason: d.failoverReason };
}

/**
 * An Express 5 app: body parsers, then Vigil, then a login handler (password "right"
 * → 200, else 401) and an unprotected page. Errors answer their status (or 500) with their name.
 */
export function loginApp(middleware: VigilMiddleware, setup?: (app: Express) => void): Express {
  const app = express();
  setup?.(app);
  app.use(express.json(), express.urlencoded());
  app.use(middleware);
  app.post('/login', (req, res) => {
    res.status(req.body?.password === 'right' ? 200 : 401).json({ ok: req.body?.password === 'right', vigil: seen(req) });
  });
  app.get('/public', (req, res) => {
    res.json({ page: 'public', vigil: seen(req) ?? null });
  });
  app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).json({ error: err.name, reason: (err as { reason?: string }).reason });
  });
  return app;
}

/** Headers of a real Firefox: the embedded engine lets them through. */
export const FIREFOX = { 'user-agent': BROWSER_UA, accept: BROWSER_ACCEPT, 'accept-language': 'en-US,en;q=0.5' };
/** The same browser calling a JSON API. */
export const FIREFOX_API = { ...FIREFOX, accept: 'application/json' };

/** One recorded store operation: what reached the store. */
export interface RecordedOp {
  type: StoreOp['type'];
  key: string;
  member?: string;
  value?: string;
}

/** Listens on 127.0.0.1 (closed after the test) and resolves the base URL. */
export async function listen(app: Express): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** Vigil's device cookie (on by default) as a Set-Cookie line, for `toEqual` lists of cookies. */
export const DEVICE_COOKIE = expect.stringMatching(/^vigil_did=[0-9a-f]{32}\.[\w-]+; Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax(; Secure)?$/);

/** The value (`name=value`) of the cookie `name` among a response's Set-Cookie headers. */
export function cookieOf(setCookie: string[] | string | undefined, name: string): string | undefined {
  const list = Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie];
  return list.find((c) => c.startsWith(`${name}=`))?.split(';')[0];
}
