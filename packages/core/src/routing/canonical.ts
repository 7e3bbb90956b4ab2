import { parse as parseLegacyUrl } from 'node:url';

/**
 * Which router's rules turn a request target into the path it routes on:
 * - `express`: Express's router (and Nest on Express). It reads the pathname with
 *   `parseurl`, that is Node's legacy `url.parse` for anything but a plain
 *   `/path?query` (absolute-form targets lose scheme and authority, a fragment is
 *   dropped, backslashes before it become slashes), and matches it **without**
 *   percent-decoding: `/%6Cogin` is not `/login` to Express.
 * - `find-my-way`: Fastify's router (and Nest on Fastify). `http(s)://authority` is
 *   dropped, the path ends at `?` or `#` (and `;` with `useSemicolonDelimiter`), and it
 *   is percent-decoded before routing except for the reserved characters
 *   (`%2F` stays `%2F`, so `/login%2f` is not `/login/`).
 */
export type RouterSyntax = 'express' | 'find-my-way';

/** The router options of find-my-way that change which path a target routes on. */
export interface FindMyWayPathOptions {
  /** find-my-way's `useSemicolonDelimiter`: `;` ends the path like `?`. */
  useSemicolonDelimiter?: boolean;
  /** find-my-way's `ignoreDuplicateSlashes`: `//` is `/`. */
  ignoreDuplicateSlashes?: boolean;
}

// parseurl's fast path handles `/path?query` alone; any of these anywhere sends the
// target through url.parse (same list, same order of checks).
const PARSEURL_SLOW_PATH = /[\t\n\f\r #\u00a0\ufeff]/;

/** Express's pathname of a target: parseurl's result, byte for byte. */
function expressPath(target: string): string | undefined {
  if (target.charCodeAt(0) === 0x2f && !PARSEURL_SLOW_PATH.test(target)) {
    const query = target.indexOf('?');
    return query < 0 ? target : target.slice(0, query);
  }
  try {
    return parseLegacyUrl(target).pathname ?? undefined;
  } catch {
    // parseurl throws too: Express's router hands the error on; no route runs.
    return undefined;
  }
}

// find-my-way drops `http(s)://authority` (scheme in any case); anything else that does
// not start with "/" routes nowhere.
function findMyWayAbsolute(target: string): string | undefined {
  const schemeEnd = target.indexOf('://');
  if (schemeEnd < 0) return undefined;
  const scheme = target.slice(0, schemeEnd).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  const authorityStart = schemeEnd + 3;
  // Older find-my-way versions (< 9.8) cut at the first "/" after "://" whatever came
  // before it (`http://h?x/login` routed to /login); newer ones end the authority at
  // "?" and refuse a "#". Taking the first "/" protects what either version routes:
  // a target the newer version refuses reaches no handler at all.
  const pathStart = target.indexOf('/', authorityStart);
  if (pathStart < 0) return '/';
  return target.slice(pathStart);
}

/** find-my-way's routing path: delimiters cut, decoded but for reserved escapes and `%25`. */
function findMyWayPath(target: string, options: FindMyWayPathOptions): string | undefined {
  let path: string | undefined = target;
  if (target.charCodeAt(0) !== 0x2f) {
    path = findMyWayAbsolute(target);
    if (path === undefined) return undefined;
  }
  let end = path.length;
  let percent = false;
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x3f || c === 0x23 || (c === 0x3b && options.useSemicolonDelimiter === true)) {
      end = i;
      break;
    }
    if (c === 0x25) percent = true;
  }
  if (end < path.length) path = path.slice(0, end);
  if (percent) {
    try {
      // decodeURI keeps the reserved escapes (%2F, %3F, %23...) as they are; "%25"
      // must stay "%25" too, so it is protected from decoding first.
      path = decodeURI(path.replace(/%25/g, '%2525'));
    } catch {
      // find-my-way answers 400 to a malformed escape: no handler runs.
      return undefined;
    }
  }
  if (options.ignoreDuplicateSlashes === true && path.includes('//')) path = path.replace(/\/{2,}/g, '/');
  return path;
}

/**
 * The path a framework's router routes a request target on — what Vigil matches routes
 * and exclusions against, so that whatever spelling of a target reaches a handler, the
 * same route decides it. Case and trailing slashes are left alone (route matching
 * ignores both). Undefined when the router would send the target to no handler at all
 * (a malformed escape, a target that is not a path).
 *
 * Dot segments and repeated slashes are kept as they are: neither router resolves them
 * (find-my-way merges slashes with `ignoreDuplicateSlashes` only), and resolving what
 * the router keeps would let `/users/./reset` (a `:id` of ".") escape `/users/:id/reset`.
 *
 * @example
 * canonicalPath('http://example.com/api/login#x', 'express') // '/api/login'
 * canonicalPath('/%6Cogin?next=/', 'find-my-way')             // '/login'
 * canonicalPath('/%6Cogin', 'express')                        // '/%6Cogin' (Express does not decode)
 * canonicalPath('/login%2fx', 'find-my-way')                  // '/login%2fx' (reserved escapes stay)
 */
export function canonicalPath(target: string, syntax: RouterSyntax = 'express', options: FindMyWayPathOptions = {}): string | undefined {
  if (typeof target !== 'string' || target.length === 0) return undefined;
  return syntax === 'express' ? expressPath(target) : findMyWayPath(target, options);
}

/**
 * The concrete path of a request a find-my-way router (Fastify, Nest on Fastify) has
 * already routed, rebuilt from the route's pattern and the parameters the router
 * extracted: the framework's own decision, whatever spelling the target used and
 * whatever find-my-way version or options made it. A `/` inside a parameter's value
 * (it was `%2F` in the target) is written back as `%2F`, so that `/users/a%2Fb/reset`
 * still has three segments, as it did for the router.
 *
 * @example
 * pathOfRoute('/users/:id/reset', { id: '42' })    // '/users/42/reset'
 * pathOfRoute('/auth/*', { '*': 'github/callback' }) // '/auth/github/callback'
 * pathOfRoute('/files/:name.:ext', { name: 'a', ext: 'txt' }) // '/files/a.txt'
 */
export function pathOfRoute(pattern: string, params: Readonly<Record<string, unknown>> | null | undefined): string {
  if (!pattern.includes(':') && !pattern.includes('*')) return pattern;
  const values = params ?? {};
  const paramValue = (name: string, wildcard: boolean): string | undefined => {
    const value = Object.hasOwn(values, name) ? values[name] : undefined;
    if (value === undefined || value === null) return undefined;
    const text = String(value);
    return wildcard ? text : text.replaceAll('/', '%2F');
  };
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 0x3a /* : */) {
      if (pattern.charCodeAt(i + 1) === 0x3a) {
        out += ':';
        i++;
        continue;
      }
      // A name runs to "(", "-", ".", "/" or the end, as find-my-way reads it.
      let j = i + 1;
      while (j < pattern.length && !'(-./'.includes(pattern[j] as string)) j++;
      let name = pattern.slice(i + 1, j);
      const optional = name.endsWith('?');
      if (optional) name = name.slice(0, -1);
      if (pattern[j] === '(') j = closingParenthesis(pattern, j);
      const value = paramValue(name, false);
      // An optional last parameter left out: the router matched the path without it.
      if (value === undefined && optional && out.endsWith('/') && out.length > 1) out = out.slice(0, -1);
      else out += value ?? '';
      i = j - 1;
      continue;
    }
    if (c === 0x2a /* * */) {
      out += paramValue('*', true) ?? '';
      continue;
    }
    out += pattern[i];
  }
  // A bare "*" route sees the whole path in its parameter.
  return out.startsWith('/') ? out : `/${out}`;
}

// Index just past the ")" closing the "(" at `open`, counting nested groups.
function closingParenthesis(pattern: string, open: number): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return pattern.length;
}

/**
 * The path a request routes on, for an adapter: {@link pathOfRoute} when the router has
 * already chosen a route (its `pattern` and `params`), else {@link canonicalPath} of the
 * target, else the target up to its query string (a target the router sends nowhere).
 *
 * @example
 * routedPathOf('/%6Cogin', 'find-my-way', { pattern: '/login' }) // '/login'
 * routedPathOf('http://h/login#x', 'express')                   // '/login'
 */
export function routedPathOf(target: string, syntax: RouterSyntax, route?: { pattern?: unknown; params?: unknown }): string {
  const pattern = route?.pattern;
  if (typeof pattern === 'string' && pattern.length > 0) {
    const params = route?.params;
    return pathOfRoute(pattern, params !== null && typeof params === 'object' ? (params as Record<string, unknown>) : undefined);
  }
  const path = canonicalPath(target, syntax);
  if (path !== undefined) return path;
  const text = typeof target === 'string' ? target : '/';
  const query = text.indexOf('?');
  return query < 0 ? text : text.slice(0, query);
}
