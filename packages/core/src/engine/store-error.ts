import type { Verdict } from '../providers/types.js';

/**
 * Thrown (and turned into the configured failover) when the store fails. From `filter`
 * and `risk` it carries `verdict`: what the request alone says (User-Agent, headers, IP
 * lists, email), with `degraded` naming the store-backed signals that went quiet.
 * `createVigil` applies the stronger of that verdict and its `failover` strategy.
 *
 * @example
 * try { await provider.filter(event) } catch (err) {
 *   if (err instanceof VigilStoreError) console.log(err.verdict?.threatCode, err.verdict?.degraded)
 * }
 */
export class VigilStoreError extends Error {
  /** Always `'store error'`: the failover reason decisions report. */
  readonly failoverReason = 'store error';
  /** The verdict of the request-only signals, when a decision's batch failed. */
  readonly verdict: Verdict | undefined;
  constructor(cause: unknown, verdict?: Verdict) {
    super('Vigil store failed', { cause });
    this.name = 'VigilStoreError';
    this.verdict = verdict;
  }
}
