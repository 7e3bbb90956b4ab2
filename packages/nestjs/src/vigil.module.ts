import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_FILTER, DiscoveryModule } from '@nestjs/core';
import { createVigil, type Vigil, type VigilConfig } from '@vigil/core';
import { VigilChallengeAssets } from './vigil.assets.js';
import { VIGIL_INSTANCE, VIGIL_OPTIONS } from './vigil.constants.js';
import { withChallengeExceptions } from './vigil.exceptions.js';
import { VigilExceptionFilter } from './vigil.filter.js';
import { VigilGuard } from './vigil.guard.js';
import { VigilOutcomeInterceptor } from './vigil.interceptor.js';
import type { VigilModuleAsyncOptions, VigilModuleConfig, VigilModuleOptions } from './vigil.interface.js';
import { VigilService } from './vigil.service.js';

function createVigilFromOptions(options: VigilModuleOptions): Vigil {
  // Core names what is wrong with options that are not an object.
  if (options === null || typeof options !== 'object') return createVigil(options as VigilConfig);
  // `isGlobal` is the module's; core rejects options it does not know.
  const { isGlobal: _isGlobal, onChallenge, ...config } = options;
  return createVigil({
    ...config,
    // Anything but a function goes to core as it is, for core to report.
    ...(onChallenge === undefined ? {} : { onChallenge: (typeof onChallenge === 'function' ? withChallengeExceptions(onChallenge) : onChallenge) as VigilConfig['onChallenge'] }),
  });
}

/**
 * Vigil for a Nest app. It creates one core `Vigil` from its options (a bad option
 * fails the start-up with a `VigilConfigError`), provides `VigilService` and
 * `VigilGuard`, registers the filter that writes Vigil's answers (the built-in
 * challenge's page or JSON among them), the interceptor that logs outcomes and the
 * route of the challenge page's assets, and closes the provider when the app closes. Register
 * `VigilGuard` as an `APP_GUARD` (or use it in `@UseGuards()`), and mark routes with
 * `@Protect()` or list them in `routes`.
 *
 * @example
 * @Module({
 *   imports: [VigilModule.forRoot({ mode: 'blocking', uriExclusion: ['/health'] })],
 *   providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
 *   controllers: [AuthController],
 * })
 * export class AppModule {}
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with static forRoot()/forRootAsync()
export class VigilModule {
  /**
   * The module with a configuration known up front.
   *
   * @example
   * VigilModule.forRoot({ isGlobal: true, mode: 'blocking', routes: [{ method: 'POST', path: '/login', event: '$login' }] })
   */
  static forRoot(options: VigilModuleOptions = {}): DynamicModule {
    return VigilModule.create({ provide: VIGIL_OPTIONS, useValue: options }, [], options?.isGlobal);
  }

  /**
   * The module with a configuration made by a factory, from injected providers.
   *
   * @example
   * VigilModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ mode: config.get('VIGIL_MODE') ?? 'monitoring' }),
   * })
   */
  static forRootAsync(options: VigilModuleAsyncOptions): DynamicModule {
    const optionsProvider: Provider = {
      provide: VIGIL_OPTIONS,
      useFactory: (...args: unknown[]): VigilModuleConfig | Promise<VigilModuleConfig> => options.useFactory(...args),
      inject: options.inject ?? [],
    };
    return VigilModule.create(optionsProvider, options.imports ?? [], options.isGlobal);
  }

  private static create(optionsProvider: Provider, imports: NonNullable<VigilModuleAsyncOptions['imports']>, isGlobal = false): DynamicModule {
    return {
      module: VigilModule,
      global: isGlobal,
      imports: [DiscoveryModule, ...imports],
      providers: [
        optionsProvider,
        { provide: VIGIL_INSTANCE, useFactory: createVigilFromOptions, inject: [VIGIL_OPTIONS] },
        VigilService,
        VigilGuard,
        { provide: APP_FILTER, useClass: VigilExceptionFilter },
        VigilOutcomeInterceptor,
        VigilChallengeAssets,
      ],
      exports: [VIGIL_OPTIONS, VIGIL_INSTANCE, VigilService, VigilGuard, VigilOutcomeInterceptor],
    };
  }
}
