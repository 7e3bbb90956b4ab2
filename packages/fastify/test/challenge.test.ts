// Issue 15 through a real Fastify instance: the built-in challenge served and verified
// by the plugin (JSON for API clients, the page for a browser's form, its assets), the
// solved request reaching the route with the body the person typed.
import formbody from '@fastify/formbody';
import { challengeFlow, recordingProvider } from '@vigil/core/testing';
import fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { vigil } from '../src/index.js';

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function challengingApp(options: Record<string, unknown> = {}) {
  const app = fastify();
  apps.push(app);
  await app.register(formbody);
  await app.register(vigil, {
    mode: 'blocking',
    provider: recordingProvider({ risk: 0.7 }).provider,
    routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
    challenge: { difficulty: 4, cost: 10 },
    ...options,
  });
  app.post('/login', async (request) => ({ body: request.body, challenge: request.vigil.challenge }));
  return app;
}

describe('the built-in challenge on Fastify', () => {
  it('challenges, verifies, refuses a replay, serves the page and its assets, and puts the sealed form back', async () => {
    const app = await challengingApp();
    const report = await challengeFlow(async ({ method, url, headers, body }) => {
      const res = await app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: body }) });
      return { status: res.statusCode, headers: res.headers as Record<string, string>, body: res.body };
    });
    expect(report.challenged.status).toBe(403);
    expect(report.challenged.json.challenge).toMatchObject({ type: 'altcha', algorithm: 'PBKDF2/SHA-256' });
    expect(report.solved).toMatchObject({ status: 200, json: { body: { email: 'ann@example.com' }, challenge: { passed: true, reason: 'solved' } } });
    expect(report.replayed.status).toBe(403);
    expect(report.page).toMatchObject({ status: 403, contentType: 'text/html; charset=utf-8', sealed: true, leaks: false });
    expect(report.page.csp).toContain("script-src 'self'");
    for (const name of ['altcha.js', 'pbkdf2.js', 'vigil-challenge.js']) expect(report.assets[name], name).toEqual({ status: 200, type: 'text/javascript; charset=utf-8' });
    expect(report.assets['altcha.css']?.status).toBe(200);
    expect(report.assets['nothing.js']?.status).toBe(404);
    expect(report.reposted).toEqual({ status: 200, json: { body: { email: 'ann@example.com', password: 'correct horse battery' }, challenge: { kind: 'pow', passed: true, reason: 'solved', level: 1, recorded: true } } });
  });

  it('challenge: false lets a challenge through (no handler), and serves no assets', async () => {
    const app = await challengingApp({ challenge: false });
    const res = await app.inject({ method: 'POST', url: '/login', payload: { email: 'a@b.c' }, headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/_vigil/challenge/altcha.js' })).statusCode).toBe(404);
  });
});
