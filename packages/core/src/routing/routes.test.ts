import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { VigilConfigError } from '../errors.js';
import { EVENT_TYPES, type EventType } from '../events.js';
import {
  compileExclusions,
  compileRoute,
  compileRouting,
  normalizePathForMatch,
  type RouteDefinition,
  type RoutingOptions,
} from './routes.js';
import { thrown } from '../test-support/thrown.js';

/** Asserts the shape every configuration error shares: code, option, and a message naming both. */
function expectConfigError(err: VigilConfigError, code: string, option: string): void {
  expect(err.name).toBe('VigilConfigError');
  expect(err.code).toBe(code);
  expect(err.option).toBe(option);
  expect(err.message.startsWith(`${code}: ${option} is `)).toBe(true);
}

/** A neutral request; `path` is `url` without its query string unless given. */
function request(method: string, url: string, path = url.split('?')[0] as string): RequestInfo {
  return { method, url, path, headers: {} };
}

/** Compiles routes and answers the name of the route a request matches, or undefined. */
function matchName(options: RoutingOptions, method: string, url: string): string | undefined {
  return compileRouting(options).match(request(method, url))?.name;
}

describe('normalizePathForMatch', () => {
  it.each([
    ['/', '/'],
    ['/login', '/login'],
    ['/LOGIN', '/login'],
    ['/Login/', '/login'],
    ['/login/', '/login'],
    ['/login//', '/login'],
    ['/login///', '/login'],
    ['//', '/'],
    ['/api/V1/Users/', '/api/v1/users'],
    ['/a/b/c', '/a/b/c'],
    ['/users/42/reset', '/users/42/reset'],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalizePathForMatch(input)).toBe(expected);
  });

  it('returns the very same string when nothing changes', () => {
    const path = '/already/normal';
    expect(normalizePathForMatch(path)).toBe(path);
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\/[A-Za-z0-9/_.-]{0,30}$/), (path) => {
        const once = normalizePathForMatch(path);
        expect(normalizePathForMatch(once)).toBe(once);
      }),
    );
  });

  it('never leaves an ASCII upper-case letter nor a trailing slash (the root excepted)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\/[A-Za-z0-9/_.-]{0,30}$/), (path) => {
        const out = normalizePathForMatch(path);
        expect(out).not.toMatch(/[A-Z]/);
        if (out !== '/') expect(out.endsWith('/')).toBe(false);
      }),
    );
  });
});

describe('compileRoute', () => {
  describe('string paths', () => {
    it.each<[string, string, boolean]>([
      // Exact match.
      ['/login', '/login', true],
      ['/login', '/logout', false],
      ['/login', '/login/extra', false],
      ['/login', '/log', false],
      ['/login', '/loginx', false],
      ['/login', '/', false],
      // Case and trailing slashes are ignored, both in the rule and in the request.
      ['/login', '/LOGIN', true],
      ['/login', '/Login', true],
      ['/login', '/login/', true],
      ['/login', '/LOGIN/', true],
      ['/login', '/login//', true],
      ['/LOGIN', '/login', true],
      ['/Login/', '/login', true],
      ['/login/', '/LOGIN', true],
      // Parameters: exactly one segment, which may be empty.
      ['/users/:id/reset', '/users/42/reset', true],
      ['/users/:id/reset', '/users/abc-def/reset', true],
      ['/users/:id/reset', '/USERS/42/RESET/', true],
      // find-my-way gives `:id` an empty value here: the route must still apply.
      ['/users/:id/reset', '/users//reset', true],
      ['/users/:id/reset', '/users/42/43/reset', false],
      ['/users/:id/reset', '/users/reset', false],
      ['/users/:id/reset', '/users/42/reset/more', false],
      ['/users/:id', '/users/42', true],
      ['/users/:id', '/users', false],
      ['/users/:id', '/users/', true], // an empty :id, as find-my-way routes it
      ['/users/:id', '/users/42/', true],
      ['/:a/:b', '/x/y', true],
      ['/:a/:b', '/x', false],
      // Trailing wildcard: the prefix itself and everything below it.
      ['/api/*', '/api/login', true],
      ['/api/*', '/api/v1/login', true],
      ['/api/*', '/api', true],
      ['/api/*', '/api/', true],
      // find-my-way decodes %0a, %0D and %E2%80%A8 before routing (issue 12, found by the
      // Nest-on-Fastify differential suite): `.` would not match them.
      ['/api/*', '/api/\nx', true],
      ['/api/*', '/api/x\r', true],
      ['/api/*', '/api/\u2028/y', true],
      ['/api/*', '/api/x\u2029', true],
      ['/login', '/login\n/', false],
      ['/api/*', '/API/Login', true],
      ['/api/*', '/apiary', false],
      ['/api/*', '/ap', false],
      ['/api/*', '/v1/api/login', false],
      ['/users/:id/*', '/users/42/reset/now', true],
      ['/users/:id/*', '/users/42', true],
      ['/users/:id/*', '/users', false],
      ['/*', '/', true],
      ['/*', '/anything/at/all', true],
      // The root route.
      ['/', '/', true],
      ['/', '/login', false],
      // Literal characters that are special in RegExps are literal.
      ['/a.b', '/a.b', true],
      ['/a.b', '/axb', false],
      ['/a+b', '/a+b', true],
      ['/a+b', '/aab', false],
      ['/(x)', '/(x)', true],
      ['/(x)', '/x', false],
      ['/a$b', '/a$b', true],
      ['/a|b', '/a', false],
      ['/a[b]', '/a[b]', true],
    ])('path %j vs request %j → %s', (path, requestPath, expected) => {
      const route = compileRoute({ path, event: '$login' });
      expect(route.matches('POST', normalizePathForMatch(requestPath), requestPath)).toBe(expected);
      expect(matchName({ routes: [{ path, event: '$login' }] }, 'POST', requestPath)).toBe(expected ? path : undefined);
    });
  });

  describe('RegExp paths', () => {
    it.each<[RegExp, string, boolean]>([
      [/^\/login$/, '/login', true],
      [/^\/login$/, '/login/', false],
      [/^\/login$/, '/LOGIN', false],
      [/^\/login$/i, '/LOGIN', true],
      [/^\/login\/?$/, '/login/', true],
      [/^\/users\/\d+\/reset$/, '/users/42/reset', true],
      [/^\/users\/\d+\/reset$/, '/users/abc/reset', false],
      [/login/, '/api/v1/login/form', true],
      [/Login/, '/api/Login', true],
    ])('%s vs raw path %j → %s', (path, requestPath, expected) => {
      const route = compileRoute({ path, event: '$login' });
      expect(route.matches('POST', normalizePathForMatch(requestPath), requestPath)).toBe(expected);
      expect(matchName({ routes: [{ path, event: '$login', name: 'r' }] }, 'POST', requestPath)).toBe(expected ? 'r' : undefined);
    });

    it('is tested against the raw pathname, not the normalized one', () => {
      const route = compileRoute({ path: /^\/Login\/$/, event: '$login' });
      expect(route.matches('POST', '/login', '/Login/')).toBe(true);
      expect(route.matches('POST', '/login', '/login')).toBe(false);
    });

    it('is tested against the pathname only, never the query string', () => {
      const routing = compileRouting({ routes: [{ path: /^\/login$/, event: '$login', name: 'login' }] });
      expect(routing.match(request('POST', '/login?next=/home'))?.name).toBe('login');
      const byQuery = compileRouting({ routes: [{ path: /next=/, event: '$login', name: 'q' }] });
      expect(byQuery.match(request('POST', '/login?next=/home'))).toBeUndefined();
    });

    it('falls back to the normalized path when no raw path is given', () => {
      const route = compileRoute({ path: /^\/login$/, event: '$login' });
      expect(route.matches('POST', '/login')).toBe(true);
    });

    it.each([[/^\/login$/g], [/^\/login$/y], [/^\/login$/gy], [/^\/login$/gi]])(
      'answers the same on repeated calls with the flags of %s (no lastIndex state)',
      (path) => {
        const route = compileRoute({ path, event: '$login' });
        for (let i = 0; i < 5; i++) expect(route.matches('POST', '/login', '/login')).toBe(true);
        const routing = compileRouting({ routes: [{ path, event: '$login', name: 'login' }] });
        for (let i = 0; i < 5; i++) expect(routing.match(request('POST', '/login'))?.name).toBe('login');
      },
    );

    it('does not share or mutate the RegExp the user passed', () => {
      const path = /^\/login$/g;
      const route = compileRoute({ path, event: '$login' });
      route.matches('POST', '/login', '/login');
      expect(path.lastIndex).toBe(0);
      path.lastIndex = 3;
      expect(route.matches('POST', '/login', '/login')).toBe(true);
    });
  });

  describe('methods', () => {
    it.each<[RouteDefinition['method'], string, boolean]>([
      [undefined, 'GET', true],
      [undefined, 'POST', true],
      [undefined, 'DELETE', true],
      [undefined, 'PATCH', true],
      ['POST', 'POST', true],
      ['POST', 'GET', false],
      ['post', 'POST', true],
      ['Post', 'POST', true],
      [['POST', 'PUT'], 'PUT', true],
      [['POST', 'PUT'], 'POST', true],
      [['POST', 'PUT'], 'GET', false],
      [['post', 'put'], 'PUT', true],
    ])('method %j vs %s → %s', (method, requestMethod, expected) => {
      const route = compileRoute({ method, path: '/login', event: '$login' } as RouteDefinition);
      expect(route.matches(requestMethod, '/login', '/login')).toBe(expected);
    });

    it.each([['post'], ['Post'], ['POST'], ['pOsT']])('matches the request method %j case-insensitively', (requestMethod) => {
      expect(matchName({ routes: [{ method: 'POST', path: '/login', event: '$login' }] }, requestMethod, '/login')).toBe('/login');
      expect(matchName({ routes: [{ method: 'post', path: '/login', event: '$login' }] }, requestMethod, '/login')).toBe('/login');
    });

    it('treats a request without a usable method as GET', () => {
      const routing = compileRouting({ routes: [{ method: 'GET', path: '/login', event: '$login' }] });
      expect(routing.match({ url: '/login', path: '/login' } as unknown as RequestInfo)?.name).toBe('/login');
      const postOnly = compileRouting({ routes: [{ method: 'POST', path: '/login', event: '$login' }] });
      expect(postOnly.match({ url: '/login', path: '/login' } as unknown as RequestInfo)).toBeUndefined();
    });

    it.each([[''], ['PO ST'], ['POST\r\n'], [42], [null], [[]], [['POST', 1]], [['POST', '']], [{}]])('rejects the method %j', (method) => {
      const err = thrown(() => compileRoute({ method, path: '/login', event: '$login' } as unknown as RouteDefinition, 'routes[3]'));
      expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[3].method');
      expect(err.value).toEqual(method);
      expect(err.message).toMatch(/"POST"/);
    });
  });

  describe('events and names', () => {
    it.each(EVENT_TYPES.filter((e) => e !== '$custom'))('accepts the event %s without a name, named after its path', (event) => {
      const route = compileRoute({ path: '/x', event });
      expect(route.event).toBe(event);
      expect(route.name).toBe('/x');
    });

    it('names a RegExp route after its pattern when unnamed', () => {
      expect(compileRoute({ path: /^\/login$/i, event: '$login' }).name).toBe('/^\\/login$/i');
    });

    it('keeps the path as written (not normalized) as the default name', () => {
      expect(compileRoute({ path: '/Login/', event: '$login' }).name).toBe('/Login/');
    });

    it('uses the given name', () => {
      expect(compileRoute({ path: '/login', event: '$login', name: 'sign-in' }).name).toBe('sign-in');
    });

    it('accepts $custom with a name', () => {
      const route = compileRoute({ path: '/cart', event: '$custom', name: 'add_to_cart' });
      expect(route.event).toBe('$custom');
      expect(route.name).toBe('add_to_cart');
    });

    it('rejects $custom without a name', () => {
      const err = thrown(() => compileRoute({ path: '/cart', event: '$custom' }, 'routes[2]'));
      expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[2].name');
      expect(err.message).toMatch(/\$custom/);
      expect(err.message).toMatch(/Add a name/);
    });

    it.each([['login'], ['$logon'], ['LOGIN'], ['$Login'], [''], [undefined], [null], [42], [['$login']]])('rejects the event %j', (event) => {
      const err = thrown(() => compileRoute({ path: '/login', event } as unknown as RouteDefinition, 'routes[1]'));
      expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[1].event');
      expect(err.value).toEqual(event);
      for (const type of EVENT_TYPES) expect(err.message).toContain(type);
    });

    it.each([[''], ['   '], [42], [null], [{}]])('rejects the name %j', (name) => {
      const err = thrown(() => compileRoute({ path: '/login', event: '$login', name } as unknown as RouteDefinition));
      expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[0].name');
      expect(err.value).toEqual(name);
    });
  });

  describe('invalid paths', () => {
    it.each([['login'], [''], ['*'], [undefined], [null], [42], [{}], [['/login']]])('rejects the path %j', (path) => {
      const err = thrown(() => compileRoute({ path, event: '$login' } as unknown as RouteDefinition, 'routes[5]'));
      expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[5].path');
      expect(err.value).toEqual(path);
      expect(err.message).toMatch(/starting with "\/"/);
    });

    it.each([['/api/*/login'], ['/api*'], ['/a*b'], ['/api/**'], ['//login'], ['/a//b']])('rejects the path %j (inner wildcard or empty segment)', (path) => {
      const err = thrown(() => compileRoute({ path, event: '$login' }));
      expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[0].path');
      expect(err.message).toMatch(/RegExp/);
    });
  });

  describe('unknown keys', () => {
    it('rejects a misspelt key with a "Did you mean" hint', () => {
      const err = thrown(() => compileRoute({ path: '/login', evnet: '$login' } as unknown as RouteDefinition, 'routes[0]'));
      expectConfigError(err, 'VIGIL_E_UNKNOWN_OPTION', 'routes[0].evnet');
      expect(err.value).toBe('$login');
      expect(err.message).toContain('Did you mean "routes[0].event"?');
    });

    it.each([
      ['methods', 'method'],
      ['pth', 'path'],
      ['nme', 'name'],
      ['usr', 'user'],
      ['outcomes', 'outcome'],
      ['Path', 'path'],
    ])('hints %s → %s', (typo, meant) => {
      const err = thrown(() => compileRoute({ path: '/login', event: '$login', [typo]: 1 } as unknown as RouteDefinition, 'routes[4]'));
      expectConfigError(err, 'VIGIL_E_UNKNOWN_OPTION', `routes[4].${typo}`);
      expect(err.message).toContain(`Did you mean "routes[4].${meant}"?`);
    });

    it('lists the valid keys when nothing is close', () => {
      const err = thrown(() => compileRoute({ path: '/login', event: '$login', somethingElse: true } as unknown as RouteDefinition));
      expectConfigError(err, 'VIGIL_E_UNKNOWN_OPTION', 'routes[0].somethingElse');
      expect(err.message).toMatch(/method, path, event, name, user, outcome/);
    });

    it('rejects an unknown key in user with a hint', () => {
      const err = thrown(() => compileRoute({ path: '/login', event: '$login', user: { emial: 'body.email' } } as unknown as RouteDefinition));
      expectConfigError(err, 'VIGIL_E_UNKNOWN_OPTION', 'routes[0].user.emial');
      expect(err.message).toContain('Did you mean "routes[0].user.email"?');
    });

    it('rejects an unknown key in outcome with a hint', () => {
      const err = thrown(() =>
        compileRoute({ path: '/login', event: '$login', outcome: { failled: [401] } } as unknown as RouteDefinition, 'routes[1]'),
      );
      expectConfigError(err, 'VIGIL_E_UNKNOWN_OPTION', 'routes[1].outcome.failled');
      expect(err.message).toContain('Did you mean "routes[1].outcome.failed"?');
    });
  });

  it.each([[null], [undefined], ['/login'], [42], [[{ path: '/login', event: '$login' }]]])('rejects the route %j', (definition) => {
    const err = thrown(() => compileRoute(definition as unknown as RouteDefinition, 'routes[7]'));
    expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[7]');
  });

  it.each([[null], ['body.email'], [42], [['body.email']]])('rejects user %j', (user) => {
    const err = thrown(() => compileRoute({ path: '/login', event: '$login', user } as unknown as RouteDefinition));
    expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[0].user');
  });

  it('names the user field at fault', () => {
    const err = thrown(() => compileRoute({ path: '/login', event: '$login', user: { email: 'params.email' } }, 'routes[2]'));
    expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[2].user.email');
    expect(err.value).toBe('params.email');
  });

  it('names the outcome matcher at fault', () => {
    const err = thrown(() => compileRoute({ path: '/login', event: '$login', outcome: { failed: ['4yy'] } }, 'routes[2]'));
    expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[2].outcome.failed[0]');
  });

  it('defaults the option name to routes[0]', () => {
    const err = thrown(() => compileRoute({ path: 'login', event: '$login' }));
    expect(err.option).toBe('routes[0].path');
  });

  it('returns a frozen route', () => {
    const route = compileRoute({ path: '/login', event: '$login' });
    expect(Object.isFrozen(route)).toBe(true);
  });

  describe('user fields and needsBody', () => {
    const req: RequestInfo = {
      method: 'POST',
      url: '/login?u=alice',
      path: '/login',
      headers: { 'x-user-id': 'u-1', 'x-phone': '+33 6 00 00 00 00' },
      query: { u: 'alice' },
      cookies: { uid: 'c-9' },
      body: { email: ' alice@example.com ', user: { name: 'alice' } },
    };

    it('reads every kind of source into the identity', () => {
      const route = compileRoute({
        path: '/login',
        event: '$login',
        user: { id: 'headers.x-user-id', email: 'body.email', phone: (r) => r.headers['x-phone'], username: 'body.user.name' },
      });
      expect(route.readUser(req)).toEqual({ id: 'u-1', email: 'alice@example.com', phone: '+33 6 00 00 00 00', username: 'alice' });
    });

    it('leaves absent fields out of the identity (no undefined keys)', () => {
      const route = compileRoute({ path: '/login', event: '$login', user: { id: 'cookies.nope', email: 'body.email', username: () => undefined } });
      const user = route.readUser(req);
      expect(user).toEqual({ email: 'alice@example.com' });
      expect(Object.keys(user)).toEqual(['email']);
    });

    it('reads nothing without user fields', () => {
      expect(compileRoute({ path: '/login', event: '$login' }).readUser(req)).toEqual({});
      expect(compileRoute({ path: '/login', event: '$login', user: {} }).readUser(req)).toEqual({});
    });

    it('never throws on an odd request', () => {
      const route = compileRoute({
        path: '/login',
        event: '$login',
        user: { id: () => { throw new Error('boom'); }, email: 'body.email', phone: 'headers.x-phone', username: 'cookies.u' },
      });
      expect(route.readUser({ method: 'POST', url: '/login', path: '/login', headers: {}, body: 'not an object' })).toEqual({});
      expect(route.readUser({ method: 'POST', url: '/login', path: '/login', headers: {}, body: null })).toEqual({});
    });

    it.each<[RouteDefinition['user'], boolean]>([
      [undefined, false],
      [{}, false],
      [{ email: 'body.email' }, true],
      [{ email: ' body.email ' }, true],
      [{ username: 'body.user.name' }, true],
      [{ id: 'query.u' }, false],
      [{ id: 'headers.x-user' }, false],
      [{ id: 'cookies.uid' }, false],
      [{ id: 'headers.body' }, false],
      [{ id: 'query.body' }, false],
      [{ email: (r) => (r.body as { email?: string } | undefined)?.email }, false],
      [{ id: 'headers.x-user', email: 'body.email' }, true],
    ])('needsBody for user %o is %s', (user, expected) => {
      expect(compileRoute({ path: '/login', event: '$login', user }).needsBody).toBe(expected);
    });
  });

  describe('outcome', () => {
    it.each<[number, string | undefined]>([
      [200, '$succeeded'],
      [302, '$succeeded'],
      [401, '$failed'],
      [403, '$failed'],
      [400, undefined],
      [500, undefined],
    ])('defaults: %i → %s', (status, expected) => {
      expect(compileRoute({ path: '/login', event: '$login' }).outcome(status)).toBe(expected);
    });

    it('uses the route outcome option', () => {
      const route = compileRoute({ path: '/login', event: '$login', outcome: { succeeded: 302, failed: 200 } });
      expect(route.outcome(302)).toBe('$succeeded');
      expect(route.outcome(200)).toBe('$failed');
    });
  });
});

describe('compileRouting', () => {
  it('matches nothing without routes', () => {
    const routing = compileRouting({});
    expect(routing.routes).toEqual([]);
    expect(routing.match(request('POST', '/login'))).toBeUndefined();
    expect(routing.isExcluded(request('POST', '/login'))).toBe(false);
  });

  it('lets the first matching route win', () => {
    const routes: RouteDefinition[] = [
      { method: 'POST', path: '/login', event: '$login', name: 'post-login' },
      { path: '/login', event: '$challenge', name: 'any-login' },
      { path: '/*', event: '$custom', name: 'catch-all' },
      { path: '/login', event: '$registration', name: 'never' },
    ];
    expect(matchName({ routes }, 'POST', '/login')).toBe('post-login');
    expect(matchName({ routes }, 'GET', '/login')).toBe('any-login');
    expect(matchName({ routes }, 'GET', '/other')).toBe('catch-all');
    const routing = compileRouting({ routes });
    expect(routing.routes.map((r) => r.name)).toEqual(['post-login', 'any-login', 'catch-all', 'never']);
    expect(routing.match(request('POST', '/login'))?.event).toBe('$login');
  });

  it('matches regardless of the query string', () => {
    expect(matchName({ routes: [{ path: '/login', event: '$login' }] }, 'POST', '/login?next=%2F')).toBe('/login');
  });

  it.each([['/LOGIN/'], ['/Login'], ['/login/'], ['/login//'], ['/LoGiN?x=1']])('cannot be bypassed by the spelling %j', (url) => {
    expect(matchName({ routes: [{ method: 'POST', path: '/login', event: '$login' }] }, 'POST', url)).toBe('/login');
  });

  it('treats a request without a string path as "/"', () => {
    const routing = compileRouting({ routes: [{ path: '/', event: '$login', name: 'root' }] });
    expect(routing.match({ method: 'GET' } as unknown as RequestInfo)?.name).toBe('root');
  });

  it('returns the compiled route objects it holds', () => {
    const routing = compileRouting({ routes: [{ path: '/login', event: '$login' }] });
    expect(routing.match(request('POST', '/login'))).toBe(routing.routes[0]);
  });

  it.each([[{}], ['/login'], [42], [null]])('rejects routes %j that is not an array', (routes) => {
    const err = thrown(() => compileRouting({ routes } as unknown as RoutingOptions));
    expectConfigError(err, 'VIGIL_E_ROUTE', 'routes');
  });

  it('names the index of the route at fault', () => {
    const err = thrown(() =>
      compileRouting({
        routes: [
          { path: '/login', event: '$login' },
          { path: '/signup', event: '$signup' as EventType },
        ],
      }),
    );
    expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[1].event');
  });

  describe('routeToEventType (CHEQ shorthand)', () => {
    it('adds one route per entry', () => {
      const routing = compileRouting({ routeToEventType: { '/login': '$login', '/signup': '$registration' } });
      expect(routing.routes.map((r) => [r.name, r.event])).toEqual([
        ['/login', '$login'],
        ['/signup', '$registration'],
      ]);
      expect(routing.match(request('POST', '/signup'))?.event).toBe('$registration');
      expect(routing.match(request('GET', '/LOGIN/'))?.event).toBe('$login');
      expect(routing.match(request('POST', '/other'))).toBeUndefined();
    });

    it('adds its routes after `routes`, so `routes` win', () => {
      const routing = compileRouting({
        routes: [{ method: 'POST', path: '/login', event: '$login', name: 'explicit' }],
        routeToEventType: { '/login': '$challenge', '/reset': '$password_reset_request' },
      });
      expect(routing.routes.map((r) => r.name)).toEqual(['explicit', '/login', '/reset']);
      expect(routing.match(request('POST', '/login'))?.name).toBe('explicit');
      expect(routing.match(request('GET', '/login'))?.event).toBe('$challenge');
      expect(routing.match(request('POST', '/reset'))?.event).toBe('$password_reset_request');
    });

    it('supports params and wildcards in its keys', () => {
      const routing = compileRouting({ routeToEventType: { '/users/:id/reset': '$password_reset_request', '/api/*': '$transaction' } });
      expect(routing.match(request('POST', '/users/9/reset'))?.event).toBe('$password_reset_request');
      expect(routing.match(request('POST', '/api'))?.event).toBe('$transaction');
    });

    it('accepts CHEQ event names: Castle types where they mean the same, named $custom events otherwise', () => {
      const routing = compileRouting({ routeToEventType: { '/login': 'login', '/signup': 'registration', '/': 'page_load', '/cart': 'add_to_cart' } });
      expect(routing.match(request('POST', '/login'))).toMatchObject({ event: '$login', name: 'login' });
      expect(routing.match(request('POST', '/signup'))).toMatchObject({ event: '$registration', name: 'registration' });
      expect(routing.match(request('GET', '/'))).toMatchObject({ event: '$custom', name: 'page_load' });
      expect(routing.match(request('POST', '/cart'))).toMatchObject({ event: '$custom', name: 'add_to_cart' });
    });

    it.each([['logon'], ['$logon'], [undefined], [42]])('rejects the event %j, naming the entry', (event) => {
      const err = thrown(() => compileRouting({ routeToEventType: { '/path': event } } as unknown as RoutingOptions));
      expect(err.code).toBe('VIGIL_E_ROUTE');
      expect(err.option).toBe('routeToEventType["/path"].event');
      expect(err.message).toContain('routeToEventType["/path"]');
      expect(err.message).toContain('$login');
    });

    it('rejects a key that is not a path, naming it', () => {
      const err = thrown(() => compileRouting({ routeToEventType: { login: '$login' } }));
      expectConfigError(err, 'VIGIL_E_ROUTE', 'routeToEventType["login"].path');
    });

    it.each([[null], [['/login']], ['/login'], [42]])('rejects routeToEventType %j that is not an object', (map) => {
      const err = thrown(() => compileRouting({ routeToEventType: map } as unknown as RoutingOptions));
      expectConfigError(err, 'VIGIL_E_ROUTE', 'routeToEventType');
    });
  });

  describe('exclusions', () => {
    it('never matches an excluded request, even on a protected route', () => {
      const routing = compileRouting({
        routes: [{ path: '/*', event: '$custom', name: 'all' }],
        uriExclusion: ['/static', /^\/add_to_cart\/698/, /\.css$/],
      });
      expect(routing.match(request('GET', '/static'))).toBeUndefined();
      expect(routing.match(request('GET', '/static/app.css'))).toBeUndefined();
      expect(routing.match(request('GET', '/add_to_cart/698'))).toBeUndefined();
      expect(routing.match(request('GET', '/theme.css'))).toBeUndefined();
      expect(routing.match(request('GET', '/statically'))?.name).toBe('all');
      expect(routing.match(request('GET', '/add_to_cart/699'))?.name).toBe('all');
      expect(routing.isExcluded(request('GET', '/static/x'))).toBe(true);
      expect(routing.isExcluded(request('GET', '/login'))).toBe(false);
    });

    // issue 12: a query string is the client's to write; `/login?x=.css` reached the
    // login handler undecided when exclusion RegExps saw path and query.
    it('tests RegExps against the path only, never the query string', () => {
      const routing = compileRouting({ routes: [{ path: '/login', event: '$login', name: 'login' }], uriExclusion: [/item=698/, /\.css$/] });
      expect(routing.match(request('POST', '/login?item=698'))?.name).toBe('login');
      expect(routing.match(request('POST', '/login?x=.css'))?.name).toBe('login');
      expect(routing.match(request('POST', '/login'))?.name).toBe('login');
    });

    it('falls back to the path when the request has no url', () => {
      const routing = compileRouting({ uriExclusion: [/^\/static/] });
      expect(routing.isExcluded({ path: '/static/x' } as RequestInfo)).toBe(true);
    });

    it('propagates exclusion errors', () => {
      const err = thrown(() => compileRouting({ uriExclusion: ['/'] }));
      expectConfigError(err, 'VIGIL_E_URI_EXCLUSION', 'uriExclusion[0]');
    });
  });

  it('a route always matches the paths it was written for (property)', () => {
    const segment = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.boolean(), fc.boolean(), (segments, upper, slash) => {
        const path = `/${segments.join('/')}`;
        let url = upper ? path.toUpperCase() : path;
        if (slash) url += '/';
        expect(matchName({ routes: [{ path, event: '$login', name: 'r' }] }, 'POST', url)).toBe('r');
        expect(matchName({ routes: [{ path: `${path}/*`, event: '$login', name: 'r' }] }, 'POST', `${url}/x`)).toBe('r');
      }),
    );
  });
});

describe('compileExclusions', () => {
  it('excludes nothing when absent or empty', () => {
    expect(compileExclusions(undefined)('/static')).toBe(false);
    expect(compileExclusions([])('/static')).toBe(false);
  });

  it.each<[string, string, boolean]>([
    ['/static', '/static', true],
    ['/static', '/static/', true],
    ['/static', '/static/app.css', true],
    ['/static', '/static/js/app.js', true],
    ['/static', '/statically', false],
    ['/static', '/static.css', false],
    ['/static', '/stati', false],
    ['/static', '/assets/static', false],
    ['/static', '/', false],
    ['/static/', '/static', true],
    ['/static/', '/static/app.css', true],
    ['/static//', '/static/app.css', true],
    ['/a/b', '/a/b/c', true],
    ['/a/b', '/a/bc', false],
    ['/a/b', '/a', false],
  ])('the path %j, for request path %j → %s', (entry, path, expected) => {
    expect(compileExclusions([entry])(path)).toBe(expected);
  });

  it.each<[RegExp, string, boolean]>([
    [/\/add_to_cart\/698/, '/add_to_cart/698', true],
    [/\/add_to_cart\/698/, '/add_to_cart/699', false],
    [/\.css$/, '/app.css', true],
    [/\.css$/, '/app.css/x', false],
    [/^\/health$/, '/health', true],
    [/^\/health$/, '/health/x', false],
  ])('the RegExp %s against path %j → %s', (entry, path, expected) => {
    expect(compileExclusions([entry])(path)).toBe(expected);
  });

  it.each([[/cart\/698/g], [/cart\/698/y], [/cart\/698/gi], [/^\/a/g]])('answers the same on repeated calls with %s', (entry) => {
    const excluded = compileExclusions([entry]);
    const path = entry.source.startsWith('^') ? '/a/698' : '/cart/698';
    for (let i = 0; i < 6; i++) expect(excluded(path)).toBe(true);
    for (let i = 0; i < 3; i++) expect(excluded('/cart/1')).toBe(false);
    expect(entry.lastIndex).toBe(0);
  });

  it('combines strings and RegExps', () => {
    const excluded = compileExclusions(['/static', '/health', /\.png$/]);
    expect(excluded('/static/a')).toBe(true);
    expect(excluded('/health')).toBe(true);
    expect(excluded('/img/a.png')).toBe(true);
    expect(excluded('/login')).toBe(false);
  });

  it.each([['/'], ['//'], ['///']])('rejects %j, which would exclude every path', (entry) => {
    const err = thrown(() => compileExclusions(['/static', entry]));
    expectConfigError(err, 'VIGIL_E_URI_EXCLUSION', 'uriExclusion[1]');
    expect(err.value).toBe(entry);
    expect(err.message).toMatch(/every path/);
    expect(err.message).toMatch(/"\/static"/);
  });

  it.each([['static'], [''], [42], [null], [undefined], [{}], [['/static']]])('rejects the entry %j', (entry) => {
    const err = thrown(() => compileExclusions([entry]));
    expectConfigError(err, 'VIGIL_E_URI_EXCLUSION', 'uriExclusion[0]');
    expect(err.message).toMatch(/RegExp/);
  });

  it.each([['/static'], [/x/], [{}], [42], [null]])('rejects the list %j that is not an array', (list) => {
    const err = thrown(() => compileExclusions(list));
    expectConfigError(err, 'VIGIL_E_URI_EXCLUSION', 'uriExclusion');
    expect(err.message).toMatch(/array/);
  });

  it('uses the option name it is given', () => {
    const err = thrown(() => compileExclusions(['/'], 'express.uriExclusion'));
    expect(err.option).toBe('express.uriExclusion[0]');
  });

  it('excludes a path iff it is the entry or lies below it on a segment boundary (property)', () => {
    const segment = fc.stringMatching(/^[a-z]{1,4}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 3 }), fc.array(segment, { maxLength: 4 }), (entrySegments, pathSegments) => {
        const entry = `/${entrySegments.join('/')}`;
        const path = `/${pathSegments.join('/')}`;
        const expected = path === entry || path.startsWith(`${entry}/`);
        expect(compileExclusions([entry])(path)).toBe(expected);
      }),
    );
  });
});

describe('compileRoute: clients (issue 13: mobile apps)', () => {
  it('leaves clients undefined by default (the app-wide default, browser, applies)', () => {
    expect(compileRoute({ path: '/login', event: '$login' }).clients).toBeUndefined();
  });

  it.each(['browser', 'app', 'any'] as const)('keeps clients: %s', (clients) => {
    expect(compileRoute({ path: '/api/login', event: '$login', clients }).clients).toBe(clients);
  });

  it.each([['apps'], ['mobile'], [true], [null], [['app']]])('rejects clients %j naming the route, the value and the fix', (clients) => {
    const err = thrown(() => compileRoute({ path: '/api/login', event: '$login', clients } as unknown as RouteDefinition, 'routes[1]'));
    expectConfigError(err, 'VIGIL_E_ROUTE', 'routes[1].clients');
    expect(err.message).toMatch(/"browser", "app" or "any"/);
  });

  it('hints a misspelt key', () => {
    const err = thrown(() => compileRoute({ path: '/api/login', event: '$login', client: 'app' } as unknown as RouteDefinition, 'routes[0]'));
    expect(err.message).toContain('Did you mean "routes[0].clients"?');
  });
});
