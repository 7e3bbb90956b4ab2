// What every benchmark server shares: Vigil's configuration per variant and the ready line.
import { localProvider, MemoryStore } from '@vigil/core';

export const LOGIN_ROUTE = { method: 'POST', path: '/api/login', event: '$login', user: { email: 'body.email' } };

/**
 * Vigil's options for a variant: `vigil-unprotected` protects another route (the
 * benchmarked one passes through), `vigil-memory` scores every request with the embedded
 * engine and a MemoryStore, `vigil-redis` the same with a RedisStore on loopback. Always
 * monitoring mode: every request scored, none blocked.
 */
export async function vigilOptions(variant) {
  if (variant === 'vigil-unprotected') {
    return { mode: 'monitoring', routes: [{ ...LOGIN_ROUTE, path: '/api/other' }], provider: localProvider({ store: new MemoryStore() }) };
  }
  if (variant === 'vigil-redis') {
    const { RedisStore } = await import('@vigil/redis');
    const store = new RedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix: `vigil-bench:${process.pid}:` });
    return { mode: 'monitoring', routes: [LOGIN_ROUTE], provider: localProvider({ store, secret: 'benchmark-secret-0123456789' }) };
  }
  return { mode: 'monitoring', routes: [LOGIN_ROUTE], provider: localProvider({ store: new MemoryStore() }) };
}

/** Prints the line the driver waits for. */
export function ready(port) {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid }));
}
