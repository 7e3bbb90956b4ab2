// What a challenged request receives: a page for a browser's form post (the form
// sealed, the widget solving it, the form re-posted), JSON for every other client with
// what it needs to solve and retry. Both 403 and never cached.
import type { RenderedResponse } from '../decision/responses.js';
import type { PowChallenge } from './pow.js';

/** The form field (or JSON body field) carrying a solution. */
export const SOLUTION_FIELD = 'vigil_challenge';
/** The request header carrying a solution. */
export const SOLUTION_HEADER = 'vigil-challenge';
/** The form field carrying the sealed original form. */
export const SEALED_FIELD = 'vigil_form';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON for a `<script type="application/json">` data block: nothing in it can close the element. */
function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** The page's own policy: scripts, worker and styles from this origin only, the form posted back here. */
export const PAGE_CSP = "default-src 'none'; script-src 'self'; worker-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** A third-party CAPTCHA's widget, in place of the proof of work. */
export interface CaptchaWidget {
  /** Its element (`<div class="cf-turnstile" data-sitekey="…">`). */
  html: string;
  /** Its script, from the vendor's CDN. */
  scriptUrl: string;
  /** The field its token lands in. */
  field: string;
  /** The sources the page's CSP must allow for it. */
  csp: { script: string[]; frame: string[]; connect: string[] };
}

/** The page's CSP with a vendor's widget allowed (styles inline too: the vendors' widgets set them). */
function cspWith(widget: CaptchaWidget): string {
  const list = (own: string, extra: string[]) => [own, ...extra].join(' ');
  return `default-src 'none'; script-src ${list("'self'", widget.csp.script)}; frame-src ${list("'self'", widget.csp.frame)}; connect-src ${list("'self'", widget.csp.connect)}; worker-src 'self'; style-src 'self' 'unsafe-inline' ${widget.csp.script.join(' ')}; img-src 'self' data: ${widget.csp.script.join(' ')}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;
}

/** What the page is made of. */
export interface ChallengePageParts {
  /** The proof of work to solve; undefined with a third-party `captcha`. */
  challenge: PowChallenge | undefined;
  /** The third-party CAPTCHA shown instead of the proof of work. */
  captcha?: CaptchaWidget;
  /** The form's method: the request's own. It has no action: the browser posts back to the URL it used. */
  method: 'POST' | 'GET';
  /** Plain fields of a GET form (the query's, which a GET form replaces). */
  hidden?: ReadonlyArray<readonly [string, string]>;
  /** The sealed original form, when there was one. */
  sealed: string | undefined;
  /** The assets' path prefix, e.g. `/_vigil/challenge`. */
  assetsPath: string;
  requestId: string | undefined;
  /** True after a solution that did not pass. */
  retry: boolean;
}

/** The challenge page: the widget solves the challenge on load and re-posts the form. */
export function challengePage(parts: ChallengePageParts): RenderedResponse {
  const assets = escapeHtml(parts.assetsPath);
  const data = jsonForScript(parts.captcha === undefined ? { challenge: parts.challenge, field: SOLUTION_FIELD } : { captcha: parts.captcha.field });
  let fields = parts.sealed === undefined ? '' : `<input type="hidden" name="${SEALED_FIELD}" value="${escapeHtml(parts.sealed)}">`;
  for (const [name, value] of parts.hidden ?? []) fields += `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
  const ref = parts.requestId === undefined ? '' : `<p class="vigil-ref">Reference: <code>${escapeHtml(parts.requestId)}</code></p>`;
  const lead = parts.captcha !== undefined
    ? 'Before this request goes on, please complete the check below.'
    : parts.retry
      ? 'That check did not go through, so it runs once more.'
      : 'Before this request goes on, your browser does a short calculation to show it is not an automated attack.';
  const wait = parts.captcha !== undefined ? '' : ' It takes a second or two and needs nothing from you.';
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Checking your browser</title>
<link rel="stylesheet" href="${assets}/altcha.css"><link rel="stylesheet" href="${assets}/vigil-challenge.css">
<script type="application/json" id="vigil-challenge-data">${data}</script>
<script type="module" src="${assets}/vigil-challenge.js"></script>${parts.captcha === undefined ? '' : `\n<script src="${escapeHtml(parts.captcha.scriptUrl)}" async defer></script>`}
</head><body><main>
<h1>One moment…</h1>
<p>${lead}${wait}</p>
<form id="vigil-challenge-form" method="${parts.method.toLowerCase()}">${fields}
<div id="vigil-challenge-widget">${parts.captcha?.html ?? ''}</div>
<p id="vigil-challenge-status" role="status" aria-live="polite"></p>
<noscript><p>This check needs JavaScript. Turn it on and press Continue.</p></noscript>
<button type="submit">Continue</button>
</form>
${ref}</main></body></html>`;
  return {
    status: 403,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': parts.captcha === undefined ? PAGE_CSP : cspWith(parts.captcha), 'referrer-policy': 'same-origin' },
    body,
  };
}

/** The JSON answer of a third-party CAPTCHA: which widget to show, where its token goes. */
export function captchaJson(vendor: string, siteKey: string, field: string, requestId: string | undefined, retry: boolean): RenderedResponse {
  return {
    status: 403,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify({ challenge: { type: vendor, siteKey, retry, solution: { header: SOLUTION_HEADER, field } }, requestId }),
  };
}

/** The JSON answer: the challenge, how to solve it, where to put the solution. */
export function challengeJson(challenge: PowChallenge, requestId: string | undefined, retry: boolean): RenderedResponse {
  return {
    status: 403,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify({
      challenge: {
        type: 'altcha',
        version: 2,
        algorithm: challenge.parameters.algorithm,
        parameters: challenge.parameters,
        signature: challenge.signature,
        expiresAt: challenge.parameters.expiresAt,
        retry,
        solution: { header: SOLUTION_HEADER, field: SOLUTION_FIELD, encoding: 'base64(JSON.stringify({ challenge: { parameters, signature }, solution: { counter, derivedKey } }))' },
      },
      requestId,
    }),
  };
}
