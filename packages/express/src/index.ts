import { type CompiledRoute, createVigil, type EnforceIO, type RequestInfo, type VigilConfig } from '@vigil/core';
import type { NextFunction, Request, Response } from 'express';
import type { ExpressRaw, VigilExpressOptions, VigilMiddleware } from './types.js';

export type { ExpressRaw, ProtectOptions, VigilExpressOptions, VigilMiddleware } from './types.js';
export { VigilConfigError, VigilProviderError } from '@vigil/core';
export type { ChallengeContext, Decision, DecisionAction, EventType, Mode, Provider, Verdict } from '@vigil/core';

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/**
 * Express's request as core's neutral {@link RequestInfo}. Routes are matched against
 * the full path (`originalUrl`), wherever the middleware is mounted.
 */
function toRequestInfo(req: Request, url: string, path: string): RequestInfo {
  return {
    method: req.method,
    url,
    path,
    query: req.query as Record<string, unknown>,
    headers: req.headers,
    remoteAddress: req.socket?.remoteAddress,
    cookies: req.cookies,
    // body-parser 2 (Express 5) leaves `req.body` undefined for a request without a body
    // of its type, but defines the property: a parser ran, the body is empty. Only a
    // missing property means no parser ran before Vigil (core then warns once).
    body: req.body === undefined && 'body' in req ? {} : req.body,
    // A getter: Express parses X-Forwarded-For for req.ip, and core reads it only with ip.useFramework.
    get frameworkIp() {
      return req.ip;
    },
  };
}

function expressIO(req: Request, res: Response): EnforceIO<ExpressRaw> {
  return {
    appendHeader: (name, value) => {
      // `res.append` adds to what is there: a provider's Set-Cookie never replaces the app's.
      res.append(name, typeof value === 'string' ? value : [...value]);
    },
    send: ({ status, headers, body }) => {
      res.status(status).set(headers).send(body);
    },
    headersSent: () => res.headersSent,
    raw: { req, res },
  };
}

/**
 * Creates Vigil's Express middleware. `app.use(vigil(options))` protects the configured
 * `routes`; `.protect(event, options)` builds middleware for one route. Register the
 * body parsers first: routes read user fields such as `body.email` from `req.body`.
 *
 * On a protected request the decision is in `req.vigil`. A block answers 403 (HTML for
 * browsers, JSON otherwise), a redirect goes to `redirectUrl`, a challenge goes to
 * `onChallenge` (with `raw: { req, res }`), anything else, and everything in monitoring
 * mode, goes on to the route; once the response is finished, its status is logged to
 * the provider as the outcome, without delaying it. Options are validated here: a bad
 * one throws a `VigilConfigError` naming the option and the fix.
 *
 * @example
 * import express from 'express'
 * import { vigil } from '@vigil/express'
 *
 * const app = express()
 * app.use(express.json(), express.urlencoded())
 * const guard = vigil({
 *   mode: 'blocking',
 *   routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
 * })
 * app.use(guard)
 * app.post('/login', (req, res) => res.json({ ok: true, risk: req.vigil?.risk }))
 * // or, per route:
 * app.post('/signup', guard.protect('$registration', { user: { email: 'body.email' } }), signup)
 */
export function vigil(options: VigilExpressOptions = {}): VigilMiddleware {
  const core = createVigil(options as VigilConfig);

  const decide = async (req: Request, res: Response, next: NextFunction, url: string, path: string, route?: CompiledRoute) => {
    const request = toRequestInfo(req, url, path);
    let result: 'proceed' | 'handled';
    try {
      const decision = await core.protect(request, route);
      req.vigil = decision;
      result = await core.enforce(decision, request, expressIO(req, res));
      if (result === 'proceed' && decision.protected) res.once('finish', () => core.logOutcome(decision, res.statusCode));
    } catch (error) {
      // `failover: 'throw'` in blocking mode: the app's error handler decides.
      next(error);
      return;
    }
    if (result === 'proceed') next();
  };

  const middleware = ((req: Request, res: Response, next: NextFunction) => {
    const url = req.originalUrl ?? req.url;
    const path = pathOf(url);
    // Unprotected and excluded requests cost one synchronous match.
    if (!core.match({ method: req.method, url, path })) return next();
    void decide(req, res, next, url, path);
  }) as VigilMiddleware;

  middleware.protect = (event, protectOptions = {}) => {
    const route = core.route({ ...protectOptions, event }, `vigil.protect(${JSON.stringify(event)})`);
    return (req, res, next) => {
      // Decided once: a request the app-level middleware already scored is not scored twice.
      if (req.vigil?.protected) return next();
      const url = req.originalUrl ?? req.url;
      void decide(req, res, next, url, pathOf(url), route);
    };
  };
  Object.defineProperty(middleware, 'core', { value: core, enumerable: true });
  middleware.close = () => core.close();
  return middleware;
}
