import type { ScrubbedHeaders } from '../context/headers.js';

/** What replaces each query value in a URL a remote provider receives. */
export const REDACTED_QUERY_VALUE = 'REDACTED';

/**
 * A URL with the value of every query parameter replaced by `REDACTED` and the
 * fragment dropped; paths and parameter names stay as they are, so a vendor still sees
 * which page and which parameters a request had, without the values (reset tokens,
 * magic-link codes, e-mail addresses). A parameter without a value stays as it is.
 *
 * @example
 * redactQueryValues('https://shop.example/reset?token=abc&step=2#top') // 'https://shop.example/reset?token=REDACTED&step=REDACTED'
 * redactQueryValues('/search?q')                                      // '/search?q'
 */
export function redactQueryValues(url: string): string {
  const hash = url.indexOf('#');
  const target = hash < 0 ? url : url.slice(0, hash);
  const query = target.indexOf('?');
  if (query < 0) return target;
  const pairs = target.slice(query + 1).split('&');
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i] as string;
    const eq = pair.indexOf('=');
    if (eq >= 0 && eq < pair.length - 1) pairs[i] = `${pair.slice(0, eq)}=${REDACTED_QUERY_VALUE}`;
  }
  return `${target.slice(0, query + 1)}${pairs.join('&')}`;
}

// Headers whose value is a URL with the request's (or the previous page's) query string.
const URL_HEADERS = ['Referer', ':path'];

/**
 * Scrubbed headers with the query values of URL-valued headers (`Referer`, HTTP/2's
 * `:path`) redacted, as {@link redactQueryValues} does. The input is not changed.
 */
export function redactUrlHeaders(headers: ScrubbedHeaders): ScrubbedHeaders {
  let out: ScrubbedHeaders | undefined;
  for (const name of URL_HEADERS) {
    const value = headers[name];
    if (typeof value !== 'string' || !value.includes('?')) continue;
    out ??= { ...headers };
    out[name] = redactQueryValues(value);
  }
  return out ?? headers;
}
