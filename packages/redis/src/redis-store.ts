import { createIncidentTracker, type IncidentTracker, type Logger, silentLogger, type Store, type StoreOp, type StoreResult } from '@vigil/core';
import { type Cluster, Redis } from 'ioredis';
import { BATCH_SCRIPT, compileBatch, decodeReply, decodeValue, type KeyLayout, keyLayout } from './batch.js';
import { compileOptions, type RedisStoreOptions } from './options.js';

/**
 * Why a batch did not run on Redis.
 *
 * @example
 * const retryable = (reason: RedisFailureReason) => reason === 'timeout' || reason === 'unavailable'
 */
export type RedisFailureReason = 'timeout' | 'unavailable' | 'error' | 'closed';

/**
 * What `RedisStore.execute` rejects with when Redis cannot answer (without a
 * `fallback`). The embedded engine turns it into a failover (`failoverReason:
 * 'store error'`); `cause` holds the ioredis error, when there is one.
 *
 * @example
 * try { await store.execute(ops) } catch (err) {
 *   if (err instanceof RedisStoreError && err.reason === 'timeout') metrics.increment('vigil.redis.timeout')
 * }
 */
export class RedisStoreError extends Error {
  /** `timeout` (no answer within `commandTimeout`), `unavailable` (not connected), `error` (Redis answered an error), `closed`. */
  readonly reason: RedisFailureReason;
  constructor(reason: RedisFailureReason, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RedisStoreError';
    this.reason = reason;
  }
}

/**
 * Counters of a {@link RedisStore}, for metrics: read `store.stats` whenever you
 * scrape.
 *
 * @example
 * setInterval(() => {
 *   const { failures, fallbacks, failing } = store.stats
 *   metrics.gauge('vigil.redis.failing', failing ? 1 : 0)
 *   metrics.gauge('vigil.redis.failures', failures)
 *   metrics.gauge('vigil.redis.fallbacks', fallbacks)
 * }, 10_000).unref()
 */
export interface RedisStoreStats {
  /** Batches Redis answered. */
  batches: number;
  /** Batches Redis did not answer: errors, timeouts, and batches refused while disconnected. */
  failures: number;
  /** Of `failures`, those that hit `commandTimeout`. */
  timeouts: number;
  /** Batches run on the `fallback` store instead. */
  fallbacks: number;
  /**
   * Incidents: times Redis went from answering to failing, one warning each. An
   * incident ends only once Redis has answered for `incidentQuietMs` without a failure,
   * so a flapping Redis (at its `maxmemory`, say) is one incident.
   */
  incidents: number;
  /** Whether Redis is failing right now: the last batch sent to it failed. */
  failing: boolean;
}

// Connection states in which the client is on its way to `ready`.
const STARTING = new Set(['wait', 'connecting', 'connect']);
const COMMAND = 'vigilStoreBatch';
// After a batch timed out, batches skip Redis (fail over, or use the fallback) for this
// long before one checks again: a slow Redis must not cost every request the timeout.
const RETRY_AFTER_TIMEOUT_MS = 1_000;

type BatchCommand = (numberOfKeys: number, ...args: (string | number)[]) => Promise<unknown>;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Escapes Redis glob characters, so that a literal prefix matches only itself in SCAN. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The engine's store on Redis, for a fleet: every instance sharing one Redis (or Redis
 * Cluster, Valkey, a managed Redis) and one `prefix` decides as one instance would.
 * Same semantics as `MemoryStore` (the shared contract suite runs against both).
 *
 * - One round trip per decision: the batch runs as one Lua script, sent with EVAL once
 *   per connection and EVALSHA after (ioredis `defineCommand`, reloaded on NOSCRIPT);
 *   counters are atomic (HINCRBY), distinct counts are HyperLogLogs, and every key
 *   written for a decision expires after two windows.
 * - Redis trouble is not an outage: a batch that fails, times out (`commandTimeout`) or
 *   meets a disconnected client rejects at once, so the decision fails over (or runs on
 *   `fallback`). One warning per incident, a summary a minute while it lasts, one line
 *   when it is over; `stats` for metrics. While Redis fails, one
 *   batch at a time checks whether it is back (none for a second after a timeout); the
 *   others do not wait.
 *
 * @example
 * import { createVigil, localProvider, MemoryStore } from '@vigil/core'
 * import { RedisStore } from '@vigil/redis'
 *
 * const store = new RedisStore({ url: process.env.REDIS_URL, fallback: new MemoryStore(), logger })
 * const vigil = createVigil({
 *   mode: 'blocking',
 *   routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
 *   provider: localProvider({ store, secret: process.env.VIGIL_SECRET }),
 * })
 * // on shutdown:
 * await vigil.close()
 * await store.close()
 */
export class RedisStore implements Store {
  readonly name = 'redis';
  /** Every instance of a fleet shares it: the engine requires a common `secret` over it. */
  readonly shared = true;
  /** The ioredis client in use: the one given, or the one created from `url`. */
  readonly client: Redis | Cluster;
  /**
   * Where keys live; see the README's "Key layout".
   *
   * @example
   * store.layout.counter('v:ip:203.0.113.7:fail') // 'vigil:{vigil}:c:v:ip:203.0.113.7:fail'
   */
  readonly layout: KeyLayout;
  readonly #owns: boolean;
  readonly #timeout: number;
  readonly #fallback: Store | undefined;
  readonly #logger: Logger | undefined;
  readonly #batch: BatchCommand;
  readonly #stats = { batches: 0, failures: 0, timeouts: 0, fallbacks: 0 };
  readonly #incidents: IncidentTracker;
  // Whether the last batch sent to Redis failed: while it did, batches do not wait for
  // a connection and one at a time checks whether Redis is back.
  #failing = false;
  #probing = false;
  #lastTimeout = Number.NEGATIVE_INFINITY;
  #closed = false;
  #connecting: Promise<void> | undefined;

  constructor(options: RedisStoreOptions) {
    const config = compileOptions(options);
    this.layout = keyLayout(config.prefix, config.hashTag);
    this.#timeout = config.commandTimeout;
    this.#fallback = config.fallback;
    this.#logger = config.logger;
    const fallback = config.fallback?.name;
    this.#incidents = createIncidentTracker({
      logger: config.logger ?? silentLogger,
      codes: { start: 'VIGIL_W_REDIS_UNAVAILABLE', ongoing: 'VIGIL_W_REDIS_STILL_UNAVAILABLE', end: 'VIGIL_I_REDIS_RECOVERED' },
      fields: { store: this.name },
      subject: 'Redis',
      quietMs: config.incidentQuietMs,
      startMessage: (reason) =>
        fallback === undefined
          ? `Redis is failing (${reason}): decisions fail over until it answers again; a summary follows every minute while it lasts`
          : `Redis is failing (${reason}): counting in the fallback store (${fallback}) until it answers again; a summary follows every minute while it lasts`,
    });
    if (config.client) {
      this.client = config.client;
      this.#owns = false;
    } else {
      this.client = new Redis(config.url as string, {
        // Fail fast: a command while disconnected is refused at once (no queue growing
        // with traffic), a command cut by a disconnect fails instead of being replayed
        // minutes later, and the decision fails over. Reconnection stays automatic.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        // A connection that answers nothing for this long while commands wait is dead
        // (a network partition sends no RST): drop it and reconnect.
        socketTimeout: Math.max(5_000, 4 * config.commandTimeout),
        connectionName: 'vigil',
        // Batches issued in the same turn of the event loop (the decisions of concurrent
        // requests, their outcomes) leave in one write and share one round trip.
        enableAutoPipelining: true,
        ...config.redisOptions,
      });
      this.#owns = true;
      // Connection errors reach us through failed batches; without a listener ioredis
      // would print each reconnection attempt's error to the console.
      this.client.on('error', (error: unknown) => this.#log('debug', { code: 'VIGIL_D_REDIS_CONNECTION', err: message(error) }, 'Redis connection error'));
    }
    this.client.defineCommand(COMMAND, { lua: BATCH_SCRIPT });
    const command = (this.client as unknown as Record<string, BatchCommand>)[COMMAND] as BatchCommand;
    this.#batch = command.bind(this.client);
  }

  /**
   * A snapshot of the store's counters; see {@link RedisStoreStats}.
   *
   * @example
   * if (store.stats.failing) console.warn('Vigil is deciding without Redis')
   */
  get stats(): RedisStoreStats {
    return { ...this.#stats, incidents: this.#incidents.incidents, failing: this.#failing };
  }

  async execute(ops: readonly StoreOp[], now: number = Date.now()): Promise<StoreResult[]> {
    if (ops.length === 0) return [];
    // A malformed operation is the caller's bug, not a Redis failure: it throws before
    // anything is sent and counts nowhere.
    const batch = compileBatch(ops, now, this.layout);
    let reply: unknown;
    try {
      if (this.#closed) throw new RedisStoreError('closed', 'the RedisStore is closed');
      reply = await this.#send(batch.keys, batch.args);
    } catch (error) {
      const failure = error instanceof RedisStoreError ? error : new RedisStoreError('error', `Redis answered an error: ${message(error)}`, error);
      if (failure.reason !== 'closed') this.#failed(failure);
      if (this.#fallback === undefined || failure.reason === 'closed') throw failure;
      this.#stats.fallbacks++;
      return this.#fallback.execute(ops, now);
    }
    this.#stats.batches++;
    this.#failing = false;
    this.#incidents.success();
    return decodeReply(ops, reply, now);
  }

  /**
   * Lists the keys with this prefix that hold live values (block lists, not counters),
   * with SCAN: for admin pages, never on the request path. On a Cluster, every master
   * is scanned.
   *
   * @example
   * const blocked = await store.keys('b:user:') // ['b:user:42', ...]
   */
  async keys(prefix: string): Promise<string[]> {
    const clientPrefix = (this.client.options as { keyPrefix?: string }).keyPrefix ?? '';
    const start = this.layout.value('');
    const pattern = `${globEscape(clientPrefix + start + prefix)}*`;
    const nodes = (this.client as Cluster).isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    const found = new Set<string>();
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        for (const key of batch) found.add(key.slice(clientPrefix.length));
      } while (cursor !== '0');
    }
    const names = [...found];
    const now = Date.now();
    const live: string[] = [];
    for (let i = 0; i < names.length; i += 500) {
      const chunk = names.slice(i, i + 500);
      const values = await this.client.mget(...chunk);
      chunk.forEach((name, j) => {
        if (decodeValue(values[j], now) !== null) live.push(name.slice(start.length));
      });
    }
    return live;
  }

  /**
   * Stops using Redis. Closes the connection the store created from `url`; a client
   * you passed stays open (it is yours). The fallback store is not closed either.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.client;
    if (!this.#owns || client.status === 'end') return;
    let timer: NodeJS.Timeout | undefined;
    const ended = new Promise<void>((resolve) => {
      client.once('end', resolve);
      timer = setTimeout(resolve, this.#timeout);
    });
    try {
      // QUIT lets the replies already on their way arrive; the connection then ends.
      await client.quit();
    } catch {
      // Not connected: nothing to say goodbye to.
    }
    if ((client.status as string) !== 'end') client.disconnect();
    await ended;
    clearTimeout(timer);
  }

  async #send(keys: string[], args: (string | number)[]): Promise<unknown> {
    const client = this.client;
    const deadline = Date.now() + this.#timeout;
    if (client.status !== 'ready') {
      // While the client connects (at start-up, or reconnecting before any batch
      // failed) a batch waits for it, within the timeout; during an incident nothing
      // waits: the batch fails at once.
      if (this.#failing || !STARTING.has(client.status)) throw new RedisStoreError('unavailable', `Redis is not connected (${client.status})`);
      await this.#withTimeout(this.#waitForReady(), deadline);
    } else if (this.#failing) {
      // Redis looks connected but has been failing (slow, say): one batch at a time
      // finds out whether it is back, and not sooner than a second after a timeout; the
      // others fail at once instead of each waiting the whole timeout.
      if (this.#probing || Date.now() - this.#lastTimeout < RETRY_AFTER_TIMEOUT_MS) {
        throw new RedisStoreError('unavailable', 'Redis is failing; waiting before checking whether it is back');
      }
      this.#probing = true;
      try {
        return await this.#withTimeout(this.#batch(keys.length, ...keys, ...args), deadline);
      } finally {
        this.#probing = false;
      }
    }
    return this.#withTimeout(this.#batch(keys.length, ...keys, ...args), deadline);
  }

  async #withTimeout<T>(work: Promise<T>, deadline: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisStoreError('timeout', `Redis did not answer within ${this.#timeout} ms`)), Math.max(0, deadline - Date.now()));
    });
    try {
      // race() also handles a late rejection of `work`: it cannot go unhandled.
      return await Promise.race([work, expired]);
    } catch (error) {
      if (error instanceof RedisStoreError) throw error;
      throw new RedisStoreError('error', `Redis answered an error: ${message(error)}`, error);
    } finally {
      clearTimeout(timer);
    }
  }

  #waitForReady(): Promise<void> {
    if (this.#connecting) return this.#connecting;
    const client = this.client;
    const waiting = new Promise<void>((resolve, reject) => {
      const settle = (error?: Error) => {
        client.off('ready', onReady);
        client.off('close', onClose);
        client.off('end', onClose);
        this.#connecting = undefined;
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => settle();
      const onClose = () => settle(new RedisStoreError('unavailable', 'Redis closed the connection before it was ready'));
      client.on('ready', onReady);
      client.on('close', onClose);
      client.on('end', onClose);
    });
    // Nobody may be waiting any more when it settles: that must not be an unhandled rejection.
    waiting.catch(() => undefined);
    this.#connecting = waiting;
    if (client.status === 'wait') client.connect().catch(() => undefined);
    return waiting;
  }

  #failed(failure: RedisStoreError): void {
    this.#stats.failures++;
    if (failure.reason === 'timeout') {
      this.#stats.timeouts++;
      this.#lastTimeout = Date.now();
    }
    this.#failing = true;
    // With a fallback the batch still runs: no request goes without its counts.
    this.#incidents.failure(failure.reason, { requests: this.#fallback === undefined ? 1 : 0, details: { err: failure.message, fallback: this.#fallback?.name } });
  }

  #log(level: 'debug', details: object, text: string): void {
    try {
      const logger = this.#logger;
      const fn = logger?.[level];
      if (typeof fn === 'function') fn.call(logger, details, text);
    } catch {
      // A broken logger must not break a decision.
    }
  }
}
