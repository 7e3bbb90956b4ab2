// Issue 13, as the shipped apps met it: Chromium on plain HTTP was challenged on every
// form (no Sec-Fetch-* to a non-secure origin), and native mobile apps were blocked on
// login as HTTP client libraries. End to end through createVigil and the embedded
// engine, from the neutral request an adapter builds.
import { describe, expect, it, vi } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { RouteDefinition } from '../routing/routes.js';
import { createVigil, type VigilConfig } from '../vigil.js';
import { MemoryStore } from '../stores/memory.js';
import { type LocalProviderOptions, localProvider } from './local.js';

const SECRET = 'test-secret-0123456789abcdef';
const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const LOGIN: RouteDefinition = { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } };
const APP_LOGIN: RouteDefinition = { method: 'POST', path: '/api/login', event: '$login', user: { email: 'body.email' }, clients: 'app' };

/** What Chromium 124 sends posting the login form to `origin`: Sec-Fetch-* only to a secure one. */
function chromiumFormPost(origin: string, protocol: 'http' | 'https' | undefined, secFetch: boolean): RequestInfo {
  const host = new URL(origin).host;
  const headers: Record<string, string> = {
    host,
    connection: 'keep-alive',
    'cache-control': 'max-age=0',
    'upgrade-insecure-requests': '1',
    origin,
    'content-type': 'application/x-www-form-urlencoded',
    'user-agent': CHROME_UA,
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8',
    referer: `${origin}/login`,
    'accept-encoding': 'gzip, deflate',
    'accept-language': 'en-US,en;q=0.9',
  };
  if (secFetch) Object.assign(headers, { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-fetch-user': '?1' });
  return {
    method: 'POST',
    url: '/login',
    path: '/login',
    headers,
    ...(protocol === undefined ? {} : { protocol }),
    remoteAddress: '203.0.113.10',
    body: { email: 'alice@example.com', password: 'pw' },
  };
}

function appLogin(ua: string, path = '/api/login'): RequestInfo {
  return {
    method: 'POST',
    url: path,
    path,
    headers: { host: 'api.example.com', 'user-agent': ua, accept: 'application/json', 'content-type': 'application/json', 'accept-encoding': 'gzip' },
    protocol: 'https',
    remoteAddress: '203.0.113.20',
    body: { email: 'bob@example.com', password: 'pw' },
  };
}

const vigilWith = (engine: LocalProviderOptions = {}, extra: Partial<VigilConfig> = {}) =>
  createVigil({ mode: 'blocking', routes: [LOGIN, APP_LOGIN], provider: localProvider({ secret: SECRET, ...engine }), onChallenge: () => undefined, ...extra });

describe('issue 13: Chromium on plain HTTP', () => {
  it('Chromium without Sec-Fetch-* over http://intranet:8080 and http://192.168.1.5 → no missing_headers, allowed', async () => {
    for (const origin of ['http://intranet:8080', 'http://192.168.1.5']) {
      const decision = await vigilWith().protect(chromiumFormPost(origin, 'http', false));
      expect(decision.signals, origin).not.toHaveProperty('missing_headers');
      expect(decision.action).toBe('allow');
    }
  });

  it('the same request over HTTPS (the framework saw https, e.g. behind a trusted proxy) → missing_headers, challenged', async () => {
    const decision = await vigilWith().protect(chromiumFormPost('http://intranet:8080', 'https', false));
    expect(decision.signals).toMatchObject({ missing_headers: { missing: ['Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest'] } });
    expect(decision.action).toBe('challenge');
  });

  it('the same request over http://localhost (a secure context: Chromium sends Sec-Fetch-* there) → missing_headers', async () => {
    for (const origin of ['http://localhost:3000', 'http://127.0.0.1:3000', 'http://shop.localhost:8080']) {
      const decision = await vigilWith().protect(chromiumFormPost(origin, 'http', false));
      expect(decision.signals, origin).toHaveProperty('missing_headers');
    }
  });

  it('real Chromium over HTTPS, with its Sec-Fetch-*, is not flagged', async () => {
    const decision = await vigilWith().protect(chromiumFormPost('https://app.example.com', 'https', true));
    expect(decision.signals).toEqual({});
  });

  it('requireSecFetch: true and false stay explicit overrides', async () => {
    expect((await vigilWith({ requireSecFetch: true }).protect(chromiumFormPost('http://intranet:8080', 'http', false))).signals).toHaveProperty('missing_headers');
    expect((await vigilWith({ requireSecFetch: false }).protect(chromiumFormPost('https://app.example.com', 'https', false))).signals).not.toHaveProperty('missing_headers');
  });

  it.each([['yes'], [1], [null], ['AUTO']])('requireSecFetch %j → VIGIL_E_OPTION_VALUE naming the option, the value and the fix', (value) => {
    expect(() => localProvider({ requireSecFetch: value as never })).toThrow(
      expect.objectContaining({ name: 'VigilConfigError', code: 'VIGIL_E_OPTION_VALUE', option: 'requireSecFetch', value, message: expect.stringMatching(/'auto'.*true.*false/) }),
    );
  });
});

describe('issue 13: mobile apps', () => {
  const NATIVE = ['okhttp/4.12.0', 'MyApp/2.3 (com.example.app; build:41; iOS 17.4.0) Alamofire/5.8.0', 'MyApp/41 CFNetwork/1494.0.7 Darwin/23.4.0', 'Dart/3.3 (dart:io)', 'Ktor client'];

  it.each(NATIVE)("%s logs in on a route marked clients: 'app'", async (ua) => {
    const decision = await vigilWith().protect(appLogin(ua));
    expect(decision).toMatchObject({ action: 'allow', signals: {} });
  });

  it('the web login stays browser-only: okhttp and Dart are still blocked there by default', async () => {
    const vigil = vigilWith({}, { routes: [{ ...LOGIN, path: '/api/login' }] });
    for (const ua of ['okhttp/4.12.0', 'Dart/3.3 (dart:io)']) expect((await vigil.protect(appLogin(ua))).action).toBe('block');
  });

  it.each(['curl/8.4.0', 'python-requests/2.31.0', 'Go-http-client/1.1', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36'])(
    "%s is still blocked on a clients: 'app' route",
    async (ua) => {
      expect((await vigilWith().protect(appLogin(ua))).action).toBe('block');
    },
  );

  it("an app-wide clients: 'any' (createVigil) lets native stacks through every route; a route's own clients wins", async () => {
    const vigil = vigilWith({}, { clients: 'any', routes: [{ ...LOGIN, path: '/api/login' }, { ...LOGIN, path: '/web/login', clients: 'browser' }] });
    expect((await vigil.protect(appLogin('okhttp/4.12.0'))).action).toBe('allow');
    expect((await vigil.protect(appLogin('okhttp/4.12.0', '/web/login'))).action).toBe('block');
    expect((await vigil.protect(appLogin('curl/8.4.0'))).action).toBe('block');
  });

  it("localProvider({ clients: 'app' }) is the engine's default for routes that do not say", async () => {
    const vigil = vigilWith({ clients: 'app' }, { routes: [{ ...LOGIN, path: '/api/login' }] });
    expect((await vigil.protect(appLogin('MyApp/41 CFNetwork/1494.0.7 Darwin/23.4.0'))).action).toBe('allow');
    expect((await vigil.protect(appLogin('python-requests/2.31.0'))).action).toBe('block');
  });

  it('an app route is still subject to velocity: an address hammering the app login is stopped', async () => {
    const vigil = vigilWith({ limits: { attemptsPerIp: { $login: { challenge: 3, block: 6 } } } });
    const actions: string[] = [];
    for (let i = 0; i < 6; i++) actions.push((await vigil.protect(appLogin('okhttp/4.12.0'))).action);
    expect(actions).toEqual(['allow', 'allow', 'challenge', 'challenge', 'challenge', 'block']);
  });

  it.each([['apps'], ['mobile'], [true]])('clients %j → a configuration error naming the option, the value and the fix', (value) => {
    expect(() => createVigil({ clients: value as never })).toThrow(expect.objectContaining({ code: 'VIGIL_E_OPTION_VALUE', option: 'clients', value }));
    expect(() => localProvider({ clients: value as never })).toThrow(expect.objectContaining({ code: 'VIGIL_E_OPTION_VALUE', option: 'clients', value }));
  });
});

describe('issue 13: weights are knobs (risk decides for the embedded engine)', () => {
  const fromDataCenter = (weight?: number, extra: Partial<VigilConfig> = {}) =>
    vigilWith({ datacenterRanges: ['203.0.113.0/24'], ...(weight === undefined ? {} : { weights: { datacenter_ip: weight } }) }, extra).protect(chromiumFormPost('https://app.example.com', 'https', true));

  it('a datacenter_ip weight of 0.01 lets a data-center login through, labelled with its code', async () => {
    const decision = await fromDataCenter(0.01);
    expect(decision).toMatchObject({ action: 'allow', verdict: 'allow', threatCode: 13, risk: 0.01 });
    expect(decision.signals).toHaveProperty('datacenter_ip');
  });

  it('the default weight (0.6) challenges; 0.95 is softened to a challenge by its code (13, captcha group) unless the code leaves that group; 0 removes the signal', async () => {
    expect(await fromDataCenter()).toMatchObject({ action: 'challenge', threatCode: 13, risk: 0.6 });
    expect(await fromDataCenter(0.95)).toMatchObject({ action: 'challenge', threatCode: 13, risk: 0.95, threatGroup: 'captcha' });
    expect(await fromDataCenter(0.95, { threatCodes: { captcha: [4, 5, 14, 15, 17] } })).toMatchObject({ action: 'block', threatCode: 13, threatGroup: 'none' });
    const off = await fromDataCenter(0);
    expect(off).toMatchObject({ action: 'allow', risk: 0 });
    expect(off.signals).toEqual({});
  });

  it('thresholds are knobs too: the same 0.6 is allowed under a challenge threshold of 0.7', async () => {
    const vigil = vigilWith({ datacenterRanges: ['203.0.113.0/24'] }, { thresholds: { challenge: 0.7, deny: 0.95 } });
    expect((await vigil.protect(chromiumFormPost('https://app.example.com', 'https', true))).action).toBe('allow');
  });
});

// A device issued on a request has no history until an outcome is recorded with it; after
// one, a later outcome on the same request object must treat it like any device with a
// history (what its failure left pending, its last failure) — not skip it as new.
describe('issue 13: outcomes on the device issued on the same request', () => {
  const setup = () => {
    const store = new MemoryStore();
    const vigil = createVigil({ mode: 'monitoring', routes: [LOGIN], provider: localProvider({ secret: SECRET, store }) });
    const req = chromiumFormPost('https://app.example.com', 'https', true);
    return { store, vigil, req };
  };

  it('failed then succeeded on one account: nothing left pending on the device, its summary clean', async () => {
    const { store, vigil, req } = setup();
    const first = await vigil.protect(req);
    const device = first.device?.id as string;
    expect(device).toMatch(/^[0-9a-f]{32}$/);
    vigil.logOutcome(first, 401);
    // The engine learns after the response, in microtasks: wait for what it writes.
    await vi.waitFor(async () => expect(await store.keys(`p:dev:${device}:`)).toHaveLength(1));
    const second = await vigil.protect(req);
    expect(second.device?.id).toBe(device);
    vigil.logOutcome(second, 200);
    // Flushes the outcome being learned (close waits for in-flight logs).
    await vigil.close();
    expect(await store.keys(`p:dev:${device}:`)).toEqual([]);
    const [summary] = await store.execute([{ type: 'get', key: `v:dev:${device}:sum` }]);
    expect(JSON.parse(String(summary))).not.toHaveProperty('u');
  });

  it('failed on one account then succeeded on another: a typo, resolved where it happened', async () => {
    const { store, vigil, req } = setup();
    const first = await vigil.protect(req);
    const device = first.device?.id as string;
    await vigil.trackLogin(req, { success: false, email: 'alce@example.com' });
    expect(await store.keys(`p:devlast:${device}`)).toHaveLength(1);
    expect(await store.keys('p:typo:')).toEqual([]);
    await vigil.trackLogin(req, { success: true, email: 'alice@example.com' });
    expect(await store.keys(`p:devlast:${device}`)).toEqual([]);
    expect(await store.keys('p:typo:')).toHaveLength(1);
    // The mistyped account is resolved on the device, the address and its range.
    expect(await store.keys(`p:dev:${device}:`)).toEqual([]);
    expect(await store.keys('p:ip:')).toEqual([]);
    expect(await store.keys('p:net:')).toEqual([]);
    await vigil.close();
  });
});
