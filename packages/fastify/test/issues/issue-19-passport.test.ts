// Issue 19 on Fastify: @fastify/passport with @fastify/secure-session, the form login
// its README shows — `{ preValidation: passport.authenticate('local', { successRedirect,
// failureRedirect }) }` — answers 302 to a right and to a wrong password alike. Vigil
// decides before that hook, and tells the two apart from the response (the redirect's
// target, the user signed in on the request). Real libraries, a real server on
// loopback, the embedded engine in blocking mode with its default settings.
import formbody from '@fastify/formbody';
import { Authenticator } from '@fastify/passport';
import secureSession from '@fastify/secure-session';
import { localProvider, MemoryStore, type ProviderEvent } from '@vigil/core';
import { bruteForce, type LoginForm, outcomesLogged, reachedApp, stuffing, typoThenLogin } from '@vigil/core/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { Strategy as LocalStrategy } from 'passport-local';
import { afterEach, describe, expect, it } from 'vitest';
import { vigil } from '../../src/index.js';

const USERS = new Map([
  ['alice@example.com', 'correct horse battery staple'],
  ['bob@example.com', 'hunter2 hunter2'],
]);

interface Setup {
  path: string;
  successRedirect: string;
  failureRedirect: string;
  outcome?: Record<string, unknown>;
}

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function passportApp(setup: Setup): Promise<{ form: LoginForm; logged: ProviderEvent[]; decided: string[] }> {
  const engine = localProvider({ store: new MemoryStore(), secret: 'issue-19-engine-secret-0123456789' });
  const logged: ProviderEvent[] = [];
  const log = engine.log.bind(engine);
  engine.log = async (event) => {
    logged.push(event);
    return log(event);
  };
  // The order the hooks ran in on each login: Vigil's decision must come before the password check.
  const decided: string[] = [];
  const app = Fastify({ logger: false });
  apps.push(app);
  await app.register(formbody);
  await app.register(secureSession, { key: Buffer.alloc(32, 'issue-19-key'), cookie: { path: '/', httpOnly: true } });
  const passport = new Authenticator();
  await app.register(passport.initialize());
  await app.register(passport.secureSession());
  passport.use(
    'local',
    new LocalStrategy({ usernameField: 'email' }, (email, password, done) => {
      decided.push(`checked ${email}`);
      done(null, USERS.get(email) === password ? { id: email } : false);
    }),
  );
  passport.registerUserSerializer(async (user: { id: string }) => user.id);
  passport.registerUserDeserializer(async (id: string) => ({ id }));
  await app.register(vigil, {
    mode: 'blocking',
    provider: engine,
    routes: [
      { method: 'POST', path: setup.path, event: '$login', user: { email: 'body.email' } },
      // A sign-in by GET (a magic link, an OAuth-style callback): decided in onRequest,
      // before secureSession() loads the session in preValidation.
      { method: 'GET', path: '/auth/magic', event: '$login', user: { email: 'query.email' } },
    ],
    // The tests' stand-in for a CAPTCHA page: a challenged attempt is answered 429.
    onChallenge: ({ raw }) => raw.reply.code(429).send('challenge'),
    onDecision: (decision) => {
      decided.push(`decided ${decision.action}`);
    },
    ...(setup.outcome === undefined ? {} : { outcome: setup.outcome }),
  });
  app.get('/login', async (_request, reply) => reply.type('text/html').send('<form method="post"><input name="email"><input name="password" type="password"></form>'));
  app.post(setup.path, { preValidation: passport.authenticate('local', { successRedirect: setup.successRedirect, failureRedirect: setup.failureRedirect }) }, async () => ({}));
  app.get('/account', async (request) => (request.isAuthenticated() ? 'account' : 'not signed in'));
  app.get('/auth/magic', { preValidation: passport.authenticate('local', { successRedirect: '/account', failureRedirect: '/login?error=1' }) }, async () => ({}));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address() as { port: number };
  return { form: { origin: `http://127.0.0.1:${address.port}`, path: setup.path, page: '/login' }, logged, decided };
}

const STACKS: Setup[] = [
  { path: '/login', successRedirect: '/', failureRedirect: '/login' },
  { path: '/login/password', successRedirect: '/account', failureRedirect: '/login?error=1' },
  { path: '/auth/login', successRedirect: '/account', failureRedirect: '/login' },
];

describe('issue 19: @fastify/passport, redirects both ways', () => {
  for (const stack of STACKS) {
    const name = `POST ${stack.path} (failureRedirect ${stack.failureRedirect})`;

    it(`${name}: Vigil decides before the password is checked; a wrong password is a failure, the right one a success`, async () => {
      const { form, logged, decided } = await passportApp(stack);
      const { typo, login } = await typoThenLogin(form, { account: 'alice@example.com', password: USERS.get('alice@example.com') as string });
      expect([typo.status, typo.location]).toEqual([302, stack.failureRedirect]);
      expect([login.status, login.location]).toEqual([302, stack.successRedirect]);
      expect(decided).toEqual(['decided allow', 'checked alice@example.com', 'decided allow', 'checked alice@example.com']);
      await outcomesLogged(logged, 2);
      expect(logged.map((e) => [e.status, e.responseStatus])).toEqual([
        ['$failed', 302],
        ['$succeeded', 302],
      ]);
    });

    it(`${name}: brute force on one account from one address is stopped within 10 attempts, before the password is checked`, async () => {
      const { form, decided } = await passportApp(stack);
      const run = await bruteForce(form, { account: 'alice@example.com', attempts: 30 });
      if (process.env.VIGIL_FIGURES) console.log('FIG fastify brute', stack.path, run.stoppedAt);
      expect(run.stoppedAt).toBeDefined();
      expect(run.stoppedAt).toBeLessThanOrEqual(10);
      // The stopped attempt never reached the strategy.
      expect(decided.filter((d) => d.startsWith('checked'))).toHaveLength((run.stoppedAt as number) - 1);
    });

    it(`${name}: stuffing 30 accounts from one address is stopped within 10 attempts`, async () => {
      const { form } = await passportApp(stack);
      const run = await stuffing(form, { accounts: Array.from({ length: 30 }, (_, i) => `victim${i}@example.org`) });
      if (process.env.VIGIL_FIGURES) console.log('FIG fastify stuffing', stack.path, run.stoppedAt);
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

  it('an attacker signed into their own account, brute-forcing another through a GET sign-in: failures, stopped', async () => {
    const { form, logged } = await passportApp(STACKS[0] as Setup);
    const { login } = await typoThenLogin(form, { account: 'bob@example.com', password: USERS.get('bob@example.com') as string });
    const session = login.setCookies.find((line) => line.startsWith('session='))?.split(';')[0];
    expect(session).toBeDefined();
    let stoppedAt: number | undefined;
    for (let i = 1; i <= 30 && stoppedAt === undefined; i++) {
      const url = `${form.origin}/auth/magic?email=alice%40example.com&password=guess-${i}`;
      const res = await fetch(url, { redirect: 'manual', headers: { cookie: session as string, 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0', accept: 'text/html', 'accept-language': 'en', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
      await res.arrayBuffer();
      if (res.status === 403 || res.status === 429) stoppedAt = i;
      else expect(res.headers.get('location')).toBe('/login?error=1');
    }
    expect(stoppedAt).toBeLessThanOrEqual(10);
    const alice = await outcomesLogged(logged, (stoppedAt as number) - 1, (e) => e.user.email === 'alice@example.com');
    expect(alice.length).toBeGreaterThan(0);
    expect(alice.map((e) => e.status)).toEqual(alice.map(() => '$failed'));
  });

  it('status alone (every 3xx a success, as before this issue) lets a brute force run far longer', async () => {
    const stack = STACKS[0] as Setup;
    const before = await passportApp({ ...stack, outcome: { redirect: false, session: false, classify: () => 'succeeded' } });
    const after = await passportApp(stack);
    const [was, now] = [await bruteForce(before.form, { account: 'alice@example.com' }), await bruteForce(after.form, { account: 'alice@example.com' })];
    if (process.env.VIGIL_FIGURES) console.log('FIG fastify before/after', was.stoppedAt, now.stoppedAt);
    expect(now.stoppedAt).toBeLessThanOrEqual(10);
    expect(was.stoppedAt === undefined || was.stoppedAt > (now.stoppedAt as number)).toBe(true);
  });
});
