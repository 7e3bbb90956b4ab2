import { type ArgumentsHost, type CanActivate, Catch, Controller, type ExceptionFilter, type ExecutionContext, Get, HttpCode, Inject, Injectable, Module, Post, UseGuards } from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { type Decision, VigilConfigError } from '@vigil/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import request from 'supertest';
import { describe, expect, it } from 'vitest';
import {
  Protect,
  VigilBlockedException,
  type VigilChallengeContext,
  VigilDecision,
  VigilExceptionFilter,
  VigilGuard,
  VigilHandledException,
  VigilModule,
  VigilService,
} from '../src/index.js';
import { CapturingLogger, createApp, PLATFORMS, recordingProvider, summary } from './helpers.js';

const SETTINGS = 'SETTINGS';

@Module({ providers: [{ provide: SETTINGS, useValue: { mode: 'blocking' } }], exports: [SETTINGS] })
class SettingsModule {}

// Answers 418 itself when asked to, and lets the request go on: a response already
// started before Vigil's guard runs.
@Injectable()
class EarlyAnswerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const req = http.getRequest<{ headers: Record<string, string> }>();
    if (req.headers['x-answer-early']) http.getResponse().status(418).send('early');
    return true;
  }
}

@Controller('guarded')
@UseGuards(VigilGuard)
class GuardedController {
  constructor(@Inject(VigilService) private readonly service: VigilService) {}

  @Post('login')
  @HttpCode(200)
  @Protect('$login')
  login(@VigilDecision() decision: Decision) {
    return { decision: summary(decision), mode: this.service.vigil.mode };
  }
}

@Controller('early')
class EarlyController {
  // Guards run in order: EarlyAnswerGuard answers, then Vigil blocks.
  @Post()
  @HttpCode(200)
  @UseGuards(EarlyAnswerGuard, VigilGuard)
  @Protect('$login')
  early() {
    return { ok: true };
  }
}

@Controller('unguarded')
class UnguardedController {
  @Post('login')
  @HttpCode(200)
  login(@VigilDecision() decision: Decision) {
    return { decision: summary(decision) };
  }
}

@Controller('feature')
@UseGuards(VigilGuard)
class FeatureController {
  @Post('login')
  @HttpCode(200)
  @Protect('$login')
  login(@VigilDecision() decision: Decision) {
    return { decision: summary(decision) };
  }
}

// Does not import VigilModule: it relies on isGlobal.
@Module({ controllers: [FeatureController] })
class FeatureModule {}

@Controller()
class EngineController {
  @Post('login')
  @HttpCode(200)
  @Protect('$login', { user: { email: 'body.email' } })
  login() {
    return { ok: true };
  }

  @Get('health')
  health() {
    return { ok: true };
  }
}

// An app's catch-all filter, registered with app.useGlobalFilters(): it sees every
// exception before the filters of modules, so it hands Vigil's to Vigil's filter.
@Catch()
class AllExceptionsFilter implements ExceptionFilter {
  private readonly vigil: VigilExceptionFilter;
  constructor(adapterHost: HttpAdapterHost) {
    this.vigil = new VigilExceptionFilter(adapterHost);
  }
  catch(exception: unknown, host: ArgumentsHost) {
    if (exception instanceof VigilBlockedException || exception instanceof VigilHandledException) return this.vigil.catch(exception, host);
    host.switchToHttp().getResponse().status(500).send('catch-all');
  }
}

function writeChallenge({ raw }: VigilChallengeContext) {
  return raw.response.status(403).header('content-type', 'application/json; charset=utf-8').send('{"challenge":"captcha"}');
}

describe.each(PLATFORMS)('VigilModule on %s', (platform) => {
  it('forRootAsync() builds the configuration from injected providers; @UseGuards() protects only where it is used', async () => {
    const provider = recordingProvider();
    const app = await createApp(platform, {
      imports: [
        VigilModule.forRootAsync({
          imports: [SettingsModule],
          inject: [SETTINGS],
          useFactory: async (settings: { mode: 'blocking' }) => ({ ...settings, provider, routes: [{ path: '/unguarded/login', event: '$login' }] }),
        }),
      ],
      controllers: [GuardedController, UnguardedController],
    });
    try {
      const guarded = await request(app.getHttpServer()).post('/guarded/login').send({});
      expect(guarded.body).toEqual({ decision: expect.objectContaining({ protected: true, event: '$login' }), mode: 'blocking' });
      const blocked = await request(app.getHttpServer()).post('/guarded/login').set('x-test-risk', '0.95').send({});
      expect(blocked.status).toBe(403);
      // In the configured routes, but no VigilGuard runs there.
      const unguarded = await request(app.getHttpServer()).post('/unguarded/login').set('x-test-risk', '0.95').send({});
      expect(unguarded.status).toBe(200);
      expect(unguarded.body.decision).toBeNull();
      expect(provider.attempts).toHaveLength(2);
    } finally {
      await app.close();
    }
  });

  it('decides once when the guard is both global and in @UseGuards()', async () => {
    const provider = recordingProvider();
    const app = await createApp(platform, {
      imports: [VigilModule.forRoot({ provider })],
      controllers: [GuardedController],
      providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
    });
    try {
      const res = await request(app.getHttpServer()).post('/guarded/login').send({});
      expect(res.body.decision).toMatchObject({ protected: true });
      expect(provider.attempts).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('isGlobal makes the guard usable in modules that do not import VigilModule', async () => {
    const app = await createApp(platform, {
      imports: [VigilModule.forRoot({ isGlobal: true, provider: recordingProvider() }), FeatureModule],
    });
    try {
      const res = await request(app.getHttpServer()).post('/feature/login').send({});
      expect(res.body.decision).toMatchObject({ protected: true, event: '$login' });
    } finally {
      await app.close();
    }
  });

  it('never writes a response twice: one started before the guard, one written by onChallenge', async () => {
    const logger = new CapturingLogger();
    const app = await createApp(
      platform,
      {
        imports: [VigilModule.forRoot({ mode: 'blocking', provider: recordingProvider(), onChallenge: writeChallenge })],
        controllers: [GuardedController, EarlyController],
      },
      logger,
    );
    try {
      const early = await request(app.getHttpServer()).post('/early').set('x-answer-early', '1').set('x-test-risk', '0.95').send({});
      expect(early.status).toBe(418);
      expect(early.text).toBe('early');
      const challenged = await request(app.getHttpServer()).post('/guarded/login').set('x-test-risk', '0.7').send({});
      expect(challenged.status).toBe(403);
      expect(challenged.body).toEqual({ challenge: 'captcha' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(logger.errors).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('protects @Protect() routes with the embedded engine when no provider is given', async () => {
    const app = await createApp(platform, {
      imports: [VigilModule.forRoot({ mode: 'blocking' })],
      controllers: [EngineController],
      providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
    });
    try {
      const curl = await request(app.getHttpServer()).post('/login').set('user-agent', 'curl/8.5.0').set('accept', '*/*').send({ email: 'a@example.com' });
      expect(curl.status).toBe(403);
      expect(curl.body).toMatchObject({ blocked: true, message: 'Request blocked' });
      const health = await request(app.getHttpServer()).get('/health').set('user-agent', 'curl/8.5.0');
      expect(health.status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it("reads the client IP Vigil's way by default, and the platform's request.ip with ip.useFramework", async () => {
    // Vigil trusts the loopback peer's X-Forwarded-For by default; the platforms, with
    // no trust-proxy setting, give the peer itself.
    for (const [ip, expected] of [[{}, '203.0.113.9'], [{ useFramework: true }, '127.0.0.1']] as const) {
      const app = await createApp(platform, { imports: [VigilModule.forRoot({ ip, provider: recordingProvider() })], controllers: [GuardedController] });
      try {
        const res = await request(app.getHttpServer()).post('/guarded/login').set('x-forwarded-for', '203.0.113.9').send({});
        expect(res.body.decision.ip).toBe(expected);
      } finally {
        await app.close();
      }
    }
  });

  it("an app's catch-all filter can hand Vigil's exceptions to VigilExceptionFilter", async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [VigilModule.forRoot({ mode: 'blocking', provider: recordingProvider() })],
      controllers: [GuardedController],
    }).compile();
    const app = moduleRef.createNestApplication(platform === 'express' ? new ExpressAdapter() : new FastifyAdapter(), { logger: false });
    app.useGlobalFilters(new AllExceptionsFilter(app.get(HttpAdapterHost)));
    await app.init();
    if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
    try {
      const res = await request(app.getHttpServer()).post('/guarded/login').set('accept', 'text/html').set('x-test-risk', '0.95').send({});
      expect(res.status).toBe(403);
      expect(res.text).toContain('<h1>Request blocked</h1>');
    } finally {
      await app.close();
    }
  });

  it('closes the provider when the app closes', async () => {
    let closed = 0;
    const provider = { ...recordingProvider(), close: async () => void closed++ };
    const app = await createApp(platform, { imports: [VigilModule.forRoot({ provider })], controllers: [EngineController] });
    await app.close();
    expect(closed).toBe(1);
  });
});

describe('configuration errors fail the start-up', () => {
  it('a bad option fails compile() with a VigilConfigError', async () => {
    const error = await createApp('express', { imports: [VigilModule.forRoot({ mode: 'block' as 'blocking' })] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VigilConfigError);
    expect(error).toMatchObject({ code: 'VIGIL_E_MODE', option: 'mode', value: 'block' });
  });

  it('a bad option from forRootAsync() fails the same way', async () => {
    const error = await createApp('express', { imports: [VigilModule.forRootAsync({ useFactory: () => ({ modee: 'blocking' }) as never })] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'VigilConfigError', code: 'VIGIL_E_UNKNOWN_OPTION' });
  });

  it('a bad onChallenge is reported by core, not wrapped', async () => {
    const error = await createApp('express', { imports: [VigilModule.forRoot({ onChallenge: 'captcha' as never })] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'VigilConfigError', code: 'VIGIL_E_OPTION_TYPE', option: 'onChallenge' });
  });

  it('a bad @Protect() fails app.init(), naming the handler', async () => {
    @Controller()
    class BadController {
      @Post('login')
      @Protect('$login', { user: { email: 'body.' } })
      login() {}
    }
    const error = await createApp('express', { imports: [VigilModule.forRoot()], controllers: [BadController] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VigilConfigError);
    expect((error as Error).message).toContain('@Protect() on BadController.login.user.email');
  });
});
