// Unit tests of the embedded engine's rules (engine/rules.ts), one by name, through
// createEngine over a real MemoryStore (a spy records the batches and delegates). Every
// number that matters is passed explicitly (LIMITS, WEIGHTS below): tuning the defaults
// in engine/config.ts must not break these; the last block pins the documented defaults.
import { describe, expect, it } from 'vitest';
import type { ScrubbedHeaders } from '../context/headers.js';
import { applyPolicy, compileThresholds } from '../decision/policy.js';
import { compileThreatCodes } from '../decision/threat-codes.js';
import type { EventStatus, EventType } from '../events.js';
import type { ProviderEvent, Verdict } from '../providers/types.js';
import type { UserIdentity } from '../routing/routes.js';
import { MemoryStore } from '../stores/memory.js';
import type { StoreOp } from '../stores/types.js';
import { compileLimits, compileWeights, DEFAULT_LIMITS, DEFAULT_WEIGHTS, type LimitOptions } from './config.js';
import { createEngine, type Engine } from './engine.js';
import { IdentifierHasher } from './identifiers.js';
import { IpRangeSet } from './ip-ranges.js';
import { KEYS } from './keys.js';
import { RULES } from './rules.js';
import type { SignalName } from './signals.js';

const SECRET = 'rules-test-secret-0123456789abcdef';
const MIN = 60_000;
const W = 15 * MIN;
const DAY = 24 * 60 * MIN;
// One minute into a window, so that every windowed count is exact.
const T0 = Math.floor(1_700_000_000_000 / W) * W + MIN;

/** Today's limits, spelt out: the tests below override what they measure. */
const LIMITS: LimitOptions = {
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
  familiarForMs: 90 * DAY,
  populationWindowMs: DAY,
  householdSize: 4,
  maxPopulationScale: 10,
  maxSignupScale: 6,
  signupsPerMailbox: 3,
  signupsPerMailboxWindowMs: 30 * DAY,
  resetAccountsPerIp: { challenge: 4, block: 10 },
};

/** Today's weights, spelt out. */
const WEIGHTS: Record<SignalName, number> = {
  web_crawler: 0.95,
  http_client_library: 0.95,
  headless_browser: 0.95,
  missing_user_agent: 0.95,
  missing_headers: 0.7,
  high_activity_ip: 0.9,
  failed_logins_ip: 0.9,
  credential_stuffing: 0.95,
  credential_stuffing_range: 0.7,
  credential_stuffing_device: 0.95,
  multiple_accounts_ip: 0.9,
  multiple_accounts_device: 0.9,
  multiple_networks_device: 0.7,
  multiple_networks_account: 0.7,
  high_activity_account: 0.75,
  new_device: 0.3,
  unfamiliar_login_during_attack: 0.65,
  ip_denylisted: 1,
  datacenter_ip: 0.6,
  proxy_ip: 0.6,
  disposable_email_domain: 0.95,
  invalid_email: 0.7,
  blocked_user: 1,
  reported_device: 1,
  approved_device: 0.5,
  multiple_signups_mailbox: 0.95,
  reset_enumeration: 0.95,
};
const SIGNALS = Object.keys(WEIGHTS) as SignalName[];

const CHROME_UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
/** What Chrome sends posting a login form over HTTPS, scrubbed. */
const CHROME: ScrubbedHeaders = {
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
  Cookie: true,
};

interface Spec {
  type?: EventType;
  status?: EventStatus;
  ip?: string | undefined;
  /** An email, or a full identity. */
  user?: string | UserIdentity;
  /** A device id the client presented (returning), unless `fresh`. */
  device?: string;
  fresh?: boolean;
  t?: number;
  ua?: string;
  headers?: ScrubbedHeaders;
}

let requests = 0;
function ev(spec: Spec = {}): ProviderEvent {
  const headers = spec.headers ?? CHROME;
  const ua = spec.ua ?? CHROME_UA;
  const event: ProviderEvent = {
    type: spec.type ?? '$login',
    status: spec.status ?? '$attempted',
    name: 'login',
    requestId: `req-${++requests}`,
    timestamp: spec.t ?? T0,
    context: {
      ip: 'ip' in spec ? spec.ip : '203.0.113.10',
      headers: { ...headers, 'User-Agent': ua },
      userAgent: ua,
      ja3: undefined,
      resourceType: 'text/html',
      channel: undefined,
      method: 'POST',
      path: '/login',
      protocol: 'https',
    },
    user: typeof spec.user === 'string' ? { email: spec.user } : (spec.user ?? {}),
  };
  if (spec.device !== undefined) event.deviceId = spec.device;
  if (spec.fresh === true) event.deviceFresh = true;
  return event;
}

interface HarnessOptions {
  /** Weights over WEIGHTS. */
  weights?: Partial<Record<SignalName, number>>;
  /** Only these signals, with these weights; every other signal off. */
  only?: Partial<Record<SignalName, number>>;
  limits?: LimitOptions;
  denyIps?: string[];
  datacenterRanges?: string[];
  proxyRanges?: string[];
  allowIps?: string[];
}

/** An engine over a real MemoryStore, with a spy that records every batch. */
function harness(o: HarnessOptions = {}) {
  const memory = new MemoryStore({ maxKeys: 10_000 });
  const batches: StoreOp[][] = [];
  const given = o.only === undefined ? { ...WEIGHTS, ...o.weights } : Object.fromEntries(SIGNALS.map((name) => [name, o.only?.[name] ?? 0]));
  const weights = compileWeights(given);
  const limits = compileLimits({ ...LIMITS, ...o.limits, attemptsPerIp: { ...LIMITS.attemptsPerIp, ...o.limits?.attemptsPerIp } });
  const engine: Engine = createEngine({
    hasher: new IdentifierHasher(SECRET),
    weights,
    limits,
    uaOptions: { weights, requireSecFetch: 'auto' },
    defaultClients: 'browser',
    run: async (ops, now) => {
      batches.push(ops.map((op) => ({ ...op })));
      return memory.execute(ops, now);
    },
    ...(o.denyIps === undefined ? {} : { denyIps: IpRangeSet.from(o.denyIps, 'denyIps') }),
    ...(o.datacenterRanges === undefined ? {} : { datacenter: IpRangeSet.from(o.datacenterRanges, 'datacenterRanges') }),
    ...(o.proxyRanges === undefined ? {} : { proxies: IpRangeSet.from(o.proxyRanges, 'proxyRanges') }),
    ...(o.allowIps === undefined ? {} : { allowIps: IpRangeSet.from(o.allowIps, 'allowIps') }),
  });
  /** A decision. */
  const score = (spec: Spec = {}) => engine.score(ev(spec));
  /** A decision, then the app's answer to it (the same request's outcome). */
  const answer = async (spec: Spec, ok: boolean): Promise<Verdict> => {
    const event = ev(spec);
    const verdict = await engine.score(event);
    await engine.learn({ ...event, status: ok ? '$succeeded' : '$failed' });
    return verdict;
  };
  /** An outcome reported without a decision (trackLogin): no attempt is counted. */
  const report = (spec: Spec, ok: boolean) => engine.learn(ev({ ...spec, status: ok ? '$succeeded' : '$failed' }));
  const account = (email: string) => engine.accountKey(ev({ user: email })) as string;
  const set = (key: string, value = '1') => memory.execute([{ type: 'set', key, value, pinned: true }], T0);
  return {
    engine,
    memory,
    batches,
    score,
    answer,
    report,
    account,
    set,
    fail: (spec: Spec) => answer(spec, false),
    succeed: (spec: Spec) => answer(spec, true),
    /** The keys of the last batch. */
    lastKeys: () => (batches.at(-1) ?? []).map((op) => op.key),
    /** The batches `fn` ran. */
    async batchesOf(fn: () => Promise<unknown>): Promise<StoreOp[][]> {
      const before = batches.length;
      await fn();
      return batches.slice(before);
    },
  };
}
type Harness = ReturnType<typeof harness>;

const names = (verdict: Verdict) => Object.keys(verdict.signals ?? {});
const POLICY = { mode: 'blocking' as const, threatCodes: compileThreatCodes(undefined), thresholds: compileThresholds(undefined), redirect: false, canChallenge: true };
/** What blocking mode with the default thresholds does with a verdict. */
const policy = (verdict: Verdict) => applyPolicy(verdict, POLICY).verdict;
/** `n` distinct IPv4 addresses, each in its own /24. */
const spreadIp = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.7`;

/**
 * Builds a population on an address: `n` distinct accounts logging in there successfully,
 * reported without a decision, each on a device of its own (`devices: 'own'`), all on one
 * device (`'one'`), or without a device cookie (`'none'`).
 */
async function population(h: Harness, ip: string, n: number, devices: 'own' | 'one' | 'none' = 'own', tag = 'resident') {
  for (let i = 0; i < n; i++) {
    const device = devices === 'own' ? { device: `${tag}-dev-${i}` } : devices === 'one' ? { device: `${tag}-shared-dev` } : {};
    await h.report({ ip, user: `${tag}${i}@example.com`, ...device }, true);
  }
}

describe('RULES', () => {
  it('have distinct names, at least one signal each, and only known reads', async () => {
    const ruleNames = RULES.map((r) => r.name);
    expect(new Set(ruleNames).size).toBe(ruleNames.length);
    for (const rule of RULES) {
      expect(rule.signals.length, rule.name).toBeGreaterThan(0);
      for (const signal of rule.signals) expect(WEIGHTS, `${rule.name}: ${signal}`).toHaveProperty(signal);
    }
    // No signal is raised by two rules: a weight of 0 removes exactly one rule.
    const all = RULES.flatMap((r) => r.signals);
    expect(new Set(all).size).toBe(all.length);
  });

  it('all run with the default weights, in the table order', () => {
    expect(harness().engine.rules.map((r) => r.name)).toEqual(RULES.map((r) => r.name));
  });

  it('one decision is one store batch: the union of the active rules’ reads, each key once', async () => {
    const h = harness();
    await h.score({ user: { email: 'alice@example.com', id: 'u1' }, device: 'dev-1' });
    expect(h.batches).toHaveLength(1);
    const keys = h.lastKeys();
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('rule: ip deny list', () => {
  it('denies a listed address (weight 1, deny), not its neighbour, not a request without an IP', async () => {
    const h = harness({ denyIps: ['198.51.100.0/24', '2001:db8:bad::/48'] });
    const verdict = await h.score({ ip: '198.51.100.9' });
    expect(verdict).toMatchObject({ action: 'deny', risk: 1, riskDecides: true });
    expect(verdict.signals).toEqual({ ip_denylisted: { weight: 1 } });
    expect(verdict.reasons).toEqual(['IP 198.51.100.9 is on the deny list']);
    expect(verdict.cap).toBeUndefined();
    expect((await h.score({ ip: '2001:db8:bad:1::1' })).action).toBe('deny');
    expect(names(await h.score({ ip: '198.51.101.9' }))).toEqual([]);
    expect(names(await h.score({ ip: undefined }))).toEqual([]);
  });

  it('a deny wins over a capped signal', async () => {
    const h = harness({ denyIps: ['198.51.100.0/24'] });
    const { 'Sec-Fetch-Site': _s, 'Sec-Fetch-Mode': _m, 'Sec-Fetch-Dest': _d, ...noSecFetch } = CHROME;
    const verdict = await h.score({ ip: '198.51.100.9', headers: noSecFetch });
    expect(names(verdict)).toEqual(['ip_denylisted', 'missing_headers']);
    expect(verdict.action).toBe('deny');
    expect(verdict.cap).toBeUndefined();
    expect(policy(verdict)).toBe('deny');
  });
});

describe('rule: user agent and headers', () => {
  it('declared automation: code 2 or 3 at its weight', async () => {
    const h = harness();
    const curl = await h.score({ ua: 'curl/8.4.0', headers: { Accept: '*/*' } });
    expect(curl.signals).toEqual({ http_client_library: { weight: 0.95, code: 3 } });
    expect(curl.cap).toBeUndefined();
    expect(policy(curl)).toBe('deny');
    const bot = await h.score({ ua: 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)', headers: {} });
    expect(bot).toMatchObject({ threatCode: 2, risk: 0.95 });
  });

  it('Chrome without Sec-Fetch-* over HTTPS: missing_headers, code 11, capped at challenge', async () => {
    const h = harness();
    const { 'Sec-Fetch-Site': _s, 'Sec-Fetch-Mode': _m, 'Sec-Fetch-Dest': _d, 'Sec-Fetch-User': _u, ...noSecFetch } = CHROME;
    const verdict = await h.score({ headers: noSecFetch });
    expect(verdict).toMatchObject({ risk: 0.7, threatCode: 11, cap: 'challenge' });
    expect(verdict.action).toBeUndefined();
    expect(verdict.signals?.missing_headers).toMatchObject({ weight: 0.7, code: 11 });
    expect(policy(verdict)).toBe('challenge');
    // Even at a weight of 1 the cap holds: a real browser must never be locked out on headers.
    expect(policy(await harness({ weights: { missing_headers: 1 } }).score({ headers: noSecFetch }))).toBe('challenge');
  });
});

describe('rule: ip ranges', () => {
  it('datacenter_ip (code 13) and proxy_ip (code 15) at their weights, uncapped; both: noisy-OR', async () => {
    const h = harness({ datacenterRanges: ['203.0.113.0/24'], proxyRanges: ['198.51.100.0/24', '203.0.113.10'] });
    const dc = await h.score({ ip: '203.0.113.99' });
    expect(dc).toMatchObject({ risk: 0.6, threatCode: 13 });
    expect(dc.signals).toEqual({ datacenter_ip: { weight: 0.6, code: 13 } });
    expect(dc.cap).toBeUndefined();
    expect(policy(dc)).toBe('challenge');
    const proxy = await h.score({ ip: '198.51.100.1' });
    expect(proxy.signals).toEqual({ proxy_ip: { weight: 0.6, code: 15 } });
    expect((await h.score({ ip: '203.0.113.10' })).risk).toBe(0.84);
    expect(names(await h.score({ ip: '192.0.2.1' }))).toEqual([]);
  });
});

describe('rule: email', () => {
  it('disposable and invalid addresses weigh fully at sign-up, 0.2 at most elsewhere; no code', async () => {
    const h = harness();
    expect((await h.score({ type: '$registration', user: 'bot@mailinator.com' })).signals).toEqual({ disposable_email_domain: { weight: 0.95 } });
    expect((await h.score({ user: 'bot@mailinator.com' })).signals).toEqual({ disposable_email_domain: { weight: 0.2 } });
    expect((await h.score({ type: '$registration', user: 'not-an-email' })).signals).toEqual({ invalid_email: { weight: 0.7 } });
    expect((await h.score({ type: '$password_reset_request', user: 'nope' })).signals).toEqual({ invalid_email: { weight: 0.2 } });
    expect((await h.score({ type: '$registration', user: 'bot@mailinator.com' })).threatCode).toBeUndefined();
    expect(names(await h.score({ type: '$registration', user: 'alice@example.com' }))).toEqual([]);
  });
});

describe('rule: attempts per IP', () => {
  const limits: LimitOptions = { attemptsPerIp: { $login: { challenge: 3, block: 5 }, $registration: { challenge: 2, block: 4 } } };

  it('a challenge (0.6, code 5) from the challenge tier, the full weight (code 6) from the block tier', async () => {
    const h = harness({ only: { high_activity_ip: 0.9 }, limits });
    const verdicts: Verdict[] = [];
    for (let i = 0; i < 6; i++) verdicts.push(await h.score());
    expect(verdicts.map((v) => v.threatCode)).toEqual([undefined, undefined, 5, 5, 6, 6]);
    expect(verdicts[2]?.signals).toEqual({ high_activity_ip: { weight: 0.6, code: 5, attempts: 3 } });
    expect(verdicts[2]?.reasons).toEqual(['3 $login attempts from this IP in 15 min']);
    expect(verdicts[4]?.signals).toEqual({ high_activity_ip: { weight: 0.9, code: 6, attempts: 5 } });
    expect(verdicts.map(policy)).toEqual(['allow', 'allow', 'challenge', 'challenge', 'deny', 'deny']);
    expect(verdicts.every((v) => v.cap === undefined)).toBe(true);
  });

  it('counts per event type and per address', async () => {
    const h = harness({ only: { high_activity_ip: 0.9 }, limits });
    for (let i = 0; i < 2; i++) await h.score();
    expect(names(await h.score({ type: '$password_reset_request' }))).toEqual([]);
    expect(names(await h.score({ ip: '203.0.113.11' }))).toEqual([]);
    expect(names(await h.score())).toEqual(['high_activity_ip']);
  });

  it('scales with the population the address has shown on returning devices, within maxPopulationScale', async () => {
    // 4 people (householdSize 4) double the tiers: challenge from 6, block from 10.
    const h = harness({ only: { high_activity_ip: 0.9 }, limits });
    await population(h, '203.0.113.10', 4);
    const codes: (number | undefined)[] = [];
    for (let i = 0; i < 10; i++) codes.push((await h.score()).threatCode);
    expect(codes).toEqual([undefined, undefined, undefined, undefined, undefined, 5, 5, 5, 5, 6]);
    expect((await h.score()).reasons).toEqual(['11 $login attempts from this IP in 15 min (limit 6 for the people this address has shown)']);
    // The cap: 40 people would be × 11; maxPopulationScale 2 holds it at × 2.
    const capped = harness({ only: { high_activity_ip: 0.9 }, limits: { ...limits, maxPopulationScale: 2 } });
    await population(capped, '203.0.113.10', 40);
    for (let i = 0; i < 5; i++) expect(names(await capped.score())).toEqual([]);
    expect((await capped.score()).threatCode).toBe(5);
  });

  it('the population is the distinct accounts, at most their distinct devices: one client logging into many accounts is one person', async () => {
    const one = harness({ only: { high_activity_ip: 0.9 }, limits });
    await population(one, '203.0.113.10', 8, 'one');
    // 1 person: × 1.25, challenge from floor(3 × 1.25) = 3.
    for (let i = 0; i < 2; i++) await one.score();
    expect((await one.score()).threatCode).toBe(5);
    // One person on many devices is one person too.
    const many = harness({ only: { high_activity_ip: 0.9 }, limits });
    for (let i = 0; i < 8; i++) await many.report({ user: 'me@example.com', device: `browser-${i}` }, true);
    for (let i = 0; i < 2; i++) await many.score();
    expect((await many.score()).threatCode).toBe(5);
    // Without a device cookie (an app, day one of a deployment) each account stands for itself.
    const apps = harness({ only: { high_activity_ip: 0.9 }, limits });
    await population(apps, '203.0.113.10', 4, 'none');
    for (let i = 0; i < 5; i++) expect(names(await apps.score())).toEqual([]);
    expect((await apps.score()).threatCode).toBe(5);
  });

  it('sign-ups scale by the sign-ups the address completed, within maxSignupScale', async () => {
    const h = harness({ only: { high_activity_ip: 0.9 }, limits: { ...limits, maxSignupScale: 3 } });
    const signup = (i: number): Spec => ({ type: '$registration', user: `new${i}@example.com` });
    expect(names(await h.score(signup(0)))).toEqual([]);
    expect((await h.score(signup(1))).threatCode).toBe(5);
    // 4 completed sign-ups (householdSize 4): × 2, challenge from 4.
    for (let i = 0; i < 4; i++) await h.report({ ...signup(100 + i), type: '$registration' }, true);
    expect(names(await h.score(signup(2)))).toEqual([]);
    expect((await h.score(signup(3))).threatCode).toBe(5);
    // The returning-device population of the address lifts them too.
    const logins = harness({ only: { high_activity_ip: 0.9 }, limits });
    await population(logins, '203.0.113.10', 4);
    for (let i = 0; i < 3; i++) expect(names(await logins.score(signup(i)))).toEqual([]);
    expect((await logins.score(signup(3))).threatCode).toBe(5);
    // The cap: 40 sign-ups would be × 11; maxSignupScale 3 holds it at challenge 6.
    const capped = harness({ only: { high_activity_ip: 0.9 }, limits: { ...limits, maxSignupScale: 3 } });
    for (let i = 0; i < 40; i++) await capped.report({ ...signup(200 + i), type: '$registration' }, true);
    for (let i = 0; i < 5; i++) expect(names(await capped.score(signup(i))), String(i)).toEqual([]);
    expect((await capped.score(signup(5))).threatCode).toBe(5);
  });
});

describe('rule: failed logins per IP', () => {
  const limits: LimitOptions = { failedLoginsPerIp: { challenge: 3, block: 6 } };

  it('answered failures: 0.6 / code 5 from the challenge tier, full weight / code 6 from the block tier', async () => {
    const h = harness({ only: { failed_logins_ip: 0.9 }, limits });
    for (let i = 0; i < 2; i++) await h.report({ user: 'same@example.com' }, false);
    // Decisions read the count without adding to it; successes do not count.
    for (let i = 0; i < 3; i++) expect(names(await h.score())).toEqual([]);
    await h.report({ user: 'same@example.com', ip: '192.0.2.1' }, true);
    expect(names(await h.score())).toEqual([]);
    await h.report({ user: 'same@example.com' }, false);
    const three = await h.score();
    expect(three.signals).toEqual({ failed_logins_ip: { weight: 0.6, code: 5, failures: 3 } });
    expect(three.reasons).toEqual(['3 failed logins from this IP in 15 min']);
    for (let i = 0; i < 3; i++) await h.report({ user: 'same@example.com' }, false);
    expect((await h.score()).signals).toEqual({ failed_logins_ip: { weight: 0.9, code: 6, failures: 6 } });
    expect(names(await h.score({ ip: '203.0.113.11' }))).toEqual([]);
  });

  it('scales with the population', async () => {
    const h = harness({ only: { failed_logins_ip: 0.9 }, limits });
    await population(h, '203.0.113.10', 4);
    for (let i = 0; i < 5; i++) await h.report({ user: 'same@example.com' }, false);
    expect(names(await h.score())).toEqual([]);
    await h.report({ user: 'same@example.com' }, false);
    expect((await h.score()).threatCode).toBe(5);
  });
});

describe('rule: credential stuffing per IP', () => {
  const limits: LimitOptions = { failedAccountsPerIp: 3 };
  const only = { credential_stuffing: 0.95 };

  it('fires at failedAccountsPerIp distinct failed accounts, not one below: 0.95, code 10, uncapped', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 2; i++) await h.fail({ user: `victim${i}@example.com` });
    // Repeated failures of one account are one account.
    for (let i = 0; i < 3; i++) await h.fail({ user: 'victim0@example.com' });
    expect(names(await h.score({ user: 'next@example.com' }))).toEqual([]);
    await h.fail({ user: 'victim2@example.com' });
    const verdict = await h.score({ user: 'next@example.com' });
    expect(verdict).toMatchObject({ risk: 0.95, threatCode: 10 });
    expect(verdict.signals).toEqual({ credential_stuffing: { weight: 0.95, code: 10, failedAccounts: 3 } });
    expect(verdict.reasons).toEqual(['failed logins on 3 different accounts from this IP, not followed by a success']);
    expect(verdict.cap).toBeUndefined();
    expect(policy(verdict)).toBe('deny');
    expect(names(await h.score({ ip: '203.0.113.11', user: 'next@example.com' }))).toEqual([]);
  });

  it('a typo then the right password from the same IP resolves the account: not stuffing', async () => {
    // A household size that makes their successes no population to speak of: resolution alone.
    const h = harness({ only, limits: { ...limits, householdSize: 1000 } });
    // A household: three people, each with a typo before getting in.
    for (let i = 0; i < 3; i++) {
      await h.fail({ user: `person${i}@example.com` });
      await h.fail({ user: `person${i}@example.com` });
      await h.succeed({ user: `person${i}@example.com` });
    }
    await h.fail({ user: 'person9@example.com' });
    await h.fail({ user: 'person8@example.com' });
    expect(names(await h.score({ user: 'next@example.com' }))).toEqual([]);
    await h.fail({ user: 'person7@example.com' });
    expect((await h.score({ user: 'next@example.com' })).signals).toEqual({ credential_stuffing: { weight: 0.95, code: 10, failedAccounts: 3 } });
  });

  it('a success elsewhere does not resolve this IP’s failure', async () => {
    const h = harness({ only, limits: { ...limits, householdSize: 1000 } });
    for (let i = 0; i < 3; i++) {
      await h.fail({ user: `victim${i}@example.com` });
      await h.succeed({ user: `victim${i}@example.com`, ip: '192.0.2.200' });
    }
    expect(names(await h.score({ user: 'next@example.com' }))).toEqual(['credential_stuffing']);
  });

  it('scales with the population (an office behind one NAT), not with one client’s many accounts', async () => {
    const office = harness({ only, limits });
    await population(office, '203.0.113.10', 4);
    for (let i = 0; i < 5; i++) await office.fail({ user: `typo${i}@example.com` });
    expect(names(await office.score({ user: 'next@example.com' }))).toEqual([]);
    await office.fail({ user: 'typo5@example.com' });
    expect((await office.score({ user: 'next@example.com' })).signals).toMatchObject({ credential_stuffing: { failedAccounts: 6 } });
    const one = harness({ only, limits });
    await population(one, '203.0.113.10', 4, 'one');
    for (let i = 0; i < 3; i++) await one.fail({ user: `typo${i}@example.com` });
    expect(names(await one.score({ user: 'next@example.com' }))).toEqual(['credential_stuffing']);
  });
});

describe('rule: credential stuffing per IP: mistyped emails', () => {
  const limits: LimitOptions = { failedAccountsPerIp: 3, householdSize: 1000 };
  const only = { credential_stuffing: 0.95, credential_stuffing_device: 0.95 };

  it('a person who mistyped their email (a failure on an account not theirs), then got in on the same browser, is no stuffing', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 4; i++) {
      await h.fail({ device: `browser-${i}`, user: `typo${i}@exmaple.com` });
      await h.succeed({ device: `browser-${i}`, user: `person${i}@example.com` });
    }
    expect(names(await h.score({ user: 'next@example.com' }))).toEqual([]);
  });

  // A script pairing each stuffing attempt with a login to an account it owns, on the
  // cookie it was just issued, once had every victim's failure "resolved" at the IP, range
  // and device. An account's success resolves one mistyped account per window, and only
  // where that failure happened: of four victims, one is resolved, three still count.
  it('cannot be replayed: a script pairing each stuffing failure with a success on its own account is still stuffing', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 4; i++) {
      await h.fail({ device: `jar-${i}`, fresh: true, user: `victim${i}@example.com` });
      await h.succeed({ device: `jar-${i}`, user: 'owned@example.com' });
    }
    expect(names(await h.score({ user: 'victim9@example.com' }))).toEqual(['credential_stuffing']);
  });
  it('a typo is resolved only where it failed: a success elsewhere resolves nothing at its own address', async () => {
    const h = harness({ only, limits });
    await h.fail({ ip: '198.51.100.7', device: 'laptop', user: 'typo@exmaple.com' });
    await h.succeed({ ip: '203.0.113.10', device: 'laptop', user: 'me@example.com' });
    for (let i = 0; i < 3; i++) await h.fail({ device: `jar-${i}`, fresh: true, user: `victim${i}@example.com` });
    expect(names(await h.score({ user: 'victim9@example.com' }))).toEqual(['credential_stuffing']);
  });
});

describe('rule: accounts per IP', () => {
  const limits: LimitOptions = { accountsPerIp: { challenge: 3, block: 5 } };
  const only = { multiple_accounts_ip: 0.9 };

  it('distinct accounts tried, answered or not: 0.6 / code 5 from the challenge tier, full weight / code 10 from the block tier', async () => {
    const h = harness({ only, limits });
    const verdicts: Verdict[] = [];
    for (let i = 0; i < 5; i++) verdicts.push(await h.score({ user: `user${i}@example.com` }));
    expect(verdicts.map((v) => v.threatCode)).toEqual([undefined, undefined, 5, 5, 10]);
    expect(verdicts[2]?.signals).toEqual({ multiple_accounts_ip: { weight: 0.6, code: 5, accounts: 3 } });
    expect(verdicts[2]?.reasons).toEqual(['3 different accounts tried from this IP']);
    expect(verdicts[4]?.signals).toEqual({ multiple_accounts_ip: { weight: 0.9, code: 10, accounts: 5 } });
    expect(verdicts.map(policy)).toEqual(['allow', 'allow', 'challenge', 'challenge', 'deny']);
    // The same account again is no new account.
    expect((await h.score({ user: 'user0@example.com' })).signals).toMatchObject({ multiple_accounts_ip: { accounts: 5 } });
  });

  it('scales with the population', async () => {
    const h = harness({ only, limits });
    await population(h, '203.0.113.10', 4);
    for (let i = 0; i < 5; i++) expect(names(await h.score({ user: `user${i}@example.com` })), String(i)).toEqual([]);
    expect((await h.score({ user: 'user5@example.com' })).threatCode).toBe(5);
  });
});

describe('rule: credential stuffing per range', () => {
  const limits: LimitOptions = { failedAccountsPerRange: 4 };
  const only = { credential_stuffing_range: 0.7, credential_stuffing: 0.95 };

  it('IPv4: rotating inside a /24 (one address per attempt) is seen: 0.7, code 10, capped at challenge', async () => {
    const h = harness({ only, limits });
    for (let i = 1; i <= 3; i++) await h.fail({ ip: `198.51.100.${i}`, user: `victim${i}@example.com` });
    expect(names(await h.score({ ip: '198.51.100.200', user: 'next@example.com' }))).toEqual([]);
    await h.fail({ ip: '198.51.100.4', user: 'victim4@example.com' });
    const verdict = await h.score({ ip: '198.51.100.200', user: 'next@example.com' });
    expect(verdict).toMatchObject({ risk: 0.7, threatCode: 10, cap: 'challenge' });
    expect(verdict.signals).toEqual({ credential_stuffing_range: { weight: 0.7, code: 10, failedAccounts: 4 } });
    expect(verdict.reasons).toEqual(["failed logins on 4 different accounts from this address's /24, not followed by a success"]);
    // Neighbours share a range: never a block on the range's evidence alone, whatever its weight.
    expect(policy(verdict)).toBe('challenge');
    expect(policy(await harness({ only: { credential_stuffing_range: 1 }, limits }).score({ ip: '198.51.100.200' }))).toBe('allow');
    // Another /24 is another range.
    expect(names(await h.score({ ip: '198.51.101.1', user: 'next@example.com' }))).toEqual([]);
  });

  it('IPv6: a fresh /64 per attempt inside one /48 is seen (reason: /48); another /48 is not', async () => {
    const h = harness({ only, limits });
    for (let i = 1; i <= 4; i++) {
      const ip = `2001:db8:77:${i.toString(16)}::${i}`;
      // Each /64 has one failed account: the per-IP rule sees nothing.
      expect(names(await h.fail({ ip, user: `victim${i}@example.com` })), ip).toEqual([]);
    }
    const verdict = await h.score({ ip: '2001:db8:77:ff::1', user: 'next@example.com' });
    expect(verdict.signals).toEqual({ credential_stuffing_range: { weight: 0.7, code: 10, failedAccounts: 4 } });
    expect(verdict.reasons).toEqual(["failed logins on 4 different accounts from this address's /48, not followed by a success"]);
    expect(verdict.cap).toBe('challenge');
    expect(names(await h.score({ ip: '2001:db8:78::1', user: 'next@example.com' }))).toEqual([]);
  });

  it('a typo then success anywhere in the range resolves it there', async () => {
    const h = harness({ only, limits });
    for (let i = 1; i <= 4; i++) {
      await h.fail({ ip: `198.51.100.${i}`, user: `person${i}@example.com` });
      // The same person gets in from the next address of the range (a DHCP renewal).
      await h.succeed({ ip: `198.51.100.${i + 100}`, user: `person${i}@example.com` });
    }
    expect(names(await h.score({ ip: '198.51.100.250', user: 'next@example.com' }))).toEqual([]);
  });

  it('scales with the range’s population (a campus /24): people on their own browsers across the range lift it', async () => {
    const h = harness({ only, limits });
    // 4 people (householdSize 4) on 4 addresses of the /24: × 2, from 8.
    for (let i = 0; i < 4; i++) await h.report({ ip: `198.51.100.${50 + i}`, device: `laptop-${i}`, user: `student${i}@example.com` }, true);
    for (let i = 1; i <= 7; i++) await h.fail({ ip: `198.51.100.${i}`, user: `victim${i}@example.com` });
    expect(names(await h.score({ ip: '198.51.100.200', user: 'next@example.com' }))).toEqual([]);
    await h.fail({ ip: '198.51.100.8', user: 'victim8@example.com' });
    expect((await h.score({ ip: '198.51.100.200', user: 'next@example.com' })).signals).toMatchObject({ credential_stuffing_range: { failedAccounts: 8 } });
    // One client logging into many accounts is one person there too: × 1.25, from 5.
    const one = harness({ only, limits });
    for (let i = 0; i < 4; i++) await one.report({ ip: `198.51.100.${50 + i}`, device: 'one-jar', user: `student${i}@example.com` }, true);
    for (let i = 1; i <= 5; i++) await one.fail({ ip: `198.51.100.${i}`, user: `victim${i}@example.com` });
    expect(names(await one.score({ ip: '198.51.100.200', user: 'next@example.com' }))).toEqual(['credential_stuffing_range']);
  });

  it('a stronger per-IP signal lifts the cap', async () => {
    const h = harness({ only, limits: { ...limits, failedAccountsPerIp: 4 } });
    for (let i = 1; i <= 4; i++) await h.fail({ ip: '198.51.100.1', user: `victim${i}@example.com` });
    const verdict = await h.score({ ip: '198.51.100.1', user: 'next@example.com' });
    expect(names(verdict)).toEqual(['credential_stuffing', 'credential_stuffing_range']);
    expect(verdict.cap).toBeUndefined();
    expect(policy(verdict)).toBe('deny');
  });
});

describe('rule: accounts per device', () => {
  const limits: LimitOptions = { accountsPerDevice: { challenge: 3, block: 5 } };
  const only = { multiple_accounts_device: 0.9 };

  it('one device id, many accounts (from any address): 0.6 / code 5, then full weight / code 10', async () => {
    const h = harness({ only, limits });
    const verdicts: Verdict[] = [];
    for (let i = 0; i < 5; i++) verdicts.push(await h.score({ device: 'jar-1', ip: spreadIp(i), user: `victim${i}@example.com` }));
    expect(verdicts.map((v) => v.threatCode)).toEqual([undefined, undefined, 5, 5, 10]);
    expect(verdicts[2]?.signals).toEqual({ multiple_accounts_device: { weight: 0.6, code: 5, accounts: 3 } });
    expect(verdicts[2]?.reasons).toEqual(['3 different accounts tried from this device']);
    expect(verdicts[4]?.signals).toEqual({ multiple_accounts_device: { weight: 0.9, code: 10, accounts: 5 } });
    expect(verdicts.map(policy)).toEqual(['allow', 'allow', 'challenge', 'challenge', 'deny']);
    // Another device, or none, is not affected.
    expect(names(await h.score({ device: 'jar-2', user: 'victim9@example.com' }))).toEqual([]);
    expect(names(await h.score({ user: 'victim9@example.com' }))).toEqual([]);
  });

  it('counts a fresh device too (the client that keeps the cookie carries its history on)', async () => {
    const h = harness({ only, limits });
    await h.score({ device: 'jar-1', fresh: true, user: 'a@example.com' });
    await h.score({ device: 'jar-1', user: 'b@example.com' });
    expect((await h.score({ device: 'jar-1', user: 'c@example.com' })).threatCode).toBe(5);
  });

  it('one person logging in again and again on their device is one account', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 10; i++) expect(names(await h.succeed({ device: 'mine', ip: spreadIp(i), user: 'me@example.com' }))).toEqual([]);
  });
});

describe('rule: credential stuffing per device', () => {
  const limits: LimitOptions = { failedAccountsPerDevice: 3 };
  const only = { credential_stuffing_device: 0.95 };

  it('a returning device with failed accounts, not resolved: 0.95, code 10, uncapped', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 2; i++) await h.fail({ device: 'jar-1', ip: spreadIp(i), user: `victim${i}@example.com` });
    expect(names(await h.score({ device: 'jar-1', ip: spreadIp(50), user: 'next@example.com' }))).toEqual([]);
    await h.fail({ device: 'jar-1', ip: spreadIp(2), user: 'victim2@example.com' });
    const verdict = await h.score({ device: 'jar-1', ip: spreadIp(50), user: 'next@example.com' });
    expect(verdict).toMatchObject({ risk: 0.95, threatCode: 10 });
    expect(verdict.signals).toEqual({ credential_stuffing_device: { weight: 0.95, code: 10, failedAccounts: 3 } });
    expect(verdict.reasons).toEqual(['failed logins on 3 different accounts from this device, not followed by a success']);
    expect(verdict.cap).toBeUndefined();
    expect(policy(verdict)).toBe('deny');
    expect(names(await h.score({ device: 'jar-2', ip: spreadIp(50), user: 'next@example.com' }))).toEqual([]);
  });

  it('is read only for a device the client presented, not for one issued on this request', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 3; i++) await h.fail({ device: 'jar-1', ip: spreadIp(i), user: `victim${i}@example.com` });
    let verdict: Verdict | undefined;
    const batches = await h.batchesOf(async () => {
      verdict = await h.score({ device: 'jar-1', fresh: true, ip: spreadIp(50), user: 'next@example.com' });
    });
    expect(names(verdict as Verdict)).toEqual([]);
    expect(batches.flat().filter((op) => op.key.includes('jar-1'))).toEqual([]);
  });

  it('a family laptop: typos resolved by successes on the same device are no stuffing', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 4; i++) {
      await h.fail({ device: 'laptop', user: `member${i}@example.com` });
      await h.succeed({ device: 'laptop', user: `member${i}@example.com` });
    }
    expect(names(await h.score({ device: 'laptop', user: 'member0@example.com' }))).toEqual([]);
  });
});

describe('rule: networks per device', () => {
  const limits: LimitOptions = { networksPerDevice: 3 };
  const only = { multiple_networks_device: 0.7 };

  it('a device trying ≥ 3 accounts from networksPerDevice networks: 0.7, code 18, capped', async () => {
    const h = harness({ only, limits });
    expect(names(await h.score({ device: 'jar-1', ip: spreadIp(0), user: 'a@example.com' }))).toEqual([]);
    expect(names(await h.score({ device: 'jar-1', ip: spreadIp(1), user: 'b@example.com' }))).toEqual([]);
    const verdict = await h.score({ device: 'jar-1', ip: spreadIp(2), user: 'c@example.com' });
    expect(verdict).toMatchObject({ risk: 0.7, threatCode: 18, cap: 'challenge' });
    expect(verdict.signals).toEqual({ multiple_networks_device: { weight: 0.7, code: 18, networks: 3, accounts: 3 } });
    expect(verdict.reasons).toEqual(['this device tried 3 accounts from 3 networks in 15 min']);
    expect(policy(verdict)).toBe('challenge');
  });

  it('not one network below, nor with fewer than 3 accounts (a traveller on their own device)', async () => {
    const h = harness({ only, limits });
    for (const user of ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com']) {
      expect(names(await h.score({ device: 'jar-1', ip: spreadIp(user.charCodeAt(0) % 2), user })), user).toEqual([]);
    }
    const traveller = harness({ only, limits });
    for (let i = 0; i < 10; i++) expect(names(await traveller.succeed({ device: 'phone', ip: spreadIp(i), user: 'me@example.com' }))).toEqual([]);
    const pair = harness({ only, limits });
    for (let i = 0; i < 10; i++) expect(names(await pair.score({ device: 'tablet', ip: spreadIp(i), user: i % 2 ? 'ann@example.com' : 'bob@example.com' }))).toEqual([]);
  });

  it('IPv6: addresses of one /64 are one network', async () => {
    const h = harness({ only, limits });
    for (let i = 1; i <= 6; i++) expect(names(await h.score({ device: 'jar-1', ip: `2001:db8:1:2::${i}`, user: `u${i}@example.com` }))).toEqual([]);
  });
});

describe('rule: failed logins per account', () => {
  const limits: LimitOptions = { failedLoginsPerAccount: 3 };
  const only = { high_activity_account: 0.75 };
  const victim = 'victim@example.com';

  it('failures on one account from anywhere: 0.75, code 4, capped at challenge, at the limit and not below', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 2; i++) await h.report({ ip: spreadIp(i), user: victim }, false);
    expect(names(await h.score({ ip: spreadIp(99), user: victim }))).toEqual([]);
    await h.report({ ip: spreadIp(2), user: victim }, false);
    const verdict = await h.score({ ip: spreadIp(99), user: victim });
    expect(verdict).toMatchObject({ risk: 0.75, threatCode: 4, cap: 'challenge' });
    expect(verdict.signals).toEqual({ high_activity_account: { weight: 0.75, code: 4, accountFailures: 3 } });
    expect(verdict.reasons).toEqual(['3 failed logins on this account in 15 min']);
    expect(policy(verdict)).toBe('challenge');
    expect(names(await h.score({ ip: spreadIp(99), user: 'bystander@example.com' }))).toEqual([]);
  });

  it('never challenges the owner where the account is familiar: on its network, or on its device from anywhere', async () => {
    const h = harness({ only, limits });
    await h.succeed({ ip: '192.0.2.7', device: 'owner-phone', user: victim });
    for (let i = 0; i < 5; i++) await h.report({ ip: spreadIp(i), user: victim }, false);
    expect(names(await h.score({ ip: '192.0.2.7', user: victim }))).toEqual([]);
    expect(names(await h.score({ ip: '198.51.100.99', device: 'owner-phone', user: victim }))).toEqual([]);
    // The cookie issued on this very request is no familiar device.
    expect(names(await h.score({ ip: '198.51.100.99', device: 'owner-phone', fresh: true, user: victim }))).toEqual(['high_activity_account']);
    expect(names(await h.score({ ip: '198.51.100.99', user: victim }))).toEqual(['high_activity_account']);
  });

  it('a success resets the count', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 2; i++) await h.report({ ip: spreadIp(i), user: victim }, false);
    await h.report({ ip: spreadIp(9), user: victim }, true);
    for (let i = 0; i < 2; i++) await h.report({ ip: spreadIp(i), user: victim }, false);
    expect(names(await h.score({ ip: spreadIp(99), user: victim }))).toEqual([]);
  });
});

describe('rule: attack mode', () => {
  const limits: LimitOptions = { attackMinFailures: 4, attackFailureRatio: 0.5 };
  const only = { unfamiliar_login_during_attack: 0.65 };
  /** Distributed stuffing: each attempt from its own /24, a fresh cookie, a new account, failing. */
  async function wave(h: Harness, from: number, count: number, t = T0) {
    for (let i = from; i < from + count; i++) await h.fail({ ip: spreadIp(i), device: `bot-${i}`, fresh: true, user: `victim${i}@example.com`, t });
  }
  const newcomer = (t = T0): Spec => ({ ip: '192.0.2.200', user: 'newcomer@example.com', t });

  it('turns on at attackMinFailures unresolved unfamiliar failed accounts, not one below: 0.65, code 8, capped', async () => {
    const h = harness({ only, limits });
    await wave(h, 0, 3);
    expect(names(await h.score(newcomer()))).toEqual([]);
    await wave(h, 3, 1);
    const verdict = await h.score(newcomer());
    expect(verdict).toMatchObject({ risk: 0.65, threatCode: 8, cap: 'challenge' });
    expect(verdict.signals).toEqual({ unfamiliar_login_during_attack: { weight: 0.65, code: 8 } });
    expect(verdict.reasons).toEqual(['logins from unfamiliar networks and devices are failing at attack level site-wide, and this account never logged in from this network or this device']);
    expect(policy(verdict)).toBe('challenge');
  });

  it('only answered outcomes count: decisions alone (Vigil’s own challenges) never turn it on', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 50; i++) await h.score({ ip: spreadIp(i), user: `challenged${i}@example.com` });
    expect(names(await h.score(newcomer()))).toEqual([]);
  });

  it('failures that were resolved (people on new networks who then got in) never reach it', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 30; i++) {
      await h.fail({ ip: spreadIp(i), user: `person${i}@example.com` });
      await h.succeed({ ip: spreadIp(i), user: `person${i}@example.com` });
    }
    expect(names(await h.score(newcomer()))).toEqual([]);
  });

  it('is not diluted by repeated successes of a few owned accounts (each from a new address)', async () => {
    const h = harness({ only, limits: { attackMinFailures: 10, attackFailureRatio: 0.5 } });
    for (let i = 0; i < 10; i++) {
      await wave(h, i, 1);
      for (const owned of ['owned-a@example.com', 'owned-b@example.com']) await h.succeed({ ip: spreadIp(1000 + 2 * i + (owned < 'owned-b' ? 0 : 1)), user: owned });
    }
    expect(names(await h.score(newcomer()))).toEqual(['unfamiliar_login_during_attack']);
    // The ratio does weigh distinct accounts: as many distinct successes as failures, and more, keep it off.
    const real = harness({ only, limits: { attackMinFailures: 10, attackFailureRatio: 0.5 } });
    for (let i = 0; i < 10; i++) {
      await wave(real, i, 1);
      for (let k = 0; k < 2; k++) await real.succeed({ ip: spreadIp(1000 + 2 * i + k), user: `person${2 * i + k}@example.com` });
    }
    expect(names(await real.score(newcomer()))).toEqual([]);
  });

  it('stays on for a window after the last failure that kept it on, then goes off', async () => {
    const h = harness({ only, limits });
    await wave(h, 0, 4);
    expect(names(await h.score(newcomer(T0 + W - 2000)))).toEqual(['unfamiliar_login_during_attack']);
    expect(names(await h.score(newcomer(T0 + W)))).toEqual([]);
  });

  it('one flag for a fleet: another instance on the same store sees it within a second', async () => {
    const a = harness({ only, limits });
    const memory = a.memory;
    const weights = compileWeights(Object.fromEntries(SIGNALS.map((n) => [n, n === 'unfamiliar_login_during_attack' ? 0.65 : 0])));
    const b = createEngine({
      hasher: new IdentifierHasher(SECRET),
      weights,
      limits: compileLimits({ ...LIMITS, ...limits }),
      uaOptions: { weights, requireSecFetch: 'auto' },
      defaultClients: 'browser',
      run: (ops, now) => memory.execute(ops, now),
    });
    expect(names(await b.score(ev(newcomer())))).toEqual([]);
    await wave(a, 0, 4);
    expect(names(await b.score(ev(newcomer(T0 + 1000))))).toEqual(['unfamiliar_login_during_attack']);
  });

  it('familiar logins are untouched: on the account’s network, or on its device from a new network', async () => {
    const h = harness({ only, limits });
    await h.succeed({ ip: '192.0.2.7', device: 'owner-laptop', user: 'owner@example.com' });
    await wave(h, 0, 4);
    expect(names(await h.score({ ip: '192.0.2.7', user: 'owner@example.com' }))).toEqual([]);
    // A traveller with their own browser, at a hotel.
    expect(names(await h.score({ ip: '198.18.0.9', device: 'owner-laptop', user: 'owner@example.com' }))).toEqual([]);
    // New device and new network: challenged.
    expect(names(await h.score({ ip: '198.18.0.9', user: 'owner@example.com' }))).toEqual(['unfamiliar_login_during_attack']);
    expect(names(await h.score({ ip: '198.18.0.9', device: 'borrowed', user: 'owner@example.com' }))).toEqual(['unfamiliar_login_during_attack']);
  });

  it('a sign-up makes its network and its device familiar for the first logins', async () => {
    const h = harness({ only, limits });
    await wave(h, 0, 4);
    // Signed up from home with a cookie issued on that request.
    await h.report({ type: '$registration', ip: '192.0.2.50', device: 'new-phone', fresh: true, user: 'fresh@example.com' }, true);
    expect(names(await h.score({ ip: '192.0.2.50', user: 'fresh@example.com' }))).toEqual([]);
    expect(names(await h.score({ ip: '198.18.0.9', device: 'new-phone', user: 'fresh@example.com' }))).toEqual([]);
    expect(names(await h.score({ ip: '198.18.0.9', user: 'fresh@example.com' }))).toEqual(['unfamiliar_login_during_attack']);
    // A failed sign-up makes nothing familiar.
    await h.report({ type: '$registration', ip: '192.0.2.51', user: 'nope@example.com' }, false);
    expect(names(await h.score({ ip: '192.0.2.51', user: 'nope@example.com' }))).toEqual(['unfamiliar_login_during_attack']);
  });

  it('familiar failures (the owner’s typos at home) do not count towards it', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 10; i++) await h.succeed({ ip: spreadIp(i), user: `owner${i}@example.com` });
    for (let i = 0; i < 10; i++) await h.fail({ ip: spreadIp(i), user: `owner${i}@example.com` });
    expect(names(await h.score(newcomer()))).toEqual([]);
  });
});

describe('rule: new networks per account', () => {
  const limits: LimitOptions = { networksPerAccount: 3 };
  const only = { multiple_networks_account: 0.7 };
  const shared = 'shared@example.com';

  it('successes from networksPerAccount unfamiliar networks: 0.7, code 8, capped; not one below', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 2; i++) await h.succeed({ ip: spreadIp(i), device: `d${i}`, fresh: true, user: shared });
    expect(names(await h.score({ ip: spreadIp(50), user: shared }))).toEqual([]);
    await h.succeed({ ip: spreadIp(2), device: 'd2', fresh: true, user: shared });
    const verdict = await h.score({ ip: spreadIp(50), user: shared });
    expect(verdict).toMatchObject({ risk: 0.7, threatCode: 8, cap: 'challenge' });
    expect(verdict.signals).toEqual({ multiple_networks_account: { weight: 0.7, code: 8, networks: 3 } });
    expect(verdict.reasons).toEqual(['this account logged in from 3 new networks in 15 min']);
    expect(policy(verdict)).toBe('challenge');
  });

  it('not where the account is familiar (one of those networks, or a known device)', async () => {
    const h = harness({ only, limits });
    for (let i = 0; i < 3; i++) await h.succeed({ ip: spreadIp(i), device: `d${i}`, fresh: true, user: shared });
    expect(names(await h.score({ ip: spreadIp(1), user: shared }))).toEqual([]);
    expect(names(await h.score({ ip: spreadIp(50), device: 'd0', user: shared }))).toEqual([]);
    expect(names(await h.score({ ip: spreadIp(50), user: 'other@example.com' }))).toEqual([]);
  });

  it('a traveller on their own device adds no new network', async () => {
    const h = harness({ only, limits });
    await h.succeed({ ip: '192.0.2.7', device: 'mine', user: 'me@example.com' });
    for (let i = 0; i < 6; i++) await h.succeed({ ip: spreadIp(i), device: 'mine', user: 'me@example.com' });
    expect(names(await h.score({ ip: spreadIp(60), user: 'me@example.com' }))).toEqual([]);
  });
});

describe('rule: block lists', () => {
  it('a blocked user id or a reported (presented) device: deny, weight 1', async () => {
    const h = harness();
    await h.set(KEYS.blockedUser('user-42'), '{"reason":"fraud"}');
    await h.set(KEYS.reportedDevice('dev-bad'));
    const user = await h.score({ user: { id: 'user-42', email: 'alice@example.com' } });
    expect(user).toMatchObject({ action: 'deny', risk: 1 });
    expect(user.signals).toEqual({ blocked_user: { weight: 1 } });
    expect(user.reasons).toEqual(['the user is blocked']);
    const device = await h.score({ device: 'dev-bad' });
    expect(device).toMatchObject({ action: 'deny', risk: 1 });
    expect(device.signals).toEqual({ reported_device: { weight: 1 } });
    expect((await h.score({ user: { id: 'user-43' } })).action).toBeUndefined();
    expect((await h.score({ device: 'dev-good' })).action).toBeUndefined();
  });
});

describe('rule: new device', () => {
  it('an account with known devices on another one: 0.3, no code; not on a known or approved device, nor for an account with none', async () => {
    const h = harness({ only: { new_device: 0.3, approved_device: 0.5 } });
    expect(names(await h.score({ device: 'laptop', user: 'alice@example.com' }))).toEqual([]);
    await h.succeed({ device: 'laptop', user: 'alice@example.com' });
    expect(names(await h.score({ device: 'laptop', user: 'alice@example.com' }))).toEqual([]);
    const verdict = await h.score({ device: 'phone', user: 'alice@example.com' });
    expect(verdict).toMatchObject({ risk: 0.3 });
    expect(verdict.threatCode).toBeUndefined();
    expect(verdict.signals).toEqual({ new_device: { weight: 0.3, knownDevices: 1 } });
    expect(policy(verdict)).toBe('allow');
    await h.set(KEYS.approvedDevice('phone'));
    expect(names(await h.score({ device: 'phone', user: 'alice@example.com' }))).toEqual(['approved_device']);
  });
});

describe('rule: sign-ups per mailbox', () => {
  it('signupsPerMailbox accounts of one mailbox (aliases together): the next is refused, 0.95, code 9', async () => {
    const h = harness({ only: { multiple_signups_mailbox: 0.95 }, limits: { signupsPerMailbox: 2 } });
    const signup = (email: string, ip: string): Spec => ({ type: '$registration', user: email, ip });
    await h.report(signup('john.doe+1@gmail.com', spreadIp(1)), true);
    expect(names(await h.score(signup('johndoe@googlemail.com', spreadIp(9))))).toEqual([]);
    await h.report(signup('j.o.h.n.doe@gmail.com', spreadIp(2)), true);
    const verdict = await h.score(signup('johndoe+3@gmail.com', spreadIp(9)));
    expect(verdict).toMatchObject({ risk: 0.95, threatCode: 9 });
    expect(verdict.signals).toEqual({ multiple_signups_mailbox: { weight: 0.95, code: 9, mailboxSignups: 2 } });
    expect(verdict.reasons).toEqual(['2 accounts already signed up with this mailbox or its aliases in 30 days']);
    expect(policy(verdict)).toBe('deny');
    expect(names(await h.score(signup('jane@gmail.com', spreadIp(9))))).toEqual([]);
  });
});

describe('rule: reset requests per IP', () => {
  const limits: LimitOptions = { resetAccountsPerIp: { challenge: 2, block: 4 } };
  const reset = (email: string, ip = '203.0.113.10'): Spec => ({ type: '$password_reset_request', user: email, ip });

  it('distinct accounts asking a reset: 0.7 / code 8 capped from the challenge tier, full weight / code 8 from the block tier', async () => {
    const h = harness({ only: { reset_enumeration: 0.95 }, limits });
    const verdicts: Verdict[] = [];
    for (let i = 1; i <= 5; i++) verdicts.push(await h.score(reset(`person${i}@example.com`)));
    expect(names(verdicts[0] as Verdict)).toEqual([]);
    expect(verdicts[1]?.signals).toEqual({ reset_enumeration: { weight: 0.7, code: 8, resetAccounts: 2 } });
    expect(verdicts[1]?.cap).toBe('challenge');
    expect(verdicts[1]?.reasons).toEqual(['password resets for 2 different accounts from this IP in 15 min']);
    expect(verdicts[3]?.signals).toEqual({ reset_enumeration: { weight: 0.95, code: 8, resetAccounts: 4 } });
    expect(verdicts[3]?.cap).toBeUndefined();
    expect(verdicts.map(policy)).toEqual(['allow', 'challenge', 'challenge', 'deny', 'deny']);
    // One person asking again, through aliases, is one account; another address counts apart.
    const again = harness({ only: { reset_enumeration: 0.95 }, limits });
    for (const email of ['ann@gmail.com', 'a.nn@gmail.com', 'ann+x@googlemail.com']) expect(names(await again.score(reset(email)))).toEqual([]);
    expect(names(await h.score(reset('person9@example.com', '203.0.113.11')))).toEqual([]);
  });

  it('scales with the population', async () => {
    const h = harness({ only: { reset_enumeration: 0.95 }, limits });
    await population(h, '203.0.113.10', 4);
    for (let i = 1; i <= 3; i++) expect(names(await h.score(reset(`person${i}@example.com`)))).toEqual([]);
    expect((await h.score(reset('person4@example.com'))).cap).toBe('challenge');
  });
});

describe('a weight of 0 removes a rule: from engine.rules, from the batch, from the verdict', () => {
  const LOGIN: Spec = { ip: '203.0.113.10', user: { email: 'alice@example.com', id: 'u-alice' }, device: 'dev-e' };
  interface Case {
    event: Spec;
    options?: HarnessOptions;
    /** Brings the store to where the rule fires on `event`. */
    fire?: (h: Harness) => Promise<unknown>;
  }
  const CASES: Record<string, Case> = {
    'ip deny list': { event: LOGIN, options: { denyIps: ['203.0.113.0/24'] } },
    'user agent and headers': { event: { ...LOGIN, ua: 'curl/8.4.0', headers: { Accept: '*/*' } } },
    'ip ranges': { event: LOGIN, options: { datacenterRanges: ['203.0.113.0/24'], proxyRanges: ['203.0.113.0/24'] } },
    email: { event: { ...LOGIN, type: '$registration', user: 'bot@mailinator.com' } },
    'attempts per IP': { event: LOGIN, options: { limits: { attemptsPerIp: { $login: { challenge: 1, block: 2 } } } } },
    'failed logins per IP': { event: LOGIN, options: { limits: { failedLoginsPerIp: { challenge: 1, block: 2 } } }, fire: (h) => h.report({ user: 'other@example.com' }, false) },
    'credential stuffing per IP': { event: LOGIN, options: { limits: { failedAccountsPerIp: 1 } }, fire: (h) => h.report({ user: 'other@example.com' }, false) },
    'accounts per IP': { event: LOGIN, options: { limits: { accountsPerIp: { challenge: 1, block: 2 } } } },
    'credential stuffing per range': { event: LOGIN, options: { limits: { failedAccountsPerRange: 1 } }, fire: (h) => h.report({ ip: '203.0.113.99', user: 'other@example.com' }, false) },
    'accounts per device': { event: LOGIN, options: { limits: { accountsPerDevice: { challenge: 1, block: 2 } } } },
    'credential stuffing per device': { event: LOGIN, options: { limits: { failedAccountsPerDevice: 1 } }, fire: (h) => h.report({ ip: spreadIp(1), device: 'dev-e', user: 'other@example.com' }, false) },
    'networks per device': {
      event: LOGIN,
      options: { limits: { networksPerDevice: 2 } },
      fire: async (h) => {
        await h.score({ ip: spreadIp(1), device: 'dev-e', user: 'b@example.com' });
        await h.score({ ip: spreadIp(2), device: 'dev-e', user: 'c@example.com' });
      },
    },
    'failed logins per account': { event: LOGIN, options: { limits: { failedLoginsPerAccount: 1 } }, fire: (h) => h.report({ ip: spreadIp(1), user: 'alice@example.com' }, false) },
    'attack mode': { event: LOGIN, options: { limits: { attackMinFailures: 1 } }, fire: (h) => h.report({ ip: spreadIp(1), user: 'victim@example.com' }, false) },
    'new networks per account': { event: LOGIN, options: { limits: { networksPerAccount: 1 } }, fire: (h) => h.report({ ip: spreadIp(1), user: 'alice@example.com' }, true) },
    'blocked user': { event: LOGIN, fire: (h) => h.set(KEYS.blockedUser('u-alice')) },
    'reported device': { event: LOGIN, fire: (h) => h.set(KEYS.reportedDevice('dev-e')) },
    'approved device': { event: LOGIN, fire: (h) => h.set(KEYS.approvedDevice('dev-e')) },
    'new device': { event: LOGIN, fire: (h) => h.report({ ip: spreadIp(1), device: 'dev-other', user: 'alice@example.com' }, true) },
    'sign-ups per mailbox': {
      event: { ...LOGIN, type: '$registration', user: 'alice@gmail.com' },
      options: { limits: { signupsPerMailbox: 1 } },
      fire: (h) => h.report({ type: '$registration', ip: spreadIp(1), user: 'a.lice+1@gmail.com' }, true),
    },
    'reset requests per IP': { event: { ...LOGIN, type: '$password_reset_request' }, options: { limits: { resetAccountsPerIp: { challenge: 1, block: 2 } } } },
  };

  it('every rule has a case', () => {
    expect(Object.keys(CASES).sort()).toEqual(RULES.map((r) => r.name).sort());
  });

  const off = (rule: (typeof RULES)[number]) => Object.fromEntries(rule.signals.map((n) => [n, 0])) as Partial<Record<SignalName, number>>;

  it.each(RULES.map((r) => [r.name, r] as const))('%s', async (_name, rule) => {
    const c = CASES[rule.name] as Case;
    // On: it fires.
    const on = harness(c.options);
    await c.fire?.(on);
    const firing = names(await on.score(c.event)).filter((n) => (rule.signals as readonly string[]).includes(n));
    expect(firing.length, `${rule.name} fires with the default weights`).toBeGreaterThan(0);
    // Off: not in the rules, not in the verdict.
    const without = harness({ ...c.options, weights: { ...c.options?.weights, ...off(rule) } });
    expect(without.engine.rules.map((r) => r.name)).toEqual(RULES.filter((r) => r !== rule).map((r) => r.name));
    await c.fire?.(without);
    expect(names(await without.score(c.event)).filter((n) => (rule.signals as readonly string[]).includes(n))).toEqual([]);
    // The batch, on fresh stores: each rule alone sends what it reads (and the counters a
    // decision keeps); the engine sends the union of its active rules' operations, each once.
    const opsOf = async (o: HarnessOptions) => {
      const h = harness(o);
      return (await h.batchesOf(() => h.score(c.event))).flat().map((op) => JSON.stringify(op));
    };
    const alone = new Map<string, string[]>();
    for (const r of RULES) alone.set(r.name, await opsOf({ ...c.options, only: Object.fromEntries(r.signals.map((n) => [n, WEIGHTS[n]])) }));
    const union = (rules: readonly (typeof RULES)[number][]) => [...new Set(rules.flatMap((r) => alone.get(r.name) ?? []))].sort();
    const all = await opsOf(c.options ?? {});
    const rest = await opsOf({ ...c.options, weights: { ...c.options?.weights, ...off(rule) } });
    expect(new Set(rest).size, 'each operation once').toBe(rest.length);
    expect([...all].sort()).toEqual(union(RULES));
    expect([...rest].sort()).toEqual(union(RULES.filter((r) => r !== rule)));
    const mine = alone.get(rule.name) ?? [];
    if (rule.reads.length === 0) expect(mine).toEqual([]);
  });

  it('a rule whose reads are all another’s drops no operation; one with counters of its own drops its writes', async () => {
    const event: Spec = LOGIN;
    const h = harness({ weights: { multiple_accounts_device: 0, multiple_networks_device: 0 } });
    const ops = (await h.batchesOf(() => h.score(event))).flat();
    // No distinct set of the device is added to by a decision any more.
    expect(ops.filter((op) => op.key.startsWith('v:dev:dev-e:'))).not.toContainEqual(expect.objectContaining({ member: expect.anything() }));
    const r = harness({ weights: { reset_enumeration: 0 } });
    const resetOps = (await r.batchesOf(() => r.score({ ...event, type: '$password_reset_request' }))).flat();
    expect(resetOps.filter((op) => op.type === 'distinct' && op.member !== undefined)).toEqual([]);
    const m = harness({ weights: { multiple_signups_mailbox: 0 } });
    const signupOps = (await m.batchesOf(() => m.score({ ...event, type: '$registration', user: 'alice@gmail.com' }))).flat();
    expect(signupOps.filter((op) => op.key.startsWith('v:mbox:'))).toEqual([]);
  });
});

describe('shared networks (all rules on)', () => {
  const OFFICE = '198.51.100.20';
  /** A morning at an office: `people` log in from the NAT, `typos` of them after a typo, `gaveUp` failing and giving up. */
  async function morning(h: Harness, o: { people: number; oneClient?: boolean; gaveUp: number; typos: number }) {
    for (let i = 0; i < o.people; i++) await h.succeed({ ip: OFFICE, device: o.oneClient ? 'one-jar' : `desk-${i}`, user: `staff${i}@example.com` });
    for (let i = 0; i < o.typos; i++) {
      await h.fail({ ip: OFFICE, device: `desk-${i}`, user: `staff${i}@example.com` });
      await h.succeed({ ip: OFFICE, device: `desk-${i}`, user: `staff${i}@example.com` });
    }
    // Visitors with a wrong password who give up: unresolved failures.
    for (let i = 0; i < o.gaveUp; i++) await h.fail({ ip: OFFICE, user: `visitor${i}@example.com` });
  }

  it('an office of 15 on their own browsers lifts the per-IP limits (× 4.75): typos and a few give-ups are no stuffing', async () => {
    // 11 give-ups: more than failedAccountsPerIp (5), under the (unscaled) range limit (12).
    const h = harness();
    await morning(h, { people: 15, typos: 15, gaveUp: 11 });
    const next = await h.score({ ip: OFFICE, device: 'desk-3', user: 'staff3@example.com' });
    expect(names(next)).toEqual([]);
    expect(policy(next)).toBe('allow');
    // The same successes from one client (one cookie jar logging into 15 accounts) are one
    // person: 11 unresolved accounts are stuffing.
    const jar = harness({ weights: { multiple_accounts_device: 0 } });
    await morning(jar, { people: 15, oneClient: true, typos: 0, gaveUp: 11 });
    const verdict = await jar.score({ ip: OFFICE, user: 'next@example.com' });
    expect(names(verdict)).toContain('credential_stuffing');
    expect(policy(verdict)).toBe('deny');
  });

  it('the population scale is capped at maxPopulationScale', async () => {
    const h = harness({ limits: { maxPopulationScale: 2 } });
    await morning(h, { people: 15, typos: 0, gaveUp: 10 });
    expect(names(await h.score({ ip: OFFICE, user: 'next@example.com' }))).toContain('credential_stuffing');
    const below = harness({ limits: { maxPopulationScale: 2 } });
    await morning(below, { people: 15, typos: 0, gaveUp: 9 });
    expect(names(await below.score({ ip: OFFICE, user: 'next@example.com' }))).not.toContain('credential_stuffing');
  });

  it('a challenged-only address is never blocked as stuffing (the cascade of issue 13), up to the accounts-per-IP block tier', async () => {
    const h = harness({ limits: { attackMinFailures: 10, accountsPerIp: { challenge: 20, block: 60 } } });
    // Stuffing elsewhere turns attack mode on.
    for (let i = 0; i < 10; i++) await h.fail({ ip: spreadIp(i), user: `victim${i}@example.com` });
    // Everyone behind a carrier NAT is unfamiliar there: challenged, and a challenge is never answered.
    const verdicts: Verdict[] = [];
    for (let i = 0; i < 59; i++) verdicts.push(await h.score({ ip: '198.51.100.30', user: `subscriber${i}@example.com` }));
    expect(verdicts.every((v) => policy(v) === 'challenge')).toBe(true);
    expect(verdicts.some((v) => names(v).includes('credential_stuffing'))).toBe(false);
    expect(verdicts.at(-1)?.cap).toBe('challenge');
    // At the block tier, 60 distinct accounts in a window from one address are refused (code 10): the bound is explicit.
    const sixtieth = await h.score({ ip: '198.51.100.30', user: 'subscriber59@example.com' });
    expect(sixtieth.signals?.multiple_accounts_ip).toMatchObject({ code: 10, accounts: 60 });
    expect(policy(sixtieth)).toBe('deny');
  });

  it('a carrier address whose people got in before is familiar to them: attack mode does not challenge them', async () => {
    const h = harness({ limits: { attackMinFailures: 10 } });
    // Their first logins, an hour ago, on new phones.
    for (let i = 0; i < 30; i++) await h.succeed({ ip: '198.51.100.31', device: `phone-${i}`, fresh: true, user: `subscriber${i}@example.com`, t: T0 - 4 * W });
    for (let i = 0; i < 10; i++) await h.fail({ ip: spreadIp(i), user: `victim${i}@example.com` });
    for (let i = 0; i < 30; i++) {
      const verdict = await h.succeed({ ip: '198.51.100.31', device: `phone-${i}`, user: `subscriber${i}@example.com` });
      expect(policy(verdict), `${i}: ${names(verdict)}`).toBe('allow');
    }
  });
});

describe('the documented defaults', () => {
  it('are the limits and weights these tests spell out (README: Limits, and the signals table)', () => {
    expect(DEFAULT_LIMITS).toEqual(compileLimits(LIMITS));
    expect(DEFAULT_WEIGHTS).toEqual(WEIGHTS);
    expect(compileLimits(undefined)).toBe(DEFAULT_LIMITS);
  });
});
