import type { ChallengeContext, Decision, RouteDefinition, Vigil, VigilConfig } from '@vigil/core';
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

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The `@vigil/core` instance behind the plugin (`match`, `protect`, `respond`...).
     *
     * @example
     * fastify.get('/health/vigil', async () => ({ mode: fastify.vigil.mode, provider: fastify.vigil.provider.name }))
     */
    vigil: Vigil;
  }
  interface FastifyRequest {
    /**
     * Vigil's decision about this request: set when Vigil scored it, `null` on routes
     * without a Vigil hook and on excluded paths.
     *
     * @example
     * fastify.post('/login', async (request) => {
     *   if (request.vigil?.wouldBlock) request.log.info({ reasons: request.vigil.reasons }, 'would have blocked')
     * })
     */
    vigil: Decision | null;
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
