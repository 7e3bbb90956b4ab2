#!/usr/bin/env node
// Vigil protecting an Express login app. Everything that is not Express wiring (the
// user database, the pages, the CAPTCHA stand-in, Vigil's options from the environment)
// comes from @vigil/example-shared, the same for the Fastify and NestJS examples.
import { realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { localProvider, prefersHtml } from '@vigil/core';
import { vigil } from '@vigil/express';
import {
  captchaPassed,
  challengeResponse,
  createUserStore,
  handleApi,
  PAGE_HTML,
  PROTECTED_ROUTES,
  providerFromEnv,
  vigilOptionsFromEnv,
} from '@vigil/example-shared';
import express from 'express';

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Builds the app from environment variables: `VIGIL_MODE` (monitoring | blocking),
 * `VIGIL_REDIRECT_URL`, `VIGIL_SECRET`, `REDIS_URL`. Resolves `{ app, vigil }`; call
 * `vigil.close()` when done.
 */
export async function createApp(env = process.env) {
  const users = createUserStore();
  const provider = await providerFromEnv(localProvider, env);

  const guard = vigil({
    ...vigilOptionsFromEnv(env),
    routes: [...PROTECTED_ROUTES],
    ...(provider ? { provider } : {}),
    // Not console itself: its debug() would print every decision.
    logger: { warn: console.warn, error: console.error },
    // A block response only ever answers a decision whose action is `block`, so that is
    // what blocking mode "would" do; the simulator reads this header.
    blockResponse: { headers: { 'x-vigil-would-action': 'block' } },
    // The CAPTCHA hand-off: a solved CAPTCHA goes on to the route, anything else gets
    // the CAPTCHA (a page for browsers, JSON for API clients).
    onChallenge: ({ request, decision, proceed, raw: { res } }) => {
      res.set('x-vigil-would-action', decision.wouldAction);
      if (captchaPassed(request)) return proceed();
      const { status, headers, body } = challengeResponse(request, decision);
      res.status(status).set(headers).send(body);
    },
  });

  const app = express();
  app.disable('x-powered-by');
  // Express's own req.ip follows the same loopback proxy Vigil trusts (vigilOptionsFromEnv).
  app.set('trust proxy', 'loopback');
  // Body parsers first: Vigil reads the email from req.body.
  app.use(express.json({ limit: '16kb' }), express.urlencoded({ limit: '16kb' }));
  app.use(guard);
  app.use((req, res, next) => {
    if (req.vigil?.protected) res.set('x-vigil-would-action', req.vigil.wouldAction);
    next();
  });

  app.get('/', (_req, res) => {
    res.type('html').send(PAGE_HTML);
  });
  app.post(['/api/register', '/api/login', '/api/password-reset'], (req, res) => {
    const { status, body } = handleApi(users, req.path, req.body);
    res.status(status);
    if (!prefersHtml(req.get('accept'))) return res.json(body);
    // A form post from a browser: a page, not JSON.
    const text = body.ok ? 'Done.' : (body.error ?? 'That did not work.');
    res.type('html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil demo</title></head><body><p>${escape(text)}</p><p><a href="/">Back</a></p></body></html>`);
  });

  return { app, vigil: guard };
}

// Started directly (`pnpm start`, `node server.mjs`): listen and print one JSON line.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const { app, vigil: guard } = await createApp();
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
    console.log(JSON.stringify({ listening: `http://127.0.0.1:${server.address().port}`, mode: guard.core.mode }));
  });
  const stop = () => {
    server.close();
    guard.close().finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
