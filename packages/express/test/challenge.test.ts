// Issue 15 through a real Express app: the built-in challenge served and verified by
// the middleware (JSON for API clients, the page for a browser's form, its assets), the
// solved request reaching the route with the body the person typed.
import { challengeFlow, recordingProvider } from '@vigil/core/testing';
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { vigil } from '../src/index.js';

function challengingApp(options: Record<string, unknown> = {}) {
  const app = express();
  app.use(express.json(), express.urlencoded());
  app.use(
    vigil({
      mode: 'blocking',
      provider: recordingProvider({ risk: 0.7 }).provider,
      routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
      challenge: { difficulty: 4, cost: 10 },
      ...options,
    }),
  );
  app.post('/login', (req, res) => {
    res.json({ body: req.body, challenge: req.vigil?.challenge });
  });
  return app;
}

describe('the built-in challenge on Express', () => {
  it('challenges, verifies, refuses a replay, serves the page and its assets, and puts the sealed form back', async () => {
    const app = challengingApp();
    const report = await challengeFlow(async ({ method, url, headers, body }) => {
      let req = method === 'GET' ? request(app).get(url) : request(app).post(url);
      for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
      const res = await (body === undefined ? req : req.send(body));
      return { status: res.status, headers: res.headers as Record<string, string>, body: res.text };
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

  it('per-route protection only: guard.challengeAssets serves the page\'s assets, and the flow works the same', async () => {
    const guard = vigil({ mode: 'blocking', provider: recordingProvider({ risk: 0.7 }).provider, challenge: { difficulty: 4, cost: 10 } });
    const app = express();
    app.use(express.json(), express.urlencoded());
    app.use(guard.challengeAssets);
    app.post('/login', guard.protect('$login', { user: { email: 'body.email' } }), (req, res) => {
      res.json({ body: req.body, challenge: req.vigil?.challenge });
    });
    const report = await challengeFlow(async ({ method, url, headers, body }) => {
      let req = method === 'GET' ? request(app).get(url) : request(app).post(url);
      for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
      const res = await (body === undefined ? req : req.send(body));
      return { status: res.status, headers: res.headers as Record<string, string>, body: res.text };
    });
    expect(report.assets['altcha.js']).toEqual({ status: 200, type: 'text/javascript; charset=utf-8' });
    expect(report.solved.status).toBe(200);
    expect(report.reposted).toMatchObject({ status: 200, json: { body: { email: 'ann@example.com', password: 'correct horse battery' } } });
  });

  it('challenge: false lets a challenge through (no handler), and serves no assets', async () => {
    const app = challengingApp({ challenge: false });
    expect((await request(app).post('/login').set('accept', 'application/json').send({ email: 'a@b.c' })).status).toBe(200);
    expect((await request(app).get('/_vigil/challenge/altcha.js')).status).toBe(404);
  });
});
