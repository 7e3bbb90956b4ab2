import { type ArgumentsHost, Catch, type ExceptionFilter, Inject, Injectable } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { isHeadersSent } from './platform.js';
import { VigilBlockedException, VigilHandledException } from './vigil.exceptions.js';

/**
 * Writes Vigil's answers with the platform's reply API: the block page or JSON of a
 * {@link VigilBlockedException} as core rendered it (status, headers, body), a redirect
 * through the platform's `redirect()`, and nothing at all for a
 * {@link VigilHandledException} or once the response has started — a response is
 * never written twice. `VigilModule` registers it as a global filter; an app's
 * catch-all filter that sees Vigil's exceptions first can hand them to it.
 *
 * @example
 * // An app's catch-all filter, registered with app.useGlobalFilters(), sees Vigil's
 * // exceptions first: it hands them over.
 * @Catch()
 * export class AllExceptionsFilter implements ExceptionFilter {
 *   constructor(private readonly adapterHost: HttpAdapterHost) {}
 *   catch(exception: unknown, host: ArgumentsHost) {
 *     if (exception instanceof VigilBlockedException || exception instanceof VigilHandledException) {
 *       return new VigilExceptionFilter(this.adapterHost).catch(exception, host);
 *     }
 *     // ...the app's own handling
 *   }
 * }
 * app.useGlobalFilters(new AllExceptionsFilter(app.get(HttpAdapterHost)));
 */
@Catch(VigilBlockedException, VigilHandledException)
@Injectable()
export class VigilExceptionFilter implements ExceptionFilter<VigilBlockedException | VigilHandledException> {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: VigilBlockedException | VigilHandledException, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<object>();
    if (!(exception instanceof VigilBlockedException) || isHeadersSent(response)) return;
    const adapter = this.adapterHost.httpAdapter;
    const { status, headers, body } = exception.rendered;
    for (const [name, value] of Object.entries(headers)) {
      if (name !== 'location') adapter.setHeader(response, name, value);
    }
    if (headers.location !== undefined) {
      adapter.redirect(response, status, headers.location);
    } else {
      adapter.reply(response, body, status);
    }
  }
}
