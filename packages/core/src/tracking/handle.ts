import type { RequestInfo } from '../context/request.js';
import type { Decision } from '../decision/decision.js';
import type { EnforceIO, Vigil } from '../vigil.js';
import type { IdentifyOptions, TrackLoginOptions, TrackSignupOptions } from './users.js';

/**
 * What adapters hang on the framework's request (`req.vigil`, `request.vigil`): the
 * request's decision (its fields read through) plus request-aware helpers, so that an
 * app can identify and track without passing the request around.
 */
export interface VigilHandle extends Decision {
  /** The decision itself (a frozen object; the handle reads through to it). */
  readonly decision: Decision;
  /**
   * Maps this request to a user and enforces blocks: in blocking mode a blocked user's
   * request is answered with the block response (`handled: true`) — stop handling it.
   *
   * @example
   * if ((await req.vigil.identify({ id: user.id })).handled) return
   */
  identify(user: IdentifyOptions): Promise<{ blocked: boolean; handled: boolean; decision: Decision }>;
  /** `vigil.trackLogin` for this request. */
  trackLogin(options: TrackLoginOptions): Promise<void>;
  /** `vigil.trackSignup` for this request. */
  trackSignup(options: TrackSignupOptions): Promise<void>;
  /** `vigil.trackCustom` for this request. */
  trackCustom(name: string, properties?: Record<string, unknown>): Promise<void>;
}

/**
 * Builds the handle of one request. `request` is called at most once, when a helper
 * needs the neutral request (so that unprotected requests pay nothing until then);
 * `io` is how the adapter answers, when it can answer from where the helper runs.
 */
export function createHandle<Raw>(vigil: Vigil, decision: Decision, request: () => RequestInfo, io?: EnforceIO<Raw>): VigilHandle {
  let info: RequestInfo | undefined;
  const req = () => {
    info ??= request();
    return info;
  };
  const handle = Object.create(decision) as VigilHandle;
  Object.defineProperties(handle, {
    decision: { value: decision },
    identify: {
      value: async (user: IdentifyOptions) => {
        const result = await vigil.identify(req(), user);
        let handled = false;
        if (io && (result.decision.action === 'block' || result.decision.action === 'redirect')) {
          handled = (await vigil.enforce(result.decision, req(), io)) === 'handled';
        }
        return { ...result, handled };
      },
    },
    trackLogin: { value: (options: TrackLoginOptions) => vigil.trackLogin(req(), options) },
    trackSignup: { value: (options: TrackSignupOptions) => vigil.trackSignup(req(), options) },
    trackCustom: { value: (name: string, properties?: Record<string, unknown>) => vigil.trackCustom(req(), name, properties) },
    // JSON.stringify(req.vigil) shows the decision, not an empty object.
    toJSON: { value: () => decision },
  });
  return handle;
}
