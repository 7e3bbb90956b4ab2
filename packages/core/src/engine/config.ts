import { checkKnownOptions } from '../config/options.js';
import { VigilConfigError } from '../errors.js';
import { EVENT_TYPES, type EventType } from '../events.js';
import type { SignalName } from './signals.js';

/** Two tiers of a counter: a challenge from `challenge`, the signal's full weight from `block`. */
export interface Tiers {
  challenge: number;
  block: number;
}

/**
 * Limits of the embedded engine. Counts are per sliding `windowMs` unless said
 * otherwise. Limits marked *scaled* grow with the population a shared network (an
 * office NAT, a carrier's CGNAT address) has shown: `× (1 + population / householdSize)`,
 * at most `× maxPopulationScale`, where the population is the number of distinct
 * accounts that logged in successfully from that address in `populationWindowMs`, but
 * no more than the distinct devices they did it from (one client logging into many
 * accounts is one person).
 */
export interface VelocityLimits {
  /** Length of the sliding window, ms. Default 15 minutes. */
  windowMs: number;
  /** Attempts per IP per event type (`default` for types not listed). Scaled. */
  attemptsPerIp: Partial<Record<EventType, Tiers>> & { default: Tiers };
  /** Failed logins per IP. Scaled. */
  failedLoginsPerIp: Tiers;
  /**
   * Accounts that failed to log in from one IP and did not then succeed from it (a typo
   * followed by the right password is not stuffing): credential stuffing (code 10) from
   * here. Scaled.
   */
  failedAccountsPerIp: number;
  /** Distinct accounts tried from one IP, answered or not: a challenge from `challenge`, code 10 from `block`. Scaled. */
  accountsPerIp: Tiers;
  /**
   * Unresolved failed accounts (as for `failedAccountsPerIp`) in one IPv4 /24 or IPv6 /48
   * neighbourhood: rotating inside a range is seen. Challenge only (neighbours share a
   * range). Scaled by the range's population.
   */
  failedAccountsPerRange: number;
  /** Distinct accounts tried from one device (Vigil's device cookie): a challenge from `challenge`, code 10 from `block`. */
  accountsPerDevice: Tiers;
  /** Unresolved failed accounts on one device: credential stuffing (code 10) from here. */
  failedAccountsPerDevice: number;
  /** A device that tried at least 3 accounts from this many networks (IPs, IPv6 /64s) is challenged. */
  networksPerDevice: number;
  /**
   * An account that logged in successfully from this many networks where it was not
   * familiar, on devices where it was not familiar, is challenged there (accounts shared
   * by an attacker to dilute a stuffing run, or taken over and resold).
   */
  networksPerAccount: number;
  /** Failed logins on one account from any IP: a challenge (never a lock-out) from here, except where the account is familiar. */
  failedLoginsPerAccount: number;
  /**
   * Attack mode, against credential stuffing spread over many IPs. Site-wide, Vigil
   * counts the distinct accounts whose logins from an unfamiliar network *and* device
   * failed and were not then resolved by a success, against the distinct accounts of
   * such logins. When those reach `attackMinFailures` and `attackFailureRatio` of them,
   * attack mode is on for a window: logins that are neither on a familiar device nor on a
   * familiar network are challenged; familiar ones are untouched. Vigil's own
   * challenges and blocks never count (only answered logins are learned from), and
   * repeated logins of a few accounts weigh as a few accounts.
   */
  attackMinFailures: number;
  /** See `attackMinFailures`; 0..1. */
  attackFailureRatio: number;
  /** How long a successful login (or sign-up) makes its account familiar on that network and that device, ms. Default 90 days. */
  familiarForMs: number;
  /** The window in which a shared network's population is counted, ms. Default 1 day. */
  populationWindowMs: number;
  /** How many people the base per-IP limits are sized for (a household). Default 4. */
  householdSize: number;
  /** The most a shared network's population multiplies the scaled limits. Default 10. */
  maxPopulationScale: number;
  /**
   * The most sign-ups per IP are multiplied by the sign-ups that address completed
   * (people signing up have not logged in from there yet; the login population scales
   * them too, up to `maxPopulationScale`).
   * Default 6.
   */
  maxSignupScale: number;
  /**
   * Accounts one mailbox may open (its aliases counted as one mailbox, see
   * `mailboxKey`) in `signupsPerMailboxWindowMs`: the next sign-up is refused
   * (`multiple_signups_mailbox`, code 9). Only successful sign-ups of distinct addresses count.
   */
  signupsPerMailbox: number;
  /** The window of `signupsPerMailbox`, ms. Default 30 days. */
  signupsPerMailboxWindowMs: number;
  /** Distinct accounts asking for a password reset from one IP: challenged from `challenge`, refused from `block` (`reset_enumeration`, code 8). Scaled. */
  resetAccountsPerIp: Tiers;
}

/** Default signal weights (0..1; 0 turns a signal off). */
export const DEFAULT_WEIGHTS: Readonly<Record<SignalName, number>> = Object.freeze({
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
});

/** Default limits. */
export const DEFAULT_LIMITS: Readonly<VelocityLimits> = Object.freeze({
  windowMs: 15 * 60_000,
  attemptsPerIp: Object.freeze({
    default: { challenge: 60, block: 200 },
    $login: { challenge: 30, block: 100 },
    $registration: { challenge: 5, block: 20 },
    $password_reset_request: { challenge: 5, block: 20 },
  }),
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
  familiarForMs: 90 * 24 * 60 * 60_000,
  populationWindowMs: 24 * 60 * 60_000,
  householdSize: 4,
  maxPopulationScale: 10,
  maxSignupScale: 6,
  signupsPerMailbox: 3,
  signupsPerMailboxWindowMs: 30 * 24 * 60 * 60_000,
  resetAccountsPerIp: { challenge: 4, block: 10 },
});

/** Whole-number limits ≥ 1, checked alike. */
const COUNT_LIMITS = [
  'failedAccountsPerIp',
  'failedAccountsPerRange',
  'failedAccountsPerDevice',
  'networksPerDevice',
  'networksPerAccount',
  'failedLoginsPerAccount',
  'attackMinFailures',
  'signupsPerMailbox',
  'householdSize',
  'maxPopulationScale',
  'maxSignupScale',
] as const;

/** Durations in ms, with their minimum and a suggestion. */
const DURATION_LIMITS = [
  ['windowMs', 1000, '900000 (15 minutes, the default)'],
  ['familiarForMs', 60_000, '7776000000 (90 days, the default)'],
  ['populationWindowMs', 60_000, '86400000 (1 day, the default)'],
  ['signupsPerMailboxWindowMs', 60_000, '2592000000 (30 days, the default)'],
] as const;

const TIER_LIMITS = ['failedLoginsPerIp', 'accountsPerIp', 'accountsPerDevice', 'resetAccountsPerIp'] as const;

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
  checkKnownOptions(tiers, ['challenge', 'block'], option);
  return tiers;
}

/** The options a user may pass as `limits`: partial objects merge with the defaults. */
export type LimitOptions = Partial<Omit<VelocityLimits, 'attemptsPerIp'>> & { attemptsPerIp?: Partial<VelocityLimits['attemptsPerIp']> };

/** Validates `limits` and merges them with the defaults. Throws {@link VigilConfigError}. */
export function compileLimits(limits: LimitOptions | undefined): VelocityLimits {
  if (limits === undefined) return DEFAULT_LIMITS as VelocityLimits;
  if (limits === null || typeof limits !== 'object' || Array.isArray(limits)) {
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
  const merged = {
    ...DEFAULT_LIMITS,
    ...limits,
    attemptsPerIp: { ...DEFAULT_LIMITS.attemptsPerIp, ...(limits.attemptsPerIp ?? {}) },
  } as VelocityLimits;
  for (const [key, min, example] of DURATION_LIMITS) {
    if (!Number.isInteger(merged[key]) || merged[key] < min) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', `limits.${key}`, merged[key], `which is not a whole number of ms ≥ ${min}`, `Use e.g. ${example}.`);
    }
  }
  if (typeof merged.attackFailureRatio !== 'number' || !(merged.attackFailureRatio >= 0 && merged.attackFailureRatio <= 1)) {
    throw new VigilConfigError(
      'VIGIL_E_OPTION_VALUE',
      'limits.attackFailureRatio',
      merged.attackFailureRatio,
      'which is not a ratio from 0 to 1',
      'Use e.g. 0.5 (the default): attack mode starts when half the accounts of logins from unfamiliar networks and devices fail.',
    );
  }
  for (const key of COUNT_LIMITS) {
    if (!Number.isInteger(merged[key]) || merged[key] < 1) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', `limits.${key}`, merged[key], 'which is not a positive whole number', `Use e.g. ${DEFAULT_LIMITS[key]} (the default).`);
    }
  }
  for (const key of TIER_LIMITS) checkTiers(merged[key], `limits.${key}`);
  for (const [event, tiers] of Object.entries(merged.attemptsPerIp)) checkTiers(tiers, `limits.attemptsPerIp.${event}`);
  return merged;
}

/** Validates `weights` and merges them with the defaults. Throws {@link VigilConfigError}. */
export function compileWeights(weights: Partial<Record<SignalName, number>> | undefined): Record<SignalName, number> {
  if (weights === undefined) return { ...DEFAULT_WEIGHTS };
  if (weights === null || typeof weights !== 'object' || Array.isArray(weights)) {
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

/**
 * A limit scaled by the population a shared network has shown: `limit × (1 + population
 * / householdSize)`, at most `limit × maxScale`, rounded down (never below `limit`).
 */
export function scaledLimit(limit: number, population: number | undefined, householdSize: number, maxScale: number): number {
  if (population === undefined || population <= 0) return limit;
  return Math.floor(limit * Math.min(maxScale, 1 + population / householdSize));
}
