import { describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import { VigilUnsupportedError } from '../errors.js';
import { localProvider } from '../providers/local.js';
import type { ProviderEvent } from '../providers/types.js';
import { MemoryStore } from '../stores/memory.js';
import { RecordingStore } from '../testing/recording.js';
import { createVigil } from '../vigil.js';
import { createDeviceCookies } from './device-cookie.js';
import { anonymizeIdentity } from './users.js';

const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
function request(overrides: Partial<RequestInfo> = {}): RequestInfo {
  return {
    method: 'POST',
    url: '/login',
    path: '/login',
    headers: { 'user-agent': CHROME, accept: 'application/json', 'accept-language': 'en', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty' },
    remoteAddress: '203.0.113.7',
    body: { email: 'Alice@Example.com' },
    ...overrides,
  };
}

describe('tracking calls', () => {
  it('trackLogin / trackSignup / trackCustom reach provider.log with Castle statuses', async () => {
    const events: ProviderEvent[] = [];
    const vigil = createVigil({ provider: { name: 'rec', filter: async () => ({ risk: 0 }), risk: async () => ({ risk: 0 }), log: async (e) => void events.push(e) } });
    await vigil.trackLogin(request(), { success: false, email: 'a@example.com', userExists: false });
    await vigil.trackLogin(request(), { success: true, userId: 'u1' });
    await vigil.trackSignup(request(), { email: 'new@example.com' });
    await vigil.trackCustom(request(), 'export_data', { rows: 10 });
    expect(events.map((e) => [e.type, e.status, e.name])).toEqual([
      ['$login', '$failed', undefined],
      ['$login', '$succeeded', undefined],
      ['$registration', '$succeeded', undefined],
      ['$custom', '$succeeded', 'export_data'],
    ]);
    expect(events[0]?.properties).toEqual({ user_exists: false });
    expect(events[0]?.context.ip).toBe('203.0.113.7');
    expect(events[3]?.properties).toEqual({ rows: 10 });
  });

  it('a failing provider.log never throws out of a tracking call', async () => {
    const vigil = createVigil({ provider: { name: 'bad', filter: async () => ({ risk: 0 }), risk: async () => ({ risk: 0 }), log: async () => Promise.reject(new Error('down')) } });
    await expect(vigil.trackLogin(request(), { success: true, userId: 'u' })).resolves.toBeUndefined();
  });

  it('anonymize: identifiers reach the provider only as truncated SHA-256, emails keep their domain', async () => {
    const events: ProviderEvent[] = [];
    const vigil = createVigil({
      anonymize: true,
      routes: [{ path: '/login', event: '$login', user: { email: 'body.email' } }],
      provider: { name: 'rec', filter: async (e) => {
        events.push(e);
        return { risk: 0 };
      }, risk: async () => ({ risk: 0 }), log: async (e) => void events.push(e) },
    });
    await vigil.protect(request());
    await vigil.trackLogin(request(), { success: true, username: 'Alice', phone: '+1 (555) 010-0000', userId: 'u-7' });
    expect(events[0]?.user.email).toMatch(/^[0-9a-f]{32}@example\.com$/);
    expect(events[1]?.user).toMatchObject({ id: 'u-7', username: expect.stringMatching(/^[0-9a-f]{32}$/), phone: expect.stringMatching(/^[0-9a-f]{32}$/) });
    // The raw phone in any spelling, never a bare '555': the events carry random hex ids
    // (request id, device id), where three 5s in a row turn up in a few runs out of a hundred.
    expect(JSON.stringify(events)).not.toMatch(/alice|\(555\)|555\D?010|5550100000/i);
    expect(anonymizeIdentity({ email: 'ALICE@example.com ' })).toEqual(anonymizeIdentity({ email: 'alice@example.com' }));
  });
});

describe('identify and block lists (embedded engine)', () => {
  it('a blocked user is refused wherever identify is called, in blocking mode; monitoring only records it', async () => {
    const store = new MemoryStore({ maxKeys: 10_000 });
    const blocking = createVigil({ mode: 'blocking', provider: localProvider({ store }) });
    const monitoring = createVigil({ mode: 'monitoring', provider: localProvider({ store }) });
    const elsewhere = request({ path: '/account', url: '/account', method: 'GET' });
    expect((await blocking.identify(elsewhere, { id: 'u-1' })).blocked).toBe(false);
    await blocking.blockUser('u-1', { reason: 'fraud ring' });
    const refused = await blocking.identify(elsewhere, { id: 'u-1', plan: 'pro' });
    expect(refused.blocked).toBe(true);
    expect(refused.decision).toMatchObject({ action: 'block', wouldBlock: true, route: 'identify' });
    expect(refused.decision.reasons[0]).toMatch(/fraud ring/);
    expect(blocking.respond(refused.decision, 'text/html')?.status).toBe(403);
    const observed = await monitoring.identify(elsewhere, { id: 'u-1' });
    expect(observed).toMatchObject({ blocked: true, decision: { action: 'allow', wouldBlock: true } });
    expect(await blocking.listBlockedUsers()).toEqual([{ id: 'u-1', reason: 'fraud ring', at: expect.any(String) }]);
    await blocking.unblockUser('u-1');
    expect((await blocking.identify(elsewhere, { id: 'u-1' })).blocked).toBe(false);
    expect(await blocking.listBlockedUsers()).toEqual([]);
  });

  it('a block with a ttl lapses', async () => {
    const vigil = createVigil({ mode: 'blocking', provider: localProvider({ store: new MemoryStore({ maxKeys: 1000 }) }) });
    await vigil.blockUser('u-2', { ttl: 30 });
    expect((await vigil.identify(request(), { id: 'u-2' })).blocked).toBe(true);
    await new Promise((r) => setTimeout(r, 60));
    expect((await vigil.identify(request(), { id: 'u-2' })).blocked).toBe(false);
  });

  it('providers without block lists say so with VigilUnsupportedError', async () => {
    const vigil = createVigil({ provider: async () => ({ risk: 0 }) });
    await expect(Promise.resolve().then(() => vigil.blockUser('u'))).rejects.toBeInstanceOf(VigilUnsupportedError);
    expect((await vigil.identify(request(), { id: 'u' })).blocked).toBe(false);
  });
});

describe('device cookies', () => {
  it('signs device ids; a tampered or forged cookie counts as no device and a new one is issued', async () => {
    const cookies = createDeviceCookies({ secret: 'a-long-enough-secret-value' });
    const issued = cookies.issue(request({ protocol: 'https' }));
    expect(issued.setCookie).toMatch(/^vigil_did=[0-9a-f]{32}\.[\w-]+; Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax; Secure$/);
    const value = issued.setCookie.split(';')[0]?.split('=')[1] as string;
    expect(cookies.read(request({ headers: { cookie: `a=b; vigil_did=${value}` } }))).toBe(issued.id);
    const tampered = `${value.slice(0, 5)}${value[5] === 'a' ? 'b' : 'a'}${value.slice(6)}`;
    expect(cookies.read(request({ headers: { cookie: `vigil_did=${tampered}` } }))).toBeUndefined();
    expect(cookies.read(request({ cookies: { vigil_did: 'forged.signature' } }))).toBeUndefined();
    const other = createDeviceCookies({ secret: 'another-long-secret-value' });
    expect(other.read(request({ headers: { cookie: `vigil_did=${value}` } }))).toBeUndefined();
  });

  it('protected responses carry the cookie (appended to the provider’s own headers); devices are recorded per user', async () => {
    const store = new RecordingStore();
    const vigil = createVigil({
      deviceCookie: { secret: 'a-long-enough-secret-value' },
      routes: [{ path: '/login', event: '$login', user: { email: 'body.email', id: 'body.userId' } }],
      provider: localProvider({ store, secret: 'engine-secret-0123456789' }),
    });
    const first = await vigil.protect(request({ body: { email: 'alice@example.com', userId: 'u-9' } }));
    const setCookie = first.responseHeaders['set-cookie'] as readonly string[];
    expect(setCookie).toHaveLength(1);
    const cookie = (setCookie[0] as string).split(';')[0] as string;
    vigil.logOutcome(first, 200);
    const again = await vigil.protect(request({ headers: { ...request().headers, cookie }, body: { email: 'alice@example.com', userId: 'u-9' } }));
    expect(again.responseHeaders['set-cookie']).toBeUndefined();
    vigil.logOutcome(again, 200);
    await new Promise((r) => setTimeout(r, 20));
    const devices = (await vigil.getDevicesForUser('u-9')) as { id: string; ips: string[]; approved: boolean }[];
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ ips: ['203.0.113.7'], approved: false, reported: false, userAgent: CHROME });
    await vigil.approveDevice(devices[0]?.id as string);
    expect(((await vigil.getDevicesForUser('u-9')) as { approved: boolean }[])[0]?.approved).toBe(true);
    await vigil.reportDevice(devices[0]?.id as string, { reason: 'stolen laptop' });
    expect((await vigil.identify(request({ headers: { ...request().headers, cookie } }), { id: 'someone-else' })).blocked).toBe(true);
    // No raw identifier reached the store, in any key, member or value.
    expect(store.strings.join('\n')).not.toMatch(/alice|example\.com/i);
    await vigil.close();
  });
});

describe('request handles (what adapters hang on the request)', () => {
  it('reads through to the decision and identifies with enforcement', async () => {
    const { createHandle } = await import('./handle.js');
    const vigil = createVigil({ mode: 'blocking', provider: localProvider({ store: new MemoryStore({ maxKeys: 1000 }) }) });
    await vigil.blockUser('u-1');
    const decision = await vigil.protect(request({ path: '/elsewhere', url: '/elsewhere' }));
    const sent: number[] = [];
    let built = 0;
    const handle = createHandle(vigil, decision, () => (built++, request()), {
      appendHeader: () => {},
      send: (r) => void sent.push(r.status),
      headersSent: () => false,
      raw: {},
    });
    expect(handle.protected).toBe(false);
    expect(handle.decision).toBe(decision);
    expect(built).toBe(0);
    expect(await handle.identify({ id: 'u-2' })).toMatchObject({ blocked: false, handled: false });
    expect(await handle.identify({ id: 'u-1' })).toMatchObject({ blocked: true, handled: true });
    expect(sent).toEqual([403]);
    expect(built).toBe(1);
  });
});

describe('cookies', () => {
  it('parseCookieHeader: first of a repeated name, decoded, unquoted, __proto__ just a name, oversized ignored', async () => {
    const { parseCookieHeader, readCookie } = await import('./device-cookie.js');
    const cookies = parseCookieHeader('a=1; a=2; b="x y"; c=%E2%82%AC; __proto__=p; bad=%zz');
    expect([cookies.a, cookies.b, cookies.c, cookies.bad]).toEqual(['1', 'x y', '€', '%zz']);
    expect(Object.hasOwn(cookies, '__proto__') && cookies.__proto__).toBe('p');
    expect(({} as Record<string, unknown>).p).toBeUndefined();
    expect(parseCookieHeader(`a=${'x'.repeat(17_000)}`)).toEqual({});
    expect(readCookie(request({ headers: { cookie: 'sid=abc' } }), 'sid')).toBe('abc');
    expect(readCookie(request({ cookies: { sid: 'parsed' }, headers: { cookie: 'sid=abc' } }), 'sid')).toBe('parsed');
  });
});
