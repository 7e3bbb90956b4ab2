import { createHmac } from 'node:crypto';
import { checkKnownOptions } from '../config/options.js';
import { compileLimits, compileWeights, DEFAULT_LIMITS, DEFAULT_WEIGHTS, type LimitOptions, type Tiers, type VelocityLimits } from '../engine/config.js';
import { parseDevices } from '../engine/devices.js';
import { preloadDisposableDomains } from '../engine/email.js';
import { createEngine } from '../engine/engine.js';
import { IdentifierHasher } from '../engine/identifiers.js';
import { IpRangeSet } from '../engine/ip-ranges.js';
import { KEYS } from '../engine/keys.js';
import { type Clients, checkClients } from '../engine/native-apps.js';
import type { SignalName } from '../engine/signals.js';
import { VigilConfigError, VigilStoreError } from '../errors.js';
import { MemoryStore } from '../stores/memory.js';
import type { Store, StoreOp, StoreResult } from '../stores/types.js';
import type { BlockedUser, DeviceRecord } from '../tracking/users.js';
import { PLAIN_SIGNALS } from './plain-data.js';
import type { Provider, ProviderEvent } from './types.js';

export { DEFAULT_LIMITS, DEFAULT_WEIGHTS, type LimitOptions, type Tiers, type VelocityLimits };

/** Options of {@link localProvider}. */
export interface LocalProviderOptions {
  /** Where counters and block lists live. Default: a new `MemoryStore()`. */
  store?: Store;
  /**
   * Secret for the HMAC that keys emails, usernames and phones in the store. Every
   * instance of a fleet sharing a store needs the same one. Default: random per process.
   */
  secret?: string;
  /** IPs and CIDRs that skip velocity signals (your office, your monitoring). */
  allowIps?: string[];
  /** IPs and CIDRs always denied. */
  denyIps?: string[];
  /** Data-center ranges (code 13), as a list and/or a file with one CIDR per line. */
  datacenterRanges?: string[];
  datacenterRangesFile?: string;
  /** Open-proxy / VPN exit ranges (code 15), as a list and/or a file. */
  proxyRanges?: string[];
  proxyRangesFile?: string;
  /**
   * Expect Chromium's `Sec-Fetch-*` headers (Chromium ≥ 89). Chromium sends them only to
   * potentially trustworthy origins: `'auto'` (the default) expects them when the request
   * came over HTTPS (`RequestInfo.protocol`, as the framework sees it behind its trusted
   * proxies) or to a localhost / loopback `Host`, and not on `http://intranet:8080`;
   * `true` always, `false` never.
   */
  requireSecFetch?: boolean | 'auto';
  /**
   * Who the app's routes serve, for routes (and `createVigil`) that do not say:
   * `'browser'` (the default), `'app'` or `'any'`. See {@link Clients}.
   */
  clients?: Clients;
  /** Signal weights, 0..1 (0 turns a signal off). See the README's table. */
  weights?: Partial<Record<SignalName, number>>;
  /** Velocity limits; see {@link VelocityLimits}. Partial objects merge with the defaults. */
  limits?: LimitOptions;
}

/** The embedded engine as a provider, with the block-list operations it serves. */
export interface LocalProvider extends Provider {
  /** The store in use. */
  readonly store: Store;
  /** Refuses every event of this user id (`ttlMs`: for a while; default for good). */
  blockUser(userId: string, options?: { reason?: string; ttlMs?: number }): Promise<void>;
  /** Lifts a user block. */
  unblockUser(userId: string): Promise<void>;
  /** Marks a device as reported: its events are denied. */
  reportDevice(deviceId: string, options?: { reason?: string; ttlMs?: number }): Promise<void>;
  /** Marks a device as approved by its user: its events weigh less. */
  approveDevice(deviceId: string): Promise<void>;
  /** Whether the user of an `identify` call, or its device, is blocked. */
  identify(event: ProviderEvent): Promise<{ blocked: boolean; reason?: string }>;
  /** The users on the block list, from the store. */
  listBlockedUsers(): Promise<BlockedUser[]>;
  /** The devices the engine has seen a user log in (or sign up) from. */
  getDevicesForUser(userId: string): Promise<DeviceRecord[]>;
  /** The key that signs Vigil's device cookie, derived from `secret` (undefined without one). */
  deviceCookieKey(): Buffer | undefined;
}

const OPTION_KEYS = [
  'store',
  'secret',
  'allowIps',
  'denyIps',
  'datacenterRanges',
  'datacenterRangesFile',
  'proxyRanges',
  'proxyRangesFile',
  'requireSecFetch',
  'clients',
  'weights',
  'limits',
];

function ranges(list: string[] | undefined, file: string | undefined, option: string): IpRangeSet | undefined {
  const sets: IpRangeSet[] = [];
  if (list !== undefined) sets.push(IpRangeSet.from(list, option));
  if (file !== undefined) {
    if (typeof file !== 'string' || file === '') {
      throw new VigilConfigError('VIGIL_E_OPTION_TYPE', `${option}File`, file, 'which is not a file path', 'Pass the path of a text file with one CIDR per line.');
    }
    sets.push(IpRangeSet.fromFile(file, `${option}File`));
  }
  if (sets.length === 0) return undefined;
  if (sets.length === 1) return sets[0];
  const [a, b] = sets as [IpRangeSet, IpRangeSet];
  return { has: (ip: string) => a.has(ip) || b.has(ip) } as IpRangeSet;
}

/**
 * The embedded risk engine, Vigil's default provider: its rules (`engine/rules.ts`)
 * score `filter` / `risk` events from the request alone (declared automation, false
 * representation, IP lists, email) and from evidence in the store (per IP, range,
 * device, account and site-wide), and it learns from `log` outcomes (`engine/learn.ts`).
 * One decision is one store batch. Works offline, with no service. This function only
 * validates the options and adapts the engine to the provider interface.
 *
 * @example
 * const vigil = createVigil({
 *   mode: 'blocking',
 *   routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
 *   provider: localProvider({ secret: process.env.VIGIL_SECRET, denyIps: ['198.51.100.0/24'] }),
 * })
 */
export function localProvider(options: LocalProviderOptions = {}): LocalProvider {
  if (options === null || typeof options !== 'object') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'localProvider', options, 'which is not an object', 'Pass an options object or nothing.');
  }
  checkKnownOptions(options, OPTION_KEYS, '');
  if (options.secret !== undefined && (typeof options.secret !== 'string' || options.secret.length < 16)) {
    throw new VigilConfigError('VIGIL_E_OPTION_VALUE', 'secret', options.secret === undefined ? undefined : '(hidden)', 'which is not a string of at least 16 characters', 'Use a long random string shared by every instance, e.g. from `openssl rand -base64 32`.');
  }
  const store = options.store ?? new MemoryStore();
  const ownsStore = options.store === undefined;
  if (typeof store?.execute !== 'function') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'store', store, 'which has no execute() method', 'Pass a Store such as new MemoryStore() or new RedisStore(...).');
  }
  if ((store as Store).shared === true && options.secret === undefined) {
    // A random key per process would key each instance's emails differently: per-account
    // counters and block lists would silently stop adding up across the fleet.
    throw new VigilConfigError(
      'VIGIL_E_SECRET_REQUIRED',
      'secret',
      options.secret,
      `while the store ("${String(store.name)}") is shared by every instance, which must key identifiers alike`,
      'Pass the same `secret` to every instance, e.g. from an environment variable: localProvider({ store, secret: process.env.VIGIL_SECRET }) (a long random string, e.g. from `openssl rand -base64 32`).',
    );
  }
  if (options.requireSecFetch !== undefined && typeof options.requireSecFetch !== 'boolean' && options.requireSecFetch !== 'auto') {
    throw new VigilConfigError(
      'VIGIL_E_OPTION_VALUE',
      'requireSecFetch',
      options.requireSecFetch,
      "which is not 'auto', true or false",
      "Leave it out ('auto': expect Sec-Fetch-* from Chromium where it sends them, on HTTPS and localhost), or use true (always) or false (never).",
    );
  }
  const defaultClients = checkClients(options.clients, 'clients') ?? 'browser';
  const hasher = new IdentifierHasher(options.secret);
  const weights = compileWeights(options.weights);
  const limits = compileLimits(options.limits);
  const allowIps = options.allowIps === undefined ? undefined : IpRangeSet.from(options.allowIps, 'allowIps');
  const denyIps = options.denyIps === undefined ? undefined : IpRangeSet.from(options.denyIps, 'denyIps');
  const datacenter = ranges(options.datacenterRanges, options.datacenterRangesFile, 'datacenterRanges');
  const proxies = ranges(options.proxyRanges, options.proxyRangesFile, 'proxyRanges');
  preloadDisposableDomains();
  // The device cookie's key, derived from the engine's secret (never the secret itself):
  // a fleet sharing the secret verifies each other's cookies. No secret: none of its own.
  const cookieKey = options.secret === undefined ? undefined : createHmac('sha256', options.secret).update('vigil-device-cookie').digest();

  // A MemoryStore as it ships (its batches neither overridden nor wrapped) settles every
  // batch synchronously: the engine runs it at once (see engine/steps.ts), and so does run.
  const syncStore = store instanceof MemoryStore && store.execute === MemoryStore.prototype.execute && store.executeSync === MemoryStore.prototype.executeSync ? store : undefined;
  const runSync =
    syncStore === undefined
      ? undefined
      : (ops: StoreOp[], now: number): StoreResult[] => {
          if (ops.length === 0) return [];
          try {
            return syncStore.executeSync(ops, now);
          } catch (error) {
            throw new VigilStoreError(error);
          }
        };
  const run =
    runSync !== undefined
      ? async (ops: StoreOp[], now: number): Promise<StoreResult[]> => runSync(ops, now)
      : async (ops: StoreOp[], now: number): Promise<StoreResult[]> => {
          if (ops.length === 0) return [];
          try {
            return await store.execute(ops, now);
          } catch (error) {
            throw new VigilStoreError(error);
          }
        };

  const engine = createEngine({
    hasher,
    weights,
    limits,
    run,
    ...(runSync === undefined ? {} : { runSync }),
    uaOptions: { weights, requireSecFetch: options.requireSecFetch ?? 'auto' },
    defaultClients,
    ...(allowIps === undefined ? {} : { allowIps }),
    ...(denyIps === undefined ? {} : { denyIps }),
    ...(datacenter === undefined ? {} : { datacenter }),
    ...(proxies === undefined ? {} : { proxies }),
  });

  const requireId = (value: unknown, name: string) => {
    if (typeof value !== 'string' || value === '') throw new TypeError(`${name} must be a non-empty string`);
  };
  const requireTtl = (ttlMs: unknown) => {
    // NaN or a negative TTL would otherwise block for good (an expiry never reached) or not at all.
    if (ttlMs !== undefined && (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)) throw new RangeError('ttlMs must be a positive number of milliseconds');
  };
  const blockValue = (reason: string | undefined) => JSON.stringify({ reason: reason ?? '', at: new Date().toISOString() });

  const provider: LocalProvider = {
    name: 'local',
    store,
    // MemoryStore settles every batch at once: a decision never waits on I/O.
    inProcess: store instanceof MemoryStore,
    filter: engine.score,
    risk: engine.score,
    log: engine.learn,
    deviceCookieKey: () => (cookieKey === undefined ? undefined : Buffer.from(cookieKey)),
    async blockUser(userId, opts = {}) {
      requireId(userId, 'userId');
      requireTtl(opts.ttlMs);
      await run([{ type: 'set', key: KEYS.blockedUser(userId), value: blockValue(opts.reason), pinned: true, ...(opts.ttlMs === undefined ? {} : { ttlMs: opts.ttlMs }) }], Date.now());
    },
    async unblockUser(userId) {
      requireId(userId, 'userId');
      await run([{ type: 'delete', key: KEYS.blockedUser(userId) }], Date.now());
    },
    async reportDevice(deviceId, opts = {}) {
      requireId(deviceId, 'deviceId');
      requireTtl(opts.ttlMs);
      await run(
        [
          { type: 'set', key: KEYS.reportedDevice(deviceId), value: blockValue(opts.reason), pinned: true, ...(opts.ttlMs === undefined ? {} : { ttlMs: opts.ttlMs }) },
          { type: 'delete', key: KEYS.approvedDevice(deviceId) },
        ],
        Date.now(),
      );
    },
    async approveDevice(deviceId) {
      requireId(deviceId, 'deviceId');
      await run([{ type: 'set', key: KEYS.approvedDevice(deviceId), value: blockValue(undefined), pinned: true }, { type: 'delete', key: KEYS.reportedDevice(deviceId) }], Date.now());
    },
    async identify(event) {
      const ops: StoreOp[] = [];
      if (event.user.id !== undefined) ops.push({ type: 'get', key: KEYS.blockedUser(event.user.id) });
      if (event.deviceId !== undefined) ops.push({ type: 'get', key: KEYS.reportedDevice(event.deviceId) });
      const results = await run(ops, event.timestamp);
      const reasonOf = (value: StoreResult | undefined, fallback: string) => {
        try {
          const parsed = JSON.parse(String(value)) as { reason?: unknown };
          return typeof parsed.reason === 'string' && parsed.reason !== '' ? `${fallback}: ${parsed.reason}` : fallback;
        } catch {
          return fallback;
        }
      };
      if (event.user.id !== undefined && typeof results[0] === 'string') return { blocked: true, reason: reasonOf(results[0], 'the user is blocked') };
      const deviceResult = results[event.user.id !== undefined ? 1 : 0];
      if (event.deviceId !== undefined && typeof deviceResult === 'string') return { blocked: true, reason: reasonOf(deviceResult, 'the device was reported') };
      return { blocked: false };
    },
    async listBlockedUsers() {
      if (typeof store.keys !== 'function') return [];
      const keys = await store.keys('b:user:');
      if (keys.length === 0) return [];
      const values = await run(keys.map((key) => ({ type: 'get', key })), Date.now());
      const users: BlockedUser[] = [];
      keys.forEach((key, i) => {
        const value = values[i];
        if (typeof value !== 'string') return;
        let parsed: { reason?: unknown; at?: unknown } = {};
        try {
          parsed = JSON.parse(value) as typeof parsed;
        } catch {
          // an unreadable entry still names a blocked user
        }
        users.push({ id: key.slice('b:user:'.length), reason: typeof parsed.reason === 'string' ? parsed.reason : '', at: typeof parsed.at === 'string' ? parsed.at : '' });
      });
      return users;
    },
    async getDevicesForUser(userId) {
      requireId(userId, 'userId');
      const [value] = await run([{ type: 'get', key: KEYS.userDevices(userId) }], Date.now());
      const devices = parseDevices(value);
      if (devices.length === 0) return [];
      const flags = await run(devices.flatMap((d) => [{ type: 'get', key: KEYS.approvedDevice(d.id) } as StoreOp, { type: 'get', key: KEYS.reportedDevice(d.id) } as StoreOp]), Date.now());
      return devices.map((d, i) => ({ ...d, approved: typeof flags[2 * i] === 'string', reported: typeof flags[2 * i + 1] === 'string' }));
    },
    async close() {
      if (ownsStore) await store.close?.();
    },
  };
  // Its verdicts' signals are frozen plain data (engine/signals.ts): decisions take them as they are.
  (provider as LocalProvider & { [PLAIN_SIGNALS]?: unknown })[PLAIN_SIGNALS] = engine.score;
  return provider;
}