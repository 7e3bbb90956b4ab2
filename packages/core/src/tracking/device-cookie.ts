import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { checkKnownOptions } from '../config/options.js';
import { getHeader } from '../context/headers.js';
import type { RequestInfo } from '../context/request.js';
import { VigilConfigError } from '../errors.js';
import { BoundedMap } from '../stores/bounded-map.js';

/**
 * Options of Vigil's first-party device cookie (`createVigil({ deviceCookie })`). The
 * cookie is on by default for protected routes; `deviceCookie: false` turns it off.
 */
export interface DeviceCookieOptions {
  /** Cookie name. Default `vigil_did`. */
  name?: string;
  /**
   * Key that signs the cookie (at least 16 characters). Every instance of a fleet needs
   * the same one, or each instance treats the others' cookies as forged. Default: the
   * provider's key (the embedded engine derives one from its own `secret`, so the
   * engine's `secret` covers the cookie too), else random per process.
   */
  secret?: string;
  /** Lifetime in days. Default 400 (browsers' cap). */
  maxAgeDays?: number;
  /** `Secure` attribute: `'auto'` (default) sets it when the request came over HTTPS. */
  secure?: boolean | 'auto';
}

/** What {@link createDeviceCookies} knows of the deployment besides the options. */
export interface DeviceCookieContext {
  /**
   * The name of the shared store the engine uses (a fleet), if any: every instance must
   * then verify the others' cookies, so a key shared by the fleet is required.
   */
  sharedStore?: string;
  /**
   * The provider's own key (`Provider.deviceCookieKey()`, at least 16 bytes): it signs
   * the cookie when the options give no `secret`. The embedded engine derives it from
   * its `secret`, so one secret serves a whole fleet.
   */
  key?: Uint8Array;
  /** The provider's name, for error messages. */
  provider?: string;
}

/** A compiled device-cookie handler. */
export interface DeviceCookies {
  /** The cookie's name (`vigil_did` by default). */
  readonly name: string;
  /**
   * Where the signing key comes from: `secret` (`deviceCookie.secret`), `provider` (the
   * provider's `deviceCookieKey()`) or `random` (per process; cookies do not survive a
   * restart nor travel between instances).
   */
  readonly keySource: 'secret' | 'provider' | 'random';
  /**
   * The device id of a request, when it carries a cookie this process (or fleet) signed.
   * Only the id leaves this function: the cookie's value (with its signature) never does.
   */
  read(req: RequestInfo): string | undefined;
  /** A fresh device id and the `Set-Cookie` value that gives it to the client. */
  issue(req: RequestInfo): { id: string; setCookie: string };
}

const OPTION_KEYS = ['name', 'secret', 'maxAgeDays', 'secure'];
const MIN_KEY_BYTES = 16;

const ID = /^[A-Za-z0-9_-]{8,64}$/;
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const MAX_COOKIE_HEADER = 16_384;

/** A cookie's value as sent: trimmed, unquoted, percent-decoded when it decodes. */
function cookieValue(raw: string): string {
  let value = raw.trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  if (value.includes('%')) {
    try {
      value = decodeURIComponent(value);
    } catch {
      // kept as sent
    }
  }
  return value;
}

/**
 * The Cookie header as a name → value map (the first of a repeated name wins, values
 * URI-decoded when they can be, surrounding quotes dropped), for apps without a cookie
 * parser. A null-prototype object: `cookies.__proto__` is just a name. Headers over
 * 16 KB read as no cookies.
 *
 * @example
 * parseCookieHeader('sid=1; _cheq_rti=a%20b') // { sid: '1', _cheq_rti: 'a b' }
 */
export function parseCookieHeader(header: unknown): Record<string, string | undefined> {
  const cookies: Record<string, string | undefined> = Object.create(null);
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (typeof text !== 'string' || text.length > MAX_COOKIE_HEADER) return cookies;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name === '' || cookies[name] !== undefined) continue;
    cookies[name] = cookieValue(part.slice(eq + 1));
  }
  return cookies;
}

/**
 * Reads one cookie of a request: the framework's parsed cookies first, else the Cookie
 * header (so a route reads the same value under every adapter, parser or not).
 */
export function readCookie(req: RequestInfo, name: string): string | undefined {
  const parsed = req.cookies?.[name];
  if (typeof parsed === 'string') return parsed;
  return cookieOf(getHeader(req.headers, 'Cookie'), name);
}

/**
 * One cookie of a Cookie header, as {@link parseCookieHeader} would give it (the first
 * of that name, trimmed, unquoted, percent-decoded), without building the whole map:
 * every protected request reads one or two cookies of a header that may carry dozens.
 */
function cookieOf(header: unknown, name: string): string | undefined {
  const text = Array.isArray(header) ? header.join('; ') : header;
  if (typeof text !== 'string' || text.length > MAX_COOKIE_HEADER || !text.includes(name)) return undefined;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf(';', start);
    if (end < 0) end = text.length;
    const eq = text.indexOf('=', start);
    if (eq > start && eq < end && text.slice(start, eq).trim() === name) return cookieValue(text.slice(eq + 1, end));
    start = end + 1;
  }
  return undefined;
}

/**
 * Compiles the device-cookie options. The cookie holds `<id>.<signature>`: a random
 * 128-bit id and a truncated HMAC-SHA256 of it, nothing else (no personal data). A
 * forged, tampered or differently keyed cookie fails verification and counts as no
 * device (a new one is issued). The key: `secret` when given, else the provider's
 * (`context.key`), else random per process — refused over a shared store, where each
 * instance would treat the others' cookies as forged.
 *
 * @example
 * const cookies = createDeviceCookies({ secret: process.env.VIGIL_DEVICE_SECRET })
 * const id = cookies.read(request) // undefined: no valid cookie
 * const { id: fresh, setCookie } = cookies.issue(request) // append setCookie to the response
 */
export function createDeviceCookies(options: DeviceCookieOptions | true = true, context: DeviceCookieContext = {}): DeviceCookies {
  const o = options === true ? {} : options;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) {
    throw new VigilConfigError(
      'VIGIL_E_OPTION_TYPE',
      'deviceCookie',
      options,
      'which is neither a boolean nor an options object',
      'Leave deviceCookie out (the signed device cookie is on by default), set deviceCookie: false to turn it off, or pass { name, secret, maxAgeDays, secure }.',
    );
  }
  // An unknown option's value is not shown: a misspelt `secret` must not print the secret.
  checkKnownOptions(Object.fromEntries(Object.keys(o).map((key) => [key, OPTION_KEYS.includes(key) ? undefined : '(hidden)'])), OPTION_KEYS, 'deviceCookie');
  const name = o.name ?? 'vigil_did';
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'deviceCookie.name', o.name, 'which is not a valid cookie name', 'Use letters, digits, "-" or "_", e.g. "vigil_did".');
  }
  if (o.secret === '') {
    throw new VigilConfigError(
      'VIGIL_E_SECRET_REQUIRED',
      'deviceCookie.secret',
      o.secret,
      'which signs nothing (an environment variable set to nothing?)',
      "Pass the same `secret` to every instance, e.g. from an environment variable: deviceCookie: { secret: process.env.VIGIL_DEVICE_SECRET } (a long random string), or leave deviceCookie.secret out: the embedded engine's `secret` signs the cookie too.",
    );
  }
  if (o.secret !== undefined && (typeof o.secret !== 'string' || o.secret.length < 16)) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'deviceCookie.secret', '(hidden)', 'which is not a string of at least 16 characters', 'Use a long random string shared by every instance.');
  }
  const providerKey = o.secret === undefined ? context.key : undefined;
  if (providerKey !== undefined && (!(providerKey instanceof Uint8Array) || providerKey.length < MIN_KEY_BYTES)) {
    throw new VigilConfigError(
      'VIGIL_E_PROVIDER',
      'provider.deviceCookieKey()',
      '(hidden)',
      `which is neither undefined nor a Buffer of at least ${MIN_KEY_BYTES} bytes`,
      "Return a Buffer derived from the provider's own secret (e.g. 32 bytes of HMAC-SHA256), or undefined; or pass deviceCookie: { secret }.",
    );
  }
  if (o.secret === undefined && providerKey === undefined && context.sharedStore !== undefined) {
    const provider = context.provider ?? 'the provider';
    throw new VigilConfigError(
      'VIGIL_E_SECRET_REQUIRED',
      'deviceCookie.secret',
      o.secret,
      `while the store ("${context.sharedStore}") is shared and ${provider === 'local' ? 'the embedded engine' : `the provider (${provider})`} gives the device cookie (on by default) no key of its own: each instance would sign it with its own random key and treat the others' cookies as forged`,
      "Pass the same `secret` to every instance, e.g. from an environment variable: the engine's, localProvider({ store, secret: process.env.VIGIL_SECRET }), signs the device cookie too; with a provider that has no key to give, deviceCookie: { secret: process.env.VIGIL_DEVICE_SECRET } (a long random string); or deviceCookie: false to go without the cookie.",
    );
  }
  const maxAgeDays = o.maxAgeDays ?? 400;
  if (typeof maxAgeDays !== 'number' || !(maxAgeDays > 0) || maxAgeDays > 400) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'deviceCookie.maxAgeDays', o.maxAgeDays, 'which is not a number of days from 1 to 400', 'Use e.g. 400 (the default; browsers cap cookies there).');
  }
  const secure = o.secure ?? 'auto';
  if (secure !== true && secure !== false && secure !== 'auto') {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'deviceCookie.secure', o.secure, "which is neither a boolean nor 'auto'", "Use 'auto' (the default: Secure when the request came over HTTPS), true or false.");
  }
  const keySource: DeviceCookies['keySource'] = o.secret !== undefined ? 'secret' : providerKey !== undefined ? 'provider' : 'random';
  // A copy: the provider's buffer is its own, and must not change under the cookie.
  const key = o.secret !== undefined ? Buffer.from(o.secret, 'utf8') : providerKey !== undefined ? Buffer.from(providerKey) : randomBytes(32);
  // The first 18 bytes of the MAC, base64url: the first 24 characters of the whole
  // digest's base64url (18 bytes are 6 whole groups of 3), without two Buffers per call.
  const sign = (id: string) => createHmac('sha256', key).update(`vigil-device:${id}`).digest('base64url').slice(0, 24);
  const maxAge = Math.floor(maxAgeDays * 86_400);
  // A returning browser presents the same value on every request, and an HMAC costs
  // microseconds: values already verified are remembered (bounded). Only a value that
  // passed the check gets in, so a forged one is always checked.
  const verified = new BoundedMap<string, string>(4096);

  return {
    name,
    keySource,
    read(req) {
      const value = readCookie(req, name);
      if (!value || value.length > 200) return undefined;
      const known = verified.get(value);
      if (known !== undefined) return known;
      const dot = value.lastIndexOf('.');
      if (dot <= 0) return undefined;
      const id = value.slice(0, dot);
      // Not even hashed unless it could be one of ours.
      if (!ID.test(id)) return undefined;
      const given = Buffer.from(value.slice(dot + 1), 'utf8');
      const expected = Buffer.from(sign(id), 'utf8');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      verified.set(value, id);
      return id;
    },
    issue(req) {
      const id = randomUUID().replace(/-/g, '');
      const https = secure === true || (secure === 'auto' && req.protocol === 'https');
      return { id, setCookie: `${name}=${id}.${sign(id)}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${https ? '; Secure' : ''}` };
    },
  };
}
