// Regressions from the review of issue 12, each through a real Fastify instance.
import { describe, expect, it } from 'vitest';
import { vigil } from '../../src/index.js';
import { fastify, recordingProvider } from '../helpers.js';

const CLIENT = { 'user-agent': 'python-requests/2.31.0', accept: 'application/json' };

describe('issue 12 review', () => {
  it('a GET route is decided on the HEAD route Fastify adds for it', async () => {
    const { provider, calls } = recordingProvider({ risk: 1 });
    const app = fastify();
    await app.register(vigil, { mode: 'blocking', provider, routes: [{ method: 'GET', path: '/magic/:token', event: '$login' }, { method: 'GET', path: '/reset/confirm', event: '$password_reset_request' }] });
    const ran: string[] = [];
    app.get('/magic/:token', async (request) => {
      ran.push(request.method);
      return { ok: true };
    });
    app.get('/reset/confirm', async (request) => {
      ran.push(request.method);
      return { ok: true };
    });
    for (const url of ['/magic/abc', '/reset/confirm']) {
      expect((await app.inject({ method: 'GET', url, headers: CLIENT })).statusCode).toBe(403);
      expect((await app.inject({ method: 'HEAD', url, headers: CLIENT })).statusCode).toBe(403);
    }
    expect(ran).toEqual([]);
    expect(calls.filter.map((e) => e.context.method)).toEqual(['GET', 'HEAD', 'GET', 'HEAD']);
  });

  it('a parametric route registered before the plugin fails the start-up', async () => {
    const { provider } = recordingProvider({ risk: 1 });
    const app = fastify();
    app.post('/users/:id/reset', async () => ({ ok: true }));
    await app.register(vigil, { mode: 'blocking', provider, routes: [{ method: 'POST', path: '/users/:id/reset', event: '$password_reset_request' }] });
    await expect(app.ready()).rejects.toMatchObject({ code: 'VIGIL_E_ROUTE', option: 'routes[0].path' });
  });

  it('config.vigil is decided whatever uriExclusion says', async () => {
    const { provider } = recordingProvider({ risk: 1 });
    const app = fastify();
    await app.register(vigil, { mode: 'blocking', provider, uriExclusion: [/\.css$/] });
    app.put('/users/:id', { config: { vigil: { event: '$profile_update' } } }, async (request) => ({ decided: request.vigil.protected }));
    expect((await app.inject({ method: 'PUT', url: '/users/42.css', payload: {}, headers: CLIENT })).statusCode).toBe(403);
  });
});
