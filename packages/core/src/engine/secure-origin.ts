import ipaddr from 'ipaddr.js';
import type { ScrubbedHeaders } from '../context/headers.js';

// Chromium sends `Sec-Fetch-*` only to potentially trustworthy URLs (W3C Secure
// Contexts, "Is origin potentially trustworthy?"): an `https` scheme, a host in
// 127.0.0.0/8 or ::1, or `localhost` / `*.localhost` (with or without the final dot).
// An app on `http://intranet:8080` or `http://192.168.1.5` gets none of them.

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const MAX_HOST = 300;

/** The host of a `Host` header value (`name:port`, `[v6]:port`), lower case, or undefined when malformed. */
function hostOf(value: string): string | undefined {
  if (value.length === 0 || value.length > MAX_HOST) return undefined;
  const text = value.trim().toLowerCase();
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0) return undefined;
    const rest = text.slice(end + 1);
    if (rest !== '' && !/^:\d{0,5}$/.test(rest)) return undefined;
    return text.slice(0, end + 1);
  }
  const colon = text.indexOf(':');
  if (colon < 0) return text;
  return /^:\d{0,5}$/.test(text.slice(colon)) ? text.slice(0, colon) : undefined;
}

/**
 * Whether a `Host` header names a loopback or localhost host, as the W3C Secure
 * Contexts spec counts them: 127.0.0.0/8, `[::1]`, `localhost`, `*.localhost` (a final
 * dot allowed). `127.0.0.1.nip.io`, `localhost.example.com` and private addresses are
 * not.
 *
 * @example
 * isLocalhostHost('localhost:3000') // true
 * isLocalhostHost('192.168.1.5')    // false
 */
export function isLocalhostHost(host: string): boolean {
  const name = hostOf(host);
  if (name === undefined || name === '') return false;
  if (name.startsWith('[')) {
    const inner = name.slice(1, -1);
    if (!ipaddr.IPv6.isValid(inner)) return false;
    return ipaddr.IPv6.parse(inner).toNormalizedString() === '0:0:0:0:0:0:0:1';
  }
  const v4 = IPV4.exec(name);
  if (v4) return v4.slice(1).every((octet) => Number(octet) <= 255) && v4[1] === '127';
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  return bare === 'localhost' || bare.endsWith('.localhost');
}

/** The scheme of an absolute URL whose host is `host`, or undefined. */
function sameHostScheme(url: string | true | undefined, host: string): string | undefined {
  if (typeof url !== 'string' || url.length > 2048) return undefined;
  const match = /^(https?):\/\/([^/?#]*)/i.exec(url.trim());
  if (!match) return undefined;
  return (match[2] as string).toLowerCase() === host ? (match[1] as string).toLowerCase() : undefined;
}

/**
 * Whether the URL a request was sent to is potentially trustworthy, so that a
 * Chromium ≥ 89 browser sends it `Sec-Fetch-*`: HTTPS (`protocol`, as the framework
 * sees it behind its trusted proxies), or a localhost / loopback `Host`. Without a
 * protocol (an integration that does not pass `RequestInfo.protocol`), the scheme of an
 * `Origin` (else `Referer`) naming the same host decides. Anything unknown is not
 * trustworthy: the headers are then not expected, which never flags a real browser.
 *
 * @example
 * requestOriginIsPotentiallyTrustworthy('http', { Host: 'intranet:8080' })  // false
 * requestOriginIsPotentiallyTrustworthy('http', { Host: 'localhost:3000' }) // true
 * requestOriginIsPotentiallyTrustworthy('https', {})                        // true
 */
export function requestOriginIsPotentiallyTrustworthy(protocol: string | undefined, headers: ScrubbedHeaders): boolean {
  if (protocol === 'https') return true;
  const host = headers.Host;
  if (typeof host !== 'string') return false;
  if (isLocalhostHost(host)) return true;
  if (protocol !== undefined) return false;
  const authority = host.trim().toLowerCase();
  return (sameHostScheme(headers.Origin, authority) ?? sameHostScheme(headers.Referer, authority)) === 'https';
}
