export { VigilConfigError, type VigilConfigErrorCode } from './errors.js';
export {
  DEFAULT_ALLOWLIST,
  normalizeHeaderName,
  scrubHeaders,
  createHeaderScrubber,
  getHeader,
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
export {
  buildRequestContext,
  createContextBuilder,
  type ContextBuilder,
  type ContextOptions,
  type RequestContext,
  type RequestInfo,
} from './context/request.js';
