import fc from 'fast-check';
import FindMyWay from 'find-my-way';
import parseurl from 'parseurl';
import { describe, expect, it } from 'vitest';
import { canonicalPath, pathOfRoute } from './canonical.js';
import { compileRouting } from './routes.js';

// Pieces request targets are made of, weighted towards what changes routing.
const segmentChar = fc.constantFrom(
  ...'abcdeglinorstuxzABLOGIN0129-_.~!$&\'()*+,=:@'.split(''),
  '%6C', '%6c', '%61', '%0a', '%0D', '%E2%80%A8', '%2F', '%2f', '%3F', '%23', '%3B', '%25', '%2525', '%00', '%E2%82%AC', '%', '%zz', ';', '\\',
);
const segment = fc.oneof(fc.constantFrom('api', 'login', 'users', '42', 'reset', 'auth', 'static', '.', '..', ''), fc.array(segmentChar, { maxLength: 6 }).map((cs) => cs.join('')));
const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((segments) => `/${segments.join('/')}`);
const suffix = fc.constantFrom('', '?', '?x=1', '?/api/login', '#', '#x', '#/api/login', '?a#b', ';jsessionid=1', ' ', '\t');
const prefix = fc.constantFrom('', '', '', 'http://example.com', 'HTTP://example.com', 'hTtPs://a.b:8080', 'http://u@h', 'http://[::1]:80', 'ftp://h', 'http://h?x', 'http://h#x');
const target = fc.tuple(prefix, path, suffix).map(([p, s, q]) => `${p}${s}${q}`);

type Found = { store: { p: string }; params: Record<string, string> } | null;

// What find-my-way routes: the target's routing path, read back from a catch-all
// parameter (find-my-way decodes reserved escapes in parameters, so the probe routes
// are built to say which literal path was matched instead).
function findMyWayRouter(options: Record<string, unknown> = {}) {
  const router = FindMyWay({ ...options, defaultRoute: () => {} });
  const handler = () => {};
  for (const p of ['/api/login', '/users/:id/reset', '/auth/*', '/login', '/static/:file']) router.on('POST', p, handler, { p });
  return router;
}

describe('canonicalPath', () => {
  describe('express: the pathname Express’s router reads', () => {
    it.each([
      ['/api/login', '/api/login'],
      ['/api/login?x=/static', '/api/login'],
      ['http://example.com/api/login', '/api/login'],
      ['HTTPS://EXAMPLE.com:443/api/login?x', '/api/login'],
      ['/api/login#x', '/api/login'],
      ['/api\\login#x', '/api/login'],
      ['/%6Cogin', '/%6Cogin'],
      ['/login%2f', '/login%2f'],
      ['/users/./reset', '/users/./reset'],
    ])('%j → %j', (input, expected) => {
      expect(canonicalPath(input, 'express')).toBe(expected);
    });

    it('agrees with parseurl, which Express’s router uses, on any target', () => {
      fc.assert(
        fc.property(target, (t) => {
          let expected: string | null | undefined;
          try {
            expected = parseurl({ url: t } as never)?.pathname;
          } catch {
            expected = undefined;
          }
          expect(canonicalPath(t, 'express')).toBe(expected ?? undefined);
        }),
        { seed: 12, numRuns: 5000 },
      );
    });
  });

  describe('find-my-way: the path Fastify’s router routes on', () => {
    it.each([
      ['/%6Cogin', '/login'],
      ['/login%2f', '/login%2f'],
      ['/login%2F', '/login%2F'],
      ['/a%25b', '/a%25b'],
      ['/%61uth/x?y', '/auth/x'],
      ['/login#x', '/login'],
      ['/login;x', '/login;x'],
      ['hTtP://host/login', '/login'],
      ['http://host', '/'],
      ['ftp://host/login', undefined],
      ['/%zz', undefined],
    ])('%j → %j', (input, expected) => {
      expect(canonicalPath(input, 'find-my-way')).toBe(expected);
    });

    it('honours useSemicolonDelimiter and ignoreDuplicateSlashes', () => {
      expect(canonicalPath('/login;jsessionid=1', 'find-my-way', { useSemicolonDelimiter: true })).toBe('/login');
      expect(canonicalPath('//api//login', 'find-my-way', { ignoreDuplicateSlashes: true })).toBe('/api/login');
    });

    it('routes every target find-my-way routes to a route the same way (differential)', () => {
      for (const options of [{}, { useSemicolonDelimiter: true }, { ignoreDuplicateSlashes: true }]) {
        const router = findMyWayRouter(options);
        const routing = compileRouting({
          routes: ['/api/login', '/users/:id/reset', '/auth/*', '/login', '/static/:file'].map((p) => ({ method: 'POST', path: p, event: '$login' as const, name: p })),
        });
        fc.assert(
          fc.property(target, (t) => {
            let found: Found;
            try {
              found = router.find('POST', t) as unknown as Found;
            } catch {
              found = null;
            }
            if (!found) return;
            const p = canonicalPath(t, 'find-my-way', options);
            expect(p, `target ${JSON.stringify(t)}`).toBeDefined();
            // Vigil's first matching route is the one find-my-way chose (or one that covers it).
            const routed = routing.match({ method: 'POST', path: p as string });
            expect(routed, `target ${JSON.stringify(t)} → ${JSON.stringify(p)} routed to ${found.store.p}`).toBeDefined();
          }),
          { seed: 7, numRuns: 5000 },
        );
      }
    });
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.constantFrom('express' as const, 'find-my-way' as const), (t, syntax) => {
        const out = canonicalPath(t, syntax);
        expect(out === undefined || typeof out === 'string').toBe(true);
      }),
      { seed: 3, numRuns: 3000 },
    );
    expect(canonicalPath(undefined as never)).toBeUndefined();
  });
});

describe('pathOfRoute', () => {
  it.each([
    ['/login', {}, '/login'],
    ['/users/:id/reset', { id: '42' }, '/users/42/reset'],
    ['/users/:id/reset', { id: 'a/b' }, '/users/a%2Fb/reset'],
    ['/auth/*', { '*': 'github/callback' }, '/auth/github/callback'],
    ['/files/:name.:ext', { name: 'a', ext: 'txt' }, '/files/a.txt'],
    ['/range/:from-:to', { from: '1', to: '9' }, '/range/1-9'],
    ['/n/:id(^\\d+)/x', { id: '7' }, '/n/7/x'],
    ['/a::b/:id', { id: '1' }, '/a:b/1'],
    ['/items/:id?', {}, '/items'],
    ['/items/:id?', { id: '3' }, '/items/3'],
    ['*', { '*': '/anything' }, '/anything'],
  ])('%j with %j → %j', (pattern, params, expected) => {
    expect(pathOfRoute(pattern, params)).toBe(expected);
  });

  it('rebuilds the path find-my-way matched for the route it chose (differential)', () => {
    const router = findMyWayRouter();
    const routing = compileRouting({ routes: [{ method: 'POST', path: '/users/:id/reset', event: '$password_reset_request', name: 'reset' }, { method: 'POST', path: '/auth/*', event: '$login', name: 'auth' }] });
    fc.assert(
      fc.property(target, (t) => {
        let found: Found;
        try {
          found = router.find('POST', t) as unknown as Found;
        } catch {
          found = null;
        }
        if (!found || (found.store.p !== '/users/:id/reset' && found.store.p !== '/auth/*')) return;
        const rebuilt = pathOfRoute(found.store.p, found.params);
        expect(routing.match({ method: 'POST', path: rebuilt })?.name, `target ${JSON.stringify(t)} → ${rebuilt}`).toBe(found.store.p === '/auth/*' ? 'auth' : 'reset');
      }),
      { seed: 9, numRuns: 5000 },
    );
  });
});
