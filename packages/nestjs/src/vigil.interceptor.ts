import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
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
 * registers it as a global interceptor; it does nothing for unprotected requests.
 * It also puts back the decision's Set-Cookie values (the device cookie, CHEQ's cookie)
 * when a `@Header('Set-Cookie', …)` of the handler replaced them: Nest applies those
 * after the guard, and Express's `res.set()` replaces where Fastify appends.
 *
 * @example
 * // Registered for you by VigilModule; by hand it would be:
 * providers: [{ provide: APP_INTERCEPTOR, useClass: VigilOutcomeInterceptor }]
 */
@Injectable()
export class VigilOutcomeInterceptor implements NestInterceptor {
  constructor(@Inject(VigilService) private readonly service: VigilService) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const handle = http.getRequest<VigilRequest>().vigil;
    if (!handle?.protected) return next.handle();
    const decision = decisionOf(handle);
    const platformResponse = http.getResponse<object>();
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
      if (response.headersSent) this.service.vigil.logOutcome(decision, response.statusCode);
    };
    if (response.writableFinished) {
      logOutcome();
    } else {
      response.once('finish', logOutcome);
      response.once('close', logOutcome);
    }
    return next.handle();
  }
}
