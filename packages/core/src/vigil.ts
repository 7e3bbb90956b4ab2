// createVigil: the assembly of a configured Vigil. Each job has its own file under
// pipeline/: the options checked and compiled (config.ts), the state the jobs share
// (runtime.ts), the decision pipeline (protect.ts, asking the provider in consult.ts,
// building the decision in decision.ts), enforcement (enforce.ts), outcome logging
// (outcome.ts), explicit tracking and identify (track.ts), admin calls and close
// (admin.ts). Public types: pipeline/types.ts.
import { createAdmin, createClose } from './pipeline/admin.js';
import { compileConfig } from './pipeline/config.js';
import { createEnforce, createRespond } from './pipeline/enforce.js';
import { createOutcomes } from './pipeline/outcome.js';
import { createProtect } from './pipeline/protect.js';
import { Runtime } from './pipeline/runtime.js';
import { createTracking } from './pipeline/track.js';
import type { Vigil, VigilConfig } from './pipeline/types.js';
import { compileRoute, type RouteDefinition } from './routing/routes.js';

export type { ChallengeContext, EnforceIO, FailoverStrategy, Vigil, VigilConfig } from './pipeline/types.js';

/**
 * Creates a Vigil from its configuration: validates every option (throwing a
 * {@link VigilConfigError} that names the option, the value and the fix), compiles
 * routes and patterns once, and returns what adapters call.
 *
 * @example
 * const vigil = createVigil({
 *   mode: 'blocking',
 *   routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
 *   uriExclusion: ['/static'],
 * })
 * const decision = await vigil.protect(requestInfo)
 * if (decision.action === 'block') {
 *   const { status, headers, body } = vigil.respond(decision, requestInfo.headers.accept as string)!
 * }
 */
export function createVigil(config: VigilConfig = {}): Vigil {
  const rt = new Runtime(compileConfig(config));
  const { mode, provider, onChallenge, routing, logger, unprotectedDecision, excludedDecision, challenges } = rt.config;
  const respond = createRespond(rt);
  const { explicitOutcome, ...outcomes } = createOutcomes(rt);
  return {
    mode,
    provider,
    onChallenge,
    routes: routing.routes,
    logger,
    stats: rt.stats,
    unprotectedDecision,
    excludedDecision,
    match: (req) => routing.match(req),
    isExcluded: (req) => routing.isExcluded(req),
    route: (definition, option = 'route') =>
      // A route given explicitly (per-route middleware, a decorator) applies wherever it
      // is mounted: without a path it matches every path, and it is the framework's
      // choice, which exclusions do not override.
      compileRoute(
        {
          ...definition,
          path: definition.path ?? '/*',
          // A $custom event still needs its own name; other events name the route after themselves.
          name: definition.name ?? (definition.path === undefined && definition.event !== '$custom' ? definition.event : undefined),
        } as RouteDefinition,
        option,
        { chosen: definition.path === undefined, outcome: config.outcome },
      ),
    protect: createProtect(rt),
    respond,
    enforce: createEnforce(rt, respond),
    ...outcomes,
    ...createTracking(rt, explicitOutcome),
    ...createAdmin(rt),
    challengeAssetsPath: challenges?.assetsPath,
    challengeAsset: challenges === undefined ? () => undefined : (method, path) => challenges.asset(method, path),
    close: createClose(rt),
  };
}
