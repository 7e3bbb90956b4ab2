// createVigil: the assembly of a configured Vigil. Its options are checked and compiled
// in pipeline/config.ts; what is left here is what shares one instance's state: the
// decision pipeline (protect: route, context, device cookie, provider with its timeout
// and failover, policy, then pipeline/decision.ts builds the decision), enforcement
// (block, redirect, challenge), outcome logging after the response, explicit tracking
// and admin calls, and the lifecycle (close, stats). Public types: pipeline/types.ts.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { getHeader } from './context/headers.js';
import type { RequestContext, RequestInfo } from './context/request.js';
import type { Decision } from './decision/decision.js';
import { applyPolicy, failoverPolicy, type PolicyResult } from './decision/policy.js';
import type { RenderedResponse } from './decision/responses.js';
import { VigilConfigError, VigilProviderError } from './errors.js';
import type { EventStatus, EventType } from './events.js';
import { createIncidentTracker } from './logging/incidents.js';
import { describeError } from './logging/logger.js';
import { compileConfig } from './pipeline/config.js';
import { buildDecision, type DecisionParts, stateOf } from './pipeline/decision.js';
import type { Vigil, VigilConfig } from './pipeline/types.js';
import { checkVerdict, reasonOf } from './pipeline/verdict.js';
import { givesPlainSignals } from './providers/plain-data.js';
import type { Provider, ProviderEvent, Verdict } from './providers/types.js';
import type { OutcomeResponse } from './routing/outcome.js';
import { type CompiledRoute, compileRoute, type RouteDefinition, type UserIdentity } from './routing/routes.js';
import { decisionOf } from './tracking/handle.js';
import { identityOf, VigilUnsupportedError } from './tracking/users.js';

export { VigilProviderError } from './errors.js';
export type { ChallengeContext, EnforceIO, FailoverStrategy, Vigil, VigilConfig } from './pipeline/types.js';

/** What Vigil keeps of a decision until its outcome is logged. */
interface Pending {
  readonly route: CompiledRoute;
  readonly event: ProviderEvent;
  /** The device issued on the decision's request, whose freshness its outcome follows. */
  readonly issued: { id: string; recorded: boolean } | undefined;
  /** The request decided on: the outcome rules read it (redirect target, session cookie). */
  readonly request: RequestInfo;
  /** The outcome logged for the decision, automatic or explicit. */
  outcome: Extract<EventStatus, '$succeeded' | '$failed'> | undefined;
  /** The provider's `Verdict.memo`, handed back on the outcome's event. */
  readonly memo: unknown;
}



/** The request's Accept header, read as every header is (any case, lists joined). */
const acceptOf = (request: RequestInfo): string | undefined => getHeader(request.headers, 'Accept');

const TIMED_OUT = Symbol('timed out');
const FAILED = Symbol('failed');
const VERDICT_RANK: Readonly<Record<PolicyResult['verdict'], number>> = { allow: 0, challenge: 1, deny: 2 };
const FORWARDED_FOR_WARN_AFTER = 10;




/**
 * Creates a Vigil from its configuration: validates every option (throwing a
 * {@link VigilConfigError} that names the option, the value and the fix), compiles
 * routes and patterns once, and returns what adapters call.
 *
 * @example
 * const vigil = createVigil({
 *   mode: 'blocking',
 *   routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
 *   uriExclusion: ['/static'],
 * })
 * const decision = await vigil.protect(requestInfo)
 * if (decision.action === 'block') {
 *   const { status, headers, body } = vigil.respond(decision, requestInfo.headers.accept as string)!
 * }
 */
export function createVigil(config: VigilConfig = {}): Vigil {
  const { mode, failover, timeout, logger, provider, routing, respond, buildContext, onChallenge, onDecision, unprotectedDecision, excludedDecision, identity, clients, deviceCookies, policyOptions } = compileConfig(config);
  // The devices issued on a request still in flight, so that tracking and identify calls
  // on that same request know its new device, and whether it is still new: once a login
  // or sign-up outcome has been recorded with it (a failure, a success), it has a history
  // in the store like any returning device.
  // Also the decision of a request still in flight (`decided`), so that an explicit
  // trackLogin on it replaces the automatic outcome rather than doubling it. One WeakMap
  // entry per request for both (an entry costs some hundred nanoseconds and collector work).
  type Issued = { id: string; recorded: boolean };
  type InFlight = { issued: Issued | undefined; decided: Pending | undefined };
  const inFlight = new WeakMap<object, InFlight>();
  const inFlightOf = (req: RequestInfo): InFlight | undefined => (typeof req === 'object' && req !== null ? inFlight.get(req) : undefined);
  const issuedTo = (req: RequestInfo): Issued | undefined => inFlightOf(req)?.issued;
  /** Marks `event` fresh while its issued device has no recorded outcome, and records a login's or sign-up's. */
  const markIssued = (event: ProviderEvent, issued: Issued): void => {
    if (issued.recorded) delete event.deviceFresh;
    else event.deviceFresh = true;
    if ((event.type === '$login' || event.type === '$registration') && (event.status === '$failed' || event.status === '$succeeded')) issued.recorded = true;
  };
  /** The request's device on an event: the id of a valid cookie, or the one issued on this request (`deviceFresh` until an outcome is recorded with it). */
  const setDevice = (event: ProviderEvent, req: RequestInfo): void => {
    if (deviceCookies === undefined) return;
    const presented = deviceCookies.read(req);
    if (presented !== undefined) {
      event.deviceId = presented;
      return;
    }
    const issued = issuedTo(req);
    if (issued !== undefined) {
      event.deviceId = issued.id;
      markIssued(event, issued);
    }
  };
  // Per-decision state for the after-response log, without putting it on the frozen
  // decision (the event holds raw identifiers that must not travel with it).
  // `issued`: the device issued on the decision's request, whose freshness its outcome follows.
  // `outcome`: what was logged for it (one outcome per decision; see logOutcome).
  // It lives in the decision's private field (see pipeline/decision.ts): `pendingOf`.
  const pendingOf = (decision: Decision): Pending | undefined => stateOf(decision) as Pending | undefined;
  const inFlightLogs = new Set<Promise<unknown>>();
  const warned = new Set<string>();
  let forwardedForFromPublicPeer = 0;
  let closed = false;
  const stats = { decisions: 0, failovers: 0, incidents: 0 };
  // Decisions that fail over and outcomes that cannot be logged are one incident of the
  // provider: one line when it starts, a summary a minute, one when it ends (after a
  // quiet period, so a flapping store is one incident). See logging/incidents.ts.
  const incidents = createIncidentTracker({
    logger,
    codes: { start: 'VIGIL_W_FAILOVER', ongoing: 'VIGIL_W_FAILOVER_ONGOING', end: 'VIGIL_I_RECOVERED' },
    fields: { provider: provider.name },
    subject: `Vigil's provider (${provider.name})`,
  });
  const outcomeFailed = (error: unknown, requests: number) => {
    const own = (error as { failoverReason?: unknown } | null)?.failoverReason;
    const reason = `log: ${typeof own === 'string' ? own : 'provider error'}`;
    if ((error as { failover?: unknown } | null)?.failover === false) reportProviderError(error, { name: 'provider.log' } as CompiledRoute);
    if (incidents.failure(reason, { code: 'VIGIL_W_LOG_FAILED', requests, message: `provider.log failed (${reason}); further failures are counted in one summary a minute until the provider recovers`, details: { err: describeError(error) } })) stats.incidents++;
  };
  const outcomeTimedOut = (requests: number) => {
    if (incidents.failure('log: timeout', { code: 'VIGIL_W_LOG_TIMEOUT', requests, message: 'provider.log did not answer in time; further failures are counted in one summary a minute until the provider recovers' })) stats.incidents++;
  };

  /** A configuration or integration error of the provider, logged once per kind, as an error, with its fix. */
  const reportProviderError = (error: unknown, route: CompiledRoute) => {
    const e = error as { name?: unknown; status?: unknown; option?: unknown; fix?: unknown };
    const status = typeof e.status === 'number' ? e.status : undefined;
    const code = status === 401 || status === 403 ? 'VIGIL_E_PROVIDER_AUTH' : 'VIGIL_E_PROVIDER_ERROR';
    const key = `${code}:${status}:${String(e.name)}`;
    if (warned.has(key)) return;
    warned.add(key);
    const fix = typeof e.fix === 'string' ? e.fix : 'Check the provider\'s options and the requests Vigil sends it.';
    logger.error(
      { code, provider: provider.name, route: route.name, status, ...(typeof e.option === 'string' ? { option: e.option, value: '(hidden)' } : {}), fix, err: describeError(error) },
      `${provider.name} refused Vigil's request${status === undefined ? '' : ` (HTTP ${status})`}: a configuration or integration error, not an outage. ${fix} Decisions fail over with strategy ${failover} meanwhile; this is logged once.`,
    );
  };

  const warnOnce = (code: string, message: string, details: object = {}) => {
    if (warned.has(code)) return;
    warned.add(code);
    logger.warn({ code, ...details }, message);
  };

  const diagnose = (req: RequestInfo, route: CompiledRoute, context: RequestContext, forwardedForIgnored: boolean) => {
    if (route.needsBody && req.body === undefined) {
      warnOnce(
        'VIGIL_W_BODY_NOT_PARSED',
        `Route ${route.name} reads user fields from body.*, but the request has no parsed body. Parse bodies before Vigil decides (Express: express.json() and express.urlencoded() before the middleware; Fastify and Nest parse JSON themselves, add @fastify/formbody for forms).`,
        { route: route.name },
      );
    }
    if (context.ip === undefined) {
      warnOnce('VIGIL_W_NO_CLIENT_IP', "No client IP could be found for a request. On a unix socket behind a local proxy (no socket address), opt in with ip.trustedProxies: ['unix'] (only if the app listens on nothing else); on TCP, a client that reset the connection before Vigil ran has no address either. Otherwise check that the adapter passes the socket address, or configure ip.ipHeaders for your proxy.");
    } else if (forwardedForIgnored && !warned.has('VIGIL_W_FORWARDED_FOR_UNTRUSTED')) {
      if (++forwardedForFromPublicPeer >= FORWARDED_FOR_WARN_AFTER) {
        warnOnce(
          'VIGIL_W_FORWARDED_FOR_UNTRUSTED',
          `X-Forwarded-For keeps arriving from public peers that are not trusted proxies (e.g. ${context.ip}), so Vigil ignores it and uses the peer's address. If the app sits behind a CDN or load balancer, trust it by address: ip.preset ("cloudflare") for a known edge, or its ranges in ip.trustedProxies (ip.trustedProxyDepth only when the app cannot be reached around its proxies); if not, clients are trying to spoof their address and nothing needs changing.`,
          { peer: context.ip },
        );
      }
    }
  };

  /** What the provider reads from the raw request for itself (a request token, a vendor cookie). */
  const prepareEvent = (event: ProviderEvent, req: RequestInfo): void => {
    if (typeof provider.prepare !== 'function') return;
    try {
      const prepared = provider.prepare(req);
      if (prepared?.requestToken !== undefined) event.requestToken = prepared.requestToken;
      if (prepared?.extras !== undefined) event.extras = Object.freeze({ ...prepared.extras });
    } catch (error) {
      logger.warn({ code: 'VIGIL_W_PREPARE_FAILED', provider: provider.name, err: describeError(error) }, 'provider.prepare threw; going on without its extras');
    }
  };

  const askProvider = (event: ProviderEvent): Promise<unknown> => {
    try {
      return Promise.resolve(event.user.id !== undefined ? provider.risk(event) : provider.filter(event));
    } catch (error) {
      return Promise.reject(error);
    }
  };

  // One promise and one timer per call, nothing else: this runs for every decision.
  // (Promise.race plus a timer promise plus finally() costs three promises more.) A
  // provider that never waits on I/O settles in microtasks, before any timer could
  // fire: it gets no timer at all.
  const inProcess = provider.inProcess === true;
  const withTimeout = <T>(promise: Promise<T>): Promise<T | typeof TIMED_OUT> =>
    inProcess ? promise : new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
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

  const plainSignals = givesPlainSignals(provider);
  const finish = (parts: DecisionParts): Decision => {
    parts.plainSignals = plainSignals;
    return buildDecision(parts, mode, provider.name);
  };

  const protect = async (req: RequestInfo, explicitRoute?: CompiledRoute): Promise<Decision> => {
    let route: CompiledRoute | undefined;
    if (explicitRoute) {
      // A route the framework chose is decided whatever the exclusions say; a broad
      // one from the `routes` list (a wildcard Fastify matched) is carved as usual.
      if (explicitRoute.broad && routing.isExcluded(req)) return excludedDecision;
      route = explicitRoute;
    } else {
      route = routing.match(req);
      if (!route) return routing.isExcluded(req) ? excludedDecision : unprotectedDecision;
    }
    const start = performance.now();
    const requestId = randomUUID();
    const { context, forwardedForIgnored } = buildContext.detailed(req);
    const event: ProviderEvent = {
      type: route.event,
      status: '$attempted',
      name: route.name,
      requestId,
      timestamp: Date.now(),
      context,
      user: identity(route.readUser(req)),
    };
    const routeClients = route.clients ?? clients;
    if (routeClients !== undefined) event.clients = routeClients;
    let flight: InFlight | undefined;
    let deviceHeaders: Record<string, string> | undefined;
    let issued: Issued | undefined;
    if (deviceCookies) {
      let deviceId = deviceCookies.read(req);
      if (deviceId === undefined) {
        // No valid cookie (none, tampered, or signed with another key): a new device,
        // issued once per request — a second decision on it reuses the id, adds no header.
        issued = issuedTo(req);
        if (issued === undefined) {
          const cookie = deviceCookies.issue(req);
          issued = { id: cookie.id, recorded: false };
          deviceHeaders = { 'set-cookie': cookie.setCookie };
          if (typeof req === 'object' && req !== null) {
            flight = inFlight.get(req);
            if (flight === undefined) {
              flight = { issued, decided: undefined };
              inFlight.set(req, flight);
            } else flight.issued = issued;
          }
        }
        deviceId = issued.id;
        markIssued(event, issued);
      }
      // Only the id reaches the provider: never the cookie's value, whose signature
      // would let whoever reads it present the device.
      event.deviceId = deviceId;
    }
    diagnose(req, route, context, forwardedForIgnored);
    prepareEvent(event, req);

    let verdict: Verdict | undefined;
    let failoverReason: string | undefined;
    let failure: unknown;
    if (closed) {
      failoverReason = 'closed';
    } else {
      try {
        const answer = await withTimeout(askProvider(event));
        if (answer === TIMED_OUT) {
          failoverReason = 'timeout';
        } else {
          const checked = checkVerdict(answer);
          if (typeof checked === 'string') {
            failoverReason = 'invalid verdict';
            failure = new Error(checked);
          } else if (checked.failover === true && checked.action === undefined) {
            // The provider could not decide and says so: the strategy decides.
            failoverReason = reasonOf(checked.failoverReason, 'provider failover');
          } else {
            // A verdict with `failover: true` and an action is the provider's own
            // failover (set explicitly in its options): its action stands and the
            // decision says so below.
            verdict = checked;
          }
        }
      } catch (error) {
        // A provider marks configuration and integration errors (a remote API's 401/403:
        // a bad secret; another 4xx) with `failover: false`. They fail over like any
        // fault — never a visitor's 500 unless the strategy is 'throw' — and are logged
        // once, as errors, with their fix.
        if ((error as { failover?: unknown } | null)?.failover === false) reportProviderError(error, route);
        failure = error;
        failoverReason = reasonOf((error as { failoverReason?: unknown } | null)?.failoverReason, 'provider error');
        // What the provider could still decide without its failed part (the embedded
        // engine's request-only signals when its store failed), applied below.
        const partial = (error as { verdict?: unknown } | null)?.verdict;
        if (partial !== undefined && typeof checkVerdict(partial) !== 'string') verdict = partial as Verdict;
      }
    }

    let policy: PolicyResult;
    if (failoverReason !== undefined) {
      stats.failovers++;
      // One line per incident, not per request: an outage must not flood the logs it is
      // reported in.
      const started = incidents.failure(failoverReason, {
        // Outcome logs may have started the incident: decisions failing over get a line too.
        severity: 1,
        message: `Vigil failed over (${failoverReason}) with strategy ${failover}; further failovers are counted in one summary a minute until decisions succeed again`,
        details: { route: route.name, err: describeError(failure) },
      });
      if (started) stats.incidents++;
      else logger.debug({ code: 'VIGIL_W_FAILOVER', reason: failoverReason, provider: provider.name, route: route.name }, 'Vigil failed over again');
      // Signals from the request alone keep deciding: their verdict stands when it is
      // stronger than the strategy (a python-requests login is blocked under 'allow').
      const partial = verdict === undefined ? undefined : applyPolicy(verdict, policyOptions);
      if (failover === 'throw' && mode === 'blocking' && partial?.verdict !== 'deny') throw new VigilProviderError(failoverReason, failure);
      policy = failoverPolicy(failover, mode, policyOptions.canChallenge, policyOptions.redirect, failoverReason);
      if (partial !== undefined && partial.verdict !== 'allow' && VERDICT_RANK[partial.verdict] >= VERDICT_RANK[policy.verdict]) {
        policy = { ...partial, reason: `${partial.reason} (decided without what failed: ${failoverReason}; strategy ${failover})` };
      }
    } else {
      if (verdict?.failover === true) {
        // The provider answered from its own failover: an outage all the same, reported
        // through the same incident as Vigil's own failovers.
        stats.failovers++;
        const reason = reasonOf(verdict.failoverReason, 'provider failover');
        if (incidents.failure(reason, { severity: 1, message: `${provider.name} failed over (${reason}) with its own strategy (${verdict.action}); further failovers are counted in one summary a minute until decisions succeed again`, details: { route: route.name } })) stats.incidents++;
      } else incidents.success();
      policy = applyPolicy(verdict as Verdict, policyOptions);
    }
    stats.decisions++;
    const providerFailover = verdict?.failover === true ? reasonOf(verdict.failoverReason, 'provider failover') : undefined;
    const state: Pending = { route, event, issued, request: req, outcome: undefined, memo: verdict?.memo };
    const decision = finish({ start, requestId, route, context, policy, verdict, failoverReason: failoverReason ?? providerFailover, extraHeaders: deviceHeaders, deviceId: event.deviceId, state });
    if (typeof req === 'object' && req !== null) {
      // Found already when the device was issued just now, or on a request decided before.
      flight ??= inFlight.get(req);
      if (flight === undefined) inFlight.set(req, { issued: undefined, decided: state });
      else flight.decided = state;
    }
    if (onDecision) {
      try {
        onDecision(decision, req);
      } catch (error) {
        logger.warn({ code: 'VIGIL_W_ON_DECISION', err: describeError(error) }, 'onDecision threw; the decision stands');
      }
    }
    logger.debug({ requestId, route: route.name, action: decision.action, wouldAction: decision.wouldAction, risk: decision.risk, threatCode: decision.threatCode }, 'vigil decision');
    return decision;
  };

  const safeRespond = (given: Decision, acceptHeader: string | undefined): RenderedResponse | undefined => {
    const decision = decisionOf(given);
    try {
      return respond(decision, acceptHeader);
    } catch (error) {
      // The app's own blockResponse renderer failed: answer with a bare block rather
      // than let the request fail open or crash.
      logger.error({ code: 'VIGIL_E_BLOCK_RESPONSE_FAILED', err: describeError(error) }, 'blockResponse threw; sending a plain 403');
      if (decision.action !== 'block' && decision.action !== 'redirect') return undefined;
      return { status: 403, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, body: JSON.stringify({ blocked: true, requestId: decision.requestId }) };
    }
  };

  /** An event for a tracking call: the request's context, a fresh id, the device. */
  const trackingEvent = (req: RequestInfo, type: EventType, status: ProviderEvent['status'], name: string | undefined, user: UserIdentity, properties?: Record<string, unknown>): ProviderEvent => {
    const event: ProviderEvent = { type, status, name, requestId: randomUUID(), timestamp: Date.now(), context: buildContext(req), user: identity(user) };
    if (properties && typeof properties === 'object') event.properties = { ...properties };
    setDevice(event, req);
    prepareEvent(event, req);
    return event;
  };

  const track = async (event: ProviderEvent): Promise<void> => {
    if (closed) return;
    try {
      const result = await withTimeout(Promise.resolve().then(() => provider.log(event)));
      if (result === TIMED_OUT) outcomeTimedOut(1);
      else incidents.success();
    } catch (error) {
      outcomeFailed(error, 1);
    }
  };

  // Always a promise: an unsupported operation rejects rather than throwing synchronously.
  const admin = <K extends 'blockUser' | 'unblockUser' | 'listBlockedUsers' | 'reportDevice' | 'approveDevice' | 'getDevicesForUser'>(operation: K): NonNullable<Provider[K]> => {
    const fn = provider[operation];
    if (typeof fn !== 'function') return (async () => Promise.reject(new VigilUnsupportedError(operation, provider.name))) as unknown as NonNullable<Provider[K]>;
    return (async (...args: unknown[]) => (fn as (...a: unknown[]) => unknown).apply(provider, args)) as unknown as NonNullable<Provider[K]>;
  };

  const IDENTIFY_ROUTE = { event: '$profile_update', name: 'identify' } as CompiledRoute;

  // A handle (req.vigil) is accepted wherever a decision is: adapters and apps pass either.
  const outcomeOf = (decision: Decision, response: number | OutcomeResponse) => {
    const state = pendingOf(decisionOf(decision));
    return state?.route.outcome(response, state.request);
  };
  /**
   * Whether an explicit outcome for `req` is to be logged: not when the decision on that
   * request already logged the same one (automatically or explicitly). A different one
   * is logged and replaces it, so that the automatic outcome that follows is skipped.
   */
  const explicitOutcome = (req: RequestInfo, type: EventType, status: Extract<EventStatus, '$succeeded' | '$failed'>): boolean => {
    const state = inFlightOf(req)?.decided;
    if (state === undefined || state.route.event !== type) return true;
    if (state.outcome === status) {
      logger.debug({ code: 'VIGIL_D_OUTCOME_REPEATED', requestId: state.event.requestId, route: state.route.name, status }, 'this outcome was already logged for the request; not logging it again');
      return false;
    }
    state.outcome = status;
    return true;
  };

  return {
    mode,
    provider,
    onChallenge,
    routes: routing.routes,
    logger,
    stats,
    unprotectedDecision,
    excludedDecision,
    match: (req) => routing.match(req),
    isExcluded: (req) => routing.isExcluded(req),
    route: (definition, option = 'route') =>
      // A route given explicitly (per-route middleware, a decorator) applies wherever it
      // is mounted: without a path it matches every path, and it is the framework's
      // choice, which exclusions do not override.
      compileRoute(
        {
          ...definition,
          path: definition.path ?? '/*',
          // A $custom event still needs its own name; other events name the route after themselves.
          name: definition.name ?? (definition.path === undefined && definition.event !== '$custom' ? definition.event : undefined),
        } as RouteDefinition,
        option,
        { chosen: definition.path === undefined, outcome: config.outcome },
      ),
    protect,
    respond: safeRespond,
    async enforce(decision, request, io) {
      for (const [name, value] of Object.entries(decision.responseHeaders)) {
        try {
          // A copy: some frameworks (Fastify) push later values into the array they were given.
          if (!io.headersSent()) io.appendHeader(name, typeof value === 'string' ? value : [...value]);
        } catch (error) {
          logger.warn({ code: 'VIGIL_W_RESPONSE_HEADER', header: name, err: describeError(error) }, 'could not append a response header');
        }
      }
      const rendered = safeRespond(decision, acceptOf(request));
      if (rendered) {
        if (!io.headersSent()) await io.send(rendered);
        return 'handled';
      }
      if (decision.action !== 'challenge' || !onChallenge) return 'proceed';
      let proceeded = false;
      try {
        await onChallenge({
          request,
          decision,
          proceed: () => {
            proceeded = true;
          },
          raw: io.raw,
        });
      } catch (error) {
        // The app's CAPTCHA hand-off failed: the request was judged risky, so it is not
        // let through; it gets the block response instead.
        logger.error({ code: 'VIGIL_E_ON_CHALLENGE_FAILED', err: describeError(error), requestId: decision.requestId }, 'onChallenge threw; answering with the block response');
        if (!io.headersSent()) await io.send(safeRespond({ ...decision, action: 'block' }, acceptOf(request)) as RenderedResponse);
        return 'handled';
      }
      if (proceeded) return 'proceed';
      if (!io.headersSent()) {
        logger.warn({ code: 'VIGIL_W_CHALLENGE_UNANSWERED', requestId: decision.requestId }, 'onChallenge neither answered nor proceeded; answering with the block response');
        await io.send(safeRespond({ ...decision, action: 'block' }, acceptOf(request)) as RenderedResponse);
      }
      return 'handled';
    },
    outcomeOf,
    needsResponseBody: (given) => pendingOf(decisionOf(given))?.route.outcome.needsBody === true,
    logOutcome(given, response) {
      const decision = decisionOf(given);
      const state = pendingOf(decision);
      if (!state || closed || decision.action === 'block' || decision.action === 'redirect') return;
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
        inFlightLogs.delete(tracked);
        try {
          if (error !== undefined || result === FAILED) outcomeFailed(error, requests);
          else if (result === TIMED_OUT) outcomeTimedOut(requests);
          else incidents.success();
        } catch {
          // A logger that throws loses its line, not the process.
        }
      };
      const tracked: Promise<void> = withTimeout(logged).then(settled, (error: unknown) => settled(FAILED, error));
      inFlightLogs.add(tracked);
    },
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
          const answer = await withTimeout(Promise.resolve().then(() => provider.identify?.(event)));
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
      const decision = finish({ start, requestId: event.requestId, route: IDENTIFY_ROUTE, context: event.context, policy, verdict, failoverReason: undefined, deviceId: event.deviceId });
      return { blocked, decision };
    },
    blockUser: (userId, options = {}) => admin('blockUser')(userId, { ...(options.reason === undefined ? {} : { reason: options.reason }), ...(options.ttl === undefined ? {} : { ttlMs: options.ttl }) }),
    unblockUser: (userId) => admin('unblockUser')(userId),
    listBlockedUsers: () => admin('listBlockedUsers')(),
    reportDevice: (deviceId, options = {}) => admin('reportDevice')(deviceId, { ...(options.reason === undefined ? {} : { reason: options.reason }), ...(options.ttl === undefined ? {} : { ttlMs: options.ttl }) }),
    approveDevice: (deviceId) => admin('approveDevice')(deviceId),
    getDevicesForUser: (userId) => admin('getDevicesForUser')(userId),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...inFlightLogs]);
      if (typeof provider.close === 'function') {
        const result = await withTimeout(Promise.resolve().then(() => provider.close?.())).catch((error) => {
          logger.warn({ code: 'VIGIL_W_CLOSE_FAILED', err: describeError(error) }, 'provider.close failed');
        });
        if (result === TIMED_OUT) logger.warn({ code: 'VIGIL_W_CLOSE_TIMEOUT' }, 'provider.close did not finish in time');
      }
    },
  };
}
