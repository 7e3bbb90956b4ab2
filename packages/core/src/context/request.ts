import { VigilConfigError } from '../errors.js';
import { createHeaderScrubber, getHeader, type HeaderScrubOptions, type IncomingHeaders, type ScrubbedHeaders } from './headers.js';
import { createClientIpExtractor, type IpOptions } from './ip.js';

/**
 * The neutral request every adapter produces from its framework's request. Core never
 * sees an Express, Fastify or Nest object, only this. Read its fields; do not copy it
 * (`{ ...req }`, `structuredClone`, JSON): an adapter may give the fields its framework
 * computes on each read (`query`, `protocol`, `frameworkIp` on Express and Nest) as
 * getters of a class, which a copy leaves out, and core treats a copy as another
 * request (its device and decision in flight are the original's).
 */
export interface RequestInfo {
  /** Upper-case HTTP method, e.g. `POST`. */
  method: string;
  /** The raw request target as received: path plus query string, e.g. `/login?next=%2F`. */
  url: string;
  /**
   * The path the framework's router routes the request on, e.g. `/login`: adapters
   * build it with `canonicalPath` (or `pathOfRoute` once the router has chosen a
   * route), so that routes and exclusions see what the router sees.
   */
  path: string;
  /** Parsed query parameters, when the framework parsed them. */
  query?: Record<string, unknown>;
  /** Request headers, keys in any case (Node gives lower case). */
  headers: IncomingHeaders;
  /**
   * Node's `rawHeaders`: names and values alternating, in the order and case the client
   * sent them. Optional; providers that fingerprint header order (CHEQ) use it.
   */
  rawHeaders?: readonly string[];
  /** `http` or `https`, as the framework sees it (behind a proxy, per its trust settings). */
  protocol?: string;
  /** The socket peer address; undefined when unknown. */
  remoteAddress?: string | undefined;
  /** Parsed cookies, when the framework parsed them. Never leave the process. */
  cookies?: Record<string, string | undefined>;
  /** Parsed body, when the framework parsed it (JSON or form fields). */
  body?: unknown;
  /**
   * Replaces the parsed body, on the framework's request (what the route's handler
   * reads) and on this object. Core calls it once, before anything reads the body, when
   * a browser re-posts the form of a challenge it passed: the page carried the original
   * form sealed, and this puts back what the person typed. An adapter without it serves
   * API clients the JSON challenge only.
   */
  setBody?(body: unknown): void;
  /**
   * The framework's own client address (`req.ip`), used only with `ip.useFramework`.
   */
  frameworkIp?: string | undefined;
}

/**
 * The request target without its query string. Only a split at `?`: what a router
 * routes on is `canonicalPath`'s answer (absolute-form, fragments, decoding),
 * which adapters put in `RequestInfo.path`.
 *
 * @example
 * pathnameOf('/login?next=%2F') // '/login'
 */
export function pathnameOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** Options that shape the context a provider receives. */
export interface ContextOptions {
  /** Client-IP options, see {@link IpOptions}. */
  ip?: IpOptions;
  /** Header allow/deny lists, see {@link HeaderScrubOptions}. */
  headers?: HeaderScrubOptions;
  /** Returns the TLS fingerprint (JA3) of the request, when the edge provides one. */
  getJa3?: (req: RequestInfo) => string | undefined;
  /** Returns the resource type (CHEQ's `resourceType`); default `text/html`. */
  getResourceType?: (req: RequestInfo) => string | undefined;
  /** Returns the channel (CHEQ's `channel`, e.g. a campaign or site section). */
  getChannel?: (req: RequestInfo) => string | undefined;
}

/**
 * What a decision provider receives about the request: never raw cookies,
 * authorization headers or other scrubbed values.
 */
export interface RequestContext {
  /** The client address, canonical; undefined when none could be found. */
  ip: string | undefined;
  /** Headers with normalized names; scrubbed ones carry `true`. */
  headers: ScrubbedHeaders;
  /** The `User-Agent` header, or undefined. */
  userAgent: string | undefined;
  /** TLS fingerprint from `getJa3`, if any. */
  ja3: string | undefined;
  /** Resource type from `getResourceType`, default `text/html`. */
  resourceType: string;
  /** Channel from `getChannel`, if any. */
  channel: string | undefined;
  /** Upper-case method. */
  method: string;
  /** Pathname. */
  path: string;
  /**
   * `http` or `https`: `RequestInfo.protocol` as the framework saw it (behind a proxy,
   * per the framework's trust-proxy settings); undefined when the adapter did not say.
   * The embedded engine expects `Sec-Fetch-*` from Chromium only on secure origins.
   */
  protocol?: 'http' | 'https' | undefined;
}

/** A compiled context builder: options validated once, applied to many requests. */
export interface ContextBuilder {
  (req: RequestInfo): RequestContext;
  /**
   * The context and, for start-up diagnostics, whether an `X-Forwarded-For` from an
   * untrusted public peer was ignored (see `ClientIpResolution`).
   */
  detailed(req: RequestInfo): { context: RequestContext; forwardedForIgnored: boolean };
}

const HOOKS = ['getJa3', 'getResourceType', 'getChannel'] as const;

function callHook(hook: ((req: RequestInfo) => string | undefined) | undefined, req: RequestInfo): string | undefined {
  if (!hook) return undefined;
  try {
    const value: unknown = hook(req);
    if (typeof value === 'string') return value;
    // An async hook is a mistake (hooks are synchronous), but its rejection must not
    // become an unhandled rejection, which ends the process on Node 15 and later.
    if (value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function') {
      Promise.resolve(value).catch(() => undefined);
    }
    return undefined;
  } catch {
    // A hook is the app's code; its failure must not turn a request into a crash.
    return undefined;
  }
}

/**
 * Validates context options once and returns the builder that applies them.
 * Bad options throw a {@link VigilConfigError}.
 */
export function createContextBuilder(options: ContextOptions = {}): ContextBuilder {
  const extractIp = createClientIpExtractor(options.ip ?? {}, 'ip');
  const useFramework = options.ip?.useFramework === true;
  const scrub = createHeaderScrubber(options.headers ?? {}, 'headers');
  for (const hook of HOOKS) {
    const value = options[hook];
    if (value !== undefined && typeof value !== 'function') {
      throw new VigilConfigError('VIGIL_E_OPTION_TYPE', hook, value, 'which is not a function', `Pass a function (req) => string, or leave ${hook} out.`);
    }
  }
  const { getJa3, getResourceType, getChannel } = options;
  const detailed = (req: RequestInfo) => {
    const headers = req.headers ?? {};
    const frameworkIp = useFramework && typeof req.frameworkIp === 'string' ? createFrameworkIp(req.frameworkIp) : undefined;
    const resolution = frameworkIp === undefined ? extractIp.resolve(req) : undefined;
    const context: RequestContext = {
      ip: frameworkIp ?? resolution?.ip,
      headers: scrub(headers),
      userAgent: getHeader(headers, 'User-Agent'),
      ja3: callHook(getJa3, req),
      resourceType: callHook(getResourceType, req) ?? 'text/html',
      channel: callHook(getChannel, req),
      method: typeof req.method === 'string' ? req.method.toUpperCase() : 'GET',
      path: typeof req.path === 'string' ? req.path : '/',
      protocol: protocolOf(req.protocol),
    };
    return { context, forwardedForIgnored: resolution?.ignoredForwardedFor === true };
  };
  const builder = ((req: RequestInfo) => detailed(req).context) as ContextBuilder;
  builder.detailed = detailed;
  return builder;
}

/** `http` / `https` from what an adapter passed (`https`, `HTTPS`, `https:`), else undefined. */
function protocolOf(value: unknown): 'http' | 'https' | undefined {
  if (typeof value !== 'string') return undefined;
  const scheme = value.toLowerCase().replace(/:$/, '');
  return scheme === 'https' || scheme === 'http' ? scheme : undefined;
}

// The framework's address goes through the same parser so that the answer is always
// canonical or undefined, whatever the framework handed over.
const frameworkIpExtractor = createClientIpExtractor({});
function createFrameworkIp(value: string): string | undefined {
  return frameworkIpExtractor({ headers: {}, remoteAddress: value });
}

const buildersByOptions = new WeakMap<object, ContextBuilder>();

/**
 * Builds what a decision provider receives for one request: client IP, scrubbed
 * headers, user agent, and the values of the optional `getJa3`, `getResourceType`
 * (default `text/html`) and `getChannel` hooks. The options are compiled once per
 * options object; {@link createContextBuilder} holds the compiled form.
 *
 * @example
 * const ctx = buildRequestContext(
 *   { method: 'POST', url: '/login', path: '/login', headers: { 'user-agent': 'Mozilla/5.0', cookie: 'sid=1' }, remoteAddress: '203.0.113.5' },
 *   {},
 * )
 * // ctx.ip === '203.0.113.5', ctx.headers.Cookie === true
 */
export function buildRequestContext(requestInfo: RequestInfo, config: ContextOptions = {}): RequestContext {
  let builder = buildersByOptions.get(config);
  if (!builder) {
    builder = createContextBuilder(config);
    buildersByOptions.set(config, builder);
  }
  return builder(requestInfo);
}
