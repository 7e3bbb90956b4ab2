// The challenge page's assets, served by the adapters under the challenge's
// `assetsPath`: ALTCHA's widget (its CSP-friendly "external" build), its stylesheet and
// its PBKDF2 worker, read from the installed \`altcha\` package, and Vigil's own page
// script and stylesheet. Same origin, no inline script, no eval, no CDN: a page under
// \`script-src 'self'\` runs it.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RenderedResponse } from '../decision/responses.js';

/** Vigil's page script: loads the widget and worker, solves, re-posts the form. */
export const PAGE_SCRIPT = `// Vigil's challenge page: loads ALTCHA's widget and its PBKDF2 worker from the same
// origin (no inline script, no eval, no CDN), solves the challenge the page carries
// without asking anything of the person, then re-posts the form it came from.
const base = new URL('./', import.meta.url);
const form = document.getElementById('vigil-challenge-form');
const status = document.getElementById('vigil-challenge-status');
const data = JSON.parse(document.getElementById('vigil-challenge-data').textContent);

function say(text) {
  if (status) status.textContent = text;
}

if (data.captcha) {
  // A third-party CAPTCHA: its widget puts a token in the form; post the form once it is there.
  const sent = setInterval(() => {
    const token = form.querySelector('[name="' + data.captcha + '"]');
    if (token && token.value) {
      clearInterval(sent);
      say('Done. Continuing…');
      form.submit();
    }
  }, 250);
} else try {
  await import(new URL('altcha.js', base).href);
  globalThis.$altcha.algorithms.set(data.challenge.parameters.algorithm, () => new Worker(new URL('pbkdf2.js', base)));
  const widget = document.createElement('altcha-widget');
  widget.setAttribute('challenge', JSON.stringify(data.challenge));
  widget.setAttribute('name', data.field);
  widget.setAttribute('auto', 'onload');
  widget.setAttribute('hidefooter', '');
  widget.setAttribute('hidelogo', '');
  widget.addEventListener('verified', (event) => {
    let input = form.querySelector(\`input[name="\${data.field}"]\`);
    if (!input) {
      input = document.createElement('input');
      input.type = 'hidden';
      input.name = data.field;
      form.append(input);
    }
    input.value = event.detail.payload;
    say('Done. Continuing…');
    form.submit();
  });
  widget.addEventListener('statechange', (event) => {
    if (event.detail && event.detail.state === 'error') say('The check could not run in this browser. Press Continue to try again.');
  });
  document.getElementById('vigil-challenge-widget').append(widget);
} catch (error) {
  say('The check could not start. Press Continue to try again.');
}
`;

/** Vigil's page stylesheet. */
export const PAGE_STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:30rem;margin:4rem auto;padding:0 1rem;color:#1f2328;line-height:1.5}
h1{font-size:1.35rem;margin-bottom:.5rem}
#vigil-challenge-widget{margin:1.5rem 0}
button{font:inherit;padding:.45rem 1rem;border-radius:.4rem;border:1px solid #8c959f;background:#f6f8fa;cursor:pointer}
.vigil-ref{color:#59636e;font-size:.85rem}
@media (prefers-color-scheme:dark){body{background:#0d1117;color:#e6edf3}button{background:#21262d;color:#e6edf3;border-color:#3d444d}.vigil-ref{color:#9198a1}}
`;

interface Asset {
  type: string;
  body: string;
}

let altchaDir: string | undefined;
function altchaFile(relative: string): string {
  // `altcha/altcha.css` resolves to the same file under import and require: its folder
  // is the widget's external build, beside its workers.
  altchaDir ??= dirname(createRequire(import.meta.url).resolve('altcha/altcha.css'));
  return readFileSync(join(altchaDir, relative), 'utf8');
}

const SOURCES: Record<string, () => Asset> = {
  'altcha.js': () => ({ type: 'text/javascript; charset=utf-8', body: altchaFile('altcha.js') }),
  'altcha.css': () => ({ type: 'text/css; charset=utf-8', body: altchaFile('altcha.css') }),
  'pbkdf2.js': () => ({ type: 'text/javascript; charset=utf-8', body: altchaFile('../workers/pbkdf2.js') }),
  'vigil-challenge.js': () => ({ type: 'text/javascript; charset=utf-8', body: PAGE_SCRIPT }),
  'vigil-challenge.css': () => ({ type: 'text/css; charset=utf-8', body: PAGE_STYLE }),
};

/** The asset names served under `assetsPath`. */
export const ASSET_NAMES = Object.keys(SOURCES);

const loaded = new Map<string, RenderedResponse>();

/**
 * The response for one asset name, read once and kept; `undefined` for a name that is
 * not one (the adapter then lets the request go on, to a 404).
 */
export function assetResponse(name: string): RenderedResponse | undefined {
  const cached = loaded.get(name);
  if (cached !== undefined) return cached;
  const source = Object.hasOwn(SOURCES, name) ? SOURCES[name] : undefined;
  if (source === undefined) return undefined;
  const { type, body } = source();
  const response: RenderedResponse = {
    status: 200,
    headers: {
      'content-type': type,
      'cache-control': 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
      'cross-origin-resource-policy': 'same-origin',
    },
    body,
  };
  loaded.set(name, response);
  return response;
}
