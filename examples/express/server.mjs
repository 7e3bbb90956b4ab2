#!/usr/bin/env node
// Vigil protecting an Express login app. Everything that is not Express wiring (the
// user database, the pages, the CAPTCHA stand-in, Vigil's options from the environment)
// comes from @vigil/example-shared, the same for the Fastify and NestJS examples.
import { createHash, timingSafeEqual } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { localProvider, prefersHtml } from '@vigil/core';
import { vigil } from '@vigil/express';
import {
  accountPage,
  createUserStore,
  handleApi,
  loginPage,
  PAGE_HTML,
  PROTECTED_ROUTES,
  providerFromEnv,
  sessionSecretFromEnv,
  verifyLogin,
  vigilOptionsFromEnv,
} from '@vigil/example-shared';
import express from 'express';
import session from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The demo's user store has no user ids; a hash of the normalized email stands in for
 * one. Send Vigil ids (or hashes), never raw emails as ids: they are stored as given.
 */
export const userIdOf = (email) => createHash('sha256').update(String(email).trim().toLowerCase()).digest('hex').slice(0, 24);

/** Middleware: lets through requests bearing `Authorization: Bearer <token>` (compared in constant time), 401 otherwise. */
function bearer(token) {
  const expected = createHash('sha256').update(token).digest();
  return (req, res, next) => {
    const given = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '';
    if (timingSafeEqual(createHash('sha256').update(given).digest(), expected)) return next();
    res.status(401).json({ ok: false, error: 'admin token required' });
  };
}

/**
 * Builds the app from environment variables: `VIGIL_MODE` (monitoring | blocking),
 * `VIGIL_REDIRECT_URL`, `VIGIL_SECRET`, `REDIS_URL`, `VIGIL_DEVICE_SECRET` (a secret of
 * the device cookie's own; by default it is keyed by the engine's secret),
 * `VIGIL_ADMIN_TOKEN` (mounts the admin API). Resolves
 * `{ app, vigil }`; call `vigil.close()` when done.
 */
export async function createApp(env = process.env) {
  const users = createUserStore();
  const provider = await providerFromEnv(localProvider, env);

  const guard = vigil({
    ...vigilOptionsFromEnv(env),
    routes: [...PROTECTED_ROUTES],
    ...(provider ? { provider } : {}),
    // The signed device cookie is on by default, keyed by the engine's secret; a secret of
    // its own when one is given (every instance needs the same one).
    ...(env.VIGIL_DEVICE_SECRET ? { deviceCookie: { secret: env.VIGIL_DEVICE_SECRET } } : {}),
    // Not console itself: its debug() would print every decision.
    logger: { warn: console.warn, error: console.error },
    // A block response only ever answers a decision whose action is `block`, so that is
    // what blocking mode "would" do; the simulator reads this header.
    blockResponse: { headers: { 'x-vigil-would-action': 'block' } },
    // No onChallenge: blocking mode answers a challenged request with Vigil's built-in
    // proof-of-work challenge (a page that solves itself and re-posts the form for
    // browsers, JSON for API clients); the middleware serves the page's scripts.
  });

  // The server-rendered sign-in: passport-local over the same user database, sessions
  // with express-session (in memory here; a store such as connect-redis in production).
  const auth = new passport.Passport();
  auth.use(new LocalStrategy({ usernameField: 'email' }, verifyLogin(users, userIdOf)));
  auth.serializeUser((user, done) => done(null, JSON.stringify(user)));
  auth.deserializeUser((text, done) => done(null, JSON.parse(text)));

  const app = express();
  app.disable('x-powered-by');
  // Express's own req.ip follows the same loopback proxy Vigil trusts (vigilOptionsFromEnv).
  app.set('trust proxy', 'loopback');
  // Body parsers first: Vigil reads the email from req.body.
  app.use(express.json({ limit: '16kb' }), express.urlencoded({ limit: '16kb' }));
  app.use(session({ secret: sessionSecretFromEnv(env), resave: false, saveUninitialized: false, cookie: { httpOnly: true, sameSite: 'lax' } }));
  // Vigil before Passport: it decides before the password is checked.
  app.use(guard);
  app.use(auth.initialize());
  app.use(auth.session());
  app.use((req, res, next) => {
    if (req.vigil?.protected) res.set('x-vigil-would-action', req.vigil.wouldAction);
    next();
  });

  // Passport answers 302 both ways; Vigil needs no outcome option for it: back to the
  // form (`/login?error=1`) is a failed login, a user signed in on the request a success.
  app.get('/login', (req, res) => {
    res.type('html').send(loginPage('error' in req.query));
  });
  app.post('/login', auth.authenticate('local', { successRedirect: '/account', failureRedirect: '/login?error=1' }));
  app.get('/account', (req, res) => {
    const page = accountPage(req.user);
    if (page === undefined) return res.redirect('/login');
    res.type('html').send(page);
  });

  app.get('/', (_req, res) => {
    res.type('html').send(PAGE_HTML);
  });
  app.post(['/api/register', '/api/login', '/api/password-reset'], async (req, res) => {
    const { status, body } = handleApi(users, req.path, req.body);
    // A successful login tells Vigil who the user is: a blocked user is refused here
    // (blocking mode: Vigil answers 403 and `handled` is true), right password or not.
    if (req.path === '/api/login' && status === 200 && (await req.vigil.identify({ id: userIdOf(req.body.email) })).handled) return;
    res.status(status);
    if (!prefersHtml(req.get('accept'))) return res.json(body);
    // A form post from a browser: a page, not JSON.
    const text = body.ok ? 'Done.' : (body.error ?? 'That did not work.');
    res.type('html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil demo</title></head><body><p>${escape(text)}</p><p><a href="/">Back</a></p></body></html>`);
  });

  // The admin API, only with VIGIL_ADMIN_TOKEN: block and unblock users by email (the
  // id Vigil knows them by is its hash), list the blocked ones.
  if (env.VIGIL_ADMIN_TOKEN) {
    const admin = express.Router();
    admin.use(bearer(env.VIGIL_ADMIN_TOKEN));
    admin.post('/users/block', async (req, res) => {
      if (typeof req.body?.email !== 'string') return res.status(400).json({ ok: false, error: 'email required' });
      await guard.blockUser(userIdOf(req.body.email), { reason: typeof req.body.reason === 'string' ? req.body.reason : 'blocked by an admin' });
      res.json({ ok: true, id: userIdOf(req.body.email) });
    });
    admin.post('/users/unblock', async (req, res) => {
      if (typeof req.body?.email !== 'string') return res.status(400).json({ ok: false, error: 'email required' });
      await guard.unblockUser(userIdOf(req.body.email));
      res.json({ ok: true });
    });
    admin.get('/blocked-users', async (_req, res) => {
      res.json(await guard.listBlockedUsers());
    });
    app.use('/admin', admin);
  }

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
