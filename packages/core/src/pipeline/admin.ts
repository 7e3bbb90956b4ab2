// The admin calls and the lifecycle: block lists and device records served by the
// provider (a provider without one rejects with VigilUnsupportedError, never throws
// synchronously), and `close()` (no new decisions, outcome logs in flight awaited, the
// provider closed within its timeout).
import { VigilUnsupportedError } from '../errors.js';
import { describeError } from '../logging/logger.js';
import type { Provider } from '../providers/types.js';
import { type Runtime, TIMED_OUT } from './runtime.js';
import type { Vigil } from './types.js';

type AdminOperation = 'blockUser' | 'unblockUser' | 'listBlockedUsers' | 'reportDevice' | 'approveDevice' | 'getDevicesForUser';

/** The admin calls of the instance whose runtime is `rt`. */
export function createAdmin(rt: Runtime): Pick<Vigil, AdminOperation> {
  const { provider } = rt.config;
  // Always a promise: an unsupported operation rejects rather than throwing synchronously.
  const admin = <K extends AdminOperation>(operation: K): NonNullable<Provider[K]> => {
    const fn = provider[operation];
    if (typeof fn !== 'function') return (async () => Promise.reject(new VigilUnsupportedError(operation, provider.name))) as unknown as NonNullable<Provider[K]>;
    return (async (...args: unknown[]) => (fn as (...a: unknown[]) => unknown).apply(provider, args)) as unknown as NonNullable<Provider[K]>;
  };
  // A ttl in ms becomes the provider's ttlMs; options left out stay out.
  const held = (options: { reason?: string; ttl?: number }) => ({ ...(options.reason === undefined ? {} : { reason: options.reason }), ...(options.ttl === undefined ? {} : { ttlMs: options.ttl }) });
  return {
    blockUser: (userId, options = {}) => admin('blockUser')(userId, held(options)),
    unblockUser: (userId) => admin('unblockUser')(userId),
    listBlockedUsers: () => admin('listBlockedUsers')(),
    reportDevice: (deviceId, options = {}) => admin('reportDevice')(deviceId, held(options)),
    approveDevice: (deviceId) => admin('approveDevice')(deviceId),
    getDevicesForUser: (userId) => admin('getDevicesForUser')(userId),
  };
}

/** `vigil.close` of the instance whose runtime is `rt`. */
export function createClose(rt: Runtime): Vigil['close'] {
  const { provider, logger } = rt.config;
  return async () => {
    if (rt.closed) return;
    rt.closed = true;
    await Promise.allSettled([...rt.logsInFlight]);
    if (typeof provider.close === 'function') {
      const result = await rt.withTimeout(Promise.resolve().then(() => provider.close?.())).catch((error) => {
        logger.warn({ code: 'VIGIL_W_CLOSE_FAILED', err: describeError(error) }, 'provider.close failed');
      });
      if (result === TIMED_OUT) logger.warn({ code: 'VIGIL_W_CLOSE_TIMEOUT' }, 'provider.close did not finish in time');
    }
  };
}
