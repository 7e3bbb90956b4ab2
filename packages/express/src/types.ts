import type { ChallengeContext, Decision, EventType, RouteDefinition, Vigil, VigilConfig } from '@vigil/core';
import type { Request, RequestHandler, Response } from 'express';

declare global {
  namespace Express {
    interface Request {
      /**
       * Vigil's decision about this request: set on every request a Vigil middleware
       * decided about, undefined on routes it does not protect.
       *
       * @example
       * app.post('/login', (req, res) => {
       *   if (req.vigil?.wouldBlock) console.info('would have blocked', req.vigil.reasons)
       * })
       */
      vigil?: Decision;
    }
  }
}

/**
 * The Express objects `onChallenge` receives as `raw`.
 *
 * @example
 * onChallenge: ({ proceed, raw: { req, res } }) => {
 *   if (req.body?.captchaToken) return proceed()
 *   res.status(403).render('captcha')
 * }
 */
export interface ExpressRaw {
  req: Request;
  res: Response;
}

/**
 * Options of {@link vigil}: every option of `@vigil/core`'s `createVigil` (see its
 * README), with `onChallenge` typed for Express.
 *
 * @example
 * const options: VigilExpressOptions = {
 *   mode: 'blocking',
 *   routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
 *   onChallenge: ({ raw: { res } }) => res.status(403).json({ challenge: 'captcha' }),
 * }
 */
export interface VigilExpressOptions extends Omit<VigilConfig, 'onChallenge'> {
  /** The CAPTCHA hand-off: answer with `raw.res`, or call `proceed()` to go on to the route. */
  onChallenge?: (ctx: ChallengeContext<ExpressRaw>) => unknown;
}

/**
 * What a route protected with `vigil.protect(event, options)` declares; Express's own
 * route decides the path and the method.
 *
 * @example
 * const options: ProtectOptions = { user: { email: 'body.email' }, outcome: { failed: [401, 423] } }
 */
export type ProtectOptions = Pick<RouteDefinition, 'name' | 'user' | 'outcome'>;

/**
 * The middleware {@link vigil} returns: mount it with `app.use()` to protect the
 * configured `routes`, or build per-route middleware with `.protect()`.
 *
 * @example
 * const guard: VigilMiddleware = vigil({ mode: 'blocking' })
 * app.post('/login', guard.protect('$login', { user: { email: 'body.email' } }), login)
 * process.on('SIGTERM', () => guard.close())
 */
export interface VigilMiddleware extends RequestHandler {
  /** Middleware protecting the one route it is mounted on, as `event`; built once, at start-up. */
  protect(event: EventType, options?: ProtectOptions): RequestHandler;
  /** The `@vigil/core` instance behind the middleware. */
  readonly core: Vigil;
  /** Waits for pending outcome logs and releases the provider. */
  close(): Promise<void>;
}
