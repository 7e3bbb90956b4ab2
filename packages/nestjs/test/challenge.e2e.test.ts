// Issue 15 through a real Nest app on both platforms: the built-in challenge served
// (JSON for API clients, the page for a browser's form, its assets on the adapter's own
// route) and verified by the guard, the solved request reaching the handler with the
// body the person typed.
import { Body, Controller, type INestApplication, Post, Req } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { challengeFlow, challengeFlowProblems, recordingProvider, supertestSend } from '@vigil/core/testing';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { VigilGuard, VigilModule } from '../src/index.js';
import { createApp, PLATFORMS } from './helpers.js';

@Controller()
class LoginController {
  @Post('login')
  login(@Body() body: unknown, @Req() req: { vigil?: { challenge?: unknown } }) {
    return { body, challenge: req.vigil?.challenge };
  }
}

const apps: INestApplication[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function challengingApp(platform: (typeof PLATFORMS)[number], options: Record<string, unknown> = {}) {
  const app = await createApp(platform, {
    imports: [
      VigilModule.forRoot({
        mode: 'blocking',
        provider: recordingProvider({ risk: 0.7 }).provider,
        routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
        challenge: { difficulty: 4, cost: 10 },
        ...options,
      }),
    ],
    controllers: [LoginController],
    providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
  });
  apps.push(app);
  return app;
}

describe.each(PLATFORMS)('the built-in challenge on Nest (%s)', (platform) => {
  it('challenges, verifies, refuses a replay, serves the page and its assets, and puts the sealed form back', async () => {
    const app = await challengingApp(platform);
    const server = app.getHttpServer();
    const report = await challengeFlow(supertestSend(request as never, server));
    expect(challengeFlowProblems(report, 201)).toEqual([]);
  });

  it('challenge: false lets a challenge through (no handler), and serves no assets', async () => {
    const app = await challengingApp(platform, { challenge: false });
    const server = app.getHttpServer();
    expect((await request(server).post('/login').set('accept', 'application/json').send({ email: 'a@b.c' })).status).toBe(201);
    expect((await request(server).get('/_vigil/challenge/altcha.js')).status).toBe(404);
  });
});
