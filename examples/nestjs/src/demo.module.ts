import { type DynamicModule, Module } from '@nestjs/common';
import type { UserStore } from '@vigil/example-shared';

/** Environment variables the app reads: `VIGIL_MODE`, `VIGIL_REDIRECT_URL`, `VIGIL_SECRET`, `REDIS_URL`. */
export type Env = Record<string, string | undefined>;
/** @vigil/example-shared, loaded once. */
export type ExampleShared = typeof import('@vigil/example-shared');
export type { UserStore };

export const ENV = 'DEMO_ENV';
export const SHARED = 'EXAMPLE_SHARED';
export const USERS = 'DEMO_USERS';

/**
 * What the Express, Fastify and NestJS examples share (the user database, the page,
 * the CAPTCHA stand-in, Vigil's options from the environment), as Nest providers.
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with a static forRoot()
export class DemoModule {
  static forRoot(env: Env): DynamicModule {
    return {
      module: DemoModule,
      providers: [
        { provide: ENV, useValue: env },
        // An ES module: import() it, as require() cannot on every Node version.
        { provide: SHARED, useFactory: (): Promise<ExampleShared> => import('@vigil/example-shared') },
        { provide: USERS, useFactory: (shared: ExampleShared): UserStore => shared.createUserStore(), inject: [SHARED] },
      ],
      exports: [ENV, SHARED, USERS],
    };
  }
}
