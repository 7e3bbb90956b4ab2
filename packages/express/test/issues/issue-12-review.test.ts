// Regressions from the review of issue 12 (requests the router sends to a protected
// handler that skipped the decision), each through a real Express app.
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { DEVICE_COOKIE, guard, recordingProvider } from '../helpers.js';

const CLIENT = { 'user-agent': 'python-requests/2.31.0', accept: 'application/json' };

describe('issue 12 review', () => {
  it('a GET route is decided on HEAD, which Express answers with the GET handler', async () => {
    const { provider, calls } = recordingProvider({ risk: 1 });
    const app = express();
    app.use(guard({ mode: 'blocking', provider, routes: [{ method: 'GET', path: '/magic/:token', event: '$login' }] }));
    const ran: string[] = [];
    app.get('/magic/:token', (req, res) => {
      ran.push(req.method);
      res.cookie('session', 'x').json({ ok: true });
    });
    await request(app).get('/magic/abc').set(CLIENT).expect(403);
    const head = await request(app).head('/magic/abc').set(CLIENT);
    expect(head.status).toBe(403);
    // Vigil's device cookie only: the GET handler, which sets the session cookie, never ran.
    expect(head.headers['set-cookie']).toEqual([DEVICE_COOKIE]);
    expect(ran).toEqual([]);
    expect(calls.filter.map((e) => e.context.method)).toEqual(['GET', 'HEAD']);
  });

  it('a target rewritten before Vigil is matched as the router will route it', async () => {
    const { provider, calls } = recordingProvider({ risk: 1 });
    const app = express();
    app.use(express.json());
    // An i18n middleware: /en/login is served by the /login handler.
    app.use((req, _res, next) => {
      req.url = req.url.replace(/^\/(en|fr)\//, '/');
      next();
    });
    app.use(guard({ mode: 'blocking', provider, routes: [{ method: 'POST', path: '/login', event: '$login' }] }));
    app.post('/login', (req, res) => res.json({ decided: req.vigil?.protected === true }));
    await request(app).post('/en/login').set(CLIENT).send({}).expect(403);
    expect(calls.filter).toHaveLength(1);
  });

  it('a router mounted below a prefix, with Vigil inside it, matches full paths', async () => {
    const { provider } = recordingProvider({ risk: 1 });
    const app = express();
    const api = express.Router();
    api.use(guard({ mode: 'blocking', provider, routes: [{ method: 'POST', path: '/api/login', event: '$login' }] }));
    api.post('/login', (req, res) => res.json({ decided: req.vigil?.protected === true }));
    app.use('/api', api);
    for (const target of ['/api/login', '/API/login/', '/api/login#x']) {
      await request(app).post(target).set(CLIENT).send({}).expect(403);
    }
  });
});
