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
  'degraded',
  'challenge',
] as const satisfies readonly (keyof Decision)[];
// Every field of a decision, none forgotten: a field added to Decision and not here fails to compile.
const EVERY_FIELD: Exclude<keyof Decision, (typeof DECISION_FIELDS)[number]> extends never ? true : never = true;
void EVERY_FIELD;

// Symbol-keyed state rather than #private fields: adapters may derive from a handle
// (`Object.create(handle, …)`), and a derived object reads these through its prototype.
const VIGIL = Symbol('vigil');
const REQUEST = Symbol('request');
const IO = Symbol('io');
const INFO = Symbol('info');
// The brand of every handle class (full and lazy), on their prototypes: decisionOf reads
// it, so that it knows a handle, or an object derived from one, whichever its class.
const HANDLE = Symbol('vigil handle');

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
Object.defineProperty(RequestHandle.prototype, HANDLE, { value: true });
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

// Lazy handles' state: symbol keys, not #private fields, so that an object derived from
// a lazy handle (`Object.create(handle, …)`) works as one, as with full handles.
const ARGS = Symbol('args');
const FULL = Symbol('full');

interface LazyState<A, B> {
  [ARGS]: [A, B];
  [FULL]: VigilHandle | undefined;
}

/**
 * The handle class of the requests Vigil leaves alone (unprotected, excluded), for an
 * adapter's hot path: `new Handle(request, response)` is one small object whose fields
 * read through to the shared `decision`, where a full handle costs microseconds per
 * request under load. Its helpers build the full handle (`build(request, response)`, at
 * most once) on first use and delegate to it, so they behave exactly as on a protected
 * request; `JSON.stringify()` gives the decision, and core accepts it wherever a
 * decision is (`decisionOf`).
 *
 * @example
 * const Unprotected = lazyHandleClass(vigil.unprotectedDecision, (req, res) => createHandle(vigil, vigil.unprotectedDecision, () => toRequestInfo(req), io(req, res)))
 * req.vigil = new Unprotected(req, res)
 */
export function lazyHandleClass<A, B = undefined>(decision: Decision, build: (request: A, response: B) => VigilHandle): new (request: A, response: B) => VigilHandle {
  class LazyHandle implements LazyState<A, B> {
    [ARGS]: [A, B];
    [FULL]: VigilHandle | undefined = undefined;
    constructor(request: A, response: B) {
      this[ARGS] = [request, response];
    }
    get decision(): Decision {
      return decision;
    }
    identify(user: IdentifyOptions) {
      return full(this).identify(user);
    }
    trackLogin(options: TrackLoginOptions) {
      return full(this).trackLogin(options);
    }
    trackSignup(options: TrackSignupOptions) {
      return full(this).trackSignup(options);
    }
    trackCustom(name: string, properties?: Record<string, unknown>) {
      return full(this).trackCustom(name, properties);
    }
    toJSON(): Decision {
      return decision;
    }
  }
  const full = (handle: LazyState<A, B>): VigilHandle => {
    handle[FULL] ??= build(...handle[ARGS]);
    return handle[FULL];
  };
  Object.defineProperty(LazyHandle.prototype, HANDLE, { value: true });
  // The decision's fields (action, protected, reasons...) read through, as on a full handle.
  Object.setPrototypeOf(LazyHandle.prototype, decision);
  return LazyHandle as unknown as new (request: A, response: B) => VigilHandle;
}

/** The decision behind a handle (or the decision itself). */
export function decisionOf(value: Decision | VigilHandle): Decision {
  return typeof value === 'object' && value !== null && (value as { [HANDLE]?: unknown })[HANDLE] === true ? (value as VigilHandle).decision : (value as Decision);
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
