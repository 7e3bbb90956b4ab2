// What the Express, Fastify and NestJS examples share, so that each example file shows
// only how its framework wires Vigil in. Plain ESM with JSDoc: read it, copy it.
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/** Accounts every example starts with. */
export const DEMO_ACCOUNTS = Object.freeze([
  { email: 'alice@example.com', password: 'correct horse battery staple' },
  { email: 'bob@example.com', password: 'hunter2-but-longer' },
]);

/**
 * An in-memory user database with salted scrypt hashes. Low cost parameters: a demo
 * and a load-test target, not a production credential store.
 */
export function createUserStore(seed = DEMO_ACCOUNTS) {
  const users = new Map();
  const hash = (password, salt = randomBytes(16)) => ({ salt, hash: scryptSync(password, salt, 32, { N: 1024 }) });
  const normalize = (email) => (typeof email === 'string' ? email.trim().toLowerCase() : '');
  for (const { email, password } of seed) users.set(normalize(email), hash(password));
  return {
    /** @returns {'created' | 'taken' | 'invalid'} */
    register(email, password) {
      const key = normalize(email);
      if (!key.includes('@') || typeof password !== 'string' || password.length < 8) return 'invalid';
      if (users.has(key)) return 'taken';
      users.set(key, hash(password));
      return 'created';
    },
    /** @returns {boolean} whether the credentials are right */
    login(email, password) {
      const user = users.get(normalize(email));
      if (!user || typeof password !== 'string') return false;
      return timingSafeEqual(hash(password, user.salt).hash, user.hash);
    },
    get size() {
      return users.size;
    },
  };
}

/**
 * The example apps' routes, one contract for all three frameworks (and the simulator):
 * `POST /api/register {email, password}` → 201 `{ ok: true }` (409 taken, 400 invalid);
 * `POST /api/login {email, password}` → 200 `{ ok: true }` or 401 `{ ok: false }`;
 * `POST /api/password-reset {email}` → 202 `{ ok: true }`. Forms post the same fields.
 * Returns `{ status, body }` for the framework to send.
 */
export function handleApi(users, path, body) {
  const email = body?.email;
  const password = body?.password;
  if (path === '/api/register') {
    const result = users.register(email, password);
    if (result === 'created') return { status: 201, body: { ok: true } };
    return result === 'taken' ? { status: 409, body: { ok: false, error: 'email already registered' } } : { status: 400, body: { ok: false, error: 'an email and a password of 8+ characters' } };
  }
  if (path === '/api/login') return users.login(email, password) ? { status: 200, body: { ok: true } } : { status: 401, body: { ok: false } };
  if (path === '/api/password-reset') return { status: 202, body: { ok: true } };
  return { status: 404, body: { ok: false, error: 'not found' } };
}

/**
 * The routes Vigil protects in every example: the JSON API, and the server-rendered
 * sign-in form (`POST /login`, checked by Passport, which redirects to `/account` or
 * back to `/login?error=1`: Vigil's default outcome rules tell the two apart).
 */
export const PROTECTED_ROUTES = Object.freeze([
  { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } },
  { method: 'POST', path: '/api/login', event: '$login', user: { email: 'body.email' } },
  { method: 'POST', path: '/api/register', event: '$registration', user: { email: 'body.email' } },
  { method: 'POST', path: '/api/password-reset', event: '$password_reset_request', user: { email: 'body.email' } },
]);

/**
 * Vigil's options from the environment: `VIGIL_MODE` (monitoring | blocking, default
 * monitoring), `VIGIL_REDIRECT_URL` (blocks become redirects), `VIGIL_SECRET` (keys
 * identifiers in the store; needed alike on every instance sharing Redis). Loopback
 * proxies are trusted so that a local load balancer, or the simulator, can speak for
 * many clients through `X-Forwarded-For`.
 */
export function vigilOptionsFromEnv(env = process.env) {
  return {
    mode: env.VIGIL_MODE ?? 'monitoring',
    ...(env.VIGIL_REDIRECT_URL ? { redirectUrl: env.VIGIL_REDIRECT_URL } : {}),
    ip: { trustedProxies: ['127.0.0.1', '::1'] },
  };
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Passport's `LocalStrategy` verify callback over the demo user database: the user
 * (`{ id, email }`, the id from `userIdOf`) when the password is right, `false` when not.
 */
export function verifyLogin(users, userIdOf) {
  return (email, password, done) => {
    if (!users.login(email, password)) return done(null, false);
    return done(null, { id: userIdOf(email), email: String(email).trim().toLowerCase() });
  };
}

/**
 * The server-rendered sign-in page (`GET /login`), posting to `POST /login`; with
 * `error`, it says the last attempt failed (Passport's `failureRedirect` is `/login?error=1`).
 */
export function loginPage(error = false) {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in — Vigil demo</title></head><body>
<h1>Sign in</h1>${error ? '<p role="alert">Wrong email or password.</p>' : ''}
<form method="post" action="/login"><label>Email <input name="email" type="email" autocomplete="username" required></label><label>Password <input name="password" type="password" autocomplete="current-password" required></label><button>Sign in</button></form>
<p><a href="/">The JSON API's forms</a></p></body></html>`;
}

/** The page a signed-in user lands on (`GET /account`), or undefined when nobody is signed in. */
export function accountPage(user) {
  if (!user || typeof user.email !== 'string') return undefined;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Your account — Vigil demo</title></head><body><h1>Signed in</h1><p>as ${escape(user.email)}</p></body></html>`;
}

/**
 * The session secret: `SESSION_SECRET`, else a dev-only one (in this file for anyone to
 * read: a local demo only, never a deployment).
 */
export function sessionSecretFromEnv(env = process.env) {
  return env.SESSION_SECRET || 'vigil-examples-dev-only-session-secret-never-deploy';
}

/** The demo page: login, sign-up and password-reset forms posting to the JSON API paths. */
export const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigil demo</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}form{border:1px solid #ddd;padding:1rem;margin:1rem 0;border-radius:.5rem}input{display:block;margin:.5rem 0;padding:.4rem;width:100%}</style>
</head><body>
<h1>Vigil demo</h1>
<p>Demo accounts: <code>alice@example.com</code> / <code>correct horse battery staple</code>. A server-rendered sign-in (Passport, sessions): <a href="/login">/login</a>.</p>
<form method="post" action="/api/login"><h2>Log in</h2><input name="email" type="email" placeholder="email" required><input name="password" type="password" placeholder="password" required><button>Log in</button></form>
<form method="post" action="/api/register"><h2>Sign up</h2><input name="email" type="email" placeholder="email" required><input name="password" type="password" placeholder="password (8+ characters)" required><button>Sign up</button></form>
<form method="post" action="/api/password-reset"><h2>Reset password</h2><input name="email" type="email" placeholder="email" required><button>Send reset link</button></form>
</body></html>`;

/**
 * The secret the examples fall back to when `VIGIL_SECRET` is not set and they run on
 * Redis, so that `REDIS_URL=redis://127.0.0.1:6379 pnpm start` works out of the box.
 * It is in this file for anyone to read: for a demo on one machine only, never for a
 * deployment (set `VIGIL_SECRET` to a long random string there).
 */
export const DEV_ONLY_SECRET = 'vigil-examples-dev-only-secret-never-deploy-this';

/**
 * The store for the engine: Redis when `REDIS_URL` is set (a fleet shares counters and
 * block lists), the in-process memory store otherwise. `@vigil/redis` is loaded only
 * when needed. A shared store needs the same `secret` on every instance (Vigil refuses
 * to start without one): `VIGIL_SECRET`, else {@link DEV_ONLY_SECRET} with a warning.
 */
export async function providerFromEnv(localProvider, env = process.env) {
  if (!env.REDIS_URL) return undefined;
  const { RedisStore } = await import('@vigil/redis');
  if (!env.VIGIL_SECRET) {
    console.warn('VIGIL_SECRET is not set: the example uses its dev-only secret, which anyone can read in examples/shared/index.mjs. Set VIGIL_SECRET (the same on every instance) for anything but a local demo.');
  }
  return localProvider({
    store: new RedisStore({ url: env.REDIS_URL, ...(env.VIGIL_REDIS_PREFIX ? { prefix: env.VIGIL_REDIS_PREFIX } : {}) }),
    secret: env.VIGIL_SECRET || DEV_ONLY_SECRET,
  });
}
