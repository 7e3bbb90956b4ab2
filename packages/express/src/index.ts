import {
  type CompiledRoute,
  captureBody,
  createHandle,
  createVigil,
  type Decision,
  type EnforceIO,
  lazyHandleClass,
  type OutcomeResponse,
  type RenderedResponse,
  type RequestInfo,
  requestOf,
  routedPathOf,
  type VigilConfig,
  type VigilHandle,
  watchSignIn,
} from '@vigil/core';
import type { NextFunction, Request, Response } from 'express';
import type { ExpressRaw, VigilExpressOptions, VigilMiddleware } from './types.js';

export type {
  BlockedUser,
  ChallengeContext,
  Decision,
  DecisionAction,
  DeviceCookieOptions,
  DeviceRecord,
  EventType,
  IdentifyOptions,
  Mode,
  Provider,
  TrackLoginOptions,
  TrackSignupOptions,
  Verdict,
  VigilHandle,
} from '@vigil/core';
export { hcaptcha, recaptcha, signUserId, turnstile, VigilConfigError, VigilProviderError, VigilUnsupportedError, verifyWebhook, WebhookVerificationError } from '@vigil/core';
export type { BlockOptions, ExpressRaw, IdentifyResult, ProtectOptions, VigilExpressOptions, VigilMiddleware } from './types.js';

/**
 * The path Express's router routes a target on (parseurl's pathname: absolute-form and
 * fragments dropped, no percent-decoding). A target Express routes nowhere keeps its
 * query-less spelling: it reaches no handler either way.
 */
function routedPath(url: string): string {
  return routedPathOf(url, 'express');
}

/**
 * Express's request as core's neutral {@link RequestInfo}. Routes are matched against
 * the full path (`originalUrl`), wherever the middleware is mounted. A class: what
 * Express computes on each read (`req.query` parses the query string, `req.protocol`
 * and `req.ip` follow `trust proxy`) is read through prototype getters, only when core
 * needs it, with no closure per request.
 */
class ExpressRequestInfo implements RequestInfo {
  readonly #req: Request;
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly headers: Request['headers'];
  readonly rawHeaders: string[];
  readonly cookies: Record<string, string | undefined> | undefined;
  readonly remoteAddress: string | undefined;
  body: unknown;
  constructor(req: Request, url: string, path: string) {
    this.#req = req;
    this.method = req.method;
    this.url = url;
    this.path = path;
    this.headers = req.headers;
    // Names in the order and case the client sent them: CHEQ fingerprints them.
    this.rawHeaders = req.rawHeaders;
    // cookie-parser's result when it ran before Vigil; core reads the Cookie header otherwise.
    this.cookies = req.cookies;
    this.remoteAddress = req.socket?.remoteAddress;
    // body-parser 2 (Express 5) leaves `req.body` undefined for a request without a body
    // of its type, but defines the property: a parser ran, the body is empty. Only a
    // missing property means no parser ran before Vigil (core then warns once).
    this.body = req.body === undefined && 'body' in req ? {} : req.body;
  }
  /** The form a passed challenge's page re-posted, put back where the route's handler reads it. */
  setBody(body: unknown): void {
    this.body = body;
    this.#req.body = body;
  }
  /** Parsed by Express on each read: read only by `query.*` user fields. */
  get query(): Record<string, unknown> {
    return this.#req.query as Record<string, unknown>;
  }
  // Express works both out from `trust proxy` (X-Forwarded-Proto, X-Forwarded-For), and
  // core reads them only when needed (the device cookie's Secure flag, CHEQ's
  // RequestURL; the client IP only with ip.useFramework).
  get protocol(): string {
    return this.#req.protocol;
  }
  get frameworkIp(): string | undefined {
    return this.#req.ip;
  }
}

function toRequestInfo(req: Request, url: string = req.originalUrl ?? req.url, path: string = routedPath(url)): RequestInfo {
  return new ExpressRequestInfo(req, url, path);
}

/** How core answers through Express: methods on the prototype, so a request costs this object and its `raw`. */
class ExpressIO implements EnforceIO<ExpressRaw> {
  readonly raw: ExpressRaw;
  constructor(req: Request, res: Response) {
    this.raw = { req, res };
  }
  appendHeader(name: string, value: string | readonly string[]): void {
    // `res.append` adds to what is there: a provider's (or the device cookie's)
    // Set-Cookie never replaces the app's own.
    this.raw.res.append(name, typeof value === 'string' ? value : [...value]);
  }
  send({ status, headers, body }: RenderedResponse): void {
    this.raw.res.status(status).set(headers).send(body);
  }
  headersSent(): boolean {
    return this.raw.res.headersSent;
  }
}

/**
 * Creates Vigil's Express middleware. `app.use(vigil(options))` protects the configured
 * `routes`; `.protect(event, options)` builds middleware for one route. Register the
 * body parsers first: routes read user fields such as `body.email` from `req.body`.
 *
 * Every request that goes through the middleware gets `req.vigil`: the decision (on a
 * protected request; a shared "not protected" one elsewhere) plus `identify`,
 * `trackLogin`, `trackSignup` and `trackCustom` for that request. A block answers 403
 * (HTML for browsers, JSON otherwise), a redirect goes to `redirectUrl`, a challenge
 * gets the built-in proof-of-work challenge (a page for a browser's form, JSON
 * otherwise; the middleware serves its assets under `challenge.assetsPath`) or goes to
 * `onChallenge` (with `raw: { req, res }`), anything else, and everything in
 * monitoring mode, goes on to the route; once the response is finished, its status is
 * logged to the provider as the outcome, without delaying it. The middleware also
 * carries the admin operations (`blockUser`, `reportDevice`, ...). Options are
 * validated here: a bad one throws a `VigilConfigError` naming the option and the fix.
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
 * app.get('/account', async (req, res) => {
 *   if ((await req.vigil!.identify({ id: req.session.userId })).handled) return // blocked user: 403 sent
 *   res.render('account')
 * })
 * // or, per route:
 * app.post('/signup', guard.protect('$registration', { user: { email: 'body.email' } }), signup)
 */
export function vigil(options: VigilExpressOptions = {}): VigilMiddleware {
  const core = createVigil(options as VigilConfig);

  // The neutral request of a request decided on (found through its handle, req.vigil):
  // guard.trackLogin(req) reuses it, so that an explicit outcome replaces the automatic
  // one and sees the device issued.
  const infoOf = (req: Request): RequestInfo => requestOf(req.vigil) ?? toRequestInfo(req);

  const decide = async (req: Request, res: Response, next: NextFunction, url: string, path: string, route?: CompiledRoute) => {
    const request = toRequestInfo(req, url, path);
    const io = new ExpressIO(req, res);
    let result: 'proceed' | 'handled';
    try {
      const decision = await core.protect(request, route);
      req.vigil = createHandle(core, decision, () => request, io);
      result = await core.enforce(decision, request, io);
      if (result === 'proceed' && decision.protected) {
        // The response the outcome rules read once it is finished: status, headers
        // (a redirect's Location, a session's Set-Cookie), whether the handler signed a
        // user in (Passport's req.logIn), and the body only for a rule that reads it.
        const signedIn = watchSignIn(req);
        const body = core.needsResponseBody(decision) ? captureBody(res) : undefined;
        // `on`, not `once`: a response finishes once, and `once` costs a wrapper and its state.
        res.on('finish', () => {
          const status = res.statusCode;
          const headers = res.getHeaders();
          const response: OutcomeResponse = body === undefined ? { status, headers, signedIn: signedIn() } : { status, headers, signedIn: signedIn(), body: body() };
          core.logOutcome(decision, response);
        });
      }
    } catch (error) {
      // `failover: 'throw'` in blocking mode: the app's error handler decides.
      next(error);
      return;
    }
    if (result === 'proceed') next();
  };

  /** A handle for code that holds an Express request: core's, with the RequestInfo built only if a helper needs it. */
  const handleOf = (req: Request, res: Response, decision: Decision, url?: string, path?: string): VigilHandle =>
    createHandle(core, decision, () => toRequestInfo(req, url, path), new ExpressIO(req, res));
  // The handles of requests Vigil leaves alone: one small object each (see core's lazyHandleClass).
  const Unprotected = lazyHandleClass(core.unprotectedDecision, (req: Request, res: Response) => handleOf(req, res, core.unprotectedDecision));
  const Excluded = lazyHandleClass(core.excludedDecision, (req: Request, res: Response) => handleOf(req, res, core.excludedDecision));

  /** Answers a request for one of the challenge page's assets; false for any other. */
  const sendAsset = (req: Request, res: Response, path: string): boolean => {
    const asset = core.challengeAsset(req.method, path);
    if (asset === undefined) return false;
    res.status(asset.status).set(asset.headers).send(asset.body);
    return true;
  };

  const middleware = ((req: Request, res: Response, next: NextFunction) => {
    let url = req.originalUrl ?? req.url;
    let path = routedPath(url);
    // Unprotected and excluded requests cost one synchronous match and a handle.
    let route = core.match({ method: req.method, path });
    // Express routes on `req.url` (below the mount point), which a middleware before
    // Vigil may have rewritten (`/en/login` → `/login`): what the router will see counts.
    if (route === undefined && req.url !== url) {
      const current = (req.baseUrl ?? '') + req.url;
      const rewritten = routedPath(current);
      route = core.match({ method: req.method, path: rewritten });
      if (route !== undefined) {
        url = current;
        path = rewritten;
      }
    }
    if (route) {
      void decide(req, res, next, url, path, route);
      return;
    }
    // The built-in challenge page's scripts and styles (GET or HEAD under its assetsPath).
    if (sendAsset(req, res, path)) return;
    // A per-route or earlier Vigil middleware may have decided already: keep that.
    if (!req.vigil) req.vigil = core.isExcluded({ path }) ? new Excluded(req, res) : new Unprotected(req, res);
    next();
  }) as VigilMiddleware;

  middleware.protect = (event, protectOptions = {}) => {
    const route = core.route({ ...protectOptions, event }, `vigil.protect(${JSON.stringify(event)})`);
    return (req, res, next) => {
      // Decided once: a request the app-level middleware already scored is not scored twice.
      if (req.vigil?.protected) return next();
      const url = req.originalUrl ?? req.url;
      const path = routedPath(url);
      // On a route (`app.post('/login', guard.protect(...))`) Express chose the handler:
      // decided whatever the exclusions say. Mounted with `app.use`, it is a broad rule
      // that `uriExclusion` carves out of.
      if (req.route === undefined && core.isExcluded({ path })) {
        req.vigil ??= new Excluded(req, res);
        return next();
      }
      void decide(req, res, next, url, path, route);
    };
  };
  Object.defineProperty(middleware, 'challengeAssets', {
    enumerable: true,
    value: (req: Request, res: Response, next: NextFunction) => {
      if (!sendAsset(req, res, routedPath(req.originalUrl ?? req.url))) next();
    },
  });
  Object.defineProperty(middleware, 'core', { value: core, enumerable: true });
  middleware.close = () => core.close();

  // User monitoring for code that holds an Express request (with or without req.vigil).
  middleware.identify = (req, res, user) => handleOf(req, res, core.unprotectedDecision).identify(user);
  middleware.trackLogin = async (req, trackOptions) => core.trackLogin(infoOf(req), trackOptions);
  middleware.trackSignup = async (req, trackOptions = {}) => core.trackSignup(infoOf(req), trackOptions);
  middleware.trackCustom = async (req, name, properties) => core.trackCustom(infoOf(req), name, properties);

  // Admin operations. Async wrappers: an operation the provider lacks rejects with a
  // VigilUnsupportedError rather than throwing synchronously.
  middleware.blockUser = async (userId, blockOptions) => core.blockUser(userId, blockOptions);
  middleware.unblockUser = async (userId) => core.unblockUser(userId);
  middleware.listBlockedUsers = async () => core.listBlockedUsers();
  middleware.reportDevice = async (deviceId, reportOptions) => core.reportDevice(deviceId, reportOptions);
  middleware.approveDevice = async (deviceId) => core.approveDevice(deviceId);
  middleware.getDevicesForUser = async (userId) => core.getDevicesForUser(userId);
  return middleware;
}
