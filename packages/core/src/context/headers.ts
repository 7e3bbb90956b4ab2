import { checkKnownOptions } from '../config/options.js';
import { VigilConfigError } from '../errors.js';

/** A header map as Node and the frameworks hand it over; keys in any case. */
export type IncomingHeaders = Record<string, string | string[] | number | undefined>;

/** Scrubbed headers: a kept header has its value, a scrubbed one has `true`. */
export type ScrubbedHeaders = Record<string, string | true>;

/** Options of {@link scrubHeaders}. Entries are header names in any spelling. */
export interface HeaderScrubOptions {
  /** Headers to keep. Empty or absent: every header not denylisted is kept. */
  allowlist?: readonly string[];
  /** Headers whose value is always replaced by `true` (User-Agent excepted). */
  denylist?: readonly string[];
}

/**
 * Castle's recommended allowlist: the headers that carry signal and no secrets. What
 * remote providers (Castle, CHEQ) receive unless `createVigil`'s `headers.allowlist`
 * says otherwise; the embedded engine, which never sends headers anywhere, sees them all.
 */
export const DEFAULT_ALLOWLIST: readonly string[] = Object.freeze([
  'Accept',
  'Accept-Charset',
  'Accept-Datetime',
  'Accept-Encoding',
  'Accept-Language',
  'Cache-Control',
  'Connection',
  'Content-Length',
  'Content-Type',
  'Dnt',
  'Host',
  'Origin',
  'Pragma',
  'Referer',
  'Sec-Fetch-Dest',
  'Sec-Fetch-Mode',
  'Sec-Fetch-Site',
  'Sec-Fetch-User',
  'Te',
  'Upgrade-Insecure-Requests',
  'User-Agent',
  'X-Requested-With',
]);

const LEADING_HTTP = /^http[_-]/i;

// Header names repeat across requests; a bounded memo keeps normalization off the hot
// path without letting an attacker grow memory by inventing names.
const NAME_CACHE_LIMIT = 1024;
const nameCache = new Map<string, string>();

/**
 * Normalizes a header name the way Castle's SDKs do, so that CGI-style, snake-case and
 * lower-case spellings name one header: underscores become dashes, a leading `HTTP_` /
 * `HTTP-` is dropped, and each dash-separated part is capitalized.
 *
 * @example
 * normalizeHeaderName('HTTP_X_TEST')      // 'X-Test'
 * normalizeHeaderName('cf-connecting-ip') // 'Cf-Connecting-Ip'
 * normalizeHeaderName('httpX_teST')       // 'Httpx-Test' (no separator after "http")
 */
export function normalizeHeaderName(name: string): string {
  const cached = nameCache.get(name);
  if (cached !== undefined) return cached;
  const parts = name.replace(LEADING_HTTP, '').replace(/_/g, '-').split('-');
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    if (i > 0) out += '-';
    out += part.charAt(0).toUpperCase() + part.slice(1).toLowerCase();
  }
  if (nameCache.size >= NAME_CACHE_LIMIT) nameCache.clear();
  nameCache.set(name, out);
  return out;
}

/** Joins a raw header value into one string; arrays with `, `. */
export function headerValueToString(value: string | string[] | number | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(String).join(', ');
  return String(value);
}

/**
 * Looks a header up by any spelling of its name (`x-forwarded-for`, `X_FORWARDED_FOR`,
 * `HTTP_X_FORWARDED_FOR`). Tries the lower-case dashed key first, as Node stores it.
 */
const lowerCache = new Map<string, [string, string]>();

export function getHeader(headers: IncomingHeaders | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  // Names asked for are few (the code's own constants): memoize both spellings.
  let names = lowerCache.get(name);
  if (names === undefined) {
    const normalizedName = normalizeHeaderName(name);
    names = [normalizedName, normalizedName.toLowerCase()];
    if (lowerCache.size < NAME_CACHE_LIMIT) lowerCache.set(name, names);
  }
  const [normalized, lower] = names;
  if (Object.hasOwn(headers, lower)) return headerValueToString(headers[lower]);
  let found: string | undefined;
  for (const key of Object.keys(headers)) {
    if (key !== lower && normalizeHeaderName(key) === normalized) {
      const value = headerValueToString(headers[key]);
      if (value !== undefined) found = found === undefined ? value : `${found}, ${value}`;
    }
  }
  return found;
}

// Castle's rule names Cookie and Authorization; the others carry the same kind of
// secret (a session, a proxy credential, an API key) and get the same treatment.
const ALWAYS_SCRUBBED = new Set(['Cookie', 'Authorization', 'Set-Cookie', 'Proxy-Authorization', 'X-Api-Key']);
/**
 * Parts of a header name that say its value is a credential: an app's own `X-Auth-Token`,
 * `X-CSRF-Token`, `X-Session-Id`, `X-Client-Secret`, `X-Apikey`… No list can widen past it.
 * Matched against the normalized name in lower case (`_` is already `-`).
 */
const SECRET_NAME = /token|secret|session|passw(?:or)?d|api-?key|access-?key|private-?key|auth|csrf|xsrf|cookie|credential/;
const ALWAYS_KEPT = 'User-Agent';

/**
 * True when a header's name says it carries a secret: `Cookie`, `Authorization`, and
 * any name containing `token`, `secret`, `session`, `password` / `passwd`, `api-key` /
 * `apikey`, `access-key`, `private-key`, `auth`, `csrf`, `xsrf`, `cookie` or
 * `credential`, in any case and spelling. Such headers are scrubbed whatever the lists
 * say.
 *
 * @example
 * isSecretHeaderName('X-CSRF-Token') // true
 * isSecretHeaderName('HTTP_X_API_KEY') // true
 * isSecretHeaderName('User-Agent')   // false
 */
export function isSecretHeaderName(name: string): boolean {
  const normalized = normalizeHeaderName(name);
  return ALWAYS_SCRUBBED.has(normalized) || SECRET_NAME.test(normalized.toLowerCase());
}

const HEADER_OPTION_KEYS = ['allowlist', 'denylist'];

/** A compiled scrubber: the lists normalized once, applied to many requests. */
export type HeaderScrubber = (headers: IncomingHeaders | undefined) => ScrubbedHeaders;

function normalizeList(option: string, list: unknown): Set<string> {
  if (list === undefined) return new Set();
  if (!Array.isArray(list)) {
    throw new VigilConfigError(
      'VIGIL_E_HEADER_LIST',
      option,
      list,
      'which is not an array',
      `Pass an array of header names, e.g. ${option}: ['Accept', 'User-Agent'].`,
    );
  }
  const out = new Set<string>();
  list.forEach((entry, i) => {
    if (typeof entry !== 'string' || entry.trim() === '') {
      throw new VigilConfigError(
        'VIGIL_E_HEADER_LIST',
        `${option}[${i}]`,
        entry,
        'which is not a header name',
        'Each entry must be a non-empty string such as "Accept-Language".',
      );
    }
    out.add(normalizeHeaderName(entry.trim()));
  });
  return out;
}

/**
 * Compiles header-scrubbing options once (validating them; a bad list throws a
 * {@link VigilConfigError}) and returns the function that applies them.
 */
export function createHeaderScrubber(options: HeaderScrubOptions = {}, optionPrefix = 'headers'): HeaderScrubber {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new VigilConfigError(
      'VIGIL_E_OPTION_TYPE',
      optionPrefix,
      options,
      'which is not an object',
      "Pass an object such as { allowlist: ['Accept', 'User-Agent'], denylist: ['X-Api-Key'] }.",
    );
  }
  // A misspelt `allowList` silently ignored would be an allowlist silently off.
  checkKnownOptions(options, HEADER_OPTION_KEYS, optionPrefix);
  const allow = normalizeList(`${optionPrefix}.allowlist`, options.allowlist);
  const deny = normalizeList(`${optionPrefix}.denylist`, options.denylist);
  // The same few dozen header names arrive on every request: decide each name once.
  const decided = new Map<string, { name: string; keep: boolean }>();
  const decide = (key: string) => {
    let known = decided.get(key);
    if (known === undefined) {
      const name = normalizeHeaderName(key);
      let keep: boolean;
      if (ALWAYS_SCRUBBED.has(name) || SECRET_NAME.test(name.toLowerCase())) keep = false;
      else if (name === ALWAYS_KEPT) keep = true;
      else if (deny.has(name)) keep = false;
      else keep = allow.size === 0 || allow.has(name);
      known = { name, keep };
      if (decided.size >= NAME_CACHE_LIMIT) decided.clear();
      decided.set(key, known);
    }
    return known;
  };
  return (headers) => {
    const out: ScrubbedHeaders = {};
    if (!headers || typeof headers !== 'object') return out;
    for (const key of Object.keys(headers)) {
      const raw = headerValueToString(headers[key]);
      if (raw === undefined) continue;
      const { name, keep } = decide(key);
      // Normalized names are capitalized, so none can be "__proto__": plain assignment
      // is safe here, and much faster than defineProperty on the hot path.
      const previous = out[name];
      out[name] = keep ? (typeof previous === 'string' ? `${previous}, ${raw}` : raw) : true;
    }
    return out;
  };
}

/**
 * Normalizes header names and scrubs values that must not leave the process. The first
 * rule that matches wins: `Cookie`, `Authorization` and every secret-looking name (see
 * {@link isSecretHeaderName}: `X-Auth-Token`, `X-CSRF-Token`, `X-Session-Id`…) are
 * always scrubbed; `User-Agent` is always kept; denylisted names are scrubbed; with an
 * empty allowlist, or for an allowlisted name, the value is kept; anything else is
 * scrubbed. A scrubbed header keeps its key with the value `true`.
 *
 * @example
 * scrubHeaders({ cookie: 'sid=1', 'user-agent': 'Mozilla/5.0' })
 * // { Cookie: true, 'User-Agent': 'Mozilla/5.0' }
 */
export function scrubHeaders(headers: IncomingHeaders | undefined, options: HeaderScrubOptions = {}): ScrubbedHeaders {
  return createHeaderScrubber(options)(headers);
}

/**
 * Header options with `allowlist` defaulted to `allowlist` when the app gave none: how
 * `createVigil` applies a remote provider's {@link DEFAULT_ALLOWLIST}. An explicit
 * `allowlist` (even `[]`, which keeps every header) wins; options that are not an
 * object come back as they are, for the scrubber to reject.
 *
 * @example
 * withDefaultAllowlist(undefined, DEFAULT_ALLOWLIST)              // { allowlist: DEFAULT_ALLOWLIST }
 * withDefaultAllowlist({ denylist: ['Referer'] }, DEFAULT_ALLOWLIST) // { denylist: ['Referer'], allowlist: DEFAULT_ALLOWLIST }
 * withDefaultAllowlist({ allowlist: [] }, DEFAULT_ALLOWLIST)         // { allowlist: [] }
 */
export function withDefaultAllowlist(options: HeaderScrubOptions | undefined, allowlist: readonly string[] | undefined): HeaderScrubOptions | undefined {
  if (allowlist === undefined) return options;
  if (options === undefined) return { allowlist };
  if (options === null || typeof options !== 'object' || Array.isArray(options) || options.allowlist !== undefined) return options;
  return { ...options, allowlist };
}
