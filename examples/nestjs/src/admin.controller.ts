import { createHash, timingSafeEqual } from 'node:crypto';
import { Body, type CanActivate, Controller, type ExecutionContext, Get, HttpCode, Inject, Injectable, Post, UnauthorizedException, UseGuards } from '@nestjs/common';
import { SkipVigil, VigilService } from '@vigil/nestjs';
import { ENV, type Env } from './demo.module.js';
import { userIdOf } from './users.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Lets through requests with `Authorization: Bearer <VIGIL_ADMIN_TOKEN>`. */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  constructor(@Inject(ENV) private readonly env: Env) {}

  canActivate(context: ExecutionContext): boolean {
    const given = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined> }>().headers.authorization ?? '';
    const expected = `Bearer ${this.env.VIGIL_ADMIN_TOKEN ?? ''}`;
    if (!this.env.VIGIL_ADMIN_TOKEN || !timingSafeEqual(digest(given), digest(expected))) throw new UnauthorizedException();
    return true;
  }
}

/**
 * Vigil's block list, for an operator: block and unblock an account by email (Vigil
 * only ever sees the account's opaque id), list the blocks. A blocked account's next
 * login is refused once its password is right (auth.controller.ts). Mounted when
 * `VIGIL_ADMIN_TOKEN` is set.
 */
@Controller('admin')
@SkipVigil()
@UseGuards(AdminTokenGuard)
export class AdminController {
  constructor(@Inject(VigilService) private readonly vigil: VigilService) {}

  @Post('block')
  @HttpCode(204)
  async block(@Body() body: { email?: unknown; reason?: unknown }): Promise<void> {
    await this.vigil.blockUser(this.idOf(body.email), { reason: typeof body.reason === 'string' ? body.reason : 'blocked by an operator' });
  }

  @Post('unblock')
  @HttpCode(204)
  async unblock(@Body() body: { email?: unknown }): Promise<void> {
    await this.vigil.unblockUser(this.idOf(body.email));
  }

  @Get('blocked')
  blocked() {
    return this.vigil.listBlockedUsers();
  }

  private idOf(email: unknown): string {
    const id = userIdOf(email);
    if (!id) throw new UnauthorizedException('an email is required');
    return id;
  }
}
