import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { type CompiledRoute, type Decision, type EnforceIO, EXCLUDED_DECISION, lazyHandleClass, type RenderedResponse, UNPROTECTED_DECISION, type VigilHandle } from '@vigil/core';
import { appendHeader, isHeadersSent, type PlatformRequest, requestInfoOf, requestTarget } from './platform.js';
import { VIGIL_PROTECT_METADATA, VIGIL_SKIP_METADATA } from './vigil.constants.js';
import { challengeExceptions, VigilBlockedException, VigilHandledException } from './vigil.exceptions.js';
import { createRequestHandle } from './vigil.handle.js';
import { noteSignedIn, restoreCookies, watchOutcome } from './vigil.interceptor.js';
import type { ProtectMetadata, VigilRawHttp, VigilRequest } from './vigil.interface.js';
import { VigilService } from './vigil.service.js';

/**
 * How core answers through Nest, lent to `vigil.enforce`: methods on the prototype, no
 * closure per request. Headers are added to what the app (or a middleware, on the raw
 * response) already set: a device cookie or CHEQ's cookie never replaces the app's own.
 * An answer is not written here but kept (`rendered`), and thrown by the guard, so that
 * Nest's exception filters write it.
 */
class NestIO implements EnforceIO<VigilRawHttp> {
  readonly raw: VigilRawHttp;
  rendered: RenderedResponse | undefined;
  constructor(request: PlatformRequest & VigilRequest, response: object) {
    this.raw = { request, response };
  }
  appendHeader(name: string, value: string | readonly string[]): void {
    appendHeader(this.raw.response, name, value);
  }
  send(answer: RenderedResponse): void {
    this.rendered = answer;
  }
  headersSent(): boolean {
    return challengeExceptions.has(this.raw) || isHeadersSent(this.raw.response);
  }
}

/**
 * Decides about each request and carries the decision out, on Express and Fastify.
 * A handler (or controller) with `@Protect()` is protected as that route; without it,
 * the configured `routes` apply; `@SkipVigil()` leaves it alone. The request's handle
 * (the decision plus `identify`/`track*` helpers) is put on `request.vigil` (see
 * `@VigilDecision()`), on unprotected routes too. A verdict's response headers (a
 * device cookie, CHEQ's cookie) are appended to the app's own. A block throws a
 * `VigilBlockedException` (the filter writes core's HTML or JSON page, or the
 * redirect); a challenge goes to `onChallenge`; anything else goes on to the handler.
 *
 * @example
 * // Everywhere, as a global guard:
 * @Module({ imports: [VigilModule.forRoot({ mode: 'blocking' })], providers: [{ provide: APP_GUARD, useClass: VigilGuard }] })
 * export class AppModule {}
 *
 * // Or per controller / handler:
 * @UseGuards(VigilGuard)
 * @Controller('auth')
 * export class AuthController {}
 */
@Injectable()
export class VigilGuard implements CanActivate {
  // The shared decisions of unprotected and excluded requests, in the mode in force (as
  // core's own protect() gives them).
  private readonly unprotected: Decision;
  private readonly excluded: Decision;
  // Their handles: one small object per request (core's lazyHandleClass), the full
  // handle built only when the app calls one of its helpers.
  private readonly Unprotected: new (request: object, response: undefined) => VigilHandle;
  private readonly Excluded: new (request: object, response: undefined) => VigilHandle;

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(VigilService) private readonly service: VigilService,
  ) {
    const { mode } = service.vigil;
    this.unprotected = Object.freeze({ ...UNPROTECTED_DECISION, mode });
    this.excluded = Object.freeze({ ...EXCLUDED_DECISION, mode });
    const unprotected = this.unprotected;
    const excluded = this.excluded;
    this.Unprotected = lazyHandleClass(unprotected, (request: object) => createRequestHandle(service, request, unprotected));
    this.Excluded = lazyHandleClass(excluded, (request: object) => createRequestHandle(service, request, excluded));
  }

  // Synchronous for the requests Vigil leaves alone: an async canActivate would cost
  // every unprotected request a promise and the ticks to settle it.
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const { skip, metadata } = this.metadataOf(context.getHandler(), context.getClass());
    if (skip) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<PlatformRequest & VigilRequest>();
    // Already decided in this request (the guard is both global and in @UseGuards):
    // scoring it twice would count the attempt twice.
    if (request.vigil !== undefined) return true;

    const { vigil } = this.service;
    let route: CompiledRoute | undefined;
    if (metadata) {
      route = this.service.routeFor(metadata, () => `@Protect() on ${context.getClass().name}.${context.getHandler().name}`);
    } else {
      const target = requestTarget(request);
      route = vigil.match(target);
      if (!route) {
        request.vigil = vigil.isExcluded(target) ? new this.Excluded(request, undefined) : new this.Unprotected(request, undefined);
        return true;
      }
    }

    return this.decide(context, request, route, metadata);
  }

  // What the decorators say of a handler, read once: Nest's metadata is fixed once the
  // app is built, and two reflector walks per request are most of an unprotected
  // request's cost here. Per class too: a handler inherited by two controllers may sit
  // under different class decorators.
  private readonly metadataByClass = new WeakMap<object, WeakMap<object, { skip: boolean; metadata: ProtectMetadata | undefined }>>();

  private metadataOf(handler: object, controller: object): { skip: boolean; metadata: ProtectMetadata | undefined } {
    let byHandler = this.metadataByClass.get(controller);
    if (byHandler === undefined) {
      byHandler = new WeakMap();
      this.metadataByClass.set(controller, byHandler);
    }
    let known = byHandler.get(handler);
    if (known === undefined) {
      const targets = [handler, controller] as Parameters<Reflector['getAllAndOverride']>[1];
      known = {
        skip: this.reflector.getAllAndOverride<boolean | undefined>(VIGIL_SKIP_METADATA, targets) === true,
        metadata: this.reflector.getAllAndOverride<ProtectMetadata | undefined>(VIGIL_PROTECT_METADATA, targets),
      };
      byHandler.set(handler, known);
    }
    return known;
  }

  private async decide(context: ExecutionContext, request: PlatformRequest & VigilRequest, route: CompiledRoute | undefined, metadata: ProtectMetadata | undefined): Promise<boolean> {
    const { vigil } = this.service;
    const http = context.switchToHttp();
    const info = requestInfoOf(request);
    const decision = await vigil.protect(info, route);
    request.vigil = createRequestHandle(this.service, request, decision, info);
    if (!decision.protected) return true;

    const response = http.getResponse<object>();
    const io = new NestIO(request, response);
    const result = await vigil.enforce(decision, info, io);
    const { raw, rendered } = io;
    if (result === 'proceed') {
      noteSignedIn(request);
      // Routes protected by the `routes` list have no @Protect() to bring the outcome
      // interceptor, which puts back cookies a handler's @Header replaced: done here.
      if (!metadata) restoreCookies(decision, response);
      // The outcome is watched from here on every protected route: a guard after this
      // one that throws (AuthGuard('local') on a wrong password) stops the interceptor
      // from ever running.
      watchOutcome(this.service, decision, request, response);
      return true;
    }
    const thrown = challengeExceptions.get(raw);
    if (thrown) throw thrown;
    if (rendered) throw new VigilBlockedException(rendered, decision);
    throw new VigilHandledException(decision);
  }
}
