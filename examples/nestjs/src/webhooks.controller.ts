import { Body, Controller, HttpCode, Inject, Logger, Post, Req } from '@nestjs/common';
import { SkipVigil, VigilService } from '@vigil/nestjs';
import { ENV, type Env } from './demo.module.js';

/**
 * Castle's webhooks (`POST /webhooks/castle`), verified against the raw body Nest keeps
 * because the app is created with `rawBody: true` (app.ts): 204 when signed with
 * `CASTLE_WEBHOOK_SECRET`, 401 otherwise. Mounted when that variable is set.
 */
@Controller('webhooks')
@SkipVigil()
export class WebhooksController {
  private readonly log = new Logger('Webhooks');

  constructor(
    @Inject(VigilService) private readonly vigil: VigilService,
    @Inject(ENV) private readonly env: Env,
  ) {}

  @Post('castle')
  @HttpCode(204)
  castle(@Req() req: object, @Body() event: { type?: unknown }): void {
    this.vigil.verifyWebhook(req, this.env.CASTLE_WEBHOOK_SECRET ?? '');
    this.log.log(`Castle webhook: ${String(event?.type)}`);
  }
}
