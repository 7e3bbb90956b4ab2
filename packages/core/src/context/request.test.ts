import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ALLOWLIST, type IncomingHeaders } from './headers.js';
import { buildRequestContext, type ContextOptions, createContextBuilder, type RequestInfo } from './request.js';
import { thrown } from '../test-support/thrown.js';

function request(headers: IncomingHeaders = {}, remoteAddress?: string, extra: Partial<RequestInfo> = {}): RequestInfo {
  return { method: 'POST', url: '/login?next=%2F', path: '/login', headers, remoteAddress, ...extra };
}

/** Runs `fn`, lets pending promises settle, and returns the unhandled rejections seen. */
async function unhandledRejectionsDuring(fn: () => void): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  try {
    fn();
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off('unhandledRejection', listener);
  }
  return seen;
}

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();
afterEach(() => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
});

const browser: IncomingHeaders = {
  host: 'example.com',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)',
  accept: 'text/html',
  cookie: 'sid=SECRET-SESSION',
  authorization: 'Bearer SECRET-TOKEN',
  'x-forwarded-for': '1.1.1.1',
};

describe('buildRequestContext', () => {
  it('builds ip, scrubbed headers, user agent and defaults', () => {
    const ctx = buildRequestContext(request(browser, '203.0.113.5'), {});
    expect(ctx).toEqual({
      ip: '203.0.113.5',
      headers: {
        Host: 'example.com',
        'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64)',
        Accept: 'text/html',
        Cookie: true,
        Authorization: true,
        'X-Forwarded-For': '1.1.1.1',
      },
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64)',
      ja3: undefined,
      resourceType: 'text/html',
      channel: undefined,
      method: 'POST',
      path: '/login',
    });
  });

  it("carries the protocol the framework saw (per its trust-proxy settings): 'http' or 'https', else undefined", () => {
    expect(buildRequestContext({ ...request(browser, '203.0.113.5'), protocol: 'https' }).protocol).toBe('https');
    expect(buildRequestContext({ ...request(browser, '203.0.113.5'), protocol: 'HTTP' }).protocol).toBe('http');
    expect(buildRequestContext({ ...request(browser, '203.0.113.5'), protocol: 'https:' }).protocol).toBe('https');
    for (const protocol of [undefined, 'ftp', '', 42 as unknown as string]) {
      expect(buildRequestContext({ ...request(browser, '203.0.113.5'), protocol }).protocol).toBeUndefined();
    }
  });

  it('works without a config', () => {
    expect(buildRequestContext(request(browser, '203.0.113.5')).ip).toBe('203.0.113.5');
  });

  it('never carries a cookie or credential anywhere in the context', () => {
    const ctx = buildRequestContext(request(browser, '203.0.113.5'), { headers: { allowlist: ['Cookie', 'Authorization'] } });
    expect(JSON.stringify(ctx)).not.toMatch(/SECRET/);
  });

  describe('client IP', () => {
    it('applies the socket-first rule: a public peer is the client', () => {
      expect(buildRequestContext(request(browser, '203.0.113.5'), {}).ip).toBe('203.0.113.5');
    });

    it('believes X-Forwarded-For from a trusted proxy', () => {
      expect(buildRequestContext(request(browser, '10.0.0.1'), {}).ip).toBe('1.1.1.1');
      // No peer address (a unix socket, a destroyed socket): believed only on opt-in.
      expect(buildRequestContext(request(browser, undefined), {}).ip).toBeUndefined();
      expect(buildRequestContext(request(browser, undefined), { ip: { trustedProxies: ['unix'] } }).ip).toBe('1.1.1.1');
    });

    it('passes config.ip to the extractor', () => {
      const config: ContextOptions = { ip: { trustedProxies: ['198.51.100.0/24'], trustedIpHeader: 'CF_CONNECTING_IP' } };
      const headers = { 'cf-connecting-ip': '2001:0DB8::0042', 'x-forwarded-for': '1.1.1.1' };
      expect(buildRequestContext(request(headers, '198.51.100.1'), config).ip).toBe('2001:db8::42');
      expect(buildRequestContext(request(headers, '203.0.113.5'), config).ip).toBe('203.0.113.5');
    });

    it('canonicalizes the socket address', () => {
      expect(buildRequestContext(request({}, '::ffff:203.0.113.5'), {}).ip).toBe('203.0.113.5');
      expect(buildRequestContext(request({}, 'unix:/tmp/app.sock'), {}).ip).toBeUndefined();
    });

    describe('ip.useFramework', () => {
      const config: ContextOptions = { ip: { useFramework: true } };

      it("takes the framework's address, canonical", () => {
        expect(buildRequestContext(request(browser, '10.0.0.1', { frameworkIp: '::ffff:198.51.100.9' }), config).ip).toBe('198.51.100.9');
        expect(buildRequestContext(request(browser, '10.0.0.1', { frameworkIp: '2001:DB8::1' }), config).ip).toBe('2001:db8::1');
      });

      it("falls back to Vigil's own answer when the framework has none or a bad one", () => {
        expect(buildRequestContext(request(browser, '10.0.0.1'), config).ip).toBe('1.1.1.1');
        expect(buildRequestContext(request(browser, '10.0.0.1', { frameworkIp: 'garbage' }), config).ip).toBe('1.1.1.1');
      });

      it('ignores the framework address unless asked', () => {
        expect(buildRequestContext(request(browser, '10.0.0.1', { frameworkIp: '198.51.100.9' }), {}).ip).toBe('1.1.1.1');
      });
    });
  });

  describe('headers and user agent', () => {
    it('passes config.headers to the scrubber', () => {
      const ctx = buildRequestContext(request({ ...browser, 'x-custom': 'c' }, '203.0.113.5'), { headers: { allowlist: DEFAULT_ALLOWLIST } });
      expect(ctx.headers['X-Custom']).toBe(true);
      expect(ctx.headers['X-Forwarded-For']).toBe(true);
      expect(ctx.headers.Accept).toBe('text/html');
      expect(ctx.headers.Cookie).toBe(true);
    });

    it.each([['user-agent'], ['User-Agent'], ['USER_AGENT'], ['HTTP_USER_AGENT']])('reads the user agent under the key %j', (key) => {
      const ctx = buildRequestContext(request({ [key]: 'curl/8.0' }), {});
      expect(ctx.userAgent).toBe('curl/8.0');
      expect(ctx.headers['User-Agent']).toBe('curl/8.0');
    });

    it('keeps the user agent even when denylisted', () => {
      const ctx = buildRequestContext(request({ 'user-agent': 'UA' }), { headers: { denylist: ['User-Agent'] } });
      expect(ctx.userAgent).toBe('UA');
      expect(ctx.headers['User-Agent']).toBe('UA');
    });

    it('answers undefined without a user agent', () => {
      expect(buildRequestContext(request({}), {}).userAgent).toBeUndefined();
    });
  });

  describe('hooks', () => {
    it('returns what getJa3, getResourceType and getChannel return, given the request', () => {
      const seen: RequestInfo[] = [];
      const config: ContextOptions = {
        getJa3: (req) => {
          seen.push(req);
          return 'ja3-hash';
        },
        getResourceType: (req) => (req.path === '/login' ? 'application/json' : undefined),
        getChannel: () => 'signup-campaign',
      };
      const req = request(browser, '203.0.113.5');
      const ctx = buildRequestContext(req, config);
      expect(ctx.ja3).toBe('ja3-hash');
      expect(ctx.resourceType).toBe('application/json');
      expect(ctx.channel).toBe('signup-campaign');
      expect(seen).toEqual([req]);
    });

    it('defaults the resource type to text/html when the hook answers nothing', () => {
      expect(buildRequestContext(request(), { getResourceType: () => undefined }).resourceType).toBe('text/html');
    });

    it.each([
      ['an Error', new Error('boom')],
      ['a string', 'boom'],
      ['undefined', undefined],
      ['null', null],
    ])('a hook that throws %s yields undefined, never an exception', (_what, failure) => {
      const fail = () => {
        throw failure;
      };
      const config: ContextOptions = { getJa3: fail, getResourceType: fail, getChannel: fail };
      let ctx: ReturnType<typeof buildRequestContext> | undefined;
      expect(() => {
        ctx = buildRequestContext(request(browser, '203.0.113.5'), config);
      }).not.toThrow();
      expect(ctx?.ja3).toBeUndefined();
      expect(ctx?.channel).toBeUndefined();
      expect(ctx?.resourceType).toBe('text/html');
      expect(ctx?.ip).toBe('203.0.113.5');
    });

    it('one failing hook does not affect the others', () => {
      const ctx = buildRequestContext(request(), {
        getJa3: () => {
          throw new Error('boom');
        },
        getChannel: () => 'web',
      });
      expect(ctx.ja3).toBeUndefined();
      expect(ctx.channel).toBe('web');
    });

    it.each([[42], [{ toString: () => 'x' }], [null], [['a']], [true]])('a hook returning the non-string %j yields undefined', (value) => {
      const hook = (() => value) as unknown as () => string;
      const ctx = buildRequestContext(request(), { getJa3: hook, getResourceType: hook, getChannel: hook });
      expect(ctx.ja3).toBeUndefined();
      expect(ctx.channel).toBeUndefined();
      expect(ctx.resourceType).toBe('text/html');
    });

    it('an async hook that rejects yields undefined and leaves no unhandled rejection', async () => {
      const rejecting = (async () => {
        throw new Error('async boom');
      }) as unknown as () => string;
      let ctx: ReturnType<typeof buildRequestContext> | undefined;
      const unhandled = await unhandledRejectionsDuring(() => {
        ctx = buildRequestContext(request(), { getJa3: rejecting, getResourceType: rejecting, getChannel: rejecting });
      });
      expect(unhandled).toEqual([]);
      expect(ctx?.ja3).toBeUndefined();
      expect(ctx?.resourceType).toBe('text/html');
    });

    it('a hook returning a hostile thenable does not throw', () => {
      const hostile = (() => ({
        // biome-ignore lint/suspicious/noThenProperty: the point is a thenable whose `then` throws.
        get then() {
          throw new Error('getter boom');
        },
      })) as unknown as () => string;
      expect(buildRequestContext(request(), { getJa3: hostile }).ja3).toBeUndefined();
    });
  });

  describe('hostile input is a normal request', () => {
    it('headers named __proto__ and constructor: no exception, no pollution', () => {
      const headers = JSON.parse(
        '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"user-agent":"UA","x-forwarded-for":"203.0.113.9","cookie":"c"}',
      ) as IncomingHeaders;
      const ctx = buildRequestContext(request(headers, '10.0.0.1'), {});
      expect(ctx.ip).toBe('203.0.113.9');
      expect(ctx.userAgent).toBe('UA');
      expect(ctx.headers.Cookie).toBe(true);
      expect(Object.getPrototypeOf(ctx.headers)).toBe(Object.prototype);
      expect(Object.keys(ctx.headers)).not.toContain('__proto__');
      expect(Object.keys(ctx.headers)).not.toContain('constructor');
    });

    it('a 64 KB X-Forwarded-For with 10 000 entries and non-ASCII bytes', () => {
      const value = [...Array.from({ length: 10_000 }, (_, i) => `${i % 2 ? 'ünï✓' : '10.9.'}${i & 255}.${(i >> 8) & 255}`), '203.0.113.9', '10.0.0.2'].join(', ');
      expect(value.length).toBeGreaterThan(64 * 1024);
      const ctx = buildRequestContext(request({ 'x-forwarded-for': value, 'user-agent': '\u00ff\u00fe🤖' }, '10.0.0.1'), {});
      expect(ctx.ip).toBe('203.0.113.9');
      expect(ctx.userAgent).toBe('\u00ff\u00fe🤖');
      expect(ctx.headers['X-Forwarded-For']).toBe(value);
    });

    it('a request with odd or missing parts still gets a context', () => {
      const odd = { method: undefined, url: '', path: undefined, headers: undefined } as unknown as RequestInfo;
      const ctx = buildRequestContext(odd, {});
      expect(ctx.ip).toBeUndefined();
      expect(ctx.headers).toEqual({});
      expect(ctx.userAgent).toBeUndefined();
      expect(ctx.resourceType).toBe('text/html');
    });
  });

  describe('option errors, at construction', () => {
    it.each<[string, ContextOptions, string, string]>([
      ['a bad trusted proxy', { ip: { trustedProxies: ['10.0.0.*'] } }, 'VIGIL_E_TRUSTED_PROXY', 'ip.trustedProxies[0]'],
      ['a fractional depth', { ip: { trustedProxyDepth: 1.5 } }, 'VIGIL_E_PROXY_DEPTH', 'ip.trustedProxyDepth'],
      ['ipHeaders as a string', { ip: { ipHeaders: 'X-Real-Ip' as unknown as string[] } }, 'VIGIL_E_IP_HEADERS', 'ip.ipHeaders'],
      ['an unknown ip option', { ip: { trustedProxy: ['1.2.3.4'] } as never }, 'VIGIL_E_UNKNOWN_OPTION', 'ip.trustedProxy'],
      ['an allowlist that is not an array', { headers: { allowlist: 'Accept' as unknown as string[] } }, 'VIGIL_E_HEADER_LIST', 'headers.allowlist'],
      ['an unknown headers option', { headers: { allowList: ['Accept'] } as never }, 'VIGIL_E_UNKNOWN_OPTION', 'headers.allowList'],
      ['a hook that is not a function', { getJa3: 'ja3' as never }, 'VIGIL_E_OPTION_TYPE', 'getJa3'],
      ['a resource type given as a value', { getResourceType: 'text/html' as never }, 'VIGIL_E_OPTION_TYPE', 'getResourceType'],
    ])('%s throws VigilConfigError naming the option', (_what, config, code, option) => {
      for (const fn of [() => createContextBuilder(config), () => buildRequestContext(request(), config)]) {
        const err = thrown(fn);
        expect(err.code).toBe(code);
        expect(err.option).toBe(option);
        expect(err.message).toContain(option);
      }
    });

    it('suggests the right spelling of a misspelt option', () => {
      expect(thrown(() => createContextBuilder({ headers: { denyList: [] } as never })).message).toContain('Did you mean "headers.denylist"?');
      expect(thrown(() => createContextBuilder({ ip: { ipHeader: [] } as never })).message).toContain('Did you mean "ip.ipHeaders"?');
    });
  });

  describe('createContextBuilder', () => {
    it('compiles once and answers like buildRequestContext for many requests', () => {
      const config: ContextOptions = { ip: { trustedProxyDepth: 1 }, headers: { denylist: ['X-Forwarded-For'] }, getChannel: () => 'c' };
      const build = createContextBuilder(config);
      const reqs = [
        request({ 'x-forwarded-for': '1.1.1.1, 2.2.2.2' }, '203.0.113.5'),
        request({ 'x-forwarded-for': '3.3.3.3' }, '203.0.113.5'),
        request({}, '203.0.113.6'),
      ];
      expect(reqs.map(build).map((c) => c.ip)).toEqual(['2.2.2.2', '3.3.3.3', '203.0.113.6']);
      for (const req of reqs) {
        expect(build(req)).toEqual(buildRequestContext(req, config));
        expect(build(req).headers['X-Forwarded-For'] ?? true).toBe(true);
      }
    });
  });
});
