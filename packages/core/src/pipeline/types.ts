// The public types of a configured Vigil: its options, the instance adapters call, and
// what they lend it. Types only: the pipeline (vigil.ts) and the request handle
// (tracking/handle.ts) both import them, neither from the other.
import type { ChallengeOptions } from '../challenge/index.js';
import type { HeaderScrubOptions } from '../context/headers.js';
import type { IpOptions } from '../context/ip.js';
import type { ContextOptions, RequestInfo } from '../context/request.js';
import type { Decision, Mode } from '../decision/decision.js';
import type { Thresholds } from '../decision/policy.js';
import type { RenderedResponse, ResponseOptions } from '../decision/responses.js';
import type { ThreatCodeLists } from '../decision/threat-codes.js';
import type { Clients } from '../engine/native-apps.js';
import type { EventStatus } from '../events.js';
import type { Logger } from '../logging/logger.js';
import type { Provider, ProviderFunction } from '../providers/types.js';
import type { OutcomeResponse } from '../routing/outcome.js';
import type { CompiledRoute, RouteDefinition, RoutingOptions } from '../routing/routes.js';
import type { DeviceCookieOptions } from '../tracking/device-cookie.js';
import type { BlockedUser, IdentifyOptions, TrackLoginOptions, TrackSignupOptions } from '../tracking/users.js';

/** What to do when the provider (or its store) fails or does not answer in time. */
export type FailoverStrategy = 'allow' | 'deny' | 'challenge' | 'throw';

/** What `onChallenge` receives: the request, the decision, and the way on to the route. */
export interface ChallengeContext<Raw = unknown> {
  /** The neutral request. */
  request: RequestInfo;
  /** The decision that asked for a challenge. */
  decision: Decision;
  /** Continue to the route as if allowed (e.g. after a valid CAPTCHA answer). */
  proceed: () => void;
  /** The framework's own objects: `{ req, res }` in Express, `{ request, reply }` in Fastify, `{ request, response }` in Nest. */
  raw: Raw;
}

/** Configuration of {@link createVigil}. CHEQ's option names where CHEQ has one. */
export interface VigilConfig extends RoutingOptions, ResponseOptions, Omit<ContextOptions, 'ip' | 'headers'> {
  /** `monitoring` (default) records what it would do; `blocking` acts. */
  mode?: Mode;
  /** Who scores events: a {@link Provider} or a scoring function. Default: the embedded engine, `localProvider()`. */
  provider?: Provider | ProviderFunction;
  /** Client-IP options. */
  ip?: IpOptions;
  /** Header allow/deny lists for what providers see. */
  headers?: HeaderScrubOptions;
  /** Which CHEQ threat codes block and which challenge. */
  threatCodes?: ThreatCodeLists;
  /** Risk thresholds. */
  thresholds?: Thresholds;
  /**
   * A custom challenge hand-off, instead of the built-in one: it answers the request
   * (a CAPTCHA page) or calls `proceed()` once the client passed.
   */
  onChallenge?: (ctx: ChallengeContext) => unknown;
  /**
   * The built-in proof-of-work challenge that blocking mode serves to a challenged
   * request when there is no `onChallenge`: options ({@link ChallengeOptions}), or
   * `false` to turn it off (challenged requests are then allowed, and start-up warns
   * `VIGIL_W_NO_CHALLENGE_HANDLER`). On by default.
   */
  challenge?: ChallengeOptions | false;
  /**
   * Who the protected routes serve, for routes that do not say: `'browser'` (web pages),
   * `'app'` (your own mobile apps' API) or `'any'`. Providers receive it on the event;
   * unset, the provider's default applies (the embedded engine's: `'browser'`).
   */
  clients?: Clients;
  /** What to do when the provider fails or times out. Default `allow`. */
  failover?: FailoverStrategy;
  /** Longest wait for a decision, in ms. Default 1000. */
  timeout?: number;
  /** Any pino-compatible logger. Silent by default. */
  logger?: Logger;
  /** Called with every decision on a protected route, for metrics. Errors are ignored. */
  onDecision?: (decision: Decision, req: RequestInfo) => void;
  /**
   * Identifiers (emails, usernames, phones) reach providers only as a truncated
   * SHA-256 (an email keeps its domain). Default false.
   */
  anonymize?: boolean;
  /**
   * Vigil's device cookie: a signed, first-party, HttpOnly, SameSite=Lax cookie
   * (`vigil_did`; `Secure` over HTTPS; 400 days) that gives each browser a device id,
   * set on protected responses only, in every mode and outcome, when the request brings
   * no valid one (a tampered or differently keyed cookie gets a new one). It holds a
   * random id and its signature, no personal data: a strictly necessary security cookie.
   * On by default (`true` or leaving it out); options to rename or key it; `false` turns
   * it off. The key: `secret` when given, else the provider's (the embedded engine's
   * `secret` covers it), else random per process — a start-up error over a shared store.
   */
  deviceCookie?: boolean | DeviceCookieOptions;
}

/** What an adapter lends {@link Vigil.enforce}: its framework's way to answer. */
export interface EnforceIO<Raw> {
  /** Appends a response header (several values: several headers). */
  appendHeader(name: string, value: string | readonly string[]): void;
  /** Writes a whole response rendered by core (status, headers, body). */
  send(response: RenderedResponse): void | Promise<void>;
  /** True once the app or a handler already started the response: nothing is written twice. */
  headersSent(): boolean;
  /** The framework's own objects, handed to `onChallenge` as `raw`. */
  raw: Raw;
}

/** A configured Vigil: what adapters call. */
export interface Vigil {
  /** The mode in force. */
  readonly mode: Mode;
  /** The provider in use. */
  readonly provider: Provider;
  /** The configured CAPTCHA hand-off, if any. */
  readonly onChallenge: ((ctx: ChallengeContext) => unknown) | undefined;
  /** The compiled routes of the configuration. */
  readonly routes: readonly CompiledRoute[];
  /** The logger (never throws). */
  readonly logger: Required<Logger>;
  /** The shared decision of unprotected requests, in this instance's mode (what `protect` returns for them). */
  readonly unprotectedDecision: Decision;
  /** The shared decision of excluded requests, in this instance's mode. */
  readonly excludedDecision: Decision;
  /**
   * Counters for metrics: decisions made on protected routes, those that failed over,
   * and failover incidents (a run of failovers ended by a successful decision).
   */
  readonly stats: Readonly<{ decisions: number; failovers: number; incidents: number }>;
  /**
   * The protected route a request matches, or undefined when it is excluded or
   * unprotected. Synchronous and allocation-free for unprotected requests, so an
   * adapter can skip everything else. `path` is the canonical path (`canonicalPath`).
   */
  match(req: Pick<RequestInfo, 'method' | 'path'>): CompiledRoute | undefined;
  /** True when `uriExclusion` excludes the request's canonical path. */
  isExcluded(req: Pick<RequestInfo, 'path'>): boolean;
  /**
   * Compiles a route at start-up for per-route use (`vigil.protect(req, route)`); the
   * `path` may be left out, as the framework's own route decides where it applies.
   */
  route(definition: Omit<RouteDefinition, 'path'> & { path?: RouteDefinition['path'] }, option?: string): CompiledRoute;
  /**
   * Carries out a decision with the framework's primitives — the one place the
   * branching lives, so adapters stay thin: appends `responseHeaders`, renders block and
   * redirect responses, hands challenges to `onChallenge`, and otherwise proceeds.
   * Resolves `'proceed'` when the request goes on to the route, `'handled'` when a
   * response was (or is being) written.
   */
  enforce<Raw>(decision: Decision, request: RequestInfo, io: EnforceIO<Raw>): Promise<'proceed' | 'handled'>;
  /**
   * Decides about a request, within `timeout`. With `route`, that route applies
   * (exclusions only carve out of a broad one, see `CompiledRoute.broad`); without, the
   * configured routes are matched.
   */
  protect(req: RequestInfo, route?: CompiledRoute): Promise<Decision>;
  /**
   * Renders the response for a `block` or `redirect` decision (HTML for browsers, JSON
   * otherwise); undefined for the other actions.
   */
  respond(decision: Decision, acceptHeader: string | undefined): RenderedResponse | undefined;
  /**
   * Logs the app's answer to a protected request (`$succeeded` / `$failed` from the
   * route's `outcome` rules over the status, or over the whole response an adapter read)
   * to the provider, without waiting for it. Once per decision: later calls, and calls
   * after an explicit `trackLogin`/`trackSignup` on the same request, are ignored (at
   * debug level). Ignored for requests Vigil answered itself (block, redirect) and for
   * unprotected ones.
   */
  logOutcome(decision: Decision, response: number | OutcomeResponse): void;
  /** The outcome a status (or a finished response) maps to for the decision's route. */
  outcomeOf(decision: Decision, response: number | OutcomeResponse): Extract<EventStatus, '$succeeded' | '$failed'> | undefined;
  /** True when the decision's route has a rule that reads the response body: adapters keep the body only then. */
  needsResponseBody(decision: Decision): boolean;
  /**
   * The response of a request for one of the built-in challenge page's scripts and
   * styles (GET or HEAD under `challenge.assetsPath`), which an adapter sends as it is;
   * undefined for every other request, and when the built-in challenge is off.
   * Synchronous and allocation-free for a request that is not one.
   */
  challengeAsset(method: string, path: string): RenderedResponse | undefined;
  /** The built-in challenge's assets path (`/_vigil/challenge` by default); undefined when it is off. */
  readonly challengeAssetsPath: string | undefined;
  /** Releases the provider; resolves within `timeout` even if the provider hangs. */
  close(): Promise<void>;
  /** Reports a sign-up (for apps that prefer explicit calls to route outcomes). Never throws. */
  trackSignup(req: RequestInfo, options: TrackSignupOptions): Promise<void>;
  /** Reports a login attempt's outcome. Never throws. */
  trackLogin(req: RequestInfo, options: TrackLoginOptions): Promise<void>;
  /** Reports an app-defined event. Never throws. */
  trackCustom(req: RequestInfo, name: string, properties?: Record<string, unknown>): Promise<void>;
  /**
   * Maps the request to a user and enforces blocks in the same call: `blocked` says
   * whether the user (or the request's device) is on the block list, and `decision` is
   * a block decision in blocking mode (adapters answer with its response), an allow
   * one in monitoring mode (with `wouldBlock`).
   */
  identify(req: RequestInfo, user: IdentifyOptions): Promise<{ blocked: boolean; decision: Decision }>;
  /** Refuses every request that identifies this user; `ttl` in ms (default: until unblocked). */
  blockUser(userId: string, options?: { reason?: string; ttl?: number }): Promise<void>;
  /** Lifts a user block. */
  unblockUser(userId: string): Promise<void>;
  /** The users on the block list. */
  listBlockedUsers(): Promise<BlockedUser[]>;
  /** Denies every request from this device. */
  reportDevice(deviceId: string, options?: { reason?: string; ttl?: number }): Promise<unknown>;
  /** Trusts this device for its user. */
  approveDevice(deviceId: string): Promise<unknown>;
  /** What the provider knows of the user's devices (first/last seen, IPs, user agent, approved/reported). */
  getDevicesForUser(userId: string): Promise<unknown>;
}
