import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWLIST } from '../context/headers.js';
import type { RequestInfo } from '../context/request.js';
import { type FakeCastle, type FakeCheq, type FakeVendor, type RecordedRequest, startFakeCastle, startFakeCheq } from '../testing/fake-vendors.js';
import { createVigil, type Vigil, type VigilConfig } from '../vigil.js';
import { castleProvider } from './castle.js';
import { cheqProvider } from './cheq.js';
import type { Provider, ProviderEvent } from './types.js';

/**
 * Issue 12, item 6: with the default settings, an app's own secret-bearing headers and
 * the values in its query strings never reach a remote vendor. Checked on the bytes the
 * fake vendors received.
 */

const SECRET = 'sk_castle_outbound_Lm3';
const API_KEY = 'cheq_outbound_key_R2';
const TAG_HASH = 'tag_outbound';

// Values made of characters form encoding leaves as they are, so that a search of the
// raw bytes finds them however they were sent.
const SECRET_HEADERS: Record<string, string> = {
  'x-auth-token': 'authtok-7f3a91',
  'x-csrf-token': 'csrftok-5be210',
  'x-session-id': 'sessid-c4d8e2',
  'x-api-key': 'apikey-91aa07',
  'x-client-secret': 'clientsecret-3e77f0',
  'x-xsrf-token': 'xsrftok-0c1d2e',
  'x-user-password': 'hunter2-8b8b',
  'x-refresh-token': 'refresh-6a6a6a',
};
const QUERY_SECRET = 'abc9z8y7';

function request(): RequestInfo {
  return {
    method: 'POST',
    url: `/reset?token=${QUERY_SECRET}&step=2`,
    path: '/reset',
    protocol: 'https',
    headers: {
      host: 'app.example.com',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0',
      accept: 'text/html',
      'accept-language': 'en-GB',
      referer: `https://app.example.com/reset?token=${QUERY_SECRET}`,
      'x-castle-request-token': 'tok_outbound',
      'x-custom-thing': 'custom-visible-42',
      ...SECRET_HEADERS,
    },
    remoteAddress: '203.0.113.77',
    body: { email: 'ann@example.com' },
  };
}

const ROUTES = [{ method: 'POST', path: '/reset', event: '$password_reset_request', user: { email: 'body.email' } } as const];

let castle: FakeCastle;
let cheq: FakeCheq;
const toClose: Vigil[] = [];

beforeAll(async () => {
  castle = await startFakeCastle(SECRET);
  cheq = await startFakeCheq(API_KEY, TAG_HASH);
});
afterAll(async () => {
  await Promise.all([castle.close(), cheq.close()]);
});
beforeEach(() => {
  castle.reset();
  cheq.reset();
});
afterEach(async () => {
  await Promise.all(toClose.splice(0).map((v) => v.close()));
});

function vigilWith(provider: Provider, config: VigilConfig = {}): Vigil {
  const vigil = createVigil({ routes: ROUTES, provider, timeout: 5000, ...config });
  toClose.push(vigil);
  return vigil;
}

/** The bytes a fake received, raw and with form and percent encoding undone. */
function bytesOf(fake: FakeVendor): string {
  return fake.requests
    .map((r: RecordedRequest) => {
      let decoded = r.raw;
      try {
        decoded = decodeURIComponent(r.raw.replace(/\+/g, ' '));
      } catch {
        // keep the raw text
      }
      return `${r.raw}\n${decoded}`;
    })
    .join('\n');
}

const VENDORS = [
  ['Castle', () => castle, (options: Record<string, unknown> = {}) => castleProvider({ apiSecret: SECRET, baseUrl: castle.url, ...options })],
  ['CHEQ', () => cheq, (options: Record<string, unknown> = {}) => cheqProvider({ apiKey: API_KEY, tagHash: TAG_HASH, apiEndpoint: cheq.url, timeout: 5000, ...options })],
] as const;

describe.each(VENDORS)('what %s receives', (_name, fakeOf, make) => {
  it('no secret-looking custom header value and no query value reaches it with the default settings', async () => {
    const decision = await vigilWith(make()).protect(request());
    expect(decision.failover).toBe(false);
    const bytes = bytesOf(fakeOf());
    expect(bytes.length).toBeGreaterThan(100);
    for (const value of Object.values(SECRET_HEADERS)) expect(bytes).not.toContain(value);
    expect(bytes).not.toContain(QUERY_SECRET);
    // The parameter names stay, so the vendor still sees which page it was.
    expect(bytes).toContain('token=REDACTED');
  });

  it('secret-looking headers stay scrubbed when the app widens the allowlist, even to every header', async () => {
    for (const allowlist of [[], [...DEFAULT_ALLOWLIST, ...Object.keys(SECRET_HEADERS)]]) {
      await vigilWith(make(), { headers: { allowlist } }).protect(request());
    }
    const bytes = bytesOf(fakeOf());
    for (const value of Object.values(SECRET_HEADERS)) expect(bytes).not.toContain(value);
  });

  it('sendQueryValues: true sends the query values (an explicit opt-in)', async () => {
    await vigilWith(make({ sendQueryValues: true })).protect(request());
    expect(bytesOf(fakeOf())).toContain(`token=${QUERY_SECRET}`);
  });
});

describe('Castle receives its recommended allowlist by default', () => {
  it('an app’s custom header is sent as `true` unless the app widens the allowlist', async () => {
    await vigilWith(castleProvider({ apiSecret: SECRET, baseUrl: castle.url })).protect(request());
    const headers = (castle.requests[0]?.body as { context: { headers: Record<string, unknown> } } | undefined)?.context.headers;
    expect(headers).toMatchObject({ 'User-Agent': expect.stringContaining('Firefox'), Accept: 'text/html', 'Accept-Language': 'en-GB', Host: 'app.example.com', 'X-Custom-Thing': true, 'X-Auth-Token': true, Referer: 'https://app.example.com/reset?token=REDACTED' });

    castle.reset();
    await vigilWith(castleProvider({ apiSecret: SECRET, baseUrl: castle.url }), { headers: { allowlist: [...DEFAULT_ALLOWLIST, 'X-Custom-Thing'] } }).protect(request());
    const widened = (castle.requests[0]?.body as { context: { headers: Record<string, unknown> } } | undefined)?.context.headers;
    expect(widened).toMatchObject({ 'X-Custom-Thing': 'custom-visible-42', 'X-Auth-Token': true });
  });

  it('the embedded engine, which sends nothing out, still sees every header that is not a secret', async () => {
    let seen: ProviderEvent | undefined;
    const spy = async (event: ProviderEvent) => {
      seen = event;
      return { risk: 0 };
    };
    const vigil = vigilWith({ name: 'spy', filter: spy, risk: spy, log: async () => undefined });
    await vigil.protect(request());
    expect(seen?.context.headers).toMatchObject({ 'X-Custom-Thing': 'custom-visible-42', 'X-Auth-Token': true, 'X-Session-Id': true, 'X-Client-Secret': true });
  });
});
