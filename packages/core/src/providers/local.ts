import { VigilConfigError } from '../errors.js';
import { EVENT_TYPES, type EventType } from '../events.js';
import { checkKnownOptions } from '../config/options.js';
import { isDisposableEmail, isValidEmail, preloadDisposableDomains } from '../engine/email.js';
import { IdentifierHasher, ipCountingKey, normalizeIdentifier } from '../engine/identifiers.js';
import { mailboxKey } from '../engine/mailbox.js';
import { IpRangeSet } from '../engine/ip-ranges.js';
import { type Clients, checkClients } from '../engine/native-apps.js';
import { combineSignals, type Signal, type SignalName } from '../engine/signals.js';
import { userAgentSignals } from '../engine/user-agent.js';
import { MemoryStore } from '../stores/memory.js';
import type { Store, StoreOp, StoreResult } from '../stores/types.js';
import type { BlockedUser, DeviceRecord } from '../tracking/users.js';
import type { Provider, ProviderEvent, Verdict } from './types.js';

/** Two tiers of a per-IP counter: code 5 (abnormal) from `challenge`, code 6 (excessive) from `block`. */
export interface Tiers {
  challenge: number;
  block: number;
}

/** Velocity limits of the embedded engine. Counts are per sliding `windowMs`. */
export interface VelocityLimits {
  /** Length of the sliding window, ms. Default 15 minutes. */
  windowMs: number;
  /** Attempts per IP per event type (`default` for types not listed). */
  attemptsPerIp: Partial<Record<EventType, Tiers>> & { default: Tiers };
  /** Failed logins per IP. */
  failedLoginsPerIp: Tiers;
  /** Distinct accounts that failed to log in from one IP: credential stuffing (code 10) from here. */
  failedAccountsPerIp: number;
  /** Distinct accounts tried from one IP, failed or not: a challenge from here (shared NATs stay usable). */
  accountsPerIp: number;
  /**
   * Distinct accounts tried from one IP that has had no successful login in the window:
   * credential stuffing (code 10) from here, even when its attempts were challenged and
   * so never failed.
   */
  accountsPerIpWithoutSuccess: number;
  /** Failed logins on one account from any IP: a challenge (never a lock-out) from here. */
  failedLoginsPerAccount: number;
  /**
   * Attack mode, against credential stuffing spread over many IPs. Vigil counts, site
   * wide, the answered logins on an account from a network (IP, or IPv6 /64) where that
   * account never logged in before, and how many of those failed. People on a new
   * network mostly succeed; a stuffing run mostly fails. When those failures reach
   * `attackMinFailures` and `attackFailureRatio` of such logins, every login from an
   * unfamiliar network is challenged until the wave passes; logins from familiar
   * networks are untouched.
   */
  attackMinFailures: number;
  /** See `attackMinFailures`; 0..1. */
  attackFailureRatio: number;
  /** How long a successful login (or sign-up) makes its account + network familiar, ms. Default 90 days. */
  familiarForMs: number;
  /**
   * Accounts one mailbox may open (its aliases counted as one mailbox, see
   * `mailboxKey`) in `signupsPerMailboxWindowMs`: the next sign-up is refused
   * (`multiple_signups_mailbox`, code 9). Only successful sign-ups of distinct addresses count.
   */
  signupsPerMailbox: number;
  /** The window of `signupsPerMailbox`, ms. Default 30 days. */
  signupsPerMailboxWindowMs: number;
  /** Distinct accounts asking for a password reset from one IP: challenged from `challenge`, refused from `block` (`reset_enumeration`, code 8). */
  resetAccountsPerIp: Tiers;
}

/** Options of {@link localProvider}. */
export interface LocalProviderOptions {
  /** Where counters and block lists live. Default: a new `MemoryStore()`. */
  store?: Store;
  /**
   * Secret for the HMAC that keys emails, usernames and phones in the store. Every
   * instance of a fleet sharing a store needs the same one. Default: random per process.
   */
  secret?: string;
  /** IPs and CIDRs that skip velocity signals (your office, your monitoring). */
  allowIps?: string[];
  /** IPs and CIDRs always denied. */
  denyIps?: string[];
  /** Data-center ranges (code 13), as a list and/or a file with one CIDR per line. */
  datacenterRanges?: string[];
  datacenterRangesFile?: string;
  /** Open-proxy / VPN exit ranges (code 15), as a list and/or a file. */
  proxyRanges?: string[];
  proxyRangesFile?: string;
  /**
   * Expect Chromium's `Sec-Fetch-*` headers (Chromium ≥ 89). Chromium sends them only to
   * potentially trustworthy origins: `'auto'` (the default) expects them when the request
   * came over HTTPS (`RequestInfo.protocol`, as the framework sees it behind its trusted
   * proxies) or to a localhost / loopback `Host`, and not on `http://intranet:8080`;
   * `true` always, `false` never.
   */
  requireSecFetch?: boolean | 'auto';
  /**
   * Who the app's routes serve, for routes (and `createVigil`) that do not say:
   * `'browser'` (the default), `'app'` or `'any'`. See {@link Clients}.
   */
  clients?: Clients;
  /** Signal weights, 0..1 (0 turns a signal off). See the README's table. */
  weights?: Partial<Record<SignalName, number>>;
  /** Velocity limits; see {@link VelocityLimits}. Partial objects merge with the defaults. */
  limits?: Partial<Omit<VelocityLimits, 'attemptsPerIp'>> & { attemptsPerIp?: Partial<VelocityLimits['attemptsPerIp']> };
}

/** The embedded engine as a provider, with the block-list operations it serves. */
export interface LocalProvider extends Provider {
  /** The store in use. */
  readonly store: Store;
  /** Refuses every event of this user id (`ttlMs`: for a while; default for good). */
  blockUser(userId: string, options?: { reason?: string; ttlMs?: number }): Promise<void>;
  /** Lifts a user block. */
  unblockUser(userId: string): Promise<void>;
  /** Marks a device as reported: its events are denied. */
  reportDevice(deviceId: string, options?: { reason?: string; ttlMs?: number }): Promise<void>;
  /** Marks a device as approved by its user: its events weigh less. */
  approveDevice(deviceId: string): Promise<void>;
  /** Whether the user of an `identify` call, or its device, is blocked. */
  identify(event: ProviderEvent): Promise<{ blocked: boolean; reason?: string }>;
  /** The users on the block list, from the store. */
  listBlockedUsers(): Promise<BlockedUser[]>;
  /** The devices the engine has seen a user log in (or sign up) from. */
  getDevicesForUser(userId: string): Promise<DeviceRecord[]>;
}

/** Default signal weights. */
export const DEFAULT_WEIGHTS: Readonly<Record<SignalName, number>> = Object.freeze({
  web_crawler: 0.95,
  http_client_library: 0.95,
  headless_browser: 0.95,
  missing_user_agent: 0.95,
  missing_headers: 0.7,
  high_activity_ip: 0.9,
  failed_logins_ip: 0.9,
  credential_stuffing: 0.95,
  multiple_accounts_ip: 0.6,
  high_activity_account: 0.75,
  new_device: 0.3,
  unfamiliar_login_during_attack: 0.65,
  ip_denylisted: 1,
  datacenter_ip: 0.4,
  proxy_ip: 0.4,
  disposable_email_domain: 0.95,
  invalid_email: 0.7,
  blocked_user: 1,
  reported_device: 1,
  approved_device: 0.5,
  multiple_signups_mailbox: 0.95,
  reset_enumeration: 0.95,
});

/** Default velocity limits. */
export const DEFAULT_LIMITS: Readonly<VelocityLimits> = Object.freeze({
  windowMs: 15 * 60_000,
  attemptsPerIp: {
    default: { challenge: 60, block: 200 },
    $login: { challenge: 30, block: 100 },
    $registration: { challenge: 5, block: 20 },
    $password_reset_request: { challenge: 5, block: 20 },
  },
  failedLoginsPerIp: { challenge: 10, block: 40 },
  failedAccountsPerIp: 5,
  accountsPerIp: 20,
  accountsPerIpWithoutSuccess: 6,
  failedLoginsPerAccount: 5,
  attackMinFailures: 30,
  attackFailureRatio: 0.5,
  familiarForMs: 90 * 24 * 60 * 60_000,
  signupsPerMailbox: 3,
  signupsPerMailboxWindowMs: 30 * 24 * 60 * 60_000,
  resetAccountsPerIp: { challenge: 4, block: 10 },
});

const OPTION_KEYS = [
  'store',
  'secret',
  'allowIps',
  'denyIps',
  'datacenterRanges',
  'datacenterRangesFile',
  'proxyRanges',
  'proxyRangesFile',
  'requireSecFetch',
  'clients',
  'weights',
  'limits',
];

// Signals whose weight on events other than registration is lower: a disposable or
// malformed address at login says little; at sign-up it is the abuse itself.
const NON_REGISTRATION_EMAIL_WEIGHT = 0.2;

const MAX_DEVICES_PER_USER = 20;
const DEVICE_TTL_MS = 400 * 24 * 60 * 60_000;

type StoredDevice = Omit<DeviceRecord, 'approved' | 'reported'>;

/** Reads a user's device list from the store; anything unreadable is an empty list. */
function parseDevices(value: StoreResult | undefined): StoredDevice[] {
  if (typeof value !== 'string') return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? (parsed.filter((d) => d && typeof d === 'object' && typeof d.id === 'string') as StoredDevice[]) : [];
  } catch {
    return [];
  }
}

/**
 * Thrown (and turned into the configured failover) when the store fails. From `filter`
 * and `risk` it carries `verdict`: what the request alone says (User-Agent, headers, IP
 * lists, email), with `degraded` naming the store-backed signals that went quiet.
 * `createVigil` applies the stronger of that verdict and its `failover` strategy.
 *
 * @example
 * try { await provider.filter(event) } catch (err) {
 *   if (err instanceof VigilStoreError) console.log(err.verdict?.threatCode, err.verdict?.degraded)
 * }
 */
export class VigilStoreError extends Error {
  /** Always `'store error'`: the failover reason decisions report. */
  readonly failoverReason = 'store error';
  /** The verdict of the request-only signals, when a decision's batch failed. */
  readonly verdict: Verdict | undefined;
  constructor(cause: unknown, verdict?: Verdict) {
    super('Vigil store failed', { cause });
    this.name = 'VigilStoreError';
    this.verdict = verdict;
  }
}

// The store-backed signals each read of a decision's batch feeds: what goes quiet when
// the batch fails. Everything else is computed from the request alone.
const SIGNALS_OF_READ: Readonly<Record<string, readonly SignalName[]>> = {
  attempts: ['high_activity_ip'],
  failures: ['failed_logins_ip'],
  failedAccounts: ['credential_stuffing'],
  accounts: ['credential_stuffing', 'multiple_accounts_ip'],
  accountFailures: ['high_activity_account'],
  familiar: ['high_activity_account', 'unfamiliar_login_during_attack'],
  siteOutcomes: ['unfamiliar_login_during_attack'],
  blockedUser: ['blocked_user'],
  reportedDevice: ['reported_device'],
  approvedDevice: ['approved_device'],
  devices: ['new_device'],
  mailboxSignups: ['multiple_signups_mailbox'],
  resetAccounts: ['reset_enumeration'],
};

/** One two-tier counter signal: see {@link tiered}. */
interface TieredRule {
  name: SignalName;
  /** The key of the count in the signal's details. */
  detail: string;
  count: number | undefined;
  tiers: Tiers;
  /** The signal's full weight, from `tiers.block`. */
  weight: number;
  /** The most it weighs between the two tiers. */
  challengeWeight: number;
  /** Threat codes below and from the block tier. */
  codes: readonly [number, number];
  /** Between the tiers the signal can only challenge. */
  capBelowBlock?: boolean;
}

// Counters with two tiers (attempts, failures, reset accounts per IP) read alike: a
// lighter signal from the challenge tier, the full one from the block tier.
function tiered(push: (signal: Signal) => void, rule: TieredRule, reason: (count: number) => string): void {
  const { count, tiers } = rule;
  if (count === undefined || count < tiers.challenge) return;
  const excessive = count >= tiers.block;
  push({
    name: rule.name,
    weight: excessive ? rule.weight : Math.min(rule.weight, rule.challengeWeight),
    code: excessive ? rule.codes[1] : rule.codes[0],
    ...(rule.capBelowBlock === true && !excessive ? { cap: 'challenge' as const } : {}),
    reason: reason(count),
    details: { [rule.detail]: count },
  });
}

function checkTiers(value: unknown, option: string): Tiers {
  const tiers = value as Tiers;
  if (
    tiers === null ||
    typeof tiers !== 'object' ||
    !Number.isInteger(tiers.challenge) ||
    !Number.isInteger(tiers.block) ||
    tiers.challenge < 1 ||
    tiers.block <= tiers.challenge
  ) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', option, value, 'which is not { challenge, block } with whole numbers, challenge < block', 'Use e.g. { challenge: 30, block: 100 }.');
  }
  return tiers;
}

function compileLimits(limits: LocalProviderOptions['limits']): VelocityLimits {
  if (limits === undefined) return DEFAULT_LIMITS as VelocityLimits;
  if (limits === null || typeof limits !== 'object') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'limits', limits, 'which is not an object', 'Pass the limits to change, e.g. { failedLoginsPerAccount: 8 }.');
  }
  checkKnownOptions(limits, Object.keys(DEFAULT_LIMITS), 'limits');
  if (limits.attemptsPerIp !== undefined) {
    if (limits.attemptsPerIp === null || typeof limits.attemptsPerIp !== 'object' || Array.isArray(limits.attemptsPerIp)) {
      throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'limits.attemptsPerIp', limits.attemptsPerIp, 'which is not an object', 'Pass tiers per event type, e.g. { $login: { challenge: 30, block: 100 } }.');
    }
    // An event type misspelt here would leave its limit silently at the default.
    checkKnownOptions(limits.attemptsPerIp, ['default', ...EVENT_TYPES], 'limits.attemptsPerIp');
  }
  const merged: VelocityLimits = {
    ...DEFAULT_LIMITS,
    ...limits,
    attemptsPerIp: { ...DEFAULT_LIMITS.attemptsPerIp, ...(limits.attemptsPerIp ?? {}) },
  } as VelocityLimits;
  if (!Number.isInteger(merged.windowMs) || merged.windowMs < 1000) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'limits.windowMs', merged.windowMs, 'which is not a whole number of ms ≥ 1000', 'Use e.g. 900000 (15 minutes, the default).');
  }
  if (typeof merged.attackFailureRatio !== 'number' || !(merged.attackFailureRatio >= 0 && merged.attackFailureRatio <= 1)) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'limits.attackFailureRatio', merged.attackFailureRatio, 'which is not a ratio from 0 to 1', 'Use e.g. 0.5 (the default): attack mode starts when half the logins from unfamiliar networks fail.');
  }
  if (!Number.isInteger(merged.familiarForMs) || merged.familiarForMs < 60_000) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'limits.familiarForMs', merged.familiarForMs, 'which is not a whole number of ms ≥ 60000', 'Use e.g. 7776000000 (90 days, the default).');
  }
  if (!Number.isInteger(merged.signupsPerMailboxWindowMs) || merged.signupsPerMailboxWindowMs < 60_000) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'limits.signupsPerMailboxWindowMs', merged.signupsPerMailboxWindowMs, 'which is not a whole number of ms ≥ 60000', 'Use e.g. 2592000000 (30 days, the default).');
  }
  checkTiers(merged.resetAccountsPerIp, 'limits.resetAccountsPerIp');
  for (const key of ['failedAccountsPerIp', 'accountsPerIp', 'accountsPerIpWithoutSuccess', 'failedLoginsPerAccount', 'attackMinFailures', 'signupsPerMailbox'] as const) {
    if (!Number.isInteger(merged[key]) || merged[key] < 1) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', `limits.${key}`, merged[key], 'which is not a positive whole number', `Use e.g. ${DEFAULT_LIMITS[key]} (the default).`);
    }
  }
  checkTiers(merged.failedLoginsPerIp, 'limits.failedLoginsPerIp');
  for (const [event, tiers] of Object.entries(merged.attemptsPerIp)) checkTiers(tiers, `limits.attemptsPerIp.${event}`);
  return merged;
}

function compileWeights(weights: LocalProviderOptions['weights']): Record<SignalName, number> {
  if (weights === undefined) return { ...DEFAULT_WEIGHTS };
  if (weights === null || typeof weights !== 'object') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'weights', weights, 'which is not an object', 'Pass the weights to change, e.g. { datacenter_ip: 0 }.');
  }
  checkKnownOptions(weights, Object.keys(DEFAULT_WEIGHTS), 'weights');
  for (const [name, weight] of Object.entries(weights)) {
    if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', `weights.${name}`, weight, 'which is not a number from 0 to 1', 'Use 0 to turn the signal off, up to 1 for certainty.');
    }
  }
  return { ...DEFAULT_WEIGHTS, ...weights };
}

function ranges(list: string[] | undefined, file: string | undefined, option: string): IpRangeSet | undefined {
  const sets: IpRangeSet[] = [];
  if (list !== undefined) sets.push(IpRangeSet.from(list, option));
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '') {
      throw new VigilConfigError('VIGIL_E_OPTION_TYPE', `${option}File`, file, 'which is not a file path', 'Pass the path of a text file with one CIDR per line.');
    }
    sets.push(IpRangeSet.fromFile(file, `${option}File`));
  }
  if (sets.length === 0) return undefined;
  if (sets.length === 1) return sets[0];
  const [a, b] = sets as [IpRangeSet, IpRangeSet];
  return { has: (ip: string) => a.has(ip) || b.has(ip) } as IpRangeSet;
}

/**
 * The embedded risk engine, Vigil's default provider: it scores `filter` / `risk`
 * events from the request alone (declared automation, false representation, IP lists,
 * email) and from velocity in the store (attempts, failures and distinct accounts per
 * IP, failures per account), and learns from `log` outcomes. One decision is one store
 * batch. Works offline, with no service.
 *
 * @example
 * const vigil = createVigil({
 *   mode: 'blocking',
 *   routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
 *   provider: localProvider({ secret: process.env.VIGIL_SECRET, denyIps: ['198.51.100.0/24'] }),
 * })
 */
export function localProvider(options: LocalProviderOptions = {}): LocalProvider {
  if (options === null || typeof options !== 'object') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'localProvider', options, 'which is not an object', 'Pass an options object or nothing.');
  }
  checkKnownOptions(options, OPTION_KEYS, '');
  if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret.length < 16)) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'secret', options.secret === undefined ? undefined : '(hidden)', 'which is not a string of at least 16 characters', 'Use a long random string shared by every instance, e.g. from `openssl rand -base64 32`.');
  }
  const store = options.store ?? new MemoryStore();
  const ownsStore = options.store === undefined;
  if (typeof store?.execute !== 'function') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'store', store, 'which has no execute() method', 'Pass a Store such as new MemoryStore() or new RedisStore(...).');
  }
  if ((store as Store).shared === true && options.secret === undefined) {
    // A random key per process would key each instance's emails differently: per-account
    // counters and block lists would silently stop adding up across the fleet.
    throw new VigilConfigError(
      'VIGIL_E_SECRET_REQUIRED',
      'secret',
      options.secret,
      `while the store ("${String(store.name)}") is shared by every instance, which must key identifiers alike`,
      'Pass the same `secret` to every instance, e.g. from an environment variable: localProvider({ store, secret: process.env.VIGIL_SECRET }) (a long random string, e.g. from `openssl rand -base64 32`).',
    );
  }
  if (options.requireSecFetch !== undefined && typeof options.requireSecFetch !== 'boolean' && options.requireSecFetch !== 'auto') {
    throw new VigilConfigError(
      'VIGIL_E_OPTION_VALUE',
      'requireSecFetch',
      options.requireSecFetch,
      "which is not 'auto', true or false",
      "Leave it out ('auto': expect Sec-Fetch-* from Chromium where it sends them, on HTTPS and localhost), or use true (always) or false (never).",
    );
  }
  const defaultClients = checkClients(options.clients, 'clients') ?? 'browser';
  const hasher = new IdentifierHasher(options.secret);
  const weights = compileWeights(options.weights);
  const limits = compileLimits(options.limits);
  const allowIps = options.allowIps === undefined ? undefined : IpRangeSet.from(options.allowIps, 'allowIps');
  const denyIps = options.denyIps === undefined ? undefined : IpRangeSet.from(options.denyIps, 'denyIps');
  const datacenter = ranges(options.datacenterRanges, options.datacenterRangesFile, 'datacenterRanges');
  const proxies = ranges(options.proxyRanges, options.proxyRangesFile, 'proxyRanges');
  const uaOptions = { weights, requireSecFetch: options.requireSecFetch ?? 'auto' };
  preloadDisposableDomains();
  const W = limits.windowMs;

  const accountKey = (event: ProviderEvent): string | undefined => {
    const { email, username, phone, id } = event.user;
    // Aliases of one mailbox (Gmail dots, +tags...) are one account; other addresses key as before.
    if (email !== undefined) return hasher.hash('email', mailboxKey(email));
    if (username !== undefined) return hasher.hash('username', normalizeIdentifier(username));
    if (phone !== undefined) return hasher.hash('phone', phone.replace(/[\s().-]/g, ''));
    if (id !== undefined) return hasher.hash('id', id);
    return undefined;
  };

  // Familiarity read by a decision, for the outcome of the same request: keyed by the
  // request's context object, which the outcome event shares with the decision's. A
  // WeakMap: nothing to bound or evict (a string-keyed map cost ~3 µs a decision).
  const familiarByRequest = new WeakMap<object, boolean>();

  const run = async (ops: StoreOp[], now: number): Promise<StoreResult[]> => {
    if (ops.length === 0) return [];
    try {
      return await store.execute(ops, now);
    } catch (error) {
      throw new VigilStoreError(error);
    }
  };

  const score = async (event: ProviderEvent): Promise<Verdict> => {
    const { context } = event;
    const ip = context.ip;
    const signals: Signal[] = [];
    const push = (signal: Signal) => {
      if (signal.weight > 0) signals.push(signal);
    };

    if (ip !== undefined && denyIps?.has(ip)) {
      push({ name: 'ip_denylisted', weight: weights.ip_denylisted, deny: true, reason: `IP ${ip} is on the deny list` });
    }
    const allowlisted = ip !== undefined && allowIps?.has(ip) === true;
    const uaRequest = { protocol: context.protocol, clients: event.clients ?? defaultClients };
    for (const signal of userAgentSignals(context.userAgent, context.headers, uaOptions, uaRequest)) push(signal);
    if (ip !== undefined && datacenter?.has(ip)) push({ name: 'datacenter_ip', weight: weights.datacenter_ip, code: 13, reason: 'IP in a data-center range' });
    if (ip !== undefined && proxies?.has(ip)) push({ name: 'proxy_ip', weight: weights.proxy_ip, code: 15, reason: 'IP in a proxy / VPN range' });

    // Trimmed as for the account key: phone keyboards append a space to an autocompleted
    // address, and apps usually trim it before use.
    const email = typeof event.user.email === 'string' ? event.user.email.trim() : undefined;
    if (email !== undefined) {
      const registration = event.type === '$registration';
      if (!isValidEmail(email)) {
        push({ name: 'invalid_email', weight: registration ? weights.invalid_email : Math.min(weights.invalid_email, NON_REGISTRATION_EMAIL_WEIGHT), reason: 'the email address is not valid' });
      } else if (isDisposableEmail(email)) {
        push({
          name: 'disposable_email_domain',
          weight: registration ? weights.disposable_email_domain : Math.min(weights.disposable_email_domain, NON_REGISTRATION_EMAIL_WEIGHT),
          reason: 'the email address is at a disposable-mail domain',
        });
      }
    }

    // One batch: every read and write of this decision in one store round trip.
    const ops: StoreOp[] = [];
    const slots: Record<string, number> = {};
    const add = (name: string, op: StoreOp) => {
      slots[name] = ops.length;
      ops.push(op);
    };
    const isLogin = event.type === '$login';
    const account = isLogin ? accountKey(event) : undefined;
    const ipKey = ip === undefined ? undefined : ipCountingKey(ip);
    if (ipKey !== undefined && !allowlisted) {
      add('attempts', { type: 'hit', key: `v:ip:${ipKey}:ev:${event.type}`, windowMs: W });
      if (isLogin) {
        add('failures', { type: 'count', key: `v:ip:${ipKey}:fail`, windowMs: W });
        add('failedAccounts', { type: 'distinct', key: `v:ip:${ipKey}:facct`, windowMs: W });
        add('accounts', { type: 'distinct', key: `v:ip:${ipKey}:acct`, windowMs: W, ...(account === undefined ? {} : { member: account }) });
        add('successes', { type: 'count', key: `v:ip:${ipKey}:ok`, windowMs: W });
      }
    }
    if (account !== undefined) {
      add('accountFailures', { type: 'count', key: `v:acct:${account}:fail`, windowMs: W });
      if (ipKey !== undefined) add('familiar', { type: 'get', key: `k:${account}:${ipKey}` });
    }
    if (isLogin && account !== undefined && ipKey !== undefined) {
      // Site-wide outcomes of unfamiliar logins, counted when the app answered (see
      // learn): requests Vigil stopped itself must not dilute the failure ratio.
      add('siteOutcomes', { type: 'count', key: 'v:site:unfamiliar', windowMs: W });
      add('siteFailures', { type: 'count', key: 'v:site:unfamiliar:fail', windowMs: W });
    }
    if (event.user.id !== undefined) add('blockedUser', { type: 'get', key: `b:user:${event.user.id}` });
    const userKey = event.user.id ?? account;
    if (event.deviceId !== undefined) {
      add('reportedDevice', { type: 'get', key: `b:device:${event.deviceId}` });
      add('approvedDevice', { type: 'get', key: `a:device:${event.deviceId}` });
      if (userKey !== undefined) add('devices', { type: 'get', key: `d:user:${userKey}` });
    }
    // Sign-ups are counted per mailbox (aliases together), whatever the IP.
    const signupMailbox = event.type === '$registration' && typeof event.user.email === 'string' ? hasher.hash('email', mailboxKey(event.user.email)) : undefined;
    if (signupMailbox !== undefined) add('mailboxSignups', { type: 'distinct', key: `v:mbox:${signupMailbox}:signup`, windowMs: limits.signupsPerMailboxWindowMs });
    const resetAccount = event.type === '$password_reset_request' && ipKey !== undefined && !allowlisted ? accountKey(event) : undefined;
    if (resetAccount !== undefined) add('resetAccounts', { type: 'distinct', key: `v:ip:${ipKey}:reset`, windowMs: W, member: resetAccount });
    let results: StoreResult[];
    try {
      results = await run(ops, event.timestamp);
    } catch (error) {
      // Request-only signals keep deciding; only those that needed the batch go quiet.
      const degraded = [...new Set(Object.keys(slots).flatMap((read) => SIGNALS_OF_READ[read] ?? []))].filter((name) => weights[name] > 0);
      const partial = combineSignals(signals);
      const verdict: Verdict = { risk: partial.risk, signals: partial.signals, reasons: partial.reasons, degraded };
      if (partial.threatCode !== undefined) verdict.threatCode = partial.threatCode;
      if (partial.action !== undefined) verdict.action = partial.action;
      throw new VigilStoreError((error as Error).cause ?? error, verdict);
    }
    const read = (name: string): StoreResult | undefined => (slots[name] === undefined ? undefined : results[slots[name] as number]);

    const attempts = read('attempts') as number | undefined;
    const attemptTiers = limits.attemptsPerIp[event.type] ?? limits.attemptsPerIp.default;
    tiered(push, { name: 'high_activity_ip', detail: 'attempts', count: attempts, tiers: attemptTiers, weight: weights.high_activity_ip, challengeWeight: 0.6, codes: [5, 6] }, (n) => `${n} ${event.type} attempts from this IP in ${W / 60_000} min`);
    const failures = read('failures') as number | undefined;
    tiered(push, { name: 'failed_logins_ip', detail: 'failures', count: failures, tiers: limits.failedLoginsPerIp, weight: weights.failed_logins_ip, challengeWeight: 0.6, codes: [5, 6] }, (n) => `${n} failed logins from this IP in ${W / 60_000} min`);
    const failedAccounts = read('failedAccounts') as number | undefined;
    const accounts = read('accounts') as number | undefined;
    const successes = read('successes') as number | undefined;
    if (failedAccounts !== undefined && failedAccounts >= limits.failedAccountsPerIp) {
      push({ name: 'credential_stuffing', weight: weights.credential_stuffing, code: 10, reason: `failed logins on ${failedAccounts} different accounts from this IP`, details: { failedAccounts } });
    } else if (accounts !== undefined && successes === 0 && accounts >= limits.accountsPerIpWithoutSuccess) {
      push({
        name: 'credential_stuffing',
        weight: weights.credential_stuffing,
        code: 10,
        reason: `${accounts} different accounts tried from this IP and not one successful login`,
        details: { accounts, successes },
      });
    }
    if (accounts !== undefined && accounts >= limits.accountsPerIp) {
      push({ name: 'multiple_accounts_ip', weight: weights.multiple_accounts_ip, code: 5, reason: `${accounts} different accounts tried from this IP`, details: { accounts } });
    }
    // A login from a network where this account already logged in is its owner's habit:
    // attacks on the account (from elsewhere) must not challenge the owner at home.
    const familiar = typeof read('familiar') === 'string';
    // The outcome of this same request will need it: remember it, so learning is one batch.
    if (slots.familiar !== undefined) familiarByRequest.set(event.context, familiar);
    const accountFailures = read('accountFailures') as number | undefined;
    if (!familiar && accountFailures !== undefined && accountFailures >= limits.failedLoginsPerAccount) {
      push({
        name: 'high_activity_account',
        weight: weights.high_activity_account,
        code: 4,
        cap: 'challenge',
        reason: `${accountFailures} failed logins on this account in ${W / 60_000} min`,
        details: { accountFailures },
      });
    }
    const siteAttempts = read('siteOutcomes') as number | undefined;
    const siteFailures = read('siteFailures') as number | undefined;
    if (
      account !== undefined &&
      ipKey !== undefined &&
      !familiar &&
      siteAttempts !== undefined &&
      siteFailures !== undefined &&
      siteFailures >= limits.attackMinFailures &&
      siteFailures >= limits.attackFailureRatio * siteAttempts
    ) {
      push({
        name: 'unfamiliar_login_during_attack',
        weight: weights.unfamiliar_login_during_attack,
        code: 8,
        cap: 'challenge',
        reason: `logins from unfamiliar networks are failing at attack level site-wide (${siteFailures} of ${siteAttempts}) and this account never logged in from this network`,
        details: { siteFailures, siteAttempts },
      });
    }
    if (typeof read('blockedUser') === 'string') push({ name: 'blocked_user', weight: weights.blocked_user, deny: true, reason: 'the user is blocked' });
    if (typeof read('reportedDevice') === 'string') push({ name: 'reported_device', weight: weights.reported_device, deny: true, reason: 'the device was reported' });
    const approved = typeof read('approvedDevice') === 'string';
    const known = parseDevices(read('devices'));
    if (!approved && event.deviceId !== undefined && known.length > 0 && !known.some((d) => d.id === event.deviceId)) {
      push({ name: 'new_device', weight: weights.new_device, reason: 'a device this user has never logged in from', details: { knownDevices: known.length } });
    }
    const mailboxSignups = read('mailboxSignups') as number | undefined;
    if (mailboxSignups !== undefined && mailboxSignups >= limits.signupsPerMailbox) {
      push({
        name: 'multiple_signups_mailbox',
        weight: weights.multiple_signups_mailbox,
        code: 9,
        reason: `${mailboxSignups} accounts already signed up with this mailbox or its aliases in ${Math.round(limits.signupsPerMailboxWindowMs / 86_400_000)} days`,
        details: { mailboxSignups },
      });
    }
    // Many different accounts asking for a reset from one address is enumeration, not
    // forgetfulness: a challenge first (a household shares an IP), refused from the block tier.
    tiered(
      push,
      { name: 'reset_enumeration', detail: 'resetAccounts', count: read('resetAccounts') as number | undefined, tiers: limits.resetAccountsPerIp, weight: weights.reset_enumeration, challengeWeight: 0.7, codes: [8, 8], capBelowBlock: true },
      (n) => `password resets for ${n} different accounts from this IP in ${W / 60_000} min`,
    );

    const result = combineSignals(signals, approved ? 1 - weights.approved_device : 1);
    if (approved) {
      result.signals.approved_device = { weight: weights.approved_device };
      result.reasons.push('the device was approved by its user');
    }
    const verdict: Verdict = { risk: result.risk, signals: result.signals, reasons: result.reasons };
    if (result.threatCode !== undefined) verdict.threatCode = result.threatCode;
    if (result.action !== undefined) verdict.action = result.action;
    return verdict;
  };

  const learn = async (event: ProviderEvent): Promise<void> => {
    const registration = event.type === '$registration';
    if (event.type !== '$login' && !registration) return;
    const succeeded = event.status === '$succeeded';
    const failed = event.status === '$failed';
    const account = accountKey(event);
    const ip = event.context.ip;
    const ipKey = ip === undefined || allowIps?.has(ip) ? undefined : ipCountingKey(ip);
    const familiarKey = account !== undefined && ipKey !== undefined ? `k:${account}:${ipKey}` : undefined;
    const ops: StoreOp[] = [];
    if (succeeded) await recordDevice(event, event.user.id ?? account);
    if (registration) {
      // A sign-up makes its network familiar: the first login usually follows from there.
      if (succeeded && familiarKey) ops.push({ type: 'set', key: familiarKey, value: '1', ttlMs: limits.familiarForMs });
      // One member per address created: resubmitting the same address is not another account.
      if (succeeded && typeof event.user.email === 'string' && account !== undefined) {
        ops.push({ type: 'distinct', key: `v:mbox:${account}:signup`, windowMs: limits.signupsPerMailboxWindowMs, member: hasher.hash('alias', normalizeIdentifier(event.user.email)) });
      }
      await run(ops, event.timestamp);
      return;
    }
    // Outcomes run off the request path, so reading familiarity first costs no one a
    // round trip.
    let familiar = true;
    if (familiarKey !== undefined && (succeeded || failed)) {
      const known = familiarByRequest.get(event.context);
      familiar = known ?? typeof (await run([{ type: 'get', key: familiarKey }], event.timestamp))[0] === 'string';
    }
    if (!familiar) {
      ops.push({ type: 'hit', key: 'v:site:unfamiliar', windowMs: W });
      if (failed) ops.push({ type: 'hit', key: 'v:site:unfamiliar:fail', windowMs: W });
    }
    if (failed) {
      if (ipKey !== undefined) {
        ops.push({ type: 'hit', key: `v:ip:${ipKey}:fail`, windowMs: W });
        if (account !== undefined) ops.push({ type: 'distinct', key: `v:ip:${ipKey}:facct`, windowMs: W, member: account });
      }
      if (account !== undefined) ops.push({ type: 'hit', key: `v:acct:${account}:fail`, windowMs: W });
    } else if (succeeded && account !== undefined) {
      ops.push({ type: 'reset', key: `v:acct:${account}:fail` });
      if (ipKey !== undefined) ops.push({ type: 'hit', key: `v:ip:${ipKey}:ok`, windowMs: W });
      if (familiarKey) ops.push({ type: 'set', key: familiarKey, value: '1', ttlMs: limits.familiarForMs });
    }
    await run(ops, event.timestamp);
  };

  /** Adds the event's device to its user's list (read-modify-write: metadata, off the request path). */
  const recordDevice = async (event: ProviderEvent, userKey: string | undefined) => {
    if (event.deviceId === undefined || userKey === undefined) return;
    const key = `d:user:${userKey}`;
    const [current] = await run([{ type: 'get', key }], event.timestamp);
    const devices = parseDevices(current);
    const now = new Date(event.timestamp).toISOString();
    let device = devices.find((d) => d.id === event.deviceId);
    if (!device) {
      device = { id: event.deviceId, firstSeen: now, lastSeen: now, ips: [], userAgent: event.context.userAgent?.slice(0, 512) };
      devices.unshift(device);
    }
    device.lastSeen = now;
    if (event.context.ip !== undefined) device.ips = [event.context.ip, ...device.ips.filter((ip) => ip !== event.context.ip)].slice(0, 5);
    if (event.context.userAgent !== undefined) device.userAgent = event.context.userAgent.slice(0, 512);
    devices.sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : -1));
    await run([{ type: 'set', key, value: JSON.stringify(devices.slice(0, MAX_DEVICES_PER_USER)), ttlMs: DEVICE_TTL_MS }], event.timestamp);
  };

  const requireId = (value: unknown, name: string) => {
    if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
  };
  const requireTtl = (ttlMs: unknown) => {
    // NaN or a negative TTL would otherwise block for good (an expiry never reached) or not at all.
    if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)) throw new RangeError('ttlMs must be a positive number of milliseconds');
  };
  const blockValue = (reason: string | undefined) => JSON.stringify({ reason: reason ?? '', at: new Date().toISOString() });

  return {
    name: 'local',
    store,
    filter: score,
    risk: score,
    log: learn,
    async blockUser(userId, opts = {}) {
      requireId(userId, 'userId');
      requireTtl(opts.ttlMs);
      await run([{ type: 'set', key: `b:user:${userId}`, value: blockValue(opts.reason), pinned: true, ...(opts.ttlMs === undefined ? {} : { ttlMs: opts.ttlMs }) }], Date.now());
    },
    async unblockUser(userId) {
      requireId(userId, 'userId');
      await run([{ type: 'delete', key: `b:user:${userId}` }], Date.now());
    },
    async reportDevice(deviceId, opts = {}) {
      requireId(deviceId, 'deviceId');
      requireTtl(opts.ttlMs);
      await run(
        [
          { type: 'set', key: `b:device:${deviceId}`, value: blockValue(opts.reason), pinned: true, ...(opts.ttlMs === undefined ? {} : { ttlMs: opts.ttlMs }) },
          { type: 'delete', key: `a:device:${deviceId}` },
        ],
        Date.now(),
      );
    },
    async approveDevice(deviceId) {
      requireId(deviceId, 'deviceId');
      await run([{ type: 'set', key: `a:device:${deviceId}`, value: blockValue(undefined), pinned: true }, { type: 'delete', key: `b:device:${deviceId}` }], Date.now());
    },
    async identify(event) {
      const ops: StoreOp[] = [];
      if (event.user.id !== undefined) ops.push({ type: 'get', key: `b:user:${event.user.id}` });
      if (event.deviceId !== undefined) ops.push({ type: 'get', key: `b:device:${event.deviceId}` });
      const results = await run(ops, event.timestamp);
      const reasonOf = (value: StoreResult | undefined, fallback: string) => {
        try {
          const parsed = JSON.parse(String(value)) as { reason?: unknown };
          return typeof parsed.reason === 'string' && parsed.reason !== '' ? `${fallback}: ${parsed.reason}` : fallback;
        } catch {
          return fallback;
        }
      };
      if (event.user.id !== undefined && typeof results[0] === 'string') return { blocked: true, reason: reasonOf(results[0], 'the user is blocked') };
      const deviceResult = results[event.user.id !== undefined ? 1 : 0];
      if (event.deviceId !== undefined && typeof deviceResult === 'string') return { blocked: true, reason: reasonOf(deviceResult, 'the device was reported') };
      return { blocked: false };
    },
    async listBlockedUsers() {
      if (typeof store.keys !== 'function') return [];
      const keys = await store.keys('b:user:');
      if (keys.length === 0) return [];
      const values = await run(keys.map((key) => ({ type: 'get', key })), Date.now());
      const users: BlockedUser[] = [];
      keys.forEach((key, i) => {
        const value = values[i];
        if (typeof value !== 'string') return;
        let parsed: { reason?: unknown; at?: unknown } = {};
        try {
          parsed = JSON.parse(value) as typeof parsed;
        } catch {
          // an unreadable entry still names a blocked user
        }
        users.push({ id: key.slice('b:user:'.length), reason: typeof parsed.reason === 'string' ? parsed.reason : '', at: typeof parsed.at === 'string' ? parsed.at : '' });
      });
      return users;
    },
    async getDevicesForUser(userId) {
      requireId(userId, 'userId');
      const [value] = await run([{ type: 'get', key: `d:user:${userId}` }], Date.now());
      const devices = parseDevices(value);
      if (devices.length === 0) return [];
      const flags = await run(devices.flatMap((d) => [{ type: 'get', key: `a:device:${d.id}` } as StoreOp, { type: 'get', key: `b:device:${d.id}` } as StoreOp]), Date.now());
      return devices.map((d, i) => ({ ...d, approved: typeof flags[2 * i] === 'string', reported: typeof flags[2 * i + 1] === 'string' }));
    },
    async close() {
      if (ownsStore) await store.close?.();
    },
  };
}
