import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { Decision } from '../decision/decision.js';
import { VigilConfigError, VigilProviderError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import type { RouteDefinition } from '../routing/routes.js';
import { type FakeCastle, startFakeCastle } from '../testing/fake-vendors.js';
import { createVigil, type Vigil, type VigilConfig } from '../vigil.js';
import {
  CastleApiError,
  CastleBadRequestError,
  CastleError,
  CastleForbiddenError,
  CastleInternalServerError,
  CastleInvalidParametersError,
  CastleInvalidRequestTokenError,
  CastleMalformedResponseError,
  CastleNotFoundError,
  type CastleProvider,
  type CastleProviderOptions,
  CastleRateLimitError,
  CastleUnauthorizedError,
  CastleUserUnauthorizedError,
  castleProvider,
} from './castle.js';
import type { Provider, ProviderEvent } from './types.js';

const SECRET = 'sk_castle_test_Zq8v2LmR4tY7';
const BASIC_B64 = Buffer.from(`:${SECRET}`).toString('base64');
const BASIC = `Basic ${BASIC_B64}`;
const SENT_AT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const LOGIN: RouteDefinition = { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email', username: 'body.username' } };
const SETTINGS: RouteDefinition = { method: 'POST', path: '/settings', event: '$profile_update', user: { id: 'headers.x-user-id', email: 'body.email', phone: 'body.phone' } };
const ROUTES = [LOGIN, SETTINGS];

function loginRequest(overrides: Partial<RequestInfo> = {}): RequestInfo {
  return {
    method: 'POST',
    url: '/login',
    path: '/login',
    headers: {
      host: 'app.example.com',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0',
      accept: 'application/json',
      'accept-language': 'en-GB,en;q=0.9',
      cookie: 'sid=s3ss10n-c00kie',
      authorization: 'Bearer user-t0ken',
      'x-castle-request-token': 'tok_from_header',
    },
    remoteAddress: '203.0.113.7',
    body: { email: 'alice@example.com', username: 'alice', password: 'hunter2' },
    ...overrides,
  };
}

function settingsRequest(userId = 'user_42'): RequestInfo {
  return {
    method: 'POST',
    url: '/settings',
    path: '/settings',
    headers: { host: 'app.example.com', 'user-agent': 'Mozilla/5.0', 'x-user-id': userId, 'x-castle-request-token': 'tok_settings' },
    remoteAddress: '198.51.100.9',
    body: { email: 'bob@example.com', phone: '+15550100' },
  };
}

/** A logger that records every call, as JSON and as util.inspect sees it. */
function capturingLogger() {
  const lines: string[] = [];
  const expand = (_key: string, value: unknown) =>
    value instanceof Error ? { ...value, name: value.name, message: value.message, stack: value.stack, cause: (value as { cause?: unknown }).cause } : value;
  const record = (level: string) => (obj: object, msg?: string) => {
    let json: string;
    try {
      json = JSON.stringify({ level, obj, msg }, expand);
    } catch {
      json = '(unserializable)';
    }
    lines.push(json, inspect(obj, { depth: 10 }), String(msg));
  };
  const logger: Required<Logger> = { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
  const entries = () => lines.filter((_, i) => i % 3 === 0).map((line) => JSON.parse(line) as { level: string; obj: Record<string, unknown>; msg?: string });
  return { lines, logger, entries };
}

let fake: FakeCastle;
const toClose: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  fake = await startFakeCastle(SECRET);
  // Warm up once: the process's first got request (module import, JIT) is slow on a
  // busy machine, which is not what the timing tests measure.
  const warm = castleProvider({ apiSecret: SECRET, baseUrl: fake.url });
  await warm.filter(await eventFor(warm, loginRequest()));
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

function castle(options: Partial<CastleProviderOptions> = {}): CastleProvider {
  const provider = castleProvider({ apiSecret: SECRET, baseUrl: fake.url, ...options });
  toClose.push({ close: async () => provider.close?.() });
  return provider;
}

function vigilWith(provider: Provider, config: VigilConfig = {}): Vigil {
  const vigil = createVigil({ mode: 'blocking', routes: ROUTES, provider, ...config });
  toClose.push(vigil);
  return vigil;
}

/** The ProviderEvent the pipeline builds for `req` (its `prepare()` included), without calling Castle. */
async function eventFor(provider: Provider, req: RequestInfo, routes: RouteDefinition[] = ROUTES): Promise<ProviderEvent> {
  let captured: ProviderEvent | undefined;
  const capture = async (event: ProviderEvent) => {
    captured = event;
    return { risk: 0 };
  };
  const prepare = provider.prepare?.bind(provider);
  const spy: Provider = { name: 'capture', filter: capture, risk: capture, log: async () => undefined, ...(prepare ? { prepare } : {}) };
  await createVigil({ routes, provider: spy }).protect(req);
  if (!captured) throw new Error('the request matched no route');
  return captured;
}

/**
 * `promise`, or a rejection after `ms`: a generous bound that only turns a hang into a
 * failure. Timing is proven by what ends a call (a fake that never answers), not by the clock.
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

/** Lets pending I/O callbacks and microtasks run once. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('castleProvider: configuration', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['blank', '   '],
    ['a number', 42],
  ])('rejects an apiSecret that is %s, naming the option', (_, apiSecret) => {
    const build = () => castleProvider({ apiSecret } as unknown as CastleProviderOptions);
    expect(build).toThrow(VigilConfigError);
    expect(build).toThrow(/apiSecret/);
  });

  it.each([
    ['a misspelt option', { apiSecert: SECRET }],
    ['a secret of the wrong type', { apiSecret: [SECRET] }],
    ['a blank secret next to a bad baseUrl', { apiSecret: `  ${SECRET.slice(0, 0)}`, baseUrl: 'not a url' }],
    ['a bad baseUrl', { apiSecret: SECRET, baseUrl: 'not a url' }],
    ['a bad timeout', { apiSecret: SECRET, timeout: -1 }],
  ])('never echoes the secret in a configuration error (%s)', (_, options) => {
    let error: unknown;
    try {
      castleProvider(options as unknown as CastleProviderOptions);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(VigilConfigError);
    expect(`${inspect(error, { showHidden: true, depth: 5 })} ${JSON.stringify(error)}`).not.toContain(SECRET);
  });

  it('validates timeout, failover and unknown options', () => {
    expect(() => castleProvider({ apiSecret: SECRET, timeout: 0 })).toThrow(/timeout/);
    expect(() => castleProvider({ apiSecret: SECRET, timeout: Number.NaN })).toThrow(/timeout/);
    expect(() => castleProvider({ apiSecret: SECRET, failover: 'open' as never })).toThrow(/failover/);
    expect(() => castleProvider({ apiSecret: SECRET, apiKey: 'x' } as unknown as CastleProviderOptions)).toThrow(VigilConfigError);
  });

  it('defaults to https://api.castle.io/v1 and a provider named castle', async () => {
    const provider = castleProvider({ apiSecret: SECRET });
    expect(provider.name).toBe('castle');
    await provider.close?.();
  });
});

describe('castleProvider: wire format', () => {
  it('filter: POST /v1/filter with Basic auth (empty user, the secret as password) and Castle’s JSON body', async () => {
    const vigil = vigilWith(castle());
    const decision = await vigil.protect(loginRequest());
    expect(decision.failover).toBe(false);
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/v1/filter');
    expect(req?.headers.authorization).toBe(BASIC);
    expect(req?.headers['content-type']).toMatch(/^application\/json/);
    const body = req?.body as Record<string, any>;
    expect(body).toMatchObject({
      type: '$login',
      status: '$attempted',
      request_token: 'tok_from_header',
      context: { ip: '203.0.113.7' },
      params: { email: 'alice@example.com', username: 'alice' },
    });
    expect(body).not.toHaveProperty('user');
    expect(body).not.toHaveProperty('matching_user_id');
    expect(body.sent_at).toMatch(SENT_AT);
    expect(Math.abs(Date.parse(body.sent_at) - Date.now())).toBeLessThan(5000);
    expect(Object.keys(body).sort()).toEqual(['context', 'params', 'request_token', 'sent_at', 'status', 'type']);
  });

  it('scrubs headers: Cookie and Authorization become true, the User-Agent is kept, nothing raw leaves', async () => {
    const vigil = vigilWith(castle());
    await vigil.protect(loginRequest());
    const body = fake.requests[0]?.body as Record<string, any>;
    expect(body.context.headers).toMatchObject({
      Cookie: true,
      Authorization: true,
      'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0',
      'Accept-Language': 'en-GB,en;q=0.9',
      Host: 'app.example.com',
    });
    expect(fake.requests[0]?.rawBody).not.toContain('s3ss10n-c00kie');
    expect(fake.requests[0]?.rawBody).not.toContain('user-t0ken');
    expect(fake.requests[0]?.rawBody).not.toContain('hunter2');
  });

  it('applies the header allowlist of createVigil to what Castle sees', async () => {
    const vigil = vigilWith(castle(), { headers: { allowlist: ['Accept'] } });
    await vigil.protect(loginRequest());
    const headers = (fake.requests[0]!.body as Record<string, any>).context.headers;
    expect(headers).toMatchObject({ Accept: 'application/json', 'User-Agent': expect.any(String), 'Accept-Language': true, Host: true, Cookie: true });
  });

  it('reads request_token from the castle_request_token body field first, then the X-Castle-Request-Token header', async () => {
    const provider = castle();
    const vigil = vigilWith(provider);
    await vigil.protect(loginRequest({ body: { email: 'alice@example.com', castle_request_token: 'tok_from_body' } }));
    await vigil.protect(loginRequest());
    const { 'x-castle-request-token': _, ...noTokenHeader } = loginRequest().headers;
    fake.requireRequestToken = false;
    await vigil.protect(loginRequest({ headers: noTokenHeader }));
    expect(fake.requests.map((r) => (r.body as Record<string, unknown>).request_token)).toEqual(['tok_from_body', 'tok_from_header', undefined]);
    expect(fake.requests[2]?.body).not.toHaveProperty('request_token');

    // prepare() puts it on the event for the provider alone.
    const event = await eventFor(provider, loginRequest({ headers: { ...noTokenHeader, 'X-CASTLE-REQUEST-TOKEN': 'tok_upper' } }));
    expect(event.requestToken).toBe('tok_upper');
  });

  it('takes a configured field and header, or a function', async () => {
    const custom = castle({ requestToken: { field: 'ct', header: 'X-Ct' } });
    expect((await eventFor(custom, loginRequest({ body: { ct: 'tok_ct' } }))).requestToken).toBe('tok_ct');
    expect((await eventFor(custom, loginRequest({ headers: { 'x-ct': 'tok_hdr' }, body: {} }))).requestToken).toBe('tok_hdr');
    expect((await eventFor(custom, loginRequest({ body: { castle_request_token: 'ignored' }, headers: {} }))).requestToken).toBeUndefined();
    const fn = castle({ requestToken: (req) => (req.query as Record<string, string> | undefined)?.t });
    expect((await eventFor(fn, loginRequest({ query: { t: 'tok_q' } }))).requestToken).toBe('tok_q');
  });

  it('risk: a route with a user id goes to POST /v1/risk with user.id and the identifiers', async () => {
    const vigil = vigilWith(castle());
    const decision = await vigil.protect(settingsRequest());
    expect(decision.failover).toBe(false);
    const [req] = fake.requests;
    expect(req?.path).toBe('/v1/risk');
    expect(req?.headers.authorization).toBe(BASIC);
    const body = req?.body as Record<string, any>;
    expect(body).toMatchObject({
      type: '$profile_update',
      status: '$attempted',
      request_token: 'tok_settings',
      context: { ip: '198.51.100.9' },
      user: { id: 'user_42', email: 'bob@example.com', phone: '+15550100' },
    });
    expect(body).not.toHaveProperty('params');
    expect(body.sent_at).toMatch(SENT_AT);
  });

  it('sends the name of a $custom event, and properties when the event has them', async () => {
    const provider = castle();
    const event = await eventFor(provider, { ...loginRequest(), url: '/cart', path: '/cart' }, [{ path: '/cart', event: '$custom', name: 'add_to_cart' }]);
    await provider.filter({ ...event, properties: { sku: 'A-1' } });
    expect(fake.requests[0]?.body).toMatchObject({ type: '$custom', name: 'add_to_cart', properties: { sku: 'A-1' } });
  });

  it('matching_user_id: a filter event that carries a user id sends it as matching_user_id', async () => {
    const provider = castle();
    const event = await eventFor(provider, settingsRequest());
    await provider.filter(event);
    expect(fake.requests[0]?.path).toBe('/v1/filter');
    expect(fake.requests[0]?.body).toMatchObject({ matching_user_id: 'user_42', params: { email: 'bob@example.com' } });
  });

  it('log: vigil.logOutcome(decision, 401) posts $failed to /v1/log without waiting for Castle; close() flushes it', async () => {
    let answer: () => void = () => undefined;
    fake.set({ holdUntil: new Promise<void>((resolve) => (answer = resolve)), only: /\/log$/ });
    const vigil = vigilWith(castle());
    const decision = await vigil.protect(loginRequest());
    // It returns at once, not a promise: the log request has not even left yet.
    expect(vigil.logOutcome(decision, 401)).toBeUndefined();
    expect(fake.requests).toHaveLength(1);
    // Castle has the request and holds its answer: close() waits for it, and only for it.
    await bounded(fake.waitForRequests(2));
    let closed = false;
    const closing = vigil.close().then(() => (closed = true));
    await turn();
    expect(closed).toBe(false);
    answer();
    await bounded(closing);
    expect(fake.requests).toHaveLength(2);
    const log = fake.requests[1];
    expect(log?.method).toBe('POST');
    expect(log?.path).toBe('/v1/log');
    expect(log?.headers.authorization).toBe(BASIC);
    const body = log?.body as Record<string, any>;
    expect(body).toMatchObject({
      type: '$login',
      status: '$failed',
      request_token: 'tok_from_header',
      context: { ip: '203.0.113.7', headers: { Cookie: true } },
      user: { email: 'alice@example.com', username: 'alice' },
    });
    expect(body.sent_at).toMatch(SENT_AT);
  });

  it('log: a 2xx outcome is $succeeded; blocked requests are not logged', async () => {
    const vigil = vigilWith(castle());
    const allowed = await vigil.protect(loginRequest());
    vigil.logOutcome(allowed, 200);
    fake.verdict = { risk: 0.97, action: 'deny' };
    const blocked = await vigil.protect(loginRequest());
    expect(blocked.action).toBe('block');
    vigil.logOutcome(blocked, 403);
    await vigil.close();
    const logs = fake.requests.filter((r) => r.path === '/v1/log');
    expect(logs.map((r) => (r.body as Record<string, unknown>).status)).toEqual(['$succeeded']);
  });

  it('issue 12 review: a failing /log rejects with the CastleError and its failoverReason, like filter and risk', async () => {
    const { logger, entries } = capturingLogger();
    const provider = castle({ logger });
    const event = { ...(await eventFor(provider, loginRequest())), status: '$failed' as const };
    fake.set({ status: 500, body: { type: 'internal', message: 'down' }, only: /\/log$/ });
    await expect(provider.log(event)).rejects.toMatchObject({ name: 'CastleInternalServerError', status: 500, failover: true, failoverReason: 'server error' });
    fake.set({ status: 429 });
    await expect(provider.log(event)).rejects.toMatchObject({ name: 'CastleRateLimitError', failover: true, failoverReason: 'rate limited' });
    fake.set({ status: undefined, destroySocket: true });
    await expect(provider.log(event)).rejects.toMatchObject({ failover: true, failoverReason: 'connection error' });
    fake.set({ destroySocket: false, status: 401, body: { type: 'unauthorized', message: 'Unauthorized' } });
    await expect(provider.log(event)).rejects.toMatchObject({ name: 'CastleUnauthorizedError', failover: false, failoverReason: 'unauthorized', option: 'apiSecret' });
    // The provider's own logger gets every failed call at debug level, nothing louder.
    expect(entries().filter((e) => e.obj.code === 'VIGIL_W_CASTLE_LOG_FAILED').map((e) => e.level)).toEqual(['debug', 'debug', 'debug', 'debug']);
  });

  it("issue 12 review: a 503 on /v1/log reaches createVigil's logger as one VIGIL_W_LOG_FAILED incident line", async () => {
    const { logger, entries } = capturingLogger();
    const vigil = vigilWith(castle(), { logger });
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await vigil.protect(loginRequest()));
    fake.set({ status: 503, body: { type: 'unavailable', message: 'down' }, only: /\/log$/ });
    for (const decision of decisions) vigil.logOutcome(decision, 401);
    await vigil.trackLogin(loginRequest(), { success: false, email: 'alice@example.com' });
    await vigil.close();
    expect(fake.requests.filter((r) => r.path === '/v1/log')).toHaveLength(4);
    const lines = entries().filter((e) => e.obj.code === 'VIGIL_W_LOG_FAILED');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', obj: { provider: 'castle', reason: 'log: server error' } });
    expect(entries().filter((e) => e.level === 'error')).toEqual([]);
  });

  it('issue 12 review: a 401 on /v1/log is VIGIL_E_PROVIDER_AUTH with the option and the fix, logged once', async () => {
    const { logger, entries } = capturingLogger();
    const vigil = vigilWith(castle(), { logger });
    fake.set({ status: 401, body: { type: 'unauthorized', message: 'Unauthorized' }, only: /\/log$/ });
    for (let i = 0; i < 3; i++) await vigil.trackLogin(loginRequest(), { success: true, userId: `user_${i}` });
    const errors = entries().filter((e) => e.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.obj).toMatchObject({ code: 'VIGIL_E_PROVIDER_AUTH', provider: 'castle', status: 401, option: 'apiSecret', value: '(hidden)', fix: expect.stringContaining('apiSecret') });
  });
});

describe('castleProvider: verdicts', () => {
  it('maps risk, policy.action, signals and device.token', async () => {
    fake.verdict = { risk: 0.93, action: 'deny', signals: { bot_behavior: {}, proxy_ip: {} }, deviceToken: 'dev_xyz' };
    const provider = castle();
    const verdict = await provider.filter(await eventFor(provider, loginRequest()));
    expect(verdict).toMatchObject({ action: 'deny', risk: 0.93, signals: { bot_behavior: {}, proxy_ip: {} }, device: { id: 'dev_xyz' } });
    expect(verdict.failover).toBeUndefined();
  });

  it.each([
    [{ risk: 0.97, action: 'deny' } as const, 'block', 'deny'],
    [{ risk: 0.7, action: 'challenge' } as const, 'challenge', 'challenge'],
    [{ risk: 0.05, action: 'allow' } as const, 'allow', 'allow'],
  ])('end to end in blocking mode: %o → decision %s', async (verdict, action, policyVerdict) => {
    fake.verdict = { ...verdict, deviceToken: 'dev_1', signals: { new_device: {} } };
    const vigil = vigilWith(castle(), { onChallenge: () => undefined });
    const decision = await vigil.protect(loginRequest());
    expect(decision).toMatchObject({ action, verdict: policyVerdict, provider: 'castle', failover: false, risk: verdict.risk, device: { id: 'dev_1' } });
    expect(decision.signals).toEqual({ new_device: {} });
  });

  it('monitoring mode records what Castle’s deny would do without acting', async () => {
    fake.verdict = { risk: 0.99, action: 'deny' };
    const vigil = vigilWith(castle(), { mode: 'monitoring' });
    const decision = await vigil.protect(loginRequest());
    expect(decision).toMatchObject({ action: 'allow', wouldAction: 'block', wouldBlock: true });
  });

  it('a 2xx answer without risk or policy is a malformed response (a fault)', async () => {
    fake.set({ status: 200, body: { hello: 'world' } });
    const provider = castle();
    await expect(provider.filter(await eventFor(provider, loginRequest()))).rejects.toMatchObject({ name: 'CastleMalformedResponseError', failover: true, failoverReason: 'malformed response' });
  });
});

describe('castleProvider: errors by status', () => {
  // [status, body, class, message, a fault (true) or a configuration/integration error (false), failoverReason]
  const CASES: [number, Record<string, unknown> | string | undefined, typeof CastleError, string, boolean, string][] = [
    [400, { type: 'bad_request', message: 'Bad request' }, CastleBadRequestError, 'Bad request', false, 'client error'],
    [401, { type: 'unauthorized', message: 'Unauthorized' }, CastleUnauthorizedError, 'Unauthorized', false, 'unauthorized'],
    [403, { type: 'forbidden', message: 'Forbidden' }, CastleForbiddenError, 'Forbidden', false, 'forbidden'],
    [404, { type: 'not_found', message: 'Not found' }, CastleNotFoundError, 'Not found', false, 'client error'],
    [408, { type: 'timeout', message: 'Request timeout' }, CastleApiError, 'Request timeout', true, 'transient error'],
    [419, { type: 'user_unauthorized', message: 'User unauthorized' }, CastleUserUnauthorizedError, 'User unauthorized', false, 'client error'],
    [422, { type: 'invalid_parameters', message: 'email is invalid' }, CastleInvalidParametersError, 'email is invalid', false, 'client error'],
    [422, { type: 'invalid_request_token', message: 'Invalid Request Token' }, CastleInvalidRequestTokenError, 'Invalid Request Token', true, 'invalid_request_token'],
    [429, { type: 'rate_limit', message: 'Too many requests' }, CastleRateLimitError, 'Too many requests', true, 'rate limited'],
    [409, { type: 'conflict', message: 'Conflict' }, CastleApiError, 'Conflict', false, 'client error'],
    [418, 'no json here', CastleApiError, 'Castle answered 418', false, 'client error'],
    [499, undefined, CastleApiError, 'Castle answered 499', false, 'client error'],
  ];

  it.each(CASES)('%i %o → %o (fault: %s, failoverReason %s); with its own failover, only faults answer a verdict', async (status, body, Klass, message, failover, reason) => {
    const provider = castle();
    const event = await eventFor(provider, loginRequest());
    fake.set({ status, body });
    const error = await provider.filter(event).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Klass);
    expect(error).toBeInstanceOf(CastleError);
    expect((error as Error).constructor).toBe(Klass);
    expect((error as Error).name).toBe(Klass.name);
    expect(error).toMatchObject({ status, failover, failoverReason: reason, message });
    // A provider given its own strategy answers faults with Castle's failover shape;
    // configuration errors still go to createVigil, to be reported.
    const own = castle({ failover: 'deny' });
    const answer = await own.filter(event).catch((e: unknown) => e);
    if (failover) expect(answer).toMatchObject({ action: 'deny', policy: { action: 'deny' }, failover: true, failoverReason: reason });
    else expect(answer).toBeInstanceOf(Klass);
    // The same class from the device endpoints.
    await expect(provider.getDevice('dev_1')).rejects.toBeInstanceOf(Klass);
  });

  it('InvalidParameters is the parent of InvalidRequestToken, and only type invalid_request_token picks the child', async () => {
    expect(new CastleInvalidRequestTokenError('x', 422)).toBeInstanceOf(CastleInvalidParametersError);
    const provider = castle();
    fake.set({ status: 422, body: { type: 'invalid_parameters', message: 'bad' } });
    const error = await provider.filter(await eventFor(provider, loginRequest())).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(CastleInvalidRequestTokenError);
  });

  it('the fake’s own contract: a missing request token is 422 invalid_request_token, a wrong secret is 401: both fail over, neither is a 500', async () => {
    const { 'x-castle-request-token': _, ...noToken } = loginRequest().headers;
    const vigil = vigilWith(castle(), { failover: 'deny' });
    expect(await vigil.protect(loginRequest({ headers: noToken }))).toMatchObject({ action: 'block', failover: true, failoverReason: 'invalid_request_token' });
    const wrong = vigilWith(castle({ apiSecret: 'sk_wrong_secret' }));
    expect(await wrong.protect(loginRequest())).toMatchObject({ action: 'allow', failover: true, failoverReason: 'unauthorized' });
  });

  it.each([500, 502, 503, 504])('%i → CastleInternalServerError: a fault ("server error") for decisions, an error for device calls', async (status) => {
    fake.set({ status, body: { type: 'internal_server_error', message: 'Internal error' } });
    const provider = castle();
    await expect(provider.filter(await eventFor(provider, loginRequest()))).rejects.toMatchObject({ name: 'CastleInternalServerError', status, failover: true, failoverReason: 'server error' });
    const own = castle({ failover: 'allow' });
    const verdict = await own.filter(await eventFor(own, loginRequest()));
    expect(verdict).toMatchObject({ failover: true, failover_reason: 'server error', failoverReason: 'server error', action: 'allow', policy: { action: 'allow' } });
    const error = await provider.getDevice('dev_1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CastleInternalServerError);
    expect(error).toMatchObject({ status, failover: true });
  });

  it('malformed JSON is its own error (CastleMalformedResponseError), a failover for decisions', async () => {
    fake.set({ malformedJson: true });
    const provider = castle();
    await expect(provider.getDevice('dev_1')).rejects.toBeInstanceOf(CastleMalformedResponseError);
    await expect(provider.filter(await eventFor(provider, loginRequest()))).rejects.toMatchObject({ failover: true, failoverReason: 'malformed response' });
  });

  it('end to end: a 401 fails over with createVigil’s strategy and is logged once, as VIGIL_E_PROVIDER_AUTH with the option and the fix', async () => {
    fake.set({ status: 401, body: { type: 'unauthorized', message: 'Unauthorized' } });
    const { logger, entries } = capturingLogger();
    const blocking = vigilWith(castle(), { logger, failover: 'deny' });
    for (let i = 0; i < 3; i++) expect(await blocking.protect(loginRequest())).toMatchObject({ action: 'block', failover: true, failoverReason: 'unauthorized' });
    const errors = entries().filter((e) => e.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.obj).toMatchObject({ code: 'VIGIL_E_PROVIDER_AUTH', provider: 'castle', status: 401, option: 'apiSecret', value: '(hidden)', fix: expect.stringContaining('apiSecret') });
    expect(errors[0]?.msg).toMatch(/logged once/);

    const monitoring = vigilWith(castle(), { mode: 'monitoring', logger });
    const decision = await monitoring.protect(loginRequest());
    expect(decision).toMatchObject({ action: 'allow', failover: true, failoverReason: 'unauthorized' });
    // 'throw' is the one strategy that lets it reach the app, in blocking mode.
    const thrower = vigilWith(castle(), { failover: 'throw' });
    await expect(thrower.protect(loginRequest())).rejects.toMatchObject({ name: 'VigilProviderError', reason: 'unauthorized' });
  });

  it.each([403, 400, 404, 409, 418])('end to end: a %i fails over with createVigil’s strategy, never a visitor’s 500', async (status) => {
    fake.set({ status, body: { type: 'x', message: 'refused' } });
    const vigil = vigilWith(castle(), { failover: 'deny' });
    expect(await vigil.protect(loginRequest())).toMatchObject({ action: 'block', failover: true });
  });
});

describe('castleProvider: failover', () => {
  const TIMEOUT = 150;

  it('timeout: a Castle that never answers ends in failover "timeout", by the provider’s own deadline', async () => {
    const provider = castle({ timeout: TIMEOUT, failover: 'allow' });
    expect(provider.timeout).toBe(TIMEOUT);
    const event = await eventFor(provider, loginRequest());
    await provider.filter(event); // a first call: the socket is open, got is loaded
    // Only a timeout can end a call to a fake that never answers.
    fake.set({ hang: true });
    const verdict = await bounded(provider.filter(event));
    expect(verdict).toEqual({
      policy: { action: 'allow' },
      action: 'allow',
      risk: 0,
      failover: true,
      failover_reason: 'timeout',
      failoverReason: 'timeout',
      reasons: ['Castle failover (timeout): allow'],
    });
    expect(fake.requests).toHaveLength(2);
  });

  it('timeout: the first call of a new provider (got loading, a fresh socket) ends in the timeout too', async () => {
    fake.set({ hang: true });
    const provider = castle({ timeout: TIMEOUT, failover: 'allow' });
    const event = await eventFor(provider, loginRequest());
    const verdict = await bounded(provider.filter(event));
    expect(verdict).toMatchObject({ failover: true, failover_reason: 'timeout' });
    expect(fake.requests).toHaveLength(1);
  });

  it('timeout end to end: decision.failover with failoverReason "timeout", the provider’s deadline first', async () => {
    fake.set({ hang: true });
    const { logger, entries } = capturingLogger();
    const vigil = vigilWith(castle({ timeout: TIMEOUT, logger }));
    const decision = await bounded(vigil.protect(loginRequest()));
    expect(decision).toMatchObject({ action: 'allow', failover: true, failoverReason: 'timeout', provider: 'castle' });
    // Vigil's own deadline is the provider's plus 100 ms: when the decision is out, the
    // provider's deadline has already ended its call (and cancelled the request).
    expect(entries().find((e) => e.obj.code === 'VIGIL_W_CASTLE_FAILOVER')?.obj).toMatchObject({ reason: 'timeout' });
  });

  it('connection error: a socket destroyed without an answer', async () => {
    fake.set({ destroySocket: true });
    const provider = castle();
    await expect(provider.filter(await eventFor(provider, loginRequest()))).rejects.toMatchObject({ failover: true, failoverReason: 'connection error' });
    const own = castle({ failover: 'allow' });
    const verdict = await own.filter(await eventFor(own, loginRequest()));
    expect(verdict).toMatchObject({ policy: { action: 'allow' }, action: 'allow', failover: true, failover_reason: 'connection error', failoverReason: 'connection error' });
  });

  it('connection error: nothing listening', async () => {
    const closed = await startFakeCastle(SECRET);
    await closed.close();
    const provider = castle({ baseUrl: closed.url });
    await expect(provider.filter(await eventFor(provider, loginRequest()))).rejects.toMatchObject({ failover: true, failoverReason: 'connection error' });
  });

  it('server error end to end: decision.failover true, failoverReason "server error"', async () => {
    fake.set({ status: 500, body: { type: 'internal_server_error', message: 'boom' } });
    const { logger, entries } = capturingLogger();
    const vigil = vigilWith(castle({ logger }), { logger });
    const decision = await vigil.protect(loginRequest());
    expect(decision).toMatchObject({ action: 'allow', failover: true, failoverReason: 'server error', provider: 'castle' });
    expect(entries().find((e) => e.obj.code === 'VIGIL_W_CASTLE_FAILOVER')?.obj).toMatchObject({ reason: 'server error', status: 500 });
  });

  it('risk keeps the user id in the failover verdict; filter has none', async () => {
    fake.set({ status: 503 });
    const provider = castle({ failover: 'allow' });
    const risk = await provider.risk(await eventFor(provider, settingsRequest('user_77')));
    expect(risk).toMatchObject({ failover: true, failover_reason: 'server error', user_id: 'user_77' });
    const filter = await provider.filter(await eventFor(provider, loginRequest()));
    expect(filter).not.toHaveProperty('user_id');
  });

  it.each([
    ['deny', 'block', 1],
    ['challenge', 'challenge', 0],
    ['allow', 'allow', 0],
  ] as const)('failover %s: Castle’s shape, and the decision follows it (%s)', async (strategy, action, risk) => {
    fake.set({ destroySocket: true });
    const provider = castle({ failover: strategy });
    const verdict = await provider.filter(await eventFor(provider, loginRequest()));
    expect(verdict).toMatchObject({ policy: { action: strategy }, action: strategy, risk, failover: true, failover_reason: 'connection error' });
    const vigil = vigilWith(provider, { onChallenge: () => undefined });
    const decision = await vigil.protect(loginRequest());
    expect(decision).toMatchObject({ action, failover: true, failoverReason: 'connection error' });
  });

  it('failover "throw": the provider rejects with the CastleError and its reason', async () => {
    const provider = castle({ failover: 'throw', timeout: 100 });
    const event = await eventFor(provider, loginRequest());
    fake.set({ status: 502 });
    await expect(provider.filter(event)).rejects.toMatchObject({ name: 'CastleInternalServerError', failover: true, failoverReason: 'server error' });
    fake.set({ status: undefined, destroySocket: true });
    await expect(provider.filter(event)).rejects.toMatchObject({ failover: true, failoverReason: 'connection error' });
    fake.set({ destroySocket: false, delayMs: 300 });
    await expect(provider.filter(event)).rejects.toMatchObject({ failover: true, failoverReason: 'timeout' });
  });

  it('failover "throw" end to end: VigilProviderError in blocking mode, set on createVigil or explicitly on the provider (which overrides)', async () => {
    fake.set({ status: 500 });
    const thrower = vigilWith(castle(), { failover: 'throw' });
    const error = await thrower.protect(loginRequest()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VigilProviderError);
    expect(error).toMatchObject({ reason: 'server error' });
    expect((error as Error).cause).toBeInstanceOf(CastleInternalServerError);

    const overriding = vigilWith(castle({ failover: 'throw' }), { failover: 'allow' });
    await expect(overriding.protect(loginRequest())).rejects.toBeInstanceOf(VigilProviderError);
    const monitoring = vigilWith(castle({ failover: 'throw' }), { failover: 'throw', mode: 'monitoring' });
    expect(await monitoring.protect(loginRequest())).toMatchObject({ action: 'allow', failover: true, failoverReason: 'server error' });
  });

  it.each(['deny', 'challenge'] as const)('createVigil’s failover %s governs Castle’s faults when the provider has none of its own', async (strategy) => {
    fake.set({ status: 503 });
    const vigil = vigilWith(castle(), { failover: strategy, onChallenge: () => undefined });
    expect(await vigil.protect(loginRequest())).toMatchObject({ action: strategy === 'deny' ? 'block' : 'challenge', failover: true, failoverReason: 'server error' });
    // A provider's own strategy, set explicitly, overrides it.
    const own = vigilWith(castle({ failover: 'allow' }), { failover: strategy, onChallenge: () => undefined });
    expect(await own.protect(loginRequest())).toMatchObject({ action: 'allow', failover: true, failoverReason: 'server error' });
  });
});

describe('castleProvider: keep-alive', () => {
  it('50 sequential decisions share at most 2 connections', async () => {
    const vigil = vigilWith(castle());
    for (let i = 0; i < 50; i++) {
      const decision = await vigil.protect(i % 2 === 0 ? loginRequest() : settingsRequest(`user_${i}`));
      expect(decision.failover).toBe(false);
    }
    expect(fake.requests).toHaveLength(50);
    expect(fake.connections).toBeGreaterThanOrEqual(1);
    expect(fake.connections).toBeLessThanOrEqual(2);
  });

  it('no retries on the request path: a 503 or a cut connection is one request', async () => {
    const provider = castle();
    const event = await eventFor(provider, loginRequest());
    fake.set({ status: 503 });
    await provider.filter(event).catch(() => undefined);
    fake.set({ status: undefined, destroySocket: true });
    await provider.filter(event).catch(() => undefined);
    expect(fake.requests).toHaveLength(2);
  });
});

describe('castleProvider: device management', () => {
  beforeEach(() => {
    fake.devices.set('dev_a', { user_id: 'user_1', risk: 0.2, created_at: '2025-01-01T00:00:00.000Z' });
    fake.devices.set('dev/b c', { user_id: 'user_1', risk: 0.4 });
    fake.devices.set('dev_z', { user_id: 'user_2', risk: 0.1 });
  });

  it('getDevice: GET /v1/devices/{token}', async () => {
    const provider = castle();
    await expect(provider.getDevice('dev_a')).resolves.toEqual({ token: 'dev_a', user_id: 'user_1', risk: 0.2, created_at: '2025-01-01T00:00:00.000Z' });
    expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/v1/devices/dev_a', rawBody: '' });
    expect(fake.requests[0]?.headers.authorization).toBe(BASIC);
  });

  it('approveDevice and reportDevice: PUT /v1/devices/{token}/approve and /report', async () => {
    const provider = castle();
    const approved = await provider.approveDevice('dev_a');
    expect(approved).toMatchObject({ device: { token: 'dev_a', approved_at: expect.stringMatching(SENT_AT) } });
    const reported = await provider.reportDevice('dev_a');
    expect(reported).toMatchObject({ device: { token: 'dev_a', escalated_at: expect.any(String) } });
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /v1/devices/dev_a/approve', 'PUT /v1/devices/dev_a/report']);
    expect(fake.requests.every((r) => r.headers.authorization === BASIC)).toBe(true);
  });

  it('getDevicesForUser: GET /v1/users/{id}/devices', async () => {
    const provider = castle();
    const result = await provider.getDevicesForUser('user_1');
    expect(result.total_count).toBe(2);
    expect(result.data?.map((d) => d.token).sort()).toEqual(['dev/b c', 'dev_a']);
    expect(fake.requests[0]).toMatchObject({ method: 'GET', path: '/v1/users/user_1/devices' });
  });

  it('encodes tokens and ids into one path segment', async () => {
    const provider = castle();
    await expect(provider.getDevice('dev/b c')).resolves.toMatchObject({ token: 'dev/b c' });
    expect(fake.requests[0]?.path).toBe('/v1/devices/dev%2Fb%20c');
    await provider.getDevicesForUser('a/../b');
    expect(fake.requests[1]?.path).toBe('/v1/users/a%2F..%2Fb/devices');
  });

  it('an unknown device is CastleNotFoundError', async () => {
    const provider = castle();
    await expect(provider.getDevice('dev_missing')).rejects.toBeInstanceOf(CastleNotFoundError);
    await expect(provider.approveDevice('dev_missing')).rejects.toMatchObject({ status: 404, failover: false });
  });

  it.each([
    ['getDevice', undefined],
    ['getDevice', ''],
    ['approveDevice', '  '],
    ['reportDevice', null],
    ['reportDevice', 42],
    ['getDevicesForUser', undefined],
    ['getDevicesForUser', ''],
  ] as const)('%s(%o) is CastleInvalidParametersError before any request', async (method, value) => {
    const provider = castle();
    const error = await (provider[method] as (v: unknown) => Promise<unknown>)(value).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CastleInvalidParametersError);
    expect(error).toMatchObject({ failover: false });
    expect(fake.requests).toHaveLength(0);
    expect(fake.connections).toBe(0);
  });
});

describe('castleProvider: secrets', () => {
  it('no log line, decision or error ever carries the API secret or the Basic auth value', async () => {
    const { lines, logger } = capturingLogger();
    const provider = castle({ logger, timeout: 100 });
    const vigil = vigilWith(provider, { logger, mode: 'monitoring' });
    const decisions: Decision[] = [];
    const errors: unknown[] = [];
    const scenarios: (() => void)[] = [
      () => fake.set({ status: 500, body: { type: 'internal', message: 'down' } }),
      () => fake.set({ status: 401, body: { type: 'unauthorized', message: 'Unauthorized' } }),
      () => fake.set({ status: 422, body: { type: 'invalid_request_token', message: 'Invalid Request Token' } }),
      () => fake.set({ status: 429 }),
      () => fake.set({ delayMs: 300 }),
      () => fake.set({ destroySocket: true }),
      () => fake.set({ malformedJson: true }),
      () => undefined,
    ];
    for (const scenario of scenarios) {
      fake.reset();
      scenario();
      const decision = await vigil.protect(loginRequest());
      decisions.push(decision);
      vigil.logOutcome(decision, 401);
      errors.push(await provider.getDevice('dev_1').catch((e: unknown) => e));
      errors.push(await castle({ failover: 'throw', logger, timeout: 100 }).filter(await eventFor(provider, loginRequest())).catch((e: unknown) => e));
      const blocking = vigilWith(castle({ logger, timeout: 100 }), { logger, failover: 'throw' });
      errors.push(await blocking.protect(loginRequest()).catch((e: unknown) => e));
    }
    await vigil.close();
    // A wrong secret too: what the 401 carries must not echo it.
    const wrong = vigilWith(castleProvider({ apiSecret: 'sk_wrong_Pp0', baseUrl: fake.url, logger }), { logger });
    errors.push(await wrong.protect(loginRequest()).catch((e: unknown) => e));

    expect(lines.length).toBeGreaterThan(10);
    expect(errors.filter((e) => e instanceof Error).length).toBeGreaterThan(10);
    const haystacks = [
      ...lines,
      ...decisions.map((d) => JSON.stringify(d)),
      ...errors.map((e) => `${inspect(e, { depth: 10, showHidden: true })} ${JSON.stringify(e)} ${String(e)}`),
    ];
    for (const text of haystacks) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(BASIC_B64);
      expect(text).not.toContain('sk_wrong_Pp0');
      expect(text).not.toContain(Buffer.from(':sk_wrong_Pp0').toString('base64'));
    }
  });

  it('the provider object itself does not expose the secret', () => {
    const provider = castle();
    expect(inspect(provider, { depth: 5, showHidden: true })).not.toContain(SECRET);
    expect(JSON.stringify(provider)).not.toContain(SECRET);
  });
});
