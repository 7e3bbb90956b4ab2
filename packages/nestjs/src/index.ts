// @vigil/nestjs: VigilModule, VigilGuard and the decorators that protect Nest routes with Vigil.

// Core's types of what VigilService and the request handle take and give.
export type {
  BlockedUser,
  Decision,
  DeviceRecord,
  IdentifyOptions,
  TrackLoginOptions,
  TrackSignupOptions,
  VigilHandle,
} from '@vigil/core';
// The third-party CAPTCHAs for `challenge: { captcha }`, so that an app needs no import of core's.
export { hcaptcha, recaptcha, turnstile } from '@vigil/core';
export { VIGIL_INSTANCE, VIGIL_OPTIONS, VIGIL_PROTECT_METADATA, VIGIL_SKIP_METADATA } from './vigil.constants.js';
export { Protect, SkipVigil, VigilDecision } from './vigil.decorator.js';
export { VigilBlockedException, VigilHandledException } from './vigil.exceptions.js';
export { VigilExceptionFilter } from './vigil.filter.js';
export { VigilGuard } from './vigil.guard.js';
export { VigilOutcomeInterceptor } from './vigil.interceptor.js';
export type {
  ProtectMetadata,
  ProtectOptions,
  VerifyWebhookOptions,
  VigilChallengeContext,
  VigilModuleAsyncOptions,
  VigilModuleConfig,
  VigilModuleOptions,
  VigilRawHttp,
  VigilRequest,
} from './vigil.interface.js';
export { VigilModule } from './vigil.module.js';
export { VigilService } from './vigil.service.js';
