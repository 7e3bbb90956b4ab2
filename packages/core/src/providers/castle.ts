import { performance } from 'node:perf_hooks';
import type { Got } from 'got';
import { DEFAULT_ALLOWLIST, getHeader } from '../context/headers.js';
import type { RequestInfo } from '../context/request.js';
import { VigilConfigError } from '../errors.js';
import { compileLogger, type Logger } from '../logging/logger.js';
import { checkKnownOptions } from '../config/options.js';
import { type CancelableAnswer, createAgents, loadGot, MAX_ANSWER_BYTES, namesOnly, preloadGot, readAnswer, remainingMs, withinBudget } from './http.js';
import { redactUrlHeaders } from './redaction.js';
import type { Provider, ProviderEvent, Verdict } from './types.js';

/**
 * Base of every error of a Castle call; `status` is the HTTP status. On the request
 * path (`filter`, `risk`) every one of them fails over: `createVigil`'s `failover`
 * decides, or the provider's own when set explicitly; none becomes a visitor's 500
 * unless the strategy is `throw`.
 */
export class CastleError extends Error {
  /** HTTP status of the answer (0 when there was none). */
  readonly status: number;
  /**
   * `true`: a fault of the remote end — a timeout, a refused or cut connection, 5xx,
   * 429, an unreadable or oversized answer, Castle's `invalid_request_token`.
   * `false`: a configuration or integration error (401/403: the API secret; other 4xx):
   * `createVigil` logs it once as an error, with its fix, and fails over as well.
   */
  readonly failover: boolean;
  /** What a decision that failed over because of it reports as `failoverReason`. */
  readonly failoverReason: string;
  /** For configuration errors: the option at fault. */
  readonly option?: string;
  /** For configuration errors: how to fix them. */
  readonly fix?: string;
  constructor(message: string, status: number, failover = false, failoverReason = failover ? 'server error' : 'client error', help: { option?: string; fix?: string } = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.failover = failover;
    this.failoverReason = failoverReason;
    if (help.option !== undefined) this.option = help.option;
    if (help.fix !== undefined) this.fix = help.fix;
  }
}
/** 400: the request was malformed. */
export class CastleBadRequestError extends CastleError {}
/** 401: the API secret is wrong. */
export class CastleUnauthorizedError extends CastleError {}
/** 403: the API secret may not do this. */
export class CastleForbiddenError extends CastleError {}
/** 404: no such resource (device, user). */
export class CastleNotFoundError extends CastleError {}
/** 419: the user is not authorized (Castle's own status). */
export class CastleUserUnauthorizedError extends CastleError {}
/** 422: invalid parameters. */
export class CastleInvalidParametersError extends CastleError {}
/** 422 with `type: invalid_request_token`: the client SDK's token is missing, stale or forged. */
export class CastleInvalidRequestTokenError extends CastleInvalidParametersError {}
/** 429: rate limited; a fault (decisions fail over). */
export class CastleRateLimitError extends CastleError {}
/** Any other 4xx. */
export class CastleApiError extends CastleError {}
/** 5xx: Castle failed; decisions fail over. */
export class CastleInternalServerError extends CastleError {}
/** A 2xx answer whose body is not the JSON Castle promises, or is over 64 KB; decisions fail over. */
export class CastleMalformedResponseError extends CastleError {}

const BY_STATUS: Record<number, new (message: string, status: number, failover?: boolean, failoverReason?: string) => CastleError> = {
  400: CastleBadRequestError,
  401: CastleUnauthorizedError,
  403: CastleForbiddenError,
  404: CastleNotFoundError,
  419: CastleUserUnauthorizedError,
  422: CastleInvalidParametersError,
  429: CastleRateLimitError,
};

const SECRET_FIX = {
  option: 'apiSecret',
  fix: 'Set castleProvider({ apiSecret }) to the API Secret of this Castle environment (Castle dashboard, Settings); until then every decision fails over.',
};
const FORBIDDEN_FIX = {
  option: 'apiSecret',
  fix: 'Castle refuses this API secret the endpoint: check that the secret belongs to an environment with the Filter and Risk APIs enabled; until then every decision fails over.',
};

/**
 * Maps an HTTP error answer to its Castle error class, and says whether it is a fault
 * (5xx; 429, 408 and 425, which pass; 422 `invalid_request_token`, which Castle answers
 * for a visitor whose client SDK token is missing or forged) or a configuration or
 * integration error (401/403: the API secret; any other 4xx).
 */
export function castleErrorFor(status: number, body: string | undefined): CastleError {
  let message = `Castle answered ${status}`;
  let type: string | undefined;
  try {
    const parsed = body ? (JSON.parse(body) as { message?: unknown; type?: unknown }) : undefined;
    if (typeof parsed?.message === 'string') message = parsed.message.slice(0, 300);
    if (typeof parsed?.type === 'string') type = parsed.type;
  } catch {
    // the message stays generic
  }
  if (status >= 500) return new CastleInternalServerError(message, status, true, 'server error');
  if (status === 401) return new CastleUnauthorizedError(message, status, false, 'unauthorized', SECRET_FIX);
  if (status === 403) return new CastleForbiddenError(message, status, false, 'forbidden', FORBIDDEN_FIX);
  if (status === 429) return new CastleRateLimitError(message, status, true, 'rate limited');
  if (status === 408 || status === 425) return new CastleApiError(message, status, true, 'transient error');
  if (status === 422 && type === 'invalid_request_token') return new CastleInvalidRequestTokenError(message, status, true, 'invalid_request_token');
  const Klass = BY_STATUS[status] ?? CastleApiError;
  return new Klass(message, status, false, 'client error');
}

/** Options of {@link castleProvider}. */
export interface CastleProviderOptions {
  /** Castle API secret (Basic auth password). Never logged, never in a decision. */
  apiSecret: string;
  /** Default `https://api.castle.io/v1`. */
  baseUrl?: string;
  /** ms per call. Default 1000. */
  timeout?: number;
  /**
   * Leave it out: `createVigil`'s `failover` decides what Castle's faults answer (one
   * setting for every provider). Set it only to give Castle its own strategy: decisions
   * then get Castle's failover shape (`policy.action`, `failover_reason`).
   */
  failover?: 'allow' | 'deny' | 'challenge' | 'throw';
  /**
   * Send the values of query parameters in URLs (the `Referer` header, HTTP/2's
   * `:path`). Default false: each value is replaced by `REDACTED`, the names stay.
   */
  sendQueryValues?: boolean;
  /** Where the client SDK's token is: a body field and a header. Defaults `castle_request_token`, `X-Castle-Request-Token`. */
  requestToken?: { field?: string; header?: string } | ((req: RequestInfo) => string | undefined);
  /** pino-compatible logger: every failed call, at debug level (createVigil's logger reports incidents). */
  logger?: Logger;
}

/** A Castle device, as `getDevice` and `getDevicesForUser` return it. */
export type CastleDevice = Record<string, unknown> & { token?: string };

/** The Castle-compatible provider, with Castle's device management. */
export interface CastleProvider extends Provider {
  /** `GET /devices/{token}`. */
  getDevice(token: string): Promise<CastleDevice>;
  /** `PUT /devices/{token}/approve`. */
  approveDevice(token: string): Promise<CastleDevice>;
  /** `PUT /devices/{token}/report`. */
  reportDevice(token: string): Promise<CastleDevice>;
  /** `GET /users/{id}/devices`. */
  getDevicesForUser(userId: string): Promise<{ total_count?: number; data?: CastleDevice[] } & Record<string, unknown>>;
}

/** Castle's failover answer, in Castle's shape and Vigil's. */
export type CastleFailoverVerdict = Verdict & { policy: { action: string }; failover: true; failover_reason: string; user_id?: string };

const OPTION_KEYS = ['apiSecret', 'baseUrl', 'timeout', 'failover', 'requestToken', 'logger', 'sendQueryValues'];

function nonEmpty(value: unknown, option: string, fix: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new VigilConfigError('VIGIL_E_PROVIDER', option, option === 'apiSecret' && value !== undefined && value !== null ? '(hidden)' : value, 'which is not a non-empty string', fix);
  }
  return value;
}

/**
 * A provider that asks Castle's v1 API (or any server that speaks it) — for teams that
 * keep Castle and want Vigil's middlewares, routing, modes and failover. Pre-login
 * events go to `/filter`, events with a user id to `/risk`, outcomes to `/log`.
 * Every failure of `filter` / `risk` is reported to `createVigil` as a fault (a
 * {@link CastleError} with its `failoverReason`), whose `failover` decides — never a
 * visitor's 500 unless the strategy is `throw`; a bad API secret is logged once, as an
 * error. `log` rejects with the same errors, which `createVigil` reports as an
 * incident. Headers outside Castle's recommended allowlist and secret-looking ones stay
 * in the process, and query values in URLs are redacted (not secrets in the path, such
 * as `/reset/{token}`), unless the options say otherwise.
 *
 * @example
 * createVigil({ mode: 'blocking', routes, provider: castleProvider({ apiSecret: process.env.CASTLE_API_SECRET }) })
 */
export function castleProvider(options: CastleProviderOptions): CastleProvider {
  if (options === null || typeof options !== 'object') {
    throw new VigilConfigError('VIGIL_E_PROVIDER', 'castleProvider', options, 'which is not an object', 'Pass { apiSecret }.');
  }
  checkKnownOptions(namesOnly(options), OPTION_KEYS, 'castleProvider');
  const apiSecret = nonEmpty(options.apiSecret, 'apiSecret', 'Pass your Castle API secret, e.g. apiSecret: process.env.CASTLE_API_SECRET.');
  const baseUrl = nonEmpty(options.baseUrl ?? 'https://api.castle.io/v1', 'baseUrl', 'Use a URL such as "https://api.castle.io/v1".').replace(/\/+$/, '');
  try {
    new URL(baseUrl);
  } catch {
    throw new VigilConfigError('VIGIL_E_PROVIDER', 'baseUrl', baseUrl, 'which is not a URL', 'Use a URL such as "https://api.castle.io/v1".');
  }
  const timeout = options.timeout ?? 1000;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new VigilConfigError('VIGIL_E_TIMEOUT', 'timeout', options.timeout, 'which is not a positive number of ms', 'Use e.g. 1000 (the default).');
  }
  const ownFailover = options.failover;
  if (ownFailover !== undefined && !['allow', 'deny', 'challenge', 'throw'].includes(ownFailover)) {
    throw new VigilConfigError('VIGIL_E_FAILOVER', 'failover', options.failover, 'which is not a failover strategy', 'Use "allow", "deny", "challenge" or "throw", or leave it out to let createVigil\'s failover decide.');
  }
  if (options.sendQueryValues !== undefined && typeof options.sendQueryValues !== 'boolean') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'sendQueryValues', options.sendQueryValues, 'which is not a boolean', 'Use true to send query values to Castle, or false (default) to redact them.');
  }
  const sendQueryValues = options.sendQueryValues === true;
  const logger = compileLogger(options.logger);
  const tokenOption = options.requestToken;
  const tokenField = typeof tokenOption === 'object' ? (tokenOption.field ?? 'castle_request_token') : 'castle_request_token';
  const tokenHeader = typeof tokenOption === 'object' ? (tokenOption.header ?? 'X-Castle-Request-Token') : 'X-Castle-Request-Token';
  const agents = createAgents();
  preloadGot();
  const authorization = `Basic ${Buffer.from(`:${apiSecret}`).toString('base64')}`;
  let client: Got | undefined;

  const http = async (): Promise<Got> => {
    client ??= (await loadGot()).extend({
      prefixUrl: `${baseUrl}/`,
      headers: { authorization, 'content-type': 'application/json', 'user-agent': 'vigil-castle' },
      timeout: { request: timeout },
      retry: { limit: 0 },
      agent: agents.got,
      throwHttpErrors: true,
      responseType: 'text',
      // A compressed answer could inflate past the body cap; a redirect could carry the
      // credentials elsewhere.
      decompress: false,
      followRedirect: false,
    });
    return client;
  };

  const transportError = (reason: 'timeout' | 'connection error', code: string | undefined): CastleError =>
    new CastleError(`Castle ${reason}${code ? ` (${code})` : ''}`, 0, true, reason);

  /** Calls Castle; resolves the parsed body or rejects with a CastleError (never got's error). */
  const callOnce = async (method: 'GET' | 'POST' | 'PUT', path: string, json?: unknown): Promise<Record<string, unknown>> => {
    // The budget covers the whole call, loading got included, not just the socket time.
    const started = performance.now();
    const got = client ?? (await withinBudget(http(), timeout));
    const left = remainingMs(started, timeout);
    if (!got || left < 1) throw transportError('timeout', 'ETIMEDOUT');
    const request = got(path, { method, ...(json === undefined ? {} : { body: JSON.stringify(json) }) });
    const answer = await readAnswer(request as unknown as CancelableAnswer<{ statusCode: number; body: unknown }>, left);
    if (!answer.ok) {
      const { failure } = answer;
      if (failure.kind === 'http') throw castleErrorFor(failure.status as number, failure.body);
      if (failure.kind === 'oversized') throw new CastleMalformedResponseError(`Castle answered with a body over ${MAX_ANSWER_BYTES} bytes`, failure.status ?? 0, true, 'oversized response');
      throw transportError(failure.kind === 'timeout' ? 'timeout' : 'connection error', failure.code);
    }
    if (answer.body === '') return {};
    try {
      const parsed = JSON.parse(answer.body) as unknown;
      if (parsed === null || typeof parsed !== 'object') throw new Error('not an object');
      return parsed as Record<string, unknown>;
    } catch {
      throw new CastleMalformedResponseError('Castle answered with a body that is not JSON', answer.status, true, 'malformed response');
    }
  };
  const call = (method: 'GET' | 'POST' | 'PUT', path: string, json?: unknown) => agents.track(callOnce(method, path, json));

  const failoverVerdict = (strategy: 'allow' | 'deny' | 'challenge', reason: string, userId: string | undefined): CastleFailoverVerdict => {
    const action = strategy;
    return {
      policy: { action },
      action,
      risk: action === 'deny' ? 1 : 0,
      failover: true,
      failover_reason: reason,
      failoverReason: reason,
      reasons: [`Castle failover (${reason}): ${action}`],
      ...(userId === undefined ? {} : { user_id: userId }),
    };
  };

  const payload = (event: ProviderEvent, kind: 'filter' | 'risk' | 'log') => {
    const { id, email, phone, username } = event.user;
    const identifiers = { ...(email === undefined ? {} : { email }), ...(phone === undefined ? {} : { phone }), ...(username === undefined ? {} : { username }) };
    return {
      type: event.type,
      status: event.status,
      ...(event.name && event.type === '$custom' ? { name: event.name } : {}),
      ...(event.requestToken === undefined ? {} : { request_token: event.requestToken }),
      context: { ip: event.context.ip, headers: sendQueryValues ? event.context.headers : redactUrlHeaders(event.context.headers) },
      ...(kind === 'filter' ? { params: identifiers } : { user: { ...(id === undefined ? {} : { id }), ...identifiers } }),
      ...(kind === 'filter' && id !== undefined ? { matching_user_id: id } : {}),
      ...(event.properties ? { properties: event.properties } : {}),
      sent_at: new Date(event.timestamp).toISOString(),
    };
  };

  const decide = (kind: 'filter' | 'risk') => async (event: ProviderEvent): Promise<Verdict> => {
    try {
      const body = await call('POST', kind, payload(event, kind));
      const policy = body.policy as { action?: unknown } | undefined;
      const action = policy?.action === 'allow' || policy?.action === 'challenge' || policy?.action === 'deny' ? policy.action : undefined;
      const risk = typeof body.risk === 'number' && body.risk >= 0 && body.risk <= 1 ? body.risk : undefined;
      if (risk === undefined && action === undefined) throw new CastleMalformedResponseError('Castle answered without risk or policy', 200, true, 'malformed response');
      const device = body.device as { token?: unknown } | undefined;
      const verdict: Verdict = { risk: risk ?? (action === 'deny' ? 1 : 0), reasons: [`Castle policy: ${action ?? 'none'}`] };
      if (action) verdict.action = action;
      if (body.signals && typeof body.signals === 'object') verdict.signals = body.signals as Record<string, unknown>;
      if (typeof device?.token === 'string') verdict.device = { id: device.token };
      return verdict;
    } catch (error) {
      if (!(error instanceof CastleError)) throw error;
      const reason = error.failoverReason;
      // createVigil's logger reports incidents (one line when one starts, a summary a
      // minute); this logger gets every failed call, at debug level.
      logger.debug({ code: 'VIGIL_W_CASTLE_FAILOVER', reason, status: error.status }, `Castle ${kind} failed (${reason})`);
      // The fault goes to createVigil, whose strategy decides, unless this provider was
      // given its own; configuration errors always go, to be reported.
      if (ownFailover === undefined || ownFailover === 'throw' || !error.failover) throw error;
      return failoverVerdict(ownFailover, reason, kind === 'risk' ? event.user.id : undefined);
    }
  };

  const requireToken = (value: unknown, name: string): string => {
    if (typeof value !== 'string' || value.trim() === '') throw new CastleInvalidParametersError(`${name} is required`, 0);
    return encodeURIComponent(value);
  };

  return {
    name: 'castle',
    timeout,
    ...(ownFailover === undefined ? {} : { failover: ownFailover }),
    headerAllowlist: DEFAULT_ALLOWLIST,
    prepare(req) {
      let token: string | undefined;
      if (typeof tokenOption === 'function') token = tokenOption(req);
      else {
        const body = req.body as Record<string, unknown> | undefined;
        const fromBody = body && typeof body === 'object' && Object.hasOwn(body, tokenField) ? body[tokenField] : undefined;
        token = typeof fromBody === 'string' && fromBody !== '' ? fromBody : getHeader(req.headers, tokenHeader);
      }
      return typeof token === 'string' && token !== '' && token.length <= 4096 ? { requestToken: token } : undefined;
    },
    filter: decide('filter'),
    risk: decide('risk'),
    // Rejects with the CastleError, as filter and risk do: createVigil reports an outage
    // as one VIGIL_W_LOG_FAILED incident and a bad secret once as VIGIL_E_PROVIDER_AUTH.
    async log(event) {
      try {
        await call('POST', 'log', payload(event, 'log'));
      } catch (error) {
        if (error instanceof CastleError) logger.debug({ code: 'VIGIL_W_CASTLE_LOG_FAILED', reason: error.failoverReason, status: error.status }, `Castle log failed (${error.failoverReason})`);
        throw error;
      }
    },
    getDevice: async (token) => call('GET', `devices/${requireToken(token, 'token')}`) as Promise<CastleDevice>,
    approveDevice: async (token) => call('PUT', `devices/${requireToken(token, 'token')}/approve`) as Promise<CastleDevice>,
    reportDevice: async (token) => call('PUT', `devices/${requireToken(token, 'token')}/report`) as Promise<CastleDevice>,
    getDevicesForUser: async (userId) => call('GET', `users/${requireToken(userId, 'userId')}/devices`),
    async close() {
      await agents.close();
    },
  };
}
