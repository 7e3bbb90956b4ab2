import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { getHeader } from '../context/headers.js';
import type { RequestInfo } from '../context/request.js';
import { VigilConfigError } from '../errors.js';

/** Options of Vigil's first-party device cookie. */
export interface DeviceCookieOptions {
  /** Cookie name. Default `vigil_did`. */
  name?: string;
  /**
   * Key that signs the cookie (at least 16 characters). Every instance of a fleet needs
   * the same one, or each instance treats the others' cookies as forged. Default:
   * random per process.
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
   * then verify the others' cookies, so a secret is required.
   */
  sharedStore?: string;
}

/** A compiled device-cookie handler. */
export interface DeviceCookies {
  readonly name: string;
  /** The device id of a request, when it carries a cookie this process (or fleet) signed. */
  read(req: RequestInfo): string | undefined;
  /** A fresh device id and the `Set-Cookie` value that gives it to the client. */
  issue(req: RequestInfo): { id: string; setCookie: string };
}

const ID = /^[A-Za-z0-9_-]{8,64}$/;
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const MAX_COOKIE_HEADER = 16_384;

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
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value.includes('%')) {
      try {
        value = decodeURIComponent(value);
      } catch {
        // kept as sent
      }
    }
    cookies[name] = value;
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
  return parseCookieHeader(getHeader(req.headers, 'Cookie'))[name];
}

/**
 * Compiles the device-cookie options. The cookie holds `<id>.<signature>` where the
 * signature is a truncated HMAC-SHA256 of the id: a forged or tampered cookie fails
 * verification and counts as no device (a new one is issued).
 */
export function createDeviceCookies(options: DeviceCookieOptions | true, context: DeviceCookieContext = {}): DeviceCookies {
  const o = options === true ? {} : options;
  if (o === null || typeof o !== 'object') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'deviceCookie', options, 'which is neither true nor an object', 'Use deviceCookie: true, or { name, secret, maxAgeDays, secure }.');
  }
  const name = o.name ?? 'vigil_did';
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'deviceCookie.name', o.name, 'which is not a valid cookie name', 'Use letters, digits, "-" or "_", e.g. "vigil_did".');
  }
  if (o.secret === '' || (o.secret === undefined && context.sharedStore !== undefined)) {
    throw new VigilConfigError(
      'VIGIL_E_SECRET_REQUIRED',
      'deviceCookie.secret',
      o.secret,
      o.secret === ''
        ? 'which signs nothing (an environment variable set to nothing?)'
        : `while the store ("${context.sharedStore}") is shared: each instance would sign with its own random key and treat the others' cookies as forged`,
      'Pass the same `secret` to every instance, e.g. from an environment variable: deviceCookie: { secret: process.env.VIGIL_DEVICE_SECRET } (a long random string).',
    );
  }
  if (o.secret !== undefined && (typeof o.secret !== 'string' || o.secret.length < 16)) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'deviceCookie.secret', '(hidden)', 'which is not a string of at least 16 characters', 'Use a long random string shared by every instance.');
  }
  const maxAgeDays = o.maxAgeDays ?? 400;
  if (typeof maxAgeDays !== 'number' || !(maxAgeDays > 0) || maxAgeDays > 400) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'deviceCookie.maxAgeDays', o.maxAgeDays, 'which is not a number of days from 1 to 400', 'Use e.g. 400 (the default; browsers cap cookies there).');
  }
  const secure = o.secure ?? 'auto';
  const key = o.secret === undefined ? randomBytes(32) : Buffer.from(o.secret, 'utf8');
  const sign = (id: string) => createHmac('sha256', key).update(`vigil-device:${id}`).digest().subarray(0, 18).toString('base64url');
  const maxAge = Math.floor(maxAgeDays * 86_400);

  return {
    name,
    read(req) {
      const value = readCookie(req, name);
      if (!value || value.length > 200) return undefined;
      const dot = value.lastIndexOf('.');
      if (dot <= 0) return undefined;
      const id = value.slice(0, dot);
      const given = Buffer.from(value.slice(dot + 1), 'utf8');
      const expected = Buffer.from(sign(id), 'utf8');
      if (!ID.test(id) || given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      return id;
    },
    issue(req) {
      const id = randomUUID().replace(/-/g, '');
      const https = secure === true || (secure === 'auto' && req.protocol === 'https');
      return { id, setCookie: `${name}=${id}.${sign(id)}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${https ? '; Secure' : ''}` };
    },
  };
}
