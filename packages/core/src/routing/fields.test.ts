import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import { compileField, type FieldSource } from './fields.js';
import { thrown } from '../test-support/thrown.js';

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

afterEach(() => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
});

/** A request with the given parts. */
function req(parts: Partial<RequestInfo> = {}): RequestInfo {
  return { method: 'POST', url: '/login', path: '/login', headers: {}, ...parts };
}

/** Compiles `source` and reads it from `request`. */
function read(source: FieldSource, request: RequestInfo): string | undefined {
  return compileField(source, 'routes[0].user.email')(request);
}

const full = req({
  url: '/login?u=alice&n=7',
  headers: { 'x-user': 'bob', 'x-count': '3', 'x-list': ['a', 'b'], 'content-type': 'application/json' },
  query: { u: 'alice', n: '7', many: ['a', 'b'], nested: { deep: 'q' } },
  cookies: { x: 'cookie-value', sid: 's-1' },
  body: {
    email: 'alice@example.com',
    user: { email: 'nested@example.com', profile: { phone: '+1 555 0100' } },
    id: 42,
    list: ['first', 'second'],
  },
});

describe('compileField: dotted paths', () => {
  it.each<[string, string | undefined]>([
    ['body.email', 'alice@example.com'],
    ['body.user.email', 'nested@example.com'],
    ['body.user.profile.phone', '+1 555 0100'],
    ['body.id', '42'],
    ['body.list.0', 'first'],
    ['body.list.1', 'second'],
    ['query.u', 'alice'],
    ['query.n', '7'],
    ['query.nested.deep', 'q'],
    ['cookies.x', 'cookie-value'],
    ['cookies.sid', 's-1'],
    ['headers.x-user', 'bob'],
    ['headers.x-count', '3'],
    ['  body.email  ', 'alice@example.com'],
  ])('%j → %j', (source, expected) => {
    expect(read(source, full)).toBe(expected);
  });

  it.each([
    ['body.missing'],
    ['body.user.missing'],
    ['body.email.length'],
    ['body.user.profile.phone.x'],
    ['body.list.2'],
    ['query.missing'],
    ['query.many'],
    ['query.nested'],
    ['cookies.missing'],
    ['headers.x-missing'],
    ['body.user'],
  ])('%j is absent (undefined, no error)', (source) => {
    expect(read(source, full)).toBeUndefined();
  });

  it.each<[string, Partial<RequestInfo>]>([
    ['body.email', {}],
    ['body.email', { body: undefined }],
    ['body.email', { body: null }],
    ['body.email', { body: 'email=alice' }],
    ['body.email', { body: 42 }],
    ['body.email', { body: ['alice'] }],
    ['body.user.email', { body: { user: null } }],
    ['body.user.email', { body: { user: 'alice' } }],
    ['query.u', {}],
    ['query.u', { query: undefined }],
    ['cookies.x', {}],
    ['cookies.x', { cookies: undefined }],
    ['headers.x-user', { headers: undefined as unknown as RequestInfo['headers'] }],
  ])('%j is absent when the request has %o', (source, parts) => {
    expect(read(source, req(parts))).toBeUndefined();
  });

  describe('headers', () => {
    it.each([
      [{ 'x-user': 'bob' }],
      [{ 'X-User': 'bob' }],
      [{ 'X-USER': 'bob' }],
      [{ X_USER: 'bob' }],
      [{ HTTP_X_USER: 'bob' }],
    ])('finds headers.x-user in %o', (headers) => {
      expect(read('headers.x-user', req({ headers }))).toBe('bob');
    });

    it.each([['headers.x-user'], ['headers.X-User'], ['headers.X_USER'], ['headers.HTTP_X_USER'], ['headers.x_user']])(
      'the path %j finds the header x-user',
      (source) => {
        expect(read(source, req({ headers: { 'x-user': 'bob' } }))).toBe('bob');
      },
    );

    it('joins a repeated header', () => {
      expect(read('headers.x-list', full)).toBe('a, b');
    });

    it('reads a header whose name holds a dot', () => {
      expect(read('headers.x.user', req({ headers: { 'x.user': 'dotted' } }))).toBe('dotted');
    });

    it('trims header values', () => {
      expect(read('headers.x-user', req({ headers: { 'x-user': '  bob  ' } }))).toBe('bob');
    });
  });

  describe('values', () => {
    it.each<[unknown, string | undefined]>([
      ['alice', 'alice'],
      ['  alice  ', 'alice'],
      ['\talice\n', 'alice'],
      ['a b', 'a b'],
      ['', undefined],
      ['   ', undefined],
      ['\n\t', undefined],
      [0, '0'],
      [42, '42'],
      [-1.5, '-1.5'],
      [Number.NaN, undefined],
      [Number.POSITIVE_INFINITY, undefined],
      [Number.NEGATIVE_INFINITY, undefined],
      [true, undefined],
      [false, undefined],
      [null, undefined],
      [undefined, undefined],
      [{}, undefined],
      [{ toString: () => 'x' }, undefined],
      [[], undefined],
      [['alice'], undefined],
      [Symbol('s'), undefined],
      [() => 'alice', undefined],
      [new Date(0), undefined],
      [new String('alice'), undefined],
      ['x'.repeat(1024), 'x'.repeat(1024)],
      ['x'.repeat(1025), undefined],
      ['x'.repeat(100_000), undefined],
      [` ${'x'.repeat(1024)} `, 'x'.repeat(1024)],
    ])('the value %o reads as %o', (value, expected) => {
      expect(read('body.email', req({ body: { email: value } }))).toBe(expected);
      expect(read(() => value, req())).toBe(expected);
    });

    it('reads strings of any length up to 1024 and none above (property)', () => {
      fc.assert(
        fc.property(fc.string({ minLength: 1, maxLength: 1100 }), (value) => {
          const trimmed = value.trim();
          const expected = trimmed === '' || trimmed.length > 1024 ? undefined : trimmed;
          expect(read('body.v', req({ body: { v: value } }))).toBe(expected);
        }),
      );
    });
  });

  describe('own properties only', () => {
    it.each([
      ['body.__proto__'],
      ['body.__proto__.x'],
      ['body.__proto__.polluted'],
      ['body.constructor'],
      ['body.constructor.name'],
      ['body.constructor.prototype'],
      ['body.toString'],
      ['body.hasOwnProperty'],
      ['body.valueOf'],
      ['body.email.constructor.name'],
      ['query.constructor.name'],
      ['cookies.__proto__.x'],
      ['cookies.constructor.name'],
    ])('%j never reaches a prototype', (source) => {
      expect(read(source, req({ body: { email: 'a@b.c' }, query: {}, cookies: {} }))).toBeUndefined();
    });

    it('does not read inherited properties', () => {
      const inherited = Object.create({ email: 'inherited@example.com' }) as Record<string, unknown>;
      expect(read('body.email', req({ body: inherited }))).toBeUndefined();
      const nested = { user: Object.create({ email: 'inherited@example.com' }) };
      expect(read('body.user.email', req({ body: nested }))).toBeUndefined();
    });

    it('reads a prototype set by an object literal as absent', () => {
      // `{ __proto__: ... }` in a literal sets the prototype: not an own property.
      const body = { __proto__: { x: 'from-prototype' } };
      expect(read('body.__proto__.x', req({ body }))).toBeUndefined();
      expect(read('body.x', req({ body }))).toBeUndefined();
    });

    it('reads an own "__proto__" key from a parsed JSON body as data, touching no prototype', () => {
      const body = JSON.parse('{"__proto__": {"x": "own", "polluted": "yes"}, "constructor": {"name": "own-name"}}') as unknown;
      expect(read('body.__proto__.x', req({ body }))).toBe('own');
      expect(read('body.constructor.name', req({ body }))).toBe('own-name');
      expect(read('body.__proto__.polluted', req({ body }))).toBe('yes');
    });

    it('reads own properties of null-prototype objects (as Node parses query strings)', () => {
      const query = Object.assign(Object.create(null) as Record<string, unknown>, { u: 'alice' });
      expect(read('query.u', req({ query }))).toBe('alice');
      expect(read('query.toString', req({ query }))).toBeUndefined();
    });

    it('never throws and never pollutes on arbitrary JSON bodies (property)', () => {
      const key = fc.constantFrom('__proto__', 'constructor', 'prototype', 'email', 'user', 'toString', '0');
      fc.assert(
        fc.property(
          fc.jsonValue(),
          fc.array(key, { minLength: 1, maxLength: 4 }),
          (body, steps) => {
            const parsed = JSON.parse(JSON.stringify(body)) as unknown;
            const value = read(`body.${steps.join('.')}`, req({ body: parsed }));
            expect(value === undefined || typeof value === 'string').toBe(true);
          },
        ),
      );
    });
  });
});

describe('compileField: functions', () => {
  it('calls the function with the request', () => {
    const request = req({ headers: { 'x-user-id': 'u-7' } });
    let seen: RequestInfo | undefined;
    const reader = compileField((r) => {
      seen = r;
      return r.headers['x-user-id'];
    }, 'routes[0].user.id');
    expect(reader(request)).toBe('u-7');
    expect(seen).toBe(request);
  });

  it.each([
    [() => { throw new Error('boom'); }],
    [() => { throw 'a string'; }],
    [() => { throw undefined; }],
    [(r: RequestInfo) => (r.body as { a: { b: string } }).a.b],
  ])('yields absent when the function throws (%#)', (fn) => {
    expect(read(fn as FieldSource, req())).toBeUndefined();
  });

  it('yields absent for a promise (no async sources)', () => {
    expect(read(async () => 'alice', req())).toBeUndefined();
  });

  it('trims and bounds what the function returns', () => {
    expect(read(() => '  alice  ', req())).toBe('alice');
    expect(read(() => 'x'.repeat(1025), req())).toBeUndefined();
    expect(read(() => 7, req())).toBe('7');
  });
});

describe('compileField: invalid sources', () => {
  it.each([
    ['params.id'],
    ['email'],
    ['body'],
    ['query'],
    ['headers'],
    ['cookies'],
    ['body.'],
    ['.body.email'],
    ['body..email'],
    ['body.email.'],
    ['Body.email'],
    ['req.body.email'],
    ['request.body.email'],
    ['session.user'],
    ['user.email'],
    ['__proto__.x'],
    ['constructor.name'],
  ])('rejects the path %j at compile time', (source) => {
    const err = thrown(() => compileField(source, 'routes[3].user.email'));
    expect(err.code).toBe('VIGIL_E_ROUTE');
    expect(err.option).toBe('routes[3].user.email');
    expect(err.value).toBe(source);
    expect(err.message).toContain('routes[3].user.email');
    expect(err.message).toContain(JSON.stringify(source));
    expect(err.message).toMatch(/body, query, headers, cookies/);
    expect(err.message).toMatch(/"body\.email"/);
  });

  it.each([[''], ['   '], [42], [null], [undefined], [{}], [['body.email']], [true]])('rejects the source %j', (source) => {
    const err = thrown(() => compileField(source as unknown as FieldSource, 'routes[0].user.id'));
    expect(err.code).toBe('VIGIL_E_ROUTE');
    expect(err.option).toBe('routes[0].user.id');
    expect(err.message.startsWith('VIGIL_E_ROUTE: routes[0].user.id is ')).toBe(true);
    expect(err.message).toMatch(/function/);
  });
});
