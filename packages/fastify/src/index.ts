import { type CompiledRoute, createVigil, type EnforceIO, normalizePathForMatch, type RequestInfo, type VigilConfig, VigilConfigError } from '@vigil/core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify';
import { fastifyPlugin } from 'fastify-plugin';
import type { FastifyRaw, VigilFastifyOptions } from './types.js';

export type { FastifyRaw, VigilFastifyOptions, VigilRouteConfig } from './types.js';
export { VigilConfigError, VigilProviderError } from '@vigil/core';
export type { ChallengeContext, Decision, DecisionAction, EventType, Mode, Provider, Verdict } from '@vigil/core';

/**
 * Version of this package, kept in step with package.json.
 *
 * @example
 * import { VERSION } from '@vigil/fastify'
 * console.log(`@vigil/fastify ${VERSION}`)
 */
export const VERSION = '0.1.0';

// Fastify parses no body for these: their routes can decide as early as onRequest.
const BODYLESS = new Set(['GET', 'HEAD']);
const PARAMETRIC = /[:*]/;

function toRequestInfo(request: FastifyRequest, useFramework: boolean, bodyParsed: boolean): RequestInfo {
  const url = request.url;
  const q = url.indexOf('?');
  return {
    method: request.method,
    url,
    path: q < 0 ? url : url.slice(0, q),
    query: request.query as Record<string, unknown>,
    headers: request.headers,
    rawHeaders: request.raw.rawHeaders,
    protocol: request.protocol,
    remoteAddress: request.socket.remoteAddress,
    cookies: (request as { cookies?: Record<string, string | undefined> }).cookies,
    // In preHandler Fastify has parsed whatever body there was: none is an empty one.
    body: request.body === undefined && bodyParsed ? {} : request.body,
    // `request.ip` runs Fastify's trustProxy logic on every read: only when asked for.
    frameworkIp: useFramework ? request.ip : undefined,
  };
}

function fastifyIO(request: FastifyRequest, reply: FastifyReply, challenged: boolean): EnforceIO<FastifyRaw> {
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
      const previous = reply.getHeader(name);
      // Fastify appends to an existing Set-Cookie by itself; any other header it replaces.
      reply.header(name, previous === undefined || name === 'set-cookie' ? value : [previous, value].flat().map(String));
    },
    send: ({ status, headers, body }) => {
      reply.code(status).headers(headers).send(body);
    },
    headersSent: () => answering || reply.sent || reply.raw.headersSent,
    raw: { request, reply },
  };
}

const plugin: FastifyPluginAsync<VigilFastifyOptions> = async (fastify, options) => {
  const core = createVigil({ logger: fastify.log, ...options } as VigilConfig);
  const useFramework = options.ip?.useFramework === true;
  // Requests that went on to the route: only their status is the app's answer to log.
  const proceeded = new WeakSet<FastifyRequest>();
  const seen = new Set<string>();
  const methodLists = (options.routes ?? []).map((r) => (r?.method === undefined ? undefined : [r.method].flat().map((m) => String(m).toUpperCase())));
  if (Object.keys(options.routeToEventType ?? {}).length > 0) methodLists.push(undefined);
  const anyRouteTakes = (method: string) => methodLists.some((list) => list === undefined || list.includes(method));

  fastify.decorate('vigil', core);
  fastify.decorateRequest('vigil', null);
  fastify.addHook('onClose', () => core.close());

  const decideWith = (routeFor: (info: RequestInfo) => CompiledRoute | undefined, bodyParsed: boolean) =>
    async function vigilDecide(request: FastifyRequest, reply: FastifyReply) {
      const info = toRequestInfo(request, useFramework, bodyParsed);
      const route = routeFor(info);
      if (route === undefined) return;
      // `failover: 'throw'` rejects here: Fastify's error handler answers.
      const decision = await core.protect(info, route);
      if (!decision.protected) return;
      request.vigil = decision;
      const challenged = decision.action === 'challenge';
      const result = await core.enforce(decision, info, fastifyIO(request, reply, challenged));
      if (challenged) delete (reply as { send?: unknown }).send; // back to Fastify's own
      if (result === 'handled') return reply;
      proceeded.add(request);
    };

  function vigilLogOutcome(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    if (request.vigil !== null && proceeded.has(request)) core.logOutcome(request.vigil, reply.statusCode);
    done();
  }

  // Decided once per route, at start-up: routes Vigil cannot apply to get no hook at all.
  fastify.addHook('onRoute', (routeOptions) => {
    const url = routeOptions.url ?? routeOptions.path ?? '/';
    const methods = [routeOptions.method].flat().map((m) => m.toUpperCase());
    for (const method of methods) seen.add(`${method} ${normalizePathForMatch(url)}`);
    const setting: unknown = routeOptions.config?.vigil;
    if (setting === false) return;
    let routeFor: (info: RequestInfo) => CompiledRoute | undefined;
    if (setting !== undefined) {
      const option = `config.vigil of ${methods.join(',')} ${url}`;
      if (setting === null || typeof setting !== 'object' || 'path' in setting || 'method' in setting) {
        throw new VigilConfigError('VIGIL_E_ROUTE', option, setting, 'which is not false nor a route without path and method', 'Use false to opt out, or { event: "$login", user: { email: "body.email" } }: the Fastify route decides the path and methods.');
      }
      const route = core.route({ name: url, ...(setting as object) } as Parameters<typeof core.route>[0], option);
      routeFor = () => route;
    } else if (PARAMETRIC.test(url)) {
      // Which concrete paths `/users/:id` serves is only known per request: core matches
      // each one (a synchronous match; unmatched requests go on untouched). Skipped when
      // no configured route takes one of this route's methods.
      if (!methods.some((m) => anyRouteTakes(m))) return;
      routeFor = (info) => core.match(info);
    } else {
      const normalized = normalizePathForMatch(url);
      const byMethod = new Map<string, CompiledRoute>();
      for (const method of methods) {
        const route = core.routes.find((r) => r.matches(method, normalized, url));
        if (route) byMethod.set(method, route);
      }
      if (byMethod.size === 0) return;
      // Fixed here: the route Fastify chose is the one protected, however the path was spelt.
      routeFor = (info) => byMethod.get(info.method);
    }
    const phase = methods.every((m) => BODYLESS.has(m)) ? 'onRequest' : 'preHandler';
    const hooks = routeOptions as RouteOptions & Record<'onRequest' | 'preHandler' | 'onResponse', unknown>;
    hooks[phase] = [decideWith(routeFor, phase === 'preHandler'), ...[hooks[phase] ?? []].flat()];
    hooks.onResponse = [...[hooks.onResponse ?? []].flat(), vigilLogOutcome];
  });

  // A listed route Fastify registered before this plugin never saw onRoute: unprotected
  // while the configuration says otherwise. Fail at start-up instead.
  fastify.addHook('onReady', async () => {
    const listed = [
      ...(options.routes ?? []).map((r, i) => ({ path: r?.path, method: r?.method, option: `routes[${i}].path` })),
      ...Object.keys(options.routeToEventType ?? {}).map((path) => ({ path, method: undefined, option: `routeToEventType[${JSON.stringify(path)}]` })),
    ];
    for (const { path, method, option } of listed) {
      if (typeof path !== 'string' || PARAMETRIC.test(path)) continue;
      for (const m of method === undefined ? fastify.supportedMethods : [method].flat()) {
        if (!seen.has(`${m.toUpperCase()} ${normalizePathForMatch(path)}`) && fastify.hasRoute({ method: m.toUpperCase() as 'GET', url: path })) {
          throw new VigilConfigError('VIGIL_E_ROUTE', option, path, `which Fastify registered (${m.toUpperCase()}) before the Vigil plugin, so it has no Vigil hook`, 'Register Vigil before the routes: await fastify.register(vigil, options), then declare them.');
        }
      }
    }
  });
};

/**
 * Vigil's Fastify plugin. Register it before the routes; it protects the configured
 * `routes` and every route whose `config.vigil` is an object, and leaves alone routes
 * with `config: { vigil: false }` (they get no hook at all). Routes that can carry a
 * body decide in `preHandler` (the body is parsed), GET and HEAD in `onRequest`.
 *
 * On a scored request the decision is in `request.vigil`. A block answers 403 (HTML for
 * browsers, JSON otherwise), a redirect goes to `redirectUrl`, a challenge goes to
 * `onChallenge` (with `raw: { request, reply }`); anything else, and everything in
 * monitoring mode, goes on to the route, and the status it answers is logged to the
 * provider in `onResponse`. Options are validated at registration: a bad one fails
 * `ready()` with a `VigilConfigError` naming the option and the fix.
 *
 * @example
 * import Fastify from 'fastify'
 * import { vigil } from '@vigil/fastify'
 *
 * const fastify = Fastify({ trustProxy: '127.0.0.1' })
 * await fastify.register(vigil, {
 *   mode: 'blocking',
 *   routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
 * })
 * fastify.post('/login', async (request) => ({ ok: true, risk: request.vigil?.risk }))
 * fastify.post('/signup', { config: { vigil: { event: '$registration', user: { email: 'body.email' } } } }, signup)
 */
export const vigil: FastifyPluginAsync<VigilFastifyOptions> = fastifyPlugin(
  // fastify-plugin may see another copy of Fastify's types than this package (pnpm
  // hoisting); the function is the same either way.
  plugin as never,
  { name: '@vigil/fastify', fastify: '5.x' },
) as unknown as FastifyPluginAsync<VigilFastifyOptions>;
