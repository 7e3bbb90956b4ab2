import { type IncomingHeaders, parseCookieHeader, type RequestInfo, requestOf, routedPathOf } from '@vigil/core';

// The little Vigil needs from Express and Fastify requests and responses; both
// platforms have these properties (Fastify's `request.socket` and
// `request.originalUrl` are its raw request's; its `rawHeaders` are on `request.raw`).
export interface PlatformRequest {
  method: string;
  url: string;
  originalUrl?: string;
  headers: IncomingHeaders;
  rawHeaders?: string[];
  raw?: { rawHeaders?: string[] };
  protocol?: string;
  query?: Record<string, unknown>;
  body?: unknown;
  rawBody?: unknown;
  cookies?: Record<string, string | undefined>;
  ip?: string;
  socket?: { remoteAddress?: string; encrypted?: boolean };
  /** Fastify: the route find-my-way chose (`url` is its pattern). */
  routeOptions?: { url?: string };
  /** The route parameters the router extracted. */
  params?: Record<string, unknown>;
}

interface RawResponse {
  headersSent: boolean;
  writableFinished: boolean;
  statusCode: number;
  on(event: 'finish' | 'close', listener: () => void): unknown;
}

// A Fastify reply: its own header store, written over the raw response's at writeHead.
interface FastifyLikeReply {
  raw: RawResponse;
  getHeader(name: string): unknown;
  removeHeader(name: string): unknown;
  header(name: string, value: unknown): unknown;
}

// An Express response: Node's ServerResponse plus `append()`.
interface ExpressLikeResponse {
  getHeader(name: string): unknown;
  append(name: string, value: string | string[]): unknown;
}

/**
 * The request target as received, and the path the platform's router routed it on:
 * all `vigil.match()` needs. The guard runs once Nest's router has chosen the handler;
 * on Fastify the path is rebuilt from that route's pattern and parameters (the
 * framework's decision), on Express it is what Express's router reads from the target.
 */
export function requestTarget(request: PlatformRequest): { method: string; url: string; path: string } {
  const url = request.originalUrl ?? request.url ?? '/';
  const path = routedPathOf(url, request.raw === undefined ? 'express' : 'find-my-way', { pattern: request.routeOptions?.url, params: request.params });
  return { method: request.method, url, path };
}

/**
 * The neutral request core decides on, from an Express or Fastify request. A class:
 * what the platform computes on each read (Express's `req.query` parses the query
 * string; `protocol` and `ip` follow the trust-proxy settings) and the cookies are read
 * through prototype getters, only when core needs them, with no closure per request.
 */
class PlatformRequestInfo implements RequestInfo {
  readonly #request: PlatformRequest;
  #cookies: Record<string, string | undefined> | undefined;
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly headers: IncomingHeaders;
  readonly rawHeaders: string[] | undefined;
  readonly remoteAddress: string | undefined;
  body: unknown;
  constructor(request: PlatformRequest) {
    this.#request = request;
    const target = requestTarget(request);
    this.method = target.method;
    this.url = target.url;
    this.path = target.path;
    this.headers = request.headers;
    // Names in the order and case the client sent them (CHEQ's HeaderNames): Express's
    // request is Node's IncomingMessage; Fastify's keeps it as `request.raw`.
    this.rawHeaders = request.raw?.rawHeaders ?? request.rawHeaders;
    this.remoteAddress = request.socket?.remoteAddress;
    this.body = request.body;
  }
  get query(): Record<string, unknown> | undefined {
    return this.#request.query;
  }
  /** The form a passed challenge's page re-posted, put back where the handler's `@Body()` reads it. */
  setBody(body: unknown): void {
    this.body = body;
    this.#request.body = body;
  }
  /** Both platforms' `protocol` follows their trust-proxy settings (X-Forwarded-Proto). */
  get protocol(): string {
    return this.#request.protocol ?? (this.#request.socket?.encrypted ? 'https' : 'http');
  }
  /**
   * Parsed by cookie-parser or @fastify/cookie when the app registers one, else from the
   * Cookie header here, once and only when read (`cookies.*` user fields, the device
   * cookie, CHEQ's _cheq_rti).
   */
  get cookies(): Record<string, string | undefined> {
    this.#cookies ??= this.#request.cookies ?? parseCookieHeader(this.#request.headers.cookie);
    return this.#cookies;
  }
  get frameworkIp(): string | undefined {
    return this.#request.ip;
  }
}

/** The neutral request core decides on, from an Express or Fastify request. */
export function toRequestInfo(request: PlatformRequest): RequestInfo {
  return new PlatformRequestInfo(request);
}

/**
 * The neutral request of a platform request: the one its handle (`request.vigil`, put
 * there by the guard) was decided on, so that the service's helpers (identify, track*)
 * use the very request the decision saw (its issued device, its automatic outcome);
 * without a handle, a new one.
 */
export function requestInfoOf(request: object): RequestInfo {
  return requestOf((request as { vigil?: unknown }).vigil) ?? toRequestInfo(request as PlatformRequest);
}

/** The Node response under an Express response (itself) or a Fastify reply (`reply.raw`). */
export function rawResponse(response: object): RawResponse {
  return ((response as { raw?: RawResponse }).raw ?? response) as RawResponse;
}

/** True once the response started: nothing may be written to it again. */
export function isHeadersSent(response: object): boolean {
  // A hijacked Fastify reply is the app's to write, even before its headers go out.
  return rawResponse(response).headersSent || (response as { sent?: boolean }).sent === true;
}

function isFastifyReply(response: object): response is FastifyLikeReply {
  const reply = response as Partial<FastifyLikeReply>;
  return typeof reply.raw === 'object' && reply.raw !== null && typeof reply.header === 'function' && typeof reply.getHeader === 'function';
}

function valuesOf(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}

/** The values a response holds for a header (Fastify: its reply's, else its raw response's). */
export function headerValues(response: object, name: string): string[] {
  return valuesOf((response as { getHeader(name: string): unknown }).getHeader(name));
}

/**
 * Adds a header to a response without replacing what the app set: Express's
 * `res.append()`; on Fastify, the values already there — the reply's, or those a Nest
 * middleware (which gets the raw objects) set on the raw response — and the new ones,
 * together in a fresh array in the reply. Fastify writes the reply's headers over the
 * raw response's, so a `reply.header()` alone would drop a middleware's Set-Cookie;
 * later `reply.header('set-cookie', …)` calls of the app push into that array.
 */
export function appendHeader(response: object, name: string, value: string | readonly string[]): void {
  const values = typeof value === 'string' ? [value] : [...value];
  if (isFastifyReply(response)) {
    const key = name.toLowerCase();
    // getHeader() gives the reply's own values, else the raw response's (a middleware's).
    const all = [...valuesOf(response.getHeader(key)), ...values];
    // Off the raw response too: the reply's copy now holds them all.
    response.removeHeader(key);
    response.header(key, all.length === 1 ? all[0] : all);
    return;
  }
  (response as ExpressLikeResponse).append(name, values.length === 1 ? (values[0] as string) : values);
}

/** The headers a response was sent with: a Fastify reply's own, else the Node response's. */
export function responseHeaders(response: object): Record<string, string | number | string[] | undefined> {
  const own = (response as { getHeaders?: () => Record<string, string | number | string[] | undefined> }).getHeaders;
  try {
    return typeof own === 'function' ? own.call(response) : {};
  } catch {
    return {};
  }
}
