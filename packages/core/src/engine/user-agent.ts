import { isbot } from 'isbot';
import { BoundedMap } from '../stores/bounded-map.js';
import type { ScrubbedHeaders } from '../context/headers.js';
import { type Clients, NATIVE_APP_USER_AGENTS } from './native-apps.js';
import { requestOriginIsPotentiallyTrustworthy } from './secure-origin.js';
import type { Signal } from './signals.js';

// Libraries and tools that announce themselves. Matched anywhere in the string, on word
// boundaries, case-insensitively; `node` and `got` only as the whole product token.
// Products whose name glues a vendor prefix to a tool (`WindowsPowerShell`) and
// hyphenated variants (`Java-http-client`, Java 11+'s HttpClient) are listed as such:
// a word boundary does not split them.
const HTTP_CLIENT =
  /\b(curl|wget|python-requests|python-urllib|python-httpx|httpx|aiohttp|go-http-client|axios|node-fetch|undici|okhttp|java\/|java-http-client|apache-httpclient|jakarta commons-httpclient|libwww-perl|lwp::simple|postmanruntime|insomnia|scrapy|httpie|guzzlehttp|faraday|rest-client|php\/|dart\/|reqwest|winhttp|powershell|windowspowershell|superagent|http\.rb|mechanize|libcurl|urllib|restsharp|feign|cpp-httplib|hackney|colly)\b/i;
const WHOLE_TOKEN_CLIENT = /^(node|got|deno|bun|ruby|wordpress|mint)(\/[\w.]+)?\b/i;
const HEADLESS = /\b(headlesschrome|headless|phantomjs|slimerjs|puppeteer|playwright|selenium|webdriver|htmlunit|zombie\.js|nightmare|splash)\b/i;
const CHROMIUM = /\b(?:Chrome|Chromium)\/(\d+)/;
// Every browser on iOS runs Apple's WebKit, whatever brand it names: Chrome (CriOS),
// Firefox (FxiOS) and Edge (EdgiOS) on iOS send Safari's headers, not their namesakes'
// (no Sec-Fetch-* before iOS 16.4, whatever the brand's own version says).
const IOS = /\((?:iPhone|iPad|iPod)\b[^)]*? OS (\d+)_/;
const IOS_BRANDED = /\b(?:CriOS|FxiOS|EdgiOS)\/\d/;
const FIREFOX = /\bFirefox\/(\d+)/;
const SAFARI = /\bVersion\/(\d+)[.\d]* (?:Mobile\/\w+ )?Safari\//;

/** Options of the user-agent signals. */
export interface UserAgentSignalOptions {
  weights: Record<'web_crawler' | 'http_client_library' | 'headless_browser' | 'missing_user_agent' | 'missing_headers', number>;
  /**
   * Expect Chromium's `Sec-Fetch-*` headers (Chromium ≥ 89). Chromium sends them only to
   * potentially trustworthy origins (HTTPS, localhost, loopback): `'auto'` expects them
   * exactly there, from the request's protocol and `Host`; `true` always, `false` never.
   */
  requireSecFetch: boolean | 'auto';
}

/** What the user-agent signals need to know about the request beyond its headers. */
export interface UserAgentRequest {
  /** `http` or `https` as the framework sees it (`RequestContext.protocol`); undefined when unknown. */
  protocol?: string | undefined;
  /** Who the route serves (see {@link Clients}); default `'browser'`. */
  clients?: Clients | undefined;
}

/**
 * The browser family a User-Agent claims, by engine, with its major version. Chrome,
 * Firefox and Edge on iOS are WebKit (`safari`), with the iOS version as `major`.
 */
export function browserFamily(ua: string): { family: 'chromium' | 'firefox' | 'safari'; major: number } | undefined {
  if (!ua.startsWith('Mozilla/5.0')) return undefined;
  const ios = IOS.exec(ua);
  if (ios && IOS_BRANDED.test(ua)) return { family: 'safari', major: Number(ios[1]) };
  const chromium = CHROMIUM.exec(ua);
  if (chromium) return { family: 'chromium', major: Number(chromium[1]) };
  const firefox = FIREFOX.exec(ua);
  if (firefox) return { family: 'firefox', major: Number(firefox[1]) };
  const safari = SAFARI.exec(ua);
  if (safari) return { family: 'safari', major: Number(safari[1]) };
  return undefined;
}

/**
 * What a User-Agent string says by itself, before any header is looked at; `nativeApp`
 * names the native-app HTTP stack it is, if it is one and nothing else.
 */
type UaClass = ({ kind: 'headless_browser' | 'http_client_library' | 'web_crawler' } | { kind: 'browser'; browser: ReturnType<typeof browserFamily> }) & { nativeApp?: string };

const NATIVE_APP_TOKENS = NATIVE_APP_USER_AGENTS.map((stack) => new RegExp(stack.pattern.source, `${stack.pattern.flags.replace('g', '')}g`));

/**
 * The native mobile app HTTP stack a User-Agent names ({@link NATIVE_APP_USER_AGENTS}),
 * or undefined: also when, once the stack's tokens are removed, what remains still names
 * a script, a tool or a headless browser (`okhttp/4.12 curl/8.4` is curl).
 *
 * @example
 * nativeAppStackOf('MyApp/41 CFNetwork/1494.0.7 Darwin/23.4.0') // 'CFNetwork'
 * nativeAppStackOf('okhttp/4.12.0 curl/8.4.0')                    // undefined
 */
export function nativeAppStackOf(ua: string): string | undefined {
  const stack = NATIVE_APP_USER_AGENTS.find((candidate) => candidate.pattern.test(ua));
  if (stack === undefined || HEADLESS.test(ua)) return undefined;
  let rest = ua;
  for (const token of NATIVE_APP_TOKENS) rest = rest.replace(token, ' ');
  rest = rest.trim();
  return HTTP_CLIENT.test(rest) || WHOLE_TOKEN_CLIENT.test(rest) ? undefined : stack.name;
}

// Real traffic carries a few hundred distinct User-Agents; classifying one (isbot's
// large pattern above all) costs microseconds. Bounded, so random UAs cannot grow it.
const uaMemo = new BoundedMap<string, UaClass>(2048);

function classifyUserAgent(sample: string): UaClass {
  let known = uaMemo.get(sample);
  if (known === undefined) {
    if (HEADLESS.test(sample)) known = { kind: 'headless_browser' };
    else if (HTTP_CLIENT.test(sample) || WHOLE_TOKEN_CLIENT.test(sample)) known = { kind: 'http_client_library' };
    else if (isbot(sample)) known = { kind: 'web_crawler' };
    else known = { kind: 'browser', browser: browserFamily(sample) };
    const nativeApp = nativeAppStackOf(sample);
    if (nativeApp !== undefined) known.nativeApp = nativeApp;
    uaMemo.set(sample, known);
  }
  return known;
}

/**
 * Declared automation and false representation, from the User-Agent and the headers
 * alone (no store): crawlers (isbot), HTTP client libraries, headless browsers, a
 * missing UA; and a browser UA without the headers every real browser of its family
 * sends to this request's origin. On a route serving `'app'` or `'any'` clients, a
 * native-app HTTP stack is not a signal; on an `'app'` route a browser UA is not held
 * to a browser's header set.
 *
 * @example
 * userAgentSignals('curl/8.4.0', {}, { weights: DEFAULT_WEIGHTS, requireSecFetch: 'auto' })[0].name // 'http_client_library'
 * userAgentSignals('okhttp/4.12.0', {}, { weights: DEFAULT_WEIGHTS, requireSecFetch: 'auto' }, { clients: 'app' }) // []
 */
export function userAgentSignals(ua: string | undefined, headers: ScrubbedHeaders, options: UserAgentSignalOptions, request: UserAgentRequest = {}): Signal[] {
  const { weights } = options;
  const text = typeof ua === 'string' ? ua.trim() : '';
  if (text === '') {
    return [{ name: 'missing_user_agent', weight: weights.missing_user_agent, code: 3, reason: 'no User-Agent header' }];
  }
  // Enormous UAs are themselves a tell; classify on a bounded prefix so that regular
  // expressions never see unbounded input.
  const sample = text.length > 512 ? text.slice(0, 512) : text;
  const known = classifyUserAgent(sample);
  const clients = request.clients ?? 'browser';
  if (clients !== 'browser' && known.nativeApp !== undefined) return [];
  if (known.kind === 'headless_browser') {
    return [{ name: 'headless_browser', weight: weights.headless_browser, code: 3, reason: 'User-Agent of a headless or automated browser' }];
  }
  if (known.kind === 'http_client_library') {
    return [{ name: 'http_client_library', weight: weights.http_client_library, code: 3, reason: 'User-Agent of an HTTP client library' }];
  }
  if (known.kind === 'web_crawler') {
    return [{ name: 'web_crawler', weight: weights.web_crawler, code: 2, reason: 'User-Agent of a crawler or bot' }];
  }
  const browser = known.kind === 'browser' ? known.browser : undefined;
  if (!browser || clients === 'app') return [];
  const missing: string[] = [];
  if (headers.Accept === undefined) missing.push('Accept');
  if (headers['Accept-Language'] === undefined) missing.push('Accept-Language');
  if (
    browser.family === 'chromium' &&
    browser.major >= 89 &&
    (options.requireSecFetch === 'auto' ? requestOriginIsPotentiallyTrustworthy(request.protocol, headers) : options.requireSecFetch)
  ) {
    for (const name of ['Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest']) if (headers[name] === undefined) missing.push(name);
  }
  if (missing.length === 0) return [];
  return [
    {
      name: 'missing_headers',
      weight: weights.missing_headers,
      code: 11,
      cap: 'challenge',
      reason: `a ${browser.family} User-Agent without ${missing.join(', ')}, which that browser always sends`,
      details: { missing },
    },
  ];
}
