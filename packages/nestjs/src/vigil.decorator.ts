import { applyDecorators, type CustomDecorator, createParamDecorator, type ExecutionContext, SetMetadata, UseInterceptors } from '@nestjs/common';
import type { EventType, VigilHandle } from '@vigil/core';
import { VIGIL_PROTECT_METADATA, VIGIL_SKIP_METADATA } from './vigil.constants.js';
import { VigilOutcomeInterceptor } from './vigil.interceptor.js';
import type { ProtectMetadata, ProtectOptions, VigilRequest } from './vigil.interface.js';

/**
 * Protects a handler, or every handler of a controller, as a route of `event`.
 * A handler's `@Protect()` overrides its controller's. The options are validated when
 * the application starts (`app.init()` / `app.listen()` fail with a `VigilConfigError`).
 * It writes metadata, which `VigilGuard` (global or in `@UseGuards()`) acts on, and
 * brings the outcome interceptor that logs `$succeeded` / `$failed` after the response.
 *
 * @example
 * @Controller('auth')
 * export class AuthController {
 *   @Post('login')
 *   @Protect('$login', { user: { email: 'body.email' } })
 *   login(@Body() body: LoginDto) { ... }
 * }
 */
export function Protect(event: EventType, options: ProtectOptions = {}): ClassDecorator & MethodDecorator {
  const metadata: ProtectMetadata = Object.freeze({ ...options, event });
  // The outcome interceptor comes with the decorator, on protected handlers only.
  return applyDecorators(SetMetadata(VIGIL_PROTECT_METADATA, metadata), UseInterceptors(VigilOutcomeInterceptor));
}

/**
 * Leaves a handler, or every handler of a controller, alone: no decision, no outcome,
 * whatever `@Protect()` or the configured `routes` say. `@SkipVigil(false)` on a
 * handler brings back protection its controller skipped.
 *
 * @example
 * @Controller('health')
 * @SkipVigil()
 * export class HealthController { ... }
 */
export function SkipVigil(skip = true): CustomDecorator<string> {
  return SetMetadata(VIGIL_SKIP_METADATA, skip);
}

/**
 * Injects the request's Vigil handle into a handler parameter (`request.vigil`): the
 * decision's fields (`action`, `wouldBlock`, `reasons`…, the frozen decision as
 * `.decision`; type it `Decision` if that is all you read) plus `identify()`,
 * `trackLogin()`, `trackSignup()` and `trackCustom()` for this request — `identify()`
 * throws the block in blocking mode, like `VigilService.identify()`. Undefined when
 * `VigilGuard` did not run for the route (no guard, `@SkipVigil()`): use
 * `VigilService` there.
 *
 * @example
 * @Post('login')
 * @Protect('$login')
 * async login(@Body() body: LoginDto, @VigilDecision() vigil: VigilHandle) {
 *   if (vigil.wouldBlock) this.audit.log(vigil.reasons);
 *   const user = await this.users.check(body);
 *   if (user) await vigil.identify({ id: user.id }); // 403 here for a blocked user
 * }
 */
export const VigilDecision: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext): VigilHandle | undefined => context.switchToHttp().getRequest<VigilRequest>().vigil,
);
