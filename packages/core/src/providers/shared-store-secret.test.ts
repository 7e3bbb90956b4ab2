import { describe, expect, it } from 'vitest';
import { VigilConfigError } from '../errors.js';
import { MemoryStore } from '../stores/memory.js';
import type { Store } from '../stores/types.js';
import { createVigil } from '../vigil.js';
import { localProvider } from './local.js';

// DESIGN.md, Identity and PII: "A fleet sharing a store must share the engine's
// secret: a shared store without one is a start-up error." Without it each instance
// keys emails with its own random key, and per-account counters silently stop adding up.

/** A store that says it is shared, as RedisStore does (tested through the real one in @vigil/redis). */
function sharedStore(): Store {
  const memory = new MemoryStore();
  return { name: 'fleet', shared: true, execute: (ops, now) => memory.execute(ops, now) };
}

function configError(fn: () => unknown): VigilConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof VigilConfigError) return error;
    throw error;
  }
  throw new Error('no VigilConfigError was thrown');
}

describe('a shared store needs a shared secret', () => {
  it('localProvider over a shared store without secret: VIGIL_E_SECRET_REQUIRED naming the option, the value and the fix', () => {
    const error = configError(() => localProvider({ store: sharedStore() }));
    expect(error).toMatchObject({ code: 'VIGIL_E_SECRET_REQUIRED', option: 'secret', value: undefined });
    expect(error.message).toBe(
      'VIGIL_E_SECRET_REQUIRED: secret is undefined, while the store ("fleet") is shared by every instance, which must key identifiers alike. Pass the same `secret` to every instance, e.g. from an environment variable: localProvider({ store, secret: process.env.VIGIL_SECRET }) (a long random string, e.g. from `openssl rand -base64 32`).',
    );
    // An unset environment variable is the usual way to get there.
    expect(configError(() => localProvider({ store: sharedStore(), secret: process.env.VIGIL_TEST_UNSET_SECRET })).code).toBe('VIGIL_E_SECRET_REQUIRED');
  });

  it('with a secret, or over a store private to the process, there is nothing to complain about', () => {
    expect(localProvider({ store: sharedStore(), secret: 'fleet-secret-0123456789' }).store.shared).toBe(true);
    expect(() => localProvider({ store: new MemoryStore() })).not.toThrow();
    expect(() => localProvider()).not.toThrow();
    expect(() => createVigil()).not.toThrow();
  });

  it('deviceCookie with an empty secret: VIGIL_E_SECRET_REQUIRED, with any store', () => {
    const error = configError(() => createVigil({ deviceCookie: { secret: '' } }));
    expect(error).toMatchObject({ code: 'VIGIL_E_SECRET_REQUIRED', option: 'deviceCookie.secret', value: '' });
    expect(error.message).toContain('Pass the same `secret` to every instance, e.g. from an environment variable');
  });

  it('the device cookie (on by default) over a shared store with no key the fleet shares: VIGIL_E_SECRET_REQUIRED naming the engine\'s secret as the fix', () => {
    // A provider over the shared store that gives the cookie no key (deviceCookieKey()
    // absent or undefined): each instance would sign with its own random key.
    const keyless = { name: 'keyless', store: sharedStore(), filter: async () => ({ risk: 0 }), risk: async () => ({ risk: 0 }), log: async () => {} };
    for (const deviceCookie of [undefined, true as const, {}, { secret: undefined }]) {
      const error = configError(() => createVigil({ provider: keyless, ...(deviceCookie === undefined ? {} : { deviceCookie }) }));
      expect(error).toMatchObject({ code: 'VIGIL_E_SECRET_REQUIRED', option: 'deviceCookie.secret', value: undefined });
      expect(error.message).toContain('while the store ("fleet") is shared');
      expect(error.message).toContain("the engine's, localProvider({ store, secret: process.env.VIGIL_SECRET }), signs the device cookie too");
    }
    expect(() => createVigil({ provider: { ...keyless, deviceCookieKey: () => Buffer.alloc(32, 5) } })).not.toThrow();
    expect(() => createVigil({ provider: keyless, deviceCookie: { secret: 'device-secret-0123456789' } })).not.toThrow();
    // The built-in challenge needs the shared key too: without the cookie's, its own.
    expect(() => createVigil({ provider: keyless, deviceCookie: false })).toThrow(/VIGIL_E_SECRET_REQUIRED: challenge\.secret/);
    expect(() => createVigil({ provider: keyless, deviceCookie: false, challenge: false })).not.toThrow();
    expect(() => createVigil({ deviceCookie: true })).not.toThrow();
  });

  // The embedded engine gives the cookie a key derived from its `secret`
  // (Provider.deviceCookieKey): one secret keys a fleet's identifiers and its cookies.
  // Runs once the engine has deviceCookieKey().
  it.skipIf(typeof localProvider().deviceCookieKey !== 'function')("the engine's secret covers the cookie: instances sharing it verify each other's cookies; another secret does not", async () => {
    const store = sharedStore();
    const routes = [{ method: 'POST', path: '/login', event: '$login' as const, user: { email: 'body.email' } }];
    const instance = (secret: string) => createVigil({ routes, provider: localProvider({ store, secret }) });
    const request = (cookie?: string) => ({
      method: 'POST',
      url: '/login',
      path: '/login',
      headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0', ...(cookie ? { cookie } : {}) },
      remoteAddress: '203.0.113.9',
      body: { email: 'ann@example.com' },
    });
    const a = instance('fleet-secret-0123456789');
    const first = await a.protect(request());
    const setCookie = [first.responseHeaders['set-cookie'] ?? []].flat()[0] as string;
    expect(setCookie).toMatch(/^vigil_did=/);
    const cookie = setCookie.split(';')[0] as string;
    const b = await instance('fleet-secret-0123456789').protect(request(cookie));
    expect(b.responseHeaders['set-cookie']).toBeUndefined();
    expect(b.device).toEqual(first.device);
    const other = await instance('another-secret-0123456789').protect(request(cookie));
    expect(other.responseHeaders['set-cookie']).toBeDefined();
    // The key is derived, never the secret itself.
    expect(localProvider({ secret: 'fleet-secret-0123456789' }).deviceCookieKey?.()?.toString('utf8')).not.toContain('fleet-secret-0123456789');
  });
});
