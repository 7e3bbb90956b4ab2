/**
 * The configuration job of `createVigil`: every option checked (a {@link VigilConfigError}
 * naming the option, the value and the fix, at start-up), then compiled once into what
 * the decision pipeline runs on: routes and exclusions, the provider, the device cookie,
 * the context builder, the policy's options and the responder.
 */
import { compileChallenges } from '../challenge/index.js';
import { checkKnownOptions } from '../config/options.js';
import { withDefaultAllowlist } from '../context/headers.js';
import { type ContextOptions, createContextBuilder } from '../context/request.js';
import { type Decision, EXCLUDED_DECISION, type Mode, UNPROTECTED_DECISION } from '../decision/decision.js';
import { compileThresholds } from '../decision/policy.js';
import { createResponder } from '../decision/responses.js';
import { compileThreatCodes } from '../decision/threat-codes.js';
import { checkClients } from '../engine/native-apps.js';
import { VigilConfigError } from '../errors.js';
import { compileLogger, describeError } from '../logging/logger.js';
import { localProvider } from '../providers/local.js';
import { type Provider, type ProviderFunction, providerFromFunction } from '../providers/types.js';
import type { UserIdentity } from '../routing/routes.js';
import { compileRouting } from '../routing/routes.js';
import type { Store } from '../stores/types.js';
import { createDeviceCookies, type DeviceCookieOptions, type DeviceCookies } from '../tracking/device-cookie.js';
import { anonymizeIdentity } from '../tracking/users.js';
import type { FailoverStrategy, VigilConfig } from './types.js';

/** The options `createVigil` knows; any other is refused by name. */
const CONFIG_KEYS = [
  'mode',
  'provider',
  'routes',
  'routeToEventType',
  'uriExclusion',
  'ip',
  'headers',
  'getJa3',
  'getResourceType',
  'getChannel',
  'threatCodes',
  'thresholds',
  'redirectUrl',
  'redirectStatus',
  'blockResponse',
  'onChallenge',
  'challenge',
  'failover',
  'timeout',
  'logger',
  'onDecision',
  'anonymize',
  'deviceCookie',
  'clients',
  'outcome',
];

const MODES: readonly Mode[] = ['monitoring', 'blocking'];
const FAILOVERS: readonly FailoverStrategy[] = ['allow', 'deny', 'challenge', 'throw'];

function compileProvider(provider: unknown): Provider {
  if (provider === undefined) return localProvider();
  if (typeof provider === 'function') return providerFromFunction(provider as ProviderFunction);
  const p = provider as Partial<Provider> | null;
  const missing = p && typeof p === 'object' ? (['filter', 'risk', 'log'] as const).filter((m) => typeof p[m] !== 'function') : ['filter', 'risk', 'log'];
  if (!p || typeof p !== 'object' || missing.length > 0) {
    throw new VigilConfigError(
      'VIGIL_E_PROVIDER',
      'provider',
      provider,
      missing.length > 0 ? `which lacks ${missing.map((m) => `${m}()`).join(', ')}` : 'which is not a provider',
      'Pass a provider ({ name, filter, risk, log }), an async function (event) => verdict, or leave it out for the default.',
    );
  }
  return p.name ? (p as Provider) : { ...(p as Provider), name: 'custom' };
}

/**
 * The device cookie of a configuration: on unless `deviceCookie: false`. Without a
 * `secret` of its own it is keyed by the provider's `deviceCookieKey()` (the embedded
 * engine's, derived from its `secret`), else by a random key per process — which
 * `createDeviceCookies` refuses over a shared store.
 */
function compileDeviceCookies(option: unknown, provider: Provider, sharedStore: string | undefined): DeviceCookies | undefined {
  if (option === false) return undefined;
  const options = option === undefined ? true : (option as DeviceCookieOptions | true);
  const plain = options === true || (options !== null && typeof options === 'object' && !Array.isArray(options));
  let key: Uint8Array | undefined;
  // The provider is asked only when it is needed (a given secret wins) and the option is
  // one createDeviceCookies accepts (it names the wrong ones).
  if (plain && (options === true || options.secret === undefined) && typeof provider.deviceCookieKey === 'function') {
    try {
      key = provider.deviceCookieKey() ?? undefined;
    } catch (error) {
      throw new VigilConfigError(
        'VIGIL_E_PROVIDER',
        'provider.deviceCookieKey()',
        '(hidden)',
        `which threw (${describeError(error)?.message ?? 'an error'})`,
        "Fix the provider's deviceCookieKey(), or pass deviceCookie: { secret } (the same on every instance).",
      );
    }
  }
  return createDeviceCookies(options, { sharedStore, key, provider: provider.name });
}

/**
 * Checks and compiles a configuration. Throws {@link VigilConfigError} for the first
 * option at fault; logs once, at start-up, what would make blocking mode look stricter
 * than it is (a challenge nothing serves).
 */
export function compileConfig(config: VigilConfig) {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'config', config, 'which is not an object', 'Pass an options object, e.g. createVigil({ routes: [...] }).');
  }
  checkKnownOptions(config, CONFIG_KEYS, '');
  const mode = config.mode ?? 'monitoring';
  if (!MODES.includes(mode)) {
    throw new VigilConfigError('VIGIL_E_MODE', 'mode', config.mode, 'which is not a mode', 'Use "monitoring" (records what it would do; the default) or "blocking" (acts).');
  }
  const configuredFailover = config.failover ?? 'allow';
  if (!FAILOVERS.includes(configuredFailover)) {
    throw new VigilConfigError('VIGIL_E_FAILOVER', 'failover', config.failover, 'which is not a failover strategy', `Use one of ${FAILOVERS.map((f) => `"${f}"`).join(', ')} ("allow" by default).`);
  }
  // A remote provider with its own timeout gets headroom, so that its own deadline
  // (which cancels its request and names the fault) ends the call before Vigil's.
  const providerTimeout = (config.provider as { timeout?: unknown } | undefined)?.timeout;
  const timeout = config.timeout ?? (typeof providerTimeout === 'number' && providerTimeout > 0 ? providerTimeout + 100 : 1000);
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0 || timeout > 60_000) {
    throw new VigilConfigError('VIGIL_E_TIMEOUT', 'timeout', config.timeout, 'which is not a time in milliseconds between 1 and 60000', 'Use e.g. timeout: 1000 (the default); a login should never wait long for a decision.');
  }
  for (const hook of ['onChallenge', 'onDecision'] as const) {
    if (config[hook] !== undefined && typeof config[hook] !== 'function') {
      throw new VigilConfigError('VIGIL_E_OPTION_TYPE', hook, config[hook], 'which is not a function', `Pass a function or leave ${hook} out.`);
    }
  }
  const logger = compileLogger(config.logger);
  const provider = compileProvider(config.provider);
  // One failover setting for every provider, remote ones included: a provider's own
  // applies only when its options set one explicitly.
  if (provider.failover !== undefined && !FAILOVERS.includes(provider.failover)) {
    throw new VigilConfigError('VIGIL_E_FAILOVER', 'provider.failover', provider.failover, 'which is not a failover strategy', 'Leave it out (createVigil\'s failover decides) or use "allow", "deny", "challenge" or "throw".');
  }
  const failover: FailoverStrategy = provider.failover ?? configuredFailover;
  const routing = compileRouting(config);
  const threatCodes = compileThreatCodes(config.threatCodes);
  const thresholds = compileThresholds(config.thresholds);
  const respond = createResponder(config);
  const buildContext = createContextBuilder({
    ip: config.ip,
    // Remote providers name the headers they send by default (Castle's allowlist).
    headers: withDefaultAllowlist(config.headers, provider.headerAllowlist),
    getJa3: config.getJa3,
    getResourceType: config.getResourceType,
    getChannel: config.getChannel,
  } as ContextOptions);
  const { onChallenge, onDecision } = config;
  // The shared decisions of unprotected and excluded requests, in this instance's mode.
  const unprotectedDecision: Decision = Object.freeze({ ...UNPROTECTED_DECISION, mode }) as Decision;
  const excludedDecision: Decision = Object.freeze({ ...EXCLUDED_DECISION, mode }) as Decision;
  if (config.anonymize !== undefined && typeof config.anonymize !== 'boolean') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'anonymize', config.anonymize, 'which is not a boolean', 'Use true or false (default).');
  }
  const identity = config.anonymize ? anonymizeIdentity : (user: UserIdentity) => user;
  const clients = checkClients(config.clients, 'clients');
  // Over a store shared by a fleet, the cookie's key must be shared too.
  const engineStore = (provider as { store?: { shared?: unknown; name?: unknown } }).store;
  const isStore = (value: unknown): value is Store => value !== null && typeof value === 'object' && typeof (value as Store).execute === 'function';
  const sharedStore = engineStore?.shared === true ? String(engineStore.name) : undefined;
  const deviceCookies = compileDeviceCookies(config.deviceCookie, provider, sharedStore);
  // The built-in challenge's key: its own secret, else the device cookie's, else the
  // engine's (the provider's key), else random per process (refused over a shared store).
  const cookieOption = config.deviceCookie as { secret?: unknown } | undefined;
  const cookieSecret = cookieOption !== null && typeof cookieOption === 'object' && typeof cookieOption.secret === 'string' ? cookieOption.secret : undefined;
  const challengeOption = config.challenge as { secret?: unknown } | false | undefined;
  let engineKey: Uint8Array | undefined;
  if (cookieSecret !== undefined) engineKey = Buffer.from(`device cookie\0${cookieSecret}`);
  else if (challengeOption !== false && challengeOption?.secret === undefined && typeof provider.deviceCookieKey === 'function') {
    try {
      engineKey = provider.deviceCookieKey() ?? undefined;
    } catch {
      // Reported by the device cookie when it is on; without it, the challenge keys itself.
      engineKey = undefined;
    }
  }
  const challenges = compileChallenges(config.challenge, { engineKey, engineStore: isStore(engineStore) ? engineStore : undefined });
  const policyOptions = { mode, threatCodes, thresholds, redirect: config.redirectUrl !== undefined, canChallenge: onChallenge !== undefined || challenges !== undefined };
  if (mode === 'blocking' && !policyOptions.canChallenge) {
    // challenge: false and no onChallenge: a challenge nothing can serve is allowed. Say
    // so once, at start-up, rather than let blocking mode look stricter than it is.
    logger.warn(
      { code: 'VIGIL_W_NO_CHALLENGE_HANDLER', option: 'challenge' },
      "Blocking mode has the built-in challenge turned off (challenge: false) and no onChallenge handler: every request the policy challenges (risk ≥ thresholds.challenge, a captcha-group threat code, a provider's challenge) is allowed, and decisions report wouldAction 'challenge'. Leave challenge out to serve the built-in proof-of-work challenge, or pass onChallenge.",
    );
  }

  return { mode, failover, timeout, logger, provider, routing, respond, buildContext, onChallenge, onDecision, unprotectedDecision, excludedDecision, identity, clients, deviceCookies, policyOptions, challenges };
}

/** A configuration checked and compiled (see {@link compileConfig}). */
export type CompiledConfig = ReturnType<typeof compileConfig>;
