import express from 'express';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { VigilConfigError } from '../src/index.js';
import { FIREFOX_API as API, guard, LOGIN_ROUTE, recordingProvider, seen } from './helpers.js';

describe('vigil.protect(event, options): per-route middleware', () => {
  it('protects the route it is mounted on, as the event, and shows the handler the decision', async () => {
    const { provider, calls } = recordingProvider((event) => ({ risk: event.user.email?.endsWith('@spam.test') ? 0.95 : 0.1 }));
    const middleware = guard({ mode: 'blocking', provider });
    const app = express();
    app.use(express.json());
    app.post('/signup', middleware.protect('$registration', { user: { email: 'body.email' } }), (req, res) => {
      res.status(201).json({ vigil: seen(req), risk: req.vigil?.risk });
    });
    app.post('/other', (req, res) => {
      res.json({ vigil: seen(req) ?? null });
    });

    const ok = await request(app).post('/signup').send({ email: 'ann@example.com' }).expect(201);
    expect(ok.body).toEqual({ vigil: expect.objectContaining({ action: 'allow', protected: true, event: '$registration' }), risk: 0.1 });
    await request(app).post('/signup').set('accept', 'application/json').send({ email: 'x@spam.test' }).expect(403);
    expect((await request(app).post('/other').send({}).expect(200)).body).toEqual({ vigil: null });
    expect(calls.filter.map((e) => [e.type, e.user.email])).toEqual([
      ['$registration', 'ann@example.com'],
      ['$registration', 'x@spam.test'],
    ]);
    await vi.waitFor(() => expect(calls.log).toHaveLength(1));
    expect(calls.log[0]).toMatchObject({ type: '$registration', status: '$succeeded', responseStatus: 201 });
  });

  it('names the route after its event, or its given name, and asks risk() for a known user', async () => {
    const { provider, calls } = recordingProvider();
    const middleware = guard({ provider });
    const app = express();
    app.use(express.json());
    app.post('/cart', middleware.protect('$custom', { name: 'add_to_cart', user: { id: 'headers.x-user-id' } }), (req, res) => {
      res.json({ route: req.vigil?.route });
    });
    expect((await request(app).post('/cart').set('x-user-id', 'u-42').send({}).expect(200)).body).toEqual({ route: 'add_to_cart' });
    expect(calls.risk.map((e) => [e.type, e.name, e.user.id])).toEqual([['$custom', 'add_to_cart', 'u-42']]);
  });

  // issue 12 review: with uriExclusion [/\.css$/], `PUT /users/42.css` reached a
  // `guard.protect()` route undecided. On a route, Express chose the handler: decided.
  it('decides a route it is attached to whatever uriExclusion says', async () => {
    const { provider, calls } = recordingProvider({ risk: 1 });
    const middleware = guard({ mode: 'blocking', provider, uriExclusion: ['/internal', /\.css$/] });
    const app = express();
    app.use(express.json());
    app.post('/internal/login', middleware.protect('$login'), (req, res) => {
      res.json({ protected: req.vigil?.protected });
    });
    app.put('/users/:id', middleware.protect('$profile_update'), (req, res) => {
      res.json({ protected: req.vigil?.protected });
    });
    await request(app).post('/internal/login').set(API).send({}).expect(403);
    await request(app).put('/users/42.css').set(API).send({}).expect(403);
    expect(calls.filter.length + calls.risk.length).toBe(2);
  });

  it('mounted with app.use, is a broad rule that uriExclusion carves out of', async () => {
    const { provider, calls } = recordingProvider({ risk: 1 });
    const middleware = guard({ mode: 'blocking', provider, uriExclusion: ['/api/health'] });
    const app = express();
    app.use('/api', middleware.protect('$custom', { name: 'api' }));
    app.get('/api/health', (req, res) => res.json({ protected: req.vigil?.protected, reasons: req.vigil?.reasons }));
    app.get('/api/orders', (req, res) => res.json({ protected: req.vigil?.protected }));
    expect((await request(app).get('/api/health').expect(200)).body).toEqual({ protected: false, reasons: ['excluded by uriExclusion'] });
    await request(app).get('/api/orders').set(API).expect(403);
    expect(calls.filter).toHaveLength(1);
  });

  it('does not decide twice about a request the app-level middleware already decided about', async () => {
    const { provider, calls } = recordingProvider();
    const middleware = guard({ provider, routes: [LOGIN_ROUTE] });
    const app = express();
    app.use(express.json(), middleware);
    app.post('/login', middleware.protect('$login', { user: { email: 'body.email' } }), (req, res) => {
      res.json({ event: req.vigil?.event });
    });
    await request(app).post('/login').send({ email: 'a@example.com' }).expect(200);
    expect(calls.filter).toHaveLength(1);
  });

  it('validates its options when it is built, not at the first request', () => {
    const middleware = guard({});
    expect(() => middleware.protect('$signin' as never)).toThrow(VigilConfigError);
    expect(() => middleware.protect('$login', { user: { email: 'body.' } })).toThrow(/vigil\.protect\("\$login"\)\.user\.email/);
  });
});
