#!/usr/bin/env node
// Vigil protecting a Fastify login app. Everything that is not about Fastify (the user
// database, the API contract, the page, the CAPTCHA stand-in) is in @vigil/example-shared.
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import formbody from '@fastify/formbody';
import { Authenticator } from '@fastify/passport';
import secureSession from '@fastify/secure-session';
import { localProvider } from '@vigil/core';
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
import { vigil } from '@vigil/fastify';
import Fastify from 'fastify';
import { Strategy as LocalStrategy } from 'passport-local';

/** A stand-in user id for the demo's users: a hash of the normalized email (see the Express example). */
const userIdOf = (email) => createHash('sha256').update(String(email).trim().toLowerCase()).digest('hex').slice(0, 24);

/**
 * Builds the app from environment variables: `VIGIL_MODE` (monitoring | blocking),
 * `VIGIL_REDIRECT_URL`, `REDIS_URL`, `VIGIL_SECRET`, and `LOG_LEVEL` for Fastify's own
 * logs (to stderr: stdout carries the one "listening" line).
 */
export async function buildApp(env = process.env) {
  const app = Fastify({
    logger: env.LOG_LEVEL ? { level: env.LOG_LEVEL, stream: process.stderr } : false,
    // The simulator (or a local load balancer) speaks for many clients through loopback.
    trustProxy: 'loopback',
  });
  const users = createUserStore();

  await app.register(formbody);
  // The server-rendered sign-in: @fastify/passport over the same user database, the
  // session in an encrypted cookie (@fastify/secure-session).
  await app.register(secureSession, { secret: createHash('sha256').update(sessionSecretFromEnv(env)).digest(), salt: 'vigil-demo-salt!', cookie: { path: '/', httpOnly: true, sameSite: 'lax' } });
  const passport = new Authenticator();
  await app.register(passport.initialize());
  await app.register(passport.secureSession());
  passport.use('local', new LocalStrategy({ usernameField: 'email' }, verifyLogin(users, userIdOf)));
  passport.registerUserSerializer(async (user) => JSON.stringify(user));
  passport.registerUserDeserializer(async (text) => JSON.parse(text));
  const provider = await providerFromEnv(localProvider, env);
  // Registered and awaited before the routes: it attaches its hooks as they are declared.
  await app.register(vigil, {
    ...vigilOptionsFromEnv(env),
    routes: [...PROTECTED_ROUTES],
    ...(provider ? { provider } : {}),
    // No onChallenge: blocking mode answers a challenged request with Vigil's built-in
    // proof-of-work challenge (a page that solves itself and re-posts the form for
    // browsers, JSON for API clients); the plugin serves the page's scripts.
  });

  // What blocking mode would have done, on every protected answer (Vigil's own too): the
  // simulator counts it in monitoring mode.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.vigil.protected) reply.header('x-vigil-would-action', request.vigil.wouldAction);
    done(null, payload);
  });

  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE_HTML));
  // Passport answers 302 both ways; Vigil needs no outcome option for it: back to the
  // form (`/login?error=1`) is a failed login, a user signed in on the request a success.
  // `authenticate` in the route's own preValidation: Vigil's hook runs before it.
  app.get('/login', async (request, reply) => reply.type('text/html; charset=utf-8').send(loginPage('error' in (request.query ?? {}))));
  app.post('/login', { preValidation: passport.authenticate('local', { successRedirect: '/account', failureRedirect: '/login?error=1' }) }, async () => ({}));
  app.get('/account', async (request, reply) => {
    const page = accountPage(request.user);
    return page === undefined ? reply.redirect('/login') : reply.type('text/html; charset=utf-8').send(page);
  });
  for (const path of ['/api/register', '/api/login', '/api/password-reset']) {
    app.post(path, async (request, reply) => {
      const { status, body } = handleApi(users, path, request.body);
      return reply.code(status).send(body);
    });
  }
  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await buildApp();
  await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
  const { port } = app.server.address();
  // One line on stdout, parsed by the simulator when it spawns this server.
  console.log(JSON.stringify({ listening: `http://127.0.0.1:${port}`, mode: app.vigil.mode }));
  const stop = () => app.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
