// Decision building: the one place a frozen, serializable Decision is made from what the
// pipeline learned (the route, the request's context, the policy's answer, the
// provider's verdict), for protected requests and identify calls alike.
import { performance } from 'node:perf_hooks';
import type { ChallengeResult } from '../challenge/index.js';
import type { RequestContext } from '../context/request.js';
import type { Decision, Mode } from '../decision/decision.js';
import type { PolicyResult } from '../decision/policy.js';
import { copyPlainData } from '../providers/plain-data.js';
import type { Verdict } from '../providers/types.js';
import type { CompiledRoute } from '../routing/routes.js';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NO_SIGNALS: Readonly<Record<string, unknown>> = Object.freeze({});
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * The headers to append to the response: the provider's, with the names and values Node
 * would refuse dropped (a name given twice in different cases: the last one), then
 * Vigil's own (the device cookie) after the provider's values of the same name. Vigil's
 * own are built by Vigil with lower-case names, so they go in as they are.
 */
function responseHeadersOf(fromProvider: Verdict['responseHeaders'], own: Record<string, string> | undefined): Decision['responseHeaders'] {
  const checked = fromProvider !== null && typeof fromProvider === 'object';
  if (!checked && own === undefined) return NO_HEADERS;
  const out: Record<string, string[]> = {};
  if (checked) {
    for (const [name, value] of Object.entries(fromProvider)) {
      if (!HEADER_NAME.test(name)) continue;
      const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && !/[\r\n\0]/.test(v));
      if (values.length > 0) out[name.toLowerCase()] = values;
    }
  }
  if (own !== undefined) {
    for (const name in own) {
      const values = out[name] ?? [];
      values.push(own[name] as string);
      out[name] = values;
    }
  }
  for (const name in out) Object.freeze(out[name]);
  return Object.freeze(out);
}

/** What a decision is built from. */
export interface DecisionParts {
  /** `performance.now()` when the decision began. */
  start: number;
  requestId: string;
  route: CompiledRoute;
  context: RequestContext;
  policy: PolicyResult;
  /** The provider's verdict; undefined when it failed over. */
  verdict: Verdict | undefined;
  /** Why the provider was failed over, when it was. */
  failoverReason: string | undefined;
  /** Vigil's own response headers (the device cookie issued on this request). */
  extraHeaders?: Record<string, string> | undefined;
  /** The request's device (a valid cookie's id or the one issued), when the verdict names none. */
  deviceId?: string | undefined;
  /**
   * What the pipeline keeps for this decision's outcome (the event with its raw
   * identifiers, the request): held in a private field, read back with {@link stateOf},
   * never part of what the decision shows.
   */
  state?: unknown;
  /** The provider's signals are frozen plain data already (the embedded engine's): taken as they are. */
  plainSignals?: boolean;
  /** The check of the challenge solution the request presented. */
  challenge?: ChallengeResult | undefined;
}

let stateOfDecision: (decision: object) => unknown;

/**
 * The state given to {@link buildDecision} with this decision (`DecisionParts.state`);
 * `undefined` for anything else (a decision Vigil did not build, a copy, a handle).
 */
export function stateOf(decision: object): unknown {
  return stateOfDecision(decision);
}

/**
 * A protected request's decision. A class so that every decision has one shape (a
 * literal given a non-enumerable property afterwards falls back to a dictionary, ten
 * times the cost), and so that the headers to append live in a private field read by a
 * getter on the prototype: not an own property, so `JSON.stringify(decision)`, a spread
 * or a log line leaves them out (the device cookie's value carries its signature).
 */
class ProtectedDecision implements Decision {
  readonly action: Decision['action'];
  readonly wouldAction: Decision['wouldAction'];
  readonly wouldBlock: boolean;
  readonly mode: Mode;
  readonly protected = true;
  readonly event: Decision['event'];
  readonly route: Decision['route'];
  readonly verdict: Decision['verdict'];
  readonly risk: number | undefined;
  readonly threatCode: number | undefined;
  readonly threatGroup: Decision['threatGroup'];
  readonly signals: Decision['signals'];
  readonly reasons: readonly string[];
  readonly failover: boolean;
  readonly failoverReason: string | undefined;
  readonly degraded: readonly string[] | undefined;
  readonly provider: string;
  readonly device: Decision['device'];
  readonly ip: string | undefined;
  readonly durationMs: number;
  readonly requestId: string;
  readonly challenge: ChallengeResult | undefined;
  readonly #headers: Decision['responseHeaders'];
  // A private field rather than a WeakMap from decision to state: a WeakMap entry per
  // request costs several hundred nanoseconds (and the collector more) at this rate.
  readonly #state: unknown;

  static {
    stateOfDecision = (decision) => (#state in decision ? decision.#state : undefined);
  }

  constructor(parts: DecisionParts, mode: Mode, provider: string) {
    const { verdict, policy, route, failoverReason, deviceId } = parts;
    const reasons = Array.isArray(verdict?.reasons) ? verdict.reasons.filter((r): r is string => typeof r === 'string').slice(0, 50) : [];
    reasons.push(policy.reason);
    this.action = policy.action;
    this.wouldAction = policy.wouldAction;
    this.wouldBlock = policy.wouldAction === 'block' || policy.wouldAction === 'redirect';
    this.mode = mode;
    this.event = route.event;
    this.route = route.name;
    this.verdict = policy.verdict;
    this.risk = verdict?.risk;
    this.threatCode = verdict?.threatCode;
    this.threatGroup = policy.threatGroup;
    const signals = verdict?.signals;
    this.signals = signals === null || typeof signals !== 'object' ? NO_SIGNALS : parts.plainSignals === true && Object.isFrozen(signals) ? signals : copyPlainData(signals);
    this.reasons = Object.freeze(reasons);
    this.failover = failoverReason !== undefined;
    this.failoverReason = failoverReason;
    this.degraded = Array.isArray(verdict?.degraded) ? Object.freeze(verdict.degraded.filter((name) => typeof name === 'string')) : undefined;
    this.provider = provider;
    this.device =
      verdict?.device && typeof verdict.device.id === 'string'
        ? Object.freeze({ id: verdict.device.id })
        : deviceId !== undefined
          ? Object.freeze({ id: deviceId })
          : undefined;
    this.ip = parts.context.ip;
    this.durationMs = performance.now() - parts.start;
    this.requestId = parts.requestId;
    this.challenge = parts.challenge;
    this.#headers = responseHeadersOf(verdict?.responseHeaders, parts.extraHeaders);
    this.#state = parts.state;
  }

  /** Headers to append to the client's response (see {@link Decision.responseHeaders}). */
  get responseHeaders(): Decision['responseHeaders'] {
    return this.#headers;
  }
}

/**
 * The decision, frozen. Only plain data from the provider reaches it (it must always
 * serialize); the headers to append are on it but not its own enumerable property, so
 * that `JSON.stringify(decision)`, a spread or a log line leaves them out.
 */
export function buildDecision(parts: DecisionParts, mode: Mode, provider: string): Decision {
  return Object.freeze(new ProtectedDecision(parts, mode, provider));
}
