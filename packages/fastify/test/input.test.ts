import { describe, expect, it } from 'vitest';
import { API, BROWSER, formBodies, fastify, LOGIN_ROUTE, loginApp, recordingProvider } from './helpers.js';
import { vigil } from '../src/index.js';

describe('client IP', () => {
  const forwarded = { ...API, 'x-forwarded-for': '198.51.100.7' };

  it('ignores X-Forwarded-For from an untrusted public peer by default', async () => {
    const { provider } = recordingProvider();
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE] }, undefined, { trustProxy: true });
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: forwarded, remoteAddress: '203.0.113.1' });
    expect(res.json().vigil.ip).toBe('203.0.113.1');
  });

  it('uses Fastify’s request.ip (trustProxy) with ip.useFramework', async () => {
    const { provider } = recordingProvider();
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE], ip: { useFramework: true } }, undefined, { trustProxy: true });
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: forwarded, remoteAddress: '203.0.113.1' });
    expect(res.json().vigil.ip).toBe('198.51.100.7');
  });

  it('uses the socket peer when Fastify does not trust proxies, even with ip.useFramework', async () => {
    const { provider } = recordingProvider();
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE], ip: { useFramework: true } });
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: forwarded, remoteAddress: '203.0.113.1' });
    expect(res.json().vigil.ip).toBe('203.0.113.1');
  });

  it('believes a trusted loopback proxy by core’s own rules', async () => {
    const { provider } = recordingProvider();
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE] });
    const res = await app.inject({ method: 'POST', url: '/login', payload: {}, headers: forwarded, remoteAddress: '127.0.0.1' });
    expect(res.json().vigil.ip).toBe('198.51.100.7');
  });
});

describe('bad input is a normal request', () => {
  it('survives __proto__ keys in JSON and form bodies', async () => {
    const { provider, calls } = recordingProvider();
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE] }, async (a) => {
      await a.register(formBodies);
    });
    // Fastify's JSON parser refuses prototype poisoning itself (400) before any hook.
    const json = await app.inject({ method: 'POST', url: '/login', payload: '{"__proto__":{"polluted":1},"email":"a@example.com"}', headers: { ...API, 'content-type': 'application/json' } });
    expect(json.statusCode).toBe(400);
    const form = await app.inject({ method: 'POST', url: '/login', payload: '__proto__=x&email=b%40example.com&constructor=y', headers: { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.statusCode).toBe(401);
    expect(calls.filter.at(-1)?.user).toEqual({ email: 'b@example.com' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('decides about JSON bodies with __proto__ when the app lets them through', async () => {
    const { provider, calls } = recordingProvider();
    const app = await loginApp({ provider, routes: [{ ...LOGIN_ROUTE, user: { email: 'body.__proto__' } }] }, undefined, { onProtoPoisoning: 'remove' });
    const res = await app.inject({ method: 'POST', url: '/login', payload: '{"__proto__":{"email":"x"},"email":"a@example.com"}', headers: { ...API, 'content-type': 'application/json' } });
    expect(res.statusCode).toBe(401);
    expect(calls.filter[0]?.user).toEqual({});
  });

  it('survives huge, repeated and odd headers, odd bodies and no body at all', async () => {
    const { provider, calls } = recordingProvider();
    const app = await loginApp({ provider, routes: [LOGIN_ROUTE] });
    const odd = [
      { headers: { 'user-agent': 'x'.repeat(64 * 1024), 'x-forwarded-for': 'not an ip, ::ffff:999.1.1.1, [::1]:99999', accept: ['a', 'b'] as unknown as string } },
      { headers: { 'content-type': 'application/json' }, payload: '[1,2,3]' },
      { headers: { 'content-type': 'application/json' }, payload: 'null' },
      { headers: { 'content-type': 'application/json' }, payload: '"just a string"' },
      { headers: {} },
    ];
    for (const { headers, payload } of odd as { headers: Record<string, string>; payload?: string }[]) {
      const res = await app.inject({ method: 'POST', url: '/login', headers, ...(payload === undefined ? {} : { payload }) });
      expect(res.statusCode).toBe(401);
    }
    expect(calls.filter).toHaveLength(odd.length);
    // An empty POST has a parsed, empty body: core does not warn about a missing parser.
    expect(calls.filter.at(-1)?.user).toEqual({});
  });

  it('does not warn about a missing body parser for a POST without a body', async () => {
    const warnings: string[] = [];
    const app = fastify();
    await app.register(vigil, { routes: [LOGIN_ROUTE], provider: async () => ({ risk: 0 }), logger: { warn: (obj) => warnings.push((obj as { code: string }).code), error: () => undefined } });
    app.post('/login', async () => ({ ok: true }));
    await app.inject({ method: 'POST', url: '/login', headers: API });
    expect(warnings).not.toContain('VIGIL_W_BODY_NOT_PARSED');
  });
});
