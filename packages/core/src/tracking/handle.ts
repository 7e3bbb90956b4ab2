import type { RequestInfo } from '../context/request.js';
import type { Decision } from '../decision/decision.js';
import type { EnforceIO, Vigil } from '../pipeline/types.js';
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

const DECISION_FIELDS = [
  'action',
  'wouldAction',
  'wouldBlock',
  'mode',
  'protected',
  'event',
  'route',
  'verdict',
  'risk',
  'threatCode',
  'threatGroup',
  'signals',
  'reasons',
  'failover',
  'failoverReason',
  'provider',
  'device',
  'responseHeaders',
  'ip',
  'durationMs',
  'requestId',
] as const satisfies readonly (keyof Decision)[];

// Symbol-keyed state rather than #private fields: adapters may derive from a handle
// (`Object.create(handle, …)`), and a derived object reads these through its prototype.
const VIGIL = Symbol('vigil');
const REQUEST = Symbol('request');
const IO = Symbol('io');
const INFO = Symbol('info');

// One class, built once: a handle is one small object per request (the decision's
// fields are prototype getters reading through to it), not a property definition spree.
class RequestHandle {
  readonly decision: Decision;
  readonly [VIGIL]: Vigil;
  readonly [REQUEST]: () => RequestInfo;
  readonly [IO]: EnforceIO<unknown> | undefined;
  [INFO]: RequestInfo | undefined;

  constructor(vigil: Vigil, decision: Decision, request: () => RequestInfo, io: EnforceIO<unknown> | undefined) {
    this.decision = decision;
    this[VIGIL] = vigil;
    this[REQUEST] = request;
    this[IO] = io;
  }

  private req(): RequestInfo {
    this[INFO] ??= this[REQUEST]();
    return this[INFO];
  }

  async identify(user: IdentifyOptions): Promise<{ blocked: boolean; handled: boolean; decision: Decision }> {
    const result = await this[VIGIL].identify(this.req(), user);
    let handled = false;
    if (this[IO] && (result.decision.action === 'block' || result.decision.action === 'redirect')) {
      handled = (await this[VIGIL].enforce(result.decision, this.req(), this[IO])) === 'handled';
    }
    return { ...result, handled };
  }

  trackLogin(options: TrackLoginOptions): Promise<void> {
    return this[VIGIL].trackLogin(this.req(), options);
  }

  trackSignup(options: TrackSignupOptions): Promise<void> {
    return this[VIGIL].trackSignup(this.req(), options);
  }

  trackCustom(name: string, properties?: Record<string, unknown>): Promise<void> {
    return this[VIGIL].trackCustom(this.req(), name, properties);
  }

  /** `JSON.stringify(req.vigil)` shows the decision. */
  toJSON(): Decision {
    return this.decision;
  }
}
for (const field of DECISION_FIELDS) {
  Object.defineProperty(RequestHandle.prototype, field, {
    get(this: RequestHandle) {
      return this.decision[field];
    },
  });
}

/**
 * Builds the handle of one request. `request` is called at most once, when a helper
 * needs the neutral request (so that unprotected requests pay nothing until then);
 * `io` is how the adapter answers, when it can answer from where the helper runs.
 *
 * @example
 * req.vigil = createHandle(vigil, decision, () => requestInfo, io)
 */
export function createHandle<Raw>(vigil: Vigil, decision: Decision, request: () => RequestInfo, io?: EnforceIO<Raw>): VigilHandle {
  return new RequestHandle(vigil, decision, request, io as EnforceIO<unknown> | undefined) as unknown as VigilHandle;
}

/** The decision behind a handle (or the decision itself). */
export function decisionOf(value: Decision | VigilHandle): Decision {
  return value instanceof RequestHandle ? value.decision : (value as Decision);
}

/**
 * The neutral request a handle was built with (the one its decision was made on), or
 * `undefined` for anything that is not a handle. Adapters find a decided request's
 * `RequestInfo` through the handle they hung on the framework's request, rather than
 * keeping a map of their own.
 *
 * @example
 * const info = requestOf(req.vigil) ?? toRequestInfo(req)
 */
export function requestOf(value: unknown): RequestInfo | undefined {
  if (!(value instanceof RequestHandle)) return undefined;
  value[INFO] ??= value[REQUEST]();
  return value[INFO];
}
