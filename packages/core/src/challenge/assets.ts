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
} else if (!globalThis.isSecureContext || !globalThis.crypto || !globalThis.crypto.subtle) {
  // Not a secure context (plain HTTP other than localhost): no WebCrypto, so no widget.
  // Vigil's own solver does the same work on this thread.
  say('Checking your browser…');
  try {
    const { solve } = await import(new URL('vigil-solver.js', base).href);
    const started = performance.now();
    const solution = await solve(data.challenge.parameters);
    if (solution) {
      const input = document.createElement('input');
      input.type = 'hidden';
      input.name = data.field;
      input.value = btoa(JSON.stringify({ challenge: data.challenge, solution: { counter: solution.counter, derivedKey: solution.derivedKey, time: Math.round(performance.now() - started) } }));
      form.append(input);
      say('Done. Continuing…');
      form.submit();
    }
  } catch (error) {
    say('The check could not run in this browser. Press Continue to try again.');
  }
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

/** The fallback solver for pages without WebCrypto (not a secure context): plain JavaScript. */
export const SOLVER_SCRIPT = `// Vigil's fallback solver: PBKDF2-HMAC-SHA-256 (one 32-byte block) in plain JavaScript, for
// pages where WebCrypto is missing (a plain-HTTP origin other than localhost is not a secure
// context, and ALTCHA's widget needs one). Slower than the widget, on the page's own thread.
const K = new Int32Array([0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2]);
const IV = new Int32Array([0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19]);
const W = new Int32Array(64);
// One compression of the 16 words of block into out, from state h.
function compress(h, block, out) {
  for (let i = 0; i < 16; i++) W[i] = block[i];
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15], b = W[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  out[0] = (h[0] + a) | 0; out[1] = (h[1] + b) | 0; out[2] = (h[2] + c) | 0; out[3] = (h[3] + d) | 0;
  out[4] = (h[4] + e) | 0; out[5] = (h[5] + f) | 0; out[6] = (h[6] + g) | 0; out[7] = (h[7] + k) | 0;
}
/** PBKDF2-HMAC-SHA-256 of a password of at most 64 bytes and a salt of at most 51, one 32-byte block, as 8 words. */
function pbkdf2(password, salt, iterations) {
  const key = new Uint8Array(64);
  key.set(password);
  const pad = new Int32Array(16);
  const inner = new Int32Array(8), outer = new Int32Array(8);
  for (let i = 0; i < 16; i++) pad[i] = ((key[4 * i] << 24) | (key[4 * i + 1] << 16) | (key[4 * i + 2] << 8) | key[4 * i + 3]) ^ 0x36363636;
  compress(IV, pad, inner);
  for (let i = 0; i < 16; i++) pad[i] ^= 0x36363636 ^ 0x5c5c5c5c;
  compress(IV, pad, outer);
  // U1 = HMAC(password, salt ‖ INT(1)): inner over 64 + salt.length + 4 bytes.
  const msg = new Uint8Array(64);
  msg.set(salt);
  msg[salt.length + 3] = 1;
  const len = salt.length + 4;
  msg[len] = 0x80;
  const bits = (64 + len) * 8;
  msg[62] = bits >>> 8; msg[63] = bits & 0xff;
  const block = new Int32Array(16);
  for (let i = 0; i < 16; i++) block[i] = (msg[4 * i] << 24) | (msg[4 * i + 1] << 16) | (msg[4 * i + 2] << 8) | msg[4 * i + 3];
  const u = new Int32Array(8), t = new Int32Array(8), tmp = new Int32Array(8);
  compress(inner, block, tmp);
  // Outer: 64 + 32 bytes, one block of the 32-byte digest and its padding.
  const ob = new Int32Array(16);
  ob[8] = 0x80000000; ob[15] = (64 + 32) * 8;
  for (let i = 0; i < 8; i++) ob[i] = tmp[i];
  compress(outer, ob, u);
  t.set(u);
  for (let n = 1; n < iterations; n++) {
    for (let i = 0; i < 8; i++) ob[i] = u[i];
    compress(inner, ob, tmp);
    for (let i = 0; i < 8; i++) ob[i] = tmp[i];
    compress(outer, ob, u);
    for (let i = 0; i < 8; i++) t[i] ^= u[i];
  }
  return t;
}
const hex = (words) => Array.from(words, (w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
const bytes = (h) => Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
/** Finds the counter of a challenge: resolves { counter, derivedKey }, yielding to the page now and then. */
export async function solve(parameters) {
  const nonce = bytes(parameters.nonce), salt = bytes(parameters.salt);
  const prefix = parameters.keyPrefix;
  const password = new Uint8Array(nonce.length + 4);
  password.set(nonce);
  for (let counter = 0; counter <= 0xffffffff; counter++) {
    password[nonce.length] = counter >>> 24; password[nonce.length + 1] = (counter >>> 16) & 0xff; password[nonce.length + 2] = (counter >>> 8) & 0xff; password[nonce.length + 3] = counter & 0xff;
    const key = hex(pbkdf2(password, salt, parameters.cost));
    if (key.startsWith(prefix)) return { counter, derivedKey: key };
    if (counter % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return null;
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
  'vigil-solver.js': () => ({ type: 'text/javascript; charset=utf-8', body: SOLVER_SCRIPT }),
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
