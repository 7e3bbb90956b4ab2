import type {
  BlockedUser,
  ChallengeContext,
  Decision,
  EventType,
  IdentifyOptions,
  RouteDefinition,
  TrackLoginOptions,
  TrackSignupOptions,
  Vigil,
  VigilConfig,
  VigilHandle,
} from '@vigil/core';
import type { Request, RequestHandler, Response } from 'express';

declare global {
  namespace Express {
    interface Request {
      /**
       * Vigil's handle on this request: the decision (its fields read through:
       * `action`, `wouldBlock`, `risk`, `reasons`...) plus request-aware helpers
       * (`identify`, `trackLogin`, `trackSignup`, `trackCustom`). Set on every request
       * that went through a Vigil middleware — protected or not (`protected` tells);
       * undefined only where no Vigil middleware ran. `req.vigil.decision` is the plain,
       * frozen decision, for logs and JSON (the handle itself serializes as `{}`).
       *
       * @example
       * app.post('/login', (req, res) => {
       *   if (req.vigil?.wouldBlock) console.info('would have blocked', req.vigil.reasons)
       * })
       * app.get('/account', requireSession, async (req, res) => {
       *   if ((await req.vigil!.identify({ id: req.session.userId })).handled) return
       *   res.render('account')
       * })
       */
      vigil?: VigilHandle;
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
 *   deviceCookie: { secret: process.env.VIGIL_DEVICE_SECRET },
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
 * What `identify` resolves to: whether the user (or the request's device) is blocked,
 * whether Vigil answered the request with the block response (blocking mode; stop
 * handling the request then), and the identify decision itself.
 *
 * @example
 * const { blocked, handled }: IdentifyResult = await req.vigil!.identify({ id: user.id })
 * if (handled) return
 * if (blocked) audit.warn({ userId: user.id }, 'blocked user (monitoring mode)')
 */
export interface IdentifyResult {
  /** The user, or the request's device, is on the block list. */
  blocked: boolean;
  /** Vigil wrote the block response (blocking mode): the route must not answer. */
  handled: boolean;
  /** The identify decision: `block` (or `redirect`) in blocking mode, `allow` with `wouldBlock` in monitoring mode. */
  decision: Decision;
}

/** Options of `blockUser` and `reportDevice`. */
export interface BlockOptions {
  /** Why (shown by `listBlockedUsers` and in decisions' reasons). */
  reason?: string;
  /** For how long, in ms. Default: until lifted. */
  ttl?: number;
}

/**
 * The middleware {@link vigil} returns: mount it with `app.use()` to protect the
 * configured `routes` (and give every request `req.vigil`), or build per-route
 * middleware with `.protect()`. It also carries the user-monitoring API: tracking and
 * `identify` for an Express request, and the admin operations.
 *
 * @example
 * const guard: VigilMiddleware = vigil({ mode: 'blocking', deviceCookie: true })
 * app.post('/login', guard.protect('$login', { user: { email: 'body.email' } }), login)
 * app.post('/admin/users/:id/block', requireAdmin, async (req, res) => {
 *   await guard.blockUser(req.params.id, { reason: 'fraud' })
 *   res.sendStatus(204)
 * })
 * process.on('SIGTERM', () => guard.close())
 */
export interface VigilMiddleware extends RequestHandler {
  /** Middleware protecting the one route it is mounted on, as `event`; built once, at start-up. */
  protect(event: EventType, options?: ProtectOptions): RequestHandler;
  /**
   * Serves the built-in challenge page's scripts and styles (GET and HEAD under
   * `challenge.assetsPath`) and passes every other request on. `app.use(guard)` does it
   * already; an app that only uses `guard.protect(...)` on its routes mounts this one,
   * at the app's root: `app.use(guard.challengeAssets)`.
   */
  readonly challengeAssets: RequestHandler;
  /** The `@vigil/core` instance behind the middleware. */
  readonly core: Vigil;
  /** Waits for pending outcome logs and releases the provider. */
  close(): Promise<void>;
  /**
   * Maps the request to a user and enforces blocks, for code that has no `req.vigil`
   * (a router mounted without `app.use(guard)`). In blocking mode a blocked user (or
   * reported device) gets the block response — negotiated HTML or JSON, like every
   * block — and `handled` is true: stop handling the request. Same as
   * `req.vigil.identify(user)` where `req.vigil` exists.
   */
  identify(req: Request, res: Response, user: IdentifyOptions): Promise<IdentifyResult>;
  /** Reports a login attempt's outcome for this request (IP, headers, device cookie). Never throws. */
  trackLogin(req: Request, options: TrackLoginOptions): Promise<void>;
  /** Reports a sign-up for this request. Never throws. */
  trackSignup(req: Request, options?: TrackSignupOptions): Promise<void>;
  /** Reports an app-defined event for this request. Never throws. */
  trackCustom(req: Request, name: string, properties?: Record<string, unknown>): Promise<void>;
  /**
   * Refuses every request that identifies this user (`ttl` in ms; default until
   * unblocked). Served by the embedded engine; a provider without block lists (Castle,
   * CHEQ) rejects with `VigilUnsupportedError`, as for every operation it lacks.
   */
  blockUser(userId: string, options?: BlockOptions): Promise<void>;
  /** Lifts a user block. */
  unblockUser(userId: string): Promise<void>;
  /** The users on the block list, `[{ id, reason, at }]`. */
  listBlockedUsers(): Promise<BlockedUser[]>;
  /** Refuses every request from this device (embedded engine: a device-cookie id; Castle: a device token). */
  reportDevice(deviceId: string, options?: BlockOptions): Promise<unknown>;
  /** Trusts this device for its user (lifts a report). */
  approveDevice(deviceId: string): Promise<unknown>;
  /**
   * The user's devices: the embedded engine's `DeviceRecord[]` (`id`, `firstSeen`,
   * `lastSeen`, `ips`, `userAgent`, `approved`, `reported`), or Castle's answer.
   */
  getDevicesForUser(userId: string): Promise<unknown>;
}
