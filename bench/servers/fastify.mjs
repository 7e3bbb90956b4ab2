import rateLimit from '@fastify/rate-limit';
import { vigil } from '@vigil/fastify';
import Fastify from 'fastify';
import { exitOnTerm, ready, vigilOptions } from './common.mjs';

const variant = process.argv[2] ?? 'bare';
const app = Fastify({ logger: false });
if (variant === 'peer') {
  // Configured never to block: the cost of counting, not of refusing.
  await app.register(rateLimit, { global: true, max: 1_000_000_000, timeWindow: 60_000 });
} else if (variant.startsWith('vigil')) {
  await app.register(vigil, await vigilOptions(variant));
}
app.post('/api/login', async () => ({ ok: true }));
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
ready(app.server.address().port);
exitOnTerm();
