import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { bruteForce, solveChallenge, stuffing, typoThenLogin } from '@vigil/core/testing';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, userIdOf } from '../server.mjs';

// Requests come from loopback, which the example trusts as a proxy: X-Forwarded-For
// speaks for the client, as it does for the simulator.
const FIREFOX = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'accept-language': 'en-US,en;q=0.5',
};
const API = { ...FIREFOX, accept: 'application/json, text/plain, */*' };
const FORM = { ...FIREFOX, accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
// A Chrome that sends no Sec-Fetch-* headers: the engine asks for a CAPTCHA.
const ODD_CHROME = {
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'accept-language': 'en-US,en;q=0.9',
  accept: 'application/json',
};
const CURL = { 'user-agent': 'curl/8.5.0', accept: '*/*' };

const apps: { vigil: { close(): Promise<void> } }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.vigil.close()));
});
async function start(env: Record<string, string>) {
  const built = await createApp(env);
  apps.push(built);
  return built.app;
}

let nextIp = 1;
const client = () => `203.0.113.${nextIp++}`;

describe.each(['monitoring', 'blocking'])('the example app in %s mode', (mode) => {
  it('serves the HTML page with the three forms', async () => {
    const app = await start({ VIGIL_MODE: mode });
    const res = await request(app).get('/').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    for (const path of ['/api/login', '/api/register', '/api/password-reset']) expect(res.text).toContain(`action="${path}"`);
    expect(res.headers['x-vigil-would-action']).toBeUndefined();
  });

  it('answers the JSON API contract', async () => {
    const app = await start({ VIGIL_MODE: mode });
    const ip = client();
    const post = (path: string, body: object) => request(app).post(path).set(API).set('x-forwarded-for', ip).send(body);
    expect((await post('/api/register', { email: 'carol@example.com', password: 'a long password' }).expect(201)).body).toEqual({ ok: true });
    await post('/api/register', { email: 'carol@example.com', password: 'a long password' }).expect(409);
    expect((await post('/api/login', { email: 'carol@example.com', password: 'a long password' }).expect(200)).body).toEqual({ ok: true });
    expect((await post('/api/login', { email: 'carol@example.com', password: 'wrong password' }).expect(401)).body).toEqual({ ok: false });
    const reset = await post('/api/password-reset', { email: 'carol@example.com' }).expect(202);
    expect(reset.body).toEqual({ ok: true });
    expect(reset.headers['x-vigil-would-action']).toBe('allow');
  });

  it('accepts the HTML forms, form-encoded, and answers with a page', async () => {
    const app = await start({ VIGIL_MODE: mode });
    const ip = client();
    const post = (path: string, body: Record<string, string>) => request(app).post(path).set(FORM).set('x-forwarded-for', ip).type('form').send(body);
    await post('/api/register', { email: 'dan@example.com', password: 'another long one' }).expect(201);
    const login = await post('/api/login', { email: 'alice@example.com', password: 'correct horse battery staple' }).expect(200);
    expect(login.headers['content-type']).toMatch(/^text\/html/);
    await post('/api/login', { email: 'alice@example.com', password: 'nope' }).expect(401);
    await post('/api/password-reset', { email: 'alice@example.com' }).expect(202);
  });
});

describe('monitoring mode', () => {
  it('lets curl through and says what blocking mode would do', async () => {
    const app = await start({ VIGIL_MODE: 'monitoring' });
    const res = await request(app).post('/api/login').set(CURL).set('x-forwarded-for', client()).send({ email: 'alice@example.com', password: 'correct horse battery staple' }).expect(200);
    expect(res.headers['x-vigil-would-action']).toBe('block');
  });
});

describe('blocking mode', () => {
  it('blocks curl with JSON, and a headless browser with a page', async () => {
    const app = await start({ VIGIL_MODE: 'blocking' });
    const curl = await request(app).post('/api/login').set(CURL).set('x-forwarded-for', client()).send({ email: 'alice@example.com', password: 'correct horse battery staple' }).expect(403);
    expect(curl.body).toMatchObject({ blocked: true });
    expect(curl.headers['x-vigil-would-action']).toBe('block');
    const headless = await request(app)
      .post('/api/register')
      .set({ ...FORM, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36' })
      .set('x-forwarded-for', client())
      .type('form')
      .send({ email: 'bot@example.com', password: 'long enough' })
      .expect(403);
    expect(headless.headers['content-type']).toMatch(/^text\/html/);
    expect(headless.text).toContain('Request blocked');
  });

  it('challenges a suspicious request with the built-in proof of work, which passes once solved, once', async () => {
    const app = await start({ VIGIL_MODE: 'blocking' });
    const ip = client();
    const body = { email: 'alice@example.com', password: 'correct horse battery staple' };
    const challenged = await request(app).post('/api/login').set(ODD_CHROME).set('x-forwarded-for', ip).send(body).expect(403);
    expect(challenged.body).toMatchObject({ challenge: { type: 'altcha', algorithm: 'PBKDF2/SHA-256' }, requestId: expect.any(String) });
    const page = await request(app).post('/api/login').set({ ...ODD_CHROME, accept: 'text/html' }).set('x-forwarded-for', ip).type('form').send(body).expect(403);
    expect(page.text).toContain('id="vigil-challenge-data"');
    expect(page.text).not.toContain('correct horse');
    expect((await request(app).get('/_vigil/challenge/altcha.js').expect(200)).headers['content-type']).toMatch(/javascript/);
    const { payload } = await solveChallenge(challenged.body.challenge);
    const passed = await request(app).post('/api/login').set(ODD_CHROME).set('x-forwarded-for', ip).set('vigil-challenge', payload).send(body).expect(200);
    expect(passed.body).toEqual({ ok: true });
    // Single use: the same solution again is challenged again.
    await request(app).post('/api/login').set(ODD_CHROME).set('x-forwarded-for', ip).set('vigil-challenge', payload).send(body).expect(403);
  });

  it('redirects instead of blocking when VIGIL_REDIRECT_URL is set', async () => {
    const app = await start({ VIGIL_MODE: 'blocking', VIGIL_REDIRECT_URL: '/?blocked=1' });
    const res = await request(app).post('/api/login').set(CURL).set('x-forwarded-for', client()).send({}).expect(302);
    expect(res.headers.location).toBe('/?blocked=1');
  });

  it('refuses an unknown mode at start-up', async () => {
    await expect(createApp({ VIGIL_MODE: 'block' })).rejects.toThrow(/VIGIL_E_MODE/);
  });
});

describe('user monitoring: identify on login, the admin API, the device cookie', () => {
  const ADMIN = { authorization: 'Bearer admin-token-for-tests' };
  const ALICE = { email: 'alice@example.com', password: 'correct horse battery staple' };

  it('blocking: a user an admin blocked is refused at login, right password or not, until unblocked', async () => {
    const app = await start({ VIGIL_MODE: 'blocking', VIGIL_ADMIN_TOKEN: 'admin-token-for-tests' });
    const ip = client();
    const login = (headers = API) => request(app).post('/api/login').set(headers).set('x-forwarded-for', ip).send(ALICE);
    await login().expect(200);

    const blocked = await request(app).post('/admin/users/block').set(ADMIN).send({ email: 'Alice@Example.com', reason: 'account takeover' }).expect(200);
    expect(blocked.body).toEqual({ ok: true, id: userIdOf('alice@example.com') });
    // The block list holds the id (a hash), never the email.
    const listed = (await request(app).get('/admin/blocked-users').set(ADMIN).expect(200)).body;
    expect(listed).toEqual([{ id: userIdOf('alice@example.com'), reason: 'account takeover', at: expect.any(String) }]);
    expect(JSON.stringify(listed)).not.toContain('alice');

    expect((await login().expect(403)).body).toMatchObject({ blocked: true });
    expect((await login(FORM).expect(403)).text).toContain('Request blocked');
    // Other users are not concerned.
    await request(app).post('/api/login').set(API).set('x-forwarded-for', ip).send({ email: 'bob@example.com', password: 'hunter2-but-longer' }).expect(200);

    await request(app).post('/admin/users/unblock').set(ADMIN).send({ email: 'alice@example.com' }).expect(200);
    await login().expect(200);
  });

  it('monitoring: the blocked user logs in; nothing is refused', async () => {
    const app = await start({ VIGIL_MODE: 'monitoring', VIGIL_ADMIN_TOKEN: 'admin-token-for-tests' });
    await request(app).post('/admin/users/block').set(ADMIN).send({ email: 'alice@example.com' }).expect(200);
    await request(app).post('/api/login').set(API).set('x-forwarded-for', client()).send(ALICE).expect(200);
  });

  it('the admin API wants the token, and is not there without VIGIL_ADMIN_TOKEN', async () => {
    const app = await start({ VIGIL_MODE: 'blocking', VIGIL_ADMIN_TOKEN: 'admin-token-for-tests' });
    await request(app).post('/admin/users/block').send({ email: 'alice@example.com' }).expect(401);
    await request(app).get('/admin/blocked-users').set('authorization', 'Bearer wrong').expect(401);
    await request(app).post('/admin/users/block').set(ADMIN).send({}).expect(400);
    const without = await start({ VIGIL_MODE: 'blocking' });
    await request(without).get('/admin/blocked-users').set(ADMIN).expect(404);
  });

  it('protected responses carry the signed device cookie by default, keyed by VIGIL_DEVICE_SECRET when given', async () => {
    const COOKIE = /^vigil_did=[\w-]+\.[\w-]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/;
    const app = await start({ VIGIL_MODE: 'blocking', VIGIL_DEVICE_SECRET: 'device-secret-for-the-tests' });
    const res = await request(app).post('/api/login').set(API).set('x-forwarded-for', client()).send(ALICE).expect(200);
    expect(res.headers['set-cookie']).toEqual([expect.stringMatching(COOKIE)]);
    // Unprotected routes never get it.
    expect((await request(app).get('/').expect(200)).headers['set-cookie']).toBeUndefined();
    const byDefault = await start({ VIGIL_MODE: 'blocking' });
    const first = await request(byDefault).post('/api/login').set(API).set('x-forwarded-for', client()).send(ALICE).expect(200);
    expect(first.headers['set-cookie']).toEqual([expect.stringMatching(COOKIE)]);
    // A cookie signed with another secret is not this app's: it is replaced.
    const other = (res.headers['set-cookie'] as unknown as string[])[0]?.split(';')[0] as string;
    const again = await request(byDefault).post('/api/login').set(API).set('cookie', other).set('x-forwarded-for', client()).send(ALICE).expect(200);
    expect((again.headers['set-cookie'] as unknown as string[])[0]?.split(';')[0]).not.toBe(other);
  });
});

describe('the server-rendered sign-in (Passport, sessions), blocking mode', () => {
  const ALICE = { email: 'alice@example.com', password: 'correct horse battery staple' };
  /** The app listening on loopback; the tests' clients speak for one address each. */
  async function listening() {
    const app = await start({ VIGIL_MODE: 'blocking' });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    servers.push(server);
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return (ip: string) => ({ origin, path: '/login', headers: { 'x-forwarded-for': ip } });
  }
  const servers: { close(): void }[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  it('a wrong password goes back to the form, the right one to the account, signed in', async () => {
    const form = (await listening())(client());
    const { typo, login } = await typoThenLogin(form, { account: ALICE.email, password: ALICE.password });
    expect([typo.status, typo.location]).toEqual([302, '/login?error=1']);
    expect([login.status, login.location]).toEqual([302, '/account']);
    expect(typo.stopped || login.stopped).toBe(false);
  });

  it('brute force on one account and stuffing over many, each from one address, are stopped within 10 attempts', async () => {
    const formFor = await listening();
    const brute = await bruteForce(formFor(client()), { account: ALICE.email, attempts: 30 });
    const stuffed = await stuffing(formFor(client()), { accounts: Array.from({ length: 30 }, (_, i) => `victim${i}@example.org`) });
    expect(brute.stoppedAt).toBeLessThanOrEqual(10);
    expect(stuffed.stoppedAt).toBeLessThanOrEqual(10);
  });
});

describe('node server.mjs', () => {
  it('listens on PORT and prints one JSON line with the real port', async () => {
    const cwd = join(dirname(fileURLToPath(import.meta.url)), '..');
    const child = execFile(process.execPath, ['server.mjs'], { cwd, env: { ...process.env, REDIS_URL: '', PORT: '0', VIGIL_MODE: 'blocking' } });
    try {
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout?.once('data', (chunk) => resolve(String(chunk).split('\n')[0] as string));
        child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
      });
      const { listening, mode } = JSON.parse(line);
      expect(mode).toBe('blocking');
      expect(listening).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${listening}/api/login`, { method: 'POST', headers: { ...CURL, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status).toBe(403);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
