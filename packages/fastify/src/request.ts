import { createHandle, type Decision, type EnforceIO, type IdentifyOptions, type RequestInfo, routedPathOf, UNPROTECTED_DECISION, type Vigil } from '@vigil/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyRaw, IdentifyResult, VigilRequestHandle } from './types.js';

/**
 * What Vigil keeps on one Fastify request, under a symbol: the decision (core's
 * unprotected one until a Vigil hook decides), the neutral request the hook built, the
 * reply the hook saw (so that `identify` can answer without being handed one), and the
 * handle `request.vigil` returns, built on first read.
 */
export interface Slot {
  decision: Decision;
  info: RequestInfo | undefined;
  reply: FastifyReply | undefined;
  handle: VigilRequestHandle | undefined;
  /** The request went on to the route: its status is the app's answer to log. */
  proceeded: boolean;
  /** Whether the route signed a user in (core's `watchSignIn`), once it went on to it. */
  signedIn: (() => boolean) | undefined;
  /** The payload sent, kept only when the route's outcome rules read the body. */
  body: unknown;
}

/** The request property that holds the {@link Slot}; declared with `decorateRequest` so every request has it. */
export const kSlot: unique symbol = Symbol('@vigil/fastify');

type WithSlot = { [kSlot]: Slot | null };

/** The request's slot, created on first use. */
export function slotOf(request: FastifyRequest, unprotected: Decision = UNPROTECTED_DECISION): Slot {
  const holder = request as unknown as WithSlot;
  let slot = holder[kSlot];
  if (!slot) {
    slot = { decision: unprotected, info: undefined, reply: undefined, handle: undefined, proceeded: false, signedIn: undefined, body: undefined };
    holder[kSlot] = slot;
  }
  return slot;
}

/** The slot, if a hook or a read of `request.vigil` made one. */
export function peekSlot(request: FastifyRequest): Slot | null {
  return (request as unknown as WithSlot)[kSlot];
}

/**
 * The path of a request as Fastify's router saw it. Once routed, it is rebuilt from the
 * route's pattern and the parameters find-my-way extracted (the framework's decision:
 * `/%6Cogin`, `HTTP://host/login` and `/login#x` are all `/login` if find-my-way
 * routed them there); a request no route took gets find-my-way's rules applied to its
 * target.
 */
export function routedPath(request: FastifyRequest): string {
  return routedPathOf(request.url, 'find-my-way', { pattern: request.routeOptions?.url, params: request.params });
}

/** Fastify's request as Vigil's neutral one. */
export function toRequestInfo(request: FastifyRequest, useFramework: boolean, bodyParsed: boolean): RequestInfo {
  const url = request.url;
  const info: RequestInfo = {
    method: request.method,
    url,
    path: routedPath(request),
    query: request.query as Record<string, unknown>,
    headers: request.headers,
    // In the order and case the client sent them: CHEQ's HeaderNames fingerprints both.
    rawHeaders: request.raw.rawHeaders,
    protocol: request.protocol,
    remoteAddress: request.socket.remoteAddress,
    // Set when @fastify/cookie ran; core reads the Cookie header otherwise.
    cookies: (request as { cookies?: Record<string, string | undefined> }).cookies,
    // In preValidation Fastify has parsed whatever body there was: none is an empty one.
    body: request.body === undefined && bodyParsed ? {} : request.body,
    // `request.ip` runs Fastify's trustProxy logic on every read: only when asked for.
    frameworkIp: useFramework ? request.ip : undefined,
    // The form a passed challenge's page re-posted, put back before validation and the handler.
    setBody(body) {
      info.body = body;
      request.body = body;
    },
  };
  return info;
}

/**
 * Moves `Set-Cookie` headers the app wrote with `reply.raw.setHeader` into Fastify's
 * own, after Vigil's: Node's `writeHead` would otherwise let Fastify's value (a provider's
 * cookie, the device cookie) replace the app's.
 */
export function keepRawCookies(reply: FastifyReply): void {
  const raw = reply.raw;
  if (raw.headersSent || !raw.hasHeader('set-cookie') || !reply.hasHeader('set-cookie')) return;
  const value = raw.getHeader('set-cookie');
  raw.removeHeader('set-cookie');
  reply.header('set-cookie', [value ?? []].flat().map(String));
}

/** Fastify's way to answer, lent to `core.enforce`. */
export function fastifyIO(request: FastifyRequest, reply: FastifyReply, challenged: boolean): EnforceIO<FastifyRaw> {
  // Whether onChallenge started an answer. With an async onSend hook in the app,
  // `reply.sent` turns true only once that hook is done: after core has looked.
  let answering = false;
  if (challenged) {
    const send = reply.send;
    reply.send = function (this: FastifyReply, payload?: unknown) {
      answering = true;
      return send.call(this, payload);
    };
  }
  return {
    appendHeader: (name, value) => {
      const key = name.toLowerCase();
      const previous = reply.getHeader(key);
      // Fastify appends to an existing Set-Cookie by itself (and so do its later
      // `reply.header('set-cookie', ...)` calls, to Vigil's); any other header it replaces.
      reply.header(key, previous === undefined || key === 'set-cookie' ? value : [previous, value].flat().map(String));
    },
    send: ({ status, headers, body }) => {
      answering = true;
      reply.code(status).headers(headers).send(body);
    },
    headersSent: () => answering || reply.sent || reply.raw.headersSent,
    raw: { request, reply },
  };
}

/**
 * Builds `request.vigil`: core's handle over the request's decision (its fields read
 * through, tracking helpers bound to the request), with `identify` taking an optional
 * reply to answer with, and `toJSON` giving the decision.
 */
export function buildHandle(core: Vigil, request: FastifyRequest, slot: Slot, useFramework: boolean, warnUnanswered: () => void): VigilRequestHandle {
  const decision = slot.decision;
  const info = () => {
    slot.info ??= toRequestInfo(request, useFramework, false);
    return slot.info;
  };
  const base = createHandle(core, decision, info);
  return Object.create(base, {
    identify: {
      value: async (user: IdentifyOptions, reply?: FastifyReply): Promise<IdentifyResult> => {
        const target = reply ?? slot.reply;
        if (target === undefined) {
          const result = await base.identify(user);
          if (result.decision.action === 'block' || result.decision.action === 'redirect') warnUnanswered();
          return result;
        }
        return createHandle(core, decision, info, fastifyIO(request, target, false)).identify(user);
      },
    },
    toJSON: { value: () => decision },
  }) as VigilRequestHandle;
}
