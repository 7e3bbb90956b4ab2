import type { IncomingHeaders, RequestInfo } from '@vigil/core';

// The little Vigil needs from Express and Fastify requests and responses; both
// platforms have these properties (Fastify's `request.socket` and
// `request.originalUrl` are its raw request's).
interface PlatformRequest {
  method: string;
  url: string;
  originalUrl?: string;
  headers: IncomingHeaders;
  query?: Record<string, unknown>;
  body?: unknown;
  cookies?: Record<string, string | undefined>;
  ip?: string;
  socket?: { remoteAddress?: string };
}

interface RawResponse {
  headersSent: boolean;
  writableFinished: boolean;
  statusCode: number;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

/** The request target as received, and its pathname: all `vigil.match()` needs. */
export function requestTarget(request: PlatformRequest): { method: string; url: string; path: string } {
  const url = request.originalUrl ?? request.url ?? '/';
  const query = url.indexOf('?');
  return { method: request.method, url, path: query === -1 ? url : url.slice(0, query) };
}

/** The neutral request core decides on, from an Express or Fastify request. */
export function toRequestInfo(request: PlatformRequest): RequestInfo {
  return {
    ...requestTarget(request),
    query: request.query,
    headers: request.headers,
    remoteAddress: request.socket?.remoteAddress,
    cookies: request.cookies,
    body: request.body,
    frameworkIp: request.ip,
  };
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
