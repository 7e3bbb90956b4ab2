// learnOutcome (engine/learn.ts) through createEngine over a real MemoryStore: what an
// answered outcome writes, where, for how long, and what it never writes. Limits are
// explicit; the keys are the table's (engine/keys.ts).
import { describe, expect, it } from 'vitest';
import type { ScrubbedHeaders } from '../context/headers.js';
import type { EventStatus, EventType } from '../events.js';
import { localProvider } from '../providers/local.js';
import type { ProviderEvent } from '../providers/types.js';
import type { UserIdentity } from '../routing/routes.js';
import { MemoryStore } from '../stores/memory.js';
import type { StoreOp } from '../stores/types.js';
import { compileLimits, compileWeights, type LimitOptions } from './config.js';
import { createEngine } from './engine.js';
import { MAX_FAMILIAR, parseFamiliarity } from './familiarity.js';
import { IdentifierHasher } from './identifiers.js';
import { IpRangeSet } from './ip-ranges.js';
import { KEYS, scopes } from './keys.js';
import { readSummary } from './summary.js';

const SECRET = 'learn-test-secret-0123456789abcdef';
const MIN = 60_000;
const W = 15 * MIN;
const DAY = 24 * 60 * MIN;
const T0 = Math.floor(1_700_000_000_000 / W) * W + MIN;
const LIMITS: LimitOptions = { windowMs: W, familiarForMs: 30 * DAY, populationWindowMs: DAY, attackMinFailures: 3, attackFailureRatio: 0.5, signupsPerMailboxWindowMs: 30 * DAY };
const IP = '203.0.113.10';
const NET = '203.0.113.0/24';
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const HEADERS: ScrubbedHeaders = { Host: 'app.example.com', 'User-Agent': UA, Accept: 'text/html', 'Accept-Language': 'en', 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Dest': 'document' };

interface Spec {
  type?: EventType;
  status?: EventStatus;
  ip?: string | undefined;
  user?: string | UserIdentity;
  device?: string;
  fresh?: boolean;
  t?: number;
}
let requests = 0;
function ev(spec: Spec = {}): ProviderEvent {
  const event: ProviderEvent = {
    type: spec.type ?? '$login',
    status: spec.status ?? '$attempted',
    name: 'login',
    requestId: `req-${++requests}`,
    timestamp: spec.t ?? T0,
    context: { ip: 'ip' in spec ? spec.ip : IP, headers: HEADERS, userAgent: UA, ja3: undefined, resourceType: 'text/html', channel: undefined, method: 'POST', path: '/login', protocol: 'https' },
    user: typeof spec.user === 'string' ? { email: spec.user } : (spec.user ?? {}),
  };
  if (spec.device !== undefined) event.deviceId = spec.device;
  if (spec.fresh === true) event.deviceFresh = true;
  return event;
}

function harness(o: { limits?: LimitOptions; allowIps?: string[] } = {}) {
  const memory = new MemoryStore({ maxKeys: 10_000 });
  const batches: StoreOp[][] = [];
  const weights = compileWeights(undefined);
  const limits = compileLimits({ ...LIMITS, ...o.limits });
  const hasher = new IdentifierHasher(SECRET);
  const engine = createEngine({
    hasher,
    weights,
    limits,
    uaOptions: { weights, requireSecFetch: 'auto' },
    defaultClients: 'browser',
    run: async (ops, now) => {
      batches.push(ops.map((op) => ({ ...op })));
      return memory.execute(ops, now);
    },
    ...(o.allowIps === undefined ? {} : { allowIps: IpRangeSet.from(o.allowIps, 'allowIps') }),
  });
  const acct = (email: string) => engine.accountKey(ev({ user: email })) as string;
  /** The operations `fn` sent, flattened. */
  const opsOf = async (fn: () => Promise<unknown>): Promise<StoreOp[]> => {
    const before = batches.length;
    await fn();
    return batches.slice(before).flat();
  };
  /** Learns an outcome; `decided`: the decision of the same request ran first. */
  const learn = async (spec: Spec, ok: boolean, decided = false): Promise<StoreOp[]> => {
    const event = ev(spec);
    // As Vigil does: the decision's memo travels on the outcome's event.
    const memo = decided ? (await engine.score(event)).memo : undefined;
    return opsOf(() => engine.learn({ ...event, status: ok ? '$succeeded' : '$failed', ...(memo === undefined ? {} : { memo }) }));
  };
  const get = async (key: string, t = T0) => (await memory.execute([{ type: 'get', key }], t))[0];
  const distinct = async (key: string, windowMs = W, t = T0) => (await memory.execute([{ type: 'distinct', key, windowMs }], t))[0];
  return { engine, memory, batches, acct, opsOf, learn, get, distinct, limits };
}
type Op = StoreOp;
/** The evidence an outcome writes (its summaries apart: see the last block). */
const writes = (ops: Op[]) =>
  ops.filter((op) => !op.key.endsWith(':sum') && (op.type === 'set' || op.type === 'delete' || op.type === 'reset' || op.type === 'hit' || (op.type === 'distinct' && op.member !== undefined)));
const keysOf = (ops: Op[]) => ops.map((op) => op.key);

describe('learnOutcome: what is learned', () => {
  it('only answered outcomes of logins and sign-ups: decisions, other event types and failed sign-ups write nothing', async () => {
    const h = harness();
    for (const type of ['$password_reset_request', '$profile_update', '$custom', '$logout'] as EventType[]) {
      for (const status of ['$succeeded', '$failed'] as EventStatus[]) {
        expect(await h.opsOf(() => h.engine.learn(ev({ type, status, user: 'a@example.com', device: 'd1' }))), `${type} ${status}`).toEqual([]);
      }
    }
    expect(await h.opsOf(() => h.engine.learn(ev({ status: '$attempted', user: 'a@example.com' })))).toEqual([]);
    expect(writes(await h.opsOf(() => h.engine.learn(ev({ type: '$registration', status: '$failed', user: 'a@example.com', device: 'd1' }))))).toEqual([]);
  });

  it('a failure: the IP and account failure counters, and the account in each scope (IP, /24, device, site when unfamiliar), pending for two windows', async () => {
    const h = harness();
    const a = h.acct('victim@example.com');
    const ops = writes(await h.learn({ user: 'victim@example.com', device: 'dev-1' }, false));
    expect(ops).toEqual(
      expect.arrayContaining([
        { type: 'hit', key: KEYS.ipFailures(IP), windowMs: W },
        { type: 'hit', key: KEYS.accountFailures(a), windowMs: W },
        ...[scopes.ip(IP), scopes.net(NET), scopes.dev('dev-1'), scopes.site].flatMap((scope) => [
          { type: 'distinct', key: KEYS.failedAccounts(scope), windowMs: W, member: a },
          { type: 'set', key: KEYS.pendingFailure(scope, a), value: '1', ttlMs: 2 * W },
        ]),
      ]),
    );
    for (const scope of [scopes.ip(IP), scopes.net(NET), scopes.dev('dev-1'), scopes.site]) expect(await h.get(KEYS.pendingFailure(scope, a)), scope).toBe('1');
    // Pending for two windows, then gone.
    expect(await h.get(KEYS.pendingFailure(scopes.ip(IP), a), T0 + 2 * W - 1)).toBe('1');
    expect(await h.get(KEYS.pendingFailure(scopes.ip(IP), a), T0 + 2 * W)).toBeNull();
    // Nothing familiar, no population: a failure teaches only failure.
    expect(keysOf(ops)).not.toContain(KEYS.familiarity(a));
    expect(keysOf(ops).some((k) => k.endsWith(':pop') || k.endsWith(':popdev'))).toBe(false);
  });

  it('a familiar failure (the owner’s typo at home) is not counted site-wide', async () => {
    const h = harness();
    const a = h.acct('owner@example.com');
    await h.learn({ user: 'owner@example.com' }, true);
    const ops = writes(await h.learn({ user: 'owner@example.com' }, false, true));
    expect(keysOf(ops)).toContain(KEYS.failedAccounts(scopes.ip(IP)));
    expect(keysOf(ops)).not.toContain(KEYS.failedAccounts(scopes.site));
    expect(keysOf(ops)).not.toContain(KEYS.pendingFailure(scopes.site, a));
  });

  it('a failure without an account counts at the IP only; an allowlisted IP (or none) counts no IP, range or site scope', async () => {
    const h = harness({ allowIps: ['192.0.2.0/24'] });
    expect(writes(await h.learn({}, false))).toEqual([{ type: 'hit', key: KEYS.ipFailures(IP), windowMs: W }]);
    const a = h.acct('x@example.com');
    for (const ip of ['192.0.2.5', undefined]) {
      const ops = writes(await h.learn({ ip, user: 'x@example.com' }, false));
      expect(keysOf(ops).filter((k) => k.includes(':ip:') || k.includes(':net:') || k.includes('site')), String(ip)).toEqual([]);
      expect(keysOf(ops)).toContain(KEYS.accountFailures(a));
    }
  });

  it('a success resolves the account’s pending failures where it happened, not elsewhere; resets its failure count', async () => {
    const h = harness();
    const a = h.acct('alice@example.com');
    await h.learn({ user: 'alice@example.com', device: 'laptop' }, false);
    await h.learn({ ip: '198.51.100.9', user: 'alice@example.com' }, false);
    const ops = writes(await h.learn({ user: 'alice@example.com', device: 'laptop' }, true));
    for (const scope of [scopes.ip(IP), scopes.net(NET), scopes.dev('laptop'), scopes.site]) {
      expect(ops, scope).toContainEqual({ type: 'distinct', key: KEYS.resolvedAccounts(scope), windowMs: W, member: a });
      expect(ops, scope).toContainEqual({ type: 'delete', key: KEYS.pendingFailure(scope, a) });
      expect(await h.get(KEYS.pendingFailure(scope, a)), scope).toBeNull();
    }
    expect(ops).toContainEqual({ type: 'reset', key: KEYS.accountFailures(a) });
    // The failure at 198.51.100.9 stays pending there.
    expect(await h.get(KEYS.pendingFailure(scopes.ip('198.51.100.9'), a))).toBe('1');
    expect(keysOf(ops)).not.toContain(KEYS.resolvedAccounts(scopes.ip('198.51.100.9')));
    // Nothing pending: nothing resolved.
    const again = writes(await h.learn({ user: 'alice@example.com', device: 'laptop' }, true));
    expect(keysOf(again).filter((k) => k.endsWith(':fres'))).toEqual([]);
  });

  it('a success makes the account familiar on its network and device for familiarForMs', async () => {
    const h = harness();
    const a = h.acct('alice@example.com');
    const ops = writes(await h.learn({ user: 'alice@example.com', device: 'laptop', fresh: true }, true));
    const set = ops.find((op) => op.key === KEYS.familiarity(a));
    expect(set).toMatchObject({ type: 'set', ttlMs: h.limits.familiarForMs });
    const record = parseFamiliarity(await h.get(KEYS.familiarity(a)), T0, h.limits.familiarForMs);
    expect([...record.n.keys()]).toEqual([IP]);
    // The cookie issued on that request is the device the next login presents.
    expect([...record.d.keys()]).toEqual(['laptop']);
    // Entries older than familiarForMs no longer count.
    expect(parseFamiliarity(await h.get(KEYS.familiarity(a)), T0 + h.limits.familiarForMs + MIN, h.limits.familiarForMs)).toEqual({ n: new Map(), d: new Map() });
  });

  it(`an account's record keeps its ${MAX_FAMILIAR} most recent networks and devices`, async () => {
    const h = harness();
    const a = h.acct('traveller@example.com');
    for (let i = 0; i <= MAX_FAMILIAR; i++) await h.learn({ ip: `198.51.${i}.1`, device: `d${i}`, user: 'traveller@example.com', t: T0 + i * MIN }, true);
    const record = parseFamiliarity(await h.get(KEYS.familiarity(a), T0 + DAY), T0 + DAY, h.limits.familiarForMs);
    expect(record.n.size).toBe(MAX_FAMILIAR);
    expect(record.n.has('198.51.0.1')).toBe(false);
    expect(record.n.has(`198.51.${MAX_FAMILIAR}.1`)).toBe(true);
    expect(record.d.has('d0')).toBe(false);
  });

  it('a success adds the account and its device to the population of the address and its range (an app without a cookie stands for itself)', async () => {
    const h = harness();
    const a = h.acct('alice@example.com');
    const ops = writes(await h.learn({ user: 'alice@example.com', device: 'laptop' }, true));
    for (const scope of [scopes.ip(IP), scopes.net(NET)]) {
      expect(ops).toContainEqual({ type: 'distinct', key: KEYS.population(scope), windowMs: DAY, member: a });
      expect(ops).toContainEqual({ type: 'distinct', key: KEYS.populationDevices(scope), windowMs: DAY, member: 'laptop' });
    }
    const app = writes(await h.learn({ user: 'bob@example.com' }, true));
    expect(app).toContainEqual({ type: 'distinct', key: KEYS.populationDevices(scopes.ip(IP)), windowMs: DAY, member: `a:${h.acct('bob@example.com')}` });
  });

  it('an unfamiliar success counts site-wide and as a new network of the account; a familiar one does not', async () => {
    const h = harness();
    const a = h.acct('alice@example.com');
    const first = writes(await h.learn({ user: 'alice@example.com' }, true, true));
    expect(first).toContainEqual({ type: 'distinct', key: KEYS.siteUnfamiliarSucceeded(), windowMs: W, member: a });
    expect(first).toContainEqual({ type: 'distinct', key: KEYS.accountNewNetworks(a), windowMs: W, member: IP });
    const again = writes(await h.learn({ user: 'alice@example.com' }, true, true));
    expect(keysOf(again)).not.toContain(KEYS.siteUnfamiliarSucceeded());
    expect(keysOf(again)).not.toContain(KEYS.accountNewNetworks(a));
  });

  it('a sign-up: familiar network and device, the IP’s sign-ups, the mailbox’s (one member per exact address), the user’s devices', async () => {
    const h = harness();
    const a = h.acct('john.doe@gmail.com');
    const ops = writes(await h.learn({ type: '$registration', user: 'john.doe@gmail.com', device: 'new-phone', fresh: true }, true));
    expect(ops).toContainEqual({ type: 'distinct', key: KEYS.ipSignups(IP), windowMs: W, member: a });
    const record = parseFamiliarity(await h.get(KEYS.familiarity(a)), T0, h.limits.familiarForMs);
    expect(record).toEqual({ n: new Map([[IP, expect.any(Number)]]), d: new Map([['new-phone', expect.any(Number)]]) });
    expect(keysOf(ops)).toContain(KEYS.userDevices(a));
    const mailbox = ops.filter((op) => op.key.startsWith('v:mbox:'));
    expect(mailbox).toHaveLength(1);
    expect(mailbox[0]).toMatchObject({ type: 'distinct', windowMs: 30 * DAY });
    // Aliases are one mailbox (one key) but distinct accounts created (distinct members).
    const alias = writes(await h.learn({ type: '$registration', user: 'johndoe+x@googlemail.com' }, true)).filter((op) => op.key.startsWith('v:mbox:'));
    expect(alias[0]?.key).toBe(mailbox[0]?.key);
    expect(alias[0]?.type === 'distinct' && alias[0].member).not.toBe(mailbox[0]?.type === 'distinct' && mailbox[0].member);
    const same = writes(await h.learn({ type: '$registration', user: ' John.Doe@gmail.com ' }, true)).filter((op) => op.key.startsWith('v:mbox:'));
    expect(same[0]).toEqual(mailbox[0]);
    // No login evidence: no population, no failures reset, nothing resolved.
    expect(keysOf(ops).some((k) => k.endsWith(':pop') || k.endsWith(':fres') || k.startsWith('v:acct:'))).toBe(false);
  });
});

describe('learnOutcome: attack mode', () => {
  it('turns on (a value with the window’s TTL) when unresolved unfamiliar failed accounts reach attackMinFailures and the ratio', async () => {
    const h = harness({ limits: { attackMinFailures: 3, attackFailureRatio: 0.5 } });
    for (let i = 0; i < 2; i++) await h.learn({ ip: `198.51.${i}.1`, user: `victim${i}@example.com` }, false);
    expect(await h.get(KEYS.siteAttack())).toBeNull();
    const ops = await h.learn({ ip: '198.51.2.1', user: 'victim2@example.com' }, false);
    expect(ops).toContainEqual({ type: 'set', key: KEYS.siteAttack(), value: String(T0), ttlMs: W });
    expect(await h.get(KEYS.siteAttack(), T0 + W - 1)).toBe(String(T0));
    expect(await h.get(KEYS.siteAttack(), T0 + W)).toBeNull();
  });

  it('weighs distinct accounts: many successes of one account do not dilute it; as many distinct successes as failures (ratio 0.5) keep it on, more keep it off', async () => {
    const diluted = async (owned: number, logins: number) => {
      const h = harness({ limits: { attackMinFailures: 3, attackFailureRatio: 0.5 } });
      for (let i = 0; i < logins; i++) await h.learn({ ip: `10.0.${i}.1`, user: `owned${i % owned}@example.com` }, true);
      for (let i = 0; i < 3; i++) await h.learn({ ip: `198.51.${i}.1`, user: `victim${i}@example.com` }, false);
      return (await h.get(KEYS.siteAttack())) !== null;
    };
    expect(await diluted(1, 40)).toBe(true);
    expect(await diluted(3, 40)).toBe(true);
    expect(await diluted(4, 40)).toBe(false);
  });

  it('resolved failures do not count: a typo then success on a new network is a person', async () => {
    const h = harness({ limits: { attackMinFailures: 3 } });
    for (let i = 0; i < 10; i++) {
      await h.learn({ ip: `198.51.${i}.1`, user: `person${i}@example.com` }, false);
      await h.learn({ ip: `198.51.${i}.1`, user: `person${i}@example.com` }, true);
    }
    expect(await h.get(KEYS.siteAttack())).toBeNull();
  });
});

describe('learnOutcome: decided or reported outcomes', () => {
  it('an outcome of a decided request reuses the decision’s familiarity; one reported alone (trackLogin) reads it first', async () => {
    const h = harness();
    const a = h.acct('alice@example.com');
    const reported = await h.learn({ user: 'alice@example.com' }, false);
    expect(reported[0]).toEqual({ type: 'get', key: KEYS.familiarity(a) });
    const decided = await h.learn({ user: 'alice@example.com' }, false, true);
    expect(decided.filter((op) => op.type === 'get' && op.key === KEYS.familiarity(a))).toEqual([]);
    // A memo that is not the engine's own (another provider's, a forged one) is no answer: it reads.
    const forged = await h.opsOf(() => h.engine.learn({ ...ev({ user: 'alice@example.com' }), status: '$failed', memo: { familiar: true } }));
    expect(forged[0]).toEqual({ type: 'get', key: KEYS.familiarity(a) });
  });

  it('leaves a summary of each scope it touched, which decisions read in one operation', async () => {
    const h = harness();
    const a = h.acct('victim@example.com');
    await h.learn({ user: 'victim@example.com', device: 'jar' }, false);
    await h.learn({ user: 'other@example.com', device: 'jar' }, false);
    const summary = async (scope: string) => readSummary(await h.get(KEYS.summary(scope)), T0, W, DAY);
    expect(await summary(scopes.ip(IP))).toMatchObject({ f: 2, u: 2 });
    expect(await summary(scopes.net(NET))).toMatchObject({ u: 2 });
    expect(await summary(scopes.dev('jar'))).toMatchObject({ u: 2 });
    expect(await summary(scopes.acct(a))).toMatchObject({ f: 1 });
    // A success (from another browser: on 'jar' it would also clear 'other' as a mistyped
    // email) updates them: the account resolved at the IP, its failures reset.
    await h.learn({ user: 'victim@example.com', device: 'phone' }, true);
    expect((await summary(scopes.ip(IP))).u).toBe(1);
    expect((await summary(scopes.acct(a))).f).toBeUndefined();
    expect((await summary(scopes.ip(IP))).p).toBe(1);
  });

  it('a store failure while learning rejects (the caller counts it), and decisions still score', async () => {
    let fail = false;
    const memory = new MemoryStore({ maxKeys: 1000 });
    const provider = localProvider({ secret: SECRET, store: { name: 'flaky', execute: (ops, now) => (fail ? Promise.reject(new Error('down')) : memory.execute(ops, now)) } });
    fail = true;
    await expect(provider.log(ev({ status: '$failed', user: 'a@example.com' }))).rejects.toMatchObject({ name: 'VigilStoreError' });
    fail = false;
    expect((await provider.filter(ev({ user: 'a@example.com' }))).risk).toBe(0);
  });
});

describe('learnOutcome: the user’s devices (getDevicesForUser)', () => {
  it('lists the devices a user logged in or signed up from, most recent first, with their last IPs', async () => {
    // getDevicesForUser reads at Date.now(): the events happen just before it.
    const now = Date.now() - 10 * MIN;
    const provider = localProvider({ secret: SECRET, store: new MemoryStore({ maxKeys: 1000 }) });
    const at = (spec: Spec, t: number) => provider.log(ev({ ...spec, status: '$succeeded', t, user: { id: 'u1', email: 'alice@example.com' } }));
    await at({ type: '$registration', device: 'laptop' }, now);
    await at({ device: 'phone', ip: '198.51.100.1' }, now + MIN);
    await at({ device: 'laptop', ip: '198.51.100.2' }, now + 2 * MIN);
    await provider.log(ev({ status: '$failed', device: 'stranger', user: { id: 'u1' }, t: now + 3 * MIN }));
    const devices = await provider.getDevicesForUser('u1');
    expect(devices.map((d) => d.id)).toEqual(['laptop', 'phone']);
    expect(devices[0]).toMatchObject({ ips: ['198.51.100.2', IP], userAgent: UA, approved: false, reported: false, lastSeen: new Date(now + 2 * MIN).toISOString(), firstSeen: new Date(now).toISOString() });
    await provider.approveDevice('phone');
    expect((await provider.getDevicesForUser('u1'))[1]).toMatchObject({ id: 'phone', approved: true });
  });
});
