import { createHmac, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { Decision } from '../decision/decision.js';
import { VigilConfigError } from '../errors.js';
import { castleProvider } from '../providers/castle.js';
import { cheqProvider } from '../providers/cheq.js';
import type { Provider, ProviderEvent, Verdict } from '../providers/types.js';
import { MemoryStore } from '../stores/memory.js';
import { type FakeCastle, type FakeCheq, startFakeCastle, startFakeCheq } from '../testing/fake-vendors.js';
import { createVigil, type Vigil, type VigilConfig } from '../vigil.js';
import { createDeviceCookies } from './device-cookie.js';

// Issue 13, item 1 and DESIGN.md, Identity and PII: "A device is a signed first-party
// cookie, on by default for protected routes." HttpOnly, SameSite=Lax, Secure over
// HTTPS, 400 days, renewed when the presented one fails verification; keyed by
// deviceCookie.secret, else the provider's deviceCookieKey() (the engine's `secret`),
// else a random key per process; only its id ever reaches a provider.

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const LOGIN = { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } } as const;
const DEVICE_COOKIE = /^vigil_did=([0-9a-f]{32})\.([\w-]{24}); Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax$/;
const DEVICE_COOKIE_SECURE = /^vigil_did=([0-9a-f]{32})\.([\w-]{24}); Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax; Secure$/;

function request(overrides: Partial<RequestInfo> = {}): RequestInfo {
  return {
    method: 'POST',
    url: '/login',
    path: '/login',
    headers: { host: 'app.example.com', 'user-agent': CHROME, accept: 'application/json', 'accept-language': 'en', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
    remoteAddress: '203.0.113.7',
    body: { email: 'alice@example.com', password: 'hunter2' },
    ...overrides,
  };
}

/** The same request presenting `cookie` (the `name=value` pair of a Set-Cookie). */
function withCookie(cookie: string, overrides: Partial<RequestInfo> = {}): RequestInfo {
  return request({ headers: { ...request().headers, cookie: `sid=app; ${cookie}` }, ...overrides });
}

/** A provider that records every event it is given (decisions and logs alike). */
function recording(verdict: Verdict = { risk: 0 }, extra: Partial<Provider> = {}): { provider: Provider; events: ProviderEvent[]; logs: ProviderEvent[] } {
  const events: ProviderEvent[] = [];
  const logs: ProviderEvent[] = [];
  const provider: Provider = {
    name: 'recording',
    filter: async (event) => {
      events.push(event);
      return verdict;
    },
    risk: async (event) => {
      events.push(event);
      return verdict;
    },
    log: async (event) => void logs.push(event),
    ...extra,
  };
  return { provider, events, logs };
}

function setCookies(decision: Decision): readonly string[] {
  const value = decision.responseHeaders['set-cookie'];
  return value === undefined ? [] : typeof value === 'string' ? [value] : value;
}

/** Vigil's device cookie of a decision (its Set-Cookie line). */
function deviceCookieOf(decision: Decision): string | undefined {
  return setCookies(decision).find((line) => line.startsWith('vigil_did='));
}

/** The `name=value` pair a browser sends back. */
const pair = (setCookie: string) => setCookie.split(';')[0] as string;

function configError(fn: () => unknown): VigilConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof VigilConfigError) return error;
    throw error;
  }
  throw new Error('no VigilConfigError was thrown');
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('the device cookie is on by default for protected routes', () => {
  it.each(['monitoring', 'blocking'] as const)('%s mode: a protected response without a valid cookie gets one — HttpOnly, SameSite=Lax, 400 days, Secure only over HTTPS', async (mode) => {
    const { provider } = recording();
    const vigil = createVigil({ mode, routes: [LOGIN], provider });
    const plain = await vigil.protect(request());
    expect(setCookies(plain)).toEqual([expect.stringMatching(DEVICE_COOKIE)]);
    const https = await vigil.protect(request({ protocol: 'https' }));
    expect(setCookies(https)).toEqual([expect.stringMatching(DEVICE_COOKIE_SECURE)]);
    // Each a device of its own; the decision names its id, nothing more.
    const [, id] = DEVICE_COOKIE.exec(deviceCookieOf(plain) as string) as RegExpExecArray;
    expect(plain.device).toEqual({ id });
    expect(https.device?.id).not.toBe(id);
  });

  it.each([
    ['allow', { risk: 0 }, {}],
    ['block', { risk: 1 }, {}],
    ['redirect', { risk: 1 }, { redirectUrl: '/sorry' }],
    ['challenge', { risk: 0.7 }, { onChallenge: () => {} }],
  ] as const)('every outcome carries it: %s', async (action, verdict, extra) => {
    for (const mode of ['monitoring', 'blocking'] as const) {
      const { provider } = recording(verdict);
      const vigil = createVigil({ mode, routes: [LOGIN], provider, ...(extra as VigilConfig) });
      const decision = await vigil.protect(request());
      expect(decision.wouldAction).toBe(action);
      expect(decision.action).toBe(mode === 'monitoring' ? 'allow' : action);
      expect(setCookies(decision)).toEqual([expect.stringMatching(DEVICE_COOKIE)]);
    }
  });

  it('unprotected and excluded requests get none, and no device id', async () => {
    const { provider, events } = recording();
    const vigil = createVigil({ routes: [LOGIN, { method: 'GET', path: '/static/*', event: '$custom', name: 'asset' }], uriExclusion: ['/static'], provider });
    for (const path of ['/', '/static/app.js', '/logout']) {
      const decision = await vigil.protect(request({ path, url: path, method: 'GET' }));
      expect(decision.protected).toBe(false);
      expect(decision.responseHeaders).toEqual({});
      expect(decision.device).toBeUndefined();
    }
    expect(events).toHaveLength(0);
  });

  it('true, {} and an options object are the same cookie; deviceCookie: false turns it off (no header, no device id)', async () => {
    for (const deviceCookie of [undefined, true, {}, { secret: 'device-secret-0123456789' }] as const) {
      const { provider, events } = recording();
      const decision = await createVigil({ routes: [LOGIN], provider, ...(deviceCookie === undefined ? {} : { deviceCookie }) }).protect(request());
      expect(setCookies(decision)).toEqual([expect.stringMatching(DEVICE_COOKIE)]);
      expect(events[0]?.deviceId).toMatch(/^[0-9a-f]{32}$/);
    }
    const { provider, events, logs } = recording();
    const vigil = createVigil({ routes: [LOGIN], provider, deviceCookie: false });
    const decision = await vigil.protect(request());
    expect(decision.responseHeaders).toEqual({});
    expect(decision.device).toBeUndefined();
    vigil.logOutcome(decision, 200);
    await vigil.trackLogin(request(), { success: true, userId: 'u-1' });
    await settle();
    for (const event of [...events, ...logs]) {
      expect(event).not.toHaveProperty('deviceId');
      expect(event).not.toHaveProperty('deviceFresh');
    }
    expect(logs).toHaveLength(2);
  });

  it('the name option renames it; other options change what they say', async () => {
    const { provider } = recording();
    const named = await createVigil({ routes: [LOGIN], provider, deviceCookie: { name: 'dev', maxAgeDays: 30, secure: true } }).protect(request());
    expect(setCookies(named)).toEqual([expect.stringMatching(/^dev=[0-9a-f]{32}\.[\w-]+; Path=\/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure$/)]);
    const never = await createVigil({ routes: [LOGIN], provider, deviceCookie: { secure: false } }).protect(request({ protocol: 'https' }));
    expect(setCookies(never)).toEqual([expect.stringMatching(DEVICE_COOKIE)]);
  });
});

describe('a wrong deviceCookie is a start-up error naming the option, the value and the fix', () => {
  it.each([[null], ['yes'], [1], [0], [[]], [['secret']]])('deviceCookie: %j → VIGIL_E_OPTION_TYPE', (value) => {
    const error = configError(() => createVigil({ deviceCookie: value as unknown as boolean }));
    expect(error).toMatchObject({ code: 'VIGIL_E_OPTION_TYPE', option: 'deviceCookie', value });
    expect(error.message).toContain('which is neither a boolean nor an options object');
    expect(error.message).toContain('Leave deviceCookie out (the signed device cookie is on by default), set deviceCookie: false to turn it off, or pass { name, secret, maxAgeDays, secure }.');
  });

  it('the whole message, for a string', () => {
    expect(configError(() => createVigil({ deviceCookie: 'on' as unknown as boolean })).message).toBe(
      'VIGIL_E_OPTION_TYPE: deviceCookie is "on", which is neither a boolean nor an options object. Leave deviceCookie out (the signed device cookie is on by default), set deviceCookie: false to turn it off, or pass { name, secret, maxAgeDays, secure }.',
    );
  });

  it('a misspelt option is refused (a secret silently ignored is a fleet silently apart); its value is hidden', () => {
    const error = configError(() => createVigil({ deviceCookie: { secrte: 'device-secret-0123456789' } as never }));
    expect(error).toMatchObject({ code: 'VIGIL_E_UNKNOWN_OPTION', option: 'deviceCookie.secrte', value: '(hidden)' });
    expect(error.message).toContain('Did you mean "deviceCookie.secret"?');
    expect(error.message).not.toContain('device-secret-0123456789');
  });

  it('bad values of the options', () => {
    expect(configError(() => createVigil({ deviceCookie: { name: 'a b' } }))).toMatchObject({ code: 'VIGIL_E_OPTION_VALUE', option: 'deviceCookie.name' });
    expect(configError(() => createVigil({ deviceCookie: { secret: 'short' } }))).toMatchObject({ code: 'VIGIL_E_OPTION_VALUE', option: 'deviceCookie.secret', value: '(hidden)' });
    expect(configError(() => createVigil({ deviceCookie: { maxAgeDays: 401 } }))).toMatchObject({ code: 'VIGIL_E_OPTION_VALUE', option: 'deviceCookie.maxAgeDays' });
    expect(configError(() => createVigil({ deviceCookie: { secure: 'yes' as never } }))).toMatchObject({ code: 'VIGIL_E_OPTION_VALUE', option: 'deviceCookie.secure', value: 'yes' });
  });
});

describe('the key: deviceCookie.secret, else the provider’s deviceCookieKey(), else random per process', () => {
  const KEY_A = Buffer.alloc(32, 7);
  const KEY_B = Buffer.alloc(32, 9);

  /** Two instances: does a cookie the first issued pass on the second? */
  async function travels(a: Vigil, b: Vigil): Promise<boolean> {
    const first = await a.protect(request());
    const cookie = pair(deviceCookieOf(first) as string);
    const second = await b.protect(withCookie(cookie));
    if (deviceCookieOf(second) === undefined) {
      expect(second.device).toEqual(first.device);
      return true;
    }
    expect(second.device?.id).not.toBe(first.device?.id);
    return false;
  }

  it('instances whose providers give the same key verify each other’s cookies; another key, or none, does not', async () => {
    const make = (key?: Buffer, config: VigilConfig = {}) => createVigil({ routes: [LOGIN], provider: recording({ risk: 0 }, { deviceCookieKey: () => key }).provider, ...config });
    expect(await travels(make(KEY_A), make(Buffer.from(KEY_A)))).toBe(true);
    expect(await travels(make(KEY_A), make(KEY_B))).toBe(false);
    // undefined: the provider has no key to give; each process keys its own.
    expect(await travels(make(undefined), make(undefined))).toBe(false);
    const lone = make(undefined);
    expect(await travels(lone, lone)).toBe(true);
    // A secret of the options wins over the provider's key, and is not even asked for.
    let asked = 0;
    const counted = () => {
      asked++;
      return KEY_A;
    };
    const withSecret = () =>
      createVigil({ routes: [LOGIN], deviceCookie: { secret: 'device-secret-0123456789' }, provider: recording({ risk: 0 }, { deviceCookieKey: counted }).provider });
    expect(await travels(withSecret(), createVigil({ routes: [LOGIN], deviceCookie: { secret: 'device-secret-0123456789' }, provider: recording().provider }))).toBe(true);
    expect(await travels(withSecret(), make(KEY_A))).toBe(false);
    expect(asked).toBe(0);
    // Nor asked when the cookie is off (and so is the built-in challenge, which keys itself with it).
    createVigil({ deviceCookie: false, challenge: false, provider: recording({ risk: 0 }, { deviceCookieKey: counted }).provider });
    expect(asked).toBe(0);
  });

  it('the provider’s key is copied: a provider changing its buffer later changes nothing', async () => {
    const key = Buffer.alloc(32, 3);
    const a = createVigil({ routes: [LOGIN], provider: recording({ risk: 0 }, { deviceCookieKey: () => key }).provider });
    const cookie = pair(deviceCookieOf(await a.protect(request())) as string);
    key.fill(0);
    expect(deviceCookieOf(await a.protect(withCookie(cookie)))).toBeUndefined();
  });

  it('a key that is not a Buffer of 16+ bytes, or a deviceCookieKey() that throws: VIGIL_E_PROVIDER, hidden', () => {
    for (const key of ['a string key of plenty of length', Buffer.alloc(8), 42]) {
      const error = configError(() => createVigil({ provider: recording({ risk: 0 }, { deviceCookieKey: () => key as Buffer }).provider }));
      expect(error).toMatchObject({ code: 'VIGIL_E_PROVIDER', option: 'provider.deviceCookieKey()', value: '(hidden)' });
      expect(error.message).toContain('which is neither undefined nor a Buffer of at least 16 bytes');
    }
    const thrown = configError(() =>
      createVigil({
        provider: recording({ risk: 0 }, {
          deviceCookieKey: () => {
            throw new Error('no secret yet');
          },
        }).provider,
      }),
    );
    expect(thrown).toMatchObject({ code: 'VIGIL_E_PROVIDER', option: 'provider.deviceCookieKey()' });
    expect(thrown.message).toContain('which threw (no secret yet)');
  });

  it('createDeviceCookies says where its key came from', () => {
    expect(createDeviceCookies().keySource).toBe('random');
    expect(createDeviceCookies(true, { key: KEY_A }).keySource).toBe('provider');
    expect(createDeviceCookies({ secret: 'device-secret-0123456789' }, { key: KEY_A }).keySource).toBe('secret');
  });
});

describe('a shared store needs a key the fleet shares', () => {
  /** A provider over a store shared by a fleet, as the engine over RedisStore is. */
  const fleetProvider = (extra: Partial<Provider> = {}) =>
    Object.assign(recording({ risk: 0 }, extra).provider, { name: 'fleet-engine', store: { name: 'fleet', shared: true, execute: new MemoryStore().execute } });

  it('no secret and no key from the provider: VIGIL_E_SECRET_REQUIRED, naming the engine’s secret as the fix', () => {
    for (const deviceCookie of [undefined, true, {}, { secret: undefined }]) {
      const error = configError(() => createVigil({ provider: fleetProvider(), ...(deviceCookie === undefined ? {} : { deviceCookie }) }));
      expect(error).toMatchObject({ code: 'VIGIL_E_SECRET_REQUIRED', option: 'deviceCookie.secret', value: undefined });
    }
    expect(configError(() => createVigil({ provider: fleetProvider({ deviceCookieKey: () => undefined }) })).message).toBe(
      'VIGIL_E_SECRET_REQUIRED: deviceCookie.secret is undefined, while the store ("fleet") is shared and the provider (fleet-engine) gives the device cookie (on by default) no key of its own: each instance would sign it with its own random key and treat the others\' cookies as forged. Pass the same `secret` to every instance, e.g. from an environment variable: the engine\'s, localProvider({ store, secret: process.env.VIGIL_SECRET }), signs the device cookie too; with a provider that has no key to give, deviceCookie: { secret: process.env.VIGIL_DEVICE_SECRET } (a long random string); or deviceCookie: false to go without the cookie.',
    );
  });

  it('the provider’s key (the engine’s secret), a secret of the cookie’s own, or no cookie: it starts', () => {
    expect(() => createVigil({ provider: fleetProvider({ deviceCookieKey: () => Buffer.alloc(32, 1) }) })).not.toThrow();
    expect(() => createVigil({ provider: fleetProvider(), deviceCookie: { secret: 'device-secret-0123456789' } })).not.toThrow();
    // Without the cookie, the built-in challenge still needs a key the fleet shares.
    expect(() => createVigil({ provider: fleetProvider(), deviceCookie: false })).toThrow(/VIGIL_E_SECRET_REQUIRED: challenge\.secret/);
    expect(() => createVigil({ provider: fleetProvider(), deviceCookie: false, challenge: { secret: 'challenge-secret-0123456789' } })).not.toThrow();
    expect(() => createVigil({ provider: fleetProvider(), deviceCookie: false, challenge: false })).not.toThrow();
    // Alone in one process, a random key is fine.
    expect(() => createVigil()).not.toThrow();
  });

  it('an empty secret (an environment variable set to nothing) is refused with any store', () => {
    for (const provider of [undefined, fleetProvider({ deviceCookieKey: () => Buffer.alloc(32, 1) })]) {
      const error = configError(() => createVigil({ ...(provider ? { provider } : {}), deviceCookie: { secret: '' } }));
      expect(error).toMatchObject({ code: 'VIGIL_E_SECRET_REQUIRED', option: 'deviceCookie.secret', value: '' });
      expect(error.message).toContain('which signs nothing (an environment variable set to nothing?)');
    }
  });
});

describe('verification: a valid cookie is kept, anything else is a new device', () => {
  it('a valid cookie: same id, no new Set-Cookie; tampered, forged, truncated or from a rotated key: a new one', async () => {
    const { provider, events } = recording();
    const vigil = createVigil({ routes: [LOGIN], provider, deviceCookie: { secret: 'device-secret-0123456789' } });
    const first = await vigil.protect(request());
    const cookie = pair(deviceCookieOf(first) as string);
    const value = cookie.slice('vigil_did='.length);
    const [id, signature] = value.split('.') as [string, string];

    const again = await vigil.protect(withCookie(cookie));
    expect(again.responseHeaders).toEqual({});
    expect(again.device).toEqual({ id });
    expect(events[1]?.deviceId).toBe(id);

    const flip = (text: string, at: number) => `${text.slice(0, at)}${text[at] === 'a' ? 'b' : 'a'}${text.slice(at + 1)}`;
    const rotated = createVigil({ routes: [LOGIN], provider: recording().provider, deviceCookie: { secret: 'the-previous-secret-0123' } });
    const oldKey = pair(deviceCookieOf(await rotated.protect(request())) as string);
    for (const bad of [`vigil_did=${flip(id, 3)}.${signature}`, `vigil_did=${id}.${flip(signature, 2)}`, `vigil_did=${id}`, `vigil_did=${id}.`, 'vigil_did=0123456789abcdef.forged', 'vigil_did=', oldKey]) {
      const decision = await vigil.protect(withCookie(bad));
      const issued = deviceCookieOf(decision);
      expect(issued, bad).toMatch(DEVICE_COOKIE);
      expect(decision.device?.id).not.toBe(id);
      if (bad !== 'vigil_did=') expect(issued).not.toContain(bad.slice('vigil_did='.length));
      expect(events.at(-1)?.deviceFresh).toBe(true);
    }
  });

  it('the framework’s parsed cookies count as the header does', async () => {
    const vigil = createVigil({ routes: [LOGIN], provider: recording().provider });
    const first = await vigil.protect(request());
    const [, id, signature] = DEVICE_COOKIE.exec(deviceCookieOf(first) as string) as RegExpExecArray;
    const again = await vigil.protect(request({ cookies: { vigil_did: `${id}.${signature}` } }));
    expect(again.responseHeaders).toEqual({});
    expect(again.device).toEqual({ id });
  });
});

describe('ProviderEvent.deviceFresh: true when the id was issued on this very request', () => {
  it('on the decision event and the outcome event of a first visit; absent on both for a returning device', async () => {
    const { provider, events, logs } = recording();
    const vigil = createVigil({ routes: [{ ...LOGIN, user: { email: 'body.email' } }], provider });
    const first = await vigil.protect(request());
    vigil.logOutcome(first, 200);
    await settle();
    expect(events[0]).toMatchObject({ deviceId: first.device?.id, deviceFresh: true });
    expect(logs[0]).toMatchObject({ status: '$succeeded', deviceId: first.device?.id, deviceFresh: true });

    const again = await vigil.protect(withCookie(pair(deviceCookieOf(first) as string)));
    vigil.logOutcome(again, 401);
    await settle();
    expect(events[1]?.deviceId).toBe(first.device?.id);
    expect(events[1]).not.toHaveProperty('deviceFresh');
    expect(logs[1]).toMatchObject({ status: '$failed', deviceId: first.device?.id });
    expect(logs[1]).not.toHaveProperty('deviceFresh');
  });

  it('tracking and identify calls on the same request know the new device; a second decision on it issues nothing more', async () => {
    const { provider, events, logs } = recording({ risk: 0 }, {
      identify: async (event) => {
        logs.push(event);
        return { blocked: false };
      },
    });
    const vigil = createVigil({ routes: [LOGIN], provider });
    const req = request();
    const first = await vigil.protect(req);
    const second = await vigil.protect(req);
    expect(setCookies(first)).toHaveLength(1);
    expect(second.responseHeaders).toEqual({});
    expect(second.device).toEqual(first.device);
    expect(events[1]).toMatchObject({ deviceId: first.device?.id, deviceFresh: true });
    await vigil.trackCustom(req, 'seen');
    await vigil.identify(req, { id: 'u-1' });
    await vigil.trackLogin(req, { success: true, userId: 'u-1' });
    expect(logs).toHaveLength(3);
    for (const event of logs) expect(event).toMatchObject({ deviceId: first.device?.id, deviceFresh: true });
    // Once an outcome was recorded with it, the device has a history: no longer fresh.
    await vigil.trackSignup(req, { userId: 'u-1' });
    expect(logs[3]?.deviceId).toBe(first.device?.id);
    expect(logs[3]).not.toHaveProperty('deviceFresh');
    // Another request presenting the cookie: a returning device.
    const later = withCookie(pair(deviceCookieOf(first) as string));
    await vigil.trackLogin(later, { success: true, userId: 'u-1' });
    expect(logs[4]?.deviceId).toBe(first.device?.id);
    expect(logs[4]).not.toHaveProperty('deviceFresh');
    // A request Vigil never decided on and that has no cookie: no device at all.
    await vigil.trackLogin(request(), { success: false });
    expect(logs[5]).not.toHaveProperty('deviceId');
    expect(logs[5]).not.toHaveProperty('deviceFresh');
  });
});

describe('an issued device stops being fresh once an outcome on its request was recorded with it', () => {
  // The recording provider's log runs within logOutcome (it records synchronously): no
  // waiting is needed to see what was, or was not, logged.
  it('route outcomes, tracking calls and later decisions on the same request object', async () => {
    const { provider, events, logs } = recording();
    const vigil = createVigil({ routes: [LOGIN], provider });
    const req = request();
    const first = await vigil.protect(req);
    const id = first.device?.id;
    // An attempted event (identify, custom) is no outcome: still fresh after it.
    await vigil.trackCustom(req, 'seen');
    expect(logs[0]).toMatchObject({ deviceId: id, deviceFresh: true });
    vigil.logOutcome(first, 401);
    expect(logs[1]).toMatchObject({ status: '$failed', deviceId: id, deviceFresh: true });
    // The failure is in the store now: the next decision and outcome on this request see a device with a history.
    const second = await vigil.protect(req);
    expect(second.device?.id).toBe(id);
    expect(events[1]).toMatchObject({ deviceId: id });
    expect(events[1]).not.toHaveProperty('deviceFresh');
    vigil.logOutcome(second, 200);
    await vigil.trackSignup(req, { userId: 'u-1' });
    expect(logs.slice(2).map((e) => [e.type, e.status, e.deviceId, e.deviceFresh])).toEqual([
      ['$login', '$succeeded', id, undefined],
      ['$registration', '$succeeded', id, undefined],
    ]);
    // The first decision's outcome was logged: logging it again logs nothing.
    vigil.logOutcome(first, 200);
    expect(logs).toHaveLength(4);
  });

  it('a tracking call recording the first outcome: the decision after it is not fresh', async () => {
    const { provider, events, logs } = recording();
    const vigil = createVigil({ routes: [LOGIN], provider });
    const req = request();
    const first = await vigil.protect(req);
    await vigil.trackLogin(req, { success: false });
    expect(logs[0]).toMatchObject({ status: '$failed', deviceId: first.device?.id, deviceFresh: true });
    await vigil.protect(req);
    expect(events[1]).not.toHaveProperty('deviceFresh');
    // Another request without a cookie gets its own new device, fresh.
    const other = await vigil.protect(request());
    expect(other.device?.id).not.toBe(first.device?.id);
    expect(events[2]).toMatchObject({ deviceId: other.device?.id, deviceFresh: true });
  });
});

describe('only the id leaves: never the cookie’s value (its signature) to a provider, a log or a decision', () => {
  it('events, decisions (serialized, spread, onDecision) and every log line carry the id only', async () => {
    const lines: string[] = [];
    const line = (...args: unknown[]) => void lines.push(JSON.stringify(args));
    const logger = { debug: line, info: line, warn: line, error: line };
    const seen: Decision[] = [];
    const { provider, events, logs } = recording({ risk: 0.95 });
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider, logger, onDecision: (d) => void seen.push(d) });
    const first = await vigil.protect(request());
    const setCookie = deviceCookieOf(first) as string;
    const [, id, signature] = DEVICE_COOKIE.exec(setCookie) as RegExpExecArray;
    const again = await vigil.protect(withCookie(pair(setCookie)));
    vigil.logOutcome(first, 200);
    await vigil.trackLogin(withCookie(pair(setCookie)), { success: false, email: 'alice@example.com' });
    await settle();
    expect(first.device).toEqual({ id });
    expect(again.device).toEqual({ id });
    // Adapters read the header, but it is not part of what the decision carries along.
    expect(Object.keys(first)).not.toContain('responseHeaders');
    expect(Object.isFrozen(first)).toBe(true);
    const carried = [...events, ...logs, ...seen, { ...first }, first, again].map((x) => JSON.stringify(x)).join('\n') + lines.join('\n');
    expect(carried).toContain(id);
    expect(carried).not.toContain(signature as string);
    expect(carried).not.toContain('vigil_did');
    expect(events.length + logs.length).toBeGreaterThanOrEqual(3);
  });

  describe('remote providers: the cookie is Vigil’s own and reaches the vendor not at all', () => {
    let castle: FakeCastle;
    let cheq: FakeCheq;
    const toClose: Vigil[] = [];
    beforeAll(async () => {
      castle = await startFakeCastle('sk_castle_device_cookie');
      cheq = await startFakeCheq('cheq_key_device_cookie', 'tag_device_cookie');
    });
    afterEach(async () => {
      await Promise.all(toClose.splice(0).map((v) => v.close()));
      castle.reset();
      cheq.reset();
    });
    afterAll(async () => {
      await Promise.all([castle.close(), cheq.close()]);
    });

    it.each(['castle', 'cheq'] as const)('%s: the provider gets deviceId; the bytes the vendor received hold neither the value nor the signature', async (vendor) => {
      const inner =
        vendor === 'castle'
          ? castleProvider({ apiSecret: 'sk_castle_device_cookie', baseUrl: castle.url, timeout: 2000 })
          : cheqProvider({ apiKey: 'cheq_key_device_cookie', tagHash: 'tag_device_cookie', apiEndpoint: cheq.url, timeout: 2000 });
      const given: ProviderEvent[] = [];
      const seen = <T>(event: ProviderEvent, call: (e: ProviderEvent) => T): T => {
        given.push(event);
        return call(event);
      };
      const spy: Provider = { ...inner, name: inner.name, filter: (e) => seen(e, inner.filter), risk: (e) => seen(e, inner.risk), log: (e) => seen(e, inner.log) };
      if (inner.prepare) spy.prepare = inner.prepare.bind(inner);
      const vigil = createVigil({ routes: [LOGIN], provider: spy, timeout: 5000 });
      toClose.push(vigil);
      const headers = { ...request().headers, 'x-castle-request-token': 'tok_device_cookie' };
      const first = await vigil.protect(request({ protocol: 'https', headers }));
      const setCookie = deviceCookieOf(first) as string;
      const [, id, signature] = DEVICE_COOKIE_SECURE.exec(setCookie) as RegExpExecArray;
      const again = await vigil.protect(request({ protocol: 'https', headers: { ...headers, cookie: pair(setCookie) } }));
      expect(deviceCookieOf(again)).toBeUndefined();
      vigil.logOutcome(again, 200);
      // CHEQ has no outcome endpoint (its log() sends nothing); Castle's /v1/log gets the outcome.
      await (vendor === 'castle' ? castle : cheq).waitForRequests(vendor === 'castle' ? 3 : 2, 5000);
      expect(given.map((e) => e.deviceId)).toEqual([id, id, id]);
      const sent = (vendor === 'castle' ? castle : cheq).requests.map((r) => r.raw).join('\n');
      expect(sent).not.toContain(signature as string);
      expect(sent).not.toContain('vigil_did');
    });
  });
});

describe('the device cookie format is stable across versions', () => {
  // A fleet upgrades one instance at a time: a cookie signed by another version must read.
  // The format, computed here independently: <id>.<base64url of the first 18 bytes of
  // HMAC-SHA256(key, "vigil-device:" + id)>.
  const SECRET = 'device-secret-0123456789';
  const signed = (id: string) => `${id}.${createHmac('sha256', Buffer.from(SECRET, 'utf8')).update(`vigil-device:${id}`).digest().subarray(0, 18).toString('base64url')}`;

  it('a cookie signed the documented way is accepted, and one issued reads as documented', () => {
    const cookies = createDeviceCookies({ secret: SECRET });
    for (let i = 0; i < 50; i++) {
      const id = randomBytes(16).toString('hex');
      expect(cookies.read(withCookie(`vigil_did=${signed(id)}`))).toBe(id);
      const issued = cookies.issue(request());
      const value = /^vigil_did=([^;]+);/.exec(issued.setCookie)?.[1];
      expect(value).toBe(signed(issued.id));
    }
  });

  it('a signature off by one character is refused', () => {
    const cookies = createDeviceCookies({ secret: SECRET });
    const id = randomBytes(16).toString('hex');
    const good = signed(id);
    const last = good.at(-1) === 'A' ? 'B' : 'A';
    expect(cookies.read(withCookie(`vigil_did=${good.slice(0, -1)}${last}`))).toBeUndefined();
  });
});
