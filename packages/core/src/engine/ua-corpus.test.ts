import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ScrubbedHeaders } from '../context/headers.js';
import { DEFAULT_WEIGHTS } from '../providers/local.js';
import { type UserAgentSignalOptions, userAgentSignals } from './user-agent.js';

// Two public corpora, as devDependencies:
// - crawler-user-agents: patterns of bots, crawlers and tools, each with sample `instances`;
// - user-agents (Intoli): 10 000 User-Agents of real browsers, weighted by traffic share.
const require = createRequire(import.meta.url);
const OPTIONS: UserAgentSignalOptions = { weights: DEFAULT_WEIGHTS, requireSecFetch: true };
const AUTOMATION = new Set(['web_crawler', 'http_client_library', 'headless_browser', 'missing_user_agent']);
const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(2)}%`;

interface CrawlerEntry {
  pattern: string;
  instances?: string[];
}
interface BrowserEntry {
  userAgent: string;
}

function loadCrawlers(): CrawlerEntry[] {
  return JSON.parse(readFileSync(require.resolve('crawler-user-agents'), 'utf8')) as CrawlerEntry[];
}

function loadBrowsers(): BrowserEntry[] {
  // `user-agents` does not export its package.json; its data sits beside the main entry.
  let root: string;
  try {
    root = dirname(require.resolve('user-agents/package.json'));
  } catch {
    root = dirname(dirname(require.resolve('user-agents')));
  }
  const file = [join(root, 'dist', 'user-agents.json'), join(root, 'user-agents.json')].find((f) => existsSync(f));
  if (!file) throw new Error(`user-agents data not found under ${root}`);
  return JSON.parse(readFileSync(file, 'utf8')) as BrowserEntry[];
}

const at = (re: RegExp, ua: string) => Number(re.exec(ua)?.[1] ?? Number.NaN);

/**
 * The headers the browser behind a User-Agent really sends on a secure origin: Accept and
 * Accept-Language always; Sec-Fetch-* from Chromium 76 (Dest from 80), Firefox 90 and
 * WebKit 16.4 (every iOS browser is WebKit, whatever brand it names).
 */
function realisticHeaders(ua: string): ScrubbedHeaders {
  const headers: ScrubbedHeaders = {
    Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'Accept-Language': 'en-US,en;q=0.9',
    'Accept-Encoding': 'gzip, deflate, br',
  };
  const secFetch = (dest: boolean) => {
    headers['Sec-Fetch-Site'] = 'same-origin';
    headers['Sec-Fetch-Mode'] = 'navigate';
    headers['Sec-Fetch-User'] = '?1';
    if (dest) headers['Sec-Fetch-Dest'] = 'document';
  };
  const ios = /\((?:iPhone|iPad|iPod)\b[^)]*? OS (\d+)_(\d+)/.exec(ua);
  if (ios) {
    const version = Number(ios[1]) + Number(ios[2]) / 100;
    if (version >= 16.04) secFetch(true);
  } else if (/\b(?:Chrome|Chromium)\/\d/.test(ua)) {
    const major = at(/\b(?:Chrome|Chromium)\/(\d+)/, ua);
    if (major >= 76) secFetch(major >= 80);
  } else if (/\bFirefox\/\d/.test(ua)) {
    if (at(/\bFirefox\/(\d+)/, ua) >= 90) secFetch(true);
  } else if (/\bVersion\/\d/.test(ua)) {
    const [, major, minor] = /\bVersion\/(\d+)(?:\.(\d+))?/.exec(ua) ?? [];
    if (Number(major) + Number(minor ?? 0) / 100 >= 16.04) secFetch(true);
  }
  return headers;
}

describe('User-Agent corpora', () => {
  it('flags ≥ 95% of the crawler-user-agents instances as automation', () => {
    const entries = loadCrawlers();
    let total = 0;
    const missed: string[] = [];
    const bySignal: Record<string, number> = {};
    for (const entry of entries) {
      for (const ua of entry.instances ?? []) {
        total++;
        const names = userAgentSignals(ua, {}, OPTIONS).map((s) => s.name);
        const hit = names.find((n) => AUTOMATION.has(n));
        if (hit) bySignal[hit] = (bySignal[hit] ?? 0) + 1;
        else missed.push(ua);
      }
    }
    expect(total).toBeGreaterThan(1000);
    const flagged = total - missed.length;
    console.log(
      `crawler-user-agents: ${flagged}/${total} instances flagged as automation (${pct(flagged, total)}); ` +
        Object.entries(bySignal)
          .map(([name, n]) => `${name} ${pct(n, total)}`)
          .join(', '),
    );
    if (missed.length > 0) console.log(`not flagged (${missed.length}):\n  ${missed.join('\n  ')}`);
    expect(flagged / total).toBeGreaterThanOrEqual(0.95);
  });

  it('flags ≤ 0.1% of the user-agents browser corpus, given the headers each browser really sends', () => {
    const entries = loadBrowsers();
    expect(entries.length).toBeGreaterThanOrEqual(10_000);
    const automation: string[] = [];
    const anything: string[] = [];
    for (const { userAgent } of entries) {
      const signals = userAgentSignals(userAgent, realisticHeaders(userAgent), OPTIONS);
      if (signals.length > 0) anything.push(`${signals.map((s) => s.name).join(',')}: ${userAgent}`);
      if (signals.some((s) => AUTOMATION.has(s.name))) automation.push(userAgent);
    }
    const total = entries.length;
    console.log(
      `user-agents: ${automation.length}/${total} browser UAs flagged as automation (${pct(automation.length, total)}); ` +
        `${anything.length}/${total} with any signal, missing headers included (${pct(anything.length, total)})`,
    );
    if (anything.length > 0) console.log(`flagged:\n  ${anything.slice(0, 50).join('\n  ')}`);
    expect(automation.length / total).toBeLessThanOrEqual(0.001);
    expect(anything.length / total).toBeLessThanOrEqual(0.001);
  });

  it('the same browsers without any header but the UA are flagged only as missing headers, never as automation', () => {
    const entries = loadBrowsers();
    let automation = 0;
    let missingHeaders = 0;
    for (const { userAgent } of entries) {
      const names = userAgentSignals(userAgent, {}, OPTIONS).map((s) => s.name);
      if (names.some((n) => AUTOMATION.has(n))) automation++;
      if (names.includes('missing_headers')) missingHeaders++;
    }
    console.log(`user-agents without headers: ${pct(missingHeaders, entries.length)} flagged as missing headers (false representation)`);
    expect(automation).toBe(0);
    expect(missingHeaders / entries.length).toBeGreaterThan(0.9);
  });
});
