// Issue 19 on Nest: @nestjs/passport's local strategy behind AuthGuard('local'), as
// Nest's docs build it — a JSON API answering 401 to a wrong password (which must keep
// working), and a server-rendered variant with express-session that signs the user in
// (`super.logIn`) and redirects both ways (a filter sends an UnauthorizedException back
// to `/login?error=1`). Real libraries, a real server on loopback, the embedded engine
// in blocking mode with its default settings.
import { type ArgumentsHost, Catch, Controller, type ExceptionFilter, type ExecutionContext, Get, Injectable, Post, Redirect, Req, UnauthorizedException, UseFilters, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthGuard, PassportModule, PassportStrategy } from '@nestjs/passport';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { localProvider, MemoryStore, type ProviderEvent } from '@vigil/core';
import { bruteForce, type LoginForm, outcomesLogged, reachedApp, stuffing, typoThenLogin } from '@vigil/core/testing';
import session from 'express-session';
import passport from 'passport';
import { Strategy } from 'passport-local';
import { afterEach, describe, expect, it } from 'vitest';
import { Protect, VigilGuard, VigilModule } from '../../src/index.js';
import { createApp } from '../helpers.js';

const USERS = new Map([
  ['alice@example.com', 'correct horse battery staple'],
  ['bob@example.com', 'hunter2 hunter2'],
]);

@Injectable()
class LocalStrategy extends PassportStrategy(Strategy) {
  constructor() {
    super({ usernameField: 'email' });
  }
  validate(email: string, password: string): { id: string } {
    if (USERS.get(email) !== password) throw new UnauthorizedException();
    return { id: email };
  }
}

/** Signs the user in to the session once the strategy accepted them (Nest's session recipe). */
@Injectable()
class SessionLoginGuard extends AuthGuard('local') {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const result = (await super.canActivate(context)) as boolean;
    await super.logIn(context.switchToHttp().getRequest());
    return result;
  }
}

/** The server-rendered form's failure: back to the form with an error. */
@Catch(UnauthorizedException)
class BackToForm implements ExceptionFilter {
  catch(_error: UnauthorizedException, host: ArgumentsHost): void {
    host.switchToHttp().getResponse().redirect(302, '/login?error=1');
  }
}

@Controller()
class AuthController {
  @Get('login')
  page(): string {
    return '<form method="post"><input name="email"><input name="password" type="password"></form>';
  }

  @UseGuards(AuthGuard('local'))
  @Post('api/login')
  api(@Req() request: { user: unknown }): unknown {
    return { user: request.user };
  }

  @UseGuards(SessionLoginGuard)
  @UseFilters(BackToForm)
  @Post('login')
  @Redirect('/account', 302)
  form(): void {}

  // Protected by its decorator rather than the routes list: AuthGuard('local') throwing
  // on a wrong password keeps Nest's interceptors from running at all.
  @Protect('$login', { user: { email: 'body.email' } })
  @UseGuards(AuthGuard('local'))
  @Post('decorated/login')
  decorated(@Req() request: { user: unknown }): unknown {
    return { user: request.user };
  }
}

const apps: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function nestApp(): Promise<{ origin: string; logged: ProviderEvent[] }> {
  const engine = localProvider({ store: new MemoryStore(), secret: 'issue-19-engine-secret-0123456789' });
  const logged: ProviderEvent[] = [];
  const log = engine.log.bind(engine);
  engine.log = async (event) => {
    logged.push(event);
    return log(event);
  };
  passport.serializeUser((user: unknown, done) => done(null, (user as { id: string }).id));
  passport.deserializeUser((id: string, done) => done(null, { id }));
  const app = (await createApp('express', {
    imports: [
      PassportModule.register({ session: false }),
      VigilModule.forRoot({
        mode: 'blocking',
        provider: engine,
        routes: [
          { method: 'POST', path: '/api/login', event: '$login', user: { email: 'body.email' } },
          { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } },
        ],
        // The tests' stand-in for a CAPTCHA page: a challenged attempt is answered 429.
        onChallenge: ({ raw }) => {
          (raw.response as { status(code: number): { send(body: string): void } }).status(429).send('challenge');
        },
      }),
    ],
    controllers: [AuthController],
    providers: [LocalStrategy, { provide: APP_GUARD, useClass: VigilGuard }],
  })) as NestExpressApplication;
  apps.push(app);
  app.use(session({ secret: 'issue-19-session-secret', resave: false, saveUninitialized: true }));
  app.use(passport.session());
  await app.listen(0, '127.0.0.1');
  return { origin: await app.getUrl().then((url) => url.replace('[::1]', '127.0.0.1')), logged };
}


describe('issue 19: @nestjs/passport on Express', () => {
  const variants: [string, (origin: string) => LoginForm, { failed: [number, string | undefined]; succeeded: [number, string | undefined] }][] = [
    ['JSON API (AuthGuard answers 401)', (origin) => ({ origin, path: '/api/login', page: '/login' }), { failed: [401, undefined], succeeded: [201, undefined] }],
    ['server-rendered form (session login, redirects both ways)', (origin) => ({ origin, path: '/login' }), { failed: [302, '/login?error=1'], succeeded: [302, '/account'] }],
    ['@Protect() route behind AuthGuard (401)', (origin) => ({ origin, path: '/decorated/login', page: '/login' }), { failed: [401, undefined], succeeded: [201, undefined] }],
  ];
  for (const [name, formOf, answers] of variants) {
    it(`${name}: a wrong password is a failure, the right one a success`, async () => {
      const { origin, logged } = await nestApp();
      const { typo, login } = await typoThenLogin(formOf(origin), { account: 'alice@example.com', password: USERS.get('alice@example.com') as string });
      expect([typo.status, typo.location]).toEqual(answers.failed);
      expect([login.status, login.location]).toEqual(answers.succeeded);
      await outcomesLogged(logged, 2);
      expect(logged.map((e) => [e.status, e.responseStatus])).toEqual([
        ['$failed', answers.failed[0]],
        ['$succeeded', answers.succeeded[0]],
      ]);
    });

    it(`${name}: brute force and stuffing from one address are stopped within 10 attempts`, async () => {
      const brute = await bruteForce(formOf((await nestApp()).origin), { account: 'alice@example.com', attempts: 30 });
      const stuffed = await stuffing(formOf((await nestApp()).origin), { accounts: Array.from({ length: 30 }, (_, i) => `victim${i}@example.org`) });
      if (process.env.VIGIL_FIGURES) console.log('FIG nest', name, brute.stoppedAt, stuffed.stoppedAt);
      expect(brute.stoppedAt).toBeDefined();
      expect(brute.stoppedAt).toBeLessThanOrEqual(10);
      expect(stuffed.stoppedAt).toBeDefined();
      expect(stuffed.stoppedAt).toBeLessThanOrEqual(10);
    });

    it(`${name}: a person who mistypes once then logs in is never challenged`, async () => {
      const { origin } = await nestApp();
      for (const [account, password] of USERS) {
        const { typo, login } = await typoThenLogin(formOf(origin), { account, password });
        expect(typo.stopped).toBe(false);
        expect(login.stopped).toBe(false);
        expect([login.status, login.location]).toEqual(answers.succeeded);
      }
    });
  }
});
