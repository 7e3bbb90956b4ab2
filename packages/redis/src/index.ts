/**
 * @vigil/redis: the embedded engine's store on Redis, so that a fleet of app instances
 * decides as one.
 *
 * @example
 * import { createVigil, localProvider } from '@vigil/core'
 * import { RedisStore } from '@vigil/redis'
 *
 * const store = new RedisStore({ url: 'redis://127.0.0.1:6379' })
 * const vigil = createVigil({ provider: localProvider({ store, secret: process.env.VIGIL_SECRET }), routes })
 */

export type { KeyLayout } from './batch.js';
export type { RedisStoreOptions } from './options.js';
export { type RedisFailureReason, RedisStore, RedisStoreError, type RedisStoreStats } from './redis-store.js';

/**
 * Version of this package, kept in step with package.json.
 *
 * @example
 * import { VERSION } from '@vigil/redis'
 * logger.info({ vigilRedis: VERSION })
 */
export const VERSION = '0.1.0';
