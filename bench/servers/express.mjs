import { createServer } from 'node:http';
import { vigil } from '@vigil/express';
import express from 'express';
import { rateLimit } from 'express-rate-limit';
import { exitOnTerm, ready, vigilOptions } from './common.mjs';

const variant = process.argv[2] ?? 'bare';
const app = express();
app.disable('x-powered-by');
app.use(express.json());
if (variant === 'peer') {
  // Configured never to block: the cost of counting, not of refusing.
  app.use(rateLimit({ windowMs: 60_000, limit: 1_000_000_000, standardHeaders: 'draft-8', legacyHeaders: false }));
} else if (variant.startsWith('vigil')) {
  app.use(vigil(await vigilOptions(variant)));
}
app.post('/api/login', (_req, res) => {
  res.json({ ok: true });
});
const server = createServer(app);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => ready(server.address().port));
exitOnTerm();
