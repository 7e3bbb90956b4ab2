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
  destroy(): void;
}

/** Creates the keep-alive agents a remote provider keeps for its lifetime. */
export function createAgents(): ProviderAgents {
  const http = new HttpAgent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });
  const https = new HttpsAgent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });
  return {
    http,
    https,
    got: { http, https },
    destroy() {
      http.destroy();
      https.destroy();
    },
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

/** Classifies a got failure without keeping the error (whose options carry credentials). */
export function classifyTransportError(error: unknown): { kind: 'timeout' | 'connection' | 'http' | 'other'; status?: number; body?: string; code?: string } {
  const e = error as { name?: string; code?: string; response?: { statusCode?: number; body?: unknown } };
  if (e?.name === 'TimeoutError' || e?.code === 'ETIMEDOUT') return { kind: 'timeout', code: 'ETIMEDOUT' };
  if (e?.response && typeof e.response.statusCode === 'number') {
    return { kind: 'http', status: e.response.statusCode, body: typeof e.response.body === 'string' ? e.response.body : undefined };
  }
  if (e?.code && CONNECTION_CODES.has(e.code)) return { kind: 'connection', code: e.code };
  if (e?.name === 'RequestError' || e?.name === 'ReadError') return { kind: 'connection', code: e.code ?? 'ECONNRESET' };
  return { kind: 'other', code: e?.code };
}

/**
 * The option names of `options` with their values hidden, for `checkKnownOptions`: a
 * misspelt `apiSecert: '...'` must not put the secret in the error message.
 */
export function namesOnly(options: object): Record<string, string> {
  return Object.fromEntries(Object.keys(options).map((key) => [key, '(hidden)']));
}
