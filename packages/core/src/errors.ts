/**
 * Stable codes of every configuration error Vigil can raise. A code never changes
 * meaning once published, so users can match on it (`err.code === 'VIGIL_E_…'`)
 * instead of on message text.
 */
export type VigilConfigErrorCode =
  | 'VIGIL_E_OPTION_TYPE'
  | 'VIGIL_E_OPTION_VALUE'
  | 'VIGIL_E_UNKNOWN_OPTION'
  | 'VIGIL_E_TRUSTED_PROXY'
  | 'VIGIL_E_PROXY_DEPTH'
  | 'VIGIL_E_IP_HEADERS'
  | 'VIGIL_E_HEADER_LIST'
  | 'VIGIL_E_MODE'
  | 'VIGIL_E_PROVIDER'
  | 'VIGIL_E_ROUTE'
  | 'VIGIL_E_URI_EXCLUSION'
  | 'VIGIL_E_THREAT_CODES'
  | 'VIGIL_E_THREAT_CODES_OVERLAP'
  | 'VIGIL_E_THRESHOLDS'
  | 'VIGIL_E_FAILOVER'
  | 'VIGIL_E_TIMEOUT'
  | 'VIGIL_E_RESPONSE'
  | 'VIGIL_E_LOGGER'
  | 'VIGIL_E_SECRET_REQUIRED';

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
