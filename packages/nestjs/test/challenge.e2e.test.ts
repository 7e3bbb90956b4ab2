// Issue 15 through a real Nest app on both platforms: the built-in challenge served
// (JSON for API clients, the page for a browser's form, its assets on the adapter's own
// route) and verified by the guard, the solved request reaching the handler with the
// body the person typed.
import { Body, Controller, type INestApplication, Post, Req } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { challengeFlow, recordingProvider } from '@vigil/core/testing';
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
    const report = await challengeFlow(async ({ method, url, headers, body }) => {
      let req = method === 'GET' ? request(server).get(url) : request(server).post(url);
      for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
      const res = await (body === undefined ? req : req.send(body));
      return { status: res.status, headers: res.headers as Record<string, string>, body: res.text };
    });
    expect(report.challenged.status).toBe(403);
    expect(report.challenged.json.challenge).toMatchObject({ type: 'altcha', algorithm: 'PBKDF2/SHA-256' });
    expect(report.solved).toMatchObject({ status: 201, json: { body: { email: 'ann@example.com' }, challenge: { passed: true, reason: 'solved' } } });
    expect(report.replayed.status).toBe(403);
    expect(report.page).toMatchObject({ status: 403, contentType: 'text/html; charset=utf-8', sealed: true, leaks: false });
    expect(report.page.csp).toContain("script-src 'self'");
    for (const name of ['altcha.js', 'pbkdf2.js', 'vigil-challenge.js']) expect(report.assets[name], name).toEqual({ status: 200, type: 'text/javascript; charset=utf-8' });
    expect(report.assets['altcha.css']?.status).toBe(200);
    expect(report.assets['nothing.js']?.status).toBe(404);
    expect(report.reposted).toEqual({ status: 201, json: { body: { email: 'ann@example.com', password: 'correct horse battery' }, challenge: { kind: 'pow', passed: true, reason: 'solved', level: 1, recorded: true } } });
  });

  it('challenge: false lets a challenge through (no handler), and serves no assets', async () => {
    const app = await challengingApp(platform, { challenge: false });
    const server = app.getHttpServer();
    expect((await request(server).post('/login').set('accept', 'application/json').send({ email: 'a@b.c' })).status).toBe(201);
    expect((await request(server).get('/_vigil/challenge/altcha.js')).status).toBe(404);
  });
});
