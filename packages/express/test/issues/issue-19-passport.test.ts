// Issue 19: a server-rendered login with Passport (passport-local + express-session)
// answers 302 to a right and to a wrong password alike. Vigil must tell them apart from
// the response — the redirect's target, the user signed in on the request — so that
// brute force and stuffing are stopped as early as on a JSON login, and a person who
// mistypes once is never challenged. Real libraries, a real server on loopback, the
// embedded engine in blocking mode with its default settings.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { localProvider, MemoryStore, type ProviderEvent } from '@vigil/core';
import { bruteForce, type LoginForm, outcomesLogged, reachedApp, stuffing, typoThenLogin } from '@vigil/core/testing';
import express from 'express';
import session from 'express-session';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import { afterEach, describe, expect, it } from 'vitest';
import { vigil } from '../../src/index.js';

const USERS = new Map([
  ['alice@example.com', 'correct horse battery staple'],
  ['bob@example.com', 'hunter2 hunter2'],
]);

interface Setup {
  /** The route the form posts to, and Passport's redirects. */
  path: string;
  successRedirect: string;
  failureRedirect: string;
  /** An app-wide `outcome` option, e.g. to reproduce the status-only behaviour. */
  outcome?: Record<string, unknown>;
  /** The app also reports each attempt itself, with guard.trackLogin(req). */
  explicit?: boolean;
  /** An API-token strategy authenticating every request (`{ session: false }`), mounted after Vigil. */
  tokens?: boolean;
}

const servers: Server[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** The passport-local example app, protected by Vigil in blocking mode; `logged` collects the outcomes the engine was given. */
async function passportApp(setup: Setup): Promise<{ form: LoginForm; logged: ProviderEvent[]; guard: ReturnType<typeof vigil> }> {
  const engine = localProvider({ store: new MemoryStore(), secret: 'issue-19-engine-secret-0123456789' });
  const logged: ProviderEvent[] = [];
  const log = engine.log.bind(engine);
  engine.log = async (event) => {
    logged.push(event);
    return log(event);
  };
  const guard = vigil({
    mode: 'blocking',
    provider: engine,
    routes: [{ method: 'POST', path: setup.path, event: '$login', user: { email: 'body.email' } }],
    // The tests' stand-in for a CAPTCHA page: a challenged attempt is answered 429.
    onChallenge: ({ raw }) => {
      raw.res.status(429).send('challenge');
    },
    ...(setup.outcome === undefined ? {} : { outcome: setup.outcome }),
  });
  closers.push(() => guard.close());

  const auth = new passport.Passport();
  auth.use(
    new LocalStrategy({ usernameField: 'email' }, (email, password, done) => {
      done(null, USERS.get(email) === password ? { id: email } : false);
    }),
  );
  auth.serializeUser((user: Express.User, done) => done(null, (user as { id: string }).id));
  auth.deserializeUser((id: string, done) => done(null, { id }));

  const app = express();
  app.use(express.urlencoded({ extended: false }));
  // express-session's defaults (saveUninitialized: true): every page view has a session.
  app.use(session({ secret: 'issue-19-session-secret', resave: false, saveUninitialized: true }));
  app.use(guard);
  app.use(auth.initialize());
  app.use(auth.session());
  if (setup.tokens) {
    // What passport-http-bearer does: success() for a known token, pass() otherwise.
    auth.use('token', {
      name: 'token',
      authenticate(this: { success(user: unknown): void; pass(): void }, req: express.Request) {
        if (req.get('x-api-token') === 'attackers-own-token') this.success({ id: 'attacker@example.com' });
        else this.pass();
      },
    } as unknown as passport.Strategy);
    app.use((req, res, next) => auth.authenticate('token', { session: false })(req, res, next));
  }
  app.get('/login', (_req, res) => {
    res.type('html').send('<form method="post"><input name="email"><input name="password" type="password"></form>');
  });
  if (setup.explicit) {
    // A custom callback, reporting the outcome itself through the middleware.
    app.post(setup.path, (req, res, next) => {
      auth.authenticate('local', async (err: unknown, user: Express.User | false) => {
        if (err) return next(err);
        await guard.trackLogin(req, { success: user !== false, email: req.body.email, properties: { explicit: true } });
        if (user === false) return res.redirect(setup.failureRedirect);
        req.logIn(user, (error) => (error ? next(error) : res.redirect(setup.successRedirect)));
      })(req, res, next);
    });
  } else {
    app.post(setup.path, auth.authenticate('local', { successRedirect: setup.successRedirect, failureRedirect: setup.failureRedirect }));
  }
  app.get('/account', (req, res) => {
    res.send(req.isAuthenticated() ? 'account' : 'not signed in');
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { form: { origin, path: setup.path, page: '/login' }, logged, guard };
}

const STACKS: Setup[] = [
  // passport-local's own example: the form posts below the page it came from.
  { path: '/login/password', successRedirect: '/', failureRedirect: '/login' },
  { path: '/login', successRedirect: '/account', failureRedirect: '/login?error=1' },
  { path: '/auth/login', successRedirect: '/account', failureRedirect: '/login' },
];

describe('issue 19: Passport on Express, redirects both ways', () => {
  for (const stack of STACKS) {
    const name = `POST ${stack.path} (failureRedirect ${stack.failureRedirect})`;

    it(`${name}: each wrong password is a failure, the right one a success`, async () => {
      const { form, logged } = await passportApp(stack);
      const { typo, login } = await typoThenLogin(form, { account: 'alice@example.com', password: USERS.get('alice@example.com') as string });
      expect([typo.status, typo.location]).toEqual([302, stack.failureRedirect]);
      expect([login.status, login.location]).toEqual([302, stack.successRedirect]);
      await outcomesLogged(logged, 2);
      expect(logged.map((e) => [e.status, e.responseStatus])).toEqual([
        ['$failed', 302],
        ['$succeeded', 302],
      ]);
    });

    it(`${name}: brute force on one account from one address is stopped within 10 attempts`, async () => {
      const { form } = await passportApp(stack);
      const run = await bruteForce(form, { account: 'alice@example.com', attempts: 30 });
      expect(run.attempts.slice(0, -1).every((a) => a.status === 302 && a.location === stack.failureRedirect)).toBe(true);
      if (process.env.VIGIL_FIGURES) console.log("FIG", name, expect.getState().currentTestName, run.stoppedAt);
      expect(run.stoppedAt).toBeDefined();
      expect(run.stoppedAt).toBeLessThanOrEqual(10);
    });

    it(`${name}: stuffing 30 accounts from one address is stopped within 10 attempts`, async () => {
      const { form } = await passportApp(stack);
      const accounts = Array.from({ length: 30 }, (_, i) => `victim${i}@example.org`);
      const run = await stuffing(form, { accounts });
      if (process.env.VIGIL_FIGURES) console.log("FIG", name, expect.getState().currentTestName, run.stoppedAt);
      expect(run.stoppedAt).toBeDefined();
      expect(run.stoppedAt).toBeLessThanOrEqual(10);
    });

    it(`${name}: a person who mistypes once then logs in is never challenged, and is signed in`, async () => {
      const { form } = await passportApp(stack);
      for (const [account, password] of USERS) {
        const { typo, login } = await typoThenLogin(form, { account, password });
        expect(typo.stopped).toBe(false);
        expect(login.stopped).toBe(false);
        expect(login.location).toBe(stack.successRedirect);
      }
    });
  }

  it('an attacker signed into their own account keeps that session while brute-forcing another: still failures, stopped', async () => {
    // Vigil is mounted before passport.session(): when it decides, the attacker's session
    // is not loaded yet; when the response finishes, it is. That is no sign-in.
    const stack = STACKS[1] as Setup;
    const { form, logged } = await passportApp(stack);
    const { login } = await typoThenLogin(form, { account: 'bob@example.com', password: USERS.get('bob@example.com') as string });
    const session = login.setCookies.find((line) => line.startsWith('connect.sid='))?.split(';')[0];
    expect(session).toBeDefined();
    const run = await bruteForce({ ...form, headers: { cookie: session as string } }, { account: 'alice@example.com', attempts: 30 });
    expect(run.stoppedAt).toBeLessThanOrEqual(10);
    const alice = await outcomesLogged(logged, reachedApp(run), (e) => e.user.email === 'alice@example.com');
    expect(alice.length).toBeGreaterThan(0);
    expect(alice.map((e) => e.status)).toEqual(alice.map(() => '$failed'));
  });

  it('an attacker sending their own API token (a strategy authenticating every request, session: false): still failures, stopped', async () => {
    const stack = STACKS[1] as Setup;
    const { form, logged } = await passportApp({ ...stack, tokens: true });
    const run = await bruteForce({ ...form, headers: { 'x-api-token': 'attackers-own-token' } }, { account: 'alice@example.com', attempts: 30 });
    expect(run.stoppedAt).toBeLessThanOrEqual(10);
    const alice = await outcomesLogged(logged, reachedApp(run), (e) => e.user.email === 'alice@example.com');
    expect(alice.length).toBeGreaterThan(0);
    expect(alice.map((e) => e.status)).toEqual(alice.map(() => '$failed'));
  });

  it('guard.trackLogin(req) on the decided request replaces the automatic outcome, as req.vigil.trackLogin does', async () => {
    const stack = STACKS[1] as Setup;
    const { form, logged, guard } = await passportApp({ ...stack, explicit: true });
    await typoThenLogin(form, { account: 'alice@example.com', password: USERS.get('alice@example.com') as string });
    await outcomesLogged(logged, 2);
    expect(guard).toBeDefined();
    expect(logged.map((e) => [e.status, e.properties?.explicit ?? false])).toEqual([
      ['$failed', true],
      ['$succeeded', true],
    ]);
  });

  it('a script presenting a made-up session cookie gets a fresh one on every failure, and is stopped all the same', async () => {
    // express-session (saveUninitialized: true) answers an unknown connect.sid with a new
    // session and its Set-Cookie, wrong password or not: a "rotation" the client caused.
    const stack = STACKS[0] as Setup;
    const { form } = await passportApp(stack);
    const run = await bruteForce({ ...form, headers: { cookie: 'connect.sid=s%3Ajunk.bad' } }, { account: 'alice@example.com', attempts: 30 });
    expect(run.attempts[0]?.location).toBe(stack.failureRedirect);
    expect(run.stoppedAt).toBeDefined();
    expect(run.stoppedAt).toBeLessThanOrEqual(10);
  });

  it('status alone (every 3xx a success, as before this issue) lets a brute force run far longer', async () => {
    // What the status-only rules did: each wrong password's 302 counted as a success,
    // resetting the account's failures. The figure goes in the note.
    const stack = STACKS[0] as Setup;
    const before = await passportApp({ ...stack, outcome: { redirect: false, session: false, classify: () => 'succeeded' } });
    const after = await passportApp(stack);
    const [was, now] = [await bruteForce(before.form, { account: 'alice@example.com' }), await bruteForce(after.form, { account: 'alice@example.com' })];
    if (process.env.VIGIL_FIGURES) console.log("FIG before/after", was.stoppedAt, now.stoppedAt);
    expect(now.stoppedAt).toBeLessThanOrEqual(10);
    expect(was.stoppedAt === undefined || was.stoppedAt > (now.stoppedAt as number)).toBe(true);
  });
});

describe('issue 19: hand-written form logins, no Passport', () => {
  /** POST /login: a right password goes on to a second step on the same page (`/login?step=otp`), a wrong one back with an error. */
  async function twoStepApp() {
    const engine = localProvider({ store: new MemoryStore(), secret: 'issue-19-engine-secret-0123456789' });
    const guard = vigil({
      mode: 'blocking',
      provider: engine,
      routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }],
      onChallenge: ({ raw }) => {
        raw.res.status(429).send('challenge');
      },
    });
    closers.push(() => guard.close());
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.use(guard);
    app.get('/login', (_req, res) => {
      res.type('html').send('<form method="post"></form>');
    });
    app.post('/login', (req, res) => {
      res.redirect(303, USERS.get(req.body.email) === req.body.password ? '/login?step=otp' : '/login?error=1');
    });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    servers.push(server);
    return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, path: '/login' };
  }

  it('a right password sent on to the second step (/login?step=otp) is no failure: ten logins, never challenged', async () => {
    const form = await twoStepApp();
    for (let i = 0; i < 10; i++) {
      const { typo, login } = await typoThenLogin(form, { account: 'alice@example.com', password: USERS.get('alice@example.com') as string });
      expect([typo.status, typo.location, typo.stopped]).toEqual([303, '/login?error=1', false]);
      expect([login.status, login.location, login.stopped]).toEqual([303, '/login?step=otp', false]);
    }
  });

  it('wrong passwords sent back with an error are failures: stopped within 10', async () => {
    const run = await bruteForce(await twoStepApp(), { account: 'alice@example.com', attempts: 30 });
    expect(run.stoppedAt).toBeLessThanOrEqual(10);
  });
});
