import {
  type CompiledRoute,
  createVigil,
  normalizePathForMatch,
  type RequestInfo,
  type VigilConfig,
  VigilConfigError,
  verifyWebhook,
  WebhookVerificationError,
  watchSignIn,
} from '@vigil/core';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify';
import { fastifyPlugin } from 'fastify-plugin';
import { buildHandle, fastifyIO, keepRawCookies, kSlot, peekSlot, slotOf, toRequestInfo } from './request.js';
import type { VigilFastify, VigilFastifyOptions, VigilRequestHandle } from './types.js';

export type {
  BlockedUser,
  ChallengeContext,
  Decision,
  DecisionAction,
  DeviceRecord,
  EventType,
  IdentifyOptions,
  Mode,
  Provider,
  TrackLoginOptions,
  TrackSignupOptions,
  Verdict,
  VigilHandle,
} from '@vigil/core';
export { hcaptcha, recaptcha, turnstile, VigilConfigError, VigilProviderError, VigilUnsupportedError, WebhookVerificationError } from '@vigil/core';
export type { FastifyRaw, IdentifyResult, VigilFastify, VigilFastifyOptions, VigilRequestHandle, VigilRouteConfig } from './types.js';

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

const plugin: FastifyPluginAsync<VigilFastifyOptions> = async (fastify, options) => {
  const core = createVigil({ logger: fastify.log, ...options } as VigilConfig);
  const useFramework = options.ip?.useFramework === true;
  const seen = new Set<string>();
  // Core's compiled methods (HEAD comes with GET): which methods any configured route takes.
  const anyRouteTakes = (method: string) => core.routes.some((route) => route.methods === undefined || route.methods.has(method));

  let warnedUnanswered = false;
  const warnUnanswered = () => {
    if (warnedUnanswered) return;
    warnedUnanswered = true;
    core.logger.warn(
      { code: 'VIGIL_W_IDENTIFY_UNANSWERED' },
      'identify found a blocked user but has no reply to answer with (a route without a Vigil hook, or a hook that runs before Vigil’s): pass the reply, request.vigil.identify(user, reply), or answer yourself when result.decision.action is "block"',
    );
  };
  /** `request.vigil`: built on first read, rebuilt when a Vigil hook decides. */
  const handleOf = (request: FastifyRequest): VigilRequestHandle => {
    const slot = slotOf(request, core.unprotectedDecision);
    slot.handle ??= buildHandle(core, request, slot, useFramework, warnUnanswered);
    return slot.handle;
  };

  const decoration: VigilFastify = {
    ...core,
    core,
    trackSignup: (request, options = {}) => handleOf(request).trackSignup(options),
    trackLogin: (request, options) => handleOf(request).trackLogin(options),
    trackCustom: (request, name, properties) => handleOf(request).trackCustom(name, properties),
    identify: (request, user, reply) => handleOf(request).identify(user, reply),
    // Async, so that a provider without the operation (CHEQ has no block list) rejects
    // with VigilUnsupportedError instead of throwing before a promise exists.
    blockUser: async (userId, opts) => core.blockUser(userId, opts),
    unblockUser: async (userId) => core.unblockUser(userId),
    listBlockedUsers: async () => core.listBlockedUsers(),
    reportDevice: async (deviceId, opts) => core.reportDevice(deviceId, opts),
    approveDevice: async (deviceId) => core.approveDevice(deviceId),
    getDevicesForUser: async (userId) => core.getDevicesForUser(userId),
    verifyWebhook(request, secret, signature) {
      const raw = (request as { rawBody?: unknown }).rawBody ?? request.body;
      if (typeof raw !== 'string' && !Buffer.isBuffer(raw)) {
        throw new WebhookVerificationError(
          raw === undefined || raw === null
            ? 'the webhook body is empty'
            : 'the webhook body was parsed, so its signature cannot be checked: give the route a content-type parser that keeps it raw (parseAs: "buffer"), or register fastify-raw-body',
        );
      }
      const header = request.headers['x-castle-signature'];
      verifyWebhook(raw, signature ?? (Array.isArray(header) ? header[0] : header), secret);
    },
  };
  fastify.decorate('vigil', decoration);
  // Where each request's decision, neutral request and reply live (see ./request.ts).
  fastify.decorateRequest(kSlot, null);
  // A getter: it works on every route, those without any Vigil hook included.
  fastify.decorateRequest('vigil', {
    getter(this: FastifyRequest) {
      return handleOf(this);
    },
  });
  fastify.addHook('onClose', () => core.close());

  const decideWith = (routeFor: (info: RequestInfo) => CompiledRoute | undefined, bodyParsed: boolean) =>
    async function vigilDecide(request: FastifyRequest, reply: FastifyReply) {
      const info = toRequestInfo(request, useFramework, bodyParsed);
      const route = routeFor(info);
      const slot = slotOf(request, core.unprotectedDecision);
      // Kept even when nothing is decided, so that identify can answer with this reply.
      slot.info = info;
      slot.reply = reply;
      if (route === undefined) {
        if (core.isExcluded(info)) {
          slot.decision = core.excludedDecision;
          slot.handle = undefined;
        }
        return;
      }
      // `failover: 'throw'` rejects here: Fastify's error handler answers.
      const decision = await core.protect(info, route);
      slot.decision = decision;
      slot.handle = undefined; // a handle read earlier showed the unprotected decision
      if (!decision.protected) return;
      const challenged = decision.action === 'challenge';
      const result = await core.enforce(decision, info, fastifyIO(request, reply, challenged));
      if (challenged) delete (reply as { send?: unknown }).send; // back to Fastify's own
      if (result === 'handled') return reply;
      slot.proceeded = true;
      slot.signedIn = watchSignIn(request);
    };

  function vigilLogOutcome(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
    const slot = peekSlot(request);
    // Only requests that went on to the route: their response is the app's answer. The
    // outcome rules read its status, headers (a redirect's Location, a session's
    // Set-Cookie), whether the handler signed a user in (@fastify/passport's
    // request.logIn), and the payload only for a rule that reads the body.
    if (slot?.proceeded) {
      core.logOutcome(slot.decision, {
        status: reply.statusCode,
        headers: reply.getHeaders(),
        signedIn: slot.signedIn?.() === true,
        ...(slot.body === undefined ? {} : { body: slot.body }),
      });
    }
    done();
  }

  function vigilKeepCookies(request: FastifyRequest, reply: FastifyReply, payload: unknown, done: (err: null, payload: unknown) => void) {
    keepRawCookies(reply);
    const slot = peekSlot(request);
    if (slot?.proceeded && core.needsResponseBody(slot.decision)) slot.body = payload;
    done(null, payload);
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
    // With a body: preValidation, the first hook that sees it parsed, and before the
    // route's own preValidation hooks — where authentication runs (@fastify/passport's
    // authenticate, @fastify/auth): deciding later would let the credentials be checked,
    // and a failure answered, before Vigil could stop the attempt.
    const phase = methods.every((m) => BODYLESS.has(m)) ? 'onRequest' : 'preValidation';
    const hooks = routeOptions as RouteOptions & Record<'onRequest' | 'preValidation' | 'onSend' | 'onResponse', unknown>;
    hooks[phase] = [decideWith(routeFor, phase === 'preValidation'), ...[hooks[phase] ?? []].flat()];
    // Last: after the app's own onSend hooks, right before Fastify writes the head.
    hooks.onSend = [...[hooks.onSend ?? []].flat(), vigilKeepCookies];
    hooks.onResponse = [...[hooks.onResponse ?? []].flat(), vigilLogOutcome];
  });

  // The built-in challenge page's scripts and styles (HEAD too: Fastify exposes it).
  const assetsPath = core.challengeAssetsPath;
  if (assetsPath !== undefined) {
    fastify.get(`${assetsPath}/:name`, { config: { vigil: false } }, (request, reply) => {
      const asset = core.challengeAsset('GET', `${assetsPath}/${(request.params as { name: string }).name}`);
      if (asset === undefined) return reply.callNotFound();
      return reply.code(asset.status).headers(asset.headers).send(asset.body);
    });
  }

  // A listed route Fastify registered before this plugin never saw onRoute: unprotected
  // while the configuration says otherwise. Fail at start-up instead.
  fastify.addHook('onReady', async () => {
    const listed = [
      ...(options.routes ?? []).map((r, i) => ({ path: r?.path, method: r?.method, option: `routes[${i}].path` })),
      ...Object.keys(options.routeToEventType ?? {}).map((path) => ({ path, method: undefined, option: `routeToEventType[${JSON.stringify(path)}]` })),
    ];
    for (const { path, method, option } of listed) {
      // Parametric and wildcard paths too: hasRoute compares patterns.
      if (typeof path !== 'string') continue;
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
 * body decide in `preValidation` (the body is parsed; before the route's own
 * authentication hooks), GET and HEAD in `onRequest`.
 *
 * On a scored request the decision is in `request.vigil` (`protected: true`). A block
 * answers 403 (HTML for browsers, JSON otherwise), a redirect goes to `redirectUrl`, a
 * challenge gets the built-in proof-of-work challenge (a page for a browser's form, JSON
 * otherwise; its assets are served under `challenge.assetsPath`) or goes to
 * `onChallenge` (with `raw: { request, reply }`); anything else, and
 * everything in monitoring mode, goes on to the route, and the status it answers is
 * logged to the provider in `onResponse`. A verdict's `Set-Cookie` (a provider's, the
 * device cookie) is appended, never in place of the app's. Options are validated at
 * registration: a bad one fails `ready()` with a `VigilConfigError` naming the option
 * and the fix.
 *
 * On every route, hooked or not, `request.vigil.identify(user, reply)` enforces user and
 * device blocks and `request.vigil.trackLogin` / `trackSignup` / `trackCustom` report
 * events; `fastify.vigil` has the admin operations (`blockUser`, `reportDevice`...).
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
 * fastify.post('/login', async (request) => ({ ok: true, risk: request.vigil.risk }))
 * fastify.get('/account', async (request, reply) => {
 *   if ((await request.vigil.identify({ id: request.session.userId }, reply)).handled) return reply
 *   return account(request)
 * })
 * fastify.post('/signup', { config: { vigil: { event: '$registration', user: { email: 'body.email' } } } }, signup)
 */
export const vigil: FastifyPluginAsync<VigilFastifyOptions> = fastifyPlugin(
  // fastify-plugin may see another copy of Fastify's types than this package (pnpm
  // hoisting); the function is the same either way.
  plugin as never,
  { name: '@vigil/fastify', fastify: '5.x' },
) as unknown as FastifyPluginAsync<VigilFastifyOptions>;
