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
   * True when the handler signed a user in on this request: not authenticated when
   * Vigil decided, authenticated when the response finished (Passport's `req.logIn`,
   * `@fastify/passport`, `@nestjs/passport`; see {@link isSignedIn}).
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
 * that answers wins: `classify`; the user was signed in on this request (succeeded);
 * `header`; `json`; `redirect`; the `session` cookie was rotated (succeeded); the
 * status lists. The session rule comes after the redirect: a client can make a server
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
   * The session cookie(s): a `Set-Cookie` that replaces the value the request presented
   * (a session regenerated at sign-in, as Passport 0.6+ and `req.session.regenerate`
   * do) is a success. Naming cookies here also counts one issued to a request that had
   * none. Default: `connect.sid` (express-session) and `sessionId` (@fastify/session),
   * rotation only. `false` turns it off. With express-session, use `saveUninitialized:
   * false` and write nothing to the session on a failure, or a stale cookie gets a new
   * one on a wrong password too.
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

const DEFAULT_SESSION_COOKIES = ['connect.sid', 'sessionId'];
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function compileSession(spec: unknown, option: string): { names: readonly string[]; issued: boolean } | undefined {
  if (spec === undefined) return { names: DEFAULT_SESSION_COOKIES, issued: false };
  if (spec === false) return undefined;
  const names = typeof spec === 'string' ? [spec] : Array.isArray(spec) ? spec : undefined;
  if (names === undefined || names.length === 0 || names.some((name) => typeof name !== 'string' || !COOKIE_NAME.test(name))) {
    throw new VigilConfigError('VIGIL_E_ROUTE', option, spec, 'which is not a cookie name or a list of them', 'Use the session cookie\'s name ("connect.sid"), a list of names, or false to ignore session cookies.');
  }
  return { names, issued: true };
}

// A query that says the attempt failed: `?error`, `?error=1`, `?login=failed`, `?status=invalid`.
const ERROR_KEYS = /^(?:errors?|err|fail(?:ed|ure)?|invalid|denied|bad_?credentials)$/i;
// `?error=0`, `?failed=false`: the app saying there was none.
const NOT_AN_ERROR = /^(?:0|false|no|none|off)$/i;
const ERROR_VALUES = /^(?:errors?|fail(?:ed|ure)?|invalid(?:_credentials)?|denied|wrong|bad_?credentials|unauthori[sz]ed)$/i;

// The last segment of a sign-in or sign-up form's page.
const FORM_PAGE = /^(?:log-?in|sign-?in|sign-?on|sign-?up|register|registration|auth|authenticate|session|sessions)$/i;

/**
 * The default failed redirect: with an error in the query (on any host: an SSO page
 * sends errors back the same way), or back to the form the request came from, on its
 * own site — its own path, a path of the same last segment (`/login` from
 * `/auth/login`), or a form page it was posted below (`/login` from `/login/password`;
 * not `/account` from `/account/login`, where a success may well land).
 */
function isBackToForm(target: Target, requestPath: string): boolean {
  for (const [key, value] of target.url.searchParams) {
    if (NOT_AN_ERROR.test(value)) continue;
    if (ERROR_KEYS.test(key) || ERROR_VALUES.test(value)) return true;
  }
  if (!target.sameSite) return false;
  const to = normalizePathForMatch(target.url.pathname);
  const from = normalizePathForMatch(requestPath);
  if (to === '/') return false;
  if (to === from) return true;
  const last = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  const page = last(to);
  if (page === '') return false;
  return page === last(from) || (from.startsWith(`${to}/`) && FORM_PAGE.test(page));
}

const MAX_BODY_TEXT = 64 * 1024;

/** The JSON value at a dotted path of a body (an object, or JSON text up to 64 KiB). */
function jsonField(body: unknown, path: readonly string[]): unknown {
  try {
    let value: unknown = body;
    if (typeof value === 'string' || value instanceof Uint8Array) {
      if (value.length > MAX_BODY_TEXT) return undefined;
      value = JSON.parse(typeof value === 'string' ? value : Buffer.from(value).toString('utf8'));
    }
    for (const key of path) {
      if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  } catch {
    // Not JSON, or a proxy or a getter that throws: no such field.
    return undefined;
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
    // A user signed in on this request: server-side state no client can fake.
    if (res?.signedIn === true && status < 400) return '$succeeded';
    if (header !== undefined && res !== undefined) {
      const given = header.answer(responseHeader(res.headers, header.name));
      if (given !== undefined) return given;
    }
    if (json !== undefined && res !== undefined && res.body !== undefined) {
      const given = json.answer(jsonField(res.body, json.path));
      if (given !== undefined) return given;
    }
    if (status >= 300 && status < 400 && res !== undefined) {
      const target = locationOf(res.headers, request);
      if (target !== undefined) {
        if (redirect.failed?.(target.url)) return '$failed';
        if (redirect.succeeded?.(target.url)) return '$succeeded';
        // Before the session rule: a client can make a server issue it a fresh session
        // cookie on a failure (present a stale or made-up one; express-session's
        // saveUninitialized), never make it send itself back to the form.
        if (redirect.defaults && request !== undefined && isBackToForm(target, typeof request.path === 'string' ? request.path : '/')) return '$failed';
      }
    }
    if (res !== undefined && request !== undefined && status < 400 && rotated(res, request)) return '$succeeded';
    return byStatus(status);
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

/** A redirect target resolved against the request's own URL, and whether it stays on its site. */
interface Target {
  url: URL;
  sameSite: boolean;
}

/** `host[:port]` without the scheme's default port, lower case. */
function hostKey(host: string, protocol: string): string {
  const lower = host.trim().toLowerCase();
  const port = protocol === 'https:' ? ':443' : ':80';
  return lower.endsWith(port) ? lower.slice(0, -port.length) : lower;
}

function requestHeader(request: RequestInfo, name: string): string | undefined {
  const headers = request.headers as Record<string, unknown> | undefined;
  if (headers === null || typeof headers !== 'object') return undefined;
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() !== name) continue;
    const value = headers[key];
    if (typeof value === 'string') return value;
    if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  }
  return undefined;
}

function locationOf(headers: ResponseHeaders | undefined, request: RequestInfo | undefined): Target | undefined {
  const raw = responseHeader(headers, 'location');
  if (raw === undefined || raw.length > 8192) return undefined;
  let base = BASE;
  if (request !== undefined && typeof request.url === 'string' && request.url.startsWith('/')) base = `${BASE}${request.url}`;
  else if (request !== undefined && typeof request.path === 'string' && request.path.startsWith('/')) base = `${BASE}${request.path}`;
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    return undefined;
  }
  if (url.origin === BASE) return { url, sameSite: true };
  // An absolute URL: the request's own site when it names the Host the request came to
  // (or the one a proxy says it forwarded).
  const hosts = request === undefined ? [] : [requestHeader(request, 'host'), requestHeader(request, 'x-forwarded-host')?.split(',')[0]];
  const target = hostKey(url.host, url.protocol);
  return { url, sameSite: hosts.some((host) => host !== undefined && hostKey(host, url.protocol) === target) };
}

/**
 * Whether a framework request is signed in now: `isAuthenticated()` where Passport (or
 * `@fastify/passport`) put it, else a `user` on the request (`@nestjs/passport`'s
 * guards, most auth middlewares). Adapters read it when Vigil decides and when the
 * response finishes; a change from false to true is {@link OutcomeResponse.signedIn}.
 * Never throws.
 */
export function isSignedIn(raw: unknown): boolean {
  if (raw === null || typeof raw !== 'object') return false;
  try {
    const request = raw as { isAuthenticated?: unknown; user?: unknown };
    if (typeof request.isAuthenticated === 'function') return (request.isAuthenticated as () => unknown).call(raw) === true;
    return request.user !== undefined && request.user !== null && request.user !== false;
  } catch {
    return false;
  }
}

/**
 * Keeps what a framework response is sent as body, for a `json` outcome rule: wraps the
 * response's own `json` and `send` (Express's `res`, Fastify's `reply`, and Nest's
 * platforms, which answer through them) for this one response. Returns a reader of the
 * first body given (`res.json(obj)` gives the object, not the text it becomes). Adapters
 * call it only when {@link OutcomeClassifier.needsBody}; nothing is copied or parsed
 * here. Never throws.
 */
export function captureBody(response: object): () => unknown {
  let body: unknown;
  let captured = false;
  const target = response as Record<'json' | 'send', unknown>;
  for (const method of ['json', 'send'] as const) {
    const original = target[method];
    if (typeof original !== 'function') continue;
    try {
      target[method] = function (this: unknown, ...args: unknown[]) {
        if (!captured && args.length > 0) {
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
