// The server side of ALTCHA's protocol v2 (altcha-lib's createChallenge and
// verifySolution), for the one algorithm Vigil issues (PBKDF2/SHA-256, deterministic
// mode), on Node's own crypto. altcha-lib's implementation goes through WebCrypto for
// every HMAC (a key import and a sign, some hundred microseconds each on Node 20): a
// third of a millisecond to issue a challenge and half of one to check it, paid for
// every challenged request an attacker sends. Here an HMAC is a few microseconds and the
// one key derivation runs on libuv's thread pool. The wire format is altcha-lib's to
// the byte: challenge.test.ts checks both ways against altcha-lib itself.
import { createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';

/** The algorithm: PBKDF2 with HMAC-SHA-256, 32-byte keys. */
export const ALGORITHM = 'PBKDF2/SHA-256';
const KEY_LENGTH = 32;
/** Deterministic mode: the prefix the client must find is half the derived key. */
const PREFIX_BYTES = KEY_LENGTH / 2;

/** A challenge's parameters (what the client receives and sends back, signed). */
export interface ChallengeParameters {
  algorithm: string;
  cost: number;
  data?: Record<string, string | number | boolean | null>;
  expiresAt?: number;
  keyLength: number;
  keyPrefix: string;
  keySignature?: string;
  nonce: string;
  salt: string;
  [other: string]: unknown;
}

/** A signed challenge. */
export interface SignedChallenge {
  parameters: ChallengeParameters;
  signature: string;
}

/** A solution: the counter the client found and the key it derived. */
export interface Solution {
  counter: number;
  derivedKey: string;
}

/** Object keys sorted at every depth, undefined values left out: the signed text is `JSON.stringify` of it. */
export function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const entries: [string, unknown][] = [];
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) entries.push([key, sortKeys(v)]);
  }
  // fromEntries: a `__proto__` key stays an own property, signed like any other.
  return Object.fromEntries(entries);
}

/** HMAC-SHA-256 of `data` keyed by the UTF-8 bytes of `secret`, as lower-case hex. */
function hmacHex(secret: string, data: string | Uint8Array): string {
  return createHmac('sha256', secret).update(data).digest('hex');
}

/** The key a counter derives: PBKDF2(password = nonce ‖ uint32 BE counter, salt, cost). */
export function deriveKey(nonce: Buffer, salt: Buffer, counter: number, cost: number): Promise<Buffer> {
  const password = Buffer.alloc(nonce.length + 4);
  nonce.copy(password, 0);
  password.writeUInt32BE(counter, nonce.length);
  return new Promise((resolve, reject) => pbkdf2(password, salt, cost, KEY_LENGTH, 'sha256', (error, key) => (error ? reject(error) : resolve(key))));
}

const HEX_64 = /^[0-9a-f]{64}$/;

/** Constant-time equality of two HMAC-SHA-256 hex strings; false for anything that is not one. */
function equalHex(given: unknown, expected: string): boolean {
  return typeof given === 'string' && HEX_64.test(given) && timingSafeEqual(Buffer.from(given, 'hex'), Buffer.from(expected, 'hex'));
}

/**
 * A new challenge whose answer is `counter`: the key of that counter is derived here
 * once, its first half becomes the prefix to find, and an HMAC of it (with
 * `keySecret`) lets {@link verify} check a solution without deriving again.
 */
export async function createChallenge(options: { cost: number; counter: number; expiresAt: number; data: Record<string, string | number>; secret: string; keySecret: string }): Promise<SignedChallenge> {
  const nonce = randomBytes(16);
  const salt = randomBytes(16);
  const key = await deriveKey(nonce, salt, options.counter, options.cost);
  const parameters = sortKeys({
    algorithm: ALGORITHM,
    cost: options.cost,
    data: options.data,
    expiresAt: options.expiresAt,
    keyLength: KEY_LENGTH,
    keyPrefix: key.subarray(0, PREFIX_BYTES).toString('hex'),
    keySignature: hmacHex(options.keySecret, key),
    nonce: nonce.toString('hex'),
    salt: salt.toString('hex'),
  }) as ChallengeParameters;
  return { parameters, signature: hmacHex(options.secret, JSON.stringify(parameters)) };
}

/** Why {@link verify} refused, or `verified`. */
export type Verification = 'verified' | 'expired' | 'tampered' | 'invalid';

/**
 * Checks a solution, in altcha-lib's order: expired, then the challenge's signature
 * (any changed parameter), then the solution's shape and its key against the signed
 * key signature. `now` in ms. Never throws.
 */
export function verify(challenge: { parameters: Record<string, unknown>; signature: unknown }, solution: unknown, options: { secret: string; keySecret: string; now: number }): Verification {
  const p = challenge.parameters;
  if (typeof p.expiresAt === 'number' && p.expiresAt < options.now / 1000) return 'expired';
  if (!equalHex(challenge.signature, hmacHex(options.secret, JSON.stringify(sortKeys(p))))) return 'tampered';
  const s = solution as Partial<Solution> | null;
  if (s === null || typeof s !== 'object' || typeof s.derivedKey !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(s.derivedKey) || !Number.isInteger(s.counter) || (s.counter as number) < 0 || (s.counter as number) > 0xffffffff) return 'invalid';
  // The signed key signature (a signed value, so a well-formed one) against the key given.
  return equalHex(p.keySignature, hmacHex(options.keySecret, Buffer.from(s.derivedKey, 'hex'))) ? 'verified' : 'invalid';
}
