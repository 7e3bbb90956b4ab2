import type { FactoryProvider, ModuleMetadata } from '@nestjs/common';
import type { ChallengeContext, EventType, RouteDefinition, VigilConfig, VigilHandle } from '@vigil/core';

/**
 * The platform's own objects, handed to `onChallenge` as `raw`: the Express `Request`
 * and `Response` on `@nestjs/platform-express`, the `FastifyRequest` and `FastifyReply`
 * on `@nestjs/platform-fastify`. Both responses have `status()`, `header()` and
 * `send()`, so a challenge page can be written the same way on either.
 *
 * @example
 * import type { Request, Response } from 'express';
 * const onChallenge = ({ raw }: ChallengeContext<VigilRawHttp<Request, Response>>) => {
 *   raw.response.status(403).header('content-type', 'text/html').send(captchaPage);
 * };
 */
export interface VigilRawHttp<TRequest = any, TResponse = any> {
  /** The platform's request (Express `Request`, `FastifyRequest`). */
  request: TRequest;
  /** The platform's response (Express `Response`, `FastifyReply`). */
  response: TResponse;
}

/**
 * What `onChallenge` receives in a Nest app: core's `ChallengeContext` with the
 * platform's request and response as `raw`.
 *
 * @example
 * const onChallenge = ({ request, decision, proceed, raw }: VigilChallengeContext) => {
 *   if (request.body?.captcha === 'passed') return proceed();
 *   raw.response.status(403).header('content-type', 'application/json').send(JSON.stringify({ challenge: 'captcha', requestId: decision.requestId }));
 * };
 */
export type VigilChallengeContext<TRequest = any, TResponse = any> = ChallengeContext<VigilRawHttp<TRequest, TResponse>>;

/**
 * Vigil's configuration in a Nest app: core's `VigilConfig`, with `onChallenge` typed
 * for Nest. `onChallenge` answers in one of three ways:
 * - `proceed()`: the request goes on to the handler (a solved CAPTCHA);
 * - write the response through `raw.response` (and return, or `await`, what `send()`
 *   returns): Vigil stops the request without writing anything else;
 * - throw an `HttpException`: it becomes the response, through the app's exception
 *   filters, as if the guard had thrown it.
 * Doing none of these answers with the block response.
 *
 * @example
 * const config: VigilModuleConfig = {
 *   mode: 'blocking',
 *   onChallenge: ({ request, proceed }) => {
 *     if (request.body?.captcha === 'passed') return proceed();
 *     throw new ForbiddenException({ challenge: 'captcha' });
 *   },
 * };
 */
export interface VigilModuleConfig extends Omit<VigilConfig, 'onChallenge'> {
  /** The CAPTCHA hand-off. Without it, challenges are allowed (and recorded). */
  onChallenge?: (context: VigilChallengeContext) => unknown;
}

/**
 * Options of `VigilModule.forRoot()`: Vigil's configuration plus `isGlobal`.
 *
 * @example
 * VigilModule.forRoot({ isGlobal: true, mode: 'blocking', uriExclusion: ['/health'] })
 */
export interface VigilModuleOptions extends VigilModuleConfig {
  /** Makes `VigilService` and `VigilGuard`'s dependencies visible to every module. Default false. */
  isGlobal?: boolean;
}

/**
 * Options of `VigilModule.forRootAsync()`: a factory of the configuration, with the
 * providers it needs.
 *
 * @example
 * VigilModule.forRootAsync({
 *   isGlobal: true,
 *   imports: [ConfigModule],
 *   inject: [ConfigService],
 *   useFactory: (config: ConfigService) => ({ mode: config.get('VIGIL_MODE') }),
 * })
 */
export interface VigilModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /** Makes `VigilService` and `VigilGuard`'s dependencies visible to every module. Default false. */
  isGlobal?: boolean;
  /** Returns Vigil's configuration; may be async. */
  useFactory: (...args: any[]) => VigilModuleConfig | Promise<VigilModuleConfig>;
  /** Providers passed to `useFactory`, in order. */
  inject?: FactoryProvider['inject'];
}

/**
 * Per-route options of `@Protect()`: core's route definition without `path` and
 * `method`, since the Nest route decides where it applies.
 *
 * @example
 * @Protect('$login', { user: { email: 'body.email' }, outcome: { failed: [401, 403, 422] } })
 */
export type ProtectOptions = Omit<RouteDefinition, 'path' | 'method' | 'event'>;

/**
 * What `@Protect()` stores as metadata: a route definition without a path.
 *
 * @example
 * const route: ProtectMetadata | undefined = reflector.get(VIGIL_PROTECT_METADATA, handler);
 */
export interface ProtectMetadata extends ProtectOptions {
  /** Castle event type of the route. */
  readonly event: EventType;
}

/**
 * A platform request after `VigilGuard` ran: `request.vigil` is the request's handle —
 * the decision's fields read through (`action`, `wouldBlock`, `reasons`…; the frozen
 * decision itself is `handle.decision`) plus `identify()`, `trackLogin()`,
 * `trackSignup()` and `trackCustom()` for this request. `identify()` is
 * `VigilService.identify()`: it throws the block in blocking mode (so `handled` is
 * always false when it resolves). Undefined where the guard did not run (no guard,
 * `@SkipVigil()`); an unprotected route gets a handle with an unprotected decision.
 *
 * @example
 * @Post('login')
 * async login(@Req() req: Request & VigilRequest) {
 *   if (req.vigil?.wouldBlock) audit(req.vigil.reasons);
 *   await req.vigil?.trackLogin({ success: true, userId: 'u-1' });
 * }
 */
export interface VigilRequest {
  /** The handle of this request, set by `VigilGuard`. */
  vigil?: VigilHandle;
}

/**
 * Options of `VigilService.verifyWebhook()`.
 *
 * @example
 * service.verifyWebhook(req, secret, { header: 'X-Castle-Signature' })
 */
export interface VerifyWebhookOptions {
  /** The header that carries the signature. Default `X-Castle-Signature`. */
  header?: string;
}
