// What every benchmark server shares: Vigil's configuration per variant and the ready line.
import { localProvider, MemoryStore } from '@vigil/core';

export const LOGIN_ROUTE = { method: 'POST', path: '/api/login', event: '$login', user: { email: 'body.email' } };

/**
 * Vigil's options for a variant: `vigil-unprotected` protects another route (the
 * benchmarked one passes through), `vigil-memory` scores every request with the embedded
 * engine and a MemoryStore (`vigil-returning` is the same server: its client returns the
 * device cookie), `vigil-redis` the same with a RedisStore on loopback, `vigil-instant`
 * protects the route with a provider that answers at once and no device cookie (the
 * adapter's and pipeline's own cost). Always monitoring mode: every request scored, none
 * blocked.
 */
export async function vigilOptions(variant) {
  if (variant === 'vigil-instant') {
    const instant = { name: 'instant', inProcess: true, filter: () => ({ risk: 0.1 }), risk: () => ({ risk: 0.1 }), log: () => undefined };
    return { mode: 'monitoring', deviceCookie: false, routes: [LOGIN_ROUTE], provider: instant };
  }
  if (variant === 'vigil-unprotected') {
    return { mode: 'monitoring', routes: [{ ...LOGIN_ROUTE, path: '/api/other' }], provider: localProvider({ store: new MemoryStore() }) };
  }
  if (variant === 'vigil-redis') {
    const { RedisStore } = await import('@vigil/redis');
    const prefix = `vigil-bench:${process.pid}:`;
    const store = new RedisStore({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', prefix });
    // Leave the shared Redis as it was found: the run's keys go when the server stops.
    cleanup = async () => {
      let cursor = '0';
      do {
        const [next, keys] = await store.client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await store.client.del(...keys);
      } while (cursor !== '0');
      await store.close();
    };
    return { mode: 'monitoring', routes: [LOGIN_ROUTE], provider: localProvider({ store, secret: 'benchmark-secret-0123456789' }) };
  }
  // vigil-memory and vigil-returning: the same server; the client decides whether it returns its device cookie.
  return { mode: 'monitoring', routes: [LOGIN_ROUTE], provider: localProvider({ store: new MemoryStore() }) };
}

let cleanup = async () => {};

/** Stops the server's process on SIGTERM, after removing what it put in Redis. */
export function exitOnTerm() {
  process.on('SIGTERM', () => {
    cleanup()
      .catch(() => undefined)
      .finally(() => process.exit(0));
  });
}

/** Prints the line the driver waits for. */
export function ready(port) {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid }));
}
