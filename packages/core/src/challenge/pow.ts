// The built-in challenge: ALTCHA's proof of work (protocol v2, altcha-v2.ts), PBKDF2/SHA-256
// in deterministic mode. The server picks a random counter, derives its key and signs
// both the challenge and the key; the client has to find the counter by deriving keys
// from 0 upwards, so the work is the counter (uniform below the ceiling the risk sets),
// each step `cost` PBKDF2 iterations, and the check is two HMACs. The challenge's data
// (signed with it) binds it to the route, the account and the client it was issued for.
import { createHmac, randomInt } from 'node:crypto';
import { neighbourhoodKey } from '../engine/keys.js';
import { ChallengeBusyError } from '../errors.js';
import type { Store } from '../stores/types.js';
import { ALGORITHM, createChallenge, verify } from './altcha-v2.js';

/** The algorithm of every built-in challenge (the one ALTCHA's widget and every altcha-lib port implement). */
export const POW_ALGORITHM = ALGORITHM;
/** Largest solution payload read from a request. */
export const MAX_PAYLOAD_CHARS = 4096;

/** What a challenge is issued for, and checked against when its solution comes back. */
export interface ChallengeBinding {
  /** The protected route's name. */
  route: string;
  /** The account the request names (raw, in the process only: signed data carries an HMAC of it). */
  account: string | undefined;
  /** The request's device id, when it has one. */
  deviceId: string | undefined;
  /** The client address. */
  ip: string | undefined;
}

/** Why a presented solution passed or not. */
export type ChallengeReason = 'solved' | 'malformed' | 'invalid' | 'expired' | 'tampered' | 'foreign' | 'replayed' | 'too-easy' | 'unavailable';

/** The check of a presented solution. */
export interface PowCheck {
  passed: boolean;
  reason: ChallengeReason;
  /** The difficulty level the solved challenge was issued at (1 base, 2 raised, 3 high). */
  level?: number;
  /** False when the solution passed but could not be recorded as spent (the store failed). */
  recorded?: boolean;
  /** Bound for the sealed form: the challenge's signature. */
  signature?: string;
}

/** The challenge as the client receives it (ALTCHA v2's challenge object). */
export interface PowChallenge {
  parameters: Record<string, unknown>;
  signature: string;
}

/** Compiled settings of the built-in challenge. */
export interface PowSettings {
  /** 32 bytes; every other key is derived from it. */
  key: Uint8Array;
  /** PBKDF2 iterations per attempt. */
  cost: number;
  /** Mean attempts a person's challenge takes (the base level). */
  difficulty: number;
  /** How long a challenge can be solved and spent, in seconds. */
  expiresInSeconds: number;
  /** Where spent solutions are remembered. */
  store: Store;
}

/**
 * Most challenges being issued at once: each derives one key on libuv's thread pool
 * (four threads, shared with fs, dns.lookup and the app's own crypto), so a flood of
 * challenged requests must not queue without bound in front of everything else.
 */
export const MAX_ISSUING = 64;

/** The multiplier of the mean attempts at each level. */
export const LEVEL_FACTORS = [0, 1, 4, 16] as const;

/**
 * The level a challenge is issued at: 1 for what the policy challenges (a person on a
 * new network, a browser missing a header), 2 from risk 0.9 (a deny softened to a
 * challenge: a captcha-group code, a signal capped at challenge), 3 after a solution
 * that failed (replayed, foreign, tampered, expired).
 */
export function levelOf(risk: number | undefined, failedBefore: boolean): 1 | 2 | 3 {
  if (failedBefore) return 3;
  if (risk !== undefined && risk >= 0.9) return 2;
  return 1;
}

const derive = (key: Uint8Array, label: string): Buffer => createHmac('sha256', key).update(label).digest();

/** The built-in proof-of-work challenge: issue, check. */
export class PowChallenges {
  readonly #settings: PowSettings;
  readonly #signKey: string;
  readonly #keySignKey: string;
  readonly #tagKey: Buffer;
  #issuing = 0;
  /** The key of the sealed form. */
  readonly sealKey: Buffer;

  constructor(settings: PowSettings) {
    this.#settings = settings;
    this.#signKey = derive(settings.key, 'vigil challenge signature').toString('hex');
    this.#keySignKey = derive(settings.key, 'vigil challenge key signature').toString('hex');
    this.#tagKey = derive(settings.key, 'vigil challenge binding');
    this.sealKey = derive(settings.key, 'vigil challenge form');
  }

  get expiresInSeconds(): number {
    return this.#settings.expiresInSeconds;
  }

  /** A short keyed tag of a binding value: the raw value (an email, an address) never leaves. */
  #tag(kind: string, value: string | undefined): string {
    return value === undefined || value === '' ? '' : createHmac('sha256', this.#tagKey).update(`${kind}\0${value}`).digest('base64url').slice(0, 22);
  }

  #bindingData(b: ChallengeBinding): { r: string; a: string; d: string; n: string } {
    return {
      // A tag, not the name: the widget and the page's solver base64 the payload with
      // btoa, which only takes Latin-1 (a route named "checkout — step 2" would not pass).
      r: this.#tag('r', b.route),
      a: this.#tag('a', b.account),
      d: this.#tag('d', b.deviceId),
      n: this.#tag('n', b.ip === undefined ? undefined : (neighbourhoodKey(b.ip) ?? b.ip)),
    };
  }

  /** Mean attempts at a level. */
  meanAttempts(level: 1 | 2 | 3): number {
    return this.#settings.difficulty * LEVEL_FACTORS[level];
  }

  /** A new signed challenge for this binding, at this level. */
  async issue(binding: ChallengeBinding, level: 1 | 2 | 3): Promise<PowChallenge> {
    const { cost, expiresInSeconds } = this.#settings;
    // Uniform in [0, 2 × mean): the client tries counters 0, 1, … until it finds this one.
    const counter = randomInt(0, Math.max(1, Math.round(2 * this.meanAttempts(level))));
    if (this.#issuing >= MAX_ISSUING) throw new ChallengeBusyError(MAX_ISSUING);
    this.#issuing++;
    try {
      const challenge = await createChallenge({
        cost,
        counter,
        expiresAt: Math.floor(Date.now() / 1000) + expiresInSeconds,
        secret: this.#signKey,
        keySecret: this.#keySignKey,
        data: { ...this.#bindingData(binding), l: level },
      });
      return challenge as unknown as PowChallenge;
    } finally {
      this.#issuing--;
    }
  }

  /** Reads a presented payload (base64 JSON `{ challenge, solution }`, ALTCHA's form) without checking it. */
  static decode(payload: unknown): { challenge: PowChallenge; solution: { counter: number; derivedKey: string } } | undefined {
    if (typeof payload !== 'string' || payload.length === 0 || payload.length > MAX_PAYLOAD_CHARS) return undefined;
    try {
      const value = JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as unknown;
      if (value === null || typeof value !== 'object') return undefined;
      const { challenge, solution } = value as { challenge?: unknown; solution?: unknown };
      if (challenge === null || typeof challenge !== 'object' || solution === null || typeof solution !== 'object') return undefined;
      const { parameters, signature } = challenge as { parameters?: unknown; signature?: unknown };
      if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters) || typeof signature !== 'string') return undefined;
      return { challenge: { parameters: parameters as Record<string, unknown>, signature }, solution: solution as { counter: number; derivedKey: string } };
    } catch {
      return undefined;
    }
  }

  /**
   * Checks a presented payload against the request it came with: signed by this
   * instance's key (or its fleet's), not expired, solved, issued for this route, this
   * account and this client (its device, or its network), and not spent before — spending
   * it now, atomically in the store, so that a fleet on one Redis refuses a replay on any
   * instance. Never throws: whatever the client sent is a failed check with a reason.
   */
  async check(payload: unknown, binding: ChallengeBinding, minLevel: 1 | 2 | 3 = 1, now = Date.now()): Promise<PowCheck> {
    try {
      return await this.#check(payload, binding, minLevel, now);
    } catch {
      // Whatever a client sends is a failed check, never an exception.
      return { passed: false, reason: 'malformed' };
    }
  }

  /** Whether a presented payload's challenge was signed by this key and has not expired (its solution unchecked). */
  issuedHere(payload: unknown, now = Date.now()): boolean {
    const decoded = PowChallenges.decode(payload);
    if (decoded === undefined) return false;
    try {
      const verdict = verify(decoded.challenge, { counter: 0, derivedKey: '00' }, { secret: this.#signKey, keySecret: this.#keySignKey, now });
      return verdict !== 'expired' && verdict !== 'tampered';
    } catch {
      return false;
    }
  }

  async #check(payload: unknown, binding: ChallengeBinding, minLevel: 1 | 2 | 3, now: number): Promise<PowCheck> {
    const decoded = PowChallenges.decode(payload);
    if (decoded === undefined) return { passed: false, reason: 'malformed' };
    const { challenge, solution } = decoded;
    const p = challenge.parameters;
    if (p.algorithm !== POW_ALGORITHM) return { passed: false, reason: 'tampered' };
    const verdict = verify(challenge, solution, { secret: this.#signKey, keySecret: this.#keySignKey, now });
    if (verdict !== 'verified') return { passed: false, reason: verdict };
    const data = (p.data ?? {}) as Record<string, unknown>;
    const level = data.l === 2 || data.l === 3 ? data.l : 1;
    const expected = this.#bindingData(binding);
    const sameClient = (data.d !== '' && data.d === expected.d) || (data.n !== '' && data.n === expected.n);
    if (data.r !== expected.r || data.a !== expected.a || !sameClient) return { passed: false, reason: 'foreign', level };
    if (level < minLevel) return { passed: false, reason: 'too-easy', level };
    const expiresAt = typeof p.expiresAt === 'number' ? p.expiresAt * 1000 : now + this.#settings.expiresInSeconds * 1000;
    let recorded = true;
    try {
      // 0: spent before, or a store with no room left to remember it (refused: a full
      // store must not turn replay protection off).
      const [claimed] = await this.#settings.store.execute([{ type: 'claim', key: `chal:${challenge.signature.slice(0, 43)}`, value: '1', ttlMs: Math.max(1000, expiresAt - now + 1000) }], now);
      if (claimed !== 1) return { passed: false, reason: 'replayed', level };
    } catch {
      // The store failed: the work was done, signed for this request and unexpired; only
      // its replay cannot be checked. A person is not turned away for an outage (the
      // engine itself fails over then, by the same strategy).
      recorded = false;
    }
    return { passed: true, reason: 'solved', level, recorded, signature: challenge.signature };
  }
}
