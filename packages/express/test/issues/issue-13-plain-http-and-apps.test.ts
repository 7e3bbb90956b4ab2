// Issue 13 through Express: the protocol the engine sees is Express's `req.protocol`,
// which follows `trust proxy` — an X-Forwarded-Proto from an untrusted peer changes
// nothing. Chromium on plain HTTP sends no Sec-Fetch-*, and must not be challenged for it.
import express from 'express';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import { guard, LOGIN_ROUTE, loginApp, seen } from '../helpers.js';

const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
/** What Chromium 124 sends posting the login form to http://intranet:8080 (no Sec-Fetch-*). */
const CHROMIUM_PLAIN_HTTP = {
  host: 'intranet:8080',
  origin: 'http://intranet:8080',
  referer: 'http://intranet:8080/login',
  'user-agent': CHROME_UA,
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8',
  'accept-language': 'en-US,en;q=0.9',
  'accept-encoding': 'gzip, deflate',
  'upgrade-insecure-requests': '1',
};

const post = (app: Parameters<typeof request>[0], headers: Record<string, string>, path = '/login') =>
  request(app).post(path).set(headers).type('form').send({ email: 'alice@example.com', password: 'right' });

describe('issue 13 (Express): Sec-Fetch-* expected only where Chromium sends them', () => {
  it('Chromium over plain HTTP: allowed, and monitoring would not challenge it', async () => {
    const app = loginApp(guard({ routes: [LOGIN_ROUTE], onChallenge: () => undefined }));
    const res = await post(app, CHROMIUM_PLAIN_HTTP);
    expect(res.status).toBe(200);
    expect(res.body.vigil).toMatchObject({ action: 'allow', wouldAction: 'allow' });
  });

  it('the same request reaching the app over HTTPS through a trusted proxy (X-Forwarded-Proto, trust proxy) would be challenged', async () => {
    const app = loginApp(guard({ routes: [LOGIN_ROUTE], onChallenge: () => undefined }), (a) => a.set('trust proxy', 'loopback'));
    const res = await post(app, { ...CHROMIUM_PLAIN_HTTP, 'x-forwarded-proto': 'https' });
    expect(res.body.vigil).toMatchObject({ action: 'allow', wouldAction: 'challenge' });
  });

  it('an X-Forwarded-Proto from a peer Express does not trust changes nothing', async () => {
    const app = loginApp(guard({ routes: [LOGIN_ROUTE], onChallenge: () => undefined }));
    const res = await post(app, { ...CHROMIUM_PLAIN_HTTP, 'x-forwarded-proto': 'https' });
    expect(res.body.vigil).toMatchObject({ wouldAction: 'allow' });
  });
});

describe("issue 13 (Express): clients: 'app'", () => {
  const APP = { 'user-agent': 'okhttp/4.12.0', accept: 'application/json', host: 'api.example.com' };

  it('okhttp logs in on the app route in blocking mode; the browser login still blocks it; curl is blocked on both', async () => {
    const app = express();
    app.use(express.urlencoded());
    app.use(guard({ mode: 'blocking', onChallenge: () => undefined, routes: [LOGIN_ROUTE, { ...LOGIN_ROUTE, path: '/api/login', clients: 'app' }] }));
    app.post(['/login', '/api/login'], (req, res) => {
      res.json({ ok: true, vigil: seen(req) });
    });
    const mobile = await post(app, APP, '/api/login');
    expect(mobile.status).toBe(200);
    expect(mobile.body.vigil).toMatchObject({ protected: true, action: 'allow' });
    expect((await post(app, APP)).status).toBe(403);
    expect((await post(app, { ...APP, 'user-agent': 'curl/8.4.0' }, '/api/login')).status).toBe(403);
    expect((await post(app, { ...APP, 'user-agent': 'curl/8.4.0' })).status).toBe(403);
  });
});
