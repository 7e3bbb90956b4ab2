import type { RequestContext, RequestInfo } from '../context/request.js';
import type { Clients } from '../engine/native-apps.js';
import type { EventStatus, EventType } from '../events.js';
import type { UserIdentity } from '../routing/routes.js';
import type { BlockedUser } from '../tracking/users.js';

/** What a provider concludes about one event. */
export interface Verdict {
  /** The provider's own policy, honoured first when `deny` or `challenge`. */
  action?: 'allow' | 'challenge' | 'deny';
  /** Risk from 0 (surely good) to 1 (surely bad). */
  risk: number;
  /** CHEQ threat code of the strongest reason, if any. */
  threatCode?: number;
  /** Named signals that contributed (Castle's names where one exists). */
  signals?: Record<string, unknown>;
  /** Human-readable reasons. */
  reasons?: string[];
  /** The device the provider recognised. */
  device?: { id: string };
  /**
   * Headers the provider needs on the client's response, in every mode (CHEQ's RTI
   * cookie, say). Adapters append them — a `Set-Cookie` never replaces the app's own.
   */
  responseHeaders?: Record<string, string | string[]>;
  /**
   * The provider could not decide (its remote API timed out, answered 5xx or 429, or an
   * answer it could not read). Without `action`, `createVigil`'s failover strategy
   * decides; with one (a failover the provider's own options set explicitly), that
   * action stands. Either way the decision says `failover: true`. Rejecting with an
   * error that carries a `failoverReason` reports a fault just as well.
   */
  failover?: boolean;
  /** Why the provider failed over: `timeout`, `server error`, `connection error`... */
  failoverReason?: string;
  /**
   * Signals that could not be evaluated for this event, so the verdict stands without
   * them: the embedded engine's store-backed signals (velocity, familiarity, block
   * lists, devices) when its store failed. Absent when every signal was evaluated.
   */
  degraded?: string[];
  /**
   * Risk, not the threat code, decides how strong the action is (the embedded engine,
   * whose `weights` are its knobs): below the challenge threshold the request is
   * allowed whatever its code; a code in the captcha group turns a deny into a
   * challenge; otherwise the thresholds decide. The code still labels the decision.
   * Remote providers leave it out: their threat codes pick the group, as CHEQ documents.
   */
  riskDecides?: boolean;
  /**
   * The strongest action this verdict may cause: `challenge` when its strongest evidence
   * must never lock a person out (missing headers, attacks on an account from elsewhere).
   * With `riskDecides`, a risk at the deny threshold is then challenged, not blocked.
   */
  cap?: 'challenge';
  /**
   * Whatever the provider wants back when the same decision's outcome is logged: Vigil
   * keeps it in the process (never on the decision) and hands it over as
   * {@link ProviderEvent.memo} of that `log` event, so learning need not read again what
   * the decision already read. The embedded engine keeps whether the account was
   * familiar. Must not be needed for correctness: an outcome tracked without its
   * decision (`trackLogin` on a request that was not decided) has none.
   */
  memo?: unknown;
}

/** What a provider receives for one event. Secrets are already scrubbed from `context`. */
export interface ProviderEvent {
  /** Castle event type. */
  type: EventType;
  /** `$attempted` for `filter` / `risk`; `$succeeded` or `$failed` for `log`. */
  status: EventStatus;
  /** Route name, or the `$custom` event's name. */
  name: string | undefined;
  /** Unique id of the request's decision, shared by its `log` call. */
  requestId: string;
  /** When the event happened (ms since epoch). */
  timestamp: number;
  /** Client IP, scrubbed headers, user agent and hook values. */
  context: RequestContext;
  /** User identifiers read from the request. Raw: providers hash before storing or sending. */
  user: UserIdentity;
  /** The device id (signed device cookie or a provider's request token), when known. */
  deviceId?: string;
  /**
   * True when Vigil issued `deviceId` on this very request (the client sent no valid
   * device cookie) and no outcome has been recorded with it yet: a first contact with no
   * history anywhere. Absent for a device the client presented, and for an issued device
   * after a login or sign-up outcome (failed or succeeded) on the same request was logged
   * with it.
   */
  deviceFresh?: boolean;
  /** The client-side SDK's request token (Castle's `castle_request_token`), when the provider reads one. */
  requestToken?: string;
  /** What the provider's `prepare` read from the raw request, for its own use only. */
  extras?: Readonly<Record<string, unknown>>;
  /** The HTTP status the app answered, for `log` events. */
  responseStatus?: number;
  /** On a `log` event: the {@link Verdict.memo} of the same decision, when it had one. */
  memo?: unknown;
  /** Free-form properties (for `$custom` events and user tracking). */
  properties?: Record<string, unknown>;
  /**
   * Who the route serves, when its definition or `createVigil` says (`'browser'`,
   * `'app'`, `'any'`; see {@link Clients}); absent otherwise, so that the provider's own
   * default applies (`localProvider({ clients })`, else `'browser'`).
   */
  clients?: Clients;
}

/**
 * Scores events. The embedded engine, the Castle- and CHEQ-compatible clients and
 * users' own functions all implement it.
 *
 * @example
 * const provider: Provider = {
 *   name: 'mine',
 *   async filter(event) { return { risk: event.context.userAgent ? 0 : 0.95, threatCode: event.context.userAgent ? undefined : 3 } },
 *   async risk(event) { return { risk: 0 } },
 *   async log() {},
 * }
 */
export interface Provider {
  /** Shown in decisions and logs. */
  readonly name: string;
  /**
   * The provider's own time limit per call, ms (remote providers). When set and
   * `createVigil`'s `timeout` is not, Vigil waits that long plus 100 ms, so that the
   * provider's own deadline (which also cancels its request) ends the call first.
   */
  readonly timeout?: number;
  /**
   * True when every call settles without waiting on I/O (the embedded engine on an
   * in-process store): no timer can fire before such a call settles, so Vigil arms
   * none. Leave it out for anything that talks to a network or a disk.
   */
  readonly inProcess?: boolean;
  /**
   * The failover strategy for this provider's faults, present only when the provider's
   * own options set one explicitly: it then overrides `createVigil`'s `failover` for
   * this provider. Leave it out to let `createVigil` decide (the default for Vigil's
   * remote providers).
   */
  readonly failover?: 'allow' | 'deny' | 'challenge' | 'throw';
  /**
   * The headers this provider receives when `createVigil`'s `headers.allowlist` is not
   * given (an explicit `allowlist: []` keeps every header). Remote providers name
   * Castle's recommended allowlist, so that an app's custom headers stay in the process
   * unless the app widens the list; secret-looking names are scrubbed whatever the list.
   */
  readonly headerAllowlist?: readonly string[];
  /** Pre-authentication events (no user id). */
  filter(event: ProviderEvent): Promise<Verdict>;
  /** Events of a known user (the route yields a user id). */
  risk(event: ProviderEvent): Promise<Verdict>;
  /** Outcomes after the response; never delays one. */
  log(event: ProviderEvent): Promise<unknown>;
  /** Releases connections and timers. */
  close?(): Promise<void>;
  /**
   * Reads what this provider needs from the raw request beyond the neutral context (a
   * request token, a vendor cookie, the raw header order), once per decision, before
   * `filter` / `risk`. Whatever it returns travels with the event to this provider only.
   */
  prepare?(req: RequestInfo): { requestToken?: string; extras?: Record<string, unknown> } | undefined;
  /** Whether the user (or device) of an `identify` call is blocked. */
  identify?(event: ProviderEvent): Promise<{ blocked: boolean; reason?: string }>;
  /** Refuses every request that identifies this user (`ttlMs`: for a while). */
  blockUser?(userId: string, options?: { reason?: string; ttlMs?: number }): Promise<void>;
  /** Lifts a user block. */
  unblockUser?(userId: string): Promise<void>;
  /** The users on the block list. */
  listBlockedUsers?(): Promise<BlockedUser[]>;
  /** Denies every event from this device. */
  reportDevice?(deviceId: string, options?: { reason?: string; ttlMs?: number }): Promise<unknown>;
  /** Trusts this device for its user: its events weigh less. */
  approveDevice?(deviceId: string): Promise<unknown>;
  /** What the provider knows of a user's devices. */
  getDevicesForUser?(userId: string): Promise<unknown>;
  /**
   * The key that signs Vigil's device cookie when `deviceCookie.secret` is not given:
   * the embedded engine derives one from its `secret` (never the secret itself), so a
   * fleet that shares the engine's secret verifies each other's cookies. `undefined`:
   * no key of its own (a random key per process is used).
   */
  deviceCookieKey?(): Buffer | undefined;
}

/** A scoring function usable wherever a {@link Provider} is: it serves `filter` and `risk`. */
export type ProviderFunction = (event: ProviderEvent) => Verdict | Promise<Verdict>;

/**
 * Turns a plain scoring function into a {@link Provider}; `log` events are dropped.
 *
 * @example
 * createVigil({ provider: providerFromFunction(async (event) => ({ risk: 0 }), 'mine') })
 */
export function providerFromFunction(fn: ProviderFunction, name = fn.name && fn.name !== 'provider' ? fn.name : 'function'): Provider {
  const call = async (event: ProviderEvent) => fn(event);
  return { name, filter: call, risk: call, log: async () => undefined };
}

/**
 * A provider that allows everything: the default until a scoring provider is given.
 */
export function allowAllProvider(): Provider {
  const verdict: Verdict = Object.freeze({ risk: 0, reasons: Object.freeze(['allow-all provider']) as string[] }) as Verdict;
  return {
    name: 'allow-all',
    filter: async () => verdict,
    risk: async () => verdict,
    log: async () => undefined,
  };
}
