import { checkKnownOptions, type Logger, type Store, VigilConfigError } from '@vigil/core';
import type { Cluster, Redis, RedisOptions } from 'ioredis';

/**
 * Options of {@link RedisStore}. Give `client` or `url`, not both.
 *
 * @example
 * const options: RedisStoreOptions = {
 *   url: 'rediss://default:secret@redis.internal:6380',
 *   prefix: 'shop:vigil:',
 *   commandTimeout: 200,
 *   fallback: new MemoryStore(),
 *   logger: pino(),
 * }
 */
export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` client you created and configured. The store uses
   * it as it is (its offline queue, retries and timeouts stay yours) and never closes
   * it. Give it `enableOfflineQueue: false` to fail fast while disconnected; the store's
   * own `commandTimeout` bounds every batch either way.
   */
  client?: Redis | Cluster;
  /**
   * `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS): the store creates
   * and owns a client (`close()` releases it), tuned to fail fast: no offline queue,
   * no retries per request, no replay of unanswered commands after a reconnect;
   * reconnection is automatic.
   */
  url?: string;
  /** Extra ioredis options for the client created from `url` (e.g. `tls`, `retryStrategy`). */
  redisOptions?: RedisOptions;
  /**
   * Start of every key name; different deployments (or apps) sharing a Redis need
   * different prefixes. Default `'vigil:'`.
   */
  prefix?: string;
  /**
   * The Redis Cluster hash tag every key carries (`<prefix>{<hashTag>}:…`), so that one
   * decision's keys live in one slot and its script can run there. Default `'vigil'`.
   * Give deployments sharing a cluster different tags to put them on different shards.
   */
  hashTag?: string;
  /**
   * Most ms one batch may take (connecting at start-up included) before it fails:
   * the decision then fails over, or runs on `fallback`. Keep it below Vigil's
   * `timeout` (default 1000 ms) so that a slow Redis is reported as a store error and
   * the fallback still has time to answer. Default 250.
   */
  commandTimeout?: number;
  /**
   * A store to run batches on while Redis fails (e.g. `new MemoryStore()`): the
   * instance keeps counting on its own instead of failing over, and goes back to Redis
   * as soon as it answers. Local counts are not merged back.
   */
  fallback?: Store;
  /**
   * Any pino-compatible logger: one warning when an incident starts, at most one
   * summary a minute while it lasts (failures, requests affected, by reason), one line
   * when it is over. Silent by default.
   */
  logger?: Logger;
  /**
   * How long Redis must answer without a failure before an incident is over (and
   * `VIGIL_I_REDIS_RECOVERED` logged), ms: a Redis that fails one batch in three (at its
   * `maxmemory`, say) is one incident, not one per failure. Decisions use Redis again
   * from its first answer either way. Default 10 000.
   */
  incidentQuietMs?: number;
}

export interface CompiledOptions {
  client: Redis | Cluster | undefined;
  url: string | undefined;
  redisOptions: RedisOptions;
  prefix: string;
  hashTag: string;
  commandTimeout: number;
  fallback: Store | undefined;
  logger: Logger | undefined;
  incidentQuietMs: number;
}

const KNOWN = ['client', 'url', 'redisOptions', 'prefix', 'hashTag', 'commandTimeout', 'fallback', 'logger', 'incidentQuietMs'];

function isClient(value: unknown): value is Redis | Cluster {
  const client = value as Partial<Redis> | null;
  return (
    client !== null &&
    typeof client === 'object' &&
    typeof client.defineCommand === 'function' &&
    typeof client.scan === 'function' &&
    typeof client.on === 'function' &&
    typeof client.status === 'string'
  );
}

/** Checks every option once, at construction: bad configuration fails at start-up, never on a request. */
export function compileOptions(options: RedisStoreOptions): CompiledOptions {
  if (options === null || typeof options !== 'object') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'RedisStore', options, 'which is not an options object', "Pass { url: 'redis://127.0.0.1:6379' } or { client: new Redis(...) }.");
  }
  // Core's check: a misspelt option gets a "Did you mean" hint, and a misspelt secret
  // never prints its value.
  checkKnownOptions(options, KNOWN, 'RedisStore');
  const { client, url } = options;
  if (client === undefined && url === undefined) {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'RedisStore.client', client, 'and so is url: the store has no Redis to talk to', "Pass url: 'redis://host:6379' (the store creates the client) or client: an ioredis Redis or Cluster instance.");
  }
  if (client !== undefined && url !== undefined) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'RedisStore.url', url, 'given together with client', 'Pass one of them: url to let the store create its client, or client to use yours.');
  }
  if (client !== undefined && !isClient(client)) {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'RedisStore.client', client, 'which is not an ioredis Redis or Cluster client', "Pass new Redis(...) or new Redis.Cluster([...]) from 'ioredis' (node-redis clients are not supported), or a url.");
  }
  if (url !== undefined) {
    let protocol: string | undefined;
    try {
      protocol = typeof url === 'string' ? new URL(url).protocol : undefined;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'redis:' && protocol !== 'rediss:') {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'RedisStore.url', url, 'which is not a redis:// or rediss:// URL', "Use e.g. 'redis://127.0.0.1:6379' or 'rediss://user:password@host:6380/0'.");
    }
  }
  const redisOptions = options.redisOptions;
  if (redisOptions !== undefined) {
    if (redisOptions === null || typeof redisOptions !== 'object' || Array.isArray(redisOptions)) {
      throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'RedisStore.redisOptions', redisOptions, 'which is not an object', 'Pass ioredis options, e.g. { tls: {} }.');
    }
    if (client !== undefined) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'RedisStore.redisOptions', redisOptions, 'given together with client, which it would not apply to', 'Configure the client you pass instead, or pass url with redisOptions.');
    }
  }
  const prefix = options.prefix ?? 'vigil:';
  if (typeof prefix !== 'string' || /[{}]/.test(prefix)) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'RedisStore.prefix', prefix, 'which is not a string without { and }', "Use e.g. 'vigil:' (the default) or 'myapp:vigil:'; the Cluster hash tag is the hashTag option.");
  }
  const hashTag = options.hashTag ?? 'vigil';
  if (typeof hashTag !== 'string' || hashTag === '' || /[{}]/.test(hashTag)) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'RedisStore.hashTag', hashTag, 'which is not a non-empty string without { and }', "Use e.g. 'vigil' (the default) or 'vigil-shop'.");
  }
  const commandTimeout = options.commandTimeout ?? 250;
  if (typeof commandTimeout !== 'number' || !Number.isFinite(commandTimeout) || commandTimeout <= 0) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'RedisStore.commandTimeout', commandTimeout, 'which is not a positive number of ms', "Use e.g. 250 (the default), below Vigil's own timeout.");
  }
  const fallback = options.fallback;
  if (fallback !== undefined && typeof (fallback as Partial<Store> | null)?.execute !== 'function') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'RedisStore.fallback', fallback, 'which is not a Store (it has no execute() method)', 'Pass e.g. new MemoryStore() from @vigil/core, or leave fallback out to fail over.');
  }
  const logger = options.logger;
  if (logger !== undefined && (logger === null || typeof logger !== 'object' || typeof logger.warn !== 'function' || typeof logger.error !== 'function')) {
    throw new VigilConfigError('VIGIL_E_LOGGER', 'RedisStore.logger', logger, 'which has no warn() and error() methods', 'Pass a pino-compatible logger (pino(), fastify.log, console) or leave logger out.');
  }
  const incidentQuietMs = options.incidentQuietMs ?? 10_000;
  if (typeof incidentQuietMs !== 'number' || !Number.isFinite(incidentQuietMs) || incidentQuietMs < 0) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'RedisStore.incidentQuietMs', incidentQuietMs, 'which is not a number of ms ≥ 0', 'Use e.g. 10000 (the default): an incident ends once Redis has answered for 10 s without a failure.');
  }
  return { client, url, redisOptions: redisOptions ?? {}, prefix, hashTag, commandTimeout, fallback, logger, incidentQuietMs };
}
