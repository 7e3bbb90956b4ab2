import type { RequestInfo } from '../context/request.js';
import { VigilConfigError, describeValue } from '../errors.js';
import { type EventType, EVENT_TYPES, isEventType } from '../events.js';
import { checkKnownOptions } from '../config/options.js';
import { type Clients, checkClients } from '../engine/native-apps.js';
import { compileField, type FieldReader, type FieldSource } from './fields.js';
import { compileOutcome, mergeOutcome, type OutcomeClassifier, type OutcomeOptions } from './outcome.js';
import { compilePath, normalizePathForMatch } from './paths.js';

export { normalizePathForMatch };

/** Where a route's user identifiers come from; each a dotted path or a function. */
export interface UserFields {
  id?: FieldSource;
  email?: FieldSource;
  phone?: FieldSource;
  username?: FieldSource;
}

/** The user identifiers read from one request. Raw values: they never leave the process unhashed. */
export interface UserIdentity {
  id?: string;
  email?: string;
  phone?: string;
  username?: string;
}

/** One protected route. */
export interface RouteDefinition {
  /** HTTP method(s); default: every method. */
  method?: string | string[];
  /**
   * A pathname (`/login`, `/users/:id/reset`, `/api/*`) or a RegExp tested against the
   * request's canonical path (the path its framework's router routes on, see
   * {@link canonicalPath}). String paths ignore case and trailing slashes, as Express's
   * router does, so `/LOGIN/` cannot slip past a `/login` rule.
   */
  path: string | RegExp;
  /** Castle event type of the route. */
  event: EventType;
  /** A name for logs and decisions (required for `$custom`). */
  name?: string;
  /** Where the user identifiers are: `{ email: 'body.email' }`. */
  user?: UserFields;
  /** How response statuses become `$succeeded` / `$failed`. */
  outcome?: OutcomeOptions;
  /**
   * Who calls the route: `'browser'` (web pages), `'app'` (your own mobile apps' API:
   * okhttp, CFNetwork, Dart… are not bots there) or `'any'`. Default: `createVigil`'s
   * `clients`, else `'browser'`. See {@link Clients}.
   */
  clients?: Clients;
}

/** A route compiled at start-up; adapters hold these, core matches against them. */
export interface CompiledRoute {
  /** The event type of the route. */
  readonly event: EventType;
  /** The route's name, or its path as written. */
  readonly name: string;
  /** True when the route reads user fields from `body.*` (the body must be parsed first). */
  readonly needsBody: boolean;
  /** Reads the user identifiers of a request. */
  readonly readUser: (req: RequestInfo) => UserIdentity;
  /** Maps a response status to an outcome. */
  readonly outcome: OutcomeClassifier;
  /**
   * True when the route applies to this upper-case method and pathname:
   * `normalizedPath` from {@link normalizePathForMatch}, `rawPath` as received (RegExp routes test it).
   */
  readonly matches: (method: string, normalizedPath: string, rawPath?: string) => boolean;
  /**
   * The upper-case methods the route applies to (`HEAD` comes with `GET`, as Express
   * and Fastify answer HEAD with the GET handler), or undefined for every method.
   */
  readonly methods: ReadonlySet<string> | undefined;
  /**
   * True when the route's path is a trailing wildcard or a RegExp: a broad rule that
   * `uriExclusion` carves requests out of. Exclusions never apply to a route that names
   * its handler's path (`/login`, `/users/:id/reset`) nor to one the framework chose
   * (per-route middleware, `config.vigil`, `@Protect()`): a parameter's value or a
   * suffix is the client's to write, and `/users/42.css` must not escape `/users/:id`
   * because an exclusion reads `/\.css$/`.
   */
  readonly broad: boolean;
  /** Who calls the route, when its definition says (see {@link RouteDefinition.clients}). */
  readonly clients?: Clients | undefined;
}

const ROUTE_KEYS = ['method', 'path', 'event', 'name', 'user', 'outcome', 'clients'];
const USER_KEYS = ['id', 'email', 'phone', 'username'] as const;
const METHOD = /^[A-Za-z]+$/;
function compileMethods(method: unknown, option: string): ReadonlySet<string> | undefined {
  if (method === undefined) return undefined;
  const list = Array.isArray(method) ? method : [method];
  if (list.length === 0 || list.some((m) => typeof m !== 'string' || !METHOD.test(m))) {
    throw new VigilConfigError('VIGIL_E_ROUTE', option, method, 'which is not an HTTP method or a list of them', 'Use e.g. "POST" or ["POST", "PUT"]; leave it out for every method.');
  }
  const methods = new Set(list.map((m: string) => m.toUpperCase()));
  // Both routers answer HEAD with the GET handler: a GET rule that let HEAD through
  // would run a GET magic link (and its Set-Cookie) undecided.
  if (methods.has('GET')) methods.add('HEAD');
  return methods;
}

/**
 * Validates and compiles one route definition. Throws {@link VigilConfigError} naming
 * the route and the field at fault.
 */
export function compileRoute(definition: RouteDefinition, option = 'routes[0]', compileOptions: { chosen?: boolean; outcome?: OutcomeOptions } = {}): CompiledRoute {
  if (definition === null || typeof definition !== 'object' || Array.isArray(definition)) {
    throw new VigilConfigError('VIGIL_E_ROUTE', option, definition, 'which is not a route object', 'Use { method: "POST", path: "/login", event: "$login" }.');
  }
  checkKnownOptions(definition, ROUTE_KEYS, option);
  if (!isEventType(definition.event)) {
    throw new VigilConfigError('VIGIL_E_ROUTE', `${option}.event`, definition.event, 'which is not an event type', `Use one of ${EVENT_TYPES.join(', ')}.`);
  }
  if (definition.name !== undefined && (typeof definition.name !== 'string' || definition.name.trim() === '')) {
    throw new VigilConfigError('VIGIL_E_ROUTE', `${option}.name`, definition.name, 'which is not a non-empty string', 'Name the route, e.g. "checkout", or leave name out.');
  }
  if (definition.event === '$custom' && definition.name === undefined) {
    throw new VigilConfigError('VIGIL_E_ROUTE', `${option}.name`, undefined, 'but a $custom event needs a name', 'Add a name, e.g. { event: "$custom", name: "add_to_cart" }.');
  }
  const methods = compileMethods(definition.method, `${option}.method`);
  const matchPath = compilePath(definition.path, `${option}.path`);
  const clients = checkClients(definition.clients, `${option}.clients`, 'VIGIL_E_ROUTE');

  const readers: [keyof UserIdentity, FieldReader][] = [];
  let needsBody = false;
  if (definition.user !== undefined) {
    if (definition.user === null || typeof definition.user !== 'object' || Array.isArray(definition.user)) {
      throw new VigilConfigError('VIGIL_E_ROUTE', `${option}.user`, definition.user, 'which is not an object', 'Use e.g. { email: "body.email", id: (req) => req.headers["x-user-id"] }.');
    }
    checkKnownOptions(definition.user, USER_KEYS, `${option}.user`);
    for (const key of USER_KEYS) {
      const source = definition.user[key];
      if (source === undefined) continue;
      readers.push([key, compileField(source, `${option}.user.${key}`)]);
      if (typeof source === 'string' && source.trim().startsWith('body.')) needsBody = true;
    }
  }
  const readUser = (req: RequestInfo): UserIdentity => {
    const user: UserIdentity = {};
    for (const [key, read] of readers) {
      const value = read(req);
      if (value !== undefined) user[key] = value;
    }
    return user;
  };

  const name = definition.name ?? (typeof definition.path === 'string' ? definition.path : String(definition.path));
  return Object.freeze({
    event: definition.event,
    name,
    needsBody,
    readUser,
    outcome: compileOutcome(mergeOutcome(compileOptions.outcome, definition.outcome), `${option}.outcome`, { event: definition.event }),
    clients,
    methods,
    broad: compileOptions.chosen !== true && (definition.path instanceof RegExp || (typeof definition.path === 'string' && /(?:^|\/)\*$/.test(definition.path.replace(/\/+$/, '')))),
    matches: (method: string, normalizedPath: string, rawPath?: string) =>
      (methods === undefined || methods.has(method)) && matchPath(normalizedPath, rawPath ?? normalizedPath),
  }) as CompiledRoute;
}

/** CHEQ's event names accepted in `routeToEventType`, with the Castle type each becomes. */
export const CHEQ_EVENT_TYPES: Readonly<Record<string, EventType>> = Object.freeze({
  page_load: '$custom',
  form_submission: '$custom',
  login: '$login',
  registration: '$registration',
  signup: '$registration',
  password_reset: '$password_reset_request',
  purchase: '$transaction',
  checkout: '$transaction',
  add_payment: '$transaction',
  add_to_cart: '$custom',
  subscription: '$custom',
  search: '$custom',
  contact: '$custom',
});

/** Route options as `createVigil` takes them. */
export interface RoutingOptions {
  routes?: RouteDefinition[];
  /**
   * CHEQ's shorthand: `{ '/login': '$login' }` is `{ path: '/login', event: '$login' }`.
   * CHEQ's own event names (`{ '/checkout': 'purchase' }`) become `$custom` events of that name.
   */
  routeToEventType?: Record<string, EventType | string>;
  /**
   * Paths (segment-prefix) and RegExps carved out of the broad rules (wildcard and
   * RegExp routes, Express middleware mounted with `app.use`). Both are tested against
   * the request's canonical path (see {@link canonicalPath}), never its query string or
   * fragment: `/login?x=.css` is not excluded by `/\.css$/`. A route that names its
   * handler's path (`/login`, `/users/:id`) or that the framework chose (per-route
   * middleware on a route, `config.vigil`, `@Protect()`) is decided whatever the
   * exclusions say: skip such a handler with its own opt-out instead.
   */
  uriExclusion?: (string | RegExp)[];
  /**
   * Outcome rules for every route (see {@link OutcomeOptions}): a route's own `outcome`
   * replaces the rules of the same kind and keeps the others, e.g. `outcome: { session:
   * 'sid' }` here and `{ failed: 200 }` on one route.
   */
  outcome?: OutcomeOptions;
}

/** Matches requests against exclusions and routes, compiled once. */
export interface RouteMatcher {
  readonly routes: readonly CompiledRoute[];
  /** True when the request's canonical path is excluded. */
  isExcluded(req: Pick<RequestInfo, 'path'>): boolean;
  /** The first route that applies to the canonical path, or undefined (an excluded request matches no broad route). */
  match(req: Pick<RequestInfo, 'method' | 'path'>): CompiledRoute | undefined;
}

/** Compiles `uriExclusion` into one predicate. */
export function compileExclusions(list: unknown, option = 'uriExclusion'): (path: string) => boolean {
  if (list === undefined) return () => false;
  if (!Array.isArray(list)) {
    throw new VigilConfigError('VIGIL_E_URI_EXCLUSION', option, list, 'which is not an array', 'Pass an array of paths and RegExps, e.g. ["/static", /\\.css$/].');
  }
  const exact: string[] = [];
  const prefixes: string[] = [];
  const patterns: RegExp[] = [];
  list.forEach((entry, i) => {
    if (entry instanceof RegExp) {
      patterns.push(new RegExp(entry.source, entry.flags.replace(/[gy]/g, '')));
    } else if (typeof entry === 'string' && entry.startsWith('/')) {
      const trimmed = entry.length > 1 ? entry.replace(/\/+$/, '') : entry;
      if (trimmed === '/' || trimmed === '') {
        throw new VigilConfigError('VIGIL_E_URI_EXCLUSION', `${option}[${i}]`, entry, 'which would exclude every path', 'Remove it, or exclude narrower paths such as "/static".');
      }
      exact.push(trimmed);
      prefixes.push(`${trimmed}/`);
    } else {
      throw new VigilConfigError(
        'VIGIL_E_URI_EXCLUSION',
        `${option}[${i}]`,
        entry,
        `which is ${describeValue(entry) === 'undefined' ? 'missing' : 'not a path starting with "/" nor a RegExp'}`,
        'Use a path ("/static" excludes /static and everything below it) or a RegExp tested against the path.',
      );
    }
  });
  // The path only: a query string or a fragment is the client's to write, and the
  // router ignores both, so they must not decide that a protected handler is excluded.
  return (path) => {
    for (let i = 0; i < exact.length; i++) {
      if (path === exact[i] || path.startsWith(prefixes[i] as string)) return true;
    }
    for (const pattern of patterns) if (pattern.test(path)) return true;
    return false;
  };
}

/**
 * Compiles the routing options of `createVigil`: `routes`, CHEQ's `routeToEventType`
 * shorthand, and `uriExclusion`. Routes are tried in order; the first match wins.
 */
export function compileRouting(options: RoutingOptions): RouteMatcher {
  const routes: CompiledRoute[] = [];
  // The app-wide rules, checked on their own first so that a fault names `outcome`.
  const outcome = options.outcome;
  if (outcome !== undefined) compileOutcome(outcome, 'outcome');
  if (options.routes !== undefined) {
    if (!Array.isArray(options.routes)) {
      throw new VigilConfigError('VIGIL_E_ROUTE', 'routes', options.routes, 'which is not an array', 'Pass an array of routes, e.g. [{ method: "POST", path: "/login", event: "$login" }].');
    }
    options.routes.forEach((route, i) => {
      routes.push(compileRoute(route, `routes[${i}]`, { outcome }));
    });
  }
  if (options.routeToEventType !== undefined) {
    const map = options.routeToEventType;
    if (map === null || typeof map !== 'object' || Array.isArray(map)) {
      throw new VigilConfigError('VIGIL_E_ROUTE', 'routeToEventType', map, 'which is not an object', 'Map paths to events, e.g. { "/login": "$login" }.');
    }
    for (const path of Object.keys(map)) {
      const given = map[path] as string;
      // CHEQ's own event names are accepted too: mapped to Castle's type where one means
      // the same (so the engine protects a 'login' route as a login), named $custom
      // otherwise. The route keeps the CHEQ name, which the CHEQ provider sends back.
      const cheq = typeof given === 'string' && Object.hasOwn(CHEQ_EVENT_TYPES, given) ? CHEQ_EVENT_TYPES[given] : undefined;
      const event = (cheq ?? given) as EventType;
      const name = cheq !== undefined ? given : event === '$custom' ? path : undefined;
      routes.push(compileRoute({ path, event, ...(name === undefined ? {} : { name }) }, `routeToEventType[${JSON.stringify(path)}]`, { outcome }));
    }
  }
  const isExcludedPath = compileExclusions(options.uriExclusion);
  const pathOf = (req: Pick<RequestInfo, 'path'>) => (typeof req.path === 'string' ? req.path : '/');
  return {
    routes,
    isExcluded: (req) => isExcludedPath(pathOf(req)),
    match(req) {
      if (routes.length === 0) return undefined;
      const path = pathOf(req);
      const method = typeof req.method === 'string' ? req.method.toUpperCase() : 'GET';
      const normalized = normalizePathForMatch(path);
      let excluded: boolean | undefined;
      for (const route of routes) {
        if (!route.matches(method, normalized, path)) continue;
        // Exclusions carve requests out of broad rules only (see CompiledRoute.broad).
        if (route.broad) {
          excluded ??= isExcludedPath(path);
          if (excluded) continue;
        }
        return route;
      }
      return undefined;
    },
  };
}
