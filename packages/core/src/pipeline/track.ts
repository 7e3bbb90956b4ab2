// Explicit tracking and identification (`trackSignup`, `trackLogin`, `trackCustom`,
// `identify`): an event built from the request's context (a fresh id, the request's
// device, the provider's own extras), logged within the provider's timeout; identify
// asks the provider's block list and answers with a decision of its own.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RequestInfo } from '../context/request.js';
import { applyPolicy } from '../decision/policy.js';
import type { EventType } from '../events.js';
import { describeError } from '../logging/logger.js';
import type { ProviderEvent, Verdict } from '../providers/types.js';
import type { CompiledRoute, UserIdentity } from '../routing/routes.js';
import { identityOf } from '../tracking/users.js';
import type { createOutcomes } from './outcome.js';
import { type Runtime, TIMED_OUT } from './runtime.js';
import type { Vigil } from './types.js';

const IDENTIFY_ROUTE = { event: '$profile_update', name: 'identify' } as CompiledRoute;

/** The tracking jobs of the instance whose runtime is `rt`. */
export function createTracking(rt: Runtime, explicitOutcome: ReturnType<typeof createOutcomes>['explicitOutcome']): Pick<Vigil, 'trackSignup' | 'trackLogin' | 'trackCustom' | 'identify'> {
  const { provider, logger, buildContext, identity, policyOptions } = rt.config;

  /** An event for a tracking call: the request's context, a fresh id, the device. */
  const trackingEvent = (req: RequestInfo, type: EventType, status: ProviderEvent['status'], name: string | undefined, user: UserIdentity, properties?: Record<string, unknown>): ProviderEvent => {
    const event: ProviderEvent = { type, status, name, requestId: randomUUID(), timestamp: Date.now(), context: buildContext(req), user: identity(user) };
    if (properties && typeof properties === 'object') event.properties = { ...properties };
    rt.setDevice(event, req);
    rt.prepareEvent(event, req);
    return event;
  };

  const track = (event: ProviderEvent): Promise<void> => rt.log(event);

  return {
    trackSignup: async (req, options = {}) => {
      const status = options?.success === false ? '$failed' : '$succeeded';
      if (!explicitOutcome(req, '$registration', status)) return;
      await track(trackingEvent(req, '$registration', status, undefined, identityOf(options ?? {}), options?.properties));
    },
    trackLogin: async (req, options) => {
      const status = options?.success === true ? '$succeeded' : '$failed';
      if (!explicitOutcome(req, '$login', status)) return;
      await track(
        trackingEvent(req, '$login', status, undefined, identityOf(options ?? {}), {
          ...(options?.properties ?? {}),
          ...(typeof options?.userExists === 'boolean' ? { user_exists: options.userExists } : {}),
        }),
      );
    },
    trackCustom: (req, name, properties) => track(trackingEvent(req, '$custom', '$succeeded', String(name), {}, properties)),
    async identify(req, user) {
      const start = performance.now();
      const id = typeof user?.id === 'string' && user.id !== '' ? user.id : undefined;
      const event = trackingEvent(req, '$profile_update', '$attempted', 'identify', id === undefined ? {} : { id });
      let blocked = false;
      let reason = 'the user is not blocked';
      if ((id !== undefined || event.deviceId !== undefined) && typeof provider.identify === 'function') {
        try {
          const answer = await rt.withTimeout(Promise.resolve().then(() => provider.identify?.(event)));
          if (answer === TIMED_OUT) reason = 'the block list did not answer in time';
          else if (answer?.blocked === true) {
            blocked = true;
            reason = answer.reason ?? 'the user is blocked';
          }
        } catch (error) {
          logger.warn({ code: 'VIGIL_W_IDENTIFY_FAILED', provider: provider.name, err: describeError(error) }, 'identify could not read the block list; the request goes on');
          reason = 'the block list could not be read';
        }
      }
      const verdict: Verdict = blocked ? { action: 'deny', risk: 1, reasons: [reason] } : { risk: 0, reasons: [reason] };
      const policy = applyPolicy(verdict, policyOptions);
      const decision = rt.buildDecision({ start, requestId: event.requestId, route: IDENTIFY_ROUTE, context: event.context, policy, verdict, failoverReason: undefined, deviceId: event.deviceId });
      return { blocked, decision };
    },
  };
}
