import type { Provider, ProviderEvent, Verdict } from '@vigil/core';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { afterEach } from 'vitest';
import { type VigilExpressOptions, type VigilMiddleware, vigil } from '../src/index.js';

/** A provider that records every call and answers with `verdict` (or its function). */
export function recordingProvider(verdict: Verdict | ((event: ProviderEvent) => Verdict | Promise<Verdict>) = { risk: 0 }) {
  const calls = { filter: [] as ProviderEvent[], risk: [] as ProviderEvent[], log: [] as ProviderEvent[] };
  const answer = async (event: ProviderEvent) => (typeof verdict === 'function' ? verdict(event) : verdict);
  const provider: Provider = {
    name: 'recording',
    filter: async (event) => {
      calls.filter.push(event);
      return answer(event);
    },
    risk: async (event) => {
      calls.risk.push(event);
      return answer(event);
    },
    log: async (event) => {
      calls.log.push(event);
    },
  };
  return { provider, calls };
}

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
