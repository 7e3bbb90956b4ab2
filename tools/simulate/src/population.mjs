import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { disposableEmailBlocklist } from 'disposable-email-domains-js';

const require = createRequire(import.meta.url);

// Real browser User-Agents with their market weights, from the maintained `user-agents`
// package (data only: its own random generator is not seedable).
// The data file is not in the package's exports map: locate it next to the resolved entry point.
const UA_DATA = JSON.parse(readFileSync(join(dirname(require.resolve('user-agents')), 'user-agents.json'), 'utf8'));
const cumulative = (list) => {
  const out = [];
  let sum = 0;
  for (const entry of list) {
    sum += entry.weight;
    out.push(sum);
  }
  return out;
};
const UA_CUMULATIVE = cumulative(UA_DATA);
const MOBILE_UAS = UA_DATA.filter((entry) => entry.deviceCategory === 'mobile');
const MOBILE_CUMULATIVE = cumulative(MOBILE_UAS);
const DESKTOP_UAS = UA_DATA.filter((entry) => entry.deviceCategory === 'desktop');
const DESKTOP_CUMULATIVE = cumulative(DESKTOP_UAS);

const DISPOSABLE = disposableEmailBlocklist();

// Private, shared (CGNAT), documentation, multicast and reserved IPv4 space: never a
// residential client.
function isReservedV4(a, b) {
  if (a === 0 || a === 10 || a === 127 || a >= 224) return true;
  if (a === 100 && b >= 64 && b <= 127) return true; // CGNAT
  if (a === 169 && b === 254) return true;
  if (a === 172 && b >= 16 && b <= 31) return true;
  if (a === 192 && b === 168) return true;
  if (a === 192 && b === 0) return true;
  if (a === 198 && (b === 18 || b === 19 || b === 51)) return true;
  if (a === 203 && b === 0) return true;
  return false;
}

/** A public IPv4 address, drawn from a handful of "ISP" /16s per population for realism. */
export function residentialIp(rng, isps) {
  const [a, b] = rng.pick(isps);
  return `${a}.${b}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** Some /16 prefixes of public space, as if several consumer ISPs. */
export function ispPrefixes(rng, count) {
  const out = [];
  while (out.length < count) {
    const a = rng.int(1, 223);
    const b = rng.int(0, 255);
    if (!isReservedV4(a, b)) out.push([a, b]);
  }
  return out;
}

/**
 * A random public IPv6 /48 (global unicast, 2a0x::/16-ish), as the first three groups:
 * what one customer or one hosting account gets.
 */
export function ipv6Prefix48(rng) {
  const h = () => rng.int(0, 0xffff).toString(16);
  return `2a0${rng.int(0, 9)}:${h()}:${h()}`;
}

/** An address inside the /48 `prefix`: a random /64 subnet and a random interface id. */
export function ipv6InPrefix(rng, prefix) {
  const h = () => rng.int(0, 0xffff).toString(16);
  return `${prefix}:${h()}:${h()}:${h()}:${h()}:${h()}`;
}

/** A public IPv6 address in 2001::/16-ish global unicast space, a distinct /64 per call. */
export function residentialIpv6(rng) {
  const h = () => rng.int(0, 0xffff).toString(16);
  return `2a0${rng.int(0, 9)}:${h()}:${h()}:${h()}:${h()}:${h()}:${h()}:${h()}`;
}

/** A real browser, weighted by market share. */
export function pickBrowser(rng) {
  return rng.weighted(UA_DATA, UA_CUMULATIVE);
}

/** A real mobile browser (`deviceCategory === 'mobile'`), weighted by market share: a phone. */
export function pickMobileBrowser(rng) {
  return rng.weighted(MOBILE_UAS, MOBILE_CUMULATIVE);
}

/** A real desktop browser, weighted by market share: a laptop. */
export function pickDesktopBrowser(rng) {
  return rng.weighted(DESKTOP_UAS, DESKTOP_CUMULATIVE);
}

function family(ua) {
  if (/\b(CriOS|FxiOS|EdgiOS)\//.test(ua)) {
    // Every iOS browser is WebKit: what it sends follows the iOS version.
    const ios = /OS (\d+)_(\d+)/.exec(ua);
    return { name: 'webkit', major: Number(ios?.[1] ?? 0), minor: Number(ios?.[2] ?? 0) };
  }
  const chrome = /\b(?:Chrome|Chromium)\/(\d+)/.exec(ua);
  if (chrome) return { name: 'chromium', major: Number(chrome[1]) };
  const firefox = /\bFirefox\/(\d+)/.exec(ua);
  if (firefox) return { name: 'firefox', major: Number(firefox[1]) };
  const safari = /Version\/(\d+)(?:\.(\d+))?/.exec(ua);
  if (safari) return { name: 'safari', major: Number(safari[1]), minor: Number(safari[2] ?? 0) };
  return { name: 'webkit', major: 0 };
}

function acceptLanguage(language) {
  const [lang] = language.split('-');
  return language === lang ? `${language},en;q=0.8` : `${language},${lang};q=0.9,en;q=0.8`;
}

/**
 * The headers this browser really sends for a same-origin login: a form post
 * (navigation) or a fetch() from the page. Sec-Fetch-* from Chromium 76+, Firefox 90+
 * and Safari 16.4+; client hints from Chromium 89+ (secure context: localhost counts).
 */
export function browserHeaders(browser, { origin, form }) {
  const ua = browser.userAgent;
  const f = family(ua);
  const headers = {
    'user-agent': ua,
    accept: form ? 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' : 'application/json, text/plain, */*',
    'accept-language': acceptLanguage(browser.language ?? 'en-US'),
    'accept-encoding': f.name === 'safari' || f.name === 'webkit' ? 'gzip, deflate, br' : 'gzip, deflate, br, zstd',
    origin,
    referer: `${origin}/`,
    'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json',
  };
  const secFetch =
    (f.name === 'chromium' && f.major >= 76) ||
    (f.name === 'firefox' && f.major >= 90) ||
    ((f.name === 'safari' || f.name === 'webkit') && (f.major > 16 || (f.major === 16 && f.minor >= 4)));
  if (secFetch) {
    headers['sec-fetch-site'] = 'same-origin';
    headers['sec-fetch-mode'] = form ? 'navigate' : 'cors';
    headers['sec-fetch-dest'] = form ? 'document' : 'empty';
    if (form) headers['sec-fetch-user'] = '?1';
  }
  if (f.name === 'chromium' && f.major >= 89) {
    headers['sec-ch-ua'] = `"Chromium";v="${f.major}", "Not_A Brand";v="24"`;
    headers['sec-ch-ua-mobile'] = browser.deviceCategory === 'mobile' ? '?1' : '?0';
    headers['sec-ch-ua-platform'] = `"${browser.platform ?? 'Unknown'}"`;
  }
  if (form) headers['upgrade-insecure-requests'] = '1';
  return headers;
}

/**
 * What cheap credential-stuffing tools send: a real browser's User-Agent pasted into a
 * fixed request template, without the headers that browser adds on its own.
 */
export function templatedHeaders(browser, { origin }) {
  return {
    'user-agent': browser.userAgent,
    accept: 'application/json',
    'content-type': 'application/json',
    origin,
  };
}

const FIRST = ['alex', 'sam', 'maria', 'li', 'noah', 'emma', 'omar', 'yuki', 'ana', 'lucas', 'fatima', 'ivan', 'chloe', 'ben', 'zoe', 'arjun'];
const LAST = ['smith', 'garcia', 'chen', 'kumar', 'martin', 'nguyen', 'brown', 'silva', 'kowalski', 'ali', 'lee', 'rossi'];
const DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me', 'gmx.de', 'orange.fr', 'hotmail.co.uk'];

/** A plausible personal email address. */
export function personalEmail(rng, n) {
  const sep = rng.pick(['.', '_', '', '']);
  return `${rng.pick(FIRST)}${sep}${rng.pick(LAST)}${n}@${rng.pick(DOMAINS)}`;
}

/** An address at a disposable-mail domain. */
export function disposableEmail(rng) {
  return `${rng.pick(FIRST)}${rng.int(100, 99999)}@${rng.pick(DISPOSABLE)}`;
}

/** A password a person might pick, and a typo of it. */
export function password(rng) {
  return `${rng.pick(FIRST)}${rng.pick(['!', '#', '', '2024', '1'])}${rng.int(10, 9999)}${rng.pick(LAST)}`;
}
export function typo(rng, pw) {
  const i = rng.int(0, pw.length - 1);
  return pw.slice(0, i) + String.fromCharCode(pw.charCodeAt(i) ^ 1) + pw.slice(i + 1);
}

/**
 * Distinct spellings of one Gmail mailbox (`johndoe@gmail.com`): dots anywhere in the
 * local part, `+tags`, upper case, and the `googlemail.com` domain; all deliver to the
 * same inbox. Distinct after lower-casing (the demo's user store lower-cases emails, so
 * `JohnDoe@…` and `johndoe@…` would be one account anyway).
 */
export function gmailAliases(rng, count, local = 'johndoe') {
  const seen = new Set();
  const out = [];
  for (let guard = 0; out.length < count && guard < count * 100; guard++) {
    let name = '';
    for (let i = 0; i < local.length; i++) {
      name += rng.chance(0.5) ? local[i].toUpperCase() : local[i];
      if (i < local.length - 1 && rng.chance(0.25)) name += '.';
    }
    if (rng.chance(0.6)) name += `+${rng.pick(['x', 'news', 'shop', 'promo', String(rng.int(1, 99))])}`;
    const email = `${name}@${rng.chance(0.3) ? 'googlemail.com' : 'gmail.com'}`;
    if (seen.has(email.toLowerCase())) continue;
    seen.add(email.toLowerCase());
    out.push(email);
  }
  return out;
}
