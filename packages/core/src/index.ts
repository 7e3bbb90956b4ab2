export { VigilConfigError, type VigilConfigErrorCode } from './errors.js';
export {
  DEFAULT_ALLOWLIST,
  normalizeHeaderName,
  scrubHeaders,
  createHeaderScrubber,
  getHeader,
  isSecretHeaderName,
  withDefaultAllowlist,
  type HeaderScrubber,
  type HeaderScrubOptions,
  type IncomingHeaders,
  type ScrubbedHeaders,
} from './context/headers.js';
export {
  extractClientIp,
  createClientIpExtractor,
  canonicalizeIp,
  type ClientIpExtractor,
  type ClientIpResolution,
  type IpOptions,
  type IpSource,
} from './context/ip.js';
export { IP_PRESETS, type IpPreset, type IpPresetName } from './context/ip-presets.js';
export {
  buildRequestContext,
  createContextBuilder,
  pathnameOf,
  type ContextBuilder,
  type ContextOptions,
  type RequestContext,
  type RequestInfo,
} from './context/request.js';
export { canonicalPath, pathOfRoute, routedPathOf, type FindMyWayPathOptions, type RouterSyntax } from './routing/canonical.js';
export { EVENT_TYPES, EVENT_STATUSES, isEventType, type EventType, type EventStatus } from './events.js';
export {
  THREAT_CODES,
  DEFAULT_BLOCK_CODES,
  DEFAULT_CAPTCHA_CODES,
  classifyThreat,
  compileThreatCodes,
  type ThreatGroup,
  type ThreatCodeLists,
  type CompiledThreatCodes,
} from './decision/threat-codes.js';
export {
  UNPROTECTED_DECISION,
  EXCLUDED_DECISION,
  type Decision,
  type DecisionAction,
  type Mode,
  type PolicyVerdict,
} from './decision/decision.js';
export { applyPolicy, compileThresholds, type Thresholds, type CompiledThresholds, type PolicyOptions, type PolicyResult } from './decision/policy.js';
export {
  createResponder,
  prefersHtml,
  type RenderedResponse,
  type BlockResponseOptions,
  type BlockResponseFunction,
  type ResponseOptions,
  type Responder,
} from './decision/responses.js';
export {
  allowAllProvider,
  providerFromFunction,
  type Provider,
  type ProviderEvent,
  type ProviderFunction,
  type Verdict,
} from './providers/types.js';
export {
  compileRoute,
  compileRouting,
  compileExclusions,
  CHEQ_EVENT_TYPES,
  normalizePathForMatch,
  type RouteDefinition,
  type CompiledRoute,
  type RouteMatcher,
  type RoutingOptions,
  type UserFields,
  type UserIdentity,
} from './routing/routes.js';
export { compileField, type FieldSource, type FieldReader } from './routing/fields.js';
export {
  compileOutcome,
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
export { silentLogger, compileLogger, type Logger } from './logging/logger.js';
export {
  createIncidentTracker,
  type IncidentTracker,
  type IncidentTrackerOptions,
  type IncidentCodes,
  type IncidentCounts,
  type IncidentFailure,
} from './logging/incidents.js';
export { checkKnownOptions } from './config/options.js';
export {
  createVigil,
  VigilProviderError,
  type Vigil,
  type VigilConfig,
  type FailoverStrategy,
  type ChallengeContext,
  type EnforceIO,
} from './vigil.js';
export { MemoryStore, MemoryStoreFullError, type MemoryStoreOptions } from './stores/memory.js';
export { slidingCount, type Store, type StoreOp, type StoreResult } from './stores/types.js';
export {
  localProvider,
  VigilStoreError,
  DEFAULT_WEIGHTS,
  DEFAULT_LIMITS,
  type LocalProvider,
  type LocalProviderOptions,
  type VelocityLimits,
  type Tiers,
  type LimitOptions,
} from './providers/local.js';
export { neighbourhoodKey } from './engine/keys.js';
export { IpRangeSet } from './engine/ip-ranges.js';
export { combineSignals, type Signal, type SignalName, type Score } from './engine/signals.js';
export { userAgentSignals, browserFamily, nativeAppStackOf, type UserAgentSignalOptions, type UserAgentRequest } from './engine/user-agent.js';
export { CLIENT_KINDS, type Clients, NATIVE_APP_USER_AGENTS, type NativeAppStack } from './engine/native-apps.js';
export { isLocalhostHost, requestOriginIsPotentiallyTrustworthy } from './engine/secure-origin.js';
export { isDisposableEmail, isValidEmail } from './engine/email.js';
export { IdentifierHasher, ipCountingKey, normalizeIdentifier } from './engine/identifiers.js';
export { MAILBOX_PROVIDERS, type MailboxProvider, mailboxKey } from './engine/mailbox.js';
export {
  castleProvider,
  castleErrorFor,
  CastleError,
  CastleBadRequestError,
  CastleUnauthorizedError,
  CastleForbiddenError,
  CastleNotFoundError,
  CastleUserUnauthorizedError,
  CastleInvalidParametersError,
  CastleInvalidRequestTokenError,
  CastleRateLimitError,
  CastleApiError,
  CastleInternalServerError,
  CastleMalformedResponseError,
  type CastleProvider,
  type CastleProviderOptions,
  type CastleDevice,
  type CastleFailoverVerdict,
} from './providers/castle.js';
export { cheqProvider, CheqError, type CheqProviderOptions } from './providers/cheq.js';
export { MAX_ANSWER_BYTES } from './providers/http.js';
export { copyPlainData, type PlainDataLimits } from './providers/plain-data.js';
export { redactQueryValues, redactUrlHeaders, REDACTED_QUERY_VALUE } from './providers/redaction.js';
export { verifyWebhook, signUserId, WebhookVerificationError } from './webhooks.js';
export { createDeviceCookies, parseCookieHeader, readCookie, type DeviceCookieContext, type DeviceCookieOptions, type DeviceCookies } from './tracking/device-cookie.js';
export {
  anonymizeIdentity,
  VigilUnsupportedError,
  type BlockedUser,
  type DeviceRecord,
  type IdentifyOptions,
  type TrackLoginOptions,
  type TrackSignupOptions,
} from './tracking/users.js';
export { createHandle, decisionOf, type VigilHandle } from './tracking/handle.js';
