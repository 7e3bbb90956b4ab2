import { checkKnownOptions } from '../config/options.js';
import { VigilConfigError } from '../errors.js';
import type { Decision } from './decision.js';

/** A response for the adapter to write as it is. */
export interface RenderedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Replaceable parts of the block response. */
export interface BlockResponseOptions {
  /** Default 403. */
  status?: number;
  /** The HTML page for browsers, or a function of the decision returning it. */
  html?: string | ((decision: Decision) => string);
  /** The JSON body for API clients (serialized), or a function of the decision returning it. */
  json?: unknown | ((decision: Decision) => unknown);
  /** Extra headers on every block response. */
  headers?: Record<string, string>;
}

/** Renders the whole block response for a decision and an `Accept` header. */
export type BlockResponseFunction = (decision: Decision, accept: string | undefined) => RenderedResponse;

/** Response options as `createVigil` takes them. */
export interface ResponseOptions {
  /** Where `redirect` actions send the client. Setting it turns blocks into redirects. */
  redirectUrl?: string;
  /** Status of redirects: 301, 302 (default), 303, 307 or 308. */
  redirectStatus?: number;
  /** The block response: parts to replace, or a function rendering it all. */
  blockResponse?: BlockResponseOptions | BlockResponseFunction;
}

/** Renders block and redirect responses; undefined for other actions. */
export type Responder = (decision: Decision, accept: string | undefined) => RenderedResponse | undefined;

const REDIRECT_STATUSES = [301, 302, 303, 307, 308];
const BLOCK_RESPONSE_KEYS = ['status', 'html', 'json', 'headers'];
/** What Node refuses in a header value (`ERR_INVALID_CHAR`): control characters (CR, LF...) and non-Latin-1. */
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * True when the client wants HTML: its `Accept` has `text/html` and not
 * `application/json` (browsers' form posts and navigations; not fetch/XHR clients).
 */
export function prefersHtml(accept: string | undefined): boolean {
  if (typeof accept !== 'string') return false;
  const lower = accept.toLowerCase();
  return lower.includes('text/html') && !lower.includes('application/json');
}

function defaultHtml(decision: Decision): string {
  const ref = decision.requestId ? `<p>Reference: <code>${escapeHtml(decision.requestId)}</code></p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Request blocked</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style>
</head><body><h1>Request blocked</h1>
<p>This request looked automated, so it was not processed. If you are a person, wait a moment and try again, or contact support.</p>
${ref}</body></html>`;
}

function defaultJson(decision: Decision): unknown {
  return { blocked: true, requestId: decision.requestId, message: 'Request blocked' };
}

function checkHeaders(headers: unknown, option: string): Record<string, string> {
  if (headers === undefined) return {};
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
    throw new VigilConfigError('VIGIL_E_RESPONSE', option, headers, 'which is not an object', 'Pass header names and string values, e.g. { "retry-after": "60" }.');
  }
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) {
      throw new VigilConfigError('VIGIL_E_RESPONSE', `${option}[${JSON.stringify(name)}]`, value, 'which has a name that is not an HTTP header name', 'Use a header name made of letters, digits and dashes, e.g. "retry-after".');
    }
    if (typeof value !== 'string' || INVALID_HEADER_VALUE.test(value)) {
      throw new VigilConfigError('VIGIL_E_RESPONSE', `${option}[${JSON.stringify(name)}]`, value, 'which is not a header value', 'Use a string without control characters (no CR or LF), e.g. "60".');
    }
  }
  return { ...(headers as Record<string, string>) };
}

/**
 * Validates response options once and returns the renderer used by `vigil.respond`.
 * Throws {@link VigilConfigError} for a bad status, URL or body option.
 */
export function createResponder(options: ResponseOptions): Responder {
  // `=== undefined`, not `??`: a null option is a mistake to report, not a default.
  const redirectStatus = options.redirectStatus === undefined ? 302 : options.redirectStatus;
  if (!REDIRECT_STATUSES.includes(redirectStatus)) {
    throw new VigilConfigError('VIGIL_E_RESPONSE', 'redirectStatus', options.redirectStatus, 'which is not a redirect status', `Use one of ${REDIRECT_STATUSES.join(', ')} (302 by default).`);
  }
  const { redirectUrl } = options;
  if (redirectUrl !== undefined && (typeof redirectUrl !== 'string' || redirectUrl.trim() === '' || /[\r\n]/.test(redirectUrl))) {
    throw new VigilConfigError('VIGIL_E_RESPONSE', 'redirectUrl', redirectUrl, 'which is not a URL', 'Use a path ("/blocked") or an absolute URL ("https://example.com/blocked").');
  }
  // Checked here, not when the first redirect is written: Node would throw then.
  if (redirectUrl !== undefined && INVALID_HEADER_VALUE.test(redirectUrl)) {
    throw new VigilConfigError('VIGIL_E_RESPONSE', 'redirectUrl', redirectUrl, 'which holds characters a Location header cannot carry', 'Percent-encode it (encodeURI("/blocked/é") gives "/blocked/%C3%A9") and leave out control characters.');
  }
  const block = options.blockResponse;
  let renderBlock: BlockResponseFunction;
  if (typeof block === 'function') {
    renderBlock = block;
  } else {
    if (block !== undefined && (block === null || typeof block !== 'object')) {
      throw new VigilConfigError('VIGIL_E_RESPONSE', 'blockResponse', block, 'which is neither an object nor a function', 'Pass { status?, html?, json?, headers? } or a function (decision, accept) => { status, headers, body }.');
    }
    if (block !== undefined) checkKnownOptions(block, BLOCK_RESPONSE_KEYS, 'blockResponse');
    const status = block?.status === undefined ? 403 : block.status;
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new VigilConfigError('VIGIL_E_RESPONSE', 'blockResponse.status', block?.status, 'which is not an error status', 'Use a 4xx or 5xx status; 403 is the default.');
    }
    if (block?.html !== undefined && typeof block.html !== 'string' && typeof block.html !== 'function') {
      throw new VigilConfigError('VIGIL_E_RESPONSE', 'blockResponse.html', block.html, 'which is neither a string nor a function', 'Pass the HTML page as a string, or (decision) => string.');
    }
    const html = block?.html ?? defaultHtml;
    const json = block?.json === undefined ? defaultJson : block.json;
    const extra = checkHeaders(block?.headers, 'blockResponse.headers');
    renderBlock = (decision, accept) => {
      if (prefersHtml(accept)) {
        return {
          status,
          headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', ...extra },
          body: typeof html === 'function' ? html(decision) : html,
        };
      }
      const value = typeof json === 'function' ? (json as (d: Decision) => unknown)(decision) : json;
      return {
        status,
        headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...extra },
        body: JSON.stringify(value),
      };
    };
  }
  return (decision, accept) => {
    if (decision.action === 'redirect' && redirectUrl !== undefined) {
      return { status: redirectStatus, headers: { location: redirectUrl, 'cache-control': 'no-store' }, body: '' };
    }
    if (decision.action === 'block' || decision.action === 'redirect') return renderBlock(decision, accept);
    return undefined;
  };
}
