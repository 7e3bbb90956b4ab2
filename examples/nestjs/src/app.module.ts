import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { localProvider } from '@vigil/core';
import { type VigilChallengeContext, VigilGuard, VigilModule, type VigilModuleConfig } from '@vigil/nestjs';
import { AdminController } from './admin.controller.js';
import { AuthController } from './auth.controller.js';
import { LocalStrategy, SessionSerializer, SignInController } from './sign-in.controller.js';
import { DemoModule, ENV, type Env, type ExampleShared, SHARED } from './demo.module.js';
import { WebhooksController } from './webhooks.controller.js';

// The part of Express's Response the CAPTCHA hand-off uses.
interface ChallengeResponse {
  setHeader(name: string, value: string): unknown;
  status(code: number): this;
  set(headers: Record<string, string>): this;
  send(body: string): unknown;
}

/** Vigil's configuration: the embedded engine (on Redis when `REDIS_URL` is set), mode and redirect from the environment. */
async function vigilConfig(env: Env, shared: ExampleShared): Promise<VigilModuleConfig> {
  const provider = await shared.providerFromEnv(localProvider, env);
  const log = new Logger('Vigil');
  const line = (obj: object, msg?: string) => `${msg ?? ''} ${JSON.stringify(obj, (_key, value) => (value instanceof Error ? value.message : value))}`;
  return {
    // Mode, redirect, and loopback proxies trusted: the simulator speaks for many clients.
    ...shared.vigilOptionsFromEnv(env),
    ...(provider ? { provider } : {}),
    logger: { warn: (obj, msg) => log.warn(line(obj, msg)), error: (obj, msg) => log.error(line(obj, msg)) },
    // A block response only ever answers a `block`, so that is what blocking mode "would"
    // do: the simulator reads this header (the interceptor sets it on allowed answers).
    blockResponse: { headers: { 'x-vigil-would-action': 'block' } },
    // The CAPTCHA hand-off: a solved CAPTCHA goes on to the handler, anything else gets
    // the CAPTCHA (a page for browsers, JSON for API clients).
    onChallenge: ({ request, decision, proceed, raw: { response } }: VigilChallengeContext<unknown, ChallengeResponse>) => {
      response.setHeader('x-vigil-would-action', decision.wouldAction);
      if (shared.captchaPassed(request)) return proceed();
      const { status, headers, body } = shared.challengeResponse(request, decision);
      return response.status(status).set(headers).send(body);
    },
  };
}

/**
 * The demo app: the page and its API, every POST route protected by the global
 * VigilGuard; the block list's admin API when `VIGIL_ADMIN_TOKEN` is set, Castle's
 * webhooks when `CASTLE_WEBHOOK_SECRET` is.
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static forRoot()
export class AppModule {
  static forRoot(env: Env): DynamicModule {
    const demo = DemoModule.forRoot(env);
    return {
      module: AppModule,
      imports: [
        demo,
        PassportModule.register({ session: true }),
        VigilModule.forRootAsync({ imports: [demo], inject: [ENV, SHARED], useFactory: vigilConfig }),
      ],
      controllers: [AuthController, SignInController, ...(env.VIGIL_ADMIN_TOKEN ? [AdminController] : []), ...(env.CASTLE_WEBHOOK_SECRET ? [WebhooksController] : [])],
      providers: [{ provide: APP_GUARD, useClass: VigilGuard }, LocalStrategy, SessionSerializer],
    };
  }
}
