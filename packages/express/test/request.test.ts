import express from 'express';
import request from 'supertest';
import { describe, expect, it, vi } from 'vitest';
import { BROWSER_ACCEPT, DEVICE_COOKIE, guard, LOGIN_ROUTE, loginApp, recordingProvider } from './helpers.js';

describe('client IP', () => {
  const forwarded = '203.0.113.9, 198.51.100.1';

  it("uses Express's req.ip and its trust proxy setting with ip.useFramework", async () => {
    const { provider, calls } = recordingProvider();
    const app = loginApp(guard({ provider, routes: [LOGIN_ROUTE], ip: { useFramework: true } }), (a) => a.set('trust proxy', true));
    await request(app).post('/login').set('x-forwarded-for', forwarded).send({}).expect(401);
    // trust proxy true: Express takes the left-most address.
    expect(calls.filter[0]?.context.ip).toBe('203.0.113.9');

    const untrusting = loginApp(guard({ provider, routes: [LOGIN_ROUTE], ip: { useFramework: true } }));
    await request(untrusting).post('/login').set('x-forwarded-for', forwarded).send({}).expect(401);
    expect(calls.filter[1]?.context.ip).toBe('127.0.0.1');
  });

  it("otherwise ignores trust proxy and extracts the address Vigil's own way", async () => {
    const { provider, calls } = recordingProvider();
    const app = loginApp(guard({ provider, routes: [LOGIN_ROUTE] }), (a) => a.set('trust proxy', true));
    await request(app).post('/login').set('x-forwarded-for', forwarded).send({}).expect(401);
    // Right-most address that is not a trusted proxy; the loopback peer is trusted by default.
    expect(calls.filter[0]?.context.ip).toBe('198.51.100.1');
  });
});

describe("a verdict's response headers", () => {
  it("are appended, so that a provider's Set-Cookie joins the one an earlier middleware set", async () => {
    const { provider } = recordingProvider({ risk: 0, responseHeaders: { 'Set-Cookie': ['rti=abc; Path=/; HttpOnly', 'rti_seen=1; Path=/'], 'x-provider': 'yes' } });
    const app = loginApp(guard({ provider, routes: [LOGIN_ROUTE] }), (a) =>
      a.use((_req, res, next) => {
        res.cookie('before', '1');
        next();
      }),
    );
    const res = await request(app).post('/login').send({ password: 'right' }).expect(200);
    expect(res.headers['set-cookie']).toEqual(['before=1; Path=/', 'rti=abc; Path=/; HttpOnly', 'rti_seen=1; Path=/', DEVICE_COOKIE]);
    expect(res.headers['x-provider']).toBe('yes');
  });

  it("are appended alongside a handler's cookies, and to Vigil's own block response", async () => {
    const { provider } = recordingProvider((event) => ({ risk: event.user.email === 'bot@example.com' ? 1 : 0, responseHeaders: { 'set-cookie': 'rti=abc' } }));
    const middleware = guard({ mode: 'blocking', provider });
    const app = express();
    app.use(express.json());
    app.post('/login', middleware.protect('$login', { user: { email: 'body.email' } }), (_req, res) => {
      res.cookie('sid', '2').json({ ok: true });
    });
    expect((await request(app).post('/login').send({ email: 'ann@example.com' }).expect(200)).headers['set-cookie']).toEqual(['rti=abc', DEVICE_COOKIE, 'sid=2; Path=/']);
    expect((await request(app).post('/login').send({ email: 'bot@example.com' }).expect(403)).headers['set-cookie']).toEqual(['rti=abc', DEVICE_COOKIE]);
  });
});

describe('body parsing', () => {
  it('warns once when a route reads body fields and no body parser ran before Vigil', async () => {
    const warn = vi.fn();
    const middleware = guard({ routes: [LOGIN_ROUTE], logger: { warn, error() {} } });
    const app = express();
    app.use(middleware);
    app.post('/login', (_req, res) => {
      res.sendStatus(401);
    });
    for (let i = 0; i < 3; i++) await request(app).post('/login').send({ email: 'a@example.com' }).expect(401);
    const bodyWarnings = warn.mock.calls.filter(([obj]) => obj.code === 'VIGIL_W_BODY_NOT_PARSED');
    expect(bodyWarnings).toHaveLength(1);
    expect(bodyWarnings[0]?.[1]).toMatch(/express\.json\(\)/);
  });

  it('does not warn when the parser ran but the request had no body it parses', async () => {
    const warn = vi.fn();
    const { provider, calls } = recordingProvider();
    const app = loginApp(guard({ provider, routes: [LOGIN_ROUTE], logger: { warn, error() {} } }));
    await request(app).post('/login').expect(401);
    await request(app).post('/login').set('content-type', 'text/plain').send('email=a@example.com').expect(401);
    expect(warn).not.toHaveBeenCalledWith(expect.objectContaining({ code: 'VIGIL_W_BODY_NOT_PARSED' }), expect.anything());
    expect(calls.filter.map((e) => e.user)).toEqual([{}, {}]);
  });

  it('reads form-encoded fields as well as JSON', async () => {
    const { provider, calls } = recordingProvider();
    const app = loginApp(guard({ provider, routes: [LOGIN_ROUTE] }));
    await request(app).post('/login').type('form').send({ email: 'form@example.com', password: 'right' }).expect(200);
    expect(calls.filter[0]?.user).toEqual({ email: 'form@example.com' });
  });
});

describe('bad input is a normal request', () => {
  it('answers odd headers and bodies without crashing', async () => {
    const { provider, calls } = recordingProvider();
    const app = loginApp(guard({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] }));
    const cases: [string, (r: request.Test) => request.Test][] = [
      ['malformed X-Forwarded-For', (r) => r.set('x-forwarded-for', 'not-an-ip, 999.1.1.1, ::::, [::1]:x, , 0x7f.0.0.1').send({ email: 'a@example.com' })],
      ['a 12 kB header', (r) => r.set('x-forwarded-for', '1.2.3.4, '.repeat(1500)).set('user-agent', 'A'.repeat(1000)).send({})],
      ['odd Accept', (r) => r.set('accept', ';;;,text/html;q=abc,*/*;q=').send({})],
      ['__proto__ body', (r) => r.set('content-type', 'application/json').send('{"__proto__":{"email":"x@example.com","polluted":true},"constructor":{"prototype":{"email":1}}}')],
      ['non-string email', (r) => r.send({ email: { $ne: null }, password: ['right'] })],
      ['deep form body', (r) => r.type('form').send('email[a][b][c]=1&email=2&email=3')],
      ['malformed JSON', (r) => r.set('content-type', 'application/json').send('{"email": ')],
    ];
    for (const [name, build] of cases) {
      const res = await build(request(app).post('/login'));
      expect([name, res.status < 500]).toEqual([name, true]);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(calls.filter.find((e) => e.user.email === 'x@example.com')).toBeUndefined();
    // Still serving.
    await request(app).post('/login').send({ password: 'right' }).expect(200);
  });

  it('leaves headers too large for Node to Node (431)', async () => {
    const app = loginApp(guard({ mode: 'blocking', routes: [LOGIN_ROUTE] }));
    const res = await request(app).post('/login').set('x-big', 'a'.repeat(20_000)).send({}).catch((error: { status?: number; code?: string }) => error);
    // Node refuses the request before Express; depending on timing the socket closes first.
    expect(res.status === 431 || (res as { code?: string }).code === 'ECONNRESET').toBe(true);
  });
});

describe('the embedded engine (no provider)', () => {
  it('blocks curl on /login in blocking mode with a JSON 403', async () => {
    const app = loginApp(guard({ mode: 'blocking', routes: [LOGIN_ROUTE] }));
    const res = await request(app).post('/login').set('user-agent', 'curl/8.5.0').set('accept', '*/*').send({ email: 'a@example.com', password: 'right' }).expect(403);
    expect(res.body).toMatchObject({ blocked: true });
  });

  it('lets a browser through', async () => {
    const app = loginApp(guard({ mode: 'blocking', routes: [LOGIN_ROUTE] }));
    await request(app)
      .post('/login')
      .set({ 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', accept: BROWSER_ACCEPT, 'accept-language': 'en-US,en;q=0.5' })
      .type('form')
      .send({ email: 'a@example.com', password: 'right' })
      .expect(200);
  });
});
