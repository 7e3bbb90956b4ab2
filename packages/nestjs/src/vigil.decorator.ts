import { type CustomDecorator, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Decision, EventType } from '@vigil/core';
import { VIGIL_PROTECT_METADATA, VIGIL_SKIP_METADATA } from './vigil.constants.js';
import type { ProtectMetadata, ProtectOptions, VigilRequest } from './vigil.interface.js';

/**
 * Protects a handler, or every handler of a controller, as a route of `event`.
 * A handler's `@Protect()` overrides its controller's. The options are validated when
 * the application starts (`app.init()` / `app.listen()` fail with a `VigilConfigError`).
 * It only writes metadata: `VigilGuard`, global or in `@UseGuards()`, acts on it.
 *
 * @example
 * @Controller('auth')
 * export class AuthController {
 *   @Post('login')
 *   @Protect('$login', { user: { email: 'body.email' } })
 *   login(@Body() body: LoginDto) { ... }
 * }
 */
export function Protect(event: EventType, options: ProtectOptions = {}): CustomDecorator<string> {
  const metadata: ProtectMetadata = Object.freeze({ ...options, event });
  return SetMetadata(VIGIL_PROTECT_METADATA, metadata);
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
 * Injects the request's Vigil decision into a handler parameter (`request.vigil`);
 * undefined when `VigilGuard` did not run for the route.
 *
 * @example
 * @Post('login')
 * @Protect('$login')
 * login(@VigilDecision() decision: Decision) {
 *   if (decision.wouldBlock) this.audit.log(decision.reasons);
 * }
 */
export const VigilDecision: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Decision | undefined => context.switchToHttp().getRequest<VigilRequest>().vigil,
);
