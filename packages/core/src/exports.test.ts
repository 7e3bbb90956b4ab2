// The public API of @vigil/core, pinned: a value export added or removed is a change to
// what users and adapters may depend on, and must show up here in review. Types are
// checked by the adapters' and examples' own builds.
import { describe, expect, it } from 'vitest';

const INDEX = [
  'CHEQ_EVENT_TYPES', 'CLIENT_KINDS', 'CastleApiError', 'CastleBadRequestError', 'CastleError', 'CastleForbiddenError',
  'CastleInternalServerError', 'CastleInvalidParametersError', 'CastleInvalidRequestTokenError', 'CastleMalformedResponseError',
  'CastleNotFoundError', 'CastleRateLimitError', 'CastleUnauthorizedError', 'CastleUserUnauthorizedError', 'CheqError',
  'DEFAULT_ALLOWLIST', 'DEFAULT_BLOCK_CODES', 'DEFAULT_CAPTCHA_CODES', 'DEFAULT_LIMITS', 'DEFAULT_WEIGHTS', 'EVENT_STATUSES',
  'EVENT_TYPES', 'EXCLUDED_DECISION', 'IP_PRESETS', 'MAILBOX_PROVIDERS', 'MAX_ANSWER_BYTES', 'MemoryStore', 'MemoryStoreFullError',
  'NATIVE_APP_USER_AGENTS', 'THREAT_CODES', 'UNPROTECTED_DECISION', 'VigilConfigError', 'VigilProviderError', 'VigilStoreError',
  'VigilUnsupportedError', 'WebhookVerificationError', 'canonicalPath', 'captureBody', 'castleProvider', 'checkKnownOptions',
  'cheqProvider', 'copyPlainData', 'createClientIpExtractor', 'createHandle', 'createIncidentTracker', 'createVigil', 'decisionOf',
  'extractClientIp', 'getHeader', 'hcaptcha', 'isSecretHeaderName', 'lazyHandleClass', 'localProvider', 'mailboxKey', 'normalizeHeaderName', 'normalizePathForMatch',
  'parseCookieHeader', 'pathOfRoute', 'prefersHtml', 'recaptcha', 'requestOf', 'routedPathOf', 'scrubHeaders', 'signUserId', 'silentLogger', 'slidingCount',
  'turnstile', 'verifyWebhook', 'watchSignIn',
];

const TESTING = [
  'ROUTED_BASE_PATHS', 'RecordingStore', 'bruteForce', 'challengeFlow', 'challengeFlowProblems', 'deviceTrail', 'openRawHttpClient', 'outcomesLogged', 'postLogin', 'reachedApp',
  'recordingProvider', 'requestTargetArbitrary', 'runRoutingDifferential', 'runStoreContract', 'sampleRouting', 'sendOnce', 'solveChallenge',
  'supertestSend',
  'startFakeCastle', 'startFakeCheq', 'startFakeVendor', 'stuffing', 'typoThenLogin', 'usefulnessProblems',
];

describe('the public API', () => {
  it('@vigil/core exports these values and no others', async () => {
    expect(Object.keys(await import('./index.js')).sort()).toEqual([...INDEX].sort());
  });

  it('@vigil/core/testing exports these values and no others', async () => {
    expect(Object.keys(await import('./testing/index.js')).sort()).toEqual([...TESTING].sort());
  });

  it('every value export is defined (a re-export of a name its module lost is undefined, not an error)', async () => {
    for (const [name, value] of Object.entries(await import('./index.js'))) expect(value, name).toBeDefined();
  });
});
