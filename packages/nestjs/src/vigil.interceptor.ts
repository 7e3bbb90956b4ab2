import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Decision } from '@vigil/core';
import type { Observable } from 'rxjs';
import { appendHeader, headerValues, rawResponse } from './platform.js';
import { decisionOf } from './vigil.handle.js';
import type { VigilRequest } from './vigil.interface.js';
import { VigilService } from './vigil.service.js';

/**
 * Logs the outcome of each protected request that reached its handler — `$succeeded`
 * or `$failed`, from the status the client really got — so the engine learns from
 * failed logins. It listens to the Node response's `finish` (Express's `res`,
 * Fastify's `reply.raw`): the final status, including one an exception filter wrote
 * after the handler threw (a 401 from `UnauthorizedException`, say). `VigilModule`
 * applies it with `@Protect()` (a global interceptor would put every request of the app
 * through Nest's RxJS pipeline: measured at 40% of an unprotected route's throughput);
 * routes protected by the configured `routes` list get the same watch from the guard.
 * It also puts back the decision's Set-Cookie values (the device cookie, CHEQ's cookie)
 * when a `@Header('Set-Cookie', …)` of the handler replaced them: Nest applies those
 * after the guard, and Express's `res.set()` replaces where Fastify appends.
 *
 * @example
 * // Applied for you by @Protect(); by hand it would be:
 * @UseInterceptors(VigilOutcomeInterceptor)
 */
@Injectable()
export class VigilOutcomeInterceptor implements NestInterceptor {
  constructor(@Inject(VigilService) private readonly service: VigilService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const handle = http.getRequest<VigilRequest>().vigil;
    if (handle?.protected) watchOutcome(this.service, decisionOf(handle), http.getResponse<object>());
    return next.handle();
  }
}

const watched = new WeakSet<object>();

/**
 * Puts back the decision's Set-Cookie values a handler's `@Header('Set-Cookie', …)`
 * replaced, and logs the outcome once the response is finished — once per response,
 * whether the guard or the interceptor asked first.
 */
export function watchOutcome(service: VigilService, decision: Decision, platformResponse: object): void {
  if (watched.has(platformResponse)) return;
  watched.add(platformResponse);
  const cookies = decision.responseHeaders['set-cookie'];
  if (cookies !== undefined && !rawResponse(platformResponse).headersSent) {
    const present = headerValues(platformResponse, 'set-cookie');
    const missing = [cookies].flat().filter((cookie) => !present.includes(cookie));
    if (missing.length > 0) appendHeader(platformResponse, 'set-cookie', missing);
  }
  const response = rawResponse(platformResponse);
  let done = false;
  const logOutcome = () => {
    if (done) return;
    done = true;
    // A client that hung up before any status was written has no outcome.
    if (response.headersSent) service.vigil.logOutcome(decision, response.statusCode);
  };
  if (response.writableFinished) {
    logOutcome();
  } else {
    response.once('finish', logOutcome);
    response.once('close', logOutcome);
  }
}
