import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import type { INestApplication } from '@nestjs/common';
import { bruteForce, solveChallenge, stuffing, typoThenLogin } from '@vigil/core/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The app as `pnpm start` runs it: compiled by tsc (decorator metadata and all), loaded
// by Node's own require. The test script builds it first.
const require = createRequire(import.meta.url);
const { createApp } = require('../dist/app.js') as { createApp: (env: Record<string, string>) => Promise<INestApplication> };

const FIREFOX = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'accept-language': 'en-US,en;q=0.5',
};
// A Chromium User-Agent without the Sec-Fetch-* headers every Chromium sends: the
// engine challenges it (missing_headers), it cannot block on that alone.
const CHROME_WITHOUT_SEC_FETCH = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'accept-language': 'en-US,en;q=0.9',
};
const CURL = { 'user-agent': 'curl/8.5.0' };
const JSON_ACCEPT = 'application/json';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const ALICE = { email: 'alice@example.com', password: 'correct horse battery staple' };

async function start(env: Record<string, string>): Promise<INestApplication> {
  const app = await createApp(env);
  await app.init();
  return app;
}

describe('examples/nestjs in monitoring mode', () => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await start({ VIGIL_MODE: 'monitoring' });
  });
  afterAll(() => app?.close());

  it('serves the page with the three forms, untouched by Vigil', async () => {
    const res = await request(app.getHttpServer()).get('/').set(FIREFOX).set('accept', BROWSER_ACCEPT);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    for (const path of ['/api/login', '/api/register', '/api/password-reset']) expect(res.text).toContain(`action="${path}"`);
    expect(res.headers['x-vigil-would-action']).toBeUndefined();
  });

  it('answers the JSON API as the contract says', async () => {
    const server = app.getHttpServer();
    const ok = await request(server).post('/api/login').set(FIREFOX).set('accept', JSON_ACCEPT).send(ALICE);
    expect([ok.status, ok.body, ok.headers['x-vigil-would-action']]).toEqual([200, { ok: true }, 'allow']);
    const wrong = await request(server).post('/api/login').set(FIREFOX).set('accept', JSON_ACCEPT).send({ ...ALICE, password: 'nope' });
    expect([wrong.status, wrong.body]).toEqual([401, { ok: false }]);
    const created = await request(server).post('/api/register').set(FIREFOX).set('accept', JSON_ACCEPT).send({ email: 'carol@example.com', password: 'a long password' });
    expect([created.status, created.body]).toEqual([201, { ok: true }]);
    const taken = await request(server).post('/api/register').set(FIREFOX).set('accept', JSON_ACCEPT).send({ email: 'carol@example.com', password: 'a long password' });
    expect(taken.status).toBe(409);
    const reset = await request(server).post('/api/password-reset').set(FIREFOX).set('accept', JSON_ACCEPT).send({ email: 'carol@example.com' });
    expect([reset.status, reset.body]).toEqual([202, { ok: true }]);
  });

  it('takes the same fields form-encoded from a browser, and answers with a page', async () => {
    const res = await request(app.getHttpServer()).post('/api/login').set(FIREFOX).set('accept', BROWSER_ACCEPT).type('form').send(ALICE);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.text).toContain('Done.');
  });

  it('never blocks, but says what blocking mode would do', async () => {
    const res = await request(app.getHttpServer()).post('/api/login').set(CURL).set('accept', JSON_ACCEPT).send(ALICE);
    expect(res.status).toBe(200);
    expect(res.headers['x-vigil-would-action']).toBe('block');
  });
});

describe('examples/nestjs in blocking mode', () => {
  let app: INestApplication;
  beforeAll(async () => {
    app = await start({ VIGIL_MODE: 'blocking' });
  });
  afterAll(() => app?.close());

  it('blocks curl: JSON for an API client, a page for a browser', async () => {
    const api = await request(app.getHttpServer()).post('/api/login').set(CURL).set('accept', JSON_ACCEPT).send(ALICE);
    expect(api.status).toBe(403);
    expect(api.body).toMatchObject({ blocked: true });
    expect(api.headers['x-vigil-would-action']).toBe('block');
    const browser = await request(app.getHttpServer()).post('/api/register').set(CURL).set('accept', BROWSER_ACCEPT).type('form').send({ email: 'x@example.com', password: 'a long password' });
    expect(browser.status).toBe(403);
    expect(browser.text).toContain('Request blocked');
  });

  it('lets a real browser log in', async () => {
    const res = await request(app.getHttpServer()).post('/api/login').set(FIREFOX).set('accept', JSON_ACCEPT).send(ALICE);
    expect([res.status, res.body, res.headers['x-vigil-would-action']]).toEqual([200, { ok: true }, 'allow']);
  });

  it('challenges a doubtful request with the built-in proof of work, and lets it through once solved, once', async () => {
    const server = app.getHttpServer();
    const api = await request(server).post('/api/login').set(CHROME_WITHOUT_SEC_FETCH).set('accept', JSON_ACCEPT).send(ALICE);
    expect(api.status).toBe(403);
    expect(api.body).toMatchObject({ challenge: { type: 'altcha', algorithm: 'PBKDF2/SHA-256' }, requestId: expect.any(String) });
    const page = await request(server).post('/api/login').set(CHROME_WITHOUT_SEC_FETCH).set('accept', BROWSER_ACCEPT).type('form').send(ALICE);
    expect(page.status).toBe(403);
    expect(page.text).toContain('id="vigil-challenge-data"');
    expect(page.text).not.toContain(ALICE.password);
    expect((await request(server).get('/_vigil/challenge/altcha.js')).status).toBe(200);
    const { payload } = await solveChallenge(api.body.challenge);
    const solved = await request(server).post('/api/login').set(CHROME_WITHOUT_SEC_FETCH).set('accept', JSON_ACCEPT).set('vigil-challenge', payload).send(ALICE);
    // Passed: the decision says allow, so the interceptor's would-action is allow too.
    expect([solved.status, solved.body, solved.headers['x-vigil-would-action']]).toEqual([200, { ok: true }, 'allow']);
    const replayed = await request(server).post('/api/login').set(CHROME_WITHOUT_SEC_FETCH).set('accept', JSON_ACCEPT).set('vigil-challenge', payload).send(ALICE);
    expect(replayed.status).toBe(403);
  });

  it('learns from failed logins, per client behind the trusted loopback proxy', async () => {
    const server = app.getHttpServer();
    const attempt = (ip: string, email: string) =>
      request(server).post('/api/login').set(FIREFOX).set('accept', JSON_ACCEPT).set('x-forwarded-for', ip).send({ email, password: 'guess' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await attempt('203.0.113.50', `victim${i}@example.com`)).status);
      // The outcome is logged after the response, off the request path.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 403]);
    expect((await attempt('203.0.113.51', 'victim0@example.com')).status).toBe(401);
  });
});

describe('examples/nestjs with VIGIL_REDIRECT_URL', () => {
  it('redirects blocked requests', async () => {
    const app = await start({ VIGIL_MODE: 'blocking', VIGIL_REDIRECT_URL: '/blocked' });
    try {
      const res = await request(app.getHttpServer()).post('/api/login').set(CURL).send(ALICE);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe('/blocked');
    } finally {
      await app.close();
    }
  });
});

describe('examples/nestjs: the block list and Castle webhooks', () => {
  const ADMIN = { authorization: 'Bearer admin-token-for-tests' };
  const WEBHOOK_SECRET = 'castle-webhook-secret';
  let app: INestApplication;
  beforeAll(async () => {
    app = await start({ VIGIL_MODE: 'blocking', VIGIL_ADMIN_TOKEN: 'admin-token-for-tests', CASTLE_WEBHOOK_SECRET: WEBHOOK_SECRET });
  });
  afterAll(() => app?.close());

  it('refuses the admin API without the token', async () => {
    const res = await request(app.getHttpServer()).get('/admin/blocked').set('authorization', 'Bearer nope');
    expect(res.status).toBe(401);
  });

  it('a blocked account is refused at login once its password is right, JSON or page; unblocking lets it in', async () => {
    const server = app.getHttpServer();
    expect((await request(server).post('/admin/block').set(ADMIN).send({ email: 'bob@example.com', reason: 'account takeover' })).status).toBe(204);
    const blocked = await request(server).get('/admin/blocked').set(ADMIN);
    // Vigil knows the account by its opaque id, never by its email.
    expect(blocked.body).toEqual([{ id: expect.stringMatching(/^user_[0-9a-f]{16}$/), reason: 'account takeover', at: expect.any(String) }]);
    const bob = { email: 'bob@example.com', password: 'hunter2-but-longer' };
    const api = await request(server).post('/api/login').set(FIREFOX).set('accept', JSON_ACCEPT).send(bob);
    expect([api.status, api.body.blocked]).toEqual([403, true]);
    const page = await request(server).post('/api/login').set(FIREFOX).set('accept', BROWSER_ACCEPT).type('form').send(bob);
    expect(page.status).toBe(403);
    expect(page.text).toContain('Request blocked');
    // A wrong password is still just a wrong password; other accounts log in.
    expect((await request(server).post('/api/login').set(FIREFOX).set('accept', JSON_ACCEPT).send({ ...bob, password: 'nope' })).status).toBe(401);
    expect((await request(server).post('/api/login').set(FIREFOX).set('accept', JSON_ACCEPT).send(ALICE)).status).toBe(200);
    expect((await request(server).post('/admin/unblock').set(ADMIN).send({ email: 'bob@example.com' })).status).toBe(204);
    expect((await request(server).post('/api/login').set(FIREFOX).set('accept', JSON_ACCEPT).send(bob)).status).toBe(200);
  });

  it('verifies Castle webhooks against the raw body', async () => {
    const body = '{"type": "$incident.confirmed", "data": {"user_id": "user_1"}}';
    const signature = createHmac('sha256', WEBHOOK_SECRET).update(body).digest('base64');
    const post = (payload: string) => request(app.getHttpServer()).post('/webhooks/castle').set('content-type', 'application/json').set('x-castle-signature', signature).send(payload);
    expect((await post(body)).status).toBe(204);
    expect((await post(body.replace('user_1', 'user_2'))).status).toBe(401);
  });

  it('mounts neither without their environment variables', async () => {
    const plain = await start({ VIGIL_MODE: 'blocking' });
    try {
      expect((await request(plain.getHttpServer()).get('/admin/blocked').set(ADMIN)).status).toBe(404);
      expect((await request(plain.getHttpServer()).post('/webhooks/castle').send({})).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe('examples/nestjs: the server-rendered sign-in (@nestjs/passport, sessions), blocking mode', () => {
  let app: INestApplication;
  let origin = '';
  let ip = 0;
  beforeAll(async () => {
    app = await start({ VIGIL_MODE: 'blocking' });
    await app.listen(0, '127.0.0.1');
    origin = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(() => app?.close());
  // Each client speaks for its own address (the example trusts loopback as a proxy).
  const form = () => ({ origin, path: '/login', headers: { 'x-forwarded-for': `198.51.100.${++ip}` } });

  it('a wrong password goes back to the form, the right one to the account, signed in', async () => {
    const { typo, login } = await typoThenLogin(form(), { account: ALICE.email, password: ALICE.password });
    expect([typo.status, typo.location]).toEqual([302, '/login?error=1']);
    expect([login.status, login.location]).toEqual([302, '/account']);
    expect(typo.stopped || login.stopped).toBe(false);
  });

  it('brute force on one account and stuffing over many, each from one address, are stopped within 10 attempts', async () => {
    const brute = await bruteForce(form(), { account: 'bob@example.com', attempts: 30 });
    const stuffed = await stuffing(form(), { accounts: Array.from({ length: 30 }, (_, i) => `victim${i}@example.org`) });
    expect(brute.stoppedAt).toBeLessThanOrEqual(10);
    expect(stuffed.stoppedAt).toBeLessThanOrEqual(10);
  });
});
