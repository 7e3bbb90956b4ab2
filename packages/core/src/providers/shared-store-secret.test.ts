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

  it('deviceCookie without a secret over a shared store: VIGIL_E_SECRET_REQUIRED; alone in one process it stays a random key', () => {
    const provider = localProvider({ store: sharedStore(), secret: 'fleet-secret-0123456789' });
    for (const deviceCookie of [true as const, {}, { secret: undefined }]) {
      const error = configError(() => createVigil({ provider, deviceCookie }));
      expect(error).toMatchObject({ code: 'VIGIL_E_SECRET_REQUIRED', option: 'deviceCookie.secret', value: undefined });
      expect(error.message).toContain('while the store ("fleet") is shared');
    }
    expect(() => createVigil({ provider, deviceCookie: { secret: 'device-secret-0123456789' } })).not.toThrow();
    expect(() => createVigil({ deviceCookie: true })).not.toThrow();
  });
});
