import { VigilConfigError, type VigilConfigErrorCode } from '../errors.js';

/**
 * Who a route (or the whole app) serves, for the User-Agent signals:
 * - `'browser'` (the default): web pages in browsers. A native-app HTTP stack (okhttp,
 *   CFNetwork…) is an HTTP client library, and a browser User-Agent must carry the
 *   headers its browser always sends.
 * - `'app'`: the app's own native mobile clients (an API for the iOS / Android app).
 *   Native-app HTTP stacks are not a signal by themselves, and a browser User-Agent is
 *   not held to a browser's header set (native code often borrows the WebView's UA).
 * - `'any'`: both: native-app stacks are not a signal, browser User-Agents are checked.
 *
 * In every case scripts and tools (curl, python-requests, Go-http-client…), headless
 * browsers, crawlers and a missing User-Agent stay flagged, and velocity, IP lists,
 * identity and the rest decide as usual.
 */
export type Clients = 'browser' | 'app' | 'any';

/** Every value of {@link Clients}. */
export const CLIENT_KINDS: readonly Clients[] = Object.freeze(['browser', 'app', 'any']);

/**
 * Validates a `clients` option; undefined stays undefined (the default applies).
 * Throws {@link VigilConfigError} naming the option, the value and the fix.
 *
 * @example
 * checkClients('app', 'routes[1].clients', 'VIGIL_E_ROUTE') // 'app'
 */
export function checkClients(value: unknown, option: string, code: VigilConfigErrorCode = 'VIGIL_E_OPTION_VALUE'): Clients | undefined {
  if (value === undefined || CLIENT_KINDS.includes(value as Clients)) return value as Clients | undefined;
  throw new VigilConfigError(
    code,
    option,
    value,
    'which is not "browser", "app" or "any"',
    'Use "app" on the API your mobile apps call, "any" where browsers and apps share a route, or leave it out ("browser": web pages).',
  );
}

/** A native mobile app's HTTP stack, as its default User-Agent names it. */
export interface NativeAppStack {
  /** The stack's name, as decisions report it. */
  readonly name: string;
  /** Matches the stack's default User-Agent (or the token it adds to the app's own). */
  readonly pattern: RegExp;
  /** A real default User-Agent of the stack. */
  readonly example: string;
  /** Where it runs, and which frameworks send it by default. */
  readonly platforms: string;
}

/**
 * The HTTP stacks of native mobile apps, by the User-Agent they send by default. Data:
 * adding a stack is one entry with a real example (its test checks the example). Anyone
 * can send these strings: on a route marked `clients: 'app'` or `'any'`, the
 * User-Agent then says nothing either way, and the other signals decide.
 */
export const NATIVE_APP_USER_AGENTS: readonly NativeAppStack[] = Object.freeze([
  { name: 'okhttp', pattern: /\bokhttp\/\d[\w.-]*/i, example: 'okhttp/4.12.0', platforms: 'Android: OkHttp, Retrofit, React Native (Android)' },
  { name: 'Alamofire', pattern: /\bAlamofire\/\d[\w.-]*/i, example: 'MyApp/2.3 (com.example.app; build:41; iOS 17.4.0) Alamofire/5.8.0', platforms: 'iOS: Alamofire' },
  {
    name: 'CFNetwork',
    pattern: /\bCFNetwork\/\d[\w.]*(?: Darwin\/\d[\w.]*)?/i,
    example: 'MyApp/41 CFNetwork/1494.0.7 Darwin/23.4.0',
    platforms: 'iOS / macOS: URLSession, React Native and Expo (iOS)',
  },
  { name: 'Dart', pattern: /^Dart\/\d[\w.]*(?: \(dart:io\))?/i, example: 'Dart/3.3 (dart:io)', platforms: 'Flutter: dart:io HttpClient, package:http, Dio' },
  { name: 'Ktor', pattern: /\bKtor (?:client|http-client)\b/i, example: 'Ktor client', platforms: 'Kotlin Multiplatform: Ktor client' },
  {
    name: 'Dalvik',
    pattern: /^Dalvik\/\d[\w.]* \(Linux; U; Android [^)]*\)/i,
    example: 'Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP1A.240405.002)',
    platforms: 'Android: HttpURLConnection',
  },
] satisfies NativeAppStack[]);
