import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { Decision } from '../decision/decision.js';
import { VigilConfigError, VigilProviderError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { RouteDefinition } from '../routing/routes.js';
import { type FakeCheq, type FakeSwitches, startFakeCheq } from '../testing/fake-vendors.js';
import { createVigil, type Vigil, type VigilConfig } from '../vigil.js';
import { type CheqProviderOptions, cheqProvider } from './cheq.js';
import type { Provider, ProviderEvent, Verdict } from './types.js';

const API_KEY = 'cheq_api_key_Hx93kQ0pLw';
const TAG_HASH = 'tag_5f1e0c';
const ROUTE_TO_EVENT_TYPE = { '/login': 'login', '/': 'page_load', '/checkout': 'purchase', '/cart': 'add_to_cart' };

/** What a browser sends, in its order and case, as Node's `rawHeaders` carries it. */
const RAW_HEADERS = [
  'Host', 'shop.example.com',
  'User-Agent', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15',
  'X-Forwarded-For', '198.51.100.23, 10.0.0.9',
  'Referer', 'https://shop.example.com/',
  'accept', 'text/html,application/xhtml+xml,*/*;q=0.8',
  'Accept-Language', 'en-US,en;q=0.9',
  'Accept-Encoding', 'gzip, deflate, br',
  'Origin', 'https://shop.example.com',
  'X-Requested-With', 'XMLHttpRequest',
  'Connection', 'keep-alive',
  'Pragma', 'no-cache',
  'Cache-Control', 'no-cache',
  'Content-Type', 'application/x-www-form-urlencoded',
  'True-Client-IP', '198.51.100.23',
  'X-Real-IP', '198.51.100.23',
  'Forwarded', 'for=198.51.100.23;proto=https',
  'Cookie', '_cheq_rti=rti%20cookie%2Bvalue; sid=s3ss10n-c00kie',
  'Authorization', 'Bearer user-t0ken',
  'sec-ch-ua', '"Chromium";v="124"',
];

function headersOf(raw: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) headers[(raw[i] as string).toLowerCase()] = raw[i + 1] as string;
  return headers;
}

function browserRequest(overrides: Partial<RequestInfo> = {}): RequestInfo {
  return {
    method: 'POST',
    url: '/login?next=%2Fhome',
    path: '/login',
    protocol: 'https',
    headers: headersOf(RAW_HEADERS),
    rawHeaders: RAW_HEADERS,
    remoteAddress: '10.0.0.5',
    body: { email: 'alice@example.com', password: 'hunter2' },
    ...overrides,
  };
}

function pageRequest(path: string, overrides: Partial<RequestInfo> = {}): RequestInfo {
  return browserRequest({ method: 'GET', url: path, path, body: undefined, ...overrides });
}

/** A logger that records every call, as JSON and as util.inspect sees it. */
function capturingLogger() {
  const lines: string[] = [];
  const calls: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const expand = (_key: string, value: unknown) => (value instanceof Error ? { ...value, name: value.name, message: value.message, stack: value.stack } : value);
  const record = (level: string) => (obj: object, msg?: string) => {
    calls.push({ level, obj: obj as Record<string, unknown>, msg });
    lines.push(JSON.stringify({ level, obj, msg }, expand), inspect(obj, { depth: 10 }), String(msg));
  };
  const logger: Required<Logger> = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  return { lines, calls, logger };
}

/**
 * `promise`, or a rejection after `ms`: a generous bound that only turns a hang into a
 * failure. Timing is proven by what ends a call (a fake that holds its answer), not by the clock.
 */
async function bounded<T>(promise: Promise<T>, ms = 4000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

let fake: FakeCheq;
const toClose: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  fake = await startFakeCheq(API_KEY, TAG_HASH);
  // Warm up once: the process's first got request (module import, JIT) can take longer
  // than CHEQ's 100 ms budget on a busy machine, which is not what these tests measure.
  const warm = cheqProvider({ apiKey: API_KEY, tagHash: TAG_HASH, apiEndpoint: fake.url, timeout: 5000 });
  await warm.filter(await eventFor(warm, browserRequest()));
  await warm.close?.();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
});
afterEach(async () => {
  await Promise.all(toClose.splice(0).map((c) => c.close()));
});

function cheq(options: Partial<CheqProviderOptions> = {}): Provider {
  // A roomy budget unless a test is about timeouts: CHEQ's 100 ms default is tight on a
  // busy 2-core machine, and a stray failover would make unrelated tests flaky.
  const provider = cheqProvider({ apiKey: API_KEY, tagHash: TAG_HASH, apiEndpoint: fake.url, timeout: 2000, ...options });
  toClose.push({ close: async () => provider.close?.() });
  return provider;
}

function vigilWith(provider: Provider, config: VigilConfig = {}): Vigil {
  const vigil = createVigil({ mode: 'blocking', routeToEventType: ROUTE_TO_EVENT_TYPE, provider, ...config });
  toClose.push(vigil);
  return vigil;
}

/** The ProviderEvent the pipeline builds for `req` (the provider's `prepare()` included). */
async function eventFor(provider: Provider, req: RequestInfo, config: VigilConfig = {}): Promise<ProviderEvent> {
  let captured: ProviderEvent | undefined;
  const capture = async (event: ProviderEvent) => {
    captured = event;
    return { risk: 0 };
  };
  const prepare = provider.prepare?.bind(provider);
  const spy: Provider = { name: 'capture', filter: capture, risk: capture, log: async () => undefined, ...(prepare ? { prepare } : {}) };
  await createVigil({ routeToEventType: ROUTE_TO_EVENT_TYPE, ...config, provider: spy }).protect(req);
  if (!captured) throw new Error('the request matched no route');
  return captured;
}

function form(i = 0): Record<string, string> {
  return fake.requests[i]?.body as Record<string, string>;
}

describe('cheqProvider: configuration', () => {
  it.each(['apiKey', 'tagHash', 'apiEndpoint'] as const)('a missing or non-string %s is a config error naming the option', (option) => {
    const valid = { apiKey: API_KEY, tagHash: TAG_HASH, apiEndpoint: 'https://rti.example.com' };
    for (const value of [undefined, '', '  ', 42, null, { key: 'x' }]) {
      let error: unknown;
      try {
        cheqProvider({ ...valid, [option]: value } as unknown as CheqProviderOptions);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(VigilConfigError);
      expect(error).toMatchObject({ code: 'VIGIL_E_PROVIDER', option });
      expect((error as Error).message).toContain(option);
    }
  });

  it('rejects an apiEndpoint that is not a URL, a bad timeout or failover, and unknown options', () => {
    const valid = { apiKey: API_KEY, tagHash: TAG_HASH, apiEndpoint: 'https://rti.example.com' };
    expect(() => cheqProvider({ ...valid, apiEndpoint: 'rti.example.com' })).toThrow(/apiEndpoint/);
    expect(() => cheqProvider({ ...valid, timeout: 0 })).toThrow(/timeout/);
    expect(() => cheqProvider({ ...valid, failover: 'open' as never })).toThrow(/failover/);
    expect(() => cheqProvider({ ...valid, trustedIpHeader: 'x' } as unknown as CheqProviderOptions)).toThrow(VigilConfigError);
  });

  it.each([
    ['a misspelt option', { apiKye: API_KEY, tagHash: TAG_HASH, apiEndpoint: 'https://rti.example.com' }],
    ['an apiKey of the wrong type', { apiKey: [API_KEY], tagHash: TAG_HASH, apiEndpoint: 'https://rti.example.com' }],
    ['a bad endpoint', { apiKey: API_KEY, tagHash: TAG_HASH, apiEndpoint: 'nope' }],
  ])('never echoes the API key in a configuration error (%s)', (_, options) => {
    let error: unknown;
    try {
      cheqProvider(options as unknown as CheqProviderOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VigilConfigError);
    expect(`${inspect(error, { showHidden: true, depth: 5 })} ${JSON.stringify(error)}`).not.toContain(API_KEY);
  });
});

describe('cheqProvider: wire format', () => {
  it('POSTs the exact CHEQ RTI v1 field list, form-encoded, to {apiEndpoint}/v1/realtime-interception', async () => {
    const vigil = vigilWith(cheq(), { getJa3: () => '771,4865-4866,0-23,29-23,0', getChannel: () => 'web-eu' });
    const before = Date.now();
    const decision = await vigil.protect(browserRequest());
    const after = Date.now();
    expect(decision.failover).toBe(false);
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/v1/realtime-interception');
    expect(req?.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    const fields = form();
    expect(Object.keys(fields).sort()).toEqual(
      [
        'ApiKey', 'TagHash', 'EventType', 'ClientIP', 'RequestURL', 'Method', 'ResourceType', 'CheqCookie', 'RequestTime', 'HeaderNames',
        'Host', 'UserAgent', 'XForwardedFor', 'Referer', 'Accept', 'AcceptLanguage', 'AcceptEncoding', 'Origin', 'XRequestedWith',
        'Connection', 'Pragma', 'CacheControl', 'ContentType', 'TrueClientIP', 'XRealIP', 'RemoteAddr', 'Forwarded', 'JA3', 'Channel',
      ].sort(),
    );
    const headers = headersOf(RAW_HEADERS);
    expect(fields).toEqual({
      ApiKey: API_KEY,
      TagHash: TAG_HASH,
      EventType: 'login',
      ClientIP: '198.51.100.23',
      // Query values stay in the process unless sendQueryValues is set.
      RequestURL: 'https://shop.example.com/login?next=REDACTED',
      Method: 'POST',
      ResourceType: 'text/html',
      CheqCookie: 'rti cookie+value',
      RequestTime: expect.stringMatching(/^\d{13}$/),
      HeaderNames:
        'Host,User-Agent,X-Forwarded-For,Referer,accept,Accept-Language,Accept-Encoding,Origin,X-Requested-With,Connection,Pragma,Cache-Control,Content-Type,True-Client-IP,X-Real-IP,Forwarded,Cookie,Authorization,sec-ch-ua',
      Host: headers.host,
      UserAgent: headers['user-agent'],
      XForwardedFor: headers['x-forwarded-for'],
      Referer: headers.referer,
      Accept: headers.accept,
      AcceptLanguage: headers['accept-language'],
      AcceptEncoding: headers['accept-encoding'],
      Origin: headers.origin,
      XRequestedWith: headers['x-requested-with'],
      Connection: headers.connection,
      Pragma: headers.pragma,
      CacheControl: headers['cache-control'],
      ContentType: headers['content-type'],
      TrueClientIP: headers['true-client-ip'],
      XRealIP: headers['x-real-ip'],
      Forwarded: headers.forwarded,
      RemoteAddr: '10.0.0.5',
      JA3: '771,4865-4866,0-23,29-23,0',
      Channel: 'web-eu',
    });
    const time = Number(fields.RequestTime);
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(after);
    // Never the raw cookie jar, credentials or the body.
    expect(req?.rawBody).not.toContain('s3ss10n');
    expect(req?.rawBody).not.toContain('user-t0ken');
    expect(req?.rawBody).not.toContain('hunter2');
  });

  it('leaves out header copies the request does not have, and the hooks that return nothing', async () => {
    const raw = ['host', 'shop.example.com', 'user-agent', 'curl/8.5.0', 'accept', '*/*'];
    const vigil = vigilWith(cheq());
    await vigil.protect(pageRequest('/', { headers: headersOf(raw), rawHeaders: raw, remoteAddress: '203.0.113.50', protocol: 'http' }));
    expect(form()).toEqual({
      ApiKey: API_KEY,
      TagHash: TAG_HASH,
      EventType: 'page_load',
      ClientIP: '203.0.113.50',
      RequestURL: 'http://shop.example.com/',
      Method: 'GET',
      ResourceType: 'text/html',
      CheqCookie: '',
      RequestTime: expect.any(String),
      HeaderNames: 'host,user-agent,accept',
      Host: 'shop.example.com',
      UserAgent: 'curl/8.5.0',
      Accept: '*/*',
      RemoteAddr: '203.0.113.50',
    });
  });

  it('HeaderNames keeps the original order and case of rawHeaders, duplicates included', async () => {
    const raw = ['X-Custom', 'a', 'HOST', 'shop.example.com', 'Accept', 'text/html', 'x-custom', 'b', 'user-AGENT', 'UA/1'];
    const vigil = vigilWith(cheq());
    await vigil.protect(pageRequest('/', { rawHeaders: raw, headers: { 'x-custom': 'a, b', host: 'shop.example.com', accept: 'text/html', 'user-agent': 'UA/1' } }));
    expect(form().HeaderNames).toBe('X-Custom,HOST,Accept,x-custom,user-AGENT');
  });

  it('HeaderNames falls back to the header map’s keys without rawHeaders', async () => {
    const vigil = vigilWith(cheq());
    await vigil.protect(pageRequest('/', { rawHeaders: undefined, headers: { host: 'shop.example.com', 'user-agent': 'UA/1', accept: '*/*' } }));
    expect(form().HeaderNames).toBe('host,user-agent,accept');
  });

  it('CheqCookie: the _cheq_rti cookie from RequestInfo.cookies first, else from the Cookie header', async () => {
    const provider = cheq();
    const vigil = vigilWith(provider);
    await vigil.protect(browserRequest({ cookies: { _cheq_rti: 'parsed-by-framework', sid: 'x' } }));
    await vigil.protect(browserRequest());
    await vigil.protect(browserRequest({ headers: { ...headersOf(RAW_HEADERS), cookie: 'a=1;  _cheq_rti=bad%E0%A4%A ; b=2' } }));
    const { cookie: _, ...noCookie } = headersOf(RAW_HEADERS);
    await vigil.protect(browserRequest({ headers: noCookie }));
    expect(fake.requests.map((r) => (r.body as Record<string, string>).CheqCookie)).toEqual(['parsed-by-framework', 'rti cookie+value', 'bad%E0%A4%A', '']);
  });

  it('the API key is not part of what prepare() hands the pipeline (request-local state)', async () => {
    const event = await eventFor(cheq(), browserRequest());
    expect(event.extras).toMatchObject({
      requestUrl: 'https://shop.example.com/login?next=REDACTED',
      cheqCookie: 'rti cookie+value',
      remoteAddr: '10.0.0.5',
    });
    expect(JSON.stringify(event)).not.toContain(API_KEY);
    expect(inspect(event, { depth: 10 })).not.toContain(API_KEY);
  });

  it.each([
    ['/login', 'POST', 'login'],
    ['/', 'GET', 'page_load'],
    ['/checkout', 'POST', 'purchase'],
    ['/cart', 'POST', 'add_to_cart'],
  ])('routeToEventType with CHEQ names: %s sends EventType %s', async (path, method, eventType) => {
    const vigil = vigilWith(cheq());
    await vigil.protect(pageRequest(path, { method }));
    expect(form().EventType).toBe(eventType);
  });

  it('EventType of Castle-typed routes: CHEQ’s name where one exists, page_load otherwise; eventTypes overrides', async () => {
    const routes: RouteDefinition[] = [
      { path: '/signin', event: '$login' },
      { path: '/signup', event: '$registration' },
      { path: '/forgot', event: '$password_reset_request' },
      { path: '/pay', event: '$transaction' },
      { path: '/profile', event: '$profile_update' },
      { path: '/wishlist', event: '$custom', name: 'add_to_wishlist' },
    ];
    const vigil = vigilWith(cheq(), { routes, routeToEventType: undefined });
    for (const route of routes) await vigil.protect(pageRequest(route.path as string, { method: 'POST' }));
    expect(fake.requests.map((r) => (r.body as Record<string, string>).EventType)).toEqual(['login', 'registration', 'password_reset', 'purchase', 'page_load', 'add_to_wishlist']);

    fake.reset();
    const custom = vigilWith(cheq({ eventTypes: { $login: 'sign_in', $profile_update: 'profile' } }), { routes, routeToEventType: undefined });
    await custom.protect(pageRequest('/signin', { method: 'POST' }));
    await custom.protect(pageRequest('/profile', { method: 'POST' }));
    expect(fake.requests.map((r) => (r.body as Record<string, string>).EventType)).toEqual(['sign_in', 'profile']);
  });

  it('ResourceType comes from getResourceType', async () => {
    const vigil = vigilWith(cheq(), { getResourceType: (req) => (req.path.startsWith('/api') ? 'application/json' : undefined) });
    await vigil.protect(pageRequest('/'));
    await vigil.protect(pageRequest('/login', { method: 'POST', path: '/login', url: '/login' }));
    expect(form(0).ResourceType).toBe('text/html');
    const api = vigilWith(cheq(), { getResourceType: () => 'application/json' });
    await api.protect(pageRequest('/'));
    expect(form(2).ResourceType).toBe('application/json');
  });
});

describe('cheqProvider: verdicts', () => {
  it.each([
    [2, 'block', 'deny'],
    [13, 'challenge', 'challenge'],
    [19, 'allow', 'allow'],
    [3, 'block', 'deny'],
    [14, 'challenge', 'challenge'],
  ])('invalid with threat code %i → decision %s in blocking mode', async (code, action, verdict) => {
    fake.verdict = { isInvalid: true, threatTypeCode: code };
    const vigil = vigilWith(cheq(), { onChallenge: () => undefined });
    const decision = await vigil.protect(browserRequest());
    expect(decision).toMatchObject({ action, verdict, threatCode: code, failover: false, provider: 'cheq' });
    expect(decision.signals).toMatchObject({ cheq: { isInvalid: true, threatTypeCode: code, requestId: 'rti-1' } });
  });

  it('threat code 13 is challenged (the built-in challenge); with challenge: false and no onChallenge it is allowed', async () => {
    fake.verdict = { isInvalid: true, threatTypeCode: 13 };
    expect(await vigilWith(cheq()).protect(browserRequest())).toMatchObject({ action: 'challenge', verdict: 'challenge', threatCode: 13 });
    const decision = await vigilWith(cheq(), { challenge: false }).protect(browserRequest());
    expect(decision).toMatchObject({ action: 'allow', verdict: 'challenge', threatCode: 13 });
  });

  it('valid traffic → allow', async () => {
    const provider = cheq();
    const verdict = await provider.filter(await eventFor(provider, browserRequest()));
    expect(verdict).toMatchObject({ action: 'allow', risk: 0, signals: { cheq: { isInvalid: false, threatTypeCode: 0 } } });
    expect(verdict.threatCode).toBeUndefined();
    expect(verdict.failover).toBeUndefined();
  });

  it('the threatCodes groups of createVigil decide what a code does', async () => {
    fake.verdict = { isInvalid: true, threatTypeCode: 19 };
    const vigil = vigilWith(cheq(), { threatCodes: { block: [19], captcha: [13] } });
    expect(await vigil.protect(browserRequest())).toMatchObject({ action: 'block', threatCode: 19, threatGroup: 'block' });
    fake.verdict = { isInvalid: true, threatTypeCode: 2 };
    expect(await vigil.protect(browserRequest())).toMatchObject({ action: 'allow', threatCode: 2, threatGroup: 'none' });
  });

  it.each(['blocking', 'monitoring'] as const)('setCookie becomes decision.responseHeaders["set-cookie"], before Vigil\'s own device cookie (%s mode)', async (mode) => {
    const cookie = '_cheq_rti=eyJ2IjoxfQ; Path=/; Max-Age=31536000; Secure; HttpOnly; SameSite=Lax';
    const device = expect.stringMatching(/^vigil_did=[0-9a-f]{32}\.[\w-]+; Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax; Secure$/);
    fake.verdict = { isInvalid: false, threatTypeCode: 0, setCookie: cookie };
    const vigil = vigilWith(cheq(), { mode });
    const decision = await vigil.protect(browserRequest());
    expect(decision.responseHeaders['set-cookie']).toEqual([cookie, device]);

    fake.verdict = { isInvalid: true, threatTypeCode: 2, setCookie: cookie };
    const blocked = await vigil.protect(browserRequest());
    expect(blocked.wouldAction).toBe('block');
    expect(blocked.responseHeaders['set-cookie']).toEqual([cookie, device]);

    // Without Vigil's cookie, CHEQ's alone.
    const without = vigilWith(cheq(), { mode, deviceCookie: false });
    expect((await without.protect(browserRequest())).responseHeaders['set-cookie']).toEqual([cookie]);
  });

  it('enforce() appends the CHEQ cookie (never replacing the app’s), on a block too', async () => {
    const cookie = '_cheq_rti=abc; Path=/';
    fake.verdict = { isInvalid: true, threatTypeCode: 2, setCookie: cookie };
    const vigil = vigilWith(cheq());
    const request = browserRequest();
    const decision = await vigil.protect(request);
    const appended: [string, string | readonly string[]][] = [];
    const sent: unknown[] = [];
    const outcome = await vigil.enforce(decision, request, {
      appendHeader: (name, value) => appended.push([name, value]),
      send: (response) => {
        sent.push(response);
      },
      headersSent: () => false,
      raw: undefined,
    });
    expect(outcome).toBe('handled');
    expect(appended).toEqual([['set-cookie', [cookie, expect.stringMatching(/^vigil_did=/)]]]);
    expect(sent).toHaveLength(1);
  });

  it('no setCookie, no CHEQ header (Vigil\'s device cookie only); a failover carries none either', async () => {
    const device = { 'set-cookie': [expect.stringMatching(/^vigil_did=/)] };
    const vigil = vigilWith(cheq());
    expect((await vigil.protect(browserRequest())).responseHeaders).toEqual(device);
    fake.set({ status: 500 });
    expect((await vigil.protect(browserRequest())).responseHeaders).toEqual(device);
    const without = vigilWith(cheq(), { deviceCookie: false });
    expect((await without.protect(browserRequest())).responseHeaders).toEqual({});
  });
});

describe('cheqProvider: failures are faults, and createVigil’s failover decides', () => {
  // [what, switches, failoverReason, a fault (true) or a configuration/integration error (false)]
  const CASES: [string, FakeSwitches, string, boolean][] = [
    ['a 500', { status: 500, body: { message: 'boom' } }, 'server error', true],
    ['a 503 without a body', { status: 503 }, 'server error', true],
    ['a 400', { status: 400, body: { message: 'missing ClientIP' } }, 'client error', false],
    ['a 401', { status: 401, body: { message: 'invalid ApiKey' } }, 'unauthorized', false],
    ['a 403', { status: 403, body: { message: 'forbidden' } }, 'forbidden', false],
    ['a 429', { status: 429 }, 'rate limited', true],
    ['a cut connection', { destroySocket: true }, 'connection error', true],
    ['malformed JSON', { malformedJson: true }, 'malformed response', true],
    ['a JSON body without isInvalid', { status: 200, body: { threatTypeCode: 2 } }, 'malformed response', true],
    ['a JSON null', { status: 200, body: 'null' }, 'malformed response', true],
    ['an empty 204', { status: 204 }, 'malformed response', true],
  ];

  it.each(CASES)('%s → a CheqError with failoverReason %s; the decision fails over with createVigil’s strategy', async (_, switches, reason, failover) => {
    const { calls, logger } = capturingLogger();
    const provider = cheq({ logger });
    const event = await eventFor(provider, browserRequest());
    fake.set(switches);
    await expect(provider.filter(event)).rejects.toMatchObject({ name: 'CheqError', failover, failoverReason: reason });
    const line = calls.find((c) => c.obj.code === 'VIGIL_W_CHEQ_FAILOVER');
    expect(line?.level).toBe('debug');
    expect(line?.obj.reason).toBe(reason);

    const vigilLogger = capturingLogger();
    const decision = await vigilWith(provider, { logger: vigilLogger.logger, failover: 'deny' }).protect(browserRequest());
    expect(decision).toMatchObject({ action: 'block', failover: true, failoverReason: reason, provider: 'cheq' });
    // The outage reaches createVigil's logger; a configuration error is an error there too.
    expect(vigilLogger.calls.find((c) => c.obj.code === 'VIGIL_W_FAILOVER')).toMatchObject({ level: 'warn', obj: { reason, provider: 'cheq' } });
    if (!failover) expect(vigilLogger.calls.filter((c) => c.level === 'error')).toHaveLength(1);
  });

  it('a wrong API key (the fake’s contract answers 401) fails over as "unauthorized", logged once as VIGIL_E_PROVIDER_AUTH naming apiKey', async () => {
    const { calls, logger } = capturingLogger();
    const vigil = vigilWith(cheq({ apiKey: 'not-the-key' }), { logger });
    expect(await vigil.protect(browserRequest())).toMatchObject({ action: 'allow', failover: true, failoverReason: 'unauthorized' });
    expect(await vigil.protect(browserRequest())).toMatchObject({ action: 'allow', failover: true, failoverReason: 'unauthorized' });
    const errors = calls.filter((c) => c.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.obj).toMatchObject({ code: 'VIGIL_E_PROVIDER_AUTH', option: 'apiKey', status: 401, fix: expect.stringContaining('apiKey') });
  });

  it('nothing listening → connection error', async () => {
    const closed = await startFakeCheq(API_KEY, TAG_HASH);
    await closed.close();
    const provider = cheq({ apiEndpoint: closed.url });
    await expect(provider.filter(await eventFor(provider, browserRequest()))).rejects.toMatchObject({ failover: true, failoverReason: 'connection error' });
  });

  it('timeout (default 100 ms) ends a call CHEQ holds, and the late answer is ignored', async () => {
    const { calls, logger } = capturingLogger();
    const provider = cheq({ logger, timeout: undefined, failover: 'allow' }); // CHEQ's default timeout
    expect(provider.timeout).toBe(100);
    const event = await eventFor(provider, browserRequest());
    await provider.filter(event); // warm: got loaded, socket open
    fake.verdict = { isInvalid: true, threatTypeCode: 2, setCookie: '_cheq_rti=late' };
    // CHEQ holds its answer until the test releases it: only the timeout can end the call.
    let answer: () => void = () => undefined;
    fake.set({ holdUntil: new Promise<void>((resolve) => (answer = resolve)) });
    const verdict = await bounded(provider.filter(event));
    expect(verdict).toMatchObject({ action: 'allow', failover: true, failoverReason: 'timeout' });
    expect(calls.find((c) => c.obj.code === 'VIGIL_W_CHEQ_FAILOVER')?.obj).toMatchObject({ reason: 'timeout', timeoutMs: 100 });
    // The fake answers now, late: nothing changes, nothing throws.
    answer();
    await new Promise((resolve) => setImmediate(resolve));
    expect(verdict.threatCode).toBeUndefined();
    expect(verdict.responseHeaders).toBeUndefined();
    expect(fake.requests).toHaveLength(2);
  });

  it('timeout end to end with a custom timeout: decision.failover "timeout", the provider’s deadline first', async () => {
    fake.set({ hang: true });
    const { calls, logger } = capturingLogger();
    const vigil = vigilWith(cheq({ timeout: 150, logger }));
    const decision = await bounded(vigil.protect(browserRequest()));
    expect(decision).toMatchObject({ action: 'allow', failover: true, failoverReason: 'timeout' });
    // Vigil's own deadline is the provider's plus 100 ms: when the decision is out, the
    // provider's 150 ms deadline has already ended its call.
    expect(calls.find((c) => c.obj.code === 'VIGIL_W_CHEQ_FAILOVER')?.obj).toMatchObject({ reason: 'timeout', timeoutMs: 150 });
  });

  it.each([
    ['deny', 'block'],
    ['challenge', 'challenge'],
  ] as const)('failover %s is followed (decision %s)', async (strategy, action) => {
    fake.set({ status: 502 });
    const provider = cheq({ failover: strategy });
    const verdict = await provider.filter(await eventFor(provider, browserRequest()));
    expect(verdict).toMatchObject({ action: strategy, failover: true, failoverReason: 'server error', risk: strategy === 'deny' ? 1 : 0 });
    const decision = await vigilWith(provider, { onChallenge: () => undefined }).protect(browserRequest());
    expect(decision).toMatchObject({ action, failover: true, failoverReason: 'server error' });
  });

  it('failover "throw": the provider rejects with the reason; Vigil’s failover decides', async () => {
    const provider = cheq({ failover: 'throw' });
    const event = await eventFor(provider, browserRequest());
    fake.set({ destroySocket: true });
    await expect(provider.filter(event)).rejects.toMatchObject({ failoverReason: 'connection error' });
    fake.set({ destroySocket: false, status: 500 });
    const error = await vigilWith(provider, { failover: 'throw' }).protect(browserRequest()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VigilProviderError);
    expect(error).toMatchObject({ reason: 'server error' });
    // Set explicitly on the provider, 'throw' overrides createVigil's default 'allow'.
    await expect(vigilWith(provider).protect(browserRequest())).rejects.toBeInstanceOf(VigilProviderError);
    expect(await vigilWith(cheq()).protect(browserRequest())).toMatchObject({ action: 'allow', failover: true, failoverReason: 'server error' });
  });

  it('log() sends nothing: CHEQ RTI has no outcome API', async () => {
    const vigil = vigilWith(cheq());
    const decision = await vigil.protect(browserRequest());
    vigil.logOutcome(decision, 401);
    await vigil.close();
    expect(fake.requests).toHaveLength(1);
  });
});

describe('cheqProvider: keep-alive', () => {
  it('50 sequential decisions share at most 2 connections, no retries', async () => {
    const vigil = vigilWith(cheq());
    for (let i = 0; i < 50; i++) {
      const decision = await vigil.protect(i % 2 === 0 ? browserRequest() : pageRequest('/'));
      expect(decision.failover).toBe(false);
    }
    expect(fake.requests).toHaveLength(50);
    expect(fake.connections).toBeLessThanOrEqual(2);
    fake.reset();
    fake.set({ status: 503 });
    await vigil.protect(browserRequest());
    expect(fake.requests).toHaveLength(1);
  });
});

describe('cheqProvider: secrets', () => {
  it('the API key never appears in a log line, a decision, an event or an error', async () => {
    const { lines, logger } = capturingLogger();
    const provider = cheq({ logger, timeout: 100 });
    const thrower = cheq({ logger, failover: 'throw', timeout: 100 });
    const vigil = vigilWith(provider, { logger });
    const strict = vigilWith(thrower, { logger, failover: 'throw' });
    const decisions: Decision[] = [];
    const errors: unknown[] = [];
    const verdicts: Verdict[] = [];
    const scenarios: FakeSwitches[] = [
      { status: 500, body: { message: 'boom' } },
      { status: 401, body: { message: 'invalid ApiKey' } },
      { status: 400 },
      { delayMs: 250 },
      { destroySocket: true },
      { malformedJson: true },
      {},
    ];
    for (const switches of scenarios) {
      fake.reset();
      fake.set(switches);
      fake.verdict = { isInvalid: true, threatTypeCode: 2, setCookie: '_cheq_rti=x' };
      const decision = await vigil.protect(browserRequest());
      decisions.push(decision);
      vigil.logOutcome(decision, 200);
      const event = await eventFor(provider, browserRequest());
      const answer = await provider.filter(event).catch((e: unknown) => e);
      if (answer instanceof Error) errors.push(answer);
      else verdicts.push(answer as Verdict);
      errors.push(await thrower.filter(event).catch((e: unknown) => e));
      errors.push(await strict.protect(browserRequest()).catch((e: unknown) => e));
      errors.push(JSON.stringify(event), inspect(event, { depth: 10 }));
    }
    expect(lines.length).toBeGreaterThan(10);
    const haystacks = [
      ...lines,
      ...decisions.map((d) => `${JSON.stringify(d)} ${inspect(d, { depth: 10 })}`),
      ...verdicts.map((v) => JSON.stringify(v)),
      ...errors.map((e) => `${inspect(e, { depth: 10, showHidden: true })} ${JSON.stringify(e)} ${String(e)}`),
      inspect(provider, { depth: 5, showHidden: true }),
    ];
    for (const text of haystacks) expect(text).not.toContain(API_KEY);
  });
});
