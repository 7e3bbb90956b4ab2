import type { ProviderEvent } from '../providers/types.js';
import type { StoreOp, StoreResult } from '../stores/types.js';
import type { VelocityLimits } from './config.js';
import { KEYS, scopes } from './keys.js';
import type { Subject } from './rules.js';

/** What learning needs from the engine. */
export interface LearnDeps {
  limits: VelocityLimits;
  run(ops: StoreOp[], now: number): Promise<StoreResult[]>;
  /** The member a sign-up adds to its mailbox's set: the keyed exact address (aliases are distinct members). */
  signupMember(event: ProviderEvent): string | undefined;
  /** Adds the event's device to its user's list. */
  recordDevice(event: ProviderEvent, userKey: string | undefined): Promise<void>;
}

/** The scopes whose unresolved failures count: the IP, its neighbourhood, the device, and the site for unfamiliar logins. */
function failureScopes(s: Subject, familiar: boolean): string[] {
  const out: string[] = [];
  if (s.ip !== undefined) out.push(scopes.ip(s.ip));
  if (s.net !== undefined) out.push(scopes.net(s.net));
  if (s.device !== undefined) out.push(scopes.dev(s.device));
  if (!familiar) out.push(scopes.site);
  return out;
}

/**
 * Learns from the outcome of an answered login or sign-up (Vigil's own blocks and
 * challenges are never answered, so they never count as failures nor as "no success").
 *
 * - A failure counts once per account in each scope (IP, neighbourhood, device, and
 *   site-wide when the login was unfamiliar), and stays *pending* there.
 * - A success resolves the account's pending failures where it happened (a typo then the
 *   right password is not stuffing), makes the account familiar on this network and
 *   this device, and adds it to the population of the address and its neighbourhood
 *   when the device is returning (a browser that kept the cookie).
 * - An unfamiliar failure re-evaluates attack mode from distinct accounts (repeated
 *   logins of a few accounts cannot dilute it); when on, it stays on for a window.
 */
export async function learnOutcome(deps: LearnDeps, event: ProviderEvent, s: Subject, familiar: boolean): Promise<void> {
  const { limits: L, run } = deps;
  const W = L.windowMs;
  const succeeded = event.status === '$succeeded';
  const failed = event.status === '$failed';
  if (!succeeded && !failed) return;
  const account = s.account;
  const now = event.timestamp;

  if (event.type === '$registration') {
    if (!succeeded) return;
    await deps.recordDevice(event, event.user.id ?? account);
    const ops: StoreOp[] = [];
    // A sign-up makes its network and device familiar: the first login usually follows from there.
    if (account !== undefined) {
      if (s.ip !== undefined) ops.push({ type: 'set', key: KEYS.familiarNetwork(account, s.ip), value: '1', ttlMs: L.familiarForMs });
      if (s.device !== undefined) ops.push({ type: 'set', key: KEYS.familiarDevice(account, s.device), value: '1', ttlMs: L.familiarForMs });
      if (s.ip !== undefined) ops.push({ type: 'distinct', key: KEYS.ipSignups(s.ip), windowMs: W, member: account });
    }
    // One member per address created: resubmitting the same address is not another account.
    const member = deps.signupMember(event);
    if (s.signupMailbox !== undefined && member !== undefined) ops.push({ type: 'distinct', key: KEYS.mailboxSignups(s.signupMailbox), windowMs: L.signupsPerMailboxWindowMs, member });
    await run(ops, now);
    return;
  }
  if (event.type !== '$login') return;

  if (failed) {
    const ops: StoreOp[] = [];
    if (s.ip !== undefined) ops.push({ type: 'hit', key: KEYS.ipFailures(s.ip), windowMs: W });
    if (account === undefined) {
      await run(ops, now);
      return;
    }
    ops.push({ type: 'hit', key: KEYS.accountFailures(account), windowMs: W });
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
    const results = await run(ops, now);
    if (slot >= 0) {
      const failedAccounts = Number(results[slot] ?? 0);
      const resolved = Number(results[slot + 1] ?? 0);
      const succeededAccounts = Number(results[slot + 2] ?? 0);
      const pending = Math.max(0, failedAccounts - resolved);
      const involved = Math.max(1, failedAccounts + succeededAccounts - resolved);
      if (pending >= L.attackMinFailures && pending >= L.attackFailureRatio * involved) {
        await run([{ type: 'set', key: KEYS.siteAttack(), value: String(now), ttlMs: W }], now);
      }
    }
    return;
  }

  // Succeeded.
  await deps.recordDevice(event, event.user.id ?? account);
  if (account === undefined) return;
  // Every scope a failure of this account may be pending in, the site's included.
  const scopesHere = [...failureScopes(s, true), scopes.site];
  const pending = await run(
    scopesHere.map((scope) => ({ type: 'get', key: KEYS.pendingFailure(scope, account) })),
    now,
  );
  const ops: StoreOp[] = [{ type: 'reset', key: KEYS.accountFailures(account) }];
  scopesHere.forEach((scope, i) => {
    if (typeof pending[i] !== 'string') return;
    ops.push({ type: 'distinct', key: KEYS.resolvedAccounts(scope), windowMs: W, member: account });
    ops.push({ type: 'delete', key: KEYS.pendingFailure(scope, account) });
  });
  if (s.ip !== undefined) ops.push({ type: 'set', key: KEYS.familiarNetwork(account, s.ip), value: '1', ttlMs: L.familiarForMs });
  if (s.device !== undefined) ops.push({ type: 'set', key: KEYS.familiarDevice(account, s.device), value: '1', ttlMs: L.familiarForMs });
  // A browser that kept the cookie and logs in successfully is one of the people behind this address.
  if (s.returningDevice !== undefined) {
    if (s.ip !== undefined) ops.push({ type: 'distinct', key: KEYS.population(scopes.ip(s.ip)), windowMs: L.populationWindowMs, member: account });
    if (s.net !== undefined) ops.push({ type: 'distinct', key: KEYS.population(scopes.net(s.net)), windowMs: L.populationWindowMs, member: account });
  }
  if (!familiar) {
    ops.push({ type: 'distinct', key: KEYS.siteUnfamiliarSucceeded(), windowMs: W, member: account });
    if (s.ip !== undefined) ops.push({ type: 'distinct', key: KEYS.accountNewNetworks(account), windowMs: W, member: s.ip });
  }
  await run(ops, now);
}
