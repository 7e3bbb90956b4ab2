import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import {
  type BlockedUser,
  type CompiledRoute,
  type Decision,
  getHeader,
  type IdentifyOptions,
  type TrackLoginOptions,
  type TrackSignupOptions,
  type Vigil,
  verifyWebhook,
} from '@vigil/core';
import { type PlatformRequest, requestInfoOf } from './platform.js';
import { VIGIL_INSTANCE, VIGIL_PROTECT_METADATA } from './vigil.constants.js';
import { VigilBlockedException } from './vigil.exceptions.js';
import type { ProtectMetadata, VerifyWebhookOptions } from './vigil.interface.js';

/**
 * The app's Vigil, injectable anywhere the module is visible. Request-aware helpers
 * take the platform's request (`@Req()`: Express `Request` or `FastifyRequest`) and
 * work in any handler, protected or not: `identify()` (which ends a blocked user's
 * request with the block response in blocking mode), `trackLogin()`, `trackSignup()`,
 * `trackCustom()`, and `verifyWebhook()` for apps created with `rawBody: true`. Admin
 * operations: `blockUser()`, `unblockUser()`, `listBlockedUsers()`, `reportDevice()`,
 * `approveDevice()`, `getDevicesForUser()`. `service.vigil` is the core `Vigil` the
 * guard uses; the provider is released when the app closes.
 *
 * @example
 * @Controller('account')
 * export class AccountController {
 *   constructor(@Inject(VigilService) private readonly vigil: VigilService) {}
 *
 *   @Get()
 *   async account(@Req() req: Request) {
 *     const user = await this.sessions.user(req);
 *     await this.vigil.identify(req, { id: user.id, plan: user.plan }); // a blocked user gets 403 here
 *     return user;
 *   }
 * }
 */
@Injectable()
export class VigilService implements OnModuleInit, OnModuleDestroy {
  // Keyed by the metadata object: one per @Protect() written, shared by every handler
  // of a controller it decorates — and correct when a subclass controller inherits a
  // handler (the same function) under a different controller-level @Protect().
  private readonly compiled = new WeakMap<ProtectMetadata, CompiledRoute>();
  private warnedNoRawBody = false;

  constructor(
    /** The core `Vigil` created from the module's options. */
    @Inject(VIGIL_INSTANCE) readonly vigil: Vigil,
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  /**
   * Maps the request to a user and enforces blocks in the same call. It resolves
   * `{ blocked, decision }`; when the user (or the request's device) is on the block
   * list in blocking mode, it throws the `VigilBlockedException` the guard throws, so
   * the request ends with the negotiated block response (HTML for browsers, JSON for API
   * clients, or the redirect to `redirectUrl`) — in any handler, protected or not. In
   * monitoring mode nothing is refused: `blocked` is true and `decision.wouldBlock`
   * says what blocking mode would do. Traits besides `id` stay in the process.
   *
   * @example
   * @Get('me')
   * async me(@Req() req: Request) {
   *   const user = await this.users.fromSession(req);
   *   const { blocked } = await this.vigil.identify(req, { id: user.id });
   *   if (blocked) this.audit.log('blocked user seen', user.id); // monitoring mode only
   *   return user;
   * }
   */
  async identify(request: object, user: IdentifyOptions): Promise<{ blocked: boolean; decision: Decision }> {
    const info = requestInfoOf(request);
    const result = await this.vigil.identify(info, user);
    const { decision } = result;
    if (decision.action === 'block' || decision.action === 'redirect') {
      const rendered = this.vigil.respond(decision, getHeader(info.headers, 'Accept'));
      if (rendered) throw new VigilBlockedException(rendered, decision);
    }
    return result;
  }

  /**
   * Reports a login attempt's outcome for this request (for apps that prefer explicit
   * calls to route outcomes): `$login` `$succeeded` or `$failed`, with the request's
   * context and device. Never throws.
   *
   * @example
   * const user = await this.users.check(body.email, body.password);
   * await this.vigil.trackLogin(req, { success: !!user, userId: user?.id, email: body.email, userExists: await this.users.exists(body.email) });
   */
  trackLogin(request: object, options: TrackLoginOptions): Promise<void> {
    return this.vigil.trackLogin(requestInfoOf(request), options);
  }

  /**
   * Reports a sign-up for this request: `$registration`, `$succeeded` unless
   * `success: false`. Never throws.
   *
   * @example
   * await this.vigil.trackSignup(req, { userId: created.id, email: body.email });
   */
  trackSignup(request: object, options: TrackSignupOptions = {}): Promise<void> {
    return this.vigil.trackSignup(requestInfoOf(request), options);
  }

  /**
   * Reports an app-defined event for this request (`$custom` with its name). Never throws.
   *
   * @example
   * await this.vigil.trackCustom(req, 'export_data', { rows: 1200 });
   */
  trackCustom(request: object, name: string, properties?: Record<string, unknown>): Promise<void> {
    return this.vigil.trackCustom(requestInfoOf(request), name, properties);
  }

  /**
   * Puts a user on the block list: every request that identifies them is refused (in
   * blocking mode). `ttl` in ms; default until unblocked. Rejects with
   * `VigilUnsupportedError` when the provider has no block list (CHEQ, Castle).
   *
   * @example
   * await this.vigil.blockUser('u-42', { reason: 'chargeback fraud', ttl: 24 * 3600_000 });
   */
  async blockUser(userId: string, options?: { reason?: string; ttl?: number }): Promise<void> {
    await this.vigil.blockUser(userId, options);
  }

  /**
   * Lifts a user block.
   *
   * @example
   * await this.vigil.unblockUser('u-42');
   */
  async unblockUser(userId: string): Promise<void> {
    await this.vigil.unblockUser(userId);
  }

  /**
   * The users on the block list, with the reason and the time of each block.
   *
   * @example
   * const blocked = await this.vigil.listBlockedUsers(); // [{ id: 'u-42', reason: 'chargeback fraud', at: '2025-…' }]
   */
  async listBlockedUsers(): Promise<BlockedUser[]> {
    return this.vigil.listBlockedUsers();
  }

  /**
   * Reports a device (an id from `getDevicesForUser()`, or Castle's device token): every
   * request from it is denied, and `identify()` refuses it whoever it claims to be.
   *
   * @example
   * await this.vigil.reportDevice(deviceId, { reason: 'stolen laptop' });
   */
  async reportDevice(deviceId: string, options?: { reason?: string; ttl?: number }): Promise<unknown> {
    return this.vigil.reportDevice(deviceId, options);
  }

  /**
   * Trusts a device for its user (lifts a report): its requests weigh less.
   *
   * @example
   * await this.vigil.approveDevice(deviceId);
   */
  async approveDevice(deviceId: string): Promise<unknown> {
    return this.vigil.approveDevice(deviceId);
  }

  /**
   * What the provider knows of a user's devices: with the embedded engine, a
   * `DeviceRecord[]` (id, first and last seen, recent IPs, user agent, approved,
   * reported) of the devices the user logged in or signed up from; Castle's own answer
   * with `castleProvider`.
   *
   * @example
   * const devices = await this.vigil.getDevicesForUser<DeviceRecord[]>('u-42');
   */
  async getDevicesForUser<T = unknown>(userId: string): Promise<T> {
    return (await this.vigil.getDevicesForUser(userId)) as T;
  }

  /**
   * Verifies a webhook signed Castle's way (`X-Castle-Signature`: the base64
   * HMAC-SHA256 of the raw body, keyed with `secret`) from the raw body Nest keeps in
   * `request.rawBody` when the app is created with `rawBody: true`. A missing, malformed
   * or wrong signature, or no raw body, throws an `UnauthorizedException` (401) whose
   * `cause` is core's `WebhookVerificationError`. A missing `secret` is the app's
   * configuration error: a `TypeError` (500, logged by Nest), not a 401.
   *
   * @example
   * const app = await NestFactory.create(AppModule, { rawBody: true });
   *
   * @Post('webhooks/castle')
   * @SkipVigil()
   * @HttpCode(204)
   * castle(@Req() req: RawBodyRequest<Request>, @Body() event: CastleWebhook) {
   *   this.vigil.verifyWebhook(req, process.env.CASTLE_API_SECRET);
   *   this.handle(event);
   * }
   */
  verifyWebhook(request: object, secret: string, options: VerifyWebhookOptions = {}): void {
    if (typeof secret !== 'string' || secret === '') {
      throw new TypeError('verifyWebhook: no secret to verify the webhook with (pass your Castle API secret, e.g. process.env.CASTLE_API_SECRET)');
    }
    const req = request as PlatformRequest;
    const raw = req.rawBody;
    if (!(Buffer.isBuffer(raw) || typeof raw === 'string') && req.body !== undefined && !this.warnedNoRawBody) {
      this.warnedNoRawBody = true;
      this.vigil.logger.warn(
        { code: 'VIGIL_W_NO_RAW_BODY' },
        'verifyWebhook: the request has a parsed body but no rawBody; create the Nest application with { rawBody: true } (NestFactory.create(AppModule, { rawBody: true }))',
      );
    }
    try {
      verifyWebhook(Buffer.isBuffer(raw) || typeof raw === 'string' ? raw : '', getHeader(req.headers, options.header ?? 'X-Castle-Signature'), secret);
    } catch (error) {
      throw new UnauthorizedException((error as Error).message, { cause: error });
    }
  }

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
