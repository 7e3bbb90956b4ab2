import { HttpException, HttpStatus } from '@nestjs/common';
import type { Decision, RenderedResponse } from '@vigil/core';

function bodyOf(rendered: RenderedResponse): string | object {
  if (rendered.headers.location !== undefined) return { statusCode: rendered.status, location: rendered.headers.location };
  if (!/json/i.test(rendered.headers['content-type'] ?? '')) return rendered.body;
  try {
    return JSON.parse(rendered.body) as object;
  } catch {
    return rendered.body;
  }
}

/**
 * Thrown by `VigilGuard` when Vigil blocks (or redirects) a request, and by
 * `VigilService.identify()` (or the request handle's `identify()`) for a blocked user
 * in blocking mode, from inside a handler. It carries the response core rendered —
 * HTML for browsers, JSON for API clients, or a redirect — which
 * `VigilExceptionFilter` (registered by `VigilModule`) writes as it is.
 * `getResponse()` gives the JSON body as an object (the HTML page as a string), so a
 * catch-all filter of the app that sees it first still answers sensibly; to answer
 * exactly as Vigil would, write `exception.rendered` or let it through.
 *
 * @example
 * @Catch()
 * export class AllExceptionsFilter implements ExceptionFilter {
 *   catch(exception: unknown, host: ArgumentsHost) {
 *     if (exception instanceof VigilBlockedException) {
 *       const { status, headers, body } = exception.rendered;
 *       host.switchToHttp().getResponse<express.Response>().status(status).set(headers).send(body);
 *     }
 *   }
 * }
 */
export class VigilBlockedException extends HttpException {
  /** The response to write: status, headers and body, from `vigil.respond()`. */
  readonly rendered: RenderedResponse;
  /** The decision that blocked the request. */
  readonly decision: Decision;

  constructor(rendered: RenderedResponse, decision: Decision) {
    super(bodyOf(rendered), rendered.status);
    this.name = 'VigilBlockedException';
    // The HTML page would otherwise be the message, in every log line.
    this.message = rendered.headers.location !== undefined ? 'Request redirected by Vigil' : 'Request blocked by Vigil';
    this.rendered = rendered;
    this.decision = decision;
  }
}

/**
 * Thrown by `VigilGuard` when the response was already written — by `onChallenge`, or
 * by something that ran before the guard — so that Nest stops the request without
 * running the handler. `VigilExceptionFilter` writes nothing for it.
 *
 * @example
 * if (exception instanceof VigilHandledException) return; // the client has its answer
 */
export class VigilHandledException extends HttpException {
  /** The decision of the request. */
  readonly decision: Decision;

  constructor(decision: Decision) {
    super('Request answered by Vigil', HttpStatus.FORBIDDEN);
    this.name = 'VigilHandledException';
    this.decision = decision;
  }
}

// An HttpException thrown by the app's onChallenge, per challenge (keyed by the `raw`
// object of that call), until the guard rethrows it.
export const challengeExceptions = new WeakMap<object, HttpException>();

/**
 * Wraps the app's `onChallenge` so that an `HttpException` it throws is kept for the
 * guard to rethrow through Nest's filters, instead of being taken by core for a
 * failure (which answers with the block response).
 */
export function withChallengeExceptions<C extends { raw: unknown }>(onChallenge: (context: C) => unknown): (context: C) => Promise<unknown> {
  return async (context) => {
    try {
      return await onChallenge(context);
    } catch (error) {
      if (error instanceof HttpException && context.raw !== null && typeof context.raw === 'object') {
        challengeExceptions.set(context.raw, error);
        return undefined;
      }
      throw error;
    }
  };
}
