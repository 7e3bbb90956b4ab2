import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { type CompiledRoute, EXCLUDED_DECISION, type RenderedResponse, UNPROTECTED_DECISION } from '@vigil/core';
import { isHeadersSent, requestTarget, toRequestInfo } from './platform.js';
import { VIGIL_PROTECT_METADATA, VIGIL_SKIP_METADATA } from './vigil.constants.js';
import { challengeExceptions, VigilBlockedException, VigilHandledException } from './vigil.exceptions.js';
import type { ProtectMetadata, VigilRawHttp, VigilRequest } from './vigil.interface.js';
import { VigilService } from './vigil.service.js';

/**
 * Decides about each request and carries the decision out, on Express and Fastify.
 * A handler (or controller) with `@Protect()` is protected as that route; without it,
 * the configured `routes` apply; `@SkipVigil()` leaves it alone. The decision is put
 * on `request.vigil` (see `@VigilDecision()`). A block throws a
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
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(VigilService) private readonly service: VigilService,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean | undefined>(VIGIL_SKIP_METADATA, targets)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<Parameters<typeof toRequestInfo>[0] & VigilRequest>();
    // Already decided in this request (the guard is both global and in @UseGuards):
    // scoring it twice would count the attempt twice.
    if (request.vigil !== undefined) return true;

    const { vigil } = this.service;
    const metadata = this.reflector.getAllAndOverride<ProtectMetadata | undefined>(VIGIL_PROTECT_METADATA, targets);
    let route: CompiledRoute | undefined;
    if (metadata) {
      route = this.service.routeFor(metadata, () => `@Protect() on ${context.getClass().name}.${context.getHandler().name}`);
    } else {
      const target = requestTarget(request);
      route = vigil.match(target);
      if (!route) {
        request.vigil = vigil.isExcluded(target) ? EXCLUDED_DECISION : UNPROTECTED_DECISION;
        return true;
      }
    }

    const info = toRequestInfo(request);
    const decision = await vigil.protect(info, route);
    request.vigil = decision;
    if (!decision.protected) return true;

    const response = http.getResponse<object>();
    const raw: VigilRawHttp = { request, response };
    const adapter = this.adapterHost.httpAdapter;
    let rendered: RenderedResponse | undefined;
    const result = await vigil.enforce(decision, info, {
      // Express's res.append() and Fastify's reply.header() both add to a Set-Cookie
      // the app already set. The copy matters: Fastify pushes the app's later cookies
      // into the array it was given, and the decision's arrays are frozen.
      appendHeader: (name, value) => adapter.appendHeader(response, name, (typeof value === 'string' ? value : [...value]) as string),
      // Not written here: thrown below, so that Nest's exception filters write it.
      send: (answer) => {
        rendered = answer;
      },
      headersSent: () => challengeExceptions.has(raw) || isHeadersSent(response),
      raw,
    });
    if (result === 'proceed') return true;
    const thrown = challengeExceptions.get(raw);
    if (thrown) throw thrown;
    if (rendered) throw new VigilBlockedException(rendered, decision);
    throw new VigilHandledException(decision);
  }
}
