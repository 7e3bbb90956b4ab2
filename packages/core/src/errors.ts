// Every error class of Vigil's own and every code it uses, in one place: the codes of
// configuration errors (thrown at start-up), of the lines it logs (warnings, errors,
// recoveries, debug notes), and the classes thrown at run time. A code never changes
// meaning once published. The vendor clients' own error families (CastleError and its
// subclasses per HTTP status, CheqError) stay beside those clients: they mirror the
// vendors' APIs, not Vigil's; @vigil/redis has its RedisStoreError. errors.test.ts
// checks both lists against every package's sources.
import type { Verdict } from './providers/types.js';

/**
 * Stable codes of every configuration error Vigil can raise. A code never changes
 * meaning once published, so users can match on it (`err.code === 'VIGIL_E_…'`)
 * instead of on message text.
 */
export const CONFIG_ERROR_CODES = [
  'VIGIL_E_OPTION_TYPE',
  'VIGIL_E_OPTION_VALUE',
  'VIGIL_E_UNKNOWN_OPTION',
  'VIGIL_E_TRUSTED_PROXY',
  'VIGIL_E_PROXY_DEPTH',
  'VIGIL_E_IP_HEADERS',
  'VIGIL_E_HEADER_LIST',
  'VIGIL_E_MODE',
  'VIGIL_E_PROVIDER',
  'VIGIL_E_ROUTE',
  'VIGIL_E_URI_EXCLUSION',
  'VIGIL_E_THREAT_CODES',
  'VIGIL_E_THREAT_CODES_OVERLAP',
  'VIGIL_E_THRESHOLDS',
  'VIGIL_E_FAILOVER',
  'VIGIL_E_TIMEOUT',
  'VIGIL_E_RESPONSE',
  'VIGIL_E_LOGGER',
  'VIGIL_E_SECRET_REQUIRED',
  'VIGIL_E_CHALLENGE',
] as const;

/** A code of a {@link VigilConfigError}; see {@link CONFIG_ERROR_CODES}. */
export type VigilConfigErrorCode = (typeof CONFIG_ERROR_CODES)[number];

/**
 * Codes of the lines Vigil logs, with what each means: users match on `code` in their
 * log pipeline (`VIGIL_E_*` errors, `VIGIL_W_*` warnings, `VIGIL_I_*` recoveries,
 * `VIGIL_D_*` debug notes). Every code any package logs is listed here (a test scans the
 * sources).
 */
export const LOG_CODES = {
  VIGIL_E_PROVIDER_AUTH: 'a remote provider refused the secret or key (401/403); logged once, with the option at fault',
  VIGIL_E_PROVIDER_ERROR: "a remote provider refused Vigil's request (another 4xx): an integration error, logged once",
  VIGIL_E_BLOCK_RESPONSE_FAILED: "the app's blockResponse threw; a plain 403 was sent",
  VIGIL_E_ON_CHALLENGE_FAILED: 'onChallenge threw; the block response was sent',
  VIGIL_E_CHALLENGE_FAILED: 'the built-in challenge could not be issued for a challenged request; the block response was sent',
  VIGIL_W_CHALLENGE_BUSY: 'too many challenges were being issued at once (a flood): those past the bound got the block response (once)',
  VIGIL_W_FAILOVER: 'decisions started failing over (one line per incident)',
  VIGIL_W_FAILOVER_ONGOING: 'the summary, once a minute, of an incident that goes on',
  VIGIL_W_LOG_FAILED: 'provider.log failed (an outcome or a tracking call): part of the incident',
  VIGIL_W_LOG_TIMEOUT: 'provider.log did not answer within timeout: part of the incident',
  VIGIL_I_RECOVERED: 'the incident ended, with its totals',
  VIGIL_W_NO_CHALLENGE_HANDLER: 'blocking mode with challenge: false and no onChallenge: challenged requests are allowed (start-up)',
  VIGIL_W_BODY_NOT_PARSED: 'a route reads body.* fields but the request had no parsed body (once)',
  VIGIL_W_NO_CLIENT_IP: 'a request had no client IP (once)',
  VIGIL_W_FORWARDED_FOR_UNTRUSTED: 'X-Forwarded-For keeps arriving from untrusted public peers and is ignored (once)',
  VIGIL_W_PREPARE_FAILED: 'provider.prepare threw; the decision went on without its extras',
  VIGIL_W_ON_DECISION: 'onDecision threw; the decision stands',
  VIGIL_W_RESPONSE_HEADER: "a decision's response header could not be appended",
  VIGIL_W_CHALLENGE_UNANSWERED: 'onChallenge neither answered nor proceeded; the block response was sent',
  VIGIL_W_IDENTIFY_FAILED: 'identify could not read the block list; the request went on',
  VIGIL_W_IDENTIFY_UNANSWERED: "an adapter's identify found a blocked user but could not answer the request",
  VIGIL_W_CLOSE_FAILED: 'provider.close failed',
  VIGIL_W_CLOSE_TIMEOUT: 'provider.close did not finish within timeout',
  VIGIL_W_CASTLE_FAILOVER: "a Castle call failed over (debug line per call; the incident is createVigil's)",
  VIGIL_W_CASTLE_LOG_FAILED: "a Castle /log call failed (debug line per call)",
  VIGIL_W_CHEQ_FAILOVER: "a CHEQ call failed over (debug line per call)",
  VIGIL_W_NO_RAW_BODY: "Nest's verifyWebhook got a parsed body without rawBody (create the app with { rawBody: true }; once)",
  VIGIL_W_REDIS_UNAVAILABLE: 'RedisStore lost its server; the engine fails over meanwhile',
  VIGIL_W_REDIS_STILL_UNAVAILABLE: 'RedisStore is still without its server (once a minute)',
  VIGIL_I_REDIS_RECOVERED: 'RedisStore has its server back',
  VIGIL_D_REDIS_CONNECTION: "a RedisStore connection event (debug)",
  VIGIL_D_OUTCOME_REPEATED: 'a second outcome for one decision or request was ignored (debug)',
} as const satisfies Record<string, string>;

/** A code of a line Vigil logs; see {@link LOG_CODES}. */
export type VigilLogCode = keyof typeof LOG_CODES;


/**
 * Thrown at start-up (by `createVigil`, `extractClientIp`'s option compiler and every
 * other constructor) when an option is wrong. The message names the option, the
 * value that was given and what would be valid, e.g.
 *
 * ```
 * VIGIL_E_TRUSTED_PROXY: ip.trustedProxies[0] is "10.0.0.*", which is not an IP address,
 * a CIDR range or a RegExp. Use a CIDR such as "10.0.0.0/8" or a RegExp such as /^10\.0\.0\./.
 * ```
 *
 * @example
 * try { createVigil({ mode: 'block' }) } catch (err) {
 *   if (err instanceof VigilConfigError) console.error(err.code, err.option, err.message)
 * }
 */
export class VigilConfigError extends Error {
  /** Stable machine-readable code. */
  readonly code: VigilConfigErrorCode;
  /** Dotted path of the option at fault, e.g. `ip.trustedProxyDepth`. */
  readonly option: string;
  /** The offending value, as given. */
  readonly value: unknown;

  constructor(code: VigilConfigErrorCode, option: string, value: unknown, problem: string, fix: string) {
    super(`${code}: ${option} is ${describeValue(value)}, ${problem}. ${fix}`);
    this.name = 'VigilConfigError';
    this.code = code;
    this.option = option;
    this.value = value;
  }
}

/** Renders a configuration value for an error message, briefly and without throwing. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (value instanceof RegExp) return String(value);
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  try {
    const json = JSON.stringify(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return 'an object';
  }
}

/** Thrown by `protect` when `failover: 'throw'` and the provider failed, in blocking mode. */
export class VigilProviderError extends Error {
  /** `timeout`, `provider error`, `invalid verdict`, or the provider's own reason. */
  readonly reason: string;
  constructor(reason: string, cause?: unknown) {
    super(`Vigil provider failed: ${reason}`, cause === undefined ? undefined : { cause });
    this.name = 'VigilProviderError';
    this.reason = reason;
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

/** Thrown when the provider in use does not offer an operation (CHEQ has no block lists). */
export class VigilUnsupportedError extends Error {
  constructor(operation: string, provider: string) {
    super(
      `${operation} is not supported by the "${provider}" provider. Block lists and device records are served by the embedded engine (localProvider, the default, or with a RedisStore for a fleet); castleProvider serves the device operations through Castle's API.`,
    );
    this.name = 'VigilUnsupportedError';
  }
}

/**
 * Thrown by {@link MemoryStore} when a batch would add a pinned value past
 * `maxPinnedKeys`. Nothing of the batch is applied; the engine's admin calls
 * (`blockUser`, `reportDevice`, `approveDevice`) reject with it (wrapped in a
 * `VigilStoreError`). Remove entries (`unblockUser`) or raise the bound.
 */
export class MemoryStoreFullError extends Error {
  /** The bound that was reached. */
  readonly maxPinnedKeys: number;
  constructor(maxPinnedKeys: number) {
    super(
      `MemoryStore: ${maxPinnedKeys} pinned values (block and allow lists, reported and approved devices) are held, which is maxPinnedKeys; the write was refused rather than evict one. Unblock users you no longer need to block, raise MemoryStore({ maxPinnedKeys }), or use RedisStore.`,
    );
    this.name = 'MemoryStoreFullError';
    this.maxPinnedKeys = maxPinnedKeys;
  }
}

/** Thrown by {@link verifyWebhook} when a webhook cannot be trusted. */
export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/**
 * Thrown inside the built-in challenge when too many challenges are being issued at once
 * (a flood): `enforce` answers those requests with the block response. Internal.
 */
export class ChallengeBusyError extends Error {
  constructor(max: number) {
    super(`${max} challenges are being issued already`);
    this.name = 'ChallengeBusyError';
  }
}
