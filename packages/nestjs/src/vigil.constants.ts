/**
 * Injection token of the options given to `VigilModule.forRoot()` (or returned by the
 * `forRootAsync()` factory), as given.
 *
 * @example
 * constructor(@Inject(VIGIL_OPTIONS) private readonly options: VigilModuleOptions) {}
 */
export const VIGIL_OPTIONS = 'VIGIL_MODULE_OPTIONS';

/**
 * Injection token of the core `Vigil` the module created from its options: the one
 * instance the guard, the interceptor and `VigilService` share.
 *
 * @example
 * constructor(@Inject(VIGIL_INSTANCE) private readonly vigil: Vigil) {}
 */
export const VIGIL_INSTANCE = 'VIGIL_INSTANCE';

/**
 * Metadata key written by `@Protect()`: the route definition of a handler or controller.
 *
 * @example
 * reflector.getAllAndOverride(VIGIL_PROTECT_METADATA, [context.getHandler(), context.getClass()])
 */
export const VIGIL_PROTECT_METADATA = 'vigil:protect';

/**
 * Metadata key written by `@SkipVigil()`.
 *
 * @example
 * reflector.getAllAndOverride<boolean>(VIGIL_SKIP_METADATA, [context.getHandler(), context.getClass()])
 */
export const VIGIL_SKIP_METADATA = 'vigil:skip';
