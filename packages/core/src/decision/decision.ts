import type { ChallengeResult } from '../challenge/index.js';
import type { EventType } from '../events.js';
import type { ThreatGroup } from './threat-codes.js';

/** What an adapter must do with a request. */
export type DecisionAction = 'allow' | 'block' | 'redirect' | 'challenge';

/** Vigil's modes: `monitoring` records, `blocking` acts. */
export type Mode = 'monitoring' | 'blocking';

/** The policy's conclusion about a request, before the mode is applied. */
export type PolicyVerdict = 'allow' | 'challenge' | 'deny';

/**
 * The outcome of `vigil.protect()`: a frozen, self-describing record of what Vigil
 * decided, why, and what blocking mode would have done.
 */
export interface Decision {
  /**
   * What the adapter must do now. In monitoring mode always `'allow'`; in blocking mode
   * `wouldAction`, except a challenge with no `onChallenge` handler to serve it, which is
   * allowed (the reasons say so, and start-up warned `VIGIL_W_NO_CHALLENGE_HANDLER`).
   */
  readonly action: DecisionAction;
  /**
   * What the policy calls for in blocking mode: `'challenge'` even when no challenge
   * handler is configured yet, so that monitoring shows every challenge the policy asks for.
   */
  readonly wouldAction: DecisionAction;
  /** True when blocking mode blocks (or redirects) this request. */
  readonly wouldBlock: boolean;
  /** The mode the decision was made in. */
  readonly mode: Mode;
  /** True when the request matched a protected route and was scored. */
  readonly protected: boolean;
  /** The route's event type; undefined for unprotected requests. */
  readonly event: EventType | undefined;
  /** The route's name (or path); undefined for unprotected requests. */
  readonly route: string | undefined;
  /** The policy's conclusion: `deny`, `challenge` or `allow`. */
  readonly verdict: PolicyVerdict;
  /** Risk 0..1 from the provider; undefined when it failed over or was not asked. */
  readonly risk: number | undefined;
  /** CHEQ threat code of the strongest reason, if any. */
  readonly threatCode: number | undefined;
  /** The group of `threatCode`. */
  readonly threatGroup: ThreatGroup;
  /** Named signals from the provider. */
  readonly signals: Readonly<Record<string, unknown>>;
  /** Human-readable reasons, provider's first, then the policy's. */
  readonly reasons: readonly string[];
  /** True when the provider did not answer in time or failed. */
  readonly failover: boolean;
  /** Why it failed over: `timeout`, `provider error`, `invalid verdict`, `closed`, or the provider's own. */
  readonly failoverReason: string | undefined;
  /**
   * The signals that went quiet for this decision, when the provider could decide only
   * in part: with the embedded engine and a failing store, the store-backed ones
   * (`high_activity_ip`, `credential_stuffing`, `blocked_user`, `new_device`…) while
   * the request-only ones (User-Agent, headers, IP lists, email) still decided.
   * Undefined when every signal was evaluated.
   */
  readonly degraded?: readonly string[] | undefined;
  /** The provider's name. */
  readonly provider: string | undefined;
  /** The device the provider recognised, if any. */
  readonly device: { readonly id: string } | undefined;
  /**
   * Headers to append to the client's response whatever the action (a provider's
   * cookie, Vigil's device cookie). Never a replacement for the app's own headers.
   */
  readonly responseHeaders: Readonly<Record<string, string | readonly string[]>>;
  /** The client IP the decision was made for. */
  readonly ip: string | undefined;
  /** Time spent deciding, in milliseconds. */
  readonly durationMs: number;
  /** Unique id of this decision (also sent to the provider and shown on block pages). */
  readonly requestId: string | undefined;
  /**
   * The challenge solution the request presented, checked: `passed` (the request went
   * on to the route although the policy challenged it) or why not (`reason`). Undefined
   * when the request presented none.
   */
  readonly challenge?: ChallengeResult | undefined;
}

function unprotected(reason: string): Decision {
  return Object.freeze({
    action: 'allow',
    wouldAction: 'allow',
    wouldBlock: false,
    mode: 'monitoring',
    protected: false,
    event: undefined,
    route: undefined,
    verdict: 'allow',
    risk: undefined,
    threatCode: undefined,
    threatGroup: 'none',
    signals: Object.freeze({}),
    reasons: Object.freeze([reason]),
    failover: false,
    failoverReason: undefined,
    provider: undefined,
    device: undefined,
    responseHeaders: Object.freeze({}),
    ip: undefined,
    durationMs: 0,
    requestId: undefined,
  }) as Decision;
}

/** The shared decision for a request that matches no protected route. */
export const UNPROTECTED_DECISION: Decision = unprotected('not a protected route');
/** The shared decision for a request excluded by `uriExclusion`. */
export const EXCLUDED_DECISION: Decision = unprotected('excluded by uriExclusion');
