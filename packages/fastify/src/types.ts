import type { ChallengeContext, Decision, IdentifyOptions, RouteDefinition, TrackLoginOptions, TrackSignupOptions, Vigil, VigilConfig, VigilHandle } from '@vigil/core';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The Fastify objects `onChallenge` receives as `raw`.
 *
 * @example
 * onChallenge: ({ request, proceed, raw: { reply } }) => {
 *   if (request.body?.captcha === 'passed') return proceed()
 *   return reply.code(403).send({ challenge: 'captcha' })
 * }
 */
export interface FastifyRaw {
  request: FastifyRequest;
  reply: FastifyReply;
}

/**
 * Options of the {@link vigil} plugin: every option of `@vigil/core`'s `createVigil`
 * (see its README), with `onChallenge` typed for Fastify. `logger` defaults to
 * `fastify.log`.
 *
 * @example
 * const options: VigilFastifyOptions = {
 *   mode: 'blocking',
 *   routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
 *   onChallenge: ({ raw: { reply } }) => reply.code(403).send({ challenge: 'captcha' }),
 * }
 */
export interface VigilFastifyOptions extends Omit<VigilConfig, 'onChallenge'> {
  /**
   * The CAPTCHA hand-off: answer with `raw.reply` and return it (`return reply.send(...)`,
   * as in any async Fastify hook), or call `proceed()` to go on to the route.
   */
  onChallenge?: (ctx: ChallengeContext<FastifyRaw>) => unknown;
}

/**
 * What a route declares in `config.vigil` to be protected whatever the global `routes`
 * say; the Fastify route itself decides the path and the methods.
 *
 * @example
 * fastify.post('/signup', { config: { vigil: { event: '$registration', user: { email: 'body.email' } } } }, signup)
 */
export type VigilRouteConfig = Omit<RouteDefinition, 'path' | 'method'>;

/**
 * What `identify` resolves to: whether the user (or the request's device) is on the
 * block list, whether Vigil answered the request with the block response (stop
 * handling it), and the identify decision (`block` in blocking mode; `allow` with
 * `wouldBlock` in monitoring mode).
 *
 * @example
 * const { blocked, handled } = await request.vigil.identify({ id: user.id }, reply)
 * if (handled) return reply
 */
export interface IdentifyResult {
  /** The user (or the request's device) is on the block list, whatever the mode. */
  blocked: boolean;
  /** Vigil answered the request (403, or the redirect): return `reply` and do nothing else. */
  handled: boolean;
  /** The identify decision: `action` is `block` (or `redirect`) for a blocked user in blocking mode. */
  decision: Decision;
}

/**
 * `request.vigil`: the request's decision (its fields read through: `action`, `risk`,
 * `wouldBlock`, `protected`...) plus request-aware helpers. On a route without a Vigil
 * hook, or a path `uriExclusion` excludes, the decision is core's unprotected one
 * (`protected: false`, `action: 'allow'`). `JSON.stringify(request.vigil)` gives the
 * decision.
 *
 * @example
 * fastify.get('/account', async (request, reply) => {
 *   const user = await sessionUser(request)
 *   if ((await request.vigil.identify({ id: user.id, plan: user.plan }, reply)).handled) return reply
 *   await request.vigil.trackCustom('account_viewed')
 *   return user
 * })
 */
export interface VigilRequestHandle extends VigilHandle {
  /**
   * Maps this request to a user and enforces blocks in the same call. In blocking mode a
   * blocked user gets the block response (negotiated like every block: HTML for
   * browsers, JSON otherwise, or the `redirectUrl`) and `handled` is true: return
   * `reply`. In monitoring mode `blocked` says so and the request goes on.
   *
   * `reply` is how Vigil answers. On a route with a Vigil hook it is known already; on
   * any other route pass it, or Vigil cannot answer (`handled` stays false and a
   * `VIGIL_W_IDENTIFY_UNANSWERED` warning is logged once).
   */
  identify(user: IdentifyOptions, reply?: FastifyReply): Promise<IdentifyResult>;
  /** The decision, for `reply.send({ vigil: request.vigil })` and loggers. */
  toJSON(): Decision;
}

/**
 * `fastify.vigil`: the `@vigil/core` instance (`mode`, `provider`, `match`, `protect`,
 * `respond`, the admin operations...) with the request-taking methods taking Fastify's
 * request instead of a neutral one.
 *
 * @example
 * await fastify.vigil.blockUser('u-42', { reason: 'fraud ring', ttl: 24 * 3600_000 })
 * await fastify.vigil.trackLogin(request, { success: false, email, userExists: false })
 */
export interface VigilFastify extends Omit<Vigil, 'trackSignup' | 'trackLogin' | 'trackCustom' | 'identify'> {
  /** The core instance itself, whose methods take neutral requests (`RequestInfo`). */
  readonly core: Vigil;
  /** Reports a sign-up from this request. Never throws. */
  trackSignup(request: FastifyRequest, options?: TrackSignupOptions): Promise<void>;
  /** Reports a login attempt's outcome from this request. Never throws. */
  trackLogin(request: FastifyRequest, options: TrackLoginOptions): Promise<void>;
  /** Reports an app-defined event from this request. Never throws. */
  trackCustom(request: FastifyRequest, name: string, properties?: Record<string, unknown>): Promise<void>;
  /** `request.vigil.identify(user, reply)`. */
  identify(request: FastifyRequest, user: IdentifyOptions, reply?: FastifyReply): Promise<IdentifyResult>;
  /**
   * Verifies a Castle-signed webhook (`X-Castle-Signature`, base64 HMAC-SHA256 of the raw
   * body) with `@vigil/core`'s `verifyWebhook`. The raw body is `request.rawBody`
   * (fastify-raw-body) or `request.body` when a content-type parser kept it as a Buffer
   * or a string (`parseAs: 'buffer'`). Throws `WebhookVerificationError` for a parsed
   * body, a missing, malformed or wrong signature, or an empty body.
   *
   * @example
   * fastify.register(async (webhooks) => {
   *   webhooks.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
   *   webhooks.post('/webhooks/castle', async (request, reply) => {
   *     fastify.vigil.verifyWebhook(request, process.env.CASTLE_API_SECRET)
   *     const event = JSON.parse(request.body.toString('utf8'))
   *     return reply.code(204).send()
   *   })
   * })
   */
  verifyWebhook(request: FastifyRequest, secret: string, signature?: string): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Vigil: the `@vigil/core` instance (`match`, `protect`, `respond`, `blockUser`...)
     * with tracking, `identify` and `verifyWebhook` taking Fastify's request.
     *
     * @example
     * fastify.get('/health/vigil', async () => ({ mode: fastify.vigil.mode, provider: fastify.vigil.provider.name }))
     * await fastify.vigil.blockUser('u-42', { reason: 'chargebacks' })
     */
    vigil: VigilFastify;
  }
  interface FastifyRequest {
    /**
     * Vigil on this request: the decision's fields (`action`, `wouldBlock`, `risk`,
     * `protected`...) and request-aware `identify`, `trackLogin`, `trackSignup`,
     * `trackCustom`. On routes without a Vigil hook and on excluded paths it is core's
     * unprotected decision (`protected: false`): test `request.vigil.protected`, not
     * `request.vigil`, to know whether Vigil scored the request.
     *
     * @example
     * fastify.post('/login', async (request) => {
     *   if (request.vigil.wouldBlock) request.log.info({ reasons: request.vigil.reasons }, 'would have blocked')
     * })
     */
    readonly vigil: VigilRequestHandle;
  }
  interface FastifyContextConfig {
    /**
     * `false` opts the route out (it gets no Vigil hook at all); an object protects it
     * as that event, whatever the global `routes` say.
     *
     * @example
     * fastify.post('/login', { config: { vigil: { event: '$login', user: { email: 'body.email' } } } }, login)
     * fastify.post('/internal/login', { config: { vigil: false } }, internalLogin)
     */
    vigil?: false | VigilRouteConfig;
  }
}
