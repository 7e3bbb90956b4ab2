import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { VigilConfigError } from '../errors.js';
import {
  createHeaderScrubber,
  DEFAULT_ALLOWLIST,
  getHeader,
  type HeaderScrubOptions,
  type IncomingHeaders,
  isSecretHeaderName,
  normalizeHeaderName,
  scrubHeaders,
  withDefaultAllowlist,
} from './headers.js';
import { thrown } from '../test-support/thrown.js';

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

function expectNoPollution(): void {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
}

afterEach(expectNoPollution);

describe('normalizeHeaderName', () => {
  it.each([
    // The spec's vectors.
    ['HTTP_X_TEST', 'X-Test'],
    ['x_test', 'X-Test'],
    ['http-X_teST', 'X-Test'],
    ['CF_CONNECTING_IP', 'Cf-Connecting-Ip'],
    ['httpX_teST', 'Httpx-Test'],
    // Derived from the rules: drop a leading http_/http-, underscores are dashes,
    // each dash-separated part capitalized, the rest lower case.
    ['HTTP_CF_CONNECTING_IP', 'Cf-Connecting-Ip'],
    ['cf-connecting-ip', 'Cf-Connecting-Ip'],
    ['Cf-Connecting-Ip', 'Cf-Connecting-Ip'],
    ['x-forwarded-for', 'X-Forwarded-For'],
    ['X_FORWARDED_FOR', 'X-Forwarded-For'],
    ['HTTP_X_FORWARDED_FOR', 'X-Forwarded-For'],
    ['http_user_agent', 'User-Agent'],
    ['USER-AGENT', 'User-Agent'],
    ['cookie', 'Cookie'],
    ['HTTP_COOKIE', 'Cookie'],
    ['Http-Authorization', 'Authorization'],
    ['dnt', 'Dnt'],
    ['TE', 'Te'],
    ['content-length', 'Content-Length'],
    // "http" not followed by a separator is part of the name.
    ['http', 'Http'],
    ['https-proxy', 'Https-Proxy'],
    ['HTTPS_PROXY', 'Https-Proxy'],
    ['httpheader', 'Httpheader'],
    // Only one leading prefix is dropped, and only at the start.
    ['x-http-test', 'X-Http-Test'],
    ['X_HTTP_TEST', 'X-Http-Test'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeHeaderName(input)).toBe(expected);
  });

  it('cannot produce "__proto__" or "constructor" as a key', () => {
    for (const name of ['__proto__', 'HTTP___proto__', 'http-__proto__', 'constructor', 'prototype']) {
      const out = normalizeHeaderName(name);
      expect(out).not.toBe('__proto__');
      expect(out).not.toBe('constructor');
    }
  });

  it('gives the same answer for the same name, many times and past its memo size', () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i++) expect(normalizeHeaderName(`x_custom_${i}`)).toBe(`X-Custom-${i}`);
    }
    expect(normalizeHeaderName('HTTP_X_TEST')).toBe('X-Test');
  });

  it('is case-insensitive: every case variant of a name normalizes alike', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('x-forwarded-for', 'cf_connecting_ip', 'HTTP_X_TEST', 'user-agent', 'accept-language'),
        fc.infiniteStream(fc.boolean()),
        (name, flips) => {
          let variant = '';
          for (const ch of name) variant += flips.next().value ? ch.toUpperCase() : ch.toLowerCase();
          expect(normalizeHeaderName(variant)).toBe(normalizeHeaderName(name));
        },
      ),
    );
  });
});

describe('getHeader', () => {
  it.each([
    [{ 'x-forwarded-for': '1.2.3.4' }],
    [{ 'X-Forwarded-For': '1.2.3.4' }],
    [{ X_FORWARDED_FOR: '1.2.3.4' }],
    [{ HTTP_X_FORWARDED_FOR: '1.2.3.4' }],
    [{ 'http-x-forwarded-for': '1.2.3.4' }],
  ] as IncomingHeaders[][])('finds the header under the key %o', (headers) => {
    for (const name of ['X-Forwarded-For', 'x-forwarded-for', 'HTTP_X_FORWARDED_FOR', 'x_forwarded_for']) {
      expect(getHeader(headers, name)).toBe('1.2.3.4');
    }
  });

  it('joins array values with ", "', () => {
    expect(getHeader({ 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'] }, 'X-Forwarded-For')).toBe('1.1.1.1, 2.2.2.2');
  });

  it('answers undefined for an absent header or absent headers', () => {
    expect(getHeader({ accept: '*/*' }, 'X-Forwarded-For')).toBeUndefined();
    expect(getHeader(undefined, 'Accept')).toBeUndefined();
    expect(getHeader({}, 'Accept')).toBeUndefined();
  });

  it('does not read inherited properties', () => {
    expect(getHeader({}, 'constructor')).toBeUndefined();
    expect(getHeader({}, 'toString')).toBeUndefined();
    expect(getHeader({}, '__proto__')).toBeUndefined();
    expect(getHeader(Object.create(null) as IncomingHeaders, 'Accept')).toBeUndefined();
  });
});

describe('DEFAULT_ALLOWLIST', () => {
  it('is exactly the documented list', () => {
    expect([...DEFAULT_ALLOWLIST]).toEqual([
      'Accept',
      'Accept-Charset',
      'Accept-Datetime',
      'Accept-Encoding',
      'Accept-Language',
      'Cache-Control',
      'Connection',
      'Content-Length',
      'Content-Type',
      'Dnt',
      'Host',
      'Origin',
      'Pragma',
      'Referer',
      'Sec-Fetch-Dest',
      'Sec-Fetch-Mode',
      'Sec-Fetch-Site',
      'Sec-Fetch-User',
      'Te',
      'Upgrade-Insecure-Requests',
      'User-Agent',
      'X-Requested-With',
    ]);
  });

  it('is written in normalized form and cannot be changed', () => {
    for (const name of DEFAULT_ALLOWLIST) expect(normalizeHeaderName(name)).toBe(name);
    expect(Object.isFrozen(DEFAULT_ALLOWLIST)).toBe(true);
  });

  it('is not applied unless asked for', () => {
    const headers = { 'x-custom': 'v', accept: '*/*' };
    expect(scrubHeaders(headers)).toEqual({ 'X-Custom': 'v', Accept: '*/*' });
    expect(scrubHeaders(headers, { allowlist: DEFAULT_ALLOWLIST })).toEqual({ 'X-Custom': true, Accept: '*/*' });
  });
});

describe('scrubHeaders', () => {
  const browser: IncomingHeaders = {
    host: 'example.com',
    'user-agent': 'Mozilla/5.0',
    accept: 'text/html',
    'accept-language': 'en-GB',
    cookie: 'sid=secret-session',
    authorization: 'Bearer secret-token',
    'x-custom': 'custom',
  };

  it('normalizes keys and, with no lists, keeps everything but Cookie and Authorization', () => {
    const out = scrubHeaders(browser);
    expect(out).toEqual({
      Host: 'example.com',
      'User-Agent': 'Mozilla/5.0',
      Accept: 'text/html',
      'Accept-Language': 'en-GB',
      Cookie: true,
      Authorization: true,
      'X-Custom': 'custom',
    });
  });

  it('treats an empty allowlist as no allowlist', () => {
    expect(scrubHeaders(browser, { allowlist: [] })).toEqual(scrubHeaders(browser));
  });

  it('keeps the key of a scrubbed header with the value true', () => {
    const out = scrubHeaders({ 'x-secret': 'hush' }, { denylist: ['X-Secret'] });
    expect(Object.keys(out)).toEqual(['X-Secret']);
    expect(out['X-Secret']).toBe(true);
  });

  // One row per rule and per pair of rules that could disagree: the first that matches wins.
  it.each<[string, IncomingHeaders, HeaderScrubOptions, Record<string, string | true>]>([
    ['Cookie is scrubbed with no lists', { cookie: 'a=1' }, {}, { Cookie: true }],
    ['Cookie is scrubbed even when allowlisted', { cookie: 'a=1' }, { allowlist: ['Cookie'] }, { Cookie: true }],
    ['Authorization is scrubbed even when allowlisted', { authorization: 'Basic x' }, { allowlist: ['authorization'] }, { Authorization: true }],
    ['User-Agent is kept even when denylisted', { 'user-agent': 'UA' }, { denylist: ['User-Agent'] }, { 'User-Agent': 'UA' }],
    ['User-Agent is kept when an allowlist leaves it out', { 'user-agent': 'UA' }, { allowlist: ['Accept'] }, { 'User-Agent': 'UA' }],
    ['User-Agent is kept when denied and not allowed', { 'user-agent': 'UA' }, { allowlist: ['Accept'], denylist: ['user_agent'] }, { 'User-Agent': 'UA' }],
    ['the denylist beats the allowlist', { accept: '*/*' }, { allowlist: ['Accept'], denylist: ['Accept'] }, { Accept: true }],
    ['a denylisted header is scrubbed with no allowlist', { 'x-api-key': 'k' }, { denylist: ['X-Api-Key'] }, { 'X-Api-Key': true }],
    ['an allowlisted header is kept', { accept: '*/*' }, { allowlist: ['Accept'] }, { Accept: '*/*' }],
    ['a header missing from a non-empty allowlist is scrubbed', { 'x-api-key': 'k' }, { allowlist: ['Accept'] }, { 'X-Api-Key': true }],
    ['an empty denylist scrubs nothing extra', { 'x-a': '1' }, { denylist: [] }, { 'X-A': '1' }],
  ])('%s', (_rule, headers, options, expected) => {
    expect(scrubHeaders(headers, options)).toEqual(expected);
  });

  it.each([
    ['Accept-Language'],
    ['accept-language'],
    ['ACCEPT_LANGUAGE'],
    ['HTTP_ACCEPT_LANGUAGE'],
    ['http-Accept_Language'],
    ['  Accept-Language  '],
  ])('normalizes the list entry %j like a header name', (entry) => {
    const headers = { 'accept-language': 'en', HTTP_ACCEPT_ENCODING: 'gzip' };
    expect(scrubHeaders(headers, { allowlist: [entry] })).toEqual({ 'Accept-Language': 'en', 'Accept-Encoding': true });
    expect(scrubHeaders(headers, { denylist: [entry] })).toEqual({ 'Accept-Language': true, 'Accept-Encoding': 'gzip' });
  });

  it.each([['cookie'], ['Cookie'], ['COOKIE'], ['CoOkIe'], ['HTTP_COOKIE'], ['http-cookie'], ['Http_Cookie']])(
    'matches Cookie spelled %j, in any case',
    (name) => {
      expect(scrubHeaders({ [name]: 'sid=1' }, { allowlist: [name] })).toEqual({ Cookie: true });
    },
  );

  it.each([['authorization'], ['AUTHORIZATION'], ['HTTP_AUTHORIZATION'], ['http-AuThOrIzAtIoN']])(
    'matches Authorization spelled %j, in any case',
    (name) => {
      expect(scrubHeaders({ [name]: 'Bearer t' }, { allowlist: [name] })).toEqual({ Authorization: true });
    },
  );

  it('joins array values with ", "', () => {
    expect(scrubHeaders({ 'x-multi': ['a', 'b', 'c'] })).toEqual({ 'X-Multi': 'a, b, c' });
    expect(scrubHeaders({ cookie: ['a=1', 'b=2'] })).toEqual({ Cookie: true });
  });

  it('merges two spellings of one header, and scrubs both spellings of Cookie', () => {
    expect(scrubHeaders({ 'x-a': '1', X_A: '2' })).toEqual({ 'X-A': '1, 2' });
    expect(scrubHeaders({ cookie: 'a=1', HTTP_COOKIE: 'b=2' })).toEqual({ Cookie: true });
  });

  it('answers an empty object for no headers', () => {
    expect(scrubHeaders(undefined)).toEqual({});
    expect(scrubHeaders({})).toEqual({});
  });

  it('returns plain objects with nothing surprising inherited', () => {
    const out = scrubHeaders({ accept: '*/*' });
    const proto = Object.getPrototypeOf(out);
    expect(proto === Object.prototype || proto === null).toBe(true);
    expect(Object.keys(out)).toEqual(['Accept']);
    expect('polluted' in out).toBe(false);
  });

  describe('hostile input', () => {
    it('handles headers named __proto__, constructor and prototype without pollution', () => {
      const headers = JSON.parse(
        '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"prototype":"p","cookie":"sid=1","hasOwnProperty":"h"}',
      ) as IncomingHeaders;
      const out = scrubHeaders(headers);
      expect(out.Cookie).toBe(true);
      expect(out.Constructor).toBe('[object Object]');
      expect(out.Prototype).toBe('p');
      expect(out.Hasownproperty).toBe('h');
      expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
      expect(Object.keys(out)).not.toContain('__proto__');
      expectNoPollution();
    });

    it('handles __proto__ and constructor in the lists', () => {
      const headers = JSON.parse('{"__proto__":"a","constructor":"b"}') as IncomingHeaders;
      const out = scrubHeaders(headers, { allowlist: ['__proto__', 'constructor'], denylist: ['toString'] });
      expect(Object.values(out)).toEqual(['a', 'b']);
      expectNoPollution();
    });

    it('accepts a null-prototype header map', () => {
      const headers = Object.create(null) as IncomingHeaders;
      headers['user-agent'] = 'UA';
      headers.cookie = 'c';
      expect(scrubHeaders(headers)).toEqual({ 'User-Agent': 'UA', Cookie: true });
    });

    it('keeps non-ASCII bytes and huge values intact', () => {
      const big = 'x'.repeat(64 * 1024);
      const latin1 = Buffer.from([0xc3, 0xa9, 0xff, 0x00, 0x80]).toString('latin1');
      const out = scrubHeaders({ 'x-big': big, 'x-bytes': latin1, 'x-emoji': '🤖 ünïcødé' });
      expect(out['X-Big']).toBe(big);
      expect(out['X-Bytes']).toBe(latin1);
      expect(out['X-Emoji']).toBe('🤖 ünïcødé');
    });

    it('handles 10 000 headers', () => {
      const headers: IncomingHeaders = {};
      for (let i = 0; i < 10_000; i++) headers[`x-h-${i}`] = String(i);
      headers.cookie = 'secret';
      const out = scrubHeaders(headers, { allowlist: ['x-h-9999'] });
      expect(Object.keys(out)).toHaveLength(10_001);
      expect(out['X-H-9999']).toBe('9999');
      expect(out['X-H-0']).toBe(true);
      expect(out.Cookie).toBe(true);
    });
  });

  describe('option errors, at construction', () => {
    it('rejects a list that is not an array, naming the option and the fix', () => {
      const err = thrown(() => createHeaderScrubber({ allowlist: 'Accept' as unknown as string[] }));
      expect(err.code).toBe('VIGIL_E_HEADER_LIST');
      expect(err.option).toBe('headers.allowlist');
      expect(err.value).toBe('Accept');
      expect(err.message).toContain('headers.allowlist');
      expect(err.message).toContain('"Accept"');
      expect(err.message).toMatch(/array/);
    });

    it.each([[''], ['   '], [42], [null]])('rejects the list entry %j', (entry) => {
      const err = thrown(() => createHeaderScrubber({ denylist: ['Accept', entry as string] }));
      expect(err.code).toBe('VIGIL_E_HEADER_LIST');
      expect(err.option).toBe('headers.denylist[1]');
      expect(err.message).toContain('headers.denylist[1]');
    });

    it.each([
      ['allowList', 'allowlist'],
      ['denyList', 'denylist'],
      ['allowlists', 'allowlist'],
      ['denylst', 'denylist'],
    ])('rejects the unknown option %s with "Did you mean %s"', (key, suggestion) => {
      const err = thrown(() => createHeaderScrubber({ [key]: ['Accept'] } as HeaderScrubOptions));
      expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
      expect(err.option).toBe(`headers.${key}`);
      expect(err.message).toContain(`headers.${key}`);
      expect(err.message).toContain(`Did you mean "headers.${suggestion}"`);
    });

    it('lists the valid options when no name is close', () => {
      const err = thrown(() => createHeaderScrubber({ keep: ['Accept'] } as HeaderScrubOptions));
      expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
      expect(err.option).toBe('headers.keep');
      expect(err.message).toContain('allowlist');
      expect(err.message).toContain('denylist');
    });

    it('also throws from scrubHeaders, whose options are compiled per call', () => {
      const err = thrown(() => scrubHeaders({}, { allowList: ['Accept'] } as HeaderScrubOptions));
      expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
    });

    it('rejects options that are not an object', () => {
      const err = thrown(() => createHeaderScrubber('Accept' as unknown as HeaderScrubOptions));
      expect(err.option).toBe('headers');
      expect(err.message).toContain('"Accept"');
    });

    it('names the option with the given prefix', () => {
      expect(thrown(() => createHeaderScrubber({ allowlist: [''] }, 'context.headers')).option).toBe('context.headers.allowlist[0]');
    });
  });

  it('createHeaderScrubber compiles once and applies to many requests', () => {
    const scrub = createHeaderScrubber({ allowlist: ['accept'] });
    expect(scrub({ accept: 'a', 'x-b': 'b' })).toEqual({ Accept: 'a', 'X-B': true });
    expect(scrub({ ACCEPT: 'c' })).toEqual({ Accept: 'c' });
    expect(scrub(undefined)).toEqual({});
  });
});

describe('scrubHeaders properties', () => {
  /** Any spelling of a name: case per letter, optional HTTP_ / http- prefix, `-` or `_`. */
  const spelling = (name: string) =>
    fc
      .tuple(
        fc.constantFrom('', 'HTTP_', 'http_', 'http-', 'HTTP-', 'Http_'),
        fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }),
        fc.constantFrom('-', '_'),
      )
      .map(([prefix, upper, dash]) => {
        let out = prefix;
        for (let i = 0; i < name.length; i++) {
          const ch = name[i] as string;
          out += ch === '-' ? dash : upper[i] ? ch.toUpperCase() : ch.toLowerCase();
        }
        return out;
      });

  const secretName = fc.oneof(spelling('cookie'), spelling('authorization'));
  const otherName = fc.oneof(
    fc.constantFrom('accept', 'user-agent', 'x-api-key', 'set-cookie', 'cookie2', 'proxy-authorization', 'x-test').chain(spelling),
    fc.string({ minLength: 1, maxLength: 12 }),
  );
  const listEntry = fc.oneof(secretName, otherName, fc.constantFrom(...DEFAULT_ALLOWLIST));
  const lists = fc.record(
    { allowlist: fc.array(listEntry.filter((s) => s.trim() !== ''), { maxLength: 6 }), denylist: fc.array(listEntry.filter((s) => s.trim() !== ''), { maxLength: 6 }) },
    { requiredKeys: [] },
  );
  // The secret is made of characters no other value uses, so any leak is visible.
  const SECRET = '§SECRET§';
  const secretValue = fc.oneof(
    fc.string({ unit: fc.constantFrom('a', 'b', '=', ';', ' ') }).map((s) => `${SECRET}${s}`),
    fc.array(fc.string().map((s) => `${SECRET}${s}`), { minLength: 1, maxLength: 3 }),
  );
  const otherValue = fc.string({ unit: fc.constantFrom('x', 'y', '1', ' ', '/') });

  it('(d) never outputs a cookie or authorization value, however spelled, with any lists', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(secretName, secretValue), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(otherName, otherValue), { maxLength: 6 }),
        lists,
        (secrets, others, options) => {
          const headers: IncomingHeaders = {};
          for (const [name, value] of others) headers[name] = value;
          for (const [name, value] of secrets) headers[name] = value;
          const out = scrubHeaders(headers, options);
          for (const [key, value] of Object.entries(out)) {
            if (typeof value === 'string') expect(value).not.toContain(SECRET);
            if (/^(cookie|authorization)$/i.test(key)) expect(value).toBe(true);
          }
          for (const [name] of secrets) expect(out[normalizeHeaderName(name)]).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps User-Agent and the key of every header, with any lists', () => {
    fc.assert(
      fc.property(spelling('user-agent'), otherValue, fc.array(fc.tuple(otherName, otherValue), { maxLength: 6 }), lists, (uaName, ua, others, options) => {
        const headers: IncomingHeaders = {};
        for (const [name, value] of others) headers[name] = value;
        headers[uaName] = ua;
        const out = scrubHeaders(headers, options);
        // Two spellings of User-Agent are one header, joined.
        const kept = out['User-Agent'];
        expect(typeof kept).toBe('string');
        expect(kept as string).toContain(ua);
        for (const name of Object.keys(headers)) expect(Object.hasOwn(out, normalizeHeaderName(name))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe('scrubHeaders: other secret-bearing headers', () => {
  it.each(['set-cookie', 'Proxy-Authorization', 'x_api_key', 'HTTP_X_API_KEY'])('%s is scrubbed even when allowlisted', (name) => {
    const out = scrubHeaders({ [name]: 'secret-value' }, { allowlist: [name] });
    expect(Object.values(out)).toEqual([true]);
    expect(JSON.stringify(out)).not.toContain('secret-value');
  });
});

describe('scrubHeaders: secret-looking names are always scrubbed (issue 12, item 6)', () => {
  const SECRET_NAMES = [
    'X-Auth-Token',
    'X-CSRF-Token',
    'x-xsrf-token',
    'X-Session-Id',
    'X-Api-Key',
    'X-Apikey',
    'api_key',
    'X-Client-Secret',
    'X-User-Password',
    'X-Passwd',
    'X-Refresh-Token',
    'X-Amz-Security-Token',
    'X-Access-Key',
    'X-Private-Key',
    'X-Credentials',
    'X-Authorization',
    'Www-Authenticate',
    'Cookie2',
    'HTTP_X_AUTH_TOKEN',
    'x-ms-client-session',
  ];

  it.each(SECRET_NAMES)('%s is scrubbed with no lists, with an allowlist naming it, and with an empty allowlist', (name) => {
    expect(isSecretHeaderName(name)).toBe(true);
    for (const options of [{}, { allowlist: [name] }, { allowlist: [] }, { allowlist: [...DEFAULT_ALLOWLIST, name] }] as HeaderScrubOptions[]) {
      const out = scrubHeaders({ [name]: 'the-secret-value' }, options);
      expect(Object.values(out)).toEqual([true]);
      expect(JSON.stringify(out)).not.toContain('the-secret-value');
    }
  });

  it('never scrubs User-Agent or a name of Castle’s allowlist by that rule, nor common signal headers', () => {
    for (const name of [...DEFAULT_ALLOWLIST, 'X-Forwarded-For', 'X-Real-Ip', 'Sec-Ch-Ua', 'Sec-Ch-Ua-Platform', 'X-Request-Id', 'Forwarded', 'True-Client-Ip', 'Cf-Connecting-Ip', 'X-Castle-Client-Id']) {
      expect(isSecretHeaderName(name), name).toBe(false);
    }
    expect(scrubHeaders({ 'user-agent': 'Mozilla/5.0', accept: '*/*' })).toEqual({ 'User-Agent': 'Mozilla/5.0', Accept: '*/*' });
  });

  it('property: any name containing a secret word, in any case, around any other text, is scrubbed', () => {
    const word = fc.constantFrom('token', 'secret', 'session', 'password', 'passwd', 'api-key', 'apikey', 'auth', 'csrf', 'xsrf', 'cookie');
    const part = fc.stringMatching(/^[a-z0-9]{0,6}$/);
    fc.assert(
      fc.property(part, word, part, fc.boolean(), (before, secret, after, upper) => {
        const name = `x-${before}${secret}${after}`;
        const spelled = upper ? name.toUpperCase().replace(/-/g, '_') : name;
        const out = scrubHeaders({ [spelled]: 'v4lue' }, { allowlist: [spelled] });
        expect(Object.values(out)).toEqual([true]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('withDefaultAllowlist', () => {
  it('applies a provider’s allowlist only when the app gave none', () => {
    expect(withDefaultAllowlist(undefined, DEFAULT_ALLOWLIST)).toEqual({ allowlist: DEFAULT_ALLOWLIST });
    expect(withDefaultAllowlist({ denylist: ['Referer'] }, DEFAULT_ALLOWLIST)).toEqual({ denylist: ['Referer'], allowlist: DEFAULT_ALLOWLIST });
    expect(withDefaultAllowlist({ allowlist: [] }, DEFAULT_ALLOWLIST)).toEqual({ allowlist: [] });
    expect(withDefaultAllowlist({ allowlist: ['Accept'] }, DEFAULT_ALLOWLIST)).toEqual({ allowlist: ['Accept'] });
    expect(withDefaultAllowlist({ denylist: ['X'] }, undefined)).toEqual({ denylist: ['X'] });
  });

  it('hands options that are not an object back unchanged, so the scrubber still rejects them', () => {
    expect(withDefaultAllowlist('nope' as unknown as HeaderScrubOptions, DEFAULT_ALLOWLIST)).toBe('nope');
    expect(() => createHeaderScrubber(withDefaultAllowlist('nope' as unknown as HeaderScrubOptions, DEFAULT_ALLOWLIST))).toThrow(VigilConfigError);
  });
});
