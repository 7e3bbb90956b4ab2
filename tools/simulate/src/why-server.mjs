#!/usr/bin/env node
// The --why harness: the Express example app, unchanged, inside a plain HTTP server
// that writes one JSON line per protected request to $VIGIL_SIM_DECISIONS (the
// population the simulator tagged it with, Vigil's action, wouldAction, threat code,
// risk and reasons). The example apps log warnings only; this is how the simulator
// tells which rule stopped which people. The `X-Sim-Population` tag is removed before
// the app sees the request.
import { createWriteStream } from 'node:fs';
import { createServer } from 'node:http';
import { createApp } from '../../../examples/express/server.mjs';

const TAG = 'x-sim-population';
const out = createWriteStream(process.env.VIGIL_SIM_DECISIONS);
const { app, vigil } = await createApp(process.env);
const server = createServer((req, res) => {
  const tag = req.headers[TAG];
  delete req.headers[TAG];
  for (let i = req.rawHeaders.length - 2; i >= 0; i -= 2) if (req.rawHeaders[i].toLowerCase() === TAG) req.rawHeaders.splice(i, 2);
  res.on('finish', () => {
    const d = req.vigil;
    if (!d?.protected) return;
    out.write(`${JSON.stringify({ tag, path: req.path ?? req.url, status: res.statusCode, action: d.action, wouldAction: d.wouldAction, threatCode: d.threatCode, risk: d.risk, reasons: d.reasons })}\n`);
  });
  app(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  console.log(JSON.stringify({ listening: `http://127.0.0.1:${server.address().port}`, mode: vigil.core.mode }));
});
const stop = () => {
  server.close();
  out.end(() => vigil.close().finally(() => process.exit(0)));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
