// The state one Vigil instance shares between its jobs (deciding, enforcing, logging
// outcomes, tracking, admin calls, closing), and the small services they all use: the
// requests in flight (the device issued on a request, the decision made on it), the
// provider's timeout, the incident tracker and warnings logged once, the counters of
// `vigil.stats`, and the one function that builds a decision. Each job lives in its own
// file of this folder and is handed this object; vigil.ts assembles them.
import type { RequestInfo } from '../context/request.js';
import type { Decision } from '../decision/decision.js';
import type { VigilLogCode } from '../errors.js';
import type { EventStatus } from '../events.js';
import { createIncidentTracker, type IncidentTracker } from '../logging/incidents.js';
import { describeError } from '../logging/logger.js';
import { givesPlainSignals } from '../providers/plain-data.js';
import type { ProviderEvent } from '../providers/types.js';
import type { CompiledRoute } from '../routing/routes.js';
import type { CompiledConfig } from './config.js';
import { buildDecision, type DecisionParts, stateOf } from './decision.js';

/** A device issued on a request: its id, and whether an outcome was recorded with it yet. */
export interface Issued {
  readonly id: string;
  recorded: boolean;
}

/** What Vigil keeps of a decision until its outcome is logged (the decision's private state). */
export interface Pending {
  readonly route: CompiledRoute;
  readonly event: ProviderEvent;
  /** The device issued on the decision's request, whose freshness its outcome follows. */
  readonly issued: Issued | undefined;
  /** The request decided on: the outcome rules read it (redirect target, session cookie). */
  readonly request: RequestInfo;
  /** The outcome logged for the decision, automatic or explicit. */
  outcome: Extract<EventStatus, '$succeeded' | '$failed'> | undefined;
  /** The provider's `Verdict.memo`, handed back on the outcome's event. */
  readonly memo: unknown;
  /** The request presented a challenge solution that did not pass: the next challenge is harder. */
  readonly challengeFailed?: boolean;
  /** The third-party CAPTCHA's vendor could not be asked: the next challenge is the proof of work. */
  readonly captchaDown?: boolean;
}

/** What a request still in flight carries: the device issued on it, the decision made on it. */
export interface InFlight {
  issued: Issued | undefined;
  decided: Pending | undefined;
}

/** A provider call that did not answer within `timeout`. */
export const TIMED_OUT: unique symbol = Symbol('timed out');

/** Marks `event` fresh while its issued device has no recorded outcome, and records a login's or sign-up's. */
export function markIssued(event: ProviderEvent, issued: Issued): void {
  if (issued.recorded) delete event.deviceFresh;
  else event.deviceFresh = true;
  if ((event.type === '$login' || event.type === '$registration') && (event.status === '$failed' || event.status === '$succeeded')) issued.recorded = true;
}

/** The pending state of a decision this instance made, or undefined. */
export const pendingOf = (decision: Decision): Pending | undefined => stateOf(decision) as Pending | undefined;

/** One instance's shared state and services; see the file's opening comment. */
export class Runtime {
  readonly config: CompiledConfig;
  readonly stats = { decisions: 0, failovers: 0, incidents: 0 };
  /** Set by close(): decisions fail over with reason `closed`, outcomes and tracking stop. */
  closed = false;
  /** Outcome logs not settled yet: close() waits for them. */
  readonly logsInFlight = new Set<Promise<unknown>>();
  /**
   * Decisions that fail over and outcomes that cannot be logged are one incident of the
   * provider: one line when it starts, a summary a minute, one when it ends (after a
   * quiet period, so a flapping store is one incident). See logging/incidents.ts.
   */
  readonly incidents: IncidentTracker;
  // The devices issued on a request still in flight, so that tracking and identify calls
  // on that same request know its new device, and whether it is still new: once a login
  // or sign-up outcome has been recorded with it (a failure, a success), it has a history
  // in the store like any returning device. Also the decision of a request still in
  // flight, so that an explicit trackLogin on it replaces the automatic outcome rather
  // than doubling it. One WeakMap entry per request for both (an entry costs some hundred
  // nanoseconds and collector work).
  readonly #inFlight = new WeakMap<object, InFlight>();
  readonly #warned = new Set<string>();
  readonly #inProcess: boolean;
  readonly #plainSignals: boolean;

  constructor(config: CompiledConfig) {
    this.config = config;
    this.#inProcess = config.provider.inProcess === true;
    this.#plainSignals = givesPlainSignals(config.provider);
    this.incidents = createIncidentTracker({
      logger: config.logger,
      codes: { start: 'VIGIL_W_FAILOVER', ongoing: 'VIGIL_W_FAILOVER_ONGOING', end: 'VIGIL_I_RECOVERED' },
      fields: { provider: config.provider.name },
      subject: `Vigil's provider (${config.provider.name})`,
    });
  }

  /** What is known of a request still in flight. */
  inFlightOf(req: RequestInfo): InFlight | undefined {
    return typeof req === 'object' && req !== null ? this.#inFlight.get(req) : undefined;
  }

  /** Files what a request now carries (a device issued on it, its decision), once per request. */
  noteInFlight(req: RequestInfo, flight: InFlight): void {
    if (typeof req === 'object' && req !== null) this.#inFlight.set(req, flight);
  }

  /** The request's device on an event: the id of a valid cookie, or the one issued on this request (`deviceFresh` until an outcome is recorded with it). */
  setDevice(event: ProviderEvent, req: RequestInfo): void {
    const { deviceCookies } = this.config;
    if (deviceCookies === undefined) return;
    const presented = deviceCookies.read(req);
    if (presented !== undefined) {
      event.deviceId = presented;
      return;
    }
    const issued = this.inFlightOf(req)?.issued;
    if (issued !== undefined) {
      event.deviceId = issued.id;
      markIssued(event, issued);
    }
  }

  /** What the provider reads from the raw request for itself (a request token, a vendor cookie). */
  prepareEvent(event: ProviderEvent, req: RequestInfo): void {
    const { provider, logger } = this.config;
    if (typeof provider.prepare !== 'function') return;
    try {
      const prepared = provider.prepare(req);
      if (prepared?.requestToken !== undefined) event.requestToken = prepared.requestToken;
      if (prepared?.extras !== undefined) event.extras = Object.freeze({ ...prepared.extras });
    } catch (error) {
      logger.warn({ code: 'VIGIL_W_PREPARE_FAILED', provider: provider.name, err: describeError(error) }, 'provider.prepare threw; going on without its extras');
    }
  }

  /**
   * The provider's promise, or {@link TIMED_OUT} once `timeout` has passed. One promise
   * and one timer per call, nothing else: this runs for every decision (Promise.race plus
   * a timer promise plus finally() costs three promises more). A provider that never
   * waits on I/O (`inProcess`) settles in microtasks, before any timer could fire: it
   * gets no timer at all.
   */
  withTimeout<T>(promise: Promise<T>): Promise<T | typeof TIMED_OUT> {
    if (this.#inProcess) return promise;
    const { timeout } = this.config;
    return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
      const timer = setTimeout(resolve, timeout, TIMED_OUT);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** The frozen decision of `parts`, in this instance's mode, from its provider. */
  buildDecision(parts: DecisionParts): Decision {
    parts.plainSignals = this.#plainSignals;
    return buildDecision(parts, this.config.mode, this.config.provider.name);
  }

  /** True once `code` was logged by {@link warnOnce}. */
  hasWarned(code: VigilLogCode): boolean {
    return this.#warned.has(code);
  }

  /** Logs a warning the first time its code comes up, never again in this instance. */
  warnOnce(code: VigilLogCode, message: string, details: object = {}): void {
    if (this.#warned.has(code)) return;
    this.#warned.add(code);
    this.config.logger.warn({ code, ...details }, message);
  }

  /** A configuration or integration error of the provider, logged once per kind, as an error, with its fix. */
  reportProviderError(error: unknown, route: Pick<CompiledRoute, 'name'>): void {
    const { provider, logger, failover } = this.config;
    const e = error as { name?: unknown; status?: unknown; option?: unknown; fix?: unknown };
    const status = typeof e.status === 'number' ? e.status : undefined;
    const code = status === 401 || status === 403 ? 'VIGIL_E_PROVIDER_AUTH' : 'VIGIL_E_PROVIDER_ERROR';
    const key = `${code}:${status}:${String(e.name)}`;
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    const fix = typeof e.fix === 'string' ? e.fix : "Check the provider's options and the requests Vigil sends it.";
    logger.error(
      { code, provider: provider.name, route: route.name, status, ...(typeof e.option === 'string' ? { option: e.option, value: '(hidden)' } : {}), fix, err: describeError(error) },
      `${provider.name} refused Vigil's request${status === undefined ? '' : ` (HTTP ${status})`}: a configuration or integration error, not an outage. ${fix} Decisions fail over with strategy ${failover} meanwhile; this is logged once.`,
    );
  }

  /**
   * Logs an event to the provider within `timeout` (an explicit tracking call, a
   * `$challenge`), counting a failure or a timeout into the provider's incident. Never
   * throws; nothing after close().
   */
  async log(event: ProviderEvent): Promise<void> {
    if (this.closed) return;
    try {
      const result = await this.withTimeout(Promise.resolve().then(() => this.config.provider.log(event)));
      if (result === TIMED_OUT) this.logTimedOut(1);
      else this.incidents.success();
    } catch (error) {
      this.logFailed(error, 1);
    }
  }

  /** A `provider.log` (an outcome, a tracking call) that failed: part of the provider's incident. */
  logFailed(error: unknown, requests: number): void {
    const own = (error as { failoverReason?: unknown } | null)?.failoverReason;
    const reason = `log: ${typeof own === 'string' ? own : 'provider error'}`;
    if ((error as { failover?: unknown } | null)?.failover === false) this.reportProviderError(error, { name: 'provider.log' });
    if (this.incidents.failure(reason, { code: 'VIGIL_W_LOG_FAILED', requests, message: `provider.log failed (${reason}); further failures are counted in one summary a minute until the provider recovers`, details: { err: describeError(error) } })) this.stats.incidents++;
  }

  /** A `provider.log` that did not answer within `timeout`: part of the provider's incident. */
  logTimedOut(requests: number): void {
    if (this.incidents.failure('log: timeout', { code: 'VIGIL_W_LOG_TIMEOUT', requests, message: 'provider.log did not answer in time; further failures are counted in one summary a minute until the provider recovers' })) this.stats.incidents++;
  }
}
