// Third-party CAPTCHAs in place of the built-in challenge: Cloudflare Turnstile, hCaptcha
// and Google reCAPTCHA (v2, and v3 through its score and action). Each is a widget the
// page embeds, which puts a token in the form, and a server-side check of that token with
// the vendor's siteverify endpoint. The check never throws and says why a token did not
// pass: a vendor that refused it (`invalid`) is the visitor's failure, a vendor that could
// not be asked (`unavailable`) is not, and the caller decides what that one means.
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Got } from 'got';
import { checkKnownOptions } from '../config/options.js';
import { VigilConfigError } from '../errors.js';
import { type CancelableAnswer, createAgents, loadGot, namesOnly, preloadGot, readAnswer, remainingMs, withinBudget } from '../providers/http.js';

/** The third-party CAPTCHAs Vigil verifies. */
export type CaptchaVendorName = 'turnstile' | 'hcaptcha' | 'recaptcha';

/** Options of {@link turnstile}, {@link hcaptcha} and {@link recaptcha}. */
export interface CaptchaVendorOptions {
  /** The site key: public, it is written into the page. */
  siteKey: string;
  /** The server secret, sent only to the vendor: never logged, never in an error message, never in a decision. */
  secret: string;
  /** Milliseconds a siteverify call may take, loading the HTTP client included. A whole number from 100 to 30000; default 3000. */
  timeout?: number;
  /** The siteverify endpoint, when not the vendor's own (a self-hosted proxy, a test server): an http(s) URL. */
  verifyUrl?: string;
  /** When set, the hostname the vendor says the widget was solved on must be this one (case-insensitive). */
  hostname?: string;
  /**
   * When set, the action the vendor answers must be this one: Turnstile's `data-action`,
   * reCAPTCHA v3's `grecaptcha.execute(siteKey, { action })`. A vendor answer without an
   * action (reCAPTCHA v2) then fails. hCaptcha has no action and refuses the option.
   */
  action?: string;
  /**
   * The least score that passes, from 0 to 1, on reCAPTCHA's scale (1.0: very likely a
   * person), checked only when the vendor answers a score (reCAPTCHA v3, hCaptcha
   * Enterprise). hCaptcha's score runs the other way (1.0: very likely a bot), so for
   * hCaptcha a token passes when its score is at most `1 - minScore`.
   */
  minScore?: number;
}

/** A third-party CAPTCHA: what a page needs to show its widget, and the check of its token. */
export interface CaptchaVendor {
  /** Which vendor this is. */
  readonly name: CaptchaVendorName;
  /** The public site key, as configured. */
  readonly siteKey: string;
  /** The body field the vendor's widget puts its token in: 'cf-turnstile-response' | 'h-captcha-response' | 'g-recaptcha-response'. */
  readonly responseField: string;
  /** The vendor's widget script URL (their CDN: https://challenges.cloudflare.com/turnstile/v0/api.js, https://js.hcaptcha.com/1/api.js, https://www.google.com/recaptcha/api.js). */
  readonly scriptUrl: string;
  /**
   * The sources a page's Content-Security-Policy must allow for this widget (script-src,
   * frame-src, connect-src), as each vendor documents them. hCaptcha also needs its
   * origins in style-src; reCAPTCHA's sources are paths, which CSP accepts as such.
   */
  readonly cspOrigins: { script: string[]; frame: string[]; connect: string[] };
  /**
   * HTML of the widget element (e.g. `<div class="cf-turnstile" data-sitekey="…"></div>`),
   * the site key HTML-escaped. Turnstile's carries `data-action` when `action` is set.
   * reCAPTCHA's is the v2 checkbox: a v3 page calls `grecaptcha.execute` itself and puts
   * the token in `g-recaptcha-response`.
   */
  widgetHtml(): string;
  /**
   * Verifies a token with the vendor's siteverify: a form-encoded POST of the secret, the
   * token and `remoteIp` when it is an IP address (hCaptcha's also names the site key),
   * then the answer checked against `hostname`, `action` and `minScore`. A token that is
   * missing, not a string or over 2048 characters is `malformed` and never sent. Never
   * throws.
   */
  verify(token: unknown, remoteIp: string | undefined): Promise<CaptchaCheck>;
}

/** The check of a CAPTCHA token. */
export interface CaptchaCheck {
  /** True when the vendor confirmed the token and it met `hostname`, `action` and `minScore`. */
  passed: boolean;
  /**
   * `solved`; `invalid` (the vendor said no, or the hostname, action or score is not the
   * one required); `malformed` (no token, not a string, over 2048 characters: never sent
   * to the vendor); `unavailable` (a timeout, a network error, a 5xx, 429 or redirect, an
   * answer that is not the vendor's JSON or is over 64 KB).
   */
  reason: 'solved' | 'invalid' | 'malformed' | 'unavailable';
  /** The vendor's error codes when it gave any (e.g. `['invalid-input-response']`): strings, at most 10, at most 64 characters each. */
  errorCodes?: string[];
  /** The score when the vendor answered one, as the vendor gave it (hCaptcha's is a risk: higher is worse). */
  score?: number;
}

/** What differs from one vendor to the next. */
interface VendorSpec {
  name: CaptchaVendorName;
  /** The factory's name, for error messages. */
  factory: string;
  label: string;
  verifyUrl: string;
  responseField: string;
  scriptUrl: string;
  widgetClass: string;
  csp: { script: string[]; frame: string[]; connect: string[] };
  /** hCaptcha takes the site key with the token, and refuses a token issued for another. */
  sendsSiteKey: boolean;
  /** Whether the vendor answers an action (hCaptcha does not). */
  hasAction: boolean;
  /** hCaptcha's score is a risk (1.0: a bot); reCAPTCHA's a likelihood of a person. */
  scoreIsRisk: boolean;
  /** Where the keys are found, for the fixes of error messages. */
  keysAt: string;
}

const TURNSTILE: VendorSpec = {
  name: 'turnstile',
  factory: 'turnstile',
  label: 'Turnstile',
  verifyUrl: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  responseField: 'cf-turnstile-response',
  scriptUrl: 'https://challenges.cloudflare.com/turnstile/v0/api.js',
  widgetClass: 'cf-turnstile',
  // Cloudflare documents script-src and frame-src; the widget's own requests run in its frame.
  csp: { script: ['https://challenges.cloudflare.com'], frame: ['https://challenges.cloudflare.com'], connect: [] },
  sendsSiteKey: false,
  hasAction: true,
  scoreIsRisk: false,
  keysAt: 'the Cloudflare dashboard, Turnstile',
};

const HCAPTCHA: VendorSpec = {
  name: 'hcaptcha',
  factory: 'hcaptcha',
  label: 'hCaptcha',
  verifyUrl: 'https://api.hcaptcha.com/siteverify',
  responseField: 'h-captcha-response',
  scriptUrl: 'https://js.hcaptcha.com/1/api.js',
  widgetClass: 'h-captcha',
  csp: {
    script: ['https://hcaptcha.com', 'https://*.hcaptcha.com'],
    frame: ['https://hcaptcha.com', 'https://*.hcaptcha.com'],
    connect: ['https://hcaptcha.com', 'https://*.hcaptcha.com'],
  },
  sendsSiteKey: true,
  hasAction: false,
  scoreIsRisk: true,
  keysAt: 'the hCaptcha dashboard (Sites for the site key, Settings for the secret)',
};

const RECAPTCHA: VendorSpec = {
  name: 'recaptcha',
  factory: 'recaptcha',
  label: 'reCAPTCHA',
  verifyUrl: 'https://www.google.com/recaptcha/api/siteverify',
  responseField: 'g-recaptcha-response',
  scriptUrl: 'https://www.google.com/recaptcha/api.js',
  widgetClass: 'g-recaptcha',
  // api.js loads the widget's code from gstatic; the challenge lives in a frame of either host.
  csp: {
    script: ['https://www.google.com/recaptcha/', 'https://www.gstatic.com/recaptcha/'],
    frame: ['https://www.google.com/recaptcha/', 'https://recaptcha.google.com/recaptcha/'],
    connect: [],
  },
  sendsSiteKey: false,
  hasAction: true,
  scoreIsRisk: false,
  keysAt: 'the reCAPTCHA admin console (Settings, reCAPTCHA keys)',
};

const OPTION_KEYS = ['siteKey', 'secret', 'timeout', 'verifyUrl', 'hostname', 'action', 'minScore'];
/** Turnstile's documented bound on a token; the others' are shorter. A longer one is not worth a round trip. */
const MAX_TOKEN_CHARS = 2048;
const MAX_ERROR_CODES = 10;
const MAX_ERROR_CODE_CHARS = 64;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;
/** The float slack of `1 - score` against a threshold (1 - 0.7 is 0.30000000000000004). */
const SCORE_EPSILON = 1e-9;

/** Every vendor made by the factories: `isCaptchaVendor` trusts nothing else. */
const made = new WeakSet<object>();

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fail(option: string, value: unknown, problem: string, fix: string): never {
  throw new VigilConfigError('VIGIL_E_CHALLENGE', `challenge.${option}`, value, problem, fix);
}

/** The vendor's error codes, fit to be logged and returned: printable, bounded, never the secret (a proxy could echo it). */
function sanitizeCodes(value: unknown, secret: string): string[] {
  const list: unknown[] = Array.isArray(value) ? value : typeof value === 'string' ? [value] : [];
  const codes: string[] = [];
  for (const item of list) {
    if (codes.length === MAX_ERROR_CODES) break;
    if (typeof item !== 'string') continue;
    const code = item.replace(/[^\x20-\x7e]/g, '');
    if (code === '' || code.includes(secret)) continue;
    codes.push(code.slice(0, MAX_ERROR_CODE_CHARS));
  }
  return codes;
}

const UNAVAILABLE: Readonly<CaptchaCheck> = { passed: false, reason: 'unavailable' };
const unavailable = (): CaptchaCheck => ({ ...UNAVAILABLE });

function compileVendor(spec: VendorSpec, options: CaptchaVendorOptions): CaptchaVendor {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    // A string here is most likely the secret itself, an array may hold it: neither is shown.
    const shown = options === undefined || options === null || typeof options === 'number' || typeof options === 'boolean' ? options : '(hidden)';
    throw new VigilConfigError('VIGIL_E_CHALLENGE', 'challenge', shown, 'which is not an object', `Pass ${spec.factory}({ siteKey, secret }), the keys from ${spec.keysAt}.`);
  }
  // Names only: a misspelt "secert" must not print the secret.
  checkKnownOptions(namesOnly(options), OPTION_KEYS, 'challenge');
  const o = options as unknown as Record<string, unknown>;

  const siteKey = o.siteKey;
  if (typeof siteKey !== 'string' || siteKey.trim() === '' || siteKey.length > 1024) {
    fail('siteKey', siteKey, 'which is not a non-empty string of at most 1024 characters', `Pass the ${spec.label} site key from ${spec.keysAt}, e.g. siteKey: process.env.CAPTCHA_SITE_KEY.`);
  }
  const secret = o.secret;
  if (typeof secret !== 'string' || secret.trim() === '') {
    fail('secret', secret === undefined || secret === null ? secret : '(hidden)', 'which is not a non-empty string', `Pass the ${spec.label} secret key from ${spec.keysAt}, e.g. secret: process.env.CAPTCHA_SECRET.`);
  }
  const timeout = o.timeout ?? 3000;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 100 || timeout > 30_000) {
    fail('timeout', o.timeout, 'which is not a whole number of ms from 100 to 30000', 'Use e.g. 3000 (the default), or leave it out.');
  }
  const verifyUrl = o.verifyUrl ?? spec.verifyUrl;
  let parsedUrl: URL | undefined;
  try {
    parsedUrl = typeof verifyUrl === 'string' ? new URL(verifyUrl) : undefined;
  } catch {
    parsedUrl = undefined;
  }
  if (parsedUrl === undefined || (parsedUrl.protocol !== 'https:' && parsedUrl.protocol !== 'http:')) {
    fail('verifyUrl', verifyUrl, 'which is not an http(s) URL', `Use an absolute URL such as "${spec.verifyUrl}" (the default), or leave it out.`);
  }
  const hostname = o.hostname;
  if (hostname !== undefined && (typeof hostname !== 'string' || !HOSTNAME.test(hostname))) {
    fail('hostname', hostname, 'which is not a hostname', 'Use the bare hostname the widget is shown on, e.g. "shop.example.com": no scheme, port or path.');
  }
  const action = o.action;
  if (action !== undefined) {
    if (!spec.hasAction) fail('action', action, `which ${spec.label} does not support (its siteverify answers no action)`, 'Leave it out.');
    if (typeof action !== 'string' || action.trim() === '' || action.length > 100) {
      fail('action', action, 'which is not a non-empty string of at most 100 characters', 'Use the action the page gives the widget, e.g. "login", or leave it out.');
    }
  }
  const minScore = o.minScore;
  if (minScore !== undefined && (typeof minScore !== 'number' || !Number.isFinite(minScore) || minScore < 0 || minScore > 1)) {
    fail('minScore', minScore, 'which is not a number from 0 to 1', 'Use e.g. 0.5, or leave it out to accept any score.');
  }
  const expectedHost = hostname === undefined ? undefined : hostname.toLowerCase();
  const url = parsedUrl.href;

  const agents = createAgents();
  preloadGot();
  let client: Got | undefined;
  const http = async (): Promise<Got> => {
    client ??= (await loadGot()).extend({
      headers: { accept: 'application/json', 'user-agent': `vigil-${spec.name}` },
      timeout: { request: timeout },
      // One try: failing over to another check is the caller's decision, and a retry
      // would spend the visitor's time on a vendor that just failed.
      retry: { limit: 0 },
      agent: agents.got,
      throwHttpErrors: false,
      responseType: 'text',
      // A compressed answer could inflate past the body cap; a redirect could carry the
      // secret elsewhere.
      decompress: false,
      followRedirect: false,
    });
    return client;
  };

  const meetsScore = (score: number): boolean => {
    if (minScore === undefined) return true;
    return spec.scoreIsRisk ? 1 - score + SCORE_EPSILON >= minScore : score >= minScore;
  };

  /** What the vendor's answer says of the token. */
  const judge = (status: number, text: string): CaptchaCheck => {
    // 5xx, 429 and 408 are the vendor's trouble; a redirect is not an answer.
    if (status >= 500 || status === 429 || status === 408 || (status >= 300 && status < 400)) return unavailable();
    let body: Record<string, unknown>;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return unavailable();
      body = parsed as Record<string, unknown>;
    } catch {
      return unavailable();
    }
    // Anything else (a proxy's error page, a captive portal's JSON) is not the vendor speaking.
    if (typeof body.success !== 'boolean') return unavailable();
    let score: number | undefined;
    if (body.score !== undefined && body.score !== null) {
      if (typeof body.score !== 'number' || !Number.isFinite(body.score) || body.score < 0 || body.score > 1) return unavailable();
      score = body.score;
    }
    const errorCodes = sanitizeCodes(body['error-codes'], secret);
    const check = (passed: boolean): CaptchaCheck => ({
      passed,
      reason: passed ? 'solved' : 'invalid',
      ...(errorCodes.length > 0 ? { errorCodes } : {}),
      ...(score === undefined ? {} : { score }),
    });
    // A 4xx in the vendor's own shape is its refusal; it never passes, whatever it says.
    if (body.success !== true || status >= 400) return check(false);
    // Without a hostname to compare, a required one is not confirmed.
    if (expectedHost !== undefined && (typeof body.hostname !== 'string' || body.hostname.toLowerCase() !== expectedHost)) return check(false);
    if (action !== undefined && body.action !== action) return check(false);
    if (score !== undefined && !meetsScore(score)) return check(false);
    return check(true);
  };

  const verifyOnce = async (token: unknown, remoteIp: string | undefined): Promise<CaptchaCheck> => {
    if (typeof token !== 'string' || token === '' || token.length > MAX_TOKEN_CHARS) return { passed: false, reason: 'malformed' };
    const form: Record<string, string> = { secret: secret, response: token };
    // Not an address (a proxy's "unknown", a list): hCaptcha would refuse the whole call.
    if (typeof remoteIp === 'string' && isIP(remoteIp) !== 0) form.remoteip = remoteIp;
    if (spec.sendsSiteKey) form.sitekey = siteKey;
    // The budget covers the whole call, loading got included, not just the socket time.
    const started = performance.now();
    const got = client ?? (await withinBudget(http(), timeout));
    const left = remainingMs(started, timeout);
    if (!got || left < 1) return unavailable();
    const request = got.post(url, { form });
    const answer = await readAnswer(request as unknown as CancelableAnswer<{ statusCode: number; body: unknown }>, left);
    // got's own error is never kept: its options carry the form, secret included.
    if (!answer.ok) return unavailable();
    return judge(answer.status, answer.body);
  };

  const actionAttribute = spec.name === 'turnstile' && action !== undefined ? ` data-action="${escapeHtml(action)}"` : '';
  const widget = `<div class="${spec.widgetClass}" data-sitekey="${escapeHtml(siteKey)}"${actionAttribute}></div>`;
  const vendor: CaptchaVendor = Object.freeze({
    name: spec.name,
    siteKey,
    responseField: spec.responseField,
    scriptUrl: spec.scriptUrl,
    cspOrigins: Object.freeze({
      script: Object.freeze([...spec.csp.script]) as string[],
      frame: Object.freeze([...spec.csp.frame]) as string[],
      connect: Object.freeze([...spec.csp.connect]) as string[],
    }),
    widgetHtml: () => widget,
    async verify(token: unknown, remoteIp: string | undefined): Promise<CaptchaCheck> {
      try {
        return await verifyOnce(token, remoteIp);
      } catch {
        // got failed to load, or threw on its options: the vendor could not be asked.
        return unavailable();
      }
    },
  });
  made.add(vendor);
  return vendor;
}

/**
 * Cloudflare Turnstile: the widget (`cf-turnstile`, token in `cf-turnstile-response`) and
 * the check of its token with Turnstile's siteverify. Throws {@link VigilConfigError}
 * (`VIGIL_E_CHALLENGE`) for an option at fault.
 *
 * @example
 * const captcha = turnstile({ siteKey: process.env.TURNSTILE_SITE_KEY, secret: process.env.TURNSTILE_SECRET, hostname: 'shop.example.com' })
 * const check = await captcha.verify(req.body[captcha.responseField], clientIp)
 */
export function turnstile(options: CaptchaVendorOptions): CaptchaVendor {
  return compileVendor(TURNSTILE, options);
}

/**
 * hCaptcha: the widget (`h-captcha`, token in `h-captcha-response`) and the check of its
 * token with hCaptcha's siteverify, which is also given the site key (a token issued for
 * another site is refused). `minScore` applies to hCaptcha Enterprise's risk score,
 * inverted (see {@link CaptchaVendorOptions.minScore}); `action` is refused. Throws
 * {@link VigilConfigError} (`VIGIL_E_CHALLENGE`) for an option at fault.
 *
 * @example
 * const captcha = hcaptcha({ siteKey: process.env.HCAPTCHA_SITE_KEY, secret: process.env.HCAPTCHA_SECRET })
 */
export function hcaptcha(options: CaptchaVendorOptions): CaptchaVendor {
  return compileVendor(HCAPTCHA, options);
}

/**
 * Google reCAPTCHA v2 or v3: the widget (`g-recaptcha`, token in `g-recaptcha-response`)
 * and the check of its token with reCAPTCHA's siteverify. For v3, set `action` and
 * `minScore`. Throws {@link VigilConfigError} (`VIGIL_E_CHALLENGE`) for an option at fault.
 *
 * @example
 * const captcha = recaptcha({ siteKey: process.env.RECAPTCHA_SITE_KEY, secret: process.env.RECAPTCHA_SECRET, action: 'login', minScore: 0.5 })
 */
export function recaptcha(options: CaptchaVendorOptions): CaptchaVendor {
  return compileVendor(RECAPTCHA, options);
}

/** True for an object made by {@link turnstile}, {@link hcaptcha} or {@link recaptcha}; a look-alike is not one. */
export function isCaptchaVendor(value: unknown): value is CaptchaVendor {
  return typeof value === 'object' && value !== null && made.has(value);
}
