import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bruteForce, solveChallenge, stuffing, typoThenLogin } from '@vigil/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../server.mjs';

const BROWSER = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-US,en;q=0.5',
};
const FETCH = { ...BROWSER, accept: 'application/json' };
const FORM = { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' };
const CURL = { 'user-agent': 'curl/8.5.0', accept: '*/*' };
const ALICE = { email: 'alice@example.com', password: 'correct horse battery staple' };

type App = Awaited<ReturnType<typeof buildApp>>;
const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});
async function app(env: Record<string, string> = {}): Promise<App> {
  const built = await buildApp(env);
  apps.push(built);
  return built;
}

describe.each(['monitoring', 'blocking'])('the contract in %s mode', (mode) => {
  it('serves the page with the three forms', async () => {
    const res = await (await app({ VIGIL_MODE: mode })).inject({ method: 'GET', url: '/', headers: BROWSER });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    for (const action of ['/api/login', '/api/register', '/api/password-reset']) expect(res.body).toContain(`action="${action}"`);
    expect(res.headers['x-vigil-would-action']).toBeUndefined();
  });

  it('registers (201, then 409), logs in (200 / 401) and accepts resets (202) as JSON', async () => {
    const a = await app({ VIGIL_MODE: mode });
    const post = (url: string, payload: object) => a.inject({ method: 'POST', url, payload, headers: FETCH });
    const created = await post('/api/register', { email: 'carol@example.com', password: 'long enough pass' });
    expect([created.statusCode, created.json()]).toEqual([201, { ok: true }]);
    expect(created.headers['x-vigil-would-action']).toBe('allow');
    expect((await post('/api/register', { email: 'carol@example.com', password: 'long enough pass' })).statusCode).toBe(409);
    const ok = await post('/api/login', ALICE);
    expect([ok.statusCode, ok.json()]).toEqual([200, { ok: true }]);
    const wrong = await post('/api/login', { ...ALICE, password: 'nope' });
    expect([wrong.statusCode, wrong.json()]).toEqual([401, { ok: false }]);
    const reset = await post('/api/password-reset', { email: 'alice@example.com' });
    expect([reset.statusCode, reset.json()]).toEqual([202, { ok: true }]);
  });

  it('takes the forms’ form-encoded posts', async () => {
    const a = await app({ VIGIL_MODE: mode });
    const res = await a.inject({ method: 'POST', url: '/api/login', payload: new URLSearchParams(ALICE).toString(), headers: FORM });
    expect([res.statusCode, res.json()]).toEqual([200, { ok: true }]);
  });
});

describe('Vigil in the example', () => {
  it('lets curl through in monitoring mode and says it would block it', async () => {
    const res = await (await app({ VIGIL_MODE: 'monitoring' })).inject({ method: 'POST', url: '/api/login', payload: ALICE, headers: CURL });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-vigil-would-action']).toBe('block');
  });

  it('blocks curl in blocking mode: JSON for API clients', async () => {
    const res = await (await app({ VIGIL_MODE: 'blocking' })).inject({ method: 'POST', url: '/api/login', payload: ALICE, headers: CURL });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ blocked: true });
    expect(res.headers['x-vigil-would-action']).toBe('block');
  });

  it('blocks with an HTML page for a browser-like client, and redirects when VIGIL_REDIRECT_URL is set', async () => {
    const html = await (await app({ VIGIL_MODE: 'blocking' })).inject({ method: 'POST', url: '/api/login', payload: ALICE, headers: { ...BROWSER, 'user-agent': 'HeadlessChrome/120.0' } });
    expect(html.statusCode).toBe(403);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    const redirect = await (await app({ VIGIL_MODE: 'blocking', VIGIL_REDIRECT_URL: '/blocked.html' })).inject({ method: 'POST', url: '/api/login', payload: ALICE, headers: CURL });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('/blocked.html');
  });

  it('challenges a browser missing the headers browsers send with the built-in proof of work, and lets it through once solved, once', async () => {
    const a = await app({ VIGIL_MODE: 'blocking' });
    const bare = { 'user-agent': BROWSER['user-agent'], accept: 'application/json' };
    const asked = await a.inject({ method: 'POST', url: '/api/login', payload: ALICE, headers: bare });
    expect(asked.statusCode).toBe(403);
    expect(asked.json()).toMatchObject({ challenge: { type: 'altcha', algorithm: 'PBKDF2/SHA-256' }, requestId: expect.any(String) });

    const page = await a.inject({ method: 'POST', url: '/api/login', payload: new URLSearchParams(ALICE).toString(), headers: { ...bare, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' } });
    expect(page.statusCode).toBe(403);
    expect(page.body).toContain('id="vigil-challenge-data"');
    expect(page.body).not.toContain(ALICE.password);
    expect((await a.inject({ method: 'GET', url: '/_vigil/challenge/altcha.js' })).statusCode).toBe(200);

    const { payload } = await solveChallenge(asked.json().challenge);
    const passed = await a.inject({ method: 'POST', url: '/api/login', payload: ALICE, headers: { ...bare, 'vigil-challenge': payload } });
    expect([passed.statusCode, passed.json()]).toEqual([200, { ok: true }]);
    const replayed = await a.inject({ method: 'POST', url: '/api/login', payload: ALICE, headers: { ...bare, 'vigil-challenge': payload } });
    expect(replayed.statusCode).toBe(403);
  });

  it('reads each client from X-Forwarded-For through the loopback proxy', async () => {
    const a = await app({ VIGIL_MODE: 'blocking' });
    let last = 0;
    // Failed logins on many accounts from one address end in a block; another address is fine.
    for (let i = 0; i < 8; i++) {
      last = (await a.inject({ method: 'POST', url: '/api/login', payload: { email: `user${i}@example.com`, password: 'wrong password' }, headers: { ...FETCH, 'x-forwarded-for': '198.51.100.9' } })).statusCode;
    }
    expect(last).toBe(403);
    const other = await a.inject({ method: 'POST', url: '/api/login', payload: ALICE, headers: { ...FETCH, 'x-forwarded-for': '198.51.100.10' } });
    expect(other.statusCode).toBe(200);
  });
});

describe('the server-rendered sign-in (@fastify/passport, secure sessions), blocking mode', () => {
  let ip = 0;
  /** The app listening on loopback; the tests' clients speak for one address each. */
  async function listening() {
    const server = await app({ VIGIL_MODE: 'blocking' });
    await server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.server.address() as { port: number };
    return () => ({ origin: `http://127.0.0.1:${port}`, path: '/login', headers: { 'x-forwarded-for': `198.51.100.${++ip}` } });
  }

  it('a wrong password goes back to the form, the right one to the account, signed in', async () => {
    const form = (await listening())();
    const { typo, login } = await typoThenLogin(form, { account: ALICE.email, password: ALICE.password });
    expect([typo.status, typo.location]).toEqual([302, '/login?error=1']);
    expect([login.status, login.location]).toEqual([302, '/account']);
    expect(typo.stopped || login.stopped).toBe(false);
  });

  it('brute force on one account and stuffing over many, each from one address, are stopped within 10 attempts', async () => {
    const formFor = await listening();
    const brute = await bruteForce(formFor(), { account: ALICE.email, attempts: 30 });
    const stuffed = await stuffing(formFor(), { accounts: Array.from({ length: 30 }, (_, i) => `victim${i}@example.org`) });
    expect(brute.stoppedAt).toBeLessThanOrEqual(10);
    expect(stuffed.stoppedAt).toBeLessThanOrEqual(10);
  });
});

describe('node server.mjs', () => {
  it('prints one JSON line with the real port and the mode, then serves', async () => {
    const cwd = join(dirname(fileURLToPath(import.meta.url)), '..');
    const child = spawn(process.execPath, ['server.mjs'], { cwd, env: { ...process.env, REDIS_URL: '', PORT: '0', VIGIL_MODE: 'blocking' }, stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      let buffer = '';
      child.stdout.setEncoding('utf8');
      for await (const chunk of child.stdout) {
        buffer += chunk;
        if (buffer.includes('\n')) break;
      }
      const line = JSON.parse(buffer.split('\n')[0] as string);
      expect(line).toEqual({ listening: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), mode: 'blocking' });
      const res = await fetch(`${line.listening}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'curl/8.5.0' }, body: JSON.stringify(ALICE) });
      expect(res.status).toBe(403);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
