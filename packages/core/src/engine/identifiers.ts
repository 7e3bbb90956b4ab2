import { createHmac, randomBytes } from 'node:crypto';
import { parseAddress } from '../context/ip.js';

/**
 * Keys identifiers (emails, usernames, phones) by HMAC-SHA-256 with a secret, so a
 * store never holds them raw and a leaked store cannot be reversed by hashing a list of
 * known emails without the secret. Truncated to 128 bits (base64url, 22 characters).
 */
export class IdentifierHasher {
  readonly #secret: Buffer;

  /** @param secret at least 16 characters; a random one per process when absent. */
  constructor(secret?: string) {
    this.#secret = secret === undefined ? randomBytes(32) : Buffer.from(secret, 'utf8');
  }

  /** The keyed hash of `value` in the namespace `kind` (`email`, `user`...). */
  hash(kind: string, value: string): string {
    return createHmac('sha256', this.#secret).update(kind).update('\0').update(value).digest().subarray(0, 16).toString('base64url');
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
  if (!addr) return ip;
  if (addr.v4 !== undefined) return addr.text;
  const p = addr.v6.parts;
  return `${p[0]?.toString(16)}:${p[1]?.toString(16)}:${p[2]?.toString(16)}:${p[3]?.toString(16)}::/64`;
}
