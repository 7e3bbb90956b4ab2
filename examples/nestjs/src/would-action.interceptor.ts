import type { ServerResponse } from 'node:http';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { VigilRequest } from '@vigil/nestjs';
import type { Observable } from 'rxjs';

/**
 * Tells the client what blocking mode would have done with an allowed request: the
 * traffic simulator counts it in monitoring mode. Blocked answers carry it too (see
 * `blockResponse` in app.module.ts); the built-in challenge is recognised by its body. Demo only.
 */
@Injectable()
export class WouldActionInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const decision = http.getRequest<VigilRequest>().vigil;
    if (decision?.protected) http.getResponse<ServerResponse>().setHeader('x-vigil-would-action', decision.wouldAction);
    return next.handle();
  }
}
