import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { CompiledRoute, Vigil } from '@vigil/core';
import { VIGIL_INSTANCE, VIGIL_PROTECT_METADATA } from './vigil.constants.js';
import type { ProtectMetadata } from './vigil.interface.js';

/**
 * The app's Vigil, injectable anywhere the module is visible: the core `Vigil` the
 * guard uses (`service.vigil.protect()`, `respond()`, `logOutcome()`...), the
 * compiled routes of `@Protect()`, and the provider's release when the app closes.
 *
 * @example
 * @Injectable()
 * export class AuthService {
 *   constructor(@Inject(VigilService) private readonly vigil: VigilService) {}
 *   get mode() { return this.vigil.vigil.mode; }
 * }
 */
@Injectable()
export class VigilService implements OnModuleInit, OnModuleDestroy {
  // Keyed by the metadata object: one per @Protect() written, shared by every handler
  // of a controller it decorates — and correct when a subclass controller inherits a
  // handler (the same function) under a different controller-level @Protect().
  private readonly compiled = new WeakMap<ProtectMetadata, CompiledRoute>();

  constructor(
    /** The core `Vigil` created from the module's options. */
    @Inject(VIGIL_INSTANCE) readonly vigil: Vigil,
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  /**
   * The compiled route of a `@Protect()`, compiled once. `where` names it in
   * configuration errors.
   *
   * @example
   * const route = service.routeFor({ event: '$login', user: { email: 'body.email' } });
   * const decision = await service.vigil.protect(requestInfo, route);
   */
  routeFor(metadata: ProtectMetadata, where: () => string = () => '@Protect()'): CompiledRoute {
    let route = this.compiled.get(metadata);
    if (!route) {
      route = this.vigil.route({ ...metadata }, where());
      this.compiled.set(metadata, route);
    }
    return route;
  }

  /** Compiles every `@Protect()` of the app's controllers, so that bad options fail the start-up, not a request. */
  onModuleInit(): void {
    const scanner = new MetadataScanner();
    for (const { metatype } of this.discovery.getControllers()) {
      if (typeof metatype !== 'function') continue;
      const onClass = this.reflector.get<ProtectMetadata | undefined>(VIGIL_PROTECT_METADATA, metatype);
      if (onClass) this.routeFor(onClass, () => `@Protect() on ${metatype.name}`);
      const prototype = metatype.prototype as Record<string, unknown>;
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        if (typeof handler !== 'function') continue;
        const onHandler = this.reflector.get<ProtectMetadata | undefined>(VIGIL_PROTECT_METADATA, handler);
        if (onHandler) this.routeFor(onHandler, () => `@Protect() on ${metatype.name}.${name}`);
      }
    }
  }

  /** Releases the provider (the engine's store, a remote client) when the app closes. */
  async onModuleDestroy(): Promise<void> {
    await this.vigil.close();
  }
}
