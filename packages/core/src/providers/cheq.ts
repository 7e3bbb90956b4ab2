import { performance } from 'node:perf_hooks';
import type { Got } from 'got';
import { DEFAULT_ALLOWLIST, getHeader } from '../context/headers.js';
import type { RequestInfo } from '../context/request.js';
import { VigilConfigError } from '../errors.js';
import type { EventType } from '../events.js';
import { compileLogger, type Logger } from '../logging/logger.js';
import { checkKnownOptions } from '../config/options.js';
import { readCookie } from '../tracking/device-cookie.js';
import { type CancelableAnswer, createAgents, loadGot, MAX_ANSWER_BYTES, namesOnly, preloadGot, readAnswer, remainingMs, withinBudget } from './http.js';
import { redactQueryValues } from './redaction.js';
import type { Provider, ProviderEvent, Verdict } from './types.js';

/**
 * Why a CHEQ RTI call failed. Decisions fail over on every one of them:
 * `createVigil`'s `failover` decides (or the provider's own, when set explicitly).
 */
export class CheqError extends Error {
  /** HTTP status of the answer (0 when there was none). */
  readonly status: number;
  /**
   * `true`: a fault of the remote end (timeout, refused or cut connection, 5xx, 429, an
   * unreadable or oversized answer). `false`: a configuration or integration error
   * (401/403: the API key or tag hash; other 4xx), which `createVigil` logs once as an
   * error with its fix.
   */
  readonly failover: boolean;
  /** What a decision that failed over because of it reports as `failoverReason`. */
  readonly failoverReason: string;
  /** For configuration errors: the option at fault. */
  readonly option?: string;
  /** For configuration errors: how to fix them. */
  readonly fix?: string;
  constructor(message: string, status: number, failover: boolean, failoverReason: string, help: { option?: string; fix?: string } = {}) {
    super(message);
    this.name = 'CheqError';
    this.status = status;
    this.failover = failover;
    this.failoverReason = failoverReason;
    if (help.option !== undefined) this.option = help.option;
    if (help.fix !== undefined) this.fix = help.fix;
  }
}

const KEY_FIX = {
  option: 'apiKey',
  fix: 'Check cheqProvider({ apiKey, tagHash }): use the RTI API key and the tag hash of this CHEQ property; until then every decision fails over.',
};

/** What a CHEQ error status means: a fault, or a configuration or integration error. */
function statusFault(status: number): { reason: string; failover: boolean; help?: { option: string; fix: string } } {
  if (status >= 500) return { reason: 'server error', failover: true };
  if (status === 429) return { reason: 'rate limited', failover: true };
  if (status === 408 || status === 425) return { reason: 'transient error', failover: true };
  if (status === 401) return { reason: 'unauthorized', failover: false, help: KEY_FIX };
  if (status === 403) return { reason: 'forbidden', failover: false, help: KEY_FIX };
  return { reason: 'client error', failover: false };
}

/** Options of {@link cheqProvider}, with CHEQ's names. */
export interface CheqProviderOptions {
  /** CHEQ RTI API key. Never logged, never in a decision or request state. */
  apiKey: string;
  /** The tag hash of your CHEQ property. */
  tagHash: string;
  /** Your CHEQ RTI endpoint, e.g. `https://rti-us-east-1.cheqzone.com`. */
  apiEndpoint: string;
  /** ms; an answer after it is ignored. Default 100 (CHEQ's own default). */
  timeout?: number;
  /**
   * Leave it out: `createVigil`'s `failover` decides what CHEQ's faults answer (one
   * setting for every provider). Set it only to give CHEQ a strategy of its own.
   */
  failover?: 'allow' | 'deny' | 'challenge' | 'throw';
  /**
   * Send the values of query parameters in `RequestURL` and `Referer`. Default false:
   * each value is replaced by `REDACTED` and the names stay (`/reset?token=REDACTED`).
   * Turn it on if CHEQ needs them (click ids such as `gclid`) and your URLs carry no
   * secrets.
   */
  sendQueryValues?: boolean;
  /** The CHEQ `EventType` of each Castle event type; `page_load` for those not listed. */
  eventTypes?: Partial<Record<EventType, string>>;
  /** pino-compatible logger for failures. */
  logger?: Logger;
}

const DEFAULT_EVENT_TYPES: Partial<Record<EventType, string>> = {
  $login: 'login',
  $registration: 'registration',
  $password_reset_request: 'password_reset',
  $transaction: 'purchase',
};

// CHEQ's header copies: form field → request header.
const HEADER_FIELDS: [string, string][] = [
  ['Host', 'Host'],
  ['UserAgent', 'User-Agent'],
  ['XForwardedFor', 'X-Forwarded-For'],
  ['Referer', 'Referer'],
  ['Accept', 'Accept'],
  ['AcceptLanguage', 'Accept-Language'],
  ['AcceptEncoding', 'Accept-Encoding'],
  ['Origin', 'Origin'],
  ['XRequestedWith', 'X-Requested-With'],
  ['Connection', 'Connection'],
  ['Pragma', 'Pragma'],
  ['CacheControl', 'Cache-Control'],
  ['ContentType', 'Content-Type'],
  ['TrueClientIP', 'True-Client-IP'],
  ['XRealIP', 'X-Real-IP'],
  ['Forwarded', 'Forwarded'],
];

const OPTION_KEYS = ['apiKey', 'tagHash', 'apiEndpoint', 'timeout', 'failover', 'eventTypes', 'logger', 'sendQueryValues'];
const MAX_FIELD = 8192;

function headerNames(req: RequestInfo): string {
  if (Array.isArray(req.rawHeaders)) {
    const names: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) names.push(req.rawHeaders[i] as string);
    return names.join(',');
  }
  return Object.keys(req.headers ?? {}).join(',');
}

/**
 * A provider that asks CHEQ's Real-Time Interception API v1 (or any server that speaks
 * it), for teams that keep CHEQ: `POST {apiEndpoint}/v1/realtime-interception`,
 * form-encoded, with CHEQ's field list. `{ isInvalid, threatTypeCode }` becomes the
 * verdict's threat code (your `threatCodes` groups decide); CHEQ's `setCookie` is
 * appended to the client's response in every mode. Every failure is reported to
 * `createVigil` as a fault (a {@link CheqError}), whose `failover` decides; a bad API key
 * is logged once, as an error. The API key never leaves the request to CHEQ, and query
 * values are redacted from the URLs it receives unless `sendQueryValues` is set.
 *
 * @example
 * createVigil({
 *   mode: 'blocking',
 *   routeToEventType: { '/login': 'login', '/': 'page_load' },
 *   provider: cheqProvider({ apiKey: process.env.CHEQ_API_KEY, tagHash: process.env.CHEQ_TAG_HASH, apiEndpoint: 'https://rti-us-east-1.cheqzone.com' }),
 * })
 */
export function cheqProvider(options: CheqProviderOptions): Provider {
  if (options === null || typeof options !== 'object') {
    throw new VigilConfigError('VIGIL_E_PROVIDER', 'cheqProvider', options, 'which is not an object', 'Pass { apiKey, tagHash, apiEndpoint }.');
  }
  checkKnownOptions(namesOnly(options), OPTION_KEYS, 'cheqProvider');
  for (const [name, fix] of [
    ['apiKey', 'Pass your CHEQ RTI API key, e.g. apiKey: process.env.CHEQ_API_KEY.'],
    ['tagHash', 'Pass the tag hash of your CHEQ property.'],
    ['apiEndpoint', 'Pass your RTI endpoint, e.g. "https://rti-us-east-1.cheqzone.com".'],
  ] as const) {
    const value = options[name];
    if (typeof value !== 'string' || value.trim() === '') {
      throw new VigilConfigError('VIGIL_E_PROVIDER', name, name === 'apiKey' && value !== undefined && value !== null ? '(hidden)' : value, value === undefined ? 'but it is required' : 'which is not a non-empty string', fix);
    }
  }
  const endpoint = options.apiEndpoint.replace(/\/+$/, '');
  try {
    new URL(endpoint);
  } catch {
    throw new VigilConfigError('VIGIL_E_PROVIDER', 'apiEndpoint', options.apiEndpoint, 'which is not a URL', 'Use e.g. "https://rti-us-east-1.cheqzone.com".');
  }
  const timeout = options.timeout ?? 100;
  if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout <= 0) {
    throw new VigilConfigError('VIGIL_E_TIMEOUT', 'timeout', options.timeout, 'which is not a positive number of ms', 'Use e.g. 100 (the default).');
  }
  const ownFailover = options.failover;
  if (ownFailover !== undefined && !['allow', 'deny', 'challenge', 'throw'].includes(ownFailover)) {
    throw new VigilConfigError('VIGIL_E_FAILOVER', 'failover', options.failover, 'which is not a failover strategy', 'Use "allow", "deny", "challenge" or "throw", or leave it out to let createVigil\'s failover decide.');
  }
  if (options.sendQueryValues !== undefined && typeof options.sendQueryValues !== 'boolean') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', 'sendQueryValues', options.sendQueryValues, 'which is not a boolean', 'Use true to send query values to CHEQ, or false (default) to redact them.');
  }
  const outgoingUrl = options.sendQueryValues === true ? (url: string) => url : redactQueryValues;
  const eventTypes = { ...DEFAULT_EVENT_TYPES, ...(options.eventTypes ?? {}) };
  const logger = compileLogger(options.logger);
  const { apiKey, tagHash } = options;
  const agents = createAgents();
  preloadGot();
  let client: Got | undefined;
  const http = async (): Promise<Got> => {
    client ??= (await loadGot()).extend({
      prefixUrl: `${endpoint}/`,
      timeout: { request: timeout },
      retry: { limit: 0 },
      agent: agents.got,
      responseType: 'text',
      headers: { 'user-agent': 'vigil-cheq' },
      // A compressed answer could inflate past the body cap; a redirect could carry the
      // API key elsewhere.
      decompress: false,
      followRedirect: false,
    });
    return client;
  };

  const fail = (reason: string, detail: Record<string, unknown>, status = 0, failover = true, help?: { option: string; fix: string }): Verdict => {
    // createVigil's logger reports incidents (one line when one starts, a summary a
    // minute); this logger gets every failed call, at debug level.
    logger.debug({ code: 'VIGIL_W_CHEQ_FAILOVER', reason, ...detail }, `CHEQ RTI failed (${reason})`);
    // The fault goes to createVigil, whose strategy decides, unless this provider was
    // given its own; configuration errors always go, to be reported.
    if (ownFailover === undefined || ownFailover === 'throw' || !failover) throw new CheqError(`CHEQ RTI failed: ${reason}${status ? ` (HTTP ${status})` : ''}`, status, failover, reason, help);
    return { risk: ownFailover === 'deny' ? 1 : 0, action: ownFailover, failover: true, failoverReason: reason, reasons: [`CHEQ failover (${reason}): ${ownFailover}`] };
  };

  const decide = async (event: ProviderEvent): Promise<Verdict> => {
    const extras = event.extras ?? {};
    const eventType = event.type === '$custom' ? (event.name ?? 'page_load') : (eventTypes[event.type] ?? 'page_load');
    const form: Record<string, string> = {
      ApiKey: apiKey,
      TagHash: tagHash,
      EventType: eventType,
      ClientIP: event.context.ip ?? '',
      RequestURL: String(extras.requestUrl ?? ''),
      Method: event.context.method,
      ResourceType: event.context.resourceType,
      CheqCookie: String(extras.cheqCookie ?? ''),
      RequestTime: String(event.timestamp),
      HeaderNames: String(extras.headerNames ?? ''),
    };
    const copies = (extras.headers ?? {}) as Record<string, string>;
    for (const [field] of HEADER_FIELDS) if (typeof copies[field] === 'string') form[field] = copies[field] as string;
    if (typeof extras.remoteAddr === 'string') form.RemoteAddr = extras.remoteAddr;
    if (event.context.ja3) form.JA3 = event.context.ja3;
    if (event.context.channel) form.Channel = event.context.channel;

    // The budget covers the whole call, loading got included, not just the socket time.
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const got = client ?? (await withinBudget(http(), timeout));
    const left = remainingMs(started, timeout);
    if (!got || left < 1) return fail('timeout', { timeoutMs: timeout, elapsedMs: elapsed() });
    const request = got.post('v1/realtime-interception', { form });
    const answer = await agents.track(readAnswer(request as unknown as CancelableAnswer<{ statusCode: number; body: unknown }>, left));
    if (!answer.ok) {
      const { failure } = answer;
      if (failure.kind === 'timeout') return fail('timeout', { timeoutMs: timeout, elapsedMs: elapsed() });
      if (failure.kind === 'http') {
        const status = failure.status as number;
        const meaning = statusFault(status);
        return fail(meaning.reason, { status }, status, meaning.failover, meaning.help);
      }
      if (failure.kind === 'oversized') return fail('oversized response', { maxBytes: MAX_ANSWER_BYTES }, failure.status);
      return fail('connection error', { errorCode: failure.code });
    }
    const text = answer.body;
    let body: { isInvalid?: unknown; threatTypeCode?: unknown; requestId?: unknown; setCookie?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
      if (body === null || typeof body !== 'object' || typeof body.isInvalid !== 'boolean') throw new Error('shape');
    } catch {
      return fail('malformed response', {}, answer.status);
    }
    const verdict: Verdict = { risk: 0, reasons: [] };
    const code = typeof body.threatTypeCode === 'number' ? body.threatTypeCode : Number(body.threatTypeCode);
    if (body.isInvalid === true && Number.isInteger(code) && code >= 0) {
      verdict.threatCode = code;
      verdict.reasons = [`CHEQ: invalid traffic, threat type ${code}`];
    } else {
      verdict.action = 'allow';
      verdict.reasons = ['CHEQ: valid traffic'];
    }
    verdict.signals = { cheq: { isInvalid: body.isInvalid, threatTypeCode: body.threatTypeCode, ...(typeof body.requestId === 'string' ? { requestId: body.requestId } : {}) } };
    const cookies = (Array.isArray(body.setCookie) ? body.setCookie : [body.setCookie]).filter((c): c is string => typeof c === 'string' && c !== '');
    if (cookies.length > 0) verdict.responseHeaders = { 'set-cookie': cookies };
    return verdict;
  };

  return {
    name: 'cheq',
    timeout,
    ...(ownFailover === undefined ? {} : { failover: ownFailover }),
    headerAllowlist: DEFAULT_ALLOWLIST,
    prepare(req) {
      const host = getHeader(req.headers, 'Host');
      const protocol = req.protocol === 'https' ? 'https' : 'http';
      const headers: Record<string, string> = {};
      for (const [field, name] of HEADER_FIELDS) {
        const value = getHeader(req.headers, name);
        if (value !== undefined) headers[field] = value.length > MAX_FIELD ? value.slice(0, MAX_FIELD) : value;
      }
      if (headers.Referer !== undefined) headers.Referer = outgoingUrl(headers.Referer);
      return {
        extras: {
          requestUrl: outgoingUrl(`${host ? `${protocol}://${host}` : ''}${typeof req.url === 'string' ? req.url : ''}`),
          cheqCookie: readCookie(req, '_cheq_rti') ?? '',
          headerNames: headerNames(req),
          headers,
          ...(typeof req.remoteAddress === 'string' ? { remoteAddr: req.remoteAddress } : {}),
        },
      };
    },
    filter: decide,
    risk: decide,
    // CHEQ RTI has no outcome API: outcomes stay in the process.
    log: async () => undefined,
    async close() {
      await agents.close();
    },
  };
}
