// Issue 15 through a real Express app: the built-in challenge served and verified by
// the middleware (JSON for API clients, the page for a browser's form, its assets), the
// solved request reaching the route with the body the person typed.
import { challengeFlow, challengeFlowProblems, recordingProvider, supertestSend } from '@vigil/core/testing';
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
    const report = await challengeFlow(supertestSend(request as never, app));
    expect(challengeFlowProblems(report, 200)).toEqual([]);
  });

  it('per-route protection only: guard.challengeAssets serves the page\'s assets, and the flow works the same', async () => {
    const guard = vigil({ mode: 'blocking', provider: recordingProvider({ risk: 0.7 }).provider, challenge: { difficulty: 4, cost: 10 } });
    const app = express();
    app.use(express.json(), express.urlencoded());
    app.use(guard.challengeAssets);
    app.post('/login', guard.protect('$login', { user: { email: 'body.email' } }), (req, res) => {
      res.json({ body: req.body, challenge: req.vigil?.challenge });
    });
    const report = await challengeFlow(supertestSend(request as never, app));
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
