import { it } from 'vitest';
import { startFakeCastle, startFakeCheq } from '../testing/fake-vendors.js';
import { castleProvider } from './castle.js';
import { cheqProvider } from './cheq.js';
import { createVigil } from '../vigil.js';

it('probe', async () => {
  const fake = await startFakeCastle('sk_test');
  const logs: unknown[] = [];
  const logger = { warn: (o: object, m?: string) => logs.push([o, m]), error: (o: object, m?: string) => logs.push([o, m]) };
  const p = castleProvider({ apiSecret: 'sk_test', baseUrl: fake.url, logger });
  const vigil = createVigil({ mode: 'blocking', provider: p, routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }] });
  let t = performance.now();
  const d = await vigil.protect({ method: 'POST', url: '/login', path: '/login', headers: { 'x-castle-request-token': 'tok', 'user-agent': 'UA' }, remoteAddress: '1.2.3.4', body: { email: 'a@b.c' } });
  console.log(performance.now() - t, d, logs, fake.requests);
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    await vigil.protect({ method: 'POST', url: '/login', path: '/login', headers: { 'x-castle-request-token': 'tok', 'user-agent': 'UA' }, remoteAddress: '1.2.3.4', body: { email: 'a@b.c' } });
    console.log(performance.now() - t);
  }
  console.log('conns', fake.connections);
  await vigil.close();
  await fake.close();
  const cq = await startFakeCheq('key', 'tag');
  const c = cheqProvider({ apiKey: 'key', tagHash: 'tag', apiEndpoint: cq.url, logger });
  const v2 = createVigil({ mode: 'blocking', provider: c, routeToEventType: { '/login': 'login' } });
  const d2 = await v2.protect({ method: 'POST', url: '/login', path: '/login', rawHeaders: ['Host', 'x.com', 'User-Agent', 'UA'], headers: { host: 'x.com', 'user-agent': 'UA' }, remoteAddress: '1.2.3.4' });
  console.log(d2, cq.requests, logs.slice(-2));
  await v2.close(); await cq.close();
});
