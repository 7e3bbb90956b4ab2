// The decision pipeline (`vigil.protect`): the route (the framework's choice or the
// `routes` list, exclusions carved), the request's context and event, the device cookie
// (read, or issued once per request), the provider asked within its timeout
// (consult.ts), the policy, then the decision built (decision.ts), its pending state
// filed for the outcome, and `onDecision`.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { bindingOf, challengeResultOf, type Presented } from '../challenge/index.js';
import { levelOf, type PowCheck } from '../challenge/pow.js';
import type { RequestContext, RequestInfo } from '../context/request.js';
import type { Decision } from '../decision/decision.js';
import { describeError } from '../logging/logger.js';
import type { ProviderEvent } from '../providers/types.js';
import type { CompiledRoute } from '../routing/routes.js';
import { answered, askProvider, CLOSED, type Consulted, failed, policyOf } from './consult.js';
import { type InFlight, type Issued, markIssued, type Pending, type Runtime } from './runtime.js';
import { reasonOf } from './verdict.js';

/** The `$challenge` event of a checked solution (`$succeeded` or `$failed`, with why). */
function challengeEvent(event: ProviderEvent, check: PowCheck & { kind: string }): ProviderEvent {
  const logged: ProviderEvent = Object.assign({}, event);
  logged.type = '$challenge';
  logged.status = check.passed ? '$succeeded' : '$failed';
  logged.timestamp = Date.now();
  logged.properties = { ...(event.properties ?? {}), challenge: check.kind, reason: check.reason, level: check.level ?? null, route: event.name ?? null };
  return logged;
}

/** Public peers sending X-Forwarded-For before Vigil says once that it ignores them. */
const FORWARDED_FOR_WARN_AFTER = 10;

/** `vigil.protect` of the instance whose runtime is `rt`. */
export function createProtect(rt: Runtime): (req: RequestInfo, explicitRoute?: CompiledRoute) => Promise<Decision> {
  const { routing, buildContext, identity, clients, deviceCookies, provider, logger, onDecision, excludedDecision, unprotectedDecision, challenges } = rt.config;
  let forwardedForFromPublicPeer = 0;

  /** What the request says of the integration, logged once per kind. */
  const diagnose = (req: RequestInfo, route: CompiledRoute, context: RequestContext, forwardedForIgnored: boolean): void => {
    if (route.needsBody && req.body === undefined) {
      rt.warnOnce(
        'VIGIL_W_BODY_NOT_PARSED',
        `Route ${route.name} reads user fields from body.*, but the request has no parsed body. Parse bodies before Vigil decides (Express: express.json() and express.urlencoded() before the middleware; Fastify and Nest parse JSON themselves, add @fastify/formbody for forms).`,
        { route: route.name },
      );
    }
    if (context.ip === undefined) {
      rt.warnOnce('VIGIL_W_NO_CLIENT_IP', "No client IP could be found for a request. On a unix socket behind a local proxy (no socket address), opt in with ip.trustedProxies: ['unix'] (only if the app listens on nothing else); on TCP, a client that reset the connection before Vigil ran has no address either. Otherwise check that the adapter passes the socket address, or configure ip.ipHeaders for your proxy.");
    } else if (forwardedForIgnored && !rt.hasWarned('VIGIL_W_FORWARDED_FOR_UNTRUSTED')) {
      if (++forwardedForFromPublicPeer >= FORWARDED_FOR_WARN_AFTER) {
        rt.warnOnce(
          'VIGIL_W_FORWARDED_FOR_UNTRUSTED',
          `X-Forwarded-For keeps arriving from public peers that are not trusted proxies (e.g. ${context.ip}), so Vigil ignores it and uses the peer's address. If the app sits behind a CDN or load balancer, trust it by address: ip.preset ("cloudflare") for a known edge, or its ranges in ip.trustedProxies (ip.trustedProxyDepth only when the app cannot be reached around its proxies); if not, clients are trying to spoof their address and nothing needs changing.`,
          { peer: context.ip },
        );
      }
    }
  };

  return async (req, explicitRoute) => {
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
    // A challenge solution, and the form the challenge page sealed: put back before
    // anything reads the body (the route's user fields, the app's handler).
    let presented: Presented | undefined;
    let restored = false;
    if (challenges !== undefined) {
      presented = challenges.presented(req);
      if (presented !== undefined) restored = challenges.restore(req, presented);
    }
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
        flight = rt.inFlightOf(req);
        issued = flight?.issued;
        if (issued === undefined) {
          const cookie = deviceCookies.issue(req);
          issued = { id: cookie.id, recorded: false };
          deviceHeaders = { 'set-cookie': cookie.setCookie };
          if (flight === undefined) {
            flight = { issued, decided: undefined };
            rt.noteInFlight(req, flight);
          } else flight.issued = issued;
        }
        deviceId = issued.id;
        markIssued(event, issued);
      }
      // Only the id reaches the provider: never the cookie's value, whose signature
      // would let whoever reads it present the device.
      event.deviceId = deviceId;
    }
    diagnose(req, route, context, forwardedForIgnored);
    rt.prepareEvent(event, req);

    let consulted: Consulted;
    if (rt.closed) consulted = CLOSED;
    else {
      try {
        consulted = answered(await rt.withTimeout(askProvider(provider, event)));
      } catch (error) {
        consulted = failed(rt, error, route);
      }
    }
    let policy = policyOf(rt, route, consulted);
    const { verdict } = consulted;
    // A solution is checked (and spent) only when the policy challenges: an allowed
    // request keeps it, a denied one is blocked whatever it carries, and nothing a client
    // sends makes Vigil ask a CAPTCHA vendor unless the request is being challenged.
    let check: (PowCheck & { kind: string }) | undefined;
    if (presented !== undefined && challenges !== undefined && policy.verdict === 'challenge') {
      // At least the level this request calls for now: a solution of an easier challenge
      // (collected while the risk was lower) does not answer a harder one.
      check = await challenges.check(presented, bindingOf(route, event), restored, levelOf(verdict?.risk, false));
      // Castle's vocabulary: the provider hears of every solution, passed or failed (the
      // embedded engine counts a failed one as evidence against the address); not of a
      // token its CAPTCHA vendor could not be asked about, which says nothing of the client.
      if (check.reason !== 'unavailable') void rt.log(challengeEvent(event, check));
      // A passed challenge answers the policy's challenge: the request goes on.
      if (check.passed) policy = { ...policy, action: 'allow', wouldAction: 'allow', reason: `${policy.reason}; challenge passed` };
    }
    rt.stats.decisions++;
    const failoverReason = consulted.failoverReason ?? (verdict?.failover === true ? reasonOf(verdict.failoverReason, 'provider failover') : undefined);
    const state: Pending = {
      route,
      event,
      issued,
      request: req,
      outcome: undefined,
      memo: verdict?.memo,
      // A CAPTCHA vendor that could not be asked is no failure of the client's: the next
      // challenge is the proof of work, at the level the risk calls for. Nor is a solution
      // of its own presented again (a reload of a page whose URL kept it): no harder challenge.
      challengeFailed: check !== undefined && !check.passed && check.reason !== 'unavailable' && check.reason !== 'replayed',
      captchaDown: check?.reason === 'unavailable',
    };
    const challenge = check === undefined ? undefined : challengeResultOf(check);
    const decision = rt.buildDecision({ start, requestId, route, context, policy, verdict, failoverReason, extraHeaders: deviceHeaders, deviceId: event.deviceId, state, challenge });
    // Found already when the device was issued just now, or on a request decided before.
    flight ??= rt.inFlightOf(req);
    if (flight === undefined) rt.noteInFlight(req, { issued: undefined, decided: state });
    else flight.decided = state;
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
}
