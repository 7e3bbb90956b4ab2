import { type DynamicModule, Logger, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { localProvider } from '@vigil/core';
import { VigilGuard, VigilModule, type VigilModuleConfig } from '@vigil/nestjs';
import { AdminController } from './admin.controller.js';
import { AuthController } from './auth.controller.js';
import { LocalStrategy, SessionSerializer, SignInController } from './sign-in.controller.js';
import { DemoModule, ENV, type Env, type ExampleShared, SHARED } from './demo.module.js';
import { WebhooksController } from './webhooks.controller.js';

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
    // No onChallenge: blocking mode answers a challenged request with Vigil's built-in
    // proof-of-work challenge (a page that solves itself and re-posts the form for
    // browsers, JSON for API clients); the module serves the page's scripts.
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
