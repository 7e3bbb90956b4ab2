// Issue 15 through a real Fastify instance: the built-in challenge served and verified
// by the plugin (JSON for API clients, the page for a browser's form, its assets), the
// solved request reaching the route with the body the person typed.
import formbody from '@fastify/formbody';
import { challengeFlow, challengeFlowProblems, recordingProvider } from '@vigil/core/testing';
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
    expect(challengeFlowProblems(report, 200)).toEqual([]);
  });

  it('challenge: false lets a challenge through (no handler), and serves no assets', async () => {
    const app = await challengingApp({ challenge: false });
    const res = await app.inject({ method: 'POST', url: '/login', payload: { email: 'a@b.c' }, headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/_vigil/challenge/altcha.js' })).statusCode).toBe(404);
  });
});
