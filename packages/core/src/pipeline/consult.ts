// Asking the provider and reading its answer: the call (risk for a known user, filter
// otherwise), what its answer means (a verdict, the provider's own failover, an invalid
// verdict, a timeout, an error with or without a partial verdict), and the policy that
// follows, failover strategy included. The await itself stays in protect.ts: one promise
// per decision, not one per step.
import { applyPolicy, failoverPolicy, type PolicyResult } from '../decision/policy.js';
import { VigilProviderError } from '../errors.js';
import { describeError } from '../logging/logger.js';
import type { Provider, ProviderEvent, Verdict } from '../providers/types.js';
import type { CompiledRoute } from '../routing/routes.js';
import { type Runtime, TIMED_OUT } from './runtime.js';
import { checkVerdict, reasonOf } from './verdict.js';

/** What the provider's answer came to: a verdict, a failover reason, or both (a partial verdict). */
export interface Consulted {
  /** The verdict that stands, or what the provider could still decide when it failed. */
  readonly verdict: Verdict | undefined;
  /** Why the decision fails over (`timeout`, `closed`, `invalid verdict`, the provider's reason). */
  readonly failoverReason: string | undefined;
  /** The error behind the failover, for logs. */
  readonly failure?: unknown;
}

/** A decision asked of a closed instance. */
export const CLOSED: Consulted = Object.freeze({ verdict: undefined, failoverReason: 'closed' });

const VERDICT_RANK: Readonly<Record<PolicyResult['verdict'], number>> = { allow: 0, challenge: 1, deny: 2 };

/** The provider's answer for the event, as a promise even when it throws synchronously. */
export function askProvider(provider: Provider, event: ProviderEvent): Promise<unknown> {
  try {
    return Promise.resolve(event.user.id !== undefined ? provider.risk(event) : provider.filter(event));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** What an answer (or {@link TIMED_OUT}) means. */
export function answered(answer: unknown): Consulted {
  if (answer === TIMED_OUT) return { verdict: undefined, failoverReason: 'timeout' };
  const checked = checkVerdict(answer);
  if (typeof checked === 'string') return { verdict: undefined, failoverReason: 'invalid verdict', failure: new Error(checked) };
  // The provider could not decide and says so: the strategy decides.
  if (checked.failover === true && checked.action === undefined) return { verdict: undefined, failoverReason: reasonOf(checked.failoverReason, 'provider failover') };
  // A verdict with `failover: true` and an action is the provider's own failover (set
  // explicitly in its options): its action stands and the decision says so.
  return { verdict: checked, failoverReason: undefined };
}

/**
 * What a provider's error means. A provider marks configuration and integration errors
 * (a remote API's 401/403: a bad secret; another 4xx) with `failover: false`. They fail
 * over like any fault — never a visitor's 500 unless the strategy is 'throw' — and are
 * logged once, as errors, with their fix. What the provider could still decide without
 * its failed part (the embedded engine's request-only signals when its store failed)
 * comes with the error and is applied by {@link policyOf}.
 */
export function failed(rt: Runtime, error: unknown, route: CompiledRoute): Consulted {
  if ((error as { failover?: unknown } | null)?.failover === false) rt.reportProviderError(error, route);
  const partial = (error as { verdict?: unknown } | null)?.verdict;
  return {
    verdict: partial !== undefined && typeof checkVerdict(partial) !== 'string' ? (partial as Verdict) : undefined,
    failoverReason: reasonOf((error as { failoverReason?: unknown } | null)?.failoverReason, 'provider error'),
    failure: error,
  };
}

/**
 * The policy's answer for what the provider said, counting failovers into the
 * provider's incident (one line per incident, not per request: an outage must not flood
 * the logs it is reported in). Throws {@link VigilProviderError} under `failover: 'throw'`
 * in blocking mode, unless the request alone is denied.
 */
export function policyOf(rt: Runtime, route: CompiledRoute, { verdict, failoverReason, failure }: Consulted): PolicyResult {
  const { failover, mode, policyOptions, provider, logger } = rt.config;
  if (failoverReason === undefined) {
    if (verdict?.failover === true) {
      // The provider answered from its own failover: an outage all the same, reported
      // through the same incident as Vigil's own failovers.
      rt.stats.failovers++;
      const reason = reasonOf(verdict.failoverReason, 'provider failover');
      if (rt.incidents.failure(reason, { severity: 1, message: `${provider.name} failed over (${reason}) with its own strategy (${verdict.action}); further failovers are counted in one summary a minute until decisions succeed again`, details: { route: route.name } })) rt.stats.incidents++;
    } else rt.incidents.success();
    return applyPolicy(verdict as Verdict, policyOptions);
  }
  rt.stats.failovers++;
  const started = rt.incidents.failure(failoverReason, {
    // Outcome logs may have started the incident: decisions failing over get a line too.
    severity: 1,
    message: `Vigil failed over (${failoverReason}) with strategy ${failover}; further failovers are counted in one summary a minute until decisions succeed again`,
    details: { route: route.name, err: describeError(failure) },
  });
  if (started) rt.stats.incidents++;
  else logger.debug({ code: 'VIGIL_W_FAILOVER', reason: failoverReason, provider: provider.name, route: route.name }, 'Vigil failed over again');
  // Signals from the request alone keep deciding: their verdict stands when it is
  // stronger than the strategy (a python-requests login is blocked under 'allow').
  const partial = verdict === undefined ? undefined : applyPolicy(verdict, policyOptions);
  if (failover === 'throw' && mode === 'blocking' && partial?.verdict !== 'deny') throw new VigilProviderError(failoverReason, failure);
  const policy = failoverPolicy(failover, mode, policyOptions.canChallenge, policyOptions.redirect, failoverReason);
  if (partial !== undefined && partial.verdict !== 'allow' && VERDICT_RANK[partial.verdict] >= VERDICT_RANK[policy.verdict]) {
    return { ...partial, reason: `${partial.reason} (decided without what failed: ${failoverReason}; strategy ${failover})` };
  }
  return policy;
}
