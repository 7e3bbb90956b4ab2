// Regressions from the review of issue 12, on both of Nest's platforms.
import { Controller, Get, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VigilGuard, VigilModule } from '../../src/index.js';
import { createApp, PLATFORMS, recordingProvider } from '../helpers.js';

const ran: string[] = [];

@Controller()
class MagicLinkController {
  @Get('magic/:token')
  magic() {
    ran.push('magic');
    return { ok: true };
  }
}

describe.each(PLATFORMS)('issue 12 review on %s', (platform) => {
  const provider = recordingProvider();
  let app: INestApplication;
  beforeAll(async () => {
    app = await createApp(platform, {
      imports: [VigilModule.forRoot({ mode: 'blocking', provider, routes: [{ method: 'GET', path: '/magic/:token', event: '$login' }] })],
      controllers: [MagicLinkController],
      providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('a GET route of the routes list is decided on HEAD, which both platforms answer with the GET handler', async () => {
    ran.length = 0;
    const before = provider.attempts.length;
    expect((await request(app.getHttpServer()).get('/magic/abc').set('x-test-risk', '1')).status).toBe(403);
    expect((await request(app.getHttpServer()).head('/magic/abc').set('x-test-risk', '1')).status).toBe(403);
    expect(ran).toEqual([]);
    expect(provider.attempts.slice(before).map((e) => e.context.method)).toEqual(['GET', 'HEAD']);
  });
});
