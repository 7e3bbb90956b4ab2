// The third-party CAPTCHAs' verifiers against real HTTP servers on loopback that speak
// each vendor's siteverify contract: form-encoded secret, response, remoteip (and
// hCaptcha's sitekey); success only for a token the fake issued, with the secret it was
// given, once; hostname, action and score as the vendor answers them. Then every way a
// vendor can fail to answer, the options, the widget's HTML, and the secret, which must
// never come back in a check, an error or the vendor object.
import { createServer } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VigilConfigError } from '../errors.js';
import { type FakeAnswer, type FakeVendor, type RecordedRequest, startFakeVendor } from '../testing/fake-vendors.js';
import { type CaptchaCheck, type CaptchaVendor, type CaptchaVendorName, type CaptchaVendorOptions, hcaptcha, isCaptchaVendor, recaptcha, turnstile } from './vendors.js';

/** What a solved widget stands for, as the vendor remembers it. */
interface Solve {
  hostname: string;
  action?: string;
  score?: number;
}

interface VendorCase {
  name: CaptchaVendorName;
  make: (options: CaptchaVendorOptions) => CaptchaVendor;
  /** The siteverify path of the vendor's endpoint. */
  path: string;
  siteKey: string;
  secret: string;
  responseField: string;
  scriptUrl: string;
  widgetClass: string;
  /** The code the vendor answers for a token verified twice. */
  duplicateCode: string;
  /** The vendor's answer for a good token. */
  answer: (solve: Solve) => Record<string, unknown>;
}

const challengeTs = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

const CASES: VendorCase[] = [
  {
    name: 'turnstile',
    make: turnstile,
    path: '/turnstile/v0/siteverify',
    siteKey: '0x4AAAAAAAturnstileSiteKey',
    secret: '0x4AAAAAAAturnstile-secret-Zq81Lm',
    responseField: 'cf-turnstile-response',
    scriptUrl: 'https://challenges.cloudflare.com/turnstile/v0/api.js',
    widgetClass: 'cf-turnstile',
    duplicateCode: 'timeout-or-duplicate',
    answer: (s) => ({ success: true, 'error-codes': [], challenge_ts: challengeTs(), hostname: s.hostname, action: s.action ?? '', cdata: '' }),
  },
  {
    name: 'hcaptcha',
    make: hcaptcha,
    path: '/siteverify',
    siteKey: '10000000-ffff-ffff-ffff-000000000001',
    secret: '0xHCAPTCHA-secret-Vb20Qa7nXk',
    responseField: 'h-captcha-response',
    scriptUrl: 'https://js.hcaptcha.com/1/api.js',
    widgetClass: 'h-captcha',
    duplicateCode: 'already-seen-response',
    answer: (s) => ({ success: true, challenge_ts: challengeTs(), hostname: s.hostname, credit: false, ...(s.score === undefined ? {} : { score: s.score, score_reason: ['fake'] }) }),
  },
  {
    name: 'recaptcha',
    make: recaptcha,
    path: '/recaptcha/api/siteverify',
    siteKey: '6LeRecaptchaSiteKeyAAAAAAAAAAAAAAAAAAAAA',
    secret: '6LeRecaptcha-secret-Hw5Pq0Ys3T',
    responseField: 'g-recaptcha-response',
    scriptUrl: 'https://www.google.com/recaptcha/api.js',
    widgetClass: 'g-recaptcha',
    duplicateCode: 'timeout-or-duplicate',
    // v3 answers a score and an action; v2 neither.
    answer: (s) => ({ success: true, challenge_ts: challengeTs(), hostname: s.hostname, ...(s.score === undefined ? {} : { score: s.score, action: s.action ?? '' }) }),
  },
];

const SECRETS = CASES.map((c) => c.secret);
const HOST = 'shop.example.com';
const CLIENT_IP = '203.0.113.7';

/** A running fake siteverify of one vendor, with the tokens it issued. */
interface FakeSiteverify {
  server: FakeVendor;
  url: string;
  /** A fresh token, good once, for a widget solved with these properties. */
  issue(solve?: Partial<Solve>): string;
}

async function startSiteverify(c: VendorCase): Promise<FakeSiteverify> {
  const issued = new Map<string, Solve>();
  const spent = new Set<string>();
  let seq = 0;
  const no = (...codes: string[]): FakeAnswer => ({ status: 200, body: { success: false, 'error-codes': codes } });
  const handler = (req: RecordedRequest): FakeAnswer => {
    if (req.method !== 'POST' || req.path !== c.path) return { status: 404, body: 'Not Found' };
    if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return no('bad-request');
    const form = (req.body ?? {}) as Record<string, string>;
    if (!form.secret) return no('missing-input-secret');
    if (form.secret !== c.secret) return no('invalid-input-secret');
    if (!form.response) return no('missing-input-response');
    if (form.remoteip !== undefined && isIP(form.remoteip) === 0) return no('invalid-remoteip');
    if (c.name === 'hcaptcha' && form.sitekey !== undefined && form.sitekey !== c.siteKey) return no('sitekey-secret-mismatch');
    const solve = issued.get(form.response);
    if (solve === undefined) return no('invalid-input-response');
    if (spent.has(form.response)) return no(c.duplicateCode);
    spent.add(form.response);
    return { status: 200, body: c.answer(solve) };
  };
  const server = await startFakeVendor(handler);
  return {
    server,
    url: `${server.origin}${c.path}`,
    issue(solve = {}) {
      seq += 1;
      const token = `${c.name}.token.${seq}.${'A'.repeat(40)}`;
      issued.set(token, { hostname: HOST, ...solve });
      return token;
    },
  };
}

/** A port nothing listens on: a server that was started, then closed. */
async function refusedUrl(path: string): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}${path}`;
}

/** Whether a CSP host source (`https://host`, `https://*.host`, `https://host/path/`) allows a URL. */
function cspAllows(source: string, url: string): boolean {
  const allowed = new URL(source.replace('*.', 'wildcard.'));
  const target = new URL(url);
  if (allowed.protocol !== target.protocol) return false;
  const host = source.includes('*.') ? target.hostname.endsWith(allowed.hostname.replace(/^wildcard/, '')) : target.hostname === allowed.hostname;
  return host && (allowed.pathname === '/' || target.pathname.startsWith(allowed.pathname));
}

const allChecks: CaptchaCheck[] = [];

/** Verifies (from CLIENT_IP unless an address, or undefined, is given), and checks that the answer is a CaptchaCheck with no secret in it. */
async function verify(vendor: CaptchaVendor, token: unknown, ...address: [string | undefined] | []): Promise<CaptchaCheck> {
  const check = await vendor.verify(token, address.length === 0 ? CLIENT_IP : address[0]);
  allChecks.push(check);
  for (const key of Object.keys(check)) expect(['passed', 'reason', 'errorCodes', 'score']).toContain(key);
  const text = `${JSON.stringify(check)}\n${inspect(check, { depth: 5 })}`;
  for (const secret of SECRETS) expect(text).not.toContain(secret);
  return check;
}

afterAll(() => {
  expect(allChecks.length).toBeGreaterThan(50);
  const text = JSON.stringify(allChecks);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
});

describe.each(CASES)('$name', (c) => {
  let fake: FakeSiteverify;
  const make = (extra: Partial<CaptchaVendorOptions> = {}) => c.make({ siteKey: c.siteKey, secret: c.secret, verifyUrl: fake.url, ...extra });

  beforeAll(async () => {
    fake = await startSiteverify(c);
  });
  afterAll(async () => {
    await fake.server.close();
  });
  beforeEach(() => {
    fake.server.reset();
  });

  it("describes the vendor's widget: name, site key, token field, script, CSP sources", () => {
    const vendor = make();
    expect(vendor.name).toBe(c.name);
    expect(vendor.siteKey).toBe(c.siteKey);
    expect(vendor.responseField).toBe(c.responseField);
    expect(vendor.scriptUrl).toBe(c.scriptUrl);
    expect(vendor.widgetHtml()).toBe(`<div class="${c.widgetClass}" data-sitekey="${c.siteKey}"></div>`);
    // The widget's script is allowed by the script-src sources it names.
    expect(vendor.cspOrigins.script.some((source) => cspAllows(source, c.scriptUrl))).toBe(true);
    expect(vendor.cspOrigins.frame.length).toBeGreaterThan(0);
    for (const source of [...vendor.cspOrigins.script, ...vendor.cspOrigins.frame, ...vendor.cspOrigins.connect]) expect(source).toMatch(/^https:\/\/[^/]+(\/|$)/);
    expect(Object.isFrozen(vendor.cspOrigins.script)).toBe(true);
  });

  it('passes a token the vendor confirms, after one form-encoded POST of secret, response and remoteip', async () => {
    const token = fake.issue();
    const check = await verify(make(), token);
    expect(check).toEqual({ passed: true, reason: 'solved' });
    expect(fake.server.requests).toHaveLength(1);
    const [req] = fake.server.requests as [RecordedRequest];
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    const expected: Record<string, string> = { secret: c.secret, response: token, remoteip: CLIENT_IP };
    if (c.name === 'hcaptcha') expected.sitekey = c.siteKey;
    expect(req.body).toEqual(expected);
  });

  it('sends no remoteip when there is no client address, or it is not an IP address', async () => {
    await verify(make(), fake.issue(), undefined);
    await verify(make(), fake.issue(), 'unknown');
    await verify(make(), fake.issue(), '203.0.113.7, 10.0.0.1');
    expect(fake.server.requests).toHaveLength(3);
    for (const req of fake.server.requests) expect(Object.keys(req.body as object)).not.toContain('remoteip');
  });

  it("fails a token the vendor does not know, with the vendor's error codes", async () => {
    const check = await verify(make(), 'forged-token-0000');
    expect(check).toEqual({ passed: false, reason: 'invalid', errorCodes: ['invalid-input-response'] });
    expect(fake.server.requests).toHaveLength(1);
  });

  it('fails a token presented a second time (the vendor answers it once)', async () => {
    const token = fake.issue();
    expect((await verify(make(), token)).passed).toBe(true);
    expect(await verify(make(), token)).toEqual({ passed: false, reason: 'invalid', errorCodes: [c.duplicateCode] });
  });

  it('fails every token when the secret is wrong, and does not say the secret', async () => {
    const vendor = c.make({ siteKey: c.siteKey, secret: 'not-the-secret-9f2', verifyUrl: fake.url });
    expect(await verify(vendor, fake.issue())).toEqual({ passed: false, reason: 'invalid', errorCodes: ['invalid-input-secret'] });
  });

  it('requires the hostname when one is set: the same one passes (any case), another or none fails', async () => {
    expect(await verify(make({ hostname: 'SHOP.example.com' }), fake.issue())).toEqual({ passed: true, reason: 'solved' });
    expect(await verify(make({ hostname: HOST }), fake.issue({ hostname: 'evil.example.net' }))).toEqual({ passed: false, reason: 'invalid' });
    // A hostname only a suffix or prefix of the required one is another hostname.
    expect((await verify(make({ hostname: HOST }), fake.issue({ hostname: `${HOST}.evil.example.net` }))).reason).toBe('invalid');
    expect((await verify(make({ hostname: HOST }), fake.issue({ hostname: `cdn.${HOST}` }))).reason).toBe('invalid');
    // Without a hostname option, any hostname is accepted.
    expect((await verify(make(), fake.issue({ hostname: 'evil.example.net' }))).passed).toBe(true);
    fake.server.set({ status: 200, body: { success: true } });
    expect(await verify(make({ hostname: HOST }), 'any-token')).toEqual({ passed: false, reason: 'invalid' });
    expect(await verify(make(), 'any-token')).toEqual({ passed: true, reason: 'solved' });
  });

  it('calls a token missing, not a string or over 2048 characters malformed, and never sends it', async () => {
    const vendor = make();
    for (const token of [undefined, null, '', 42, true, ['token'], { token: 'x' }, 'x'.repeat(2049)]) {
      expect(await verify(vendor, token)).toEqual({ passed: false, reason: 'malformed' });
    }
    expect(fake.server.requests).toHaveLength(0);
    // 2048 characters is still a token: the vendor judges it.
    expect(await verify(vendor, 'x'.repeat(2048))).toEqual({ passed: false, reason: 'invalid', errorCodes: ['invalid-input-response'] });
    expect(fake.server.requests).toHaveLength(1);
  });

  it('is unavailable when the vendor does not answer within timeout, after one try only', async () => {
    fake.server.set({ hang: true });
    const vendor = make({ timeout: 200 });
    const started = Date.now();
    expect(await verify(vendor, fake.issue())).toEqual({ passed: false, reason: 'unavailable' });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(1500);
    expect(fake.server.requests).toHaveLength(1);
  });

  it('is unavailable on a 5xx, 429 or 408, even with a success body, and never retries', async () => {
    const token = fake.issue();
    for (const status of [500, 502, 503, 429, 408]) {
      fake.server.set({ status, body: c.answer({ hostname: HOST }) });
      expect(await verify(make(), token)).toEqual({ passed: false, reason: 'unavailable' });
    }
    expect(fake.server.requests).toHaveLength(5);
  });

  it("fails a 4xx in the vendor's own shape, and is unavailable on any other 4xx", async () => {
    fake.server.set({ status: 400, body: { success: false, 'error-codes': ['bad-request'] } });
    expect(await verify(make(), fake.issue())).toEqual({ passed: false, reason: 'invalid', errorCodes: ['bad-request'] });
    // Even a 4xx that claims success does not pass.
    fake.server.set({ status: 403, body: { success: true, hostname: HOST } });
    expect(await verify(make(), fake.issue())).toEqual({ passed: false, reason: 'invalid' });
    fake.server.set({ status: 403, body: '<html><body>Forbidden by proxy</body></html>' });
    expect(await verify(make(), fake.issue())).toEqual({ passed: false, reason: 'unavailable' });
  });

  it("is unavailable on an answer that is not the vendor's JSON", async () => {
    const token = fake.issue();
    fake.server.set({ malformedJson: true });
    expect(await verify(make(), token)).toEqual({ passed: false, reason: 'unavailable' });
    for (const body of ['<html>Captive portal</html>', '', 'true', '[]', '{}', '{"success":"true"}', '{"success":1}', 'null']) {
      fake.server.set({ malformedJson: false, status: 200, body });
      expect(await verify(make(), token)).toEqual({ passed: false, reason: 'unavailable' });
    }
    // A score that is not a number from 0 to 1 is not the vendor's either.
    for (const score of ['0.9', 2, -1]) {
      fake.server.set({ status: 200, body: { success: true, hostname: HOST, score } });
      expect(await verify(make(), token)).toEqual({ passed: false, reason: 'unavailable' });
    }
  });

  it('is unavailable on an answer over 64 KB, streamed or declared, even for a good token', async () => {
    fake.server.set({ oversizedBody: 70_000 });
    expect(await verify(make(), fake.issue())).toEqual({ passed: false, reason: 'unavailable' });
    expect(fake.server.requests).toHaveLength(1);
    fake.server.set({ oversizedBody: undefined, status: 200, body: JSON.stringify({ success: true, hostname: HOST, padding: 'x'.repeat(70_000) }) });
    expect(await verify(make(), fake.issue())).toEqual({ passed: false, reason: 'unavailable' });
    // Just under the cap is read.
    fake.server.set({ status: 200, body: JSON.stringify({ success: true, hostname: HOST, padding: 'x'.repeat(60_000) }) });
    expect(await verify(make(), 'any')).toEqual({ passed: true, reason: 'solved' });
  });

  it('is unavailable when the connection is refused or cut', async () => {
    const refused = c.make({ siteKey: c.siteKey, secret: c.secret, verifyUrl: await refusedUrl(c.path) });
    expect(await verify(refused, fake.issue())).toEqual({ passed: false, reason: 'unavailable' });
    fake.server.set({ destroySocket: true });
    expect(await verify(make(), fake.issue())).toEqual({ passed: false, reason: 'unavailable' });
    fake.server.set({ destroySocket: false, resetMidBody: true });
    expect(await verify(make(), fake.issue())).toEqual({ passed: false, reason: 'unavailable' });
  });

  it('does not follow a redirect (which would carry the secret elsewhere)', async () => {
    const elsewhere = await startSiteverify(c);
    try {
      const moved = await startFakeVendor(() => ({ status: 307, headers: { location: elsewhere.url } }));
      try {
        const vendor = c.make({ siteKey: c.siteKey, secret: c.secret, verifyUrl: `${moved.origin}${c.path}` });
        expect(await verify(vendor, elsewhere.issue())).toEqual({ passed: false, reason: 'unavailable' });
        expect(moved.requests).toHaveLength(1);
        expect(elsewhere.server.requests).toHaveLength(0);
      } finally {
        await moved.close();
      }
    } finally {
      await elsewhere.server.close();
    }
  });

  it('keeps error codes to strings, at most 10 of 64 characters each, printable, and never the secret', async () => {
    const codes = ['invalid-input-response', 42, null, `leaked ${c.secret}`, 'line\r\nbreak', 'y'.repeat(100), ...Array.from({ length: 20 }, (_, i) => `code-${i}`)];
    fake.server.set({ status: 200, body: { success: false, 'error-codes': codes } });
    const check = await verify(make(), fake.issue());
    expect(check.reason).toBe('invalid');
    expect(check.errorCodes).toEqual(['invalid-input-response', 'linebreak', 'y'.repeat(64), 'code-0', 'code-1', 'code-2', 'code-3', 'code-4', 'code-5', 'code-6']);
    // One code as a bare string (hCaptcha has answered so).
    fake.server.set({ status: 200, body: { success: false, 'error-codes': 'invalid-input-response' } });
    expect((await verify(make(), fake.issue())).errorCodes).toEqual(['invalid-input-response']);
    // The secret alone, echoed by a proxy, is dropped too.
    fake.server.set({ status: 200, body: { success: false, 'error-codes': [c.secret] } });
    expect(await verify(make(), fake.issue())).toEqual({ passed: false, reason: 'invalid' });
  });

  it('never throws, whatever it is given', async () => {
    const vendor = make();
    await expect(vendor.verify(fake.issue(), 42 as unknown as string)).resolves.toMatchObject({ passed: true });
    await expect(vendor.verify(Symbol('token'), { ip: 1 } as unknown as string)).resolves.toEqual({ passed: false, reason: 'malformed' });
  });

  it('keeps the secret out of the vendor object', () => {
    const vendor = make();
    const text = `${JSON.stringify(vendor)}\n${inspect(vendor, { depth: 10, showHidden: true })}\n${vendor.widgetHtml()}`;
    expect(text).not.toContain(c.secret);
  });

  it('escapes a hostile site key in the widget HTML', () => {
    const hostile = `"><script>alert('x')</script><div class="`;
    const vendor = c.make({ siteKey: hostile, secret: c.secret });
    const html = vendor.widgetHtml();
    expect(html).toBe(`<div class="${c.widgetClass}" data-sitekey="&#34;&#62;&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;&#60;div class=&#34;"></div>`);
    expect(html).not.toContain('<script');
    expect(vendor.siteKey).toBe(hostile);
  });
});

describe('Turnstile: action', () => {
  const c = CASES[0] as VendorCase;
  let fake: FakeSiteverify;
  beforeAll(async () => {
    fake = await startSiteverify(c);
  });
  afterAll(async () => {
    await fake.server.close();
  });
  const make = (extra: Partial<CaptchaVendorOptions> = {}) => turnstile({ siteKey: c.siteKey, secret: c.secret, verifyUrl: fake.url, ...extra });

  it('puts the action on the widget and requires it in the answer', async () => {
    const vendor = make({ action: 'login', hostname: HOST });
    expect(vendor.widgetHtml()).toBe(`<div class="cf-turnstile" data-sitekey="${c.siteKey}" data-action="login"></div>`);
    expect(await verify(vendor, fake.issue({ action: 'login' }))).toEqual({ passed: true, reason: 'solved' });
    expect(await verify(vendor, fake.issue({ action: 'signup' }))).toEqual({ passed: false, reason: 'invalid' });
    expect(await verify(vendor, fake.issue())).toEqual({ passed: false, reason: 'invalid' });
    // Without the option, any action passes.
    expect((await verify(make(), fake.issue({ action: 'signup' }))).passed).toBe(true);
  });

  it('escapes a hostile action on the widget', () => {
    expect(make({ action: '"><img src=x onerror=alert(1)>' }).widgetHtml()).toBe(`<div class="cf-turnstile" data-sitekey="${c.siteKey}" data-action="&#34;&#62;&#60;img src=x onerror=alert(1)&#62;"></div>`);
  });
});

describe('reCAPTCHA: v3 score and action, v2', () => {
  const c = CASES[2] as VendorCase;
  let fake: FakeSiteverify;
  beforeAll(async () => {
    fake = await startSiteverify(c);
  });
  afterAll(async () => {
    await fake.server.close();
  });
  const make = (extra: Partial<CaptchaVendorOptions> = {}) => recaptcha({ siteKey: c.siteKey, secret: c.secret, verifyUrl: fake.url, ...extra });

  it('passes a v3 score at or above minScore and reports it; fails one below, with its score', async () => {
    const vendor = make({ minScore: 0.5, action: 'login' });
    expect(await verify(vendor, fake.issue({ score: 0.9, action: 'login' }))).toEqual({ passed: true, reason: 'solved', score: 0.9 });
    expect(await verify(vendor, fake.issue({ score: 0.5, action: 'login' }))).toEqual({ passed: true, reason: 'solved', score: 0.5 });
    expect(await verify(vendor, fake.issue({ score: 0.3, action: 'login' }))).toEqual({ passed: false, reason: 'invalid', score: 0.3 });
    expect(await verify(vendor, fake.issue({ score: 0, action: 'login' }))).toEqual({ passed: false, reason: 'invalid', score: 0 });
  });

  it('fails a v3 token solved for another action', async () => {
    expect(await verify(make({ action: 'login' }), fake.issue({ score: 0.9, action: 'signup' }))).toEqual({ passed: false, reason: 'invalid', score: 0.9 });
  });

  it('reports the score without minScore', async () => {
    expect(await verify(make(), fake.issue({ score: 0.1, action: 'login' }))).toEqual({ passed: true, reason: 'solved', score: 0.1 });
  });

  it('passes a v2 answer (no score) with minScore, which is checked only when the vendor answers a score; fails it when an action is required', async () => {
    expect(await verify(make({ minScore: 0.7 }), fake.issue())).toEqual({ passed: true, reason: 'solved' });
    expect(await verify(make({ action: 'login' }), fake.issue())).toEqual({ passed: false, reason: 'invalid' });
  });
});

describe("hCaptcha: the site key, Enterprise's risk score", () => {
  const c = CASES[1] as VendorCase;
  let fake: FakeSiteverify;
  beforeAll(async () => {
    fake = await startSiteverify(c);
  });
  afterAll(async () => {
    await fake.server.close();
  });
  const make = (extra: Partial<CaptchaVendorOptions> = {}) => hcaptcha({ siteKey: c.siteKey, secret: c.secret, verifyUrl: fake.url, ...extra });

  it('names its site key, so that a token of another site key is refused', async () => {
    const other = hcaptcha({ siteKey: '20000000-ffff-ffff-ffff-000000000002', secret: c.secret, verifyUrl: fake.url });
    expect(await verify(other, fake.issue())).toEqual({ passed: false, reason: 'invalid', errorCodes: ['sitekey-secret-mismatch'] });
  });

  it('reads minScore on the scale of a person (1 - risk): a low risk passes, a high one fails', async () => {
    const vendor = make({ minScore: 0.7 });
    expect(await verify(vendor, fake.issue({ score: 0.1 }))).toEqual({ passed: true, reason: 'solved', score: 0.1 });
    // 1 - 0.3 is 0.7 exactly in meaning, if not in floating point.
    expect(await verify(vendor, fake.issue({ score: 0.3 }))).toEqual({ passed: true, reason: 'solved', score: 0.3 });
    expect(await verify(vendor, fake.issue({ score: 0.31 }))).toEqual({ passed: false, reason: 'invalid', score: 0.31 });
    expect(await verify(vendor, fake.issue({ score: 0.95 }))).toEqual({ passed: false, reason: 'invalid', score: 0.95 });
    // Without a score (not Enterprise), minScore is not checked.
    expect(await verify(vendor, fake.issue())).toEqual({ passed: true, reason: 'solved' });
  });

  it('treats a null score (no Enterprise scoring) as no score', async () => {
    fake.server.set({ status: 200, body: { success: true, hostname: HOST, score: null } });
    expect(await verify(make({ minScore: 0.9 }), 'any')).toEqual({ passed: true, reason: 'solved' });
    fake.server.reset();
  });
});

describe('isCaptchaVendor', () => {
  it('is true for what the factories make, false for anything else', () => {
    const made = [turnstile, hcaptcha, recaptcha].map((make) => make({ siteKey: 'site-key', secret: 'secret-value' }));
    for (const vendor of made) expect(isCaptchaVendor(vendor)).toBe(true);
    const copy = { ...(made[0] as CaptchaVendor) };
    for (const value of [copy, undefined, null, 'turnstile', 42, {}, { name: 'turnstile', verify: async () => ({ passed: true, reason: 'solved' }) }]) {
      expect(isCaptchaVendor(value)).toBe(false);
    }
  });

  it('makes frozen vendors', () => {
    const vendor = turnstile({ siteKey: 'site-key', secret: 'secret-value' });
    expect(Object.isFrozen(vendor)).toBe(true);
    expect(() => {
      (vendor as { siteKey: string }).siteKey = 'other';
    }).toThrow(TypeError);
  });
});

describe('options', () => {
  const SECRET = 'the-secret-that-must-not-show-7Tq';
  const good = { siteKey: 'site-key', secret: SECRET };

  /** Asserts that `build` throws a VigilConfigError for `option` with no secret anywhere in it. */
  function rejects(build: () => unknown, option: string, code = 'VIGIL_E_CHALLENGE'): VigilConfigError {
    let caught: unknown;
    try {
      build();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(VigilConfigError);
    const error = caught as VigilConfigError;
    expect(error.code).toBe(code);
    expect(error.option).toBe(option);
    expect(error.message).toContain(option);
    const text = `${error.message}\n${error.stack}\n${inspect(error, { depth: 5 })}\n${JSON.stringify(error)}\n${String(error.value)}`;
    expect(text).not.toContain(SECRET);
    return error;
  }

  const BAD: [string, Record<string, unknown>, string][] = [
    ['siteKey missing', { secret: SECRET }, 'challenge.siteKey'],
    ['siteKey empty', { siteKey: '  ', secret: SECRET }, 'challenge.siteKey'],
    ['siteKey a number', { siteKey: 42, secret: SECRET }, 'challenge.siteKey'],
    ['secret missing', { siteKey: 'site-key' }, 'challenge.secret'],
    ['secret blank', { siteKey: 'site-key', secret: '   ' }, 'challenge.secret'],
    ['secret an array', { siteKey: 'site-key', secret: [SECRET] }, 'challenge.secret'],
    ['secret a number', { siteKey: 'site-key', secret: 12345 }, 'challenge.secret'],
    ['timeout too short', { ...good, timeout: 99 }, 'challenge.timeout'],
    ['timeout too long', { ...good, timeout: 30_001 }, 'challenge.timeout'],
    ['timeout fractional', { ...good, timeout: 1500.5 }, 'challenge.timeout'],
    ['timeout a string', { ...good, timeout: '3000' }, 'challenge.timeout'],
    ['timeout NaN', { ...good, timeout: Number.NaN }, 'challenge.timeout'],
    ['verifyUrl not a URL', { ...good, verifyUrl: 'siteverify' }, 'challenge.verifyUrl'],
    ['verifyUrl ftp', { ...good, verifyUrl: 'ftp://example.com/siteverify' }, 'challenge.verifyUrl'],
    ['verifyUrl javascript:', { ...good, verifyUrl: 'javascript:alert(1)' }, 'challenge.verifyUrl'],
    ['verifyUrl a number', { ...good, verifyUrl: 42 }, 'challenge.verifyUrl'],
    ['hostname with a scheme', { ...good, hostname: 'https://shop.example.com' }, 'challenge.hostname'],
    ['hostname with a port', { ...good, hostname: 'shop.example.com:443' }, 'challenge.hostname'],
    ['hostname empty', { ...good, hostname: '' }, 'challenge.hostname'],
    ['hostname with a space', { ...good, hostname: 'shop example.com' }, 'challenge.hostname'],
    ['hostname a number', { ...good, hostname: 42 }, 'challenge.hostname'],
    ['action empty', { ...good, action: '' }, 'challenge.action'],
    ['action a number', { ...good, action: 42 }, 'challenge.action'],
    ['minScore below 0', { ...good, minScore: -0.1 }, 'challenge.minScore'],
    ['minScore above 1', { ...good, minScore: 1.1 }, 'challenge.minScore'],
    ['minScore NaN', { ...good, minScore: Number.NaN }, 'challenge.minScore'],
    ['minScore a string', { ...good, minScore: '0.5' }, 'challenge.minScore'],
  ];

  it.each(BAD)('%s: throws a VigilConfigError naming the option', (_label, options, option) => {
    for (const make of [turnstile, hcaptcha, recaptcha]) rejects(() => make(options as unknown as CaptchaVendorOptions), option);
  });

  it('shows a bad secret as (hidden), and a missing one as missing', () => {
    for (const secret of ['   ', [SECRET], 12345, { value: SECRET }]) {
      const error = rejects(() => turnstile({ siteKey: 'site-key', secret } as unknown as CaptchaVendorOptions), 'challenge.secret');
      expect(error.value).toBe('(hidden)');
      expect(error.message).toContain('"(hidden)"');
    }
    expect(rejects(() => hcaptcha({ siteKey: 'site-key' } as CaptchaVendorOptions), 'challenge.secret').value).toBeUndefined();
  });

  it('refuses an unknown option, with a hint, without printing its value', () => {
    const error = rejects(() => recaptcha({ ...good, minscore: 0.5 } as unknown as CaptchaVendorOptions), 'challenge.minscore', 'VIGIL_E_UNKNOWN_OPTION');
    expect(error.message).toContain('challenge.minScore');
    // A misspelt secret is the case that matters.
    rejects(() => turnstile({ siteKey: 'site-key', secert: SECRET } as unknown as CaptchaVendorOptions), 'challenge.secert', 'VIGIL_E_UNKNOWN_OPTION');
  });

  it('refuses options that are not an object, without printing a string given instead', () => {
    for (const options of [undefined, null, SECRET, 42, [good]]) rejects(() => turnstile(options as unknown as CaptchaVendorOptions), 'challenge');
  });

  it("refuses hCaptcha's action, which hCaptcha does not answer", () => {
    const error = rejects(() => hcaptcha({ ...good, action: 'login' }), 'challenge.action');
    expect(error.message).toContain('hCaptcha');
  });

  it('accepts the bounds and the defaults', () => {
    for (const make of [turnstile, hcaptcha, recaptcha]) {
      expect(isCaptchaVendor(make(good))).toBe(true);
      expect(isCaptchaVendor(make({ ...good, timeout: 100, minScore: 0, hostname: 'localhost', verifyUrl: 'http://127.0.0.1:8080/siteverify' }))).toBe(true);
      expect(isCaptchaVendor(make({ ...good, timeout: 30_000, minScore: 1, hostname: 'Shop.Example.com', verifyUrl: 'https://proxy.internal/captcha/verify' }))).toBe(true);
    }
    expect(isCaptchaVendor(turnstile({ ...good, action: 'login' }))).toBe(true);
  });
});
