import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { API, BROWSER, DEVICE_COOKIE, formBodies, eventually, LOGIN_ROUTE, loginApp, recordingProvider } from './helpers.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function post(port: number, path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent: false, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('a real listening server', () => {
  it('blocks, allows, reads the socket peer and logs outcomes over HTTP', async () => {
    const { provider, calls } = recordingProvider((event) => (event.context.userAgent?.startsWith('curl') ? { risk: 0.95, threatCode: 3 } : { risk: 0, responseHeaders: { 'set-cookie': 'vigil_d=1; Path=/' } }));
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] }, async (a) => {
      await a.register(formBodies);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;

    const blocked = await post(port, '/login', JSON.stringify({ email: 'a@example.com' }), { ...API, 'content-type': 'application/json' });
    expect(blocked.status).toBe(403);
    expect(JSON.parse(blocked.body)).toMatchObject({ blocked: true });

    const form = await post(port, '/login', 'email=a%40example.com&password=right', { ...BROWSER, 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(200);
    expect(form.headers['set-cookie']).toEqual(['vigil_d=1; Path=/', DEVICE_COOKIE]);
    expect(JSON.parse(form.body).vigil).toMatchObject({ action: 'allow', ip: '127.0.0.1' });

    // Through a loopback proxy (trusted by default) the client is the forwarded address.
    const proxied = await post(port, '/login', '{}', { ...BROWSER, 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.23' });
    expect(JSON.parse(proxied.body).vigil.ip).toBe('198.51.100.23');

    await eventually(() => expect(calls.log.map((e) => e.responseStatus)).toEqual([200, 401]));
    expect(calls.filter).toHaveLength(3);
  });

  it('refuses oversized headers and keeps serving', async () => {
    const { provider } = recordingProvider();
    const app = await loginApp({ mode: 'blocking', provider, routes: [LOGIN_ROUTE] });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    // Node refuses headers over 16 KB before Fastify sees them: a 431, or a reset while
    // the client is still writing. Either way the server goes on.
    const huge = await post(port, '/login', '', { ...API, 'x-junk': 'x'.repeat(20 * 1024) }).catch((error: NodeJS.ErrnoException) => ({ status: error.code }));
    expect([431, 'ECONNRESET', 'EPIPE']).toContain(huge.status);
    const next = await post(port, '/login', '{}', { ...BROWSER, 'content-type': 'application/json' });
    expect(next.status).toBe(401);
  });
});
