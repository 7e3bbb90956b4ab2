// The built-in challenge as the pipeline uses it: options checked at start-up, the
// solution a request presents (a header, a form or JSON field, a query parameter for
// GET), the sealed form restored before anything reads the body, the check against
// what the request is, and the answer of a challenged request (the page, or JSON).
import { createHash, randomBytes } from 'node:crypto';
import { checkKnownOptions } from '../config/options.js';
import { getHeader } from '../context/headers.js';
import type { RequestInfo } from '../context/request.js';
import { prefersHtml, type RenderedResponse } from '../decision/responses.js';
import { VigilConfigError } from '../errors.js';
import type { ProviderEvent } from '../providers/types.js';
import { MemoryStore } from '../stores/memory.js';
import type { Store } from '../stores/types.js';
import { assetResponse } from './assets.js';
import { captchaJson, challengeJson, challengePage, SEALED_FIELD, SOLUTION_FIELD, SOLUTION_HEADER } from './page.js';
import { type ChallengeBinding, type ChallengeReason, levelOf, type PowChallenge, PowChallenges, type PowCheck } from './pow.js';
import { MAX_SEALED_CHARS, seal, unseal } from './seal.js';
import { type CaptchaVendor, isCaptchaVendor } from './vendors.js';

export { SEALED_FIELD, SOLUTION_FIELD, SOLUTION_HEADER } from './page.js';
export type { ChallengeBinding, ChallengeReason } from './pow.js';

/** Options of the built-in proof-of-work challenge (`createVigil({ challenge })`). */
export interface ChallengeOptions {
  /**
   * Signs challenges (HMAC) and seals the re-posted form. Default: derived from the
   * embedded engine's `secret` (so one secret serves a fleet), else random per process.
   * Over a shared store (Redis) every instance needs the same one.
   */
  secret?: string;
  /**
   * Mean attempts of a base-level challenge (what the policy challenges: a person on a
   * new network); a softened deny (risk ≥ 0.9) takes 4×, a retry after a failed
   * solution 16×. Default 800.
   */
  difficulty?: number;
  /**
   * PBKDF2-SHA-256 iterations per attempt. Default 500. The server derives one key per
   * challenge it issues, so this is also what a challenged request costs it (~0.5 ms of
   * CPU at 500, on libuv's thread pool).
   */
  cost?: number;
  /** Seconds a challenge can be solved and spent in. Default 300 (5 minutes). */
  expiresInSeconds?: number;
  /** Where the adapters serve the page's scripts and styles. Default `/_vigil/challenge`. */
  assetsPath?: string;
  /**
   * Where spent solutions are remembered. Default: the embedded engine's store (a fleet
   * on Redis refuses a replay on any instance), else a `MemoryStore`.
   */
  store?: Store;
  /**
   * A third-party CAPTCHA served instead of the proof of work: `turnstile({ siteKey,
   * secret })`, `hcaptcha(…)` or `recaptcha(…)`. Its tokens are checked with the
   * vendor's siteverify; when the vendor cannot be reached, the request is challenged
   * again with the built-in proof of work, so that an outage neither lets a bot through
   * nor locks a person out.
   */
  captcha?: CaptchaVendor;
}

/** What a request presents: a solution, and the sealed form when it comes back from the page. */
export interface Presented {
  /** A proof-of-work solution, or a third-party CAPTCHA's token. */
  kind: 'pow' | 'captcha';
  payload: string;
  sealed: string | undefined;
  /** The form carried no fields but ours (the challenge page's re-post). */
  fromPage: boolean;
}

/** What `decision.challenge` says of a solution the request presented. */
export interface ChallengeResult {
  /** True when the solution was correct, fresh, unspent and issued for this request. */
  readonly passed: boolean;
  /** What was presented: `pow` (the built-in challenge) or the third-party CAPTCHA's name. */
  readonly kind: string;
  /** `solved`, or why not: `malformed`, `invalid`, `expired`, `tampered`, `foreign`, `replayed`, `unavailable` (the CAPTCHA vendor could not be asked). */
  readonly reason: ChallengeReason;
  /** The level the challenge was issued at: 1 base, 2 raised, 3 high. */
  readonly level: number | undefined;
  /** False when it passed but could not be recorded as spent (the store failed). */
  readonly recorded: boolean;
}

const OPTION_KEYS = ['secret', 'difficulty', 'cost', 'expiresInSeconds', 'assetsPath', 'store', 'captcha'];
/** The context the sealed form of a CAPTCHA page is bound to (there is no signature to bind it to). */
const CAPTCHA_SEAL = 'vigil captcha form';
const ASSETS_PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

function wholeNumber(value: unknown, option: string, min: number, max: number, fallback: number, example: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new VigilConfigError('VIGIL_E_CHALLENGE', option, value, `which is not a whole number from ${min} to ${max}`, `Use e.g. ${example}, or leave it out for the default (${fallback}).`);
  }
  return value;
}

/** The fields of a parsed form body, ours left out; undefined for a body that is not one. */
function formOf(body: unknown): Record<string, unknown> | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  // Parsed fields only: a raw body (a Buffer, a stream) is not a form that can be put
  // back. (Parsers differ in the prototype they give: fast-querystring's has none of Object's.)
  if (ArrayBuffer.isView(body) || body instanceof ArrayBuffer || typeof (body as { pipe?: unknown }).pipe === 'function') return undefined;
  const form: Record<string, unknown> = {};
  for (const key of Object.keys(body)) if (key !== SOLUTION_FIELD && key !== SEALED_FIELD) form[key] = (body as Record<string, unknown>)[key];
  return form;
}

/** The built-in challenge of one instance. */
export class Challenges {
  readonly pow: PowChallenges;
  /** The assets' path prefix, no trailing slash. */
  readonly assetsPath: string;
  /** The third-party CAPTCHA served instead of the proof of work, if any. */
  readonly captcha: CaptchaVendor | undefined;
  readonly #assetsPrefix: string;
  readonly #ours: ReadonlySet<string>;

  constructor(pow: PowChallenges, assetsPath: string, captcha?: CaptchaVendor) {
    this.pow = pow;
    this.assetsPath = assetsPath;
    this.captcha = captcha;
    this.#assetsPrefix = `${assetsPath}/`;
    // The fields a challenge page's re-post carries: ours, and the widgets' (hCaptcha's puts its token in two).
    this.#ours = new Set([SOLUTION_FIELD, SEALED_FIELD, ...(captcha === undefined ? [] : [captcha.responseField, 'g-recaptcha-response', 'h-captcha-response'])]);
  }

  /** The response of a GET (or HEAD) for one of the page's assets; undefined for any other request. */
  asset(method: string, path: string): RenderedResponse | undefined {
    if ((method !== 'GET' && method !== 'HEAD') || !path.startsWith(this.#assetsPrefix)) return undefined;
    return assetResponse(path.slice(this.#assetsPrefix.length));
  }

  /**
   * The solution the request carries, if any: the header first, then the body's field,
   * then the query's (GET). With a third-party CAPTCHA, a value that is not a proof of
   * work (and the widget's own field) is its token.
   */
  presented(req: RequestInfo): Presented | undefined {
    const header = getHeader(req.headers, SOLUTION_HEADER);
    const body = req.body !== null && typeof req.body === 'object' && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : undefined;
    let payload: unknown = header;
    if (payload === undefined && body !== undefined) payload = body[SOLUTION_FIELD];
    if (payload === undefined && req.method === 'GET') payload = req.query?.[SOLUTION_FIELD];
    // The common case, on every protected request: nothing presented, nothing allocated.
    if (payload === undefined && (this.captcha === undefined || body === undefined)) return undefined;
    const sealed = body?.[SEALED_FIELD];
    const keys = body === undefined ? [] : Object.keys(body);
    const fromPage = typeof sealed === 'string' && keys.every((k) => this.#ours.has(k));
    let kind: Presented['kind'] = 'pow';
    if (this.captcha !== undefined && (typeof payload !== 'string' || PowChallenges.decode(payload) === undefined)) {
      // The widget's own field counts only on the challenge page's re-post: an app that
      // shows the same vendor's widget on its own form checks its own tokens.
      const token = payload ?? (fromPage ? body?.[this.captcha.responseField] : undefined);
      if (typeof token === 'string' && token !== '') {
        payload = token;
        kind = 'captcha';
      }
    }
    if (typeof payload !== 'string' || payload === '') return undefined;
    return { kind, payload, sealed: typeof sealed === 'string' ? sealed : undefined, fromPage };
  }

  /**
   * The form the page re-posted, opened and put back as the request's body (on the
   * framework's request too, through `setBody`), so that the route's fields, the engine
   * and the app's handler all see what the person typed. False when there was nothing to
   * restore or it could not be opened (the check then fails as `tampered`).
   */
  restore(req: RequestInfo, presented: Presented): boolean {
    if (presented.sealed === undefined || !presented.fromPage) return false;
    let context = CAPTCHA_SEAL;
    if (presented.kind === 'pow') {
      // Only under a challenge this fleet signed and that has not expired: a sealed form
      // is not put back for a payload that merely names a signature.
      const decoded = PowChallenges.decode(presented.payload);
      if (decoded === undefined || !this.pow.issuedHere(presented.payload)) return false;
      context = decoded.challenge.signature;
    }
    const opened = unseal(this.pow.sealKey, context, presented.sealed);
    const value = opened?.value as { f?: unknown; e?: unknown } | undefined;
    // The sealed value carries its own expiry: a form sealed for a CAPTCHA page (which has
    // no signature to bind it to) is not put back once the page it came from is stale.
    if (value === null || typeof value !== 'object' || typeof value.e !== 'number' || value.e < Date.now()) return false;
    const form = value.f;
    if (form === null || typeof form !== 'object' || Array.isArray(form)) return false;
    if (typeof req.setBody === 'function') req.setBody(form);
    else req.body = form;
    return true;
  }

  /**
   * Checks a presented solution (see {@link PowChallenges.check}), or a CAPTCHA token
   * with its vendor (which refuses a token spent before). A sealed form that did not
   * open is `tampered`.
   */
  async check(presented: Presented, binding: ChallengeBinding, restored: boolean, minLevel: 1 | 2 | 3 = 1): Promise<PowCheck & { kind: string }> {
    const kind = presented.kind === 'captcha' && this.captcha !== undefined ? this.captcha.name : 'pow';
    if (presented.sealed !== undefined && presented.fromPage && !restored) return { kind, passed: false, reason: 'tampered' };
    if (presented.kind === 'captcha' && this.captcha !== undefined) {
      const answer = await this.captcha.verify(presented.payload, binding.ip);
      return { kind, passed: answer.passed, reason: answer.reason };
    }
    return { kind, ...(await this.pow.check(presented.payload, binding, minLevel)) };
  }

  /**
   * The answer of a challenged request: for a browser's form post or navigation, the
   * page (its form sealed when it had one, posted back to the same target); for every
   * other client, JSON. The level follows the risk, and rises after a failed solution.
   */
  async respond(request: RequestInfo, binding: ChallengeBinding, risk: number | undefined, failedBefore: boolean, requestId: string | undefined, captchaDown = false): Promise<RenderedResponse> {
    const method = request.method;
    const form = formOf(request.body);
    // A page for a browser's form post or navigation, when what it posted can be put back
    // (a form without setBody could not: JSON, which the client retries itself).
    // A raw body (a Buffer, text, a multipart stream) cannot come back through the page either.
    const formBack = form === undefined ? request.body === undefined : typeof request.setBody === 'function';
    const page = (method === 'GET' || (method === 'POST' && formBack)) && prefersHtml(getHeader(request.headers, 'Accept'));
    // The third-party CAPTCHA, unless its vendor just could not be asked: then the proof of work.
    const captcha = captchaDown ? undefined : this.captcha;
    if (captcha !== undefined && !page) return captchaJson(captcha.name, captcha.siteKey, captcha.responseField, requestId, failedBefore);
    const challenge = captcha === undefined ? await this.pow.issue(binding, levelOf(risk, failedBefore)) : undefined;
    if (!page) return challengeJson(challenge as PowChallenge, requestId, failedBefore);
    const parts = {
      challenge,
      captcha: captcha === undefined ? undefined : { html: captcha.widgetHtml(), scriptUrl: captcha.scriptUrl, field: captcha.responseField, csp: captcha.cspOrigins },
      assetsPath: this.assetsPath,
      requestId,
      retry: failedBefore,
    };
    if (method === 'POST') {
      const expires = Date.now() + this.pow.expiresInSeconds * 1000;
      const sealed = form === undefined ? undefined : seal(this.pow.sealKey, challenge === undefined ? CAPTCHA_SEAL : challenge.signature, { f: form, e: expires });
      // A form too large to come back sealed: the client gets the JSON answer, not a page
      // that would post back an empty form.
      if (sealed !== undefined && sealed.length > MAX_SEALED_CHARS) {
        return captcha === undefined ? challengeJson(challenge as PowChallenge, requestId, failedBefore) : captchaJson(captcha.name, captcha.siteKey, captcha.responseField, requestId, failedBefore);
      }
      return challengePage({ ...parts, method, sealed });
    }
    // A GET form replaces the target's query: its parameters go back as fields.
    const hidden: [string, string][] = [];
    const query = new URLSearchParams(request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '');
    for (const [name, value] of query) if (name !== SOLUTION_FIELD) hidden.push([name, value]);
    return challengePage({ ...parts, method: 'GET', hidden, sealed: undefined });
  }

}

/**
 * The built-in challenge of a configuration: on unless `challenge: false`. Throws
 * {@link VigilConfigError} for an option at fault, and `VIGIL_E_SECRET_REQUIRED` when
 * the store is shared and no key is (a challenge issued by one instance must verify on
 * every other).
 */
export function compileChallenges(option: unknown, deps: { engineKey: Uint8Array | undefined; engineStore: Store | undefined }): Challenges | undefined {
  if (option === false) return undefined;
  if (option !== undefined && (option === null || typeof option !== 'object' || Array.isArray(option))) {
    throw new VigilConfigError('VIGIL_E_CHALLENGE', 'challenge', option, 'which is neither an object nor false', 'Leave it out (the built-in challenge), pass { difficulty, cost, expiresInSeconds, assetsPath, secret, store }, or false to turn it off.');
  }
  const o = (option ?? {}) as ChallengeOptions;
  checkKnownOptions(o, OPTION_KEYS, 'challenge');
  if (o.secret !== undefined && (typeof o.secret !== 'string' || o.secret.length < 16)) {
    throw new VigilConfigError('VIGIL_E_CHALLENGE', 'challenge.secret', '(hidden)', 'which is not a string of 16 characters or more', 'Use a long random string shared by every instance, e.g. from process.env.VIGIL_SECRET, or leave it out.');
  }
  const difficulty = wholeNumber(o.difficulty, 'challenge.difficulty', 1, 1_000_000, 800, '800 (mean attempts of a base challenge)');
  const cost = wholeNumber(o.cost, 'challenge.cost', 1, 100_000, 500, '500 (PBKDF2 iterations per attempt)');
  const expiresInSeconds = wholeNumber(o.expiresInSeconds, 'challenge.expiresInSeconds', 30, 3600, 300, '300');
  const assetsPath = o.assetsPath === undefined ? '/_vigil/challenge' : o.assetsPath;
  if (typeof assetsPath !== 'string' || !ASSETS_PATH.test(assetsPath)) {
    throw new VigilConfigError('VIGIL_E_CHALLENGE', 'challenge.assetsPath', assetsPath, 'which is not a path of plain segments', 'Use a path such as "/_vigil/challenge": starting with "/", no trailing slash, letters, digits, ".", "_", "~" and "-".');
  }
  if (o.captcha !== undefined && !isCaptchaVendor(o.captcha)) {
    throw new VigilConfigError('VIGIL_E_CHALLENGE', 'challenge.captcha', '(hidden)', 'which is not a CAPTCHA made by turnstile(), hcaptcha() or recaptcha()', "Pass turnstile({ siteKey, secret }) (or hcaptcha, recaptcha, from '@vigil/core'), or leave it out for the built-in proof of work.");
  }
  if (o.store !== undefined && (o.store === null || typeof o.store !== 'object' || typeof (o.store as Store).execute !== 'function')) {
    throw new VigilConfigError('VIGIL_E_CHALLENGE', 'challenge.store', o.store, 'which is not a store', 'Pass a Store (new MemoryStore(), new RedisStore({ url })) or leave it out for the engine\'s.');
  }
  const store: Store = o.store ?? deps.engineStore ?? new MemoryStore();
  let key: Uint8Array;
  if (o.secret !== undefined) key = createHash('sha256').update(`vigil challenge\0${o.secret}`).digest();
  else if (deps.engineKey !== undefined) key = createHash('sha256').update('vigil challenge\0').update(deps.engineKey).digest();
  else {
    if (store.shared === true) {
      throw new VigilConfigError(
        'VIGIL_E_SECRET_REQUIRED',
        'challenge.secret',
        undefined,
        `which is missing while spent challenges are kept in the shared store ${store.name}`,
        'Pass challenge: { secret } (the same on every instance), or the embedded engine\'s secret: a challenge issued by one instance must verify on the others.',
      );
    }
    key = randomBytes(32);
  }
  return new Challenges(new PowChallenges({ key, cost, difficulty, expiresInSeconds, store }), assetsPath, o.captcha);
}

/** What a challenge is bound to, read from a decision's event: the route, the account, the device, the address. */
export function bindingOf(route: { readonly name: string }, event: Pick<ProviderEvent, 'user' | 'deviceId' | 'context'>): ChallengeBinding {
  const u = event.user;
  const account = u.id ?? (u.email === undefined ? undefined : u.email.trim().toLowerCase()) ?? u.username ?? u.phone;
  return { route: route.name, account, deviceId: event.deviceId, ip: event.context.ip };
}

/** `decision.challenge` of a check. */
export function challengeResultOf(check: PowCheck & { kind: string }): ChallengeResult {
  return Object.freeze({ kind: check.kind, passed: check.passed, reason: check.reason, level: check.level, recorded: check.recorded ?? check.passed });
}
