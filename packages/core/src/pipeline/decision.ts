// Decision building: the one place a frozen, serializable Decision is made from what the
// pipeline learned (the route, the request's context, the policy's answer, the
// provider's verdict), for protected requests and identify calls alike.
import { performance } from 'node:perf_hooks';
import type { RequestContext } from '../context/request.js';
import type { Decision, Mode } from '../decision/decision.js';
import type { PolicyResult } from '../decision/policy.js';
import { copyPlainData } from '../providers/plain-data.js';
import type { Verdict } from '../providers/types.js';
import type { CompiledRoute } from '../routing/routes.js';

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const NO_SIGNALS: Readonly<Record<string, unknown>> = Object.freeze({});
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The provider's response headers plus Vigil's own (the device cookie), values of one name kept together. */
function mergeHeaders(a: Verdict['responseHeaders'], b: Record<string, string> | undefined): Verdict['responseHeaders'] {
  if (!b) return a;
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(a ?? {})) out[name.toLowerCase()] = Array.isArray(value) ? [...value] : [value as string];
  for (const [name, value] of Object.entries(b)) {
    const key = name.toLowerCase();
    out[key] = [...((out[key] as string[] | undefined) ?? []), value];
  }
  return out;
}

/** Copies a verdict's response headers, dropping names and values Node would refuse. */
function freezeResponseHeaders(headers: Verdict['responseHeaders']): Decision['responseHeaders'] {
  if (!headers || typeof headers !== 'object') return NO_HEADERS;
  const out: Record<string, string | readonly string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name)) continue;
    const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && !/[\r\n\0]/.test(v));
    if (values.length > 0) out[name.toLowerCase()] = Object.freeze(values);
  }
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
  mode: Mode;
  /** The provider's name. */
  provider: string;
}

/**
 * The decision, frozen. Only plain data from the provider reaches it (it must always
 * serialize); the headers to append are on it but not enumerable, so that
 * `JSON.stringify(decision)`, a spread or a log line leaves them out (the device
 * cookie's value carries its signature).
 */
export function buildDecision(parts: DecisionParts): Decision {
  const { verdict, policy, route, context, failoverReason, deviceId } = parts;
  const reasons = Array.isArray(verdict?.reasons) ? verdict.reasons.filter((r): r is string => typeof r === 'string').slice(0, 50) : [];
  reasons.push(policy.reason);
  const decision = {
    action: policy.action,
    wouldAction: policy.wouldAction,
    wouldBlock: policy.wouldAction === 'block' || policy.wouldAction === 'redirect',
    mode: parts.mode,
    protected: true,
    event: route.event,
    route: route.name,
    verdict: policy.verdict,
    risk: verdict?.risk,
    threatCode: verdict?.threatCode,
    threatGroup: policy.threatGroup,
    signals: verdict?.signals ? copyPlainData(verdict.signals) : NO_SIGNALS,
    reasons: Object.freeze(reasons),
    failover: failoverReason !== undefined,
    failoverReason,
    degraded: Array.isArray(verdict?.degraded) ? Object.freeze(verdict.degraded.filter((name) => typeof name === 'string')) : undefined,
    provider: parts.provider,
    device:
      verdict?.device && typeof verdict.device.id === 'string'
        ? Object.freeze({ id: verdict.device.id })
        : deviceId !== undefined
          ? Object.freeze({ id: deviceId })
          : undefined,
    ip: context.ip,
    durationMs: performance.now() - parts.start,
    requestId: parts.requestId,
  };
  Object.defineProperty(decision, 'responseHeaders', { value: freezeResponseHeaders(mergeHeaders(verdict?.responseHeaders, parts.extraHeaders)), enumerable: false });
  return Object.freeze(decision) as Decision;
}
