import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ScrubbedHeaders } from '../context/headers.js';
import { browserFamily, type UserAgentSignalOptions, userAgentSignals } from './user-agent.js';

const WEIGHTS: UserAgentSignalOptions['weights'] = {
  web_crawler: 0.91,
  http_client_library: 0.92,
  headless_browser: 0.93,
  missing_user_agent: 0.94,
  missing_headers: 0.7,
};
const OPTIONS: UserAgentSignalOptions = { weights: WEIGHTS, requireSecFetch: true };

/** Every header a browser sends on a secure origin (scrubbed form: normalized names). */
const FULL: ScrubbedHeaders = {
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Language': 'en-US,en;q=0.9',
  'Accept-Encoding': 'gzip, deflate, br',
  'Sec-Fetch-Site': 'same-origin',
  'Sec-Fetch-Mode': 'navigate',
  'Sec-Fetch-Dest': 'document',
  'Sec-Fetch-User': '?1',
  Cookie: true,
};
const without = (...names: string[]): ScrubbedHeaders => Object.fromEntries(Object.entries(FULL).filter(([name]) => !names.includes(name)));

const UA = {
  chromeWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  chromeMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  chrome88: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36',
  chrome89: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/89.0.4389.82 Safari/537.36',
  chromeAndroid: 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36',
  androidWebView: 'Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.43 Mobile Safari/537.36',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91',
  opera: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0',
  samsung: 'Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36',
  chromium: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/119.0.6045.199 Chrome/119.0.6045.199 Safari/537.36',
  chromeLinuxMint: 'Mozilla/5.0 (X11; Linux Mint 21; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
  firefox: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
  firefoxLinux: 'Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0',
  firefoxAndroid: 'Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0',
  safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  safariIphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  criosOldIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 15_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/114.0.5735.124 Mobile/15E148 Safari/604.1',
  criosIpad: 'Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1',
  fxios: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15',
  edgios: 'Mozilla/5.0 (iPhone; CPU iPhone OS 16_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 EdgiOS/120.0.2210.150 Mobile/15E148 Safari/605.1.15',
};

const names = (ua: string | undefined, headers: ScrubbedHeaders = FULL, options: UserAgentSignalOptions = OPTIONS) => userAgentSignals(ua, headers, options).map((s) => s.name);

describe('browserFamily', () => {
  it.each([
    [UA.chromeWin, 'chromium', 124],
    [UA.chrome88, 'chromium', 88],
    [UA.chromeAndroid, 'chromium', 124],
    [UA.androidWebView, 'chromium', 120],
    [UA.edge, 'chromium', 120],
    [UA.opera, 'chromium', 120],
    [UA.samsung, 'chromium', 115],
    [UA.chromium, 'chromium', 119],
    [UA.firefox, 'firefox', 125],
    [UA.firefoxAndroid, 'firefox', 125],
    [UA.safariMac, 'safari', 17],
    [UA.safariIphone, 'safari', 17],
  ] as const)('%s → %s %i', (ua, family, major) => {
    expect(browserFamily(ua)).toEqual({ family, major });
  });

  it.each([
    [UA.criosOldIos, 15],
    [UA.criosIpad, 17],
    [UA.fxios, 17],
    [UA.edgios, 16],
  ])('a branded iOS browser is WebKit (safari) with the iOS version: %s', (ua, major) => {
    expect(browserFamily(ua)).toEqual({ family: 'safari', major });
  });

  it.each([
    'curl/8.4.0',
    'Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16',
    'Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1)',
    'Mozilla/5.0',
    'Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
    '',
  ])('no family for %j', (ua) => {
    expect(browserFamily(ua)).toBeUndefined();
  });
});

describe('userAgentSignals: declared automation', () => {
  it.each([undefined, '', '   ', '\t'])('missing or empty User-Agent %j → missing_user_agent, code 3', (ua) => {
    const signals = userAgentSignals(ua, FULL, OPTIONS);
    expect(signals).toEqual([{ name: 'missing_user_agent', weight: 0.94, code: 3, reason: 'no User-Agent header' }]);
  });

  it.each([
    'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
    'Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36',
    'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)',
    'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)',
    'facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)',
    'Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 (compatible; GPTBot/1.0; +https://openai.com/gptbot)',
    'Mozilla/5.0',
  ])('crawler %s → web_crawler, code 2 (even with a full header set)', (ua) => {
    const signals = userAgentSignals(ua, FULL, OPTIONS);
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({ name: 'web_crawler', weight: 0.91, code: 2 });
    expect(signals[0]?.cap).toBeUndefined();
    expect(signals[0]?.deny).toBeUndefined();
  });

  it.each([
    'curl/8.4.0',
    'curl/7.68.0',
    'Wget/1.21.4',
    'python-requests/2.31.0',
    'Python-urllib/3.11',
    'python-httpx/0.25.0',
    'Python/3.11 aiohttp/3.9.1',
    'Go-http-client/1.1',
    'Go-http-client/2.0',
    'axios/1.6.2',
    'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)',
    'node-fetch',
    'undici',
    'node',
    'Node/20.11.0',
    'okhttp/4.12.0',
    'Java/1.8.0_392',
    'Java-http-client/17.0.2',
    'Apache-HttpClient/4.5.14 (Java/17.0.2)',
    'libwww-perl/6.72',
    'PostmanRuntime/7.36.0',
    'Scrapy/2.11.0 (+https://scrapy.org)',
    'HTTPie/3.2.2',
    'GuzzleHttp/7',
    'Faraday v2.7.11',
    'rest-client/2.1.0 (linux x86_64) ruby/3.2.2p53',
    'Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.3570',
    'Mozilla/5.0 (Windows NT 10.0; Microsoft Windows 10.0.19045; en-US) PowerShell/7.4.0',
    'Dart/3.2 (dart:io)',
    'got (https://github.com/sindresorhus/got)',
    'Deno/1.38.0',
    'Bun/1.0.14',
    'insomnia/8.4.5',
    'RestSharp/110.2.0.0',
    'reqwest/0.11.22',
    'PHP/8.2',
  ])('HTTP client %s → http_client_library, code 3', (ua) => {
    const signals = userAgentSignals(ua, FULL, OPTIONS);
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({ name: 'http_client_library', weight: 0.92, code: 3 });
  });

  it.each([
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/89.0.4389.0 Safari/537.36',
    'Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Puppeteer',
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Playwright/1.40',
    'selenium',
  ])('headless %s → headless_browser, code 3', (ua) => {
    const signals = userAgentSignals(ua, FULL, OPTIONS);
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({ name: 'headless_browser', weight: 0.93, code: 3 });
  });

  it('reports one automation signal: headless before HTTP client before crawler', () => {
    expect(names('HeadlessChrome/120 curl/8.0 Googlebot/2.1')).toEqual(['headless_browser']);
    expect(names('curl/8.0 (compatible; Googlebot/2.1)')).toEqual(['http_client_library']);
  });

  it('matches case-insensitively and on word boundaries only', () => {
    expect(names('CURL/8.0')).toEqual(['http_client_library']);
    expect(names('PYTHON-REQUESTS/2.0')).toEqual(['http_client_library']);
    // `node`, `mint`, `ruby` only as the leading product token, never inside a browser UA.
    expect(names(UA.chromeLinuxMint)).toEqual([]);
    expect(names('Mozilla/5.0 (X11; Ruby; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0')).toEqual([]);
    expect(names('Nodejs-like/1.0 Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36')).not.toContain('http_client_library');
  });

  it('uses the configured weights', () => {
    const options = { ...OPTIONS, weights: { ...WEIGHTS, http_client_library: 0.5, missing_user_agent: 0.25 } };
    expect(userAgentSignals('curl/8.0', FULL, options)[0]?.weight).toBe(0.5);
    expect(userAgentSignals(undefined, FULL, options)[0]?.weight).toBe(0.25);
  });

  it('classifies an enormous User-Agent on a bounded prefix without failing', () => {
    const huge = `${UA.chromeWin} ${'x'.repeat(100_000)}`;
    expect(() => userAgentSignals(huge, FULL, OPTIONS)).not.toThrow();
    expect(names(`curl/8.0 ${'a'.repeat(100_000)}`)).toEqual(['http_client_library']);
  });
});

describe('userAgentSignals: false representation (missing headers)', () => {
  it.each([UA.chromeWin, UA.chromeMac, UA.chromeAndroid, UA.androidWebView, UA.edge, UA.opera, UA.samsung, UA.chromium, UA.chromeLinuxMint, UA.firefox, UA.firefoxLinux, UA.firefoxAndroid, UA.safariMac, UA.safariIphone, UA.criosIpad, UA.fxios, UA.edgios])(
    'a full browser header set raises nothing: %s',
    (ua) => {
      expect(userAgentSignals(ua, FULL, OPTIONS)).toEqual([]);
    },
  );

  it('Chrome ≥ 89 without Sec-Fetch-* → missing_headers, code 11, capped at challenge', () => {
    const signals = userAgentSignals(UA.chromeWin, without('Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest', 'Sec-Fetch-User'), OPTIONS);
    expect(signals).toEqual([
      {
        name: 'missing_headers',
        weight: 0.7,
        code: 11,
        cap: 'challenge',
        reason: 'a chromium User-Agent without Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest, which that browser always sends',
        details: { missing: ['Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest'] },
      },
    ]);
  });

  it('names exactly the headers that are missing', () => {
    expect(userAgentSignals(UA.chrome89, without('Sec-Fetch-Dest'), OPTIONS)[0]?.details).toEqual({ missing: ['Sec-Fetch-Dest'] });
    expect(userAgentSignals(UA.edge, without('Accept', 'Sec-Fetch-Mode'), OPTIONS)[0]?.details).toEqual({ missing: ['Accept', 'Sec-Fetch-Mode'] });
    expect(userAgentSignals(UA.chromeWin, {}, OPTIONS)[0]?.details).toEqual({ missing: ['Accept', 'Accept-Language', 'Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest'] });
  });

  it('Chrome before 89 is not expected to send Sec-Fetch-*', () => {
    expect(userAgentSignals(UA.chrome88, { Accept: '*/*', 'Accept-Language': 'en' }, OPTIONS)).toEqual([]);
    expect(userAgentSignals(UA.chrome89, { Accept: '*/*', 'Accept-Language': 'en' }, OPTIONS)).toHaveLength(1);
  });

  it('Firefox without Accept-Language → missing_headers', () => {
    const signals = userAgentSignals(UA.firefox, without('Accept-Language'), OPTIONS);
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({ name: 'missing_headers', code: 11, cap: 'challenge', details: { missing: ['Accept-Language'] } });
    expect(signals[0]?.reason).toMatch(/firefox.*Accept-Language/);
  });

  it('Firefox and Safari are not required to send Sec-Fetch-*', () => {
    const noSecFetch = { Accept: 'text/html', 'Accept-Language': 'fr-FR' };
    expect(userAgentSignals(UA.firefox, noSecFetch, OPTIONS)).toEqual([]);
    expect(userAgentSignals(UA.safariMac, noSecFetch, OPTIONS)).toEqual([]);
    expect(userAgentSignals(UA.safariIphone, noSecFetch, OPTIONS)).toEqual([]);
  });

  it('Safari without Accept → missing_headers', () => {
    expect(userAgentSignals(UA.safariIphone, without('Accept'), OPTIONS)[0]).toMatchObject({ name: 'missing_headers', details: { missing: ['Accept'] } });
  });

  it('Chrome, Firefox and Edge on iOS are WebKit: Sec-Fetch-* is not required, Accept and Accept-Language are', () => {
    // WebKit sends Sec-Fetch-* from iOS 16.4 only: a CriOS on iOS 15 never does, whatever its own version.
    const webkitHeaders = { Accept: 'text/html', 'Accept-Language': 'en-GB' };
    for (const ua of [UA.criosOldIos, UA.criosIpad, UA.fxios, UA.edgios]) {
      expect(userAgentSignals(ua, webkitHeaders, OPTIONS), ua).toEqual([]);
      expect(userAgentSignals(ua, { Accept: 'text/html' }, OPTIONS)[0]?.details, ua).toEqual({ missing: ['Accept-Language'] });
    }
  });

  it('a scrubbed header (value true) counts as present', () => {
    const scrubbed: ScrubbedHeaders = { Accept: true, 'Accept-Language': true, 'Sec-Fetch-Site': true, 'Sec-Fetch-Mode': true, 'Sec-Fetch-Dest': true };
    expect(userAgentSignals(UA.chromeWin, scrubbed, OPTIONS)).toEqual([]);
  });

  it('requireSecFetch: false → Sec-Fetch-* not required (plain-HTTP apps), Accept and Accept-Language still are', () => {
    const options = { ...OPTIONS, requireSecFetch: false };
    expect(userAgentSignals(UA.chromeWin, { Accept: '*/*', 'Accept-Language': 'en' }, options)).toEqual([]);
    expect(userAgentSignals(UA.chromeWin, { Accept: '*/*' }, options)[0]?.details).toEqual({ missing: ['Accept-Language'] });
  });

  it('a UA of no known browser family is not checked for headers', () => {
    expect(userAgentSignals('Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148', {}, OPTIONS)).toEqual([]);
    expect(userAgentSignals('MyApp/1.0 CFNetwork/1410.0.3 Darwin/22.6.0', {}, OPTIONS)).toEqual([]);
  });

  it('uses the configured missing_headers weight', () => {
    const options = { ...OPTIONS, weights: { ...WEIGHTS, missing_headers: 0.3 } };
    expect(userAgentSignals(UA.chromeWin, {}, options)[0]?.weight).toBe(0.3);
  });
});

describe('userAgentSignals: properties', () => {
  it('never throws, returns at most one signal, with a known name, code and configured weight', () => {
    const known: Record<string, { code: number; weight: number }> = {
      web_crawler: { code: 2, weight: WEIGHTS.web_crawler },
      http_client_library: { code: 3, weight: WEIGHTS.http_client_library },
      headless_browser: { code: 3, weight: WEIGHTS.headless_browser },
      missing_user_agent: { code: 3, weight: WEIGHTS.missing_user_agent },
      missing_headers: { code: 11, weight: WEIGHTS.missing_headers },
    };
    const ua = fc.oneof(
      fc.string({ maxLength: 700 }),
      fc.constantFrom(...Object.values(UA)).chain((base) => fc.string({ maxLength: 40 }).map((tail) => `${base}${tail}`)),
    );
    const headers = fc.subarray(Object.keys(FULL)).map((keep) => Object.fromEntries(keep.map((k) => [k, FULL[k] as string | true])));
    fc.assert(
      fc.property(ua, headers, fc.boolean(), (text, hs, requireSecFetch) => {
        const signals = userAgentSignals(text, hs, { weights: WEIGHTS, requireSecFetch });
        expect(signals.length).toBeLessThanOrEqual(1);
        for (const signal of signals) {
          expect(known[signal.name]).toEqual({ code: signal.code, weight: signal.weight });
          expect(signal.deny).toBeUndefined();
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a browser UA with a full header set is never flagged, whatever headers are added', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.values(UA)),
        fc.dictionary(fc.stringMatching(/^X-[A-Z][a-z]{1,8}$/), fc.string({ maxLength: 20 })),
        (ua, extra) => {
          expect(userAgentSignals(ua, { ...extra, ...FULL }, OPTIONS)).toEqual([]);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("userAgentSignals: requireSecFetch 'auto', from what the request's origin allows (issue 13)", () => {
  // Chromium sends no Sec-Fetch-* (nor client hints) to an origin that is not
  // potentially trustworthy: http://intranet:8080 and http://192.168.1.5 got none, and
  // `requireSecFetch: true` challenged every form there as a missing-headers bot.
  const AUTO: UserAgentSignalOptions = { weights: WEIGHTS, requireSecFetch: 'auto' };
  /** What Chromium 124 sends posting a form over plain HTTP (no Sec-Fetch-*, no client hints). */
  const plainHttp = (host: string): ScrubbedHeaders => ({
    Host: host,
    Connection: 'keep-alive',
    'Cache-Control': 'max-age=0',
    'Upgrade-Insecure-Requests': '1',
    Origin: `http://${host}`,
    'Content-Type': 'application/x-www-form-urlencoded',
    'User-Agent': UA.chromeWin,
    Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8',
    Referer: `http://${host}/login`,
    'Accept-Encoding': 'gzip, deflate',
    'Accept-Language': 'en-US,en;q=0.9',
    Cookie: true,
  });

  it.each(['intranet:8080', '192.168.1.5', '10.0.0.7:3000', 'app.example.com'])('Chromium over http://%s without Sec-Fetch-* → nothing', (host) => {
    for (const ua of [UA.chromeWin, UA.edge, UA.chromeAndroid]) {
      expect(userAgentSignals(ua, plainHttp(host), AUTO, { protocol: 'http' })).toEqual([]);
    }
  });

  it('the same request over HTTPS → missing_headers naming Sec-Fetch-*', () => {
    const signals = userAgentSignals(UA.chromeWin, plainHttp('intranet:8080'), AUTO, { protocol: 'https' });
    expect(signals.map((s) => s.name)).toEqual(['missing_headers']);
    expect(signals[0]?.details).toEqual({ missing: ['Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest'] });
  });

  it.each(['localhost:3000', 'localhost', '127.0.0.1:8080', '[::1]:3000', 'shop.localhost'])('over http://%s (a secure context) → missing_headers', (host) => {
    expect(names(UA.chromeWin, plainHttp(host), AUTO)).toEqual(['missing_headers']);
    expect(userAgentSignals(UA.chromeWin, plainHttp(host), AUTO, { protocol: 'http' })[0]?.details).toEqual({ missing: ['Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest'] });
  });

  it('Chromium over HTTPS with its Sec-Fetch-* → nothing; Chromium < 89 is never expected to send them', () => {
    expect(userAgentSignals(UA.chromeWin, FULL, AUTO, { protocol: 'https' })).toEqual([]);
    expect(userAgentSignals(UA.chrome88, without('Sec-Fetch-Site', 'Sec-Fetch-Mode', 'Sec-Fetch-Dest'), AUTO, { protocol: 'https' })).toEqual([]);
  });

  it('Accept and Accept-Language are still required on plain HTTP', () => {
    const { 'Accept-Language': _dropped, ...headers } = plainHttp('intranet:8080');
    expect(userAgentSignals(UA.chromeWin, headers, AUTO, { protocol: 'http' })[0]?.details).toEqual({ missing: ['Accept-Language'] });
  });

  it('true and false stay explicit overrides of the origin', () => {
    expect(userAgentSignals(UA.chromeWin, plainHttp('intranet:8080'), { ...AUTO, requireSecFetch: true }, { protocol: 'http' }).map((s) => s.name)).toEqual(['missing_headers']);
    expect(userAgentSignals(UA.chromeWin, plainHttp('intranet:8080'), { ...AUTO, requireSecFetch: false }, { protocol: 'https' })).toEqual([]);
  });
});

describe("userAgentSignals: clients 'app' / 'any' — the app's own mobile clients (issue 13)", () => {
  const NATIVE = [
    'okhttp/4.12.0',
    'okhttp/4.9.2',
    'MyApp/2.3 (com.example.app; build:41; iOS 17.4.0) Alamofire/5.8.0',
    'MyApp/41 CFNetwork/1494.0.7 Darwin/23.4.0',
    'Dart/3.3 (dart:io)',
    'Ktor client',
    'Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP1A.240405.002)',
  ];
  const APP_HEADERS: ScrubbedHeaders = { Accept: 'application/json', 'Content-Type': 'application/json', 'Accept-Encoding': 'gzip' };

  it.each(NATIVE)("%s is no signal on a route serving 'app' or 'any' clients", (ua) => {
    for (const clients of ['app', 'any'] as const) expect(userAgentSignals(ua, APP_HEADERS, OPTIONS, { clients })).toEqual([]);
  });

  it("a browser-only route (the default, or clients: 'browser') still flags okhttp, Dart and Ktor as before", () => {
    for (const ua of ['okhttp/4.12.0', 'Dart/3.3 (dart:io)']) {
      expect(names(ua, APP_HEADERS)).toEqual(['http_client_library']);
      expect(userAgentSignals(ua, APP_HEADERS, OPTIONS, { clients: 'browser' }).map((s) => s.name)).toEqual(['http_client_library']);
    }
    expect(names('Ktor client', APP_HEADERS)).toEqual(['web_crawler']);
  });

  it.each([
    ['curl/8.4.0', 'http_client_library'],
    ['python-requests/2.31.0', 'http_client_library'],
    ['Go-http-client/1.1', 'http_client_library'],
    ['axios/1.6.2', 'http_client_library'],
    ['okhttp/4.12.0 curl/8.4.0', 'http_client_library'],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36', 'headless_browser'],
    ['Googlebot/2.1 (+http://www.google.com/bot.html)', 'web_crawler'],
    ['', 'missing_user_agent'],
  ])("%s stays flagged on an 'app' or 'any' route (%s)", (ua, signal) => {
    for (const clients of ['app', 'any'] as const) expect(userAgentSignals(ua, APP_HEADERS, OPTIONS, { clients }).map((s) => s.name)).toEqual([signal]);
  });

  it("'app' does not hold a browser User-Agent to a browser's headers (native code borrows WebView UAs); 'any' does", () => {
    expect(userAgentSignals(UA.chromeAndroid, APP_HEADERS, OPTIONS, { clients: 'app' })).toEqual([]);
    expect(userAgentSignals(UA.chromeAndroid, APP_HEADERS, OPTIONS, { clients: 'any' }).map((s) => s.name)).toEqual(['missing_headers']);
    expect(userAgentSignals(UA.chromeAndroid, APP_HEADERS, OPTIONS).map((s) => s.name)).toEqual(['missing_headers']);
  });
});
