export type { ChallengeOptions, ChallengeReason, ChallengeResult } from './challenge/index.js';
export { type CaptchaCheck, type CaptchaVendor, type CaptchaVendorName, type CaptchaVendorOptions, hcaptcha, recaptcha, turnstile } from './challenge/vendors.js';
export { checkKnownOptions } from './config/options.js';
export {
  DEFAULT_ALLOWLIST,
  getHeader,
  type HeaderScrubber,
  type HeaderScrubOptions,
  type IncomingHeaders,
  isSecretHeaderName,
  normalizeHeaderName,
  type ScrubbedHeaders,
  scrubHeaders,
} from './context/headers.js';
export {
  type ClientIpExtractor,
  type ClientIpResolution,
  createClientIpExtractor,
  extractClientIp,
  type IpOptions,
  type IpSource,
} from './context/ip.js';
export { IP_PRESETS, type IpPreset, type IpPresetName } from './context/ip-presets.js';
export type {
  ContextBuilder,
  ContextOptions,
  RequestContext,
  RequestInfo,
} from './context/request.js';
export {
  type Decision,
  type DecisionAction,
  EXCLUDED_DECISION,
  type Mode,
  type PolicyVerdict,
  UNPROTECTED_DECISION,
} from './decision/decision.js';
export type { CompiledThresholds, PolicyOptions, PolicyResult, Thresholds } from './decision/policy.js';
export {
  type BlockResponseFunction,
  type BlockResponseOptions,
  prefersHtml,
  type RenderedResponse,
  type Responder,
  type ResponseOptions,
} from './decision/responses.js';
export {
  type CompiledThreatCodes,
  DEFAULT_BLOCK_CODES,
  DEFAULT_CAPTCHA_CODES,
  THREAT_CODES,
  type ThreatCodeLists,
  type ThreatGroup,
} from './decision/threat-codes.js';
export { MAILBOX_PROVIDERS, type MailboxProvider, mailboxKey } from './engine/mailbox.js';
export { CLIENT_KINDS, type Clients, NATIVE_APP_USER_AGENTS, type NativeAppStack } from './engine/native-apps.js';
export type { Score, Signal, SignalName } from './engine/signals.js';
export type { UserAgentRequest, UserAgentSignalOptions } from './engine/user-agent.js';
export {
  MemoryStoreFullError,
  VigilConfigError,
  type VigilConfigErrorCode,
  type VigilLogCode,
  VigilProviderError,
  VigilStoreError,
  VigilUnsupportedError,
  WebhookVerificationError,
} from './errors.js';
export { EVENT_STATUSES, EVENT_TYPES, type EventStatus, type EventType } from './events.js';
export {
  createIncidentTracker,
  type IncidentCodes,
  type IncidentCounts,
  type IncidentFailure,
  type IncidentTracker,
  type IncidentTrackerOptions,
} from './logging/incidents.js';
export { type Logger, silentLogger } from './logging/logger.js';
export {
  CastleApiError,
  CastleBadRequestError,
  type CastleDevice,
  CastleError,
  type CastleFailoverVerdict,
  CastleForbiddenError,
  CastleInternalServerError,
  CastleInvalidParametersError,
  CastleInvalidRequestTokenError,
  CastleMalformedResponseError,
  CastleNotFoundError,
  type CastleProvider,
  type CastleProviderOptions,
  CastleRateLimitError,
  CastleUnauthorizedError,
  CastleUserUnauthorizedError,
  castleProvider,
} from './providers/castle.js';
export { CheqError, type CheqProviderOptions, cheqProvider } from './providers/cheq.js';
export { MAX_ANSWER_BYTES } from './providers/http.js';
export {
  DEFAULT_LIMITS,
  DEFAULT_WEIGHTS,
  type LimitOptions,
  type LocalProvider,
  type LocalProviderOptions,
  localProvider,
  type Tiers,
  type VelocityLimits,
} from './providers/local.js';
export { copyPlainData, type PlainDataLimits } from './providers/plain-data.js';
export type {
  Provider,
  ProviderEvent,
  ProviderFunction,
  Verdict,
} from './providers/types.js';
export { canonicalPath, type FindMyWayPathOptions, pathOfRoute, type RouterSyntax, routedPathOf } from './routing/canonical.js';
export type { FieldReader, FieldSource } from './routing/fields.js';
export {
  captureBody,
  type HeaderOutcomeRule,
  type JsonOutcomeRule,
  type LocationMatcher,
  type OutcomeAnswer,
  type OutcomeClassifier,
  type OutcomeOptions,
  type OutcomeResponse,
  type ResponseHeaders,
  type StatusMatcher,
  type ValueMatcher,
  watchSignIn,
} from './routing/outcome.js';
export {
  CHEQ_EVENT_TYPES,
  type CompiledRoute,
  normalizePathForMatch,
  type RouteDefinition,
  type RouteMatcher,
  type RoutingOptions,
  type UserFields,
  type UserIdentity,
} from './routing/routes.js';
export { MemoryStore, type MemoryStoreOptions } from './stores/memory.js';
export { type Store, type StoreOp, type StoreResult, slidingCount } from './stores/types.js';
export { type DeviceCookieContext, type DeviceCookieOptions, type DeviceCookies, parseCookieHeader } from './tracking/device-cookie.js';
export { createHandle, decisionOf, lazyHandleClass, requestOf, type VigilHandle } from './tracking/handle.js';
export type {
  BlockedUser,
  DeviceRecord,
  IdentifyOptions,
  TrackLoginOptions,
  TrackSignupOptions,
} from './tracking/users.js';
export {
  type ChallengeContext,
  createVigil,
  type EnforceIO,
  type FailoverStrategy,
  type Vigil,
  type VigilConfig,
} from './vigil.js';
export { signUserId, verifyWebhook } from './webhooks.js';
