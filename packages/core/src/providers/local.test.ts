import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ScrubbedHeaders } from '../context/headers.js';
import { IdentifierHasher } from '../engine/identifiers.js';
import { VigilStoreError } from '../errors.js';
import type { EventStatus, EventType } from '../events.js';
import type { UserIdentity } from '../routing/routes.js';
import { MemoryStore } from '../stores/memory.js';
import type { Store, StoreOp, StoreResult } from '../stores/types.js';
import { thrown as configError } from '../test-support/thrown.js';
import { DEFAULT_LIMITS, DEFAULT_WEIGHTS, type LimitOptions, type LocalProvider, type LocalProviderOptions, localProvider } from './local.js';
import type { ProviderEvent, Verdict } from './types.js';

// A fixed clock, one minute into a 15-minute window, so that every count is exact.
const W = 15 * 60_000;
const T0 = Math.floor(1_700_000_000_000 / W) * W + 60_000;
const SECRET = 'test-secret-0123456789abcdef';

const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const FIREFOX_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0';

/** What Chrome sends when posting a login form over HTTPS, in scrubbed form. */
const CHROME_HEADERS: ScrubbedHeaders = {
  Host: 'app.example.com',
  'User-Agent': CHROME_UA,
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8',
  'Accept-Language': 'en-US,en;q=0.9',
  'Accept-Encoding': 'gzip, deflate, br, zstd',
  'Content-Type': 'application/x-www-form-urlencoded',
  Origin: 'https://app.example.com',
  Referer: 'https://app.example.com/login',
  'Sec-Fetch-Site': 'same-origin',
  'Sec-Fetch-Mode': 'navigate',
  'Sec-Fetch-Dest': 'document',
  'Sec-Fetch-User': '?1',
  'Upgrade-Insecure-Requests': '1',
  Cookie: true,
};
const FIREFOX_HEADERS: ScrubbedHeaders = { ...CHROME_HEADERS, 'User-Agent': FIREFOX_UA };
const strip = (headers: ScrubbedHeaders, ...names: string[]): ScrubbedHeaders => Object.fromEntries(Object.entries(headers).filter(([name]) => !names.includes(name)));

interface EventSpec {
  type?: EventType;
  status?: EventStatus;
  ip?: string | undefined;
  ua?: string | undefined;
  headers?: ScrubbedHeaders;
  user?: UserIdentity;
  deviceId?: string;
  t?: number;
}

let requestCounter = 0;
/** A hand-built ProviderEvent: a Chrome browser posting to /login from 203.0.113.10 at T0 unless told otherwise. */
function ev(spec: EventSpec = {}): ProviderEvent {
  const ua = 'ua' in spec ? spec.ua : CHROME_UA;
  const headers = spec.headers ?? (ua === FIREFOX_UA ? FIREFOX_HEADERS : CHROME_HEADERS);
  const event: ProviderEvent = {
    type: spec.type ?? '$login',
    status: spec.status ?? '$attempted',
    name: 'login',
    requestId: `req-${++requestCounter}`,
    timestamp: spec.t ?? T0,
    context: {
      ip: 'ip' in spec ? spec.ip : '203.0.113.10',
      headers: ua === undefined ? strip(headers, 'User-Agent') : { ...headers, 'User-Agent': ua },
      userAgent: ua,
      ja3: undefined,
      resourceType: 'text/html',
      channel: undefined,
      method: 'POST',
      path: '/login',
    },
    user: spec.user ?? {},
  };
  if (spec.deviceId !== undefined) event.deviceId = spec.deviceId;
  return event;
}
const failed = (spec: EventSpec = {}) => ev({ ...spec, status: '$failed' });
const succeeded = (spec: EventSpec = {}) => ev({ ...spec, status: '$succeeded' });

// A real MemoryStore, smaller than the default: a 100 000-key LRU costs ~10 ms to set up, per test.
const memoryStore = () => new MemoryStore({ maxKeys: 10_000 });
/**
 * The limits these tests count against, spelt out (today's defaults): tuning the defaults
 * must not break them. `make` applies them under the test's own; the defaults themselves
 * are pinned once, in 'valid options pass, and the defaults are what the README documents'.
 */
const TEST_LIMITS: LimitOptions = {
  windowMs: W,
  attemptsPerIp: { default: { challenge: 60, block: 200 }, $login: { challenge: 30, block: 100 }, $registration: { challenge: 5, block: 20 }, $password_reset_request: { challenge: 5, block: 20 } },
  failedLoginsPerIp: { challenge: 10, block: 40 },
  failedAccountsPerIp: 5,
  accountsPerIp: { challenge: 20, block: 60 },
  failedAccountsPerRange: 12,
  accountsPerDevice: { challenge: 6, block: 15 },
  failedAccountsPerDevice: 4,
  networksPerDevice: 5,
  networksPerAccount: 5,
  failedLoginsPerAccount: 5,
  attackMinFailures: 10,
  attackFailureRatio: 0.5,
  householdSize: 4,
  maxPopulationScale: 10,
  signupsPerMailbox: 3,
  signupsPerMailboxWindowMs: 30 * 24 * 60 * 60_000,
  resetAccountsPerIp: { challenge: 4, block: 10 },
};
const withTestLimits = (limits: LimitOptions | undefined): LimitOptions => ({ ...TEST_LIMITS, ...limits, attemptsPerIp: { ...TEST_LIMITS.attemptsPerIp, ...limits?.attemptsPerIp } });
const make = (options: LocalProviderOptions = {}) => localProvider({ store: memoryStore(), secret: SECRET, ...options, limits: withTestLimits(options.limits) });
/** What a verdict with no signal looks like: the embedded engine's risk decides. */
const CLEAN: Verdict = { risk: 0, signals: {}, reasons: [], riskDecides: true };
const signalNames = (verdict: Verdict) => Object.keys(verdict.signals ?? {});

const dir = mkdtempSync(join(tmpdir(), 'vigil-local-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('localProvider: shape', () => {
  it('is named local, exposes its store, serves filter, risk and log', async () => {
    const store = memoryStore();
    const provider = localProvider({ store });
    expect(provider.name).toBe('local');
    expect(provider.store).toBe(store);
    const verdict = await provider.filter(ev());
    expect(verdict).toEqual(CLEAN);
    // A login with an account carries the engine's memo for its outcome (opaque: see Verdict.memo).
    const { memo, ...risk } = await provider.risk(ev({ user: { id: 'u1' } }));
    expect(risk).toEqual(CLEAN);
    expect(memo).toBeDefined();
    await expect(provider.log(failed())).resolves.toBeUndefined();
  });

  it('defaults to a MemoryStore of its own, which close() releases; a given store is left open', async () => {
    const own = localProvider();
    expect(own.store).toBeInstanceOf(MemoryStore);
    await own.close?.();
    const close = vi.fn(async () => undefined);
    const given: Store = { name: 'given', execute: async (ops) => ops.map(() => null), close };
    await localProvider({ store: given }).close?.();
    expect(close).not.toHaveBeenCalled();
  });

  it('one decision is one store batch', async () => {
    const memory = memoryStore();
    const execute = vi.fn((ops: readonly StoreOp[], now?: number) => memory.execute(ops, now));
    const provider = localProvider({ store: { name: 'spy', execute } });
    await provider.filter(ev({ user: { email: 'alice@example.com', id: 'u1' }, deviceId: 'dev-1' }));
    expect(execute).toHaveBeenCalledTimes(1);
    expect(execute.mock.calls[0]?.[1]).toBe(T0);
    // Outcomes are off the request path, and every batch of theirs is stamped with the event's time.
    await provider.log(failed({ user: { email: 'alice@example.com' } }));
    expect(execute.mock.calls.length).toBeGreaterThan(1);
    expect(execute.mock.calls.every((call) => call[1] === T0)).toBe(true);
  });

  it('deviceCookieKey(): a key derived from secret (the same for a fleet sharing it, never the secret), none without a secret', () => {
    const key = localProvider({ secret: SECRET }).deviceCookieKey();
    expect(key).toBeInstanceOf(Buffer);
    expect(key?.length).toBe(32);
    expect(key?.toString('utf8')).not.toContain(SECRET);
    expect(localProvider({ secret: SECRET }).deviceCookieKey()?.equals(key as Buffer)).toBe(true);
    expect(localProvider({ secret: `${SECRET}-other` }).deviceCookieKey()?.equals(key as Buffer)).toBe(false);
    expect(localProvider().deviceCookieKey()).toBeUndefined();
    // Each call hands out a copy: whoever scribbles on it cannot change the provider's key.
    const provider = localProvider({ secret: SECRET });
    provider.deviceCookieKey()?.fill(0);
    expect(provider.deviceCookieKey()?.equals(key as Buffer)).toBe(true);
  });

  it('does not touch the store when there is nothing to count', async () => {
    const execute = vi.fn(async () => []);
    const provider = localProvider({ store: { name: 'spy', execute } });
    await provider.filter(ev({ ip: undefined }));
    await provider.log(failed({ ip: undefined }));
    await provider.log(ev({ type: '$registration', status: '$failed' }));
    expect(execute).not.toHaveBeenCalled();
  });
});

describe('localProvider: declared automation', () => {
  it.each(['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', 'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)'])(
    'crawler %s → web_crawler, code 2',
    async (ua) => {
      const verdict = await make().filter(ev({ ua, headers: {} }));
      expect(verdict).toMatchObject({ risk: 0.95, threatCode: 2 });
      expect(signalNames(verdict)).toEqual(['web_crawler']);
      expect(verdict.action).toBeUndefined();
      expect(verdict.reasons).toEqual(['User-Agent of a crawler or bot']);
    },
  );

  it.each([
    'curl/8.4.0',
    'python-requests/2.31.0',
    'Go-http-client/1.1',
    'axios/1.6.2',
    'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)',
    'undici',
    'okhttp/4.12.0',
    'Java/17.0.2',
    'libwww-perl/6.72',
    'PostmanRuntime/7.36.0',
    'Scrapy/2.11.0 (+https://scrapy.org)',
  ])('%s → http_client_library, code 3', async (ua) => {
    const verdict = await make().filter(ev({ ua, headers: { Accept: '*/*' } }));
    expect(verdict).toMatchObject({ risk: 0.95, threatCode: 3 });
    expect(signalNames(verdict)).toEqual(['http_client_library']);
  });

  it('HeadlessChrome → headless_browser, code 3, even with a full header set', async () => {
    const ua = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36';
    const verdict = await make().filter(ev({ ua }));
    expect(verdict).toMatchObject({ risk: 0.95, threatCode: 3 });
    expect(signalNames(verdict)).toEqual(['headless_browser']);
  });

  it.each([undefined, ''])('missing or empty User-Agent (%j) → missing_user_agent, code 3', async (ua) => {
    const verdict = await make().filter(ev({ ua, headers: {} }));
    expect(verdict).toMatchObject({ risk: 0.95, threatCode: 3 });
    expect(signalNames(verdict)).toEqual(['missing_user_agent']);
  });

  it('a weight of 0 turns a signal off; other weights replace the defaults', async () => {
    expect(await make({ weights: { http_client_library: 0 } }).filter(ev({ ua: 'curl/8.0' }))).toEqual(CLEAN);
    expect((await make({ weights: { http_client_library: 0.5 } }).filter(ev({ ua: 'curl/8.0' }))).risk).toBe(0.5);
  });
});

describe('localProvider: false representation', () => {
  it('Chrome ≥ 89 without Sec-Fetch-* → missing_headers, code 11, capped at challenge', async () => {
    const verdict = await make().filter(ev({ headers: strip(CHROME_HEADERS, 'Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest', 'Sec-Fetch-User') }));
    expect(verdict).toMatchObject({ risk: 0.7, threatCode: 11, cap: 'challenge', riskDecides: true });
    // The cap is no action of its own: the policy weighs risk, and the cap can only soften a deny.
    expect(verdict.action).toBeUndefined();
    expect(verdict.signals).toEqual({ missing_headers: { weight: 0.7, code: 11, missing: ['Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest'] } });
  });

  it('Firefox without Accept-Language → missing_headers, capped at challenge', async () => {
    const verdict = await make().filter(ev({ ua: FIREFOX_UA, headers: strip(FIREFOX_HEADERS, 'Accept-Language') }));
    expect(verdict).toMatchObject({ threatCode: 11, cap: 'challenge' });
    expect(verdict.signals).toEqual({ missing_headers: { weight: 0.7, code: 11, missing: ['Accept-Language'] } });
  });

  it('a full header set raises nothing (Chrome, Firefox)', async () => {
    const provider = make();
    expect(await provider.filter(ev())).toEqual(CLEAN);
    expect(await provider.filter(ev({ ua: FIREFOX_UA }))).toEqual(CLEAN);
  });

  it('requireSecFetch: false → Sec-Fetch-* not required', async () => {
    const headers = strip(CHROME_HEADERS, 'Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest', 'Sec-Fetch-User');
    expect((await make({ requireSecFetch: false }).filter(ev({ headers }))).risk).toBe(0);
    expect(signalNames(await make({ requireSecFetch: false }).filter(ev({ headers: strip(headers, 'Accept') })))).toEqual(['missing_headers']);
  });

  it('a stronger uncapped signal lifts the cap: missing headers from a denylisted or (heavily weighted) data-center IP', async () => {
    const headers = strip(CHROME_HEADERS, 'Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest');
    // A data-center IP at its default weight (0.6) is weaker than the headers (0.7): still capped.
    const dc = await make({ datacenterRanges: ['203.0.113.0/24'], weights: { datacenter_ip: 0.6 } }).filter(ev({ headers }));
    expect(dc).toMatchObject({ risk: 0.88, threatCode: 11, cap: 'challenge' });
    const heavy = await make({ datacenterRanges: ['203.0.113.0/24'], weights: { datacenter_ip: 0.9 } }).filter(ev({ headers }));
    expect(heavy).toMatchObject({ risk: 0.97, threatCode: 13 });
    expect(heavy.cap).toBeUndefined();
    const denied = await make({ denyIps: ['203.0.113.0/24'] }).filter(ev({ headers }));
    expect(denied.action).toBe('deny');
    expect(denied.cap).toBeUndefined();
  });
});

describe('localProvider: velocity', () => {
  const login = (i: number, spec: EventSpec = {}) => ev({ user: { email: `user${i}@example.com` }, ...spec });

  it('attempts per IP per event type: code 5 from the challenge tier, code 6 from the block tier', async () => {
    const provider = make({ limits: { attemptsPerIp: { $login: { challenge: 3, block: 5 } } } });
    const verdicts: Verdict[] = [];
    for (let i = 0; i < 6; i++) verdicts.push(await provider.filter(ev()));
    expect(verdicts.map((v) => v.threatCode)).toEqual([undefined, undefined, 5, 5, 6, 6]);
    expect(verdicts.map((v) => v.risk)).toEqual([0, 0, 0.6, 0.6, 0.9, 0.9]);
    expect(verdicts[2]?.signals).toEqual({ high_activity_ip: { weight: 0.6, code: 5, attempts: 3 } });
    expect(verdicts[4]?.signals).toEqual({ high_activity_ip: { weight: 0.9, code: 6, attempts: 5 } });
    expect(verdicts[4]?.reasons).toEqual(['5 $login attempts from this IP in 15 min']);
  });

  it('default tiers: $login challenged from 30 attempts, blocked from 100', async () => {
    const provider = make();
    const codes: (number | undefined)[] = [];
    for (let i = 1; i <= 100; i++) codes.push((await provider.filter(ev())).threatCode);
    expect(codes.slice(0, 29).every((c) => c === undefined)).toBe(true);
    expect(codes[29]).toBe(5);
    expect(codes[98]).toBe(5);
    expect(codes[99]).toBe(6);
  });

  it('counts each event type apart, with its own tiers ($registration: 5 / 20 by default)', async () => {
    const provider = make();
    for (let i = 0; i < 4; i++) expect((await provider.filter(ev({ type: '$registration' }))).threatCode).toBeUndefined();
    expect((await provider.filter(ev({ type: '$registration' }))).threatCode).toBe(5);
    expect((await provider.filter(ev({ type: '$login' }))).threatCode).toBeUndefined();
    expect((await provider.filter(ev({ type: '$password_reset_request' }))).threatCode).toBeUndefined();
    // Types without tiers of their own use `default`.
    const custom = make({ limits: { attemptsPerIp: { default: { challenge: 2, block: 3 } } } });
    await custom.filter(ev({ type: '$custom' }));
    expect((await custom.filter(ev({ type: '$custom' }))).threatCode).toBe(5);
    expect((await custom.filter(ev({ type: '$login' }))).threatCode).toBeUndefined();
  });

  it('counts each IP apart', async () => {
    const provider = make({ limits: { attemptsPerIp: { $login: { challenge: 2, block: 3 } } } });
    await provider.filter(ev({ ip: '203.0.113.1' }));
    expect((await provider.filter(ev({ ip: '203.0.113.2' }))).threatCode).toBeUndefined();
    expect((await provider.filter(ev({ ip: '203.0.113.1' }))).threatCode).toBe(5);
  });

  it('failed logins per IP (log $failed): code 5 from 10, code 6 from 40', async () => {
    const provider = make();
    for (let i = 0; i < 9; i++) await provider.log(failed());
    expect(signalNames(await provider.filter(ev()))).toEqual([]);
    await provider.log(failed());
    const ten = await provider.filter(ev());
    expect(ten).toMatchObject({ threatCode: 5, risk: 0.6 });
    expect(ten.signals).toEqual({ failed_logins_ip: { weight: 0.6, code: 5, failures: 10 } });
    for (let i = 0; i < 30; i++) await provider.log(failed());
    const forty = await provider.filter(ev());
    expect(forty).toMatchObject({ threatCode: 6, risk: 0.9 });
    expect(forty.signals).toMatchObject({ failed_logins_ip: { failures: 40 } });
  });

  it('filter reads the failure count without adding to it; $succeeded does not count', async () => {
    const provider = make({ limits: { failedLoginsPerIp: { challenge: 2, block: 3 } } });
    await provider.log(failed());
    for (let i = 0; i < 5; i++) await provider.filter(ev());
    await provider.log(succeeded());
    expect(signalNames(await provider.filter(ev()))).toEqual([]);
    await provider.log(failed());
    expect(signalNames(await provider.filter(ev()))).toEqual(['failed_logins_ip']);
  });

  it('failed logins on 5 distinct accounts from one IP → credential_stuffing, code 10', async () => {
    const provider = make();
    for (let i = 0; i < 4; i++) {
      expect(signalNames(await provider.filter(login(i)))).toEqual([]);
      await provider.log(failed({ user: { email: `user${i}@example.com` } }));
    }
    expect(signalNames(await provider.filter(login(4)))).toEqual([]);
    await provider.log(failed({ user: { email: 'user4@example.com' } }));
    const verdict = await provider.filter(login(5));
    expect(verdict).toMatchObject({ threatCode: 10, risk: 0.95 });
    expect(verdict.signals).toEqual({ credential_stuffing: { weight: 0.95, code: 10, failedAccounts: 5 } });
    expect(verdict.reasons).toEqual(['failed logins on 5 different accounts from this IP, not followed by a success']);
    // Another IP is not affected.
    expect(signalNames(await provider.filter(login(6, { ip: '198.51.100.77' })))).toEqual([]);
  });

  it('accounts tried and never answered are no stuffing: an address whose logins were only challenged is never blocked as a stuffer', async () => {
    // Issue 13: attack mode challenged every unfamiliar login behind a NAT, a challenged
    // login never succeeds, and "6 accounts and not one successful login" then blocked the
    // address for everyone behind it. Only answered failures are stuffing evidence now.
    const provider = make();
    for (let i = 0; i < 10; i++) await provider.log(failed({ ip: `198.51.${100 + i}.1`, user: { email: `victim${i}@example.com` } }));
    const verdicts: Verdict[] = [];
    for (let i = 0; i < 19; i++) verdicts.push(await provider.filter(login(i, { ip: '192.0.2.77' })));
    for (const verdict of verdicts) {
      expect(signalNames(verdict)).toEqual(['unfamiliar_login_during_attack']);
      expect(verdict).toMatchObject({ threatCode: 8, cap: 'challenge' });
    }
    // Accounts tried still count, as a challenge (code 5) from accountsPerIp.challenge.
    const twentieth = await provider.filter(login(19, { ip: '192.0.2.77' }));
    expect(signalNames(twentieth)).toEqual(['multiple_accounts_ip', 'unfamiliar_login_during_attack']);
    expect(twentieth.signals?.multiple_accounts_ip).toEqual({ weight: 0.6, code: 5, accounts: 20 });
    expect(twentieth.risk).toBeLessThan(0.9);
  });

  it('repeated failures on one account are one failed account, not many', async () => {
    const provider = make();
    for (let i = 0; i < 4; i++) await provider.log(failed({ user: { email: 'same@example.com' } }));
    expect(signalNames(await provider.filter(login(1)))).toEqual([]);
  });

  it('usernames and phones are accounts too', async () => {
    const provider = make();
    for (let i = 0; i < 3; i++) await provider.log(failed({ user: { username: `name${i}` } }));
    for (let i = 0; i < 2; i++) await provider.log(failed({ user: { phone: `+1 555 010 000${i}` } }));
    expect(signalNames(await provider.filter(ev({ user: { username: 'another' } })))).toEqual(['credential_stuffing']);
  });

  it('20 distinct accounts tried from one IP → multiple_accounts_ip, code 5 (a challenge: shared NATs stay usable); 60 → code 10 at full weight', async () => {
    const provider = make({ limits: { attemptsPerIp: { $login: { challenge: 1000, block: 2000 } } } });
    for (let i = 0; i < 19; i++) expect(signalNames(await provider.filter(login(i)))).toEqual([]);
    const verdict = await provider.filter(login(19));
    expect(verdict).toMatchObject({ threatCode: 5, risk: 0.6 });
    expect(verdict.signals).toEqual({ multiple_accounts_ip: { weight: 0.6, code: 5, accounts: 20 } });
    // The same accounts again are not new accounts.
    expect((await provider.filter(login(0))).signals).toMatchObject({ multiple_accounts_ip: { accounts: 20 } });
    for (let i = 20; i < 59; i++) expect((await provider.filter(login(i))).threatCode).toBe(5);
    const sixtieth = await provider.filter(login(59));
    expect(sixtieth).toMatchObject({ threatCode: 10, risk: 0.9 });
    expect(sixtieth.signals).toEqual({ multiple_accounts_ip: { weight: 0.9, code: 10, accounts: 60 } });
    // The people an address has shown lift it: one success (a household of 4 → × 1.25) moves the challenge to 25.
    const shared = make({ limits: { attemptsPerIp: { $login: { challenge: 1000, block: 2000 } } } });
    await shared.log(succeeded({ user: { email: 'someone@example.com' }, deviceId: 'their-phone' }));
    for (let i = 0; i < 24; i++) expect(signalNames(await shared.filter(login(i)))).toEqual([]);
    expect((await shared.filter(login(24))).threatCode).toBe(5);
  });

  it('5 failed logins on one account across different IPs → high_activity_account, code 4, action challenge', async () => {
    const provider = make();
    const user = { email: 'victim@example.com' };
    for (let i = 1; i <= 4; i++) await provider.log(failed({ user, ip: `198.51.100.${i}` }));
    expect(signalNames(await provider.filter(ev({ user, ip: '192.0.2.50' })))).toEqual([]);
    await provider.log(failed({ user, ip: '198.51.100.5' }));
    const verdict = await provider.filter(ev({ user, ip: '192.0.2.50' }));
    expect(verdict).toMatchObject({ threatCode: 4, risk: 0.75, cap: 'challenge' });
    expect(verdict.signals).toEqual({ high_activity_account: { weight: 0.75, code: 4, accountFailures: 5 } });
    // Other accounts from that IP are not affected.
    expect(signalNames(await provider.filter(ev({ user: { email: 'bystander@example.com' }, ip: '192.0.2.50' })))).toEqual([]);
  });

  it('counts an account by its normalized identifier (case, surrounding space)', async () => {
    const provider = make();
    const spellings = ['Victim@Example.com', ' victim@example.com', 'VICTIM@EXAMPLE.COM ', 'victim@example.com', 'vIcTiM@example.com'];
    for (const [i, email] of spellings.entries()) await provider.log(failed({ user: { email }, ip: `198.51.100.${i + 1}` }));
    expect(signalNames(await provider.filter(ev({ user: { email: 'victim@example.com' }, ip: '192.0.2.1' })))).toEqual(['high_activity_account']);
  });

  it('a $succeeded log resets the account failure count', async () => {
    const provider = make();
    const user = { email: 'alice@example.com' };
    for (let i = 1; i <= 4; i++) await provider.log(failed({ user, ip: `198.51.100.${i}` }));
    await provider.log(succeeded({ user, ip: '198.51.100.9' }));
    for (let i = 1; i <= 4; i++) await provider.log(failed({ user, ip: `198.51.100.${i}` }));
    expect(signalNames(await provider.filter(ev({ user, ip: '192.0.2.1' })))).toEqual([]);
    await provider.log(failed({ user, ip: '198.51.100.5' }));
    expect(signalNames(await provider.filter(ev({ user, ip: '192.0.2.1' })))).toEqual(['high_activity_account']);
  });

  it('IPv6 clients of one /64 are counted together', async () => {
    const provider = make();
    for (let i = 0; i < 5; i++) await provider.log(failed({ ip: `2001:db8:1:2::${(i + 1).toString(16)}`, user: { email: `user${i}@example.com` } }));
    const verdict = await provider.filter(login(9, { ip: '2001:db8:1:2:ffff:ffff:ffff:fff0' }));
    expect(verdict.threatCode).toBe(10);
    const attempts = make({ limits: { attemptsPerIp: { $login: { challenge: 3, block: 10 } } } });
    for (let i = 1; i <= 2; i++) await attempts.filter(ev({ ip: `2001:db8:1:2::${i}` }));
    expect((await attempts.filter(ev({ ip: '2001:db8:1:2:abcd::1' }))).threatCode).toBe(5);
  });

  it('IPv6 clients of different /64s are counted apart', async () => {
    const provider = make();
    for (let i = 0; i < 5; i++) await provider.log(failed({ ip: `2001:db8:1:${i}::1`, user: { email: `user${i}@example.com` } }));
    for (let i = 0; i < 5; i++) expect(signalNames(await provider.filter(login(9, { ip: `2001:db8:1:${i}::2` })))).toEqual([]);
  });

  it('an IPv4-mapped IPv6 client is counted with its IPv4 address', async () => {
    const provider = make();
    for (let i = 0; i < 5; i++) await provider.log(failed({ ip: '::ffff:203.0.113.10', user: { email: `user${i}@example.com` } }));
    expect((await provider.filter(login(9, { ip: '203.0.113.10' }))).threatCode).toBe(10);
  });

  it('windows slide: counts hold within the window and are gone after 2 × windowMs', async () => {
    const provider = make();
    const victim = { email: 'victim@example.com' };
    for (let i = 0; i < 5; i++) await provider.log(failed({ user: { email: `user${i}@example.com` } }));
    for (let i = 1; i <= 5; i++) await provider.log(failed({ user: victim, ip: `198.51.100.${i}` }));
    for (let i = 0; i < 19; i++) await provider.filter(login(100 + i));
    expect(signalNames(await provider.filter(login(200, { t: T0 + W / 2 })))).toEqual(['credential_stuffing', 'multiple_accounts_ip']);
    expect(signalNames(await provider.filter(ev({ user: victim, ip: '192.0.2.1', t: T0 + W / 2 })))).toContain('high_activity_account');
    const later = T0 + 2 * W;
    expect(signalNames(await provider.filter(login(300, { t: later })))).toEqual([]);
    expect(signalNames(await provider.filter(ev({ user: victim, ip: '192.0.2.1', t: later })))).toEqual([]);
  });

  it('limits and windowMs are configurable', async () => {
    const provider = make({ limits: { windowMs: 60_000, failedAccountsPerIp: 2, failedLoginsPerAccount: 2, accountsPerIp: { challenge: 3, block: 4 } } });
    await provider.log(failed({ user: { email: 'a@example.com' } }));
    await provider.log(failed({ user: { email: 'b@example.com' } }));
    expect((await provider.filter(login(1))).threatCode).toBe(10);
    expect(signalNames(await provider.filter(login(1, { t: T0 + 2 * 60_000 })))).toEqual([]);
  });

  it('the strongest signal gives the code: stuffing (10) over many accounts (5), the range and attack mode (capped)', async () => {
    const provider = make();
    for (let i = 0; i < 19; i++) {
      await provider.filter(login(i));
      await provider.log(failed({ user: { email: `user${i}@example.com` } }));
    }
    const verdict = await provider.filter(login(19));
    expect(signalNames(verdict).sort()).toEqual(['credential_stuffing', 'credential_stuffing_range', 'failed_logins_ip', 'multiple_accounts_ip', 'unfamiliar_login_during_attack']);
    expect(verdict.threatCode).toBe(10);
    expect(verdict.cap).toBeUndefined();
    expect(verdict.risk).toBeGreaterThan(0.99);
    expect(verdict.reasons).toHaveLength(5);
  });
});

describe('localProvider: IP lists', () => {
  it('denyIps → action deny, risk 1', async () => {
    const provider = make({ denyIps: ['198.51.100.0/24', '2001:db8:bad::/48'] });
    const verdict = await provider.filter(ev({ ip: '198.51.100.9' }));
    expect(verdict).toMatchObject({ action: 'deny', risk: 1 });
    expect(signalNames(verdict)).toEqual(['ip_denylisted']);
    expect(verdict.reasons).toEqual(['IP 198.51.100.9 is on the deny list']);
    expect((await provider.filter(ev({ ip: '2001:db8:bad:1::1' }))).action).toBe('deny');
    expect((await provider.filter(ev({ ip: '198.51.101.9' }))).action).toBeUndefined();
    expect((await provider.risk(ev({ ip: '198.51.100.9', user: { id: 'u1' } }))).action).toBe('deny');
  });

  it('allowIps skip the velocity signals (counters are neither read nor written)', async () => {
    const provider = make({ allowIps: ['192.0.2.0/24'], limits: { attemptsPerIp: { $login: { challenge: 2, block: 3 } } } });
    for (let i = 0; i < 10; i++) {
      await provider.filter(ev({ ip: '192.0.2.5', user: { email: `user${i}@example.com` } }));
      await provider.log(failed({ ip: '192.0.2.5', user: { email: `user${i}@example.com` } }));
    }
    for (let i = 0; i < 25; i++) await provider.filter(ev({ ip: '192.0.2.5', user: { email: `other${i}@example.com` } }));
    expect(await provider.filter(ev({ ip: '192.0.2.5', user: { email: 'x@example.com' } }))).toEqual({ ...CLEAN, memo: expect.anything() });
    // Nothing was written either: a non-allowlisted IP in the same store starts from zero.
    expect(signalNames(await provider.filter(ev({ ip: '192.0.2.5' })))).toEqual([]);
    // Other IPs are still counted.
    for (let i = 0; i < 2; i++) await provider.filter(ev({ ip: '203.0.113.1' }));
    expect((await provider.filter(ev({ ip: '203.0.113.1' }))).threatCode).toBe(6);
  });

  it('allowIps do not skip the request signals (declared automation stays visible)', async () => {
    const provider = make({ allowIps: ['192.0.2.0/24'] });
    expect(signalNames(await provider.filter(ev({ ip: '192.0.2.5', ua: 'curl/8.0' })))).toEqual(['http_client_library']);
  });

  it('datacenterRanges → datacenter_ip, code 13', async () => {
    const provider = make({ datacenterRanges: ['203.0.113.0/24', '2001:db8:dc::/48'] });
    const verdict = await provider.filter(ev({ ip: '203.0.113.10' }));
    expect(verdict).toMatchObject({ threatCode: 13, risk: 0.6 });
    expect(verdict.signals).toEqual({ datacenter_ip: { weight: 0.6, code: 13 } });
    expect(verdict.cap).toBeUndefined();
    expect((await provider.filter(ev({ ip: '2001:db8:dc:7::1' }))).threatCode).toBe(13);
    expect((await provider.filter(ev({ ip: '198.51.100.1' }))).threatCode).toBeUndefined();
  });

  it('proxyRanges → proxy_ip, code 15', async () => {
    const provider = make({ proxyRanges: ['198.51.100.0/24'] });
    const verdict = await provider.filter(ev({ ip: '198.51.100.200' }));
    expect(verdict).toMatchObject({ threatCode: 15, risk: 0.6 });
    expect(signalNames(verdict)).toEqual(['proxy_ip']);
  });

  it('datacenterRangesFile and proxyRangesFile load from files, alone or with a list', async () => {
    const dcFile = join(dir, 'dc.txt');
    writeFileSync(dcFile, '# cloud\n203.0.113.0/24\n2001:db8:dc::/48\n');
    const proxyFile = join(dir, 'proxy.txt');
    writeFileSync(proxyFile, '198.51.100.0/24\n');
    const provider = make({ datacenterRangesFile: dcFile, datacenterRanges: ['192.0.2.0/24'], proxyRangesFile: proxyFile });
    expect((await provider.filter(ev({ ip: '203.0.113.99' }))).threatCode).toBe(13);
    expect((await provider.filter(ev({ ip: '2001:db8:dc::1' }))).threatCode).toBe(13);
    expect((await provider.filter(ev({ ip: '192.0.2.1' }))).threatCode).toBe(13);
    expect((await provider.filter(ev({ ip: '198.51.100.1' }))).threatCode).toBe(15);
    expect((await provider.filter(ev({ ip: '8.8.8.8' }))).threatCode).toBeUndefined();
  });

  it('a data-center IP that is also a proxy: both signals, noisy-OR risk', async () => {
    const verdict = await make({ datacenterRanges: ['203.0.113.0/24'], proxyRanges: ['203.0.113.10'] }).filter(ev());
    expect(verdict.risk).toBe(0.84);
    expect(signalNames(verdict)).toEqual(['datacenter_ip', 'proxy_ip']);
  });

  it('no IP → no IP signals', async () => {
    expect(await make({ denyIps: ['0.0.0.0/0', '::/0'], datacenterRanges: ['0.0.0.0/0'] }).filter(ev({ ip: undefined }))).toEqual(CLEAN);
  });
});

describe('localProvider: email', () => {
  it('a disposable domain weighs high at $registration', async () => {
    const verdict = await make().filter(ev({ type: '$registration', user: { email: 'bot@mailinator.com' } }));
    expect(verdict.risk).toBe(0.95);
    expect(verdict.signals).toEqual({ disposable_email_domain: { weight: 0.95 } });
    expect(verdict.threatCode).toBeUndefined();
  });

  it('a disposable domain weighs low on other events', async () => {
    for (const type of ['$login', '$password_reset_request'] as const) {
      expect((await make().filter(ev({ type, user: { email: 'bot@mailinator.com' } }))).signals).toEqual({ disposable_email_domain: { weight: 0.2 } });
    }
  });

  it('invalid syntax: invalid_email, high at $registration, low otherwise', async () => {
    expect((await make().filter(ev({ type: '$registration', user: { email: 'not-an-email' } }))).signals).toEqual({ invalid_email: { weight: 0.7 } });
    expect((await make().filter(ev({ type: '$login', user: { email: 'alice@localhost' } }))).signals).toEqual({ invalid_email: { weight: 0.2 } });
  });

  it('a valid ordinary address raises nothing, nor one with surrounding space (phone keyboards add one)', async () => {
    expect((await make().filter(ev({ type: '$registration', user: { email: 'alice@example.com' } }))).risk).toBe(0);
    expect((await make().filter(ev({ type: '$registration', user: { email: 'alice@example.com ' } }))).risk).toBe(0);
    expect(signalNames(await make().filter(ev({ type: '$registration', user: { email: ' bot@mailinator.com ' } })))).toEqual(['disposable_email_domain']);
  });

  it('configured weights apply; below the login cap they stay as given', async () => {
    const provider = make({ weights: { disposable_email_domain: 0.1, invalid_email: 0 } });
    expect((await provider.filter(ev({ user: { email: 'bot@mailinator.com' } }))).risk).toBe(0.1);
    expect((await provider.filter(ev({ type: '$registration', user: { email: 'bot@mailinator.com' } }))).risk).toBe(0.1);
    expect((await provider.filter(ev({ type: '$registration', user: { email: 'nope' } }))).risk).toBe(0);
  });
});

describe('localProvider: identity', () => {
  beforeEach(() => {
    // Admin operations (blockUser, reportDevice...) stamp their TTLs with Date.now(): pin it.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('blockUser → deny for that user id in risk events; other users and pre-auth events unaffected', async () => {
    const provider = make();
    await provider.blockUser('user-42', { reason: 'fraud' });
    const verdict = await provider.risk(ev({ user: { id: 'user-42', email: 'alice@example.com' } }));
    expect(verdict).toMatchObject({ action: 'deny', risk: 1 });
    expect(signalNames(verdict)).toEqual(['blocked_user']);
    expect(verdict.reasons).toEqual(['the user is blocked']);
    expect((await provider.risk(ev({ user: { id: 'user-43' } }))).action).toBeUndefined();
    expect((await provider.filter(ev({ user: { email: 'alice@example.com' } }))).action).toBeUndefined();
  });

  it('unblockUser lifts the block', async () => {
    const provider = make();
    await provider.blockUser('user-42');
    await provider.unblockUser('user-42');
    expect((await provider.risk(ev({ user: { id: 'user-42' } }))).action).toBeUndefined();
  });

  it('blockUser with ttlMs expires', async () => {
    const provider = make();
    await provider.blockUser('user-42', { ttlMs: 60_000 });
    expect((await provider.risk(ev({ user: { id: 'user-42' }, t: T0 + 59_999 }))).action).toBe('deny');
    expect((await provider.risk(ev({ user: { id: 'user-42' }, t: T0 + 60_000 }))).action).toBeUndefined();
  });

  it('reportDevice → deny for events with that deviceId, for a while with ttlMs', async () => {
    const provider = make();
    await provider.reportDevice('dev-bad');
    const verdict = await provider.filter(ev({ deviceId: 'dev-bad' }));
    expect(verdict).toMatchObject({ action: 'deny', risk: 1 });
    expect(signalNames(verdict)).toEqual(['reported_device']);
    expect((await provider.filter(ev({ deviceId: 'dev-good' }))).action).toBeUndefined();
    expect((await provider.filter(ev())).action).toBeUndefined();
    await provider.reportDevice('dev-brief', { ttlMs: 1000 });
    expect((await provider.filter(ev({ deviceId: 'dev-brief', t: T0 + 999 }))).action).toBe('deny');
    expect((await provider.filter(ev({ deviceId: 'dev-brief', t: T0 + 1000 }))).action).toBeUndefined();
  });

  it('approveDevice lowers the risk of that device and says so', async () => {
    const provider = make({ datacenterRanges: ['203.0.113.0/24'], proxyRanges: ['203.0.113.0/24'] });
    expect((await provider.filter(ev({ deviceId: 'dev-1' }))).risk).toBe(0.84);
    await provider.approveDevice('dev-1');
    const verdict = await provider.filter(ev({ deviceId: 'dev-1' }));
    expect(verdict.risk).toBe(0.42);
    expect(verdict.signals).toMatchObject({ approved_device: { weight: 0.5 } });
    expect(verdict.reasons).toContain('the device was approved by its user');
    expect((await provider.filter(ev({ deviceId: 'dev-2' }))).risk).toBe(0.84);
    // With nothing else, an approved device is still risk 0.
    expect((await make().filter(ev({ deviceId: 'dev-1' }))).risk).toBe(0);
  });

  // FAILS with the engine as of 378077a: the approvedDevice read belongs to the 'new device'
  // rule only (engine/rules.ts), so a weight of 0 for new_device drops it from the batch and
  // approveDevice() silently stops lowering risk. approved_device is a knob of its own.
  it('approveDevice still lowers the risk when new_device is turned off (approved_device is a knob of its own)', async () => {
    const provider = make({ datacenterRanges: ['203.0.113.0/24'], proxyRanges: ['203.0.113.0/24'], weights: { new_device: 0 } });
    await provider.approveDevice('dev-1');
    const verdict = await provider.filter(ev({ deviceId: 'dev-1' }));
    expect(verdict.risk).toBe(0.42);
    expect(verdict.signals).toMatchObject({ approved_device: { weight: 0.5 } });
    // And approved_device: 0 is what turns approval off.
    const off = make({ datacenterRanges: ['203.0.113.0/24'], proxyRanges: ['203.0.113.0/24'], weights: { approved_device: 0 } });
    await off.approveDevice('dev-1');
    expect((await off.filter(ev({ deviceId: 'dev-1' }))).risk).toBe(0.84);
  });

  it('reporting an approved device withdraws the approval, and approving a reported one lifts the report', async () => {
    const provider = make();
    await provider.approveDevice('dev-1');
    await provider.reportDevice('dev-1');
    let verdict = await provider.filter(ev({ deviceId: 'dev-1' }));
    expect(verdict.action).toBe('deny');
    expect(signalNames(verdict)).not.toContain('approved_device');
    await provider.approveDevice('dev-1');
    verdict = await provider.filter(ev({ deviceId: 'dev-1' }));
    expect(verdict.action).toBeUndefined();
    expect(signalNames(verdict)).toEqual(['approved_device']);
  });

  it('an approved device does not lift a block', async () => {
    const provider = make();
    await provider.approveDevice('dev-1');
    await provider.blockUser('user-1');
    expect((await provider.risk(ev({ user: { id: 'user-1' }, deviceId: 'dev-1' }))).action).toBe('deny');
  });

  it('rejects empty ids and bad TTLs', async () => {
    const provider = make();
    await expect(provider.blockUser('')).rejects.toThrow(TypeError);
    await expect(provider.unblockUser(undefined as unknown as string)).rejects.toThrow(/userId/);
    await expect(provider.reportDevice('')).rejects.toThrow(/deviceId/);
    await expect(provider.approveDevice(42 as unknown as string)).rejects.toThrow(TypeError);
    for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '60000' as unknown as number]) {
      await expect(provider.blockUser('user-1', { ttlMs }), String(ttlMs)).rejects.toThrow(RangeError);
      await expect(provider.reportDevice('dev-1', { ttlMs }), String(ttlMs)).rejects.toThrow(RangeError);
    }
    // Nothing was written.
    expect((await provider.risk(ev({ user: { id: 'user-1' }, deviceId: 'dev-1' }))).action).toBeUndefined();
  });
});

describe('localProvider: store failure', () => {
  const cause = new Error('ECONNREFUSED');
  const rejecting: Store = { name: 'broken', execute: async () => Promise.reject(cause) };
  const throwing: Store = {
    name: 'broken-sync',
    execute: () => {
      throw cause;
    },
  };

  it.each([
    ['rejects', rejecting],
    ['throws', throwing],
  ])('a store that %s → filter, risk and log reject with VigilStoreError (failoverReason "store error")', async (_, store) => {
    const provider = localProvider({ store });
    for (const call of [() => provider.filter(ev()), () => provider.risk(ev({ user: { id: 'u1' } })), () => provider.log(failed())]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(VigilStoreError);
      expect((error as VigilStoreError).failoverReason).toBe('store error');
      expect((error as VigilStoreError).cause).toBe(cause);
      expect((error as Error).message).toBe('Vigil store failed');
    }
    await expect(provider.blockUser('u1')).rejects.toBeInstanceOf(VigilStoreError);
  });
});

describe('localProvider: identifiers are never stored raw', () => {
  function spyStore() {
    const memory = memoryStore();
    const seen: string[] = [];
    const store: Store = {
      name: 'spy',
      async execute(ops: readonly StoreOp[], now?: number): Promise<StoreResult[]> {
        for (const op of ops) {
          seen.push(op.key);
          if ('member' in op && op.member !== undefined) seen.push(op.member);
          if ('value' in op) seen.push(op.value);
        }
        return memory.execute(ops, now);
      },
    };
    return { store, seen };
  }

  it('no email, username or phone appears in any key, member or value', async () => {
    const { store, seen } = spyStore();
    const provider = localProvider({ store, secret: SECRET });
    const users: UserIdentity[] = [
      { email: 'Alice.Liddell@Example.com' },
      { email: 'bob@example.org' },
      { username: 'carol_the_admin' },
      { phone: '+1 (555) 010-9999' },
      { email: 'dave@example.net', username: 'dave99', phone: '+44 20 7946 0958', id: 'user-dave' },
    ];
    for (const [i, user] of users.entries()) {
      for (const type of ['$login', '$registration', '$password_reset_request'] as const) await provider.filter(ev({ type, user }));
      await provider.risk(ev({ user: { ...user, id: user.id ?? 'user-x' } }));
      await provider.log(failed({ user }));
      await provider.log(failed({ user, ip: '2001:db8::1' }));
      await provider.log(succeeded({ user }));
      // With Vigil's device cookie: presented, and issued on the request; on every path
      // that keys by device (per-device scopes, familiarity, device lists, mistyped emails).
      const device = `dev-${i}`;
      for (const type of ['$login', '$registration', '$password_reset_request'] as const) await provider.filter(ev({ type, user, deviceId: device }));
      const attempt = ev({ user, deviceId: device, ip: '198.51.100.7' });
      await provider.filter(attempt);
      await provider.log({ ...attempt, status: '$failed' });
      await provider.log(succeeded({ user, deviceId: device, ip: '198.51.100.7' }));
      await provider.log({ ...ev({ user, deviceId: `fresh-${i}`, ip: '198.51.100.8' }), deviceFresh: true, status: '$succeeded' });
      await provider.log(ev({ type: '$registration', status: '$succeeded', user, deviceId: `fresh-${i}`, ip: '198.51.100.9' }));
    }
    expect(seen.length).toBeGreaterThan(200);
    const haystack = seen.join('\n').toLowerCase();
    const needles = ['alice.liddell', 'liddell', 'example.com', 'bob@', 'example.org', 'carol_the_admin', '5550109999', '555) 010', '0109999', 'dave@', 'dave99', '2079460958', '7946 0958', 'example.net'];
    for (const needle of needles) expect(haystack, needle).not.toContain(needle);
    // The per-account keys are there, by hash: failures, familiarity, pending failures, device lists.
    const HASH = '[A-Za-z0-9_-]{22}';
    for (const shape of [`^v:acct:${HASH}:fail$`, `^k:${HASH}$`, `^p:ip:203\\.0\\.113\\.10:${HASH}$`, `^p:dev:dev-0:${HASH}$`, `^d:user:${HASH}$`, `^v:mbox:${HASH}:signup$`]) {
      expect(seen.some((k) => new RegExp(shape).test(k)), shape).toBe(true);
    }
    // Device-keyed evidence is keyed by the device id, never by who used it.
    expect(seen.some((k) => k === 'v:dev:dev-0:acct')).toBe(true);
    expect(seen.some((k) => k === 'v:dev:dev-0:net')).toBe(true);
  });

  it('the same secret keys an account the same way in two providers (a fleet on one store agrees)', async () => {
    const store = memoryStore();
    const a = localProvider({ store, secret: SECRET });
    const b = localProvider({ store, secret: SECRET });
    const user = { email: 'victim@example.com' };
    for (let i = 1; i <= 5; i++) await (i % 2 ? a : b).log(failed({ user, ip: `198.51.100.${i}` }));
    expect(signalNames(await b.filter(ev({ user, ip: '192.0.2.1' })))).toEqual(['high_activity_account']);
    // Another secret sees other keys.
    const c = localProvider({ store, secret: `${SECRET}-other` });
    expect(signalNames(await c.filter(ev({ user, ip: '192.0.2.1' })))).toEqual([]);
  });
});

describe('localProvider: bad options → VigilConfigError', () => {
  it.each([
    [{ denyIp: ['10.0.0.0/8'] }, 'VIGIL_E_UNKNOWN_OPTION', 'denyIp', /Did you mean "denyIps"/],
    [{ requireSecfetch: false }, 'VIGIL_E_UNKNOWN_OPTION', 'requireSecfetch', /Did you mean "requireSecFetch"/],
    [{ weights: { datacenter_ip: 1.5 } }, 'VIGIL_E_OPTION_VALUE', 'weights.datacenter_ip', /not a number from 0 to 1/],
    [{ weights: { proxy_ip: -0.1 } }, 'VIGIL_E_OPTION_VALUE', 'weights.proxy_ip', /not a number from 0 to 1/],
    [{ weights: { proxy_ip: Number.NaN } }, 'VIGIL_E_OPTION_VALUE', 'weights.proxy_ip', /NaN/],
    [{ weights: { proxy_ip: '0.5' } }, 'VIGIL_E_OPTION_VALUE', 'weights.proxy_ip', /"0.5"/],
    [{ weights: { datacenterip: 0.5 } }, 'VIGIL_E_UNKNOWN_OPTION', 'weights.datacenterip', /Did you mean "weights.datacenter_ip"/],
    [{ weights: 0.5 }, 'VIGIL_E_OPTION_TYPE', 'weights', /not an object/],
    [{ limits: { failedLoginsPerIp: { challenge: 10, block: 10 } } }, 'VIGIL_E_OPTION_VALUE', 'limits.failedLoginsPerIp', /challenge < block/],
    [{ limits: { failedLoginsPerIp: { challenge: 50, block: 40 } } }, 'VIGIL_E_OPTION_VALUE', 'limits.failedLoginsPerIp', /challenge < block/],
    [{ limits: { attemptsPerIp: { $login: { challenge: 100, block: 30 } } } }, 'VIGIL_E_OPTION_VALUE', 'limits.attemptsPerIp.$login', /challenge < block/],
    [{ limits: { attemptsPerIp: { default: { challenge: 0, block: 5 } } } }, 'VIGIL_E_OPTION_VALUE', 'limits.attemptsPerIp.default', /whole numbers/],
    [{ limits: { attemptsPerIp: { $login: { challenge: 30 } } } }, 'VIGIL_E_OPTION_VALUE', 'limits.attemptsPerIp.$login', /challenge, block/],
    [{ limits: { attemptsPerIp: { $signin: { challenge: 3, block: 5 } } } }, 'VIGIL_E_UNKNOWN_OPTION', 'limits.attemptsPerIp.$signin', /\$login/],
    [{ limits: { attemptsPerIp: 30 } }, 'VIGIL_E_OPTION_TYPE', 'limits.attemptsPerIp', /not an object/],
    [{ limits: { windowMs: 10 } }, 'VIGIL_E_OPTION_VALUE', 'limits.windowMs', /≥ 1000/],
    [{ limits: { accountsPerIp: 0 } }, 'VIGIL_E_OPTION_VALUE', 'limits.accountsPerIp', /challenge, block/],
    [{ limits: { accountsPerIp: 20 } }, 'VIGIL_E_OPTION_VALUE', 'limits.accountsPerIp', /challenge < block/],
    [{ limits: { accountsPerIp: { challenge: 20, block: 60, extra: 1 } } }, 'VIGIL_E_UNKNOWN_OPTION', 'limits.accountsPerIp.extra', /challenge, block/],
    [{ limits: { accountsPerIpWithoutSuccess: 6 } }, 'VIGIL_E_UNKNOWN_OPTION', 'limits.accountsPerIpWithoutSuccess', /limits/],
    [{ limits: { accountsPerDevice: { challenge: 6, block: 6 } } }, 'VIGIL_E_OPTION_VALUE', 'limits.accountsPerDevice', /challenge < block/],
    [{ limits: { failedAccountsPerRange: 0 } }, 'VIGIL_E_OPTION_VALUE', 'limits.failedAccountsPerRange', /positive whole number/],
    [{ limits: { failedAccountsPerDevice: 1.5 } }, 'VIGIL_E_OPTION_VALUE', 'limits.failedAccountsPerDevice', /positive whole number/],
    [{ limits: { networksPerDevice: -1 } }, 'VIGIL_E_OPTION_VALUE', 'limits.networksPerDevice', /positive whole number/],
    [{ limits: { networksPerAccount: 0 } }, 'VIGIL_E_OPTION_VALUE', 'limits.networksPerAccount', /positive whole number/],
    [{ limits: { householdSize: 0 } }, 'VIGIL_E_OPTION_VALUE', 'limits.householdSize', /positive whole number/],
    [{ limits: { maxPopulationScale: 0.5 } }, 'VIGIL_E_OPTION_VALUE', 'limits.maxPopulationScale', /positive whole number/],
    [{ limits: { maxSignupScale: 0 } }, 'VIGIL_E_OPTION_VALUE', 'limits.maxSignupScale', /positive whole number/],
    [{ limits: { attackFailureRatio: 1.5 } }, 'VIGIL_E_OPTION_VALUE', 'limits.attackFailureRatio', /ratio from 0 to 1/],
    [{ limits: { populationWindowMs: 1000 } }, 'VIGIL_E_OPTION_VALUE', 'limits.populationWindowMs', /≥ 60000/],
    [{ weights: { multiple_networks_account: 2 } }, 'VIGIL_E_OPTION_VALUE', 'weights.multiple_networks_account', /not a number from 0 to 1/],
    [{ limits: { failedLoginsPerAccount: 2.5 } }, 'VIGIL_E_OPTION_VALUE', 'limits.failedLoginsPerAccount', /positive whole number/],
    [{ limits: { failedAcountsPerIp: 5 } }, 'VIGIL_E_UNKNOWN_OPTION', 'limits.failedAcountsPerIp', /Did you mean "limits.failedAccountsPerIp"/],
    [{ limits: 'strict' }, 'VIGIL_E_OPTION_TYPE', 'limits', /not an object/],
    [{ store: {} }, 'VIGIL_E_OPTION_TYPE', 'store', /execute\(\)/],
    [{ requireSecFetch: 'no' }, 'VIGIL_E_OPTION_VALUE', 'requireSecFetch', /not 'auto', true or false/],
    [{ denyIps: ['10.0.0.0/8', '10.0.0.0/33'] }, 'VIGIL_E_OPTION_VALUE', 'denyIps[1]', /not an IP address or a CIDR range/],
    [{ allowIps: '192.0.2.0/24' }, 'VIGIL_E_OPTION_TYPE', 'allowIps', /not an array/],
    [{ datacenterRanges: ['bogus'] }, 'VIGIL_E_OPTION_VALUE', 'datacenterRanges[0]', /bogus/],
    [{ proxyRangesFile: '' }, 'VIGIL_E_OPTION_TYPE', 'proxyRangesFile', /not a file path/],
    [{ datacenterRangesFile: '/nonexistent/vigil/ranges.txt' }, 'VIGIL_E_OPTION_VALUE', 'datacenterRangesFile', /ENOENT/],
  ] as [LocalProviderOptions, string, string, RegExp][])('%j → %s at %s', (options, code, option, message) => {
    const error = configError(() => localProvider(options));
    expect(error.code).toBe(code);
    expect(error.option).toBe(option);
    expect(error.message).toContain(option);
    expect(error.message).toMatch(message);
  });

  it('a bad line in a range file names the file and line', () => {
    const path = join(dir, 'bad-ranges.txt');
    writeFileSync(path, '203.0.113.0/24\n\nnot-a-range\n');
    const error = configError(() => localProvider({ proxyRangesFile: path }));
    expect(error.option).toBe(`proxyRangesFile (${path}:3)`);
  });

  it.each([null, 'options', 42])('options %j → VIGIL_E_OPTION_TYPE', (options) => {
    expect(configError(() => localProvider(options as unknown as LocalProviderOptions)).code).toBe('VIGIL_E_OPTION_TYPE');
  });

  it.each(['hunter2-short', 'x', ''])('a short secret (%j) is refused, and the error never shows it', (secret) => {
    const error = configError(() => localProvider({ secret }));
    expect(error.code).toBe('VIGIL_E_OPTION_VALUE');
    expect(error.option).toBe('secret');
    expect(error.message).toMatch(/at least 16 characters/);
    if (secret.length > 0) expect(error.message).not.toContain(secret);
    expect(error.value).not.toBe(secret);
    expect(JSON.stringify(error)).not.toContain(secret || '\u0000');
  });

  it('a non-string secret is refused without being shown', () => {
    const error = configError(() => localProvider({ secret: 1234567890123456 as unknown as string }));
    expect(error.option).toBe('secret');
    expect(error.message).not.toContain('1234567890');
  });

  it('valid options pass, and the defaults are what the README documents', () => {
    expect(() =>
      localProvider({
        secret: 'x'.repeat(16),
        weights: { datacenter_ip: 0, proxy_ip: 1 },
        limits: { windowMs: 1000, attemptsPerIp: { $login: { challenge: 1, block: 2 }, default: { challenge: 5, block: 6 } } },
        requireSecFetch: false,
        allowIps: [],
        denyIps: [],
      }),
    ).not.toThrow();
    expect(DEFAULT_WEIGHTS.missing_headers).toBe(0.7);
    expect(DEFAULT_LIMITS.attemptsPerIp.$login).toEqual({ challenge: 30, block: 100 });
    // Issue 13: the old accountsPerIpWithoutSuccess is gone; accountsPerIp has two tiers; the IP-range weights challenge on their own.
    expect(DEFAULT_LIMITS).not.toHaveProperty('accountsPerIpWithoutSuccess');
    expect(DEFAULT_LIMITS.accountsPerIp).toEqual({ challenge: 20, block: 60 });
    expect(DEFAULT_WEIGHTS).toMatchObject({ datacenter_ip: 0.6, proxy_ip: 0.6 });
    // Every limit these tests count against is a limit of the engine.
    for (const name of Object.keys(TEST_LIMITS)) expect(DEFAULT_LIMITS, name).toHaveProperty(name);
  });
});

describe('localProvider: familiar networks and attack mode', () => {
  const owner = { email: 'owner@example.com' };
  // Distributed stuffing: every attempt from a new IP, on a new account, failing.
  async function stuffingWave(provider: LocalProvider, count: number) {
    for (let i = 0; i < count; i++) {
      const spec = { user: { email: `victim${i}@example.com` }, ip: `198.51.${100 + (i >> 8)}.${i & 255}` };
      await provider.filter(ev(spec));
      await provider.log(failed(spec));
    }
  }

  it('attacks on an account do not challenge its owner on a network where they logged in before', async () => {
    const provider = make();
    await provider.log(succeeded({ user: owner, ip: '192.0.2.7' }));
    for (let i = 1; i <= 6; i++) await provider.log(failed({ user: owner, ip: `198.51.100.${i}` }));
    expect(signalNames(await provider.filter(ev({ user: owner, ip: '192.0.2.7' })))).toEqual([]);
    expect(signalNames(await provider.filter(ev({ user: owner, ip: '192.0.2.99' })))).toEqual(['high_activity_account']);
  });

  it('a wave of failing logins from unfamiliar networks turns on attack mode: unfamiliar logins are challenged, familiar ones are not', async () => {
    const provider = make({ limits: { attackMinFailures: 10 } });
    await provider.log(succeeded({ user: owner, ip: '192.0.2.7' }));
    await stuffingWave(provider, 9);
    expect(signalNames(await provider.filter(ev({ user: { email: 'new@example.com' }, ip: '192.0.2.200' })))).toEqual([]);
    await stuffingWave(provider, 10);
    const verdict = await provider.filter(ev({ user: { email: 'new@example.com' }, ip: '192.0.2.200' }));
    expect(signalNames(verdict)).toEqual(['unfamiliar_login_during_attack']);
    expect(verdict).toMatchObject({ cap: 'challenge', threatCode: 8, risk: 0.65 });
    expect(signalNames(await provider.filter(ev({ user: owner, ip: '192.0.2.7' })))).toEqual([]);
  });

  it('unfamiliar logins that mostly succeed (people on new networks) never reach attack mode', async () => {
    const provider = make();
    for (let i = 0; i < 200; i++) {
      const spec = { user: { email: `person${i}@example.com` }, ip: `192.0.2.${i % 250}` };
      if (i % 3 === 0) await provider.log(failed(spec)); // a typo...
      await provider.log(succeeded({ ...spec, ip: `198.51.100.${i % 250}` })); // ...then in, elsewhere
    }
    expect(signalNames(await provider.filter(ev({ user: { email: 'late@example.com' }, ip: '203.0.113.77' })))).toEqual([]);
  });

  it('a sign-up makes its network familiar for the first login', async () => {
    const provider = make();
    await stuffingWave(provider, 40);
    const person = { user: { email: 'fresh@example.com' }, ip: '192.0.2.50' };
    await provider.log(ev({ ...person, type: '$registration', status: '$succeeded' }));
    expect(signalNames(await provider.filter(ev(person)))).toEqual([]);
  });
});

describe('localProvider: outcomes of decided requests', () => {
  it('learning from the outcome of a request it scored skips the familiarity read (the decision remembered it)', async () => {
    const batchesOfOutcome = async (decided: boolean) => {
      const memory = new MemoryStore({ maxKeys: 1000 });
      const execute = vi.fn((ops: readonly StoreOp[], now?: number) => memory.execute(ops, now));
      const provider = localProvider({ store: { name: 'spy', execute }, secret: SECRET });
      const attempt = ev({ user: { email: 'alice@example.com' } });
      // As Vigil does: the decision's memo travels on the outcome's event.
      const memo = decided ? (await provider.filter(attempt)).memo : undefined;
      const before = execute.mock.calls.length;
      await provider.log({ ...attempt, status: '$failed', memo });
      const calls = execute.mock.calls.slice(before);
      return { count: calls.length, familiarityReads: calls.flatMap((c) => c[0]).filter((op) => op.type === 'get' && op.key.startsWith('k:')).length };
    };
    const decided = await batchesOfOutcome(true);
    const reported = await batchesOfOutcome(false);
    expect(decided.familiarityReads).toBe(0);
    expect(reported.familiarityReads).toBe(1);
    expect(decided.count).toBe(reported.count - 1);
  });
});

describe('localProvider: mailbox identity (aliases of one mailbox are one account)', () => {
  const signup = (email: string, ip: string, status: EventStatus = '$attempted', t = T0) => ev({ type: '$registration', status, user: { email }, ip, t });
  const reset = (email: string, ip = '203.0.113.10') => ev({ type: '$password_reset_request', user: { email }, ip });
  /** A provider over a store that records every key it is asked for. */
  function keySpy() {
    const seen: string[] = [];
    const memory = memoryStore();
    const store: Store = {
      name: 'spy',
      execute(ops, now) {
        for (const op of ops) seen.push(op.key);
        return memory.execute(ops, now);
      },
    };
    return { provider: localProvider({ store, secret: SECRET }), seen };
  }

  it('failures on Gmail aliases of one mailbox count for one account', async () => {
    const provider = make();
    const aliases = ['j.o.hn.doe+1@gmail.com', 'johndoe@googlemail.com', 'John.Doe@gmail.com', 'johndoe+x@gmail.com', 'j.ohndoe@googlemail.com'];
    for (const [i, email] of aliases.entries()) await provider.log(failed({ user: { email }, ip: `198.51.100.${i + 1}` }));
    expect(signalNames(await provider.filter(ev({ user: { email: 'johndoe@gmail.com' }, ip: '192.0.2.1' })))).toEqual(['high_activity_account']);
    // Another mailbox is another account.
    expect(signalNames(await provider.filter(ev({ user: { email: 'janedoe@gmail.com' }, ip: '192.0.2.1' })))).toEqual([]);
  });

  it('a success on one alias makes the network familiar for the others', async () => {
    const provider = make();
    await provider.log(succeeded({ user: { email: 'ann+work@icloud.com' }, ip: '192.0.2.7' }));
    for (let i = 1; i <= 6; i++) await provider.log(failed({ user: { email: 'ann@me.com' }, ip: `198.51.100.${i}` }));
    expect(signalNames(await provider.filter(ev({ user: { email: 'ann@mac.com' }, ip: '192.0.2.7' })))).toEqual([]);
    expect(signalNames(await provider.filter(ev({ user: { email: 'ann+x@mac.com' }, ip: '192.0.2.8' })))).toEqual(['high_activity_account']);
  });

  it('an address no alias rule applies to keys as before (stored keys stay valid)', async () => {
    const { provider, seen } = keySpy();
    await provider.log(failed({ user: { email: ' Ann.Lee+x@Example.com ' } }));
    const before = new IdentifierHasher(SECRET).hash('email', 'ann.lee+x@example.com');
    expect(seen).toContain(`v:acct:${before}:fail`);
  });

  describe('multiple_signups_mailbox', () => {
    it('the 4th account of one mailbox is refused: code 9, weight 0.95, from any IP', async () => {
      const provider = make();
      const aliases = ['j.o.hn.doe+1@gmail.com', 'johndoe@googlemail.com', 'john.doe+2@gmail.com'];
      for (const [i, email] of aliases.entries()) {
        const attempt = signup(email, `198.51.100.${i + 1}`);
        expect(signalNames(await provider.filter(attempt))).toEqual([]);
        await provider.log({ ...attempt, status: '$succeeded' });
      }
      const fourth = await provider.filter(signup('jo.hndoe+3@gmail.com', '192.0.2.99'));
      expect(signalNames(fourth)).toEqual(['multiple_signups_mailbox']);
      expect(fourth).toMatchObject({ threatCode: 9, risk: 0.95 });
      expect(fourth.signals?.multiple_signups_mailbox).toMatchObject({ weight: 0.95, code: 9, mailboxSignups: 3 });
      // Another mailbox signs up freely.
      expect(signalNames(await provider.filter(signup('janedoe@gmail.com', '192.0.2.99')))).toEqual([]);
    });

    it('counts accounts created, not attempts: failed sign-ups and repeats of one address do not count', async () => {
      const provider = make();
      for (let i = 0; i < 5; i++) await provider.log(signup('ann@outlook.com', '192.0.2.1', '$failed'));
      for (let i = 0; i < 5; i++) await provider.log(signup('ann@outlook.com', '192.0.2.1', '$succeeded'));
      await provider.log(signup('ann+b@outlook.com', '192.0.2.1', '$succeeded'));
      expect(signalNames(await provider.filter(signup('ann+c@outlook.com', '192.0.2.1')))).toEqual([]);
      await provider.log(signup('ann+c@outlook.com', '192.0.2.1', '$succeeded'));
      expect(signalNames(await provider.filter(signup('ann+d@outlook.com', '192.0.2.1')))).toEqual(['multiple_signups_mailbox']);
    });

    it('holds for signupsPerMailboxWindowMs (30 days by default), then forgets', async () => {
      const provider = make();
      for (const email of ['a+1@proton.me', 'a+2@pm.me', 'a@protonmail.com']) await provider.log(signup(email, '192.0.2.1', '$succeeded'));
      const day = 24 * 60 * 60_000;
      expect(signalNames(await provider.filter(signup('a+4@proton.me', '192.0.2.1', '$attempted', T0 + 20 * day)))).toEqual(['multiple_signups_mailbox']);
      expect(signalNames(await provider.filter(signup('a+4@proton.me', '192.0.2.1', '$attempted', T0 + 61 * day)))).toEqual([]);
    });

    it('signupsPerMailbox and the weight are configurable; a weight below the deny threshold challenges instead', async () => {
      const provider = make({ limits: { signupsPerMailbox: 1, signupsPerMailboxWindowMs: 60_000 }, weights: { multiple_signups_mailbox: 0.7 } });
      await provider.log(signup('x+1@fastmail.com', '192.0.2.1', '$succeeded'));
      const second = await provider.filter(signup('x@fastmail.com', '192.0.2.2'));
      expect(second).toMatchObject({ threatCode: 9, risk: 0.7 });
      expect(signalNames(await make({ weights: { multiple_signups_mailbox: 0 } }).filter(signup('y@fastmail.com', '192.0.2.2')))).toEqual([]);
    });

    it('is not read on logins, nor without an email', async () => {
      const { provider, seen } = keySpy();
      await provider.filter(ev({ user: { email: 'ann@gmail.com' } }));
      await provider.filter(ev({ type: '$registration', user: { username: 'ann' } }));
      expect(seen.filter((k) => k.startsWith('v:mbox:'))).toEqual([]);
    });
  });

  describe('reset_enumeration', () => {
    it('distinct accounts asking a reset from one IP: a challenge (code 8, capped) from 4, refused (code 8, 0.95) from 10', async () => {
      const provider = make({ limits: { attemptsPerIp: { $password_reset_request: { challenge: 1000, block: 2000 } } } });
      const verdicts: Verdict[] = [];
      for (let i = 1; i <= 10; i++) verdicts.push(await provider.filter(reset(`person${i}@example.com`)));
      for (const v of verdicts.slice(0, 3)) expect(signalNames(v)).toEqual([]);
      for (const v of verdicts.slice(3, 9)) {
        expect(signalNames(v)).toEqual(['reset_enumeration']);
        expect(v).toMatchObject({ cap: 'challenge', threatCode: 8, risk: 0.7 });
      }
      const tenth = verdicts[9] as Verdict;
      expect(tenth).toMatchObject({ threatCode: 8, risk: 0.95 });
      expect(tenth.action).toBeUndefined();
      expect(tenth.cap).toBeUndefined();
      expect(tenth.signals?.reset_enumeration).toMatchObject({ resetAccounts: 10 });
    });

    it('one person asking again and again, through aliases too, is one account', async () => {
      const provider = make();
      for (const email of ['ann@gmail.com', 'a.nn@gmail.com', 'ann+reset@googlemail.com', 'ANN@gmail.com']) {
        expect(signalNames(await provider.filter(reset(email)))).toEqual([]);
      }
    });

    it('each IP counts apart; allowIps skip it', async () => {
      const provider = make({ allowIps: ['192.0.2.0/24'] });
      for (let i = 1; i <= 12; i++) {
        expect(signalNames(await provider.filter(reset(`p${i}@example.com`, `198.51.100.${i}`)))).toEqual([]);
        expect(signalNames(await provider.filter(reset(`q${i}@example.com`, '192.0.2.5')))).toEqual([]);
      }
    });

    it('resetAccountsPerIp is configurable', async () => {
      const provider = make({ limits: { resetAccountsPerIp: { challenge: 2, block: 3 } } });
      await provider.filter(reset('a@example.com'));
      expect(await provider.filter(reset('b@example.com'))).toMatchObject({ cap: 'challenge', threatCode: 8 });
      expect(await provider.filter(reset('c@example.com'))).toMatchObject({ threatCode: 8, risk: 0.95 });
    });
  });

  it('a failed store names both signals among the degraded ones', async () => {
    const provider = localProvider({ store: { name: 'broken', execute: async () => Promise.reject(new Error('down')) } });
    const errorOf = (event: ProviderEvent) => provider.filter(event).then(() => undefined, (e: unknown) => e as VigilStoreError);
    expect((await errorOf(signup('ann@gmail.com', '192.0.2.1')))?.verdict?.degraded).toContain('multiple_signups_mailbox');
    expect((await errorOf(reset('ann@gmail.com')))?.verdict?.degraded).toContain('reset_enumeration');
  });

  it.each([
    [{ signupsPerMailbox: 0 }, 'limits.signupsPerMailbox', /positive whole number/],
    [{ signupsPerMailbox: 2.5 }, 'limits.signupsPerMailbox', /positive whole number/],
    [{ signupsPerMailboxWindowMs: 10 }, 'limits.signupsPerMailboxWindowMs', /≥ 60000/],
    [{ resetAccountsPerIp: { challenge: 10, block: 4 } }, 'limits.resetAccountsPerIp', /challenge < block/],
    [{ resetAccountsPerIp: 5 }, 'limits.resetAccountsPerIp', /challenge, block/],
  ] as [LocalProviderOptions['limits'], string, RegExp][])('limits %j → VIGIL_E_OPTION_VALUE at %s', (limits, option, message) => {
    const error = configError(() => localProvider({ limits }));
    expect(error.code).toBe('VIGIL_E_OPTION_VALUE');
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
  });

  it('the defaults are what the README documents', () => {
    expect(DEFAULT_LIMITS).toMatchObject({ signupsPerMailbox: 3, signupsPerMailboxWindowMs: 30 * 24 * 60 * 60_000, resetAccountsPerIp: { challenge: 4, block: 10 } });
    expect(DEFAULT_WEIGHTS).toMatchObject({ multiple_signups_mailbox: 0.95, reset_enumeration: 0.95 });
  });
});
