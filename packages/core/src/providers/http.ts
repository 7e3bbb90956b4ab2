import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Got } from 'got';

/** One keep-alive agent pair per provider: decisions reuse sockets instead of paying a handshake each. */
export interface ProviderAgents {
  http: HttpAgent;
  https: HttpsAgent;
  /** The `agent` option for got: exactly `{ http, https }` (got rejects any other key). */
  readonly got: { http: HttpAgent; https: HttpsAgent };
  /** Registers a call in flight, so that {@link ProviderAgents.close} can wait for it. */
  track<T>(call: Promise<T>): Promise<T>;
  /** Destroys the sockets (cutting calls in flight) and resolves once every tracked call has settled. */
  close(): Promise<void>;
  destroy(): void;
}

/** Creates the keep-alive agents a remote provider keeps for its lifetime. */
export function createAgents(): ProviderAgents {
  const http = new HttpAgent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });
  const https = new HttpsAgent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });
  const inFlight = new Set<Promise<unknown>>();
  const destroy = () => {
    http.destroy();
    https.destroy();
  };
  return {
    http,
    https,
    got: { http, https },
    track(call) {
      const settled = call.then(
        () => undefined,
        () => undefined,
      );
      inFlight.add(settled);
      settled.then(() => inFlight.delete(settled));
      return call;
    },
    async close() {
      destroy();
      await Promise.all([...inFlight]);
    },
    destroy,
  };
}

let gotModule: Promise<Got> | undefined;

/**
 * got, loaded on first use: apps on the embedded engine never load an HTTP client.
 * (got is ESM-only; a dynamic import works from both builds on Node ≥ 20.19.)
 */
export function loadGot(): Promise<Got> {
  gotModule ??= import('got').then((m) => m.got);
  return gotModule;
}

/**
 * Starts loading got when a remote provider is constructed, so that the first decision
 * does not pay for the import (which alone can exceed a 100 ms budget). A failure
 * surfaces on first use, not here.
 */
export function preloadGot(): void {
  loadGot().catch(() => undefined);
}

/**
 * `promise`, or undefined when it has not settled within `ms`: the time budget of a
 * call covers loading got too (a cold import alone can take over 100 ms).
 */
export async function withinBudget<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), undefined);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs a got request under a hard deadline, measured by our own timer rather than got's
 * (which starts only once got has processed its options and answers a few ms late): at
 * the deadline the request is cancelled and the call rejects with a `TimeoutError`. An
 * answer that arrives later is ignored.
 */
export async function withDeadline<T>(request: Promise<T> & { cancel?: () => void }, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(Object.assign(new Error(`no answer within ${Math.round(ms)} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' }));
      request.cancel?.();
    }, Math.max(0, ms));
  });
  try {
    return await Promise.race([request, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Milliseconds left of a `timeout` budget that started at `started` (`performance.now()`). */
export function remainingMs(started: number, timeout: number): number {
  return timeout - (performance.now() - started);
}

/** The error codes Node and got use for a connection that failed or was cut. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_SOCKET_CLOSED']);

/** How a call to a remote API failed, without the error itself (whose options carry credentials). */
export interface TransportFailure {
  /**
   * `timeout`; `connection` (refused, reset, cut mid-body, even after a 2xx status);
   * `http` (an answer with status ≥ 400); `oversized` (a body over the cap); `other`.
   */
  kind: 'timeout' | 'connection' | 'http' | 'oversized' | 'other';
  /** The HTTP status of an `http` failure (and of an `oversized` one, when it came). */
  status?: number;
  /** The body of an `http` failure, when it was read (within the cap). */
  body?: string;
  /** Node's or got's error code, when there was one. */
  code?: string;
}

/**
 * Classifies a got failure. Only a complete error answer (got's `HTTPError`) is an
 * `http` failure: a connection cut while the body of a 200 was arriving carries that
 * status too, and is a connection failure, not the caller's fault.
 */
export function classifyTransportError(error: unknown): TransportFailure {
  const e = error as { name?: string; code?: string; response?: { statusCode?: number; body?: unknown } } | null | undefined;
  if (e?.name === 'TimeoutError' || e?.code === 'ETIMEDOUT') return { kind: 'timeout', code: 'ETIMEDOUT' };
  if ((e?.name === 'HTTPError' || e?.code === 'ERR_NON_2XX_3XX_RESPONSE') && typeof e.response?.statusCode === 'number') {
    return { kind: 'http', status: e.response.statusCode, body: typeof e.response.body === 'string' ? e.response.body : undefined };
  }
  if (e?.code && CONNECTION_CODES.has(e.code)) return { kind: 'connection', code: e.code };
  if (e?.name === 'RequestError' || e?.name === 'ReadError') return { kind: 'connection', code: e.code ?? 'ECONNRESET' };
  return { kind: 'other', code: e?.code };
}

/**
 * The longest answer body a remote provider reads, in bytes (64 KB): a verdict is a few
 * hundred bytes, and a longer body is a malformed answer (a fault), not something to
 * buffer on the request path.
 */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** A got request as far as {@link readAnswer} needs it. */
export interface CancelableAnswer<T> extends Promise<T> {
  cancel(): void;
  on(name: 'response', listener: (response: { statusCode: number; headers: Record<string, unknown> }) => void): unknown;
  on(name: 'downloadProgress', listener: (progress: { transferred: number }) => void): unknown;
}

/** What {@link readAnswer} resolves: the answer, or how it failed. */
export type RemoteAnswer = { ok: true; status: number; body: string } | { ok: false; failure: TransportFailure };

/**
 * Waits for a got request (made with `responseType: 'text'`) for at most `deadlineMs`
 * and reads at most `maxBytes` of its body: a declared or streamed body over the cap
 * cancels the request. Never rejects: failures come back classified.
 */
export async function readAnswer(request: CancelableAnswer<{ statusCode: number; body: unknown }>, deadlineMs: number, maxBytes = MAX_ANSWER_BYTES): Promise<RemoteAnswer> {
  let status: number | undefined;
  let oversized = false;
  const tooLarge = () => {
    if (oversized) return;
    oversized = true;
    request.cancel();
  };
  request.on('response', (response) => {
    status = response.statusCode;
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) tooLarge();
  });
  request.on('downloadProgress', (progress) => {
    if (progress.transferred > maxBytes) tooLarge();
  });
  try {
    const response = await withDeadline(request, deadlineMs);
    return { ok: true, status: response.statusCode, body: typeof response.body === 'string' ? response.body : '' };
  } catch (error) {
    if (oversized) return { ok: false, failure: { kind: status !== undefined && status >= 400 ? 'http' : 'oversized', ...(status === undefined ? {} : { status }) } };
    return { ok: false, failure: classifyTransportError(error) };
  }
}

/**
 * The option names of `options` with their values hidden, for `checkKnownOptions`: a
 * misspelt `apiSecert: '...'` must not put the secret in the error message.
 */
export function namesOnly(options: object): Record<string, string> {
  return Object.fromEntries(Object.keys(options).map((key) => [key, '(hidden)']));
}
