import { createHmac, randomBytes } from 'node:crypto';
import { BoundedMap } from '../stores/bounded-map.js';
import { type ParsedIp, parseAddress } from '../context/ip.js';

/**
 * Keys identifiers (emails, usernames, phones) by HMAC-SHA-256 with a secret, so a
 * store never holds them raw and a leaked store cannot be reversed by hashing a list of
 * known emails without the secret. Truncated to 128 bits (base64url, 22 characters).
 */
export class IdentifierHasher {
  readonly #secret: Buffer;
  // The same people log in again and again; an HMAC costs microseconds. The memo stays
  // in the process, like the raw value it came from, and is bounded.
  readonly #memo = new BoundedMap<string, string>(4096);

  /** @param secret at least 16 characters; a random one per process when absent. */
  constructor(secret?: string) {
    this.#secret = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  /** The keyed hash of `value` in the namespace `kind` (`email`, `user`...). */
  hash(kind: string, value: string): string {
    const memoKey = `${kind}\0${value}`;
    let hashed = this.#memo.get(memoKey);
    if (hashed === undefined) {
      hashed = createHmac('sha256', this.#secret).update(kind).update('\0').update(value).digest().subarray(0, 16).toString('base64url');
      this.#memo.set(memoKey, hashed);
    }
    return hashed;
  }
}

/** Normalizes an identifier before hashing: trimmed, lower case (emails and usernames are case-insensitive in practice). */
export function normalizeIdentifier(value: string): string {
  return value.trim().toLowerCase();
}

/**
 * The key a client IP is counted under: IPv4 as is, IPv6 by its /64 — one subscriber
 * usually owns a whole /64, so counting single v6 addresses would let one attacker
 * appear as 2^64 clients.
 */
export function ipCountingKey(ip: string): string {
  const addr = parseAddress(ip);
  return addr ? countingKeyOf(addr) : ip;
}

/** {@link ipCountingKey} of an address already parsed. */
export function countingKeyOf(addr: ParsedIp): string {
  if (addr.v4 !== undefined) return addr.text;
  const p = addr.v6.parts;
  return `${p[0]?.toString(16)}:${p[1]?.toString(16)}:${p[2]?.toString(16)}:${p[3]?.toString(16)}::/64`;
}
