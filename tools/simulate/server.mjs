#!/usr/bin/env node
// A minimal login app on node:http, protected by @vigil/core directly, for driving the
// simulator before (and independently of) the framework adapters. It follows the
// example apps' contract: GET / (HTML), POST /api/register, /api/login,
// /api/password-reset, JSON or form-encoded.
import { createServer } from 'node:http';
import { createVigil } from '@vigil/core';
import { createLoginApp } from './src/app.mjs';

const port = Number(process.env.PORT ?? 3000);
const mode = process.env.VIGIL_MODE ?? 'monitoring';

const { handler, vigil } = createLoginApp({ mode, createVigil });
const server = createServer(handler);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  // One line on stdout, parsed by the simulator when it spawns this server.
  console.log(JSON.stringify({ listening: `http://127.0.0.1:${address.port}`, mode }));
});
const stop = () => {
  server.close();
  vigil.close().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
