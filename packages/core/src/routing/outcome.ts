import type { RequestInfo } from '../context/request.js';
import type { EventStatus } from '../events.js';
import { checkKnownOptions } from '../config/options.js';
import { VigilConfigError } from '../errors.js';
import { readCookie } from '../tracking/device-cookie.js';
import { compilePath, normalizePathForMatch } from './paths.js';

/**
 * Which response statuses count as an outcome: a status (`401`), a class (`'4xx'`), a
 * range (`'400-403'`), a list of those, or a function of the status.
 */
export type StatusMatcher = number | string | readonly (number | string)[] | ((status: number) => boolean);

/**
 * Where a redirect goes: a path as routes write them (`'/login'`, `'/account/*'`,
 * `'/users/:id'`; the query is ignored), a RegExp tested against the path and query
 * (`/[?&]error=/`), a list of those, or a function of the resolved `URL`.
 */
export type LocationMatcher = string | RegExp | readonly (string | RegExp)[] | ((location: URL) => boolean);

/**
 * A header's or a JSON field's value: a value it equals (`true`, `'ok'`, `0`, `null`),
 * a list of such values, a RegExp its text matches, or a function of the value
 * (`(v) => v !== undefined` for "present").
 */
export type ValueMatcher = string | number | boolean | null | RegExp | readonly (string | number | boolean | null)[] | ((value: unknown) => boolean);

/** What an outcome rule answers: the login (or sign-up, reset, …) succeeded or failed. */
export type OutcomeAnswer = 'succeeded' | 'failed';

/** The response headers an adapter read (Node's `getHeaders()`: lower-case names). */
export type ResponseHeaders = Readonly<Record<string, string | number | readonly string[] | undefined>>;

/**
 * What an adapter reads of the finished response to a protected request, for the
 * route's outcome rules.
 */
export interface OutcomeResponse {
  /** The HTTP status sent. */
  readonly status: number;
  /** The response headers (`location`, `set-cookie`, …); names in any case. */
  readonly headers?: ResponseHeaders;
  /**
   * The body sent, only when a rule reads it (a `json` rule): the value the handler
   * gave (`res.json(obj)`, a returned object) or the serialized text. Absent otherwise.
   */
  readonly body?: unknown;
  /**
   * True when the handler signed a user in on this request: it called the request's
   * `logIn`/`login` (Passport's, `@fastify/passport`'s, `@nestjs/passport`'s session
   * guards'; see {@link watchSignIn}).
   */
  readonly signedIn?: boolean;
}

/** A rule over one response header. */
export interface HeaderOutcomeRule {
  /** The header's name, any case (`x-login-result`). */
  name: string;
  succeeded?: ValueMatcher;
  failed?: ValueMatcher;
}

/** A rule over one field of a JSON response body. */
export interface JsonOutcomeRule {
  /** A dotted path into the body (`ok`, `error.code`, `data.user.id`). */
  field: string;
  succeeded?: ValueMatcher;
  failed?: ValueMatcher;
}

/**
 * How a route's response becomes `$succeeded` or `$failed` for the provider's log
 * (and what the embedded engine learns from). Rules are tried in this order, the first
 * that answers wins: `classify`; `header`; `json`; the `redirect` matchers given (a
 * `failed` one only when nobody was signed in); an error the redirect names (`?error`,
 * a failure page); a sign-in on this request, on a login or a sign-up (succeeded); a
 * redirect back to the form; the `session` cookie rotated (succeeded); the status lists. The session rule comes after the redirect: a client can make a server
 * issue it a fresh session cookie on a failure (by presenting a stale or made-up one),
 * never make it send itself back to the form. A response no rule answers is not an
 * outcome (nothing is logged).
 */
export interface OutcomeOptions {
  /** Statuses of a success. Default: 2xx and 3xx (a redirect that no `redirect` rule calls a failure). */
  succeeded?: StatusMatcher;
  /** Statuses of a failure. Default: 401 and 403. */
  failed?: StatusMatcher;
  /**
   * Where redirects go. Default: a redirect back to the request's own path, to a
   * sign-in page it was posted below (`/login` from `/login/password`), to a path of the
   * same last segment (`/login` from `/auth/login`), or with an error in its query
   * (`?error=1`, `?login=failed`) is a failure — Passport's `failureRedirect` and
   * hand-written `res.redirect('/login?error=1')` — on `$login` and `$registration`
   * routes. Given matchers are tried before the defaults; `false` turns the defaults off.
   */
  redirect?: false | { succeeded?: LocationMatcher; failed?: LocationMatcher };
  /**
   * The session cookie(s) whose new value is a success: a `Set-Cookie` that replaces the
   * value the request presented (a session regenerated at sign-in) or issues one to a
   * request that had none. Off unless named: a client can make many session setups send
   * it a fresh cookie on a failure too (present a stale or made-up one, and
   * express-session's `saveUninitialized: true` answers with a new session; a flash
   * message or a CSRF token written on a failure does the same). Name it only when the
   * session is written on a successful sign-in alone (express-session with
   * `saveUninitialized: false`). It never outweighs a redirect back to the form.
   */
  session?: false | string | readonly string[];
  /** A response header that says how it went (`{ name: 'x-login', failed: 'error' }`). */
  header?: HeaderOutcomeRule;
  /**
   * A field of a JSON body (`{ field: 'ok', succeeded: true, failed: false }`). The only
   * rule that makes the adapter keep the body; bodies over 64 KiB are not read.
   */
  json?: JsonOutcomeRule;
  /**
   * Anything else: `'succeeded'`, `'failed'`, or undefined to let the other rules
   * decide. Tried first; a function that throws answers undefined. It sees the body
   * only when a `json` rule is set.
   */
  classify?: (request: RequestInfo, response: OutcomeResponse) => OutcomeAnswer | undefined;
}

type Outcome = Extract<EventStatus, '$succeeded' | '$failed'>;

/**
 * A compiled outcome mapping: a finished response (or only its status) → `$succeeded`
 * | `$failed` | undefined (not logged). `request` is the request Vigil decided on: the
 * redirect defaults, the session rule and `classify` need it (without it they do not
 * answer; redirect matchers you gave still do, against the bare target). Never throws.
 */
export interface OutcomeClassifier {
  (response: number | OutcomeResponse, request?: RequestInfo): Outcome | undefined;
  /** True when a rule reads the response body (a `json` rule): adapters keep it only then. */
  readonly needsBody: boolean;
}

type Test = (status: number) => boolean;

function compileMatcher(spec: StatusMatcher, option: string): Test {
  if (typeof spec === 'function') {
    return (status) => {
      try {
        return spec(status) === true;
      } catch {
        return false;
      }
    };
  }
  const entries = Array.isArray(spec) ? spec : [spec];
  const tests: Test[] = entries.map((entry, i) => {
    const at = Array.isArray(spec) ? `${option}[${i}]` : option;
    if (typeof entry === 'number' && Number.isInteger(entry) && entry >= 100 && entry <= 599) return (status) => status === entry;
    if (typeof entry === 'string') {
      const klass = /^([1-5])xx$/i.exec(entry.trim());
      if (klass) {
        const base = Number(klass[1]) * 100;
        return (status) => status >= base && status < base + 100;
      }
      const range = /^(\d{3})\s*-\s*(\d{3})$/.exec(entry.trim());
      if (range && Number(range[1]) <= Number(range[2])) {
        const low = Number(range[1]);
        const high = Number(range[2]);
        return (status) => status >= low && status <= high;
      }
      if (/^\d{3}$/.test(entry.trim())) {
        const exact = Number(entry.trim());
        return (status) => status === exact;
      }
    }
    throw new VigilConfigError(
      'VIGIL_E_ROUTE',
      at,
      entry,
      'which is not a status matcher',
      'Use a status (401), a class ("4xx"), a range ("400-403"), an array of those, or a function (status) => boolean.',
    );
  });
  return (status) => tests.some((test) => test(status));
}

type LocationTest = (location: URL) => boolean;

function compileLocation(spec: unknown, option: string): LocationTest {
  if (typeof spec === 'function') {
    return (location) => {
      try {
        return (spec as (location: URL) => unknown)(location) === true;
      } catch {
        return false;
      }
    };
  }
  const entries = Array.isArray(spec) ? spec : [spec];
  if (entries.length === 0) return () => false;
  const tests = entries.map((entry: unknown, i: number): LocationTest => {
    const at = Array.isArray(spec) ? `${option}[${i}]` : option;
    if (entry instanceof RegExp) {
      const pattern = new RegExp(entry.source, entry.flags.replace(/[gy]/g, ''));
      return (location) => pattern.test(location.pathname + location.search);
    }
    if (typeof entry === 'string' && entry.startsWith('/')) {
      const match = compilePath(entry.split('?')[0], at);
      return (location) => match(normalizePathForMatch(location.pathname), location.pathname);
    }
    throw new VigilConfigError(
      'VIGIL_E_ROUTE',
      at,
      entry,
      'which is not a redirect matcher',
      'Use a path ("/login", "/account/*"), a RegExp tested against the path and query (/[?&]error=/), an array of those, or a function (url: URL) => boolean.',
    );
  });
  return (location) => tests.some((test) => test(location));
}

type ValueTest = (value: unknown) => boolean;

const PRIMITIVE = (value: unknown): value is string | number | boolean | null => value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

function compileValue(spec: unknown, option: string, text = false): ValueTest {
  const impossible = (v: unknown) => (typeof v === 'number' && Number.isNaN(v)) || (text && (typeof v === 'boolean' || v === null));
  if (impossible(spec) || (Array.isArray(spec) && spec.some(impossible))) {
    throw new VigilConfigError(
      'VIGIL_E_ROUTE',
      option,
      spec,
      text ? "which a header's text value can never equal" : 'which no JSON value can equal',
      text ? 'Use the text the header carries ("ok", "1"), a RegExp, or a function (value) => boolean.' : 'Use a value (true, "ok", 0, null), an array of values, a RegExp, or a function (value) => boolean.',
    );
  }
  // A header's value is text: a number matches its digits; true, false and null never could.
  if (text && (typeof spec === 'number' || (Array.isArray(spec) && spec.some((v) => typeof v === 'number')))) {
    spec = Array.isArray(spec) ? spec.map((v) => (typeof v === 'number' ? String(v) : v)) : String(spec);
  }
  if (typeof spec === 'function') {
    return (value) => {
      try {
        return (spec as (value: unknown) => unknown)(value) === true;
      } catch {
        return false;
      }
    };
  }
  if (spec instanceof RegExp) {
    const pattern = new RegExp(spec.source, spec.flags.replace(/[gy]/g, ''));
    return (value) => (typeof value === 'string' || typeof value === 'number') && pattern.test(String(value));
  }
  if (PRIMITIVE(spec)) return (value) => value === spec;
  if (Array.isArray(spec) && spec.every(PRIMITIVE)) return (value) => spec.includes(value as never);
  throw new VigilConfigError(
    'VIGIL_E_ROUTE',
    option,
    spec,
    'which is not a value matcher',
    'Use a value (true, "ok", 0, null), an array of values, a RegExp, or a function (value) => boolean.',
  );
}

/** A `{ succeeded?, failed? }` pair of value tests; failed is tried first. */
function compilePair(rule: { succeeded?: unknown; failed?: unknown }, option: string, text = false): (value: unknown) => Outcome | undefined {
  const succeeded = rule.succeeded === undefined ? undefined : compileValue(rule.succeeded, `${option}.succeeded`, text);
  const failed = rule.failed === undefined ? undefined : compileValue(rule.failed, `${option}.failed`, text);
  if (succeeded === undefined && failed === undefined) {
    throw new VigilConfigError('VIGIL_E_ROUTE', option, rule, 'which says neither what a success nor what a failure is', 'Give succeeded, failed or both, e.g. { ..., failed: "error" }.');
  }
  return (value) => (failed?.(value) ? '$failed' : succeeded?.(value) ? '$succeeded' : undefined);
}

function ruleObject(value: unknown, option: string, keys: readonly string[], example: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new VigilConfigError('VIGIL_E_ROUTE', option, value, 'which is not an object', `Pass ${example}.`);
  }
  checkKnownOptions(value as Record<string, unknown>, keys, option);
  return value as Record<string, unknown>;
}

/** A header's value as one string (a list joined with ", "), case-insensitively by name. */
export function responseHeader(headers: ResponseHeaders | undefined, name: string): string | undefined {
  if (headers === null || typeof headers !== 'object') return undefined;
  let value = headers[name];
  if (value === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === name) {
        value = headers[key];
        break;
      }
    }
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return value.filter((v) => typeof v === 'string').join(', ');
  return undefined;
}

/** The `Set-Cookie` lines of a response. */
function setCookieLines(headers: ResponseHeaders | undefined): string[] {
  if (headers === null || typeof headers !== 'object') return [];
  let value = headers['set-cookie'];
  if (value === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === 'set-cookie') {
        value = headers[key];
        break;
      }
    }
  }
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

const decode = (value: string): string => {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

/**
 * The value a response sets for cookie `name`: a string, `null` when it clears it
 * (empty, `Max-Age=0`, an `Expires` in the past), undefined when it does not set it.
 */
function setCookieValue(lines: readonly string[], name: string, now: number): string | null | undefined {
  let found: string | null | undefined;
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq <= 0 || line.slice(0, eq).trim() !== name) continue;
    const semi = line.indexOf(';', eq);
    let value = (semi < 0 ? line.slice(eq + 1) : line.slice(eq + 1, semi)).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    const attributes = semi < 0 ? '' : line.slice(semi + 1);
    const maxAge = /(?:^|;)\s*max-age\s*=\s*(-?\d+)/i.exec(attributes);
    const expires = /(?:^|;)\s*expires\s*=\s*([^;]+)/i.exec(attributes);
    const cleared = value === '' || (maxAge !== null && Number(maxAge[1]) <= 0) || (maxAge === null && expires !== null && Date.parse(expires[1] as string) <= now);
    // The last line for a name is the one the browser keeps.
    found = cleared ? null : decode(value);
  }
  return found;
}

const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function compileSession(spec: unknown, option: string): { names: readonly string[]; issued: boolean } | undefined {
  if (spec === undefined || spec === false) return undefined;
  const names = typeof spec === 'string' ? [spec] : Array.isArray(spec) ? spec : undefined;
  if (names === undefined || names.length === 0 || names.some((name: unknown) => typeof name !== 'string' || !COOKIE_NAME.test(name))) {
    throw new VigilConfigError('VIGIL_E_ROUTE', option, spec, 'which is not a cookie name or a list of them', 'Use the session cookie\'s name ("connect.sid"), a list of names, or false to ignore session cookies.');
  }
  return { names: names as readonly string[], issued: true };
}

// A query key that says the attempt failed, whatever its value (`?error`, `?error=1`,
// `?failed=true`) but one saying there was none (`?error=0`).
const ERROR_KEYS = /^(?:errors?|erro|err|error_?(?:code|description)|fail(?:ed|ure)?|invalid|denied|bad_?credentials|(?:login|auth|signin)_?(?:error|failed|failure))$/i;
const NOT_AN_ERROR = /^(?:0|false|no|none|off)$/i;
// A key naming the sign-in's result, and the values that say it failed (`?login=failed`,
// `?auth=denied`): only under such a key, so that `/jobs?status=failed` stays a page.
const RESULT_KEYS = /^(?:login|signin|sign_in|auth|authentication|result|status)$/i;
const ERROR_VALUES = /^(?:errors?|fail(?:ed|ure)?|invalid(?:_credentials)?|denied|wrong|bad_?credentials|unauthori[sz]ed)$/i;
// Query keys that only say where to go next: a form page with these alone is still the form.
const NAVIGATION_KEYS = /^(?:next|return|return_?to|return_?url|redirect|redirect_?(?:to|uri|url)|continue|from|ref|origin)$/i;
// The last segment of a sign-in page, of a sign-up page, of a failure page.
const LOGIN_PAGE = /^(?:log-?in|sign-?in|sign-?on)$/i;
const SIGNUP_PAGE = /^(?:sign-?up|register|registration|join)$/i;
const FAILURE_PAGE = /^(?:(?:log-?in|sign-?in|auth|signup|registration)[-_]?)?(?:fail(?:ed|ure)?|error|denied|unauthori[sz]ed)$/i;
const STATUS_KEY = /^status$/i;

/**
 * The default failed redirect of a login or sign-up form (Passport's `failureRedirect`,
 * a hand-written `res.redirect('/login?error=1')`): an error in the query; or a form
 * page with no query but where to go next — the request's own path, a path of the same
 * last segment (`/login` from `/auth/login`), a sign-in page for a login (`/login` from
 * `/login/password` or from an OAuth callback; a sign-up page for a sign-up), a failure
 * page (`/login/failed`, `/auth/failure`, `/unauthorized`). Any host: the Host header
 * is the client's to write. A form page with another query (`/login?step=otp`,
 * `/login?email=…`, `/signup?step=2`) is the next step of a flow, not a failure; nor is
 * `/` or a page elsewhere.
 */
function isBackToForm(url: URL, requestPath: string, event: string | undefined): 'explicit' | 'form' | false {
  let otherQuery = false;
  for (const [key, value] of url.searchParams) {
    if (ERROR_KEYS.test(key)) {
      if (!NOT_AN_ERROR.test(value)) return 'explicit';
      continue;
    }
    if (RESULT_KEYS.test(key) && ERROR_VALUES.test(value)) {
      // `status=failed` only on a form page: `/jobs?status=failed` is a page of jobs.
      if (!STATUS_KEY.test(key)) return 'explicit';
    }
    if (!NAVIGATION_KEYS.test(key)) otherQuery = true;
  }
  const to = normalizePathForMatch(url.pathname);
  const from = normalizePathForMatch(requestPath);
  if (to === '/') return false;
  // The last segment, without a file extension (`/login.html`, `/signin.php`).
  const last = (path: string) => path.slice(path.lastIndexOf('/') + 1).replace(/\.[a-z0-9]{1,5}$/i, '');
  const page = last(to);
  if (page === '') return false;
  if (FAILURE_PAGE.test(page)) return 'explicit';
  const formPage = to === from || page === last(from) || (event === '$registration' ? SIGNUP_PAGE : LOGIN_PAGE).test(page);
  if (!formPage) return false;
  if (otherQuery) {
    // Only an explicit failure status keeps a form page with a query a failure.
    for (const [key, value] of url.searchParams) if (STATUS_KEY.test(key) && ERROR_VALUES.test(value)) return 'explicit';
    return false;
  }
  return 'form';
}

const MAX_BODY_TEXT = 64 * 1024;

/** A body the `json` rule cannot read: too long, not JSON, or hostile. */
const UNREADABLE = Symbol('unreadable');

/**
 * The JSON value at a dotted path of a body (an object, or JSON text up to 64 KiB, a
 * byte-order mark allowed), undefined when it has no such field, {@link UNREADABLE}
 * when the body cannot be read.
 */
function jsonField(body: unknown, path: readonly string[]): unknown {
  try {
    let value: unknown = body;
    if (typeof value === 'string' || value instanceof Uint8Array) {
      if (value.length > MAX_BODY_TEXT) return UNREADABLE;
      const text = typeof value === 'string' ? value : Buffer.from(value).toString('utf8');
      value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    }
    for (const key of path) {
      if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  } catch {
    // Not JSON, or a proxy or a getter that throws.
    return UNREADABLE;
  }
}

const OUTCOME_KEYS = ['succeeded', 'failed', 'redirect', 'session', 'header', 'json', 'classify'];
const DEFAULT_SUCCEEDED: Test = (status) => status >= 200 && status < 400;
const DEFAULT_FAILED: Test = (status) => status === 401 || status === 403;

/**
 * Merges the app-wide `outcome` option under a route's: the route's rules replace the
 * app's rule of the same kind, the others apply to the route too.
 */
export function mergeOutcome(global: OutcomeOptions | undefined, route: OutcomeOptions | undefined): OutcomeOptions | undefined {
  if (global === undefined) return route;
  if (route === undefined) return global;
  if (route === null || typeof route !== 'object' || global === null || typeof global !== 'object') return route;
  return { ...global, ...route };
}

/**
 * Compiles a route's `outcome` option (see {@link OutcomeOptions} for the rules and
 * their order). Statuses matching neither list are not logged (a 400 or a 500 says
 * nothing about the credentials). A status list the user gave beats the other list's
 * default; when both are given, `succeeded` is tried first. Throws
 * {@link VigilConfigError} naming the option at fault.
 */
export function compileOutcome(options: OutcomeOptions | undefined, option: string, route: { event?: string } = {}): OutcomeClassifier {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new VigilConfigError('VIGIL_E_ROUTE', option, options, 'which is not an object', 'Pass { succeeded?, failed?, redirect?, session?, header?, json?, classify? }, e.g. { failed: [401, 403, 429] }.');
  }
  if (options !== undefined) checkKnownOptions(options, OUTCOME_KEYS, option);
  const succeeded = options?.succeeded === undefined ? DEFAULT_SUCCEEDED : compileMatcher(options.succeeded, `${option}.succeeded`);
  const failed = options?.failed === undefined ? DEFAULT_FAILED : compileMatcher(options.failed, `${option}.failed`);
  // A list the user gave beats the other list's default: `{ failed: 200 }` (a form
  // login that re-renders with 200) must not be swallowed by the default 2xx success.
  const failedFirst = options?.failed !== undefined && options.succeeded === undefined;
  const byStatus = (status: number): Outcome | undefined => {
    if (failedFirst && failed(status)) return '$failed';
    if (succeeded(status)) return '$succeeded';
    if (failed(status)) return '$failed';
    return undefined;
  };

  const classify = options?.classify;
  if (classify !== undefined && typeof classify !== 'function') {
    throw new VigilConfigError('VIGIL_E_ROUTE', `${option}.classify`, classify, 'which is not a function', "Pass (request, response) => 'succeeded' | 'failed' | undefined.");
  }
  // The defaults read credentials' outcomes: a login's or a sign-up's form. A reset page
  // that redirects to itself (`?sent=1`) says nothing of the kind.
  const defaults = route.event === undefined || route.event === '$login' || route.event === '$registration';
  // A sign-in says how a login or a sign-up went, nothing about a checkout or a reset.
  const signInCounts = defaults;
  let redirect: { succeeded?: LocationTest; failed?: LocationTest; defaults: boolean } = { defaults };
  if (options?.redirect === false) redirect = { defaults: false };
  else if (options?.redirect !== undefined) {
    const rule = ruleObject(options.redirect, `${option}.redirect`, ['succeeded', 'failed'], "{ succeeded?: '/account/*', failed?: '/login' } or false");
    redirect = {
      defaults,
      ...(rule.succeeded === undefined ? {} : { succeeded: compileLocation(rule.succeeded, `${option}.redirect.succeeded`) }),
      ...(rule.failed === undefined ? {} : { failed: compileLocation(rule.failed, `${option}.redirect.failed`) }),
    };
  }
  const session = compileSession(options?.session, `${option}.session`);
  let header: { name: string; answer: (value: unknown) => Outcome | undefined } | undefined;
  if (options?.header !== undefined) {
    const rule = ruleObject(options.header, `${option}.header`, ['name', 'succeeded', 'failed'], "{ name: 'x-login-result', succeeded?: 'ok', failed?: 'failed' }");
    if (typeof rule.name !== 'string' || !COOKIE_NAME.test(rule.name)) {
      throw new VigilConfigError('VIGIL_E_ROUTE', `${option}.header.name`, rule.name, 'which is not a header name', 'Use the header\'s name, e.g. "x-login-result".');
    }
    header = { name: rule.name.toLowerCase(), answer: compilePair(rule, `${option}.header`, true) };
  }
  let json: { path: readonly string[]; answer: (value: unknown) => Outcome | undefined } | undefined;
  if (options?.json !== undefined) {
    const rule = ruleObject(options.json, `${option}.json`, ['field', 'succeeded', 'failed'], "{ field: 'ok', succeeded?: true, failed?: false }");
    const path = typeof rule.field === 'string' ? rule.field.split('.') : [];
    if (path.length === 0 || path.some((key) => key === '' || key === '__proto__' || key === 'constructor' || key === 'prototype')) {
      throw new VigilConfigError('VIGIL_E_ROUTE', `${option}.json.field`, rule.field, 'which is not a dotted path into the body', 'Use e.g. "ok" or "error.code".');
    }
    json = { path, answer: compilePair(rule, `${option}.json`) };
  }

  const rotated = (res: OutcomeResponse, request: RequestInfo): boolean => {
    if (session === undefined) return false;
    const lines = setCookieLines(res.headers);
    if (lines.length === 0) return false;
    for (const name of session.names) {
      const set = setCookieValue(lines, name, Date.now());
      if (typeof set !== 'string') continue;
      const presented = readCookie(request, name);
      if (presented === undefined ? session.issued : presented !== set) return true;
    }
    return false;
  };
  const answer = (response: number | OutcomeResponse, request?: RequestInfo): Outcome | undefined => {
    const res: OutcomeResponse | undefined = typeof response === 'number' ? undefined : response !== null && typeof response === 'object' ? response : undefined;
    const status = typeof response === 'number' ? response : res?.status;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return undefined;
    if (classify !== undefined && res !== undefined && request !== undefined) {
      let given: unknown;
      try {
        given = classify(request, res);
      } catch {
        given = undefined;
      }
      if (given === 'succeeded') return '$succeeded';
      if (given === 'failed') return '$failed';
    }
    // What the app states outright comes first: a header or a JSON field it set, a
    // redirect matcher given for the route, an error the redirect names.
    if (header !== undefined && res !== undefined) {
      const given = header.answer(responseHeader(res.headers, header.name));
      if (given !== undefined) return given;
    }
    // The json rule was set because the status says nothing: with a body it cannot read,
    // a success by status alone is no outcome (a failure status still is one).
    let unreadable = false;
    if (json !== undefined && res !== undefined && res.body !== undefined) {
      const field = jsonField(res.body, json.path);
      if (field === UNREADABLE) unreadable = true;
      else {
        const given = json.answer(field);
        if (given !== undefined) return given;
      }
    }
    const target = status >= 300 && status < 400 && res !== undefined ? locationOf(res.headers, request) : undefined;
    const signedIn = res?.signedIn === true && status < 400 && signInCounts;
    if (target !== undefined) {
      // A failure page given for the route may be where a success lands too
      // (`failureRedirect: '/'`): a sign-in outweighs it (below).
      if (!signedIn && redirect.failed?.(target.url)) return '$failed';
      if (redirect.succeeded?.(target.url)) return '$succeeded';
    }
    const back = target !== undefined && redirect.defaults && request !== undefined ? isBackToForm(target.url, typeof request.path === 'string' ? request.path : '/', route.event) : false;
    if (back === 'explicit') return '$failed';
    // A sign-in on this request (see watchSignIn): on a login or a sign-up only, and
    // after what the app stated outright — another middleware can sign a client in on
    // any route (a remember-me cookie the client sent), which says nothing of the
    // password this request carried. It outweighs where the redirect goes: a page a
    // success may land on too (`failureRedirect: '/'` given as a matcher), or the form
    // itself (a `successRedirect: '/login'` exists).
    if (signedIn) return '$succeeded';
    // Before the session rule: a client can make a server issue it a fresh session
    // cookie on a failure (present a stale or made-up one; express-session's
    // saveUninitialized), never make it send itself back to the form.
    if (back === 'form') return '$failed';
    if (res !== undefined && request !== undefined && status < 400 && rotated(res, request)) return '$succeeded';
    const byStatusAlone = byStatus(status);
    return unreadable && byStatusAlone === '$succeeded' ? undefined : byStatusAlone;
  };
  // Never throws: it runs in a response's `finish` listener, where a throw would take
  // the process down. Whatever a hostile getter or proxy does is no outcome.
  const classifier = (response: number | OutcomeResponse, request?: RequestInfo): Outcome | undefined => {
    try {
      return answer(response, request);
    } catch {
      return undefined;
    }
  };
  return Object.assign(classifier, { needsBody: json !== undefined }) as OutcomeClassifier;
}

const BASE = 'http://vigil.invalid';

/** A redirect target resolved against the request's own URL. */
interface Target {
  url: URL;
}

function locationOf(headers: ResponseHeaders | undefined, request: RequestInfo | undefined): Target | undefined {
  const raw = responseHeader(headers, 'location');
  if (raw === undefined || raw.length > 8192) return undefined;
  let base = BASE;
  if (request !== undefined && typeof request.url === 'string' && request.url.startsWith('/')) base = `${BASE}${request.url}`;
  else if (request !== undefined && typeof request.path === 'string' && request.path.startsWith('/')) base = `${BASE}${request.path}`;
  try {
    return { url: new URL(raw, base) };
  } catch {
    return undefined;
  }
}

const SIGN_IN_METHODS = ['logIn', 'login'] as const;

// The requests whose logIn/login was called, and the prototypes and functions already
// set up to tell: a wrapper marks the request it is called on (`this`), so one wrapper
// per function serves every request.
const signedInRequests = new WeakSet<object>();
const wrappers = new WeakMap<object, unknown>();
const watchedPrototypes = new WeakSet<object>();
// Values assigned on a request through a watched prototype's setter (Passport's
// `req.logIn = req.logIn || impl`), per request.
const assigned = new WeakMap<object, Map<string, unknown>>();

function marking(fn: unknown): unknown {
  if (typeof fn !== 'function') return fn;
  let wrapper = wrappers.get(fn);
  if (wrapper === undefined) {
    wrapper = function (this: unknown, ...args: unknown[]) {
      // `{ session: false }`: a token strategy authenticating this one request (a bearer
      // token, an API key) rather than a sign-in; such logins answer with a status anyway.
      const options = args[1];
      const sessionless = options !== null && typeof options === 'object' && (options as { session?: unknown }).session === false;
      if (!sessionless && this !== null && typeof this === 'object') signedInRequests.add(this);
      return (fn as (...a: unknown[]) => unknown).apply(this, args);
    };
    wrappers.set(fn, wrapper);
    wrappers.set(wrapper as object, wrapper);
  }
  return wrapper;
}

/** Turns `name` on a request prototype into an accessor that hands out marking wrappers. */
function watchPrototype(proto: object): void {
  if (watchedPrototypes.has(proto)) return;
  watchedPrototypes.add(proto);
  for (const name of SIGN_IN_METHODS) {
    const own = Object.getOwnPropertyDescriptor(proto, name);
    // Someone else's accessor, or a property that cannot be redefined: left alone.
    if (own !== undefined && (!own.configurable || !('value' in own))) continue;
    let original = own?.value;
    try {
      Object.defineProperty(proto, name, {
        configurable: true,
        enumerable: own?.enumerable ?? false,
        get(this: object) {
          const given = assigned.get(this)?.get(name);
          return marking(given !== undefined ? given : original !== undefined ? original : Reflect.get(Object.getPrototypeOf(proto) ?? {}, name, this));
        },
        set(this: object, value: unknown) {
          // Assigned on the prototype itself (a library patching it later): every request sees it.
          if (this === proto) {
            original = value;
            return;
          }
          let values = assigned.get(this);
          if (values === undefined) {
            values = new Map();
            assigned.set(this, values);
          }
          values.set(name, value);
        },
      });
    } catch {
      // A frozen prototype: no sign-in signal through it.
    }
  }
}

/**
 * Watches a framework request for a sign-in during its handling: a call of its `logIn`
 * or `login` (Passport's `req.logIn`, which `passport.authenticate` calls once a
 * strategy accepted the user and nowhere else; `@fastify/passport`'s `request.logIn`;
 * the one `@nestjs/passport`'s session guards call), whether the method is already
 * there or is put there later (Passport's `initialize()` may run after Vigil). Returns
 * whether one was called — {@link OutcomeResponse.signedIn}. Comparing "signed in"
 * before and after would not do: a session middleware that runs after Vigil decided
 * loads an attacker's own session, and each of their failures would read as a sign-in.
 *
 * The request's prototype is set up once (its `logIn`/`login` become accessors handing
 * out wrappers that mark the request they are called on), so a request costs a lookup,
 * not a property definition: redefining properties on each request object sent V8's
 * request shapes to dictionary mode (measured: +45 µs per Fastify request). A method
 * the request holds itself is wrapped in place. Adapters call it when a protected
 * request goes on to its handler. Never throws.
 */
export function watchSignIn(request: unknown): () => boolean {
  if (request === null || typeof request !== 'object') return () => false;
  try {
    const proto = Object.getPrototypeOf(request);
    // A framework's request has a class of its own; a plain object (a hand-built
    // request) is set up itself: Object.prototype is everyone's.
    if (proto !== null && proto !== Object.prototype) watchPrototype(proto);
    else if (!Object.hasOwn(request, 'logIn') && !Object.hasOwn(request, 'login')) watchPrototype(request);
    for (const name of SIGN_IN_METHODS) {
      const own = Object.getOwnPropertyDescriptor(request, name);
      if (own !== undefined && 'value' in own && own.writable && typeof own.value === 'function' && wrappers.get(own.value) !== own.value) {
        (request as Record<string, unknown>)[name] = marking(own.value);
      }
    }
  } catch {
    // An exotic request: no sign-in signal, the other rules still apply.
  }
  return () => signedInRequests.has(request);
}

/**
 * Keeps what a framework response is sent as body, for a `json` outcome rule: wraps the
 * response's own `json`, `send` and `end` (Express's `res`, Fastify's `reply`, and Nest's
 * platforms, which answer through them) for this one response. Returns a reader of the
 * first body given (`res.json(obj)` gives the object, not the text it becomes). Adapters
 * call it only when {@link OutcomeClassifier.needsBody}; nothing is copied or parsed
 * here. Never throws.
 */
export function captureBody(response: object): () => unknown {
  let body: unknown;
  let captured = false;
  const target = response as Record<'json' | 'send' | 'end', unknown>;
  for (const method of ['json', 'send', 'end'] as const) {
    const original = target[method];
    if (typeof original !== 'function') continue;
    try {
      target[method] = function (this: unknown, ...args: unknown[]) {
        // `end` only with a body of its own (`res.end(text)`): json and send end through it.
        if (!captured && args.length > 0 && (method !== 'end' || typeof args[0] === 'string' || args[0] instanceof Uint8Array)) {
          captured = true;
          body = args[0];
        }
        return (original as (...a: unknown[]) => unknown).apply(this, args);
      };
    } catch {
      // A frozen response: no body, the other rules still apply.
    }
  }
  return () => body;
}
