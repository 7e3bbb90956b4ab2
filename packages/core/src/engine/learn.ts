import type { ProviderEvent } from '../providers/types.js';
import type { StoreOp, StoreResult } from '../stores/types.js';
import type { VelocityLimits } from './config.js';
import { DEVICE_TTL_MS, devicesWith } from './devices.js';
import { isFamiliar, parseFamiliarity, withVisit } from './familiarity.js';
import { KEYS, scopes } from './keys.js';
import type { Subject } from './rules.js';
import type { Steps } from './steps.js';
import { type Summary, summaryValue } from './summary.js';

/** What learning needs from the engine. */
export interface LearnDeps {
  limits: VelocityLimits;
  /** Whether the decision of this same request found the account familiar (undefined: not known). */
  familiarOf(event: ProviderEvent): boolean | undefined;
  /** The member a sign-up adds to its mailbox's set: the keyed exact address (aliases are distinct members). */
  signupMember(event: ProviderEvent): string | undefined;
}

/**
 * The scopes whose unresolved failures count: the IP, its neighbourhood, the device, and
 * the site for unfamiliar logins. `onlyWithHistory`: leave out a device issued on this
 * request, which has failed nowhere yet (what a success resolves).
 */
function failureScopes(s: Subject, familiar: boolean, onlyWithHistory = false): string[] {
  const out: string[] = [];
  if (s.ip !== undefined) out.push(scopes.ip(s.ip));
  if (s.net !== undefined) out.push(scopes.net(s.net));
  if (s.device !== undefined && !(onlyWithHistory && s.returningDevice === undefined)) out.push(scopes.dev(s.device));
  if (!familiar) out.push(scopes.site);
  return out;
}

/**
 * The counts that summarise each scope an outcome touched (see `engine/summary.ts`), and
 * how to turn them into the summary values to store. A count the outcome's own writes
 * already return (a `hit` or a `distinct` on the same key and window, later in no reset)
 * is taken from them; the others are reads appended after the writes in the same batch.
 * `device`: whether to summarise the device (not after a success on a device issued on
 * this request: nothing of it can have changed but what the writes did, nothing to resolve).
 */
function summarise(s: Subject, L: VelocityLimits, now: number, ops: readonly StoreOp[], device: boolean): { reads: StoreOp[]; values(results: readonly StoreResult[]): StoreOp[] } {
  const W = L.windowMs;
  const reads: StoreOp[] = [];
  // Where each key's count already sits in the batch.
  const written = new Map<string, { slot: number; windowMs: number }>();
  ops.forEach((op, slot) => {
    if (op.type === 'hit' || op.type === 'distinct') written.set(op.key, { slot, windowMs: op.windowMs });
    else if (op.type === 'reset' || op.type === 'delete') written.delete(op.key);
  });
  // A field is a count, a count minus another (`minus`), or the smaller of two (`min`).
  type Field = [field: 'f' | 'u' | 'p' | 's' | 'n', slot: number, other?: { minus: number } | { min: number }];
  const plan: { key: string; ttlMs: number; fields: Field[] }[] = [];
  const count = (op: Extract<StoreOp, { type: 'count' | 'distinct' }>) => {
    const known = written.get(op.key);
    if (known !== undefined && known.windowMs === op.windowMs) return known.slot;
    return ops.length + reads.push(op) - 1;
  };
  const unresolved = (scope: string): Field => ['u', count({ type: 'distinct', key: KEYS.failedAccounts(scope), windowMs: W }), { minus: count({ type: 'distinct', key: KEYS.resolvedAccounts(scope), windowMs: W }) }];
  // The population is the smaller of the distinct accounts and the distinct devices that
  // succeeded: one client logging into many accounts is one person, not a crowd.
  const population = (scope: string): Field => ['p', count({ type: 'distinct', key: KEYS.population(scope), windowMs: L.populationWindowMs }), { min: count({ type: 'distinct', key: KEYS.populationDevices(scope), windowMs: L.populationWindowMs }) }];
  if (s.ip !== undefined) {
    const scope = scopes.ip(s.ip);
    plan.push({
      key: KEYS.summary(scope),
      ttlMs: Math.max(W, L.populationWindowMs),
      fields: [['f', count({ type: 'count', key: KEYS.ipFailures(s.ip), windowMs: W })], unresolved(scope), population(scope), ['s', count({ type: 'distinct', key: KEYS.ipSignups(s.ip), windowMs: W })]],
    });
  }
  if (s.login) {
    if (s.net !== undefined) {
      const scope = scopes.net(s.net);
      plan.push({ key: KEYS.summary(scope), ttlMs: Math.max(W, L.populationWindowMs), fields: [unresolved(scope), population(scope)] });
    }
    if (s.device !== undefined && device) plan.push({ key: KEYS.summary(scopes.dev(s.device)), ttlMs: W, fields: [unresolved(scopes.dev(s.device))] });
    if (s.account !== undefined) {
      plan.push({
        key: KEYS.summary(scopes.acct(s.account)),
        ttlMs: W,
        fields: [
          ['f', count({ type: 'count', key: KEYS.accountFailures(s.account), windowMs: W })],
          ['n', count({ type: 'distinct', key: KEYS.accountNewNetworks(s.account), windowMs: W })],
        ],
      });
    }
  }
  return {
    reads,
    values(results) {
      const at = (i: number) => Number(results[i] ?? 0);
      return plan.map(({ key, ttlMs, fields }) => {
        const summary: Summary = { t: now };
        for (const [field, slot, other] of fields) {
          const value = other === undefined ? at(slot) : 'min' in other ? Math.min(at(slot), at(other.min)) : at(slot) - at(other.minus);
          if (value > 0) summary[field] = value;
        }
        return { type: 'set', key, value: summaryValue(summary), ttlMs } as StoreOp;
      });
    },
  };
}

/**
 * Runs the outcome's writes with the reads that summarise its scopes, then stores the
 * summaries (and returns the writes' results). `device`: see {@link summarise}.
 */
function* writeAndSummarise(deps: LearnDeps, s: Subject, ops: StoreOp[], now: number, device = true): Steps<StoreResult[]> {
  const summary = summarise(s, deps.limits, now, ops, device);
  const results = yield summary.reads.length === 0 ? ops : [...ops, ...summary.reads];
  const values = summary.values(results);
  if (values.length > 0) yield values;
  return results;
}

/**
 * Learns from the outcome of an answered login or sign-up (Vigil's own blocks and
 * challenges are never answered, so they never count as failures nor as "no success"),
 * and from a challenge solution that failed (`$challenge` `$failed`: a failure of the address):
 * the batches it needs, in order (see `engine/steps.ts`).
 *
 * - A failure counts once per account in each scope (IP, neighbourhood, device, and
 *   site-wide when the login was unfamiliar), and stays *pending* there.
 * - A success (or sign-up) resolves the account's pending failures where it happened (a
 *   typo then the right password is not stuffing), makes the account familiar on this
 *   network and this device, records the device for the user, and adds the account and
 *   its device to the population of the address.
 * - An unfamiliar failure re-evaluates attack mode from distinct accounts (repeated
 *   logins of a few accounts cannot dilute it); when on, it stays on for a window.
 */
export function* learnOutcome(deps: LearnDeps, event: ProviderEvent, s: Subject): Steps<void> {
  const { limits: L } = deps;
  const W = L.windowMs;
  const succeeded = event.status === '$succeeded';
  const failed = event.status === '$failed';
  const registration = event.type === '$registration';
  if (event.type === '$challenge') {
    // A challenge solution that failed (wrong, replayed, foreign, tampered, expired) is
    // evidence against the address, as a failed login there is. A passed one teaches
    // nothing by itself: the login it let through does, once it succeeds.
    // A replay is its own client's solution presented again (bound to it): a reload, not
    // evidence; it gets nothing through either way.
    const replayed = event.properties?.reason === 'replayed';
    if (failed && !replayed && s.ip !== undefined) yield* writeAndSummarise(deps, s, [{ type: 'hit', key: KEYS.ipFailures(s.ip), windowMs: L.windowMs }], event.timestamp);
    return;
  }
  if (!(succeeded || (failed && event.type === '$login'))) return;
  const account = s.account;
  const now = event.timestamp;

  if (failed) {
    const ops: StoreOp[] = [];
    if (s.ip !== undefined) ops.push({ type: 'hit', key: KEYS.ipFailures(s.ip), windowMs: W });
    if (account === undefined) {
      yield* writeAndSummarise(deps, s, ops, now);
      return;
    }
    let familiar = deps.familiarOf(event);
    if (familiar === undefined) {
      // An outcome reported without its decision (trackLogin): read familiarity first.
      const [value] = yield [{ type: 'get', key: KEYS.familiarity(account) }];
      // No network to be unfamiliar on (no IP, or an allowlisted one): nothing site-wide to count.
      familiar = s.ip === undefined || isFamiliar(parseFamiliarity(value, now, L.familiarForMs), s.ip, s.returningDevice);
    }
    ops.push({ type: 'hit', key: KEYS.accountFailures(account), windowMs: W });
    // A person who mistyped their email fails on an account that is not theirs, then
    // succeeds on their own from the same browser: remember which account failed last.
    // With where it failed: only there can the owner's own success resolve it.
    if (s.device !== undefined) ops.push({ type: 'set', key: KEYS.deviceLastFailure(s.device), value: JSON.stringify([account, s.ip ?? null, s.net ?? null]), ttlMs: W });
    for (const scope of failureScopes(s, familiar)) {
      ops.push({ type: 'distinct', key: KEYS.failedAccounts(scope), windowMs: W, member: account });
      ops.push({ type: 'set', key: KEYS.pendingFailure(scope, account), value: '1', ttlMs: 2 * W });
    }
    let slot = -1;
    if (!familiar) {
      slot = ops.length;
      ops.push({ type: 'distinct', key: KEYS.failedAccounts(scopes.site), windowMs: W });
      ops.push({ type: 'distinct', key: KEYS.resolvedAccounts(scopes.site), windowMs: W });
      ops.push({ type: 'distinct', key: KEYS.siteUnfamiliarSucceeded(), windowMs: W });
    }
    const results = yield* writeAndSummarise(deps, s, ops, now);
    if (slot < 0) return;
    const failedAccounts = Number(results[slot] ?? 0);
    const resolved = Number(results[slot + 1] ?? 0);
    const succeededAccounts = Number(results[slot + 2] ?? 0);
    const pending = Math.max(0, failedAccounts - resolved);
    const involved = Math.max(1, failedAccounts + succeededAccounts - resolved);
    if (pending < L.attackMinFailures || pending < L.attackFailureRatio * involved) return;
    yield [{ type: 'set', key: KEYS.siteAttack(), value: String(now), ttlMs: W }];
    return;
  }

  // Succeeded: a login or a sign-up. First what it updates: pending failures, the
  // familiarity record, the user's device list.
  const userKey = event.user.id ?? account;
  // A device issued on this request has no history: nothing pending on it, no last failure.
  const pendingScopes = account === undefined || registration ? [] : [...failureScopes(s, true, true), scopes.site];
  const reads: StoreOp[] = pendingScopes.map((scope) => ({ type: 'get', key: KEYS.pendingFailure(scope, account as string) }));
  if (account !== undefined) reads.push({ type: 'get', key: KEYS.familiarity(account) });
  const lastFailureSlot = s.returningDevice !== undefined && account !== undefined && !registration ? reads.push({ type: 'get', key: KEYS.deviceLastFailure(s.returningDevice) }) - 1 : -1;
  if (lastFailureSlot >= 0) reads.push({ type: 'get', key: KEYS.accountTypoResolved(account as string) });
  const recordDevice = s.device !== undefined && userKey !== undefined;
  if (recordDevice) reads.push({ type: 'get', key: KEYS.userDevices(userKey as string) });
  const current = reads.length === 0 ? [] : yield reads;

  const ops: StoreOp[] = [];
  if (recordDevice) {
    const value = devicesWith(current[current.length - 1], { id: s.device as string, at: now, ip: event.context.ip, userAgent: event.context.userAgent });
    if (value !== undefined) ops.push({ type: 'set', key: KEYS.userDevices(userKey as string), value, ttlMs: DEVICE_TTL_MS });
  }
  // What a success changes on a device issued on this request is in the writes: no summary to recompute.
  const device = s.returningDevice !== undefined;
  if (account === undefined) {
    yield* writeAndSummarise(deps, s, ops, now, device);
    return;
  }
  const record = parseFamiliarity(current[pendingScopes.length], now, L.familiarForMs);
  const familiar = deps.familiarOf(event) ?? isFamiliar(record, s.ip, s.returningDevice);
  // A success (or a sign-up) makes its network and device familiar: the first login usually follows from there.
  const visit = withVisit(record, s.ip, s.device, now);
  if (visit !== undefined) ops.push({ type: 'set', key: KEYS.familiarity(account), value: visit, ttlMs: L.familiarForMs });
  if (registration) {
    if (s.ip !== undefined) ops.push({ type: 'distinct', key: KEYS.ipSignups(s.ip), windowMs: W, member: account });
    // One member per address created: resubmitting the same address is not another account.
    const member = deps.signupMember(event);
    if (s.signupMailbox !== undefined && member !== undefined) ops.push({ type: 'distinct', key: KEYS.mailboxSignups(s.signupMailbox), windowMs: L.signupsPerMailboxWindowMs, member });
    yield* writeAndSummarise(deps, s, ops, now, device);
    return;
  }
  ops.push({ type: 'reset', key: KEYS.accountFailures(account) });
  pendingScopes.forEach((scope, i) => {
    if (typeof current[i] !== 'string') return;
    ops.push({ type: 'distinct', key: KEYS.resolvedAccounts(scope), windowMs: W, member: account });
    ops.push({ type: 'delete', key: KEYS.pendingFailure(scope, account) });
  });
  // The same browser failed on another account just before: a mistyped email, resolved
  // where it happened (once: the marker goes). Not site-wide, where only the account's
  // own success resolves it. One account resolves one typo per window: a script that
  // pairs each stuffing attempt with a login to the account it owns resolves nothing more.
  const typo = lastFailureSlot < 0 ? undefined : parseLastFailure(current[lastFailureSlot]);
  if (typo !== undefined && typo.account !== account && typeof current[lastFailureSlot + 1] !== 'string') {
    for (const scope of failureScopes(s, true)) {
      if (!typoFailedIn(scope, typo, s)) continue;
      ops.push({ type: 'distinct', key: KEYS.resolvedAccounts(scope), windowMs: W, member: typo.account });
      ops.push({ type: 'delete', key: KEYS.pendingFailure(scope, typo.account) });
    }
    ops.push({ type: 'set', key: KEYS.accountTypoResolved(account), value: '1', ttlMs: W });
  }
  if (typo !== undefined) ops.push({ type: 'delete', key: KEYS.deviceLastFailure(s.device as string) });
  // Whoever logs in successfully from an address is one of the people behind it (and
  // behind its range).
  for (const scope of [s.ip === undefined ? undefined : scopes.ip(s.ip), s.net === undefined ? undefined : scopes.net(s.net)]) {
    if (scope === undefined) continue;
    ops.push({ type: 'distinct', key: KEYS.population(scope), windowMs: L.populationWindowMs, member: account });
    // A client without Vigil's cookie (an app, a cookie-less browser) stands for itself by its account.
    ops.push({ type: 'distinct', key: KEYS.populationDevices(scope), windowMs: L.populationWindowMs, member: s.device ?? `a:${account}` });
  }
  if (!familiar) {
    ops.push({ type: 'distinct', key: KEYS.siteUnfamiliarSucceeded(), windowMs: W, member: account });
    if (s.ip !== undefined) ops.push({ type: 'distinct', key: KEYS.accountNewNetworks(account), windowMs: W, member: s.ip });
  }
  yield* writeAndSummarise(deps, s, ops, now, device);
}

interface LastFailure {
  account: string;
  ip: string | null;
  net: string | null;
}

/** The device's last failed login (account, address, range), or undefined for anything else. */
function parseLastFailure(value: StoreResult | undefined): LastFailure | undefined {
  if (typeof value !== 'string' || value.length > 4096) return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (!Array.isArray(parsed) || typeof parsed[0] !== 'string') return undefined;
    const text = (x: unknown) => (typeof x === 'string' ? x : null);
    return { account: parsed[0], ip: text(parsed[1]), net: text(parsed[2]) };
  } catch {
    return undefined;
  }
}

/** Whether a scope of this success is one the mistyped login failed in (the device's always is). */
function typoFailedIn(scope: string, typo: LastFailure, s: Subject): boolean {
  if (s.ip !== undefined && scope === scopes.ip(s.ip)) return typo.ip === s.ip;
  if (s.net !== undefined && scope === scopes.net(s.net)) return typo.net === s.net;
  return true;
}
