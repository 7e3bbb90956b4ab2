import type { ProviderEvent } from '../providers/types.js';
import type { StoreOp, StoreResult } from '../stores/types.js';
import { scaledLimit, type Tiers, type VelocityLimits } from './config.js';
import { isDisposableEmail, isValidEmail } from './email.js';
import { type Familiarity, isFamiliar } from './familiarity.js';
import type { Summary } from './summary.js';
import type { IpRangeSet } from './ip-ranges.js';
import { KEYS, scopes } from './keys.js';
import type { Clients } from './native-apps.js';
import type { Signal, SignalName } from './signals.js';
import { type UserAgentSignalOptions, userAgentSignals } from './user-agent.js';

/**
 * Who and what one event is about, keyed once for every rule: the IP's counting key and
 * neighbourhood (absent when there is no IP or it is allowlisted, so velocity skips it),
 * the account's keyed identifier, the device.
 */
export interface Subject {
  event: ProviderEvent;
  login: boolean;
  /** The IP's counting key (IPv4, IPv6 /64), for velocity; absent when allowlisted. */
  ip?: string;
  /** The IP's neighbourhood (/24, /48), for velocity; absent when allowlisted. */
  net?: string;
  /** The keyed account of a login or a reset request. */
  account?: string;
  /** The event's device id (fresh or returning). */
  device?: string;
  /** The device id when the client presented it (not issued on this request). */
  returningDevice?: string;
  /** The keyed mailbox of a sign-up (aliases together). */
  signupMailbox?: string;
  /** The user a block list and device list are keyed by: the user id, else the account. */
  userKey?: string;
}

/** What the rules share besides the subject. */
export interface RuleContext {
  weights: Readonly<Record<SignalName, number>>;
  limits: VelocityLimits;
  denyIps?: IpRangeSet;
  datacenter?: IpRangeSet;
  proxies?: IpRangeSet;
  uaOptions: UserAgentSignalOptions;
  defaultClients: Clients;
}

/**
 * Named store reads: each builds its operation for a subject, or nothing when it does
 * not apply. What learning concluded (failures, unresolved accounts, population) is one
 * summary value per scope; decisions write only what they count themselves (attempts,
 * accounts tried per IP and per device, networks per device, reset accounts).
 */
export const READS = {
  attempts: (s, L) => (s.ip === undefined ? undefined : { type: 'hit', key: KEYS.ipAttempts(s.ip, s.event.type), windowMs: L.windowMs }),
  ipSummary: (s) => (s.ip === undefined ? undefined : { type: 'get', key: KEYS.summary(scopes.ip(s.ip)) }),
  ipAccounts: (s, L) => (s.ip === undefined || !s.login ? undefined : { type: 'distinct', key: KEYS.ipAccounts(s.ip), windowMs: L.windowMs, member: s.account }),
  netSummary: (s) => (s.net === undefined || !s.login ? undefined : { type: 'get', key: KEYS.summary(scopes.net(s.net)) }),
  // Counted for fresh devices too: a client that keeps the cookie carries its history on.
  deviceAccounts: (s, L) => (s.device === undefined || !s.login ? undefined : { type: 'distinct', key: KEYS.deviceAccounts(s.device), windowMs: L.windowMs, member: s.account }),
  deviceNetworks: (s, L) => (s.device === undefined || !s.login ? undefined : { type: 'distinct', key: KEYS.deviceNetworks(s.device), windowMs: L.windowMs, member: s.ip }),
  deviceSummary: (s) => (s.returningDevice === undefined || !s.login ? undefined : { type: 'get', key: KEYS.summary(scopes.dev(s.returningDevice)) }),
  accountSummary: (s) => (s.account === undefined || !s.login ? undefined : { type: 'get', key: KEYS.summary(scopes.acct(s.account)) }),
  // Attack mode is one flag for the whole site (set by learn), read by every login with an account.
  siteAttack: (s) => (s.account === undefined || !s.login ? undefined : { type: 'get', key: KEYS.siteAttack() }),
  // Any event with an account: logins decide from it, and new_device applies to every event.
  familiarity: (s) => (s.account === undefined ? undefined : { type: 'get', key: KEYS.familiarity(s.account) }),
  blockedUser: (s) => (s.event.user.id === undefined ? undefined : { type: 'get', key: KEYS.blockedUser(s.event.user.id) }),
  reportedDevice: (s) => (s.returningDevice === undefined ? undefined : { type: 'get', key: KEYS.reportedDevice(s.returningDevice) }),
  approvedDevice: (s) => (s.returningDevice === undefined ? undefined : { type: 'get', key: KEYS.approvedDevice(s.returningDevice) }),
  mailboxSignups: (s, L) => (s.signupMailbox === undefined ? undefined : { type: 'distinct', key: KEYS.mailboxSignups(s.signupMailbox), windowMs: L.signupsPerMailboxWindowMs }),
  resetAccounts: (s, L) =>
    s.ip === undefined || s.account === undefined || s.event.type !== '$password_reset_request'
      ? undefined
      : { type: 'distinct', key: KEYS.ipResets(s.ip), windowMs: L.windowMs, member: s.account },
} satisfies Record<string, (s: Subject, limits: VelocityLimits) => StoreOp | undefined>;

/** The name of a store read. */
export type ReadName = keyof typeof READS;

/** What a rule decides from: the subject, the shared context and the batch's results. */
export interface Facts {
  s: Subject;
  ctx: RuleContext;
  /** A read's result, `undefined` when it did not apply. */
  read(name: ReadName): StoreResult | undefined;
  /** Whether the account is familiar on this network or this device. */
  familiar(): boolean;
  /** The account's familiarity record (networks and devices where it succeeded). */
  familiarity(): Familiarity;
  /** Whether attack mode is on (site-wide; see `VelocityLimits.attackMinFailures`). */
  attack(): boolean;
  /** What learning concluded about the IP, its range, the device or the account (valid fields only). */
  summary(read: 'ipSummary' | 'netSummary' | 'deviceSummary' | 'accountSummary'): Omit<Summary, 't'>;
}

/**
 * One rule of the engine: the reads it needs, the signals it may raise (for the README's
 * table, `degraded` and tests), and what it decides.
 */
export interface Rule {
  readonly name: string;
  readonly signals: readonly SignalName[];
  readonly reads: readonly ReadName[];
  /**
   * Whether the rule can decide about this subject, for rules whose reads do not say it
   * alone (default: every one of its reads applies). Rules that apply and need the store
   * are the ones a failed batch silences (`Verdict.degraded`).
   */
  applies?(s: Subject): boolean;
  decide(f: Facts, push: (signal: Signal) => void): void;
}

const num = (value: StoreResult | undefined): number | undefined => (typeof value === 'number' ? value : undefined);
const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/** A per-IP limit scaled by the population the address has shown (see {@link VelocityLimits}). */
function ipScaled(f: Facts, limit: number): number {
  const L = f.ctx.limits;
  return scaledLimit(limit, f.summary('ipSummary').p, L.householdSize, L.maxPopulationScale);
}

/** Tiers scaled alike. */
function scaledTiers(tiers: Tiers, scale: (limit: number) => number): Tiers {
  return { challenge: scale(tiers.challenge), block: scale(tiers.block) };
}

interface TieredSignal {
  name: SignalName;
  /** The key of the count in the signal's details. */
  detail: string;
  count: number | undefined;
  tiers: Tiers;
  /** The most it weighs between the two tiers. */
  challengeWeight: number;
  /** Threat codes below and from the block tier. */
  codes: readonly [number, number];
  /** Between the tiers the signal can only challenge. */
  capBelowBlock?: boolean;
}

/** A two-tier counter: a lighter signal from the challenge tier, the full one (its configured weight) from the block tier. */
function tiered(f: Facts, push: (signal: Signal) => void, t: TieredSignal, reason: (count: number) => string): void {
  const { count, tiers } = t;
  if (count === undefined || count < tiers.challenge) return;
  const weight = f.ctx.weights[t.name];
  const excessive = count >= tiers.block;
  push({
    name: t.name,
    weight: excessive ? weight : Math.min(weight, t.challengeWeight),
    code: excessive ? t.codes[1] : t.codes[0],
    ...(t.capBelowBlock === true && !excessive ? { cap: 'challenge' as const } : {}),
    reason: reason(count),
    details: { [t.detail]: count },
  });
}

const NON_REGISTRATION_EMAIL_WEIGHT = 0.2;

/** The engine's rules, in the order their reasons are listed. */
export const RULES: readonly Rule[] = [
  {
    name: 'ip deny list',
    signals: ['ip_denylisted'],
    reads: [],
    decide(f, push) {
      const ip = f.s.event.context.ip;
      if (ip !== undefined && f.ctx.denyIps?.has(ip)) push({ name: 'ip_denylisted', weight: f.ctx.weights.ip_denylisted, deny: true, reason: `IP ${ip} is on the deny list` });
    },
  },
  {
    name: 'user agent and headers',
    signals: ['web_crawler', 'http_client_library', 'headless_browser', 'missing_user_agent', 'missing_headers'],
    reads: [],
    decide(f, push) {
      const { context, clients } = f.s.event;
      for (const signal of userAgentSignals(context.userAgent, context.headers, f.ctx.uaOptions, { protocol: context.protocol, clients: clients ?? f.ctx.defaultClients })) push(signal);
    },
  },
  {
    name: 'ip ranges',
    signals: ['datacenter_ip', 'proxy_ip'],
    reads: [],
    decide(f, push) {
      const ip = f.s.event.context.ip;
      if (ip === undefined) return;
      if (f.ctx.datacenter?.has(ip)) push({ name: 'datacenter_ip', weight: f.ctx.weights.datacenter_ip, code: 13, reason: 'IP in a data-center range' });
      if (f.ctx.proxies?.has(ip)) push({ name: 'proxy_ip', weight: f.ctx.weights.proxy_ip, code: 15, reason: 'IP in a proxy / VPN range' });
    },
  },
  {
    name: 'email',
    signals: ['invalid_email', 'disposable_email_domain'],
    reads: [],
    decide(f, push) {
      // Trimmed as for the account key: phone keyboards append a space to an autocompleted address.
      const raw = f.s.event.user.email;
      if (typeof raw !== 'string') return;
      const email = raw.trim();
      // A disposable or malformed address at login says little; at sign-up it is the abuse itself.
      const registration = f.s.event.type === '$registration';
      const w = (weight: number) => (registration ? weight : Math.min(weight, NON_REGISTRATION_EMAIL_WEIGHT));
      if (!isValidEmail(email)) push({ name: 'invalid_email', weight: w(f.ctx.weights.invalid_email), reason: 'the email address is not valid' });
      else if (isDisposableEmail(email)) push({ name: 'disposable_email_domain', weight: w(f.ctx.weights.disposable_email_domain), reason: 'the email address is at a disposable-mail domain' });
    },
  },
  {
    name: 'attempts per IP',
    signals: ['high_activity_ip'],
    reads: ['attempts', 'ipSummary'],
    decide(f, push) {
      const L = f.ctx.limits;
      const type = f.s.event.type;
      const base = L.attemptsPerIp[type] ?? L.attemptsPerIp.default;
      // Sign-ups come from new devices, which have no returning-device population yet,
      // so an address's completed sign-ups count as its population there too (bounded lower).
      const scale =
        type === '$registration'
          ? (limit: number) => Math.max(scaledLimit(limit, f.summary('ipSummary').s, L.householdSize, L.maxSignupScale), ipScaled(f, limit))
          : (limit: number) => ipScaled(f, limit);
      const tiers = scaledTiers(base, scale);
      tiered(f, push, { name: 'high_activity_ip', detail: 'attempts', count: num(f.read('attempts')), tiers, challengeWeight: 0.6, codes: [5, 6] }, (n) => `${n} ${type} attempts from this IP in ${minutes(L.windowMs)}${tiers.challenge === base.challenge ? '' : ` (limit ${tiers.challenge} for the people this address has shown)`}`);
    },
  },
  {
    name: 'failed logins per IP',
    signals: ['failed_logins_ip'],
    reads: ['ipSummary'],
    applies: (s) => s.login,
    decide(f, push) {
      const L = f.ctx.limits;
      const tiers = scaledTiers(L.failedLoginsPerIp, (limit) => ipScaled(f, limit));
      tiered(f, push, { name: 'failed_logins_ip', detail: 'failures', count: f.s.login ? f.summary('ipSummary').f : undefined, tiers, challengeWeight: 0.6, codes: [5, 6] }, (n) => `${n} failed logins from this IP in ${minutes(L.windowMs)}`);
    },
  },
  {
    name: 'credential stuffing per IP',
    signals: ['credential_stuffing'],
    reads: ['ipSummary'],
    applies: (s) => s.login,
    decide(f, push) {
      const count = f.s.login ? f.summary('ipSummary').u : undefined;
      if (count === undefined || count < ipScaled(f, f.ctx.limits.failedAccountsPerIp)) return;
      push({ name: 'credential_stuffing', weight: f.ctx.weights.credential_stuffing, code: 10, reason: `failed logins on ${count} different accounts from this IP, not followed by a success`, details: { failedAccounts: count } });
    },
  },
  {
    name: 'accounts per IP',
    signals: ['multiple_accounts_ip'],
    reads: ['ipAccounts', 'ipSummary'],
    decide(f, push) {
      const tiers = scaledTiers(f.ctx.limits.accountsPerIp, (limit) => ipScaled(f, limit));
      tiered(f, push, { name: 'multiple_accounts_ip', detail: 'accounts', count: num(f.read('ipAccounts')), tiers, challengeWeight: 0.6, codes: [5, 10] }, (n) => `${n} different accounts tried from this IP`);
    },
  },
  {
    name: 'credential stuffing per range',
    signals: ['credential_stuffing_range'],
    reads: ['netSummary'],
    decide(f, push) {
      const L = f.ctx.limits;
      const count = f.summary('netSummary').u;
      if (count === undefined || count < scaledLimit(L.failedAccountsPerRange, f.summary('netSummary').p, L.householdSize, L.maxPopulationScale)) return;
      push({
        name: 'credential_stuffing_range',
        weight: f.ctx.weights.credential_stuffing_range,
        code: 10,
        // Neighbours share a range: never a block on a range's evidence alone.
        cap: 'challenge',
        reason: `failed logins on ${count} different accounts from this address's ${f.s.net?.endsWith('/24') ? '/24' : '/48'}, not followed by a success`,
        details: { failedAccounts: count },
      });
    },
  },
  {
    name: 'accounts per device',
    signals: ['multiple_accounts_device'],
    reads: ['deviceAccounts'],
    decide(f, push) {
      tiered(f, push, { name: 'multiple_accounts_device', detail: 'accounts', count: num(f.read('deviceAccounts')), tiers: f.ctx.limits.accountsPerDevice, challengeWeight: 0.6, codes: [5, 10] }, (n) => `${n} different accounts tried from this device`);
    },
  },
  {
    name: 'credential stuffing per device',
    signals: ['credential_stuffing_device'],
    reads: ['deviceSummary'],
    decide(f, push) {
      const count = f.summary('deviceSummary').u;
      if (count === undefined || count < f.ctx.limits.failedAccountsPerDevice) return;
      push({ name: 'credential_stuffing_device', weight: f.ctx.weights.credential_stuffing_device, code: 10, reason: `failed logins on ${count} different accounts from this device, not followed by a success`, details: { failedAccounts: count } });
    },
  },
  {
    name: 'networks per device',
    signals: ['multiple_networks_device'],
    reads: ['deviceNetworks', 'deviceAccounts'],
    decide(f, push) {
      const networks = num(f.read('deviceNetworks'));
      const accounts = num(f.read('deviceAccounts'));
      if (networks === undefined || accounts === undefined || networks < f.ctx.limits.networksPerDevice || accounts < 3) return;
      push({
        name: 'multiple_networks_device',
        weight: f.ctx.weights.multiple_networks_device,
        code: 18,
        cap: 'challenge',
        reason: `this device tried ${accounts} accounts from ${networks} networks in ${minutes(f.ctx.limits.windowMs)}`,
        details: { networks, accounts },
      });
    },
  },
  {
    name: 'failed logins per account',
    signals: ['high_activity_account'],
    reads: ['accountSummary', 'familiarity'],
    decide(f, push) {
      const failures = f.summary('accountSummary').f;
      // Attacks on an account from elsewhere must not challenge its owner at home or on their own device.
      if (failures === undefined || failures < f.ctx.limits.failedLoginsPerAccount || f.familiar()) return;
      push({ name: 'high_activity_account', weight: f.ctx.weights.high_activity_account, code: 4, cap: 'challenge', reason: `${failures} failed logins on this account in ${minutes(f.ctx.limits.windowMs)}`, details: { accountFailures: failures } });
    },
  },
  {
    name: 'attack mode',
    signals: ['unfamiliar_login_during_attack'],
    reads: ['siteAttack', 'familiarity'],
    decide(f, push) {
      if (!f.attack() || f.familiar()) return;
      push({
        name: 'unfamiliar_login_during_attack',
        weight: f.ctx.weights.unfamiliar_login_during_attack,
        code: 8,
        cap: 'challenge',
        reason: 'logins from unfamiliar networks and devices are failing at attack level site-wide, and this account never logged in from this network or this device',
      });
    },
  },
  {
    name: 'new networks per account',
    signals: ['multiple_networks_account'],
    reads: ['accountSummary', 'familiarity'],
    decide(f, push) {
      const networks = f.summary('accountSummary').n;
      if (networks === undefined || networks < f.ctx.limits.networksPerAccount || f.familiar()) return;
      push({
        name: 'multiple_networks_account',
        weight: f.ctx.weights.multiple_networks_account,
        code: 8,
        cap: 'challenge',
        reason: `this account logged in from ${networks} new networks in ${minutes(f.ctx.limits.windowMs)}`,
        details: { networks },
      });
    },
  },
  {
    name: 'blocked user',
    signals: ['blocked_user'],
    reads: ['blockedUser'],
    decide(f, push) {
      if (typeof f.read('blockedUser') === 'string') push({ name: 'blocked_user', weight: f.ctx.weights.blocked_user, deny: true, reason: 'the user is blocked' });
    },
  },
  {
    name: 'reported device',
    signals: ['reported_device'],
    reads: ['reportedDevice'],
    decide(f, push) {
      if (typeof f.read('reportedDevice') === 'string') push({ name: 'reported_device', weight: f.ctx.weights.reported_device, deny: true, reason: 'the device was reported' });
    },
  },
  {
    // The engine itself scales the risk of an approved device (× 1 − its weight, after the
    // signals): this rule only asks for the read, whatever new_device weighs.
    name: 'approved device',
    signals: ['approved_device'],
    reads: ['approvedDevice'],
    decide() {},
  },
  {
    name: 'new device',
    signals: ['new_device'],
    reads: ['familiarity', 'approvedDevice'],
    applies: (s) => s.device !== undefined && s.account !== undefined,
    decide(f, push) {
      const device = f.s.device;
      if (device === undefined || f.s.account === undefined || typeof f.read('approvedDevice') === 'string') return;
      const known = f.familiarity().d.size;
      if (known > 0 && !isFamiliar(f.familiarity(), undefined, device)) {
        push({ name: 'new_device', weight: f.ctx.weights.new_device, reason: 'a device this account has never logged in from', details: { knownDevices: known } });
      }
    },
  },
  {
    name: 'sign-ups per mailbox',
    signals: ['multiple_signups_mailbox'],
    reads: ['mailboxSignups'],
    decide(f, push) {
      const L = f.ctx.limits;
      const count = num(f.read('mailboxSignups'));
      if (count === undefined || count < L.signupsPerMailbox) return;
      push({
        name: 'multiple_signups_mailbox',
        weight: f.ctx.weights.multiple_signups_mailbox,
        code: 9,
        reason: `${count} accounts already signed up with this mailbox or its aliases in ${Math.round(L.signupsPerMailboxWindowMs / 86_400_000)} days`,
        details: { mailboxSignups: count },
      });
    },
  },
  {
    name: 'reset requests per IP',
    signals: ['reset_enumeration'],
    reads: ['resetAccounts', 'ipSummary'],
    decide(f, push) {
      // Many accounts asking for a reset from one address is enumeration, not forgetfulness:
      // a challenge first (a household shares an IP), refused from the block tier.
      const tiers = scaledTiers(f.ctx.limits.resetAccountsPerIp, (limit) => ipScaled(f, limit));
      tiered(
        f,
        push,
        { name: 'reset_enumeration', detail: 'resetAccounts', count: num(f.read('resetAccounts')), tiers, challengeWeight: 0.7, codes: [8, 8], capBelowBlock: true },
        (n) => `password resets for ${n} different accounts from this IP in ${minutes(f.ctx.limits.windowMs)}`,
      );
    },
  },
];
