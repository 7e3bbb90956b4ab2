// Outcome logging after the response (`vigil.logOutcome`, `outcomeOf`,
// `needsResponseBody`): the route's outcome rule reads the response, one outcome per
// decision (automatic or explicit, the first wins), the event the decision was made on
// logged again with its outcome, the provider's memo and the device's freshness, off
// the request path, within the provider's timeout, failures counted into the provider's
// incident. Also the rule that an explicit trackLogin/trackSignup on a decided request
// replaces its automatic outcome instead of doubling it.
import type { RequestInfo } from '../context/request.js';
import type { EventStatus, EventType } from '../events.js';
import type { ProviderEvent } from '../providers/types.js';
import { decisionOf } from '../tracking/handle.js';
import { markIssued, pendingOf, type Runtime, TIMED_OUT } from './runtime.js';
import type { Vigil } from './types.js';

const FAILED = Symbol('failed');

/** The outcome jobs of the instance whose runtime is `rt`. */
export function createOutcomes(rt: Runtime): Pick<Vigil, 'logOutcome' | 'outcomeOf' | 'needsResponseBody'> & {
  /**
   * Whether an explicit outcome for `req` is to be logged: not when the decision on that
   * request already logged the same one (automatically or explicitly). A different one
   * is logged and replaces it, so that the automatic outcome that follows is skipped.
   */
  explicitOutcome(req: RequestInfo, type: EventType, status: Extract<EventStatus, '$succeeded' | '$failed'>): boolean;
} {
  const { provider, logger } = rt.config;
  return {
    // A handle (req.vigil) is accepted wherever a decision is: adapters and apps pass either.
    outcomeOf(decision, response) {
      const state = pendingOf(decisionOf(decision));
      return state?.route.outcome(response, state.request);
    },
    needsResponseBody: (given) => pendingOf(decisionOf(given))?.route.outcome.needsBody === true,
    explicitOutcome(req, type, status) {
      const state = rt.inFlightOf(req)?.decided;
      if (state === undefined || state.route.event !== type) return true;
      if (state.outcome === status) {
        logger.debug({ code: 'VIGIL_D_OUTCOME_REPEATED', requestId: state.event.requestId, route: state.route.name, status }, 'this outcome was already logged for the request; not logging it again');
        return false;
      }
      state.outcome = status;
      return true;
    },
    logOutcome(given, response) {
      const decision = decisionOf(given);
      const state = pendingOf(decision);
      if (!state || rt.closed || decision.action === 'block' || decision.action === 'redirect') return;
      if (state.outcome !== undefined) {
        logger.debug({ code: 'VIGIL_D_OUTCOME_REPEATED', requestId: decision.requestId, route: state.route.name }, 'an outcome was already logged for this decision; ignoring this one');
        return;
      }
      const outcome = state.route.outcome(response, state.request);
      if (!outcome) return;
      state.outcome = outcome;
      const status = typeof response === 'number' ? response : response.status;
      // Object.assign, not a spread with overrides: events differ in shape (a device, a
      // token, extras), and a spread over many shapes takes V8's slow path (~1 µs).
      const event: ProviderEvent = Object.assign({}, state.event);
      event.status = outcome;
      event.responseStatus = status;
      event.timestamp = Date.now();
      if (state.memo !== undefined) event.memo = state.memo;
      if (state.issued !== undefined) markIssued(event, state.issued);
      let logged: Promise<unknown>;
      try {
        logged = Promise.resolve(provider.log(event));
      } catch (error) {
        logged = Promise.reject(error);
      }
      // A request whose decision failed over is already counted in the incident.
      const requests = decision.failover ? 0 : 1;
      // One reaction for both ends (not then, catch and finally: three promises more per
      // outcome); it never rejects, whatever the logger does.
      const settled = (result: unknown, error?: unknown): void => {
        rt.logsInFlight.delete(tracked);
        try {
          if (error !== undefined || result === FAILED) rt.logFailed(error, requests);
          else if (result === TIMED_OUT) rt.logTimedOut(requests);
          else rt.incidents.success();
        } catch {
          // A logger that throws loses its line, not the process.
        }
      };
      const tracked: Promise<void> = rt.withTimeout(logged).then(settled, (error: unknown) => settled(FAILED, error));
      rt.logsInFlight.add(tracked);
    },
  };
}
