import { type CallHandler, type ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import { captureBody, type Decision, watchSignIn } from '@vigil/core';
import type { Observable } from 'rxjs';
import { appendHeader, headerValues, rawResponse, responseHeaders } from './platform.js';
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
    const request = http.getRequest<VigilRequest>();
    const handle = request.vigil;
    if (handle?.protected) {
      const response = http.getResponse<object>();
      restoreCookies(decisionOf(handle), response);
      watchOutcome(this.service, decisionOf(handle), request, response);
    }
    return next.handle();
  }
}

const watched = new WeakSet<object>();
// Whether a guard or the handler signed a user in (core's watchSignIn), watched from
// the guard's decision on: before the app's own guards (an AuthGuard) run.
const signIns = new WeakMap<object, () => boolean>();

/** Starts watching, when the guard decides, for a sign-in on the request. */
export function noteSignedIn(request: object): void {
  signIns.set(request, watchSignIn(request));
}

/** Puts back the decision's Set-Cookie values a handler's `@Header('Set-Cookie', …)` replaced. */
export function restoreCookies(decision: Decision, platformResponse: object): void {
  const cookies = decision.responseHeaders['set-cookie'];
  if (cookies !== undefined && !rawResponse(platformResponse).headersSent) {
    const present = headerValues(platformResponse, 'set-cookie');
    const missing = [cookies].flat().filter((cookie) => !present.includes(cookie));
    if (missing.length > 0) appendHeader(platformResponse, 'set-cookie', missing);
  }
}

/**
 * Logs the outcome once the response is finished — once per response, whether the
 * guard or the interceptor asked first. The guard always asks: a later guard that
 * throws (AuthGuard's 401 on a wrong password) keeps the interceptor from running, and
 * that failure is the outcome that matters most.
 */
export function watchOutcome(service: VigilService, decision: Decision, platformRequest: object, platformResponse: object): void {
  if (watched.has(platformResponse)) return;
  watched.add(platformResponse);
  const body = service.vigil.needsResponseBody(decision) ? captureBody(platformResponse) : undefined;
  const response = rawResponse(platformResponse);
  let done = false;
  const logOutcome = () => {
    if (done) return;
    done = true;
    // A client that hung up before any status was written has no outcome. The rules
    // read the status, the headers (Fastify's reply holds its own), whether a user was
    // signed in on the request (an AuthGuard, @nestjs/passport), and the body only for
    // a rule that reads it.
    if (!response.headersSent) return;
    const status = response.statusCode;
    const headers = responseHeaders(platformResponse);
    const signedIn = signIns.get(platformRequest)?.() === true;
    service.vigil.logOutcome(decision, body === undefined ? { status, headers, signedIn } : { status, headers, signedIn, body: body() });
  };
  if (response.writableFinished) {
    logOutcome();
  } else {
    // `on`, not `once`: `done` already makes it once, and `once` costs a wrapper and its
    // state per listener.
    response.on('finish', logOutcome);
    response.on('close', logOutcome);
  }
}
