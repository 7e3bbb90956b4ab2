import { type ParsedIp, parseAddress } from '../context/ip.js';

/**
 * Every key the embedded engine reads or writes, in one table. Arguments are already
 * keyed: `ip` is a counting key (an IPv4 address, an IPv6 /64), `net` a neighbourhood
 * (/24, /48), `acct` the HMAC of an account's identifier, `dev` a device id from Vigil's
 * signed cookie. No raw email, username or phone ever reaches a key.
 *
 * Prefixes: `v:` velocity (windowed counters and distinct sets), `p:` pending failures
 * (an account that failed in a scope and has not succeeded there since), `k:`
 * familiarity, `b:` / `a:` block and approval lists (pinned), `d:` device records.
 */
const KEY_BUILDERS = {
  /** Attempts per IP and event type (counter). */
  ipAttempts: (ip: string, type: string) => `v:ip:${ip}:ev:${type}`,
  /** Failed logins per IP (counter). */
  ipFailures: (ip: string) => `v:ip:${ip}:fail`,
  /** Distinct accounts tried per IP, answered or not (distinct). */
  ipAccounts: (ip: string) => `v:ip:${ip}:acct`,
  /** Distinct accounts that signed up from an IP (distinct). */
  ipSignups: (ip: string) => `v:ip:${ip}:signup`,
  /** Distinct accounts asking for a password reset from an IP (distinct). */
  ipResets: (ip: string) => `v:ip:${ip}:reset`,
  /** Distinct accounts that failed in a scope (distinct); `scope` is `ip:…`, `net:…`, `dev:…`, `site`. */
  failedAccounts: (scope: string) => `v:${scope}:facct`,
  /** Distinct accounts that failed in a scope and then succeeded there (distinct). */
  resolvedAccounts: (scope: string) => `v:${scope}:fres`,
  /** The pending failure of an account in a scope (value): a later success there resolves it. */
  pendingFailure: (scope: string, acct: string) => `p:${scope}:${acct}`,
  /** The account a device failed on last (value, one window): its next success elsewhere is a mistyped email. */
  deviceLastFailure: (dev: string) => `p:devlast:${dev}`,
  /** Distinct accounts that logged in successfully in a scope: with the next, its population (distinct, long window). */
  population: (scope: string) => `v:${scope}:pop`,
  /** Distinct devices (or, without a device cookie, accounts) of those successes (distinct, long window). */
  populationDevices: (scope: string) => `v:${scope}:popdev`,
  /** What learning concluded about a scope (`ip:…`, `net:…`, `dev:…`, `acct:…`): one value a decision reads (see `engine/summary.ts`). */
  summary: (scope: string) => `v:${scope}:sum`,
  /** Distinct accounts tried from a device (distinct). */
  deviceAccounts: (dev: string) => `v:dev:${dev}:acct`,
  /** Distinct networks a device tried logins from (distinct). */
  deviceNetworks: (dev: string) => `v:dev:${dev}:net`,
  /** Failed logins on an account, from anywhere (counter; reset by a success). */
  accountFailures: (acct: string) => `v:acct:${acct}:fail`,
  /** Set while an account's success has resolved another account's failure as a mistyped email (once per window). */
  accountTypoResolved: (acct: string) => `p:typo:${acct}`,
  /** Distinct networks an account succeeded from while unfamiliar there (distinct). */
  accountNewNetworks: (acct: string) => `v:acct:${acct}:unet`,
  /** Distinct accounts of logins from unfamiliar networks and devices, site-wide, that succeeded (distinct). */
  siteUnfamiliarSucceeded: () => 'v:site:uok',
  /** Attack mode is on (value with the window's TTL). */
  siteAttack: () => 'v:site:attack',
  /** The networks and devices an account is familiar on (JSON value, `familiarForMs`; see `engine/familiarity.ts`). */
  familiarity: (acct: string) => `k:${acct}`,
  /** Distinct addresses signed up per mailbox, aliases together (distinct, `signupsPerMailboxWindowMs`). */
  mailboxSignups: (mailbox: string) => `v:mbox:${mailbox}:signup`,
  /** A blocked user (pinned value). */
  blockedUser: (userId: string) => `b:user:${userId}`,
  /** A reported device (pinned value). */
  reportedDevice: (dev: string) => `b:device:${dev}`,
  /** An approved device (pinned value). */
  approvedDevice: (dev: string) => `a:device:${dev}`,
  /** The devices a user logged in or signed up from (JSON value). */
  userDevices: (userKey: string) => `d:user:${userKey}`,
} as const;

/**
 * Most keys each builder remembers (see {@link remembered}); past it the builder starts
 * over. A few hundred kB per builder at most, bounded whatever the traffic.
 */
export const REMEMBERED_KEYS = 2048;

/**
 * The builder, remembering what it built for its last {@link REMEMBERED_KEYS} arguments
 * (two levels for two arguments). Why: a key built afresh for every request is a new
 * string, which the store's map must flatten and hash (~150 ns for a 40-character key,
 * measured) before it can compare it; the string this returns again for the same
 * arguments is the very one the store holds, whose hash V8 keeps (~10 ns). Finding the
 * argument costs a hash of the argument alone, shorter, and nothing when it is itself a
 * string returned before (a scope). Same strings either way: nothing but the cost
 * changes. At the bound the whole cache starts over rather than tracking recency: a
 * spray of new addresses pays one insert each, never a walk.
 */
export function remembered<A extends unknown[]>(build: (...args: A) => string): (...args: A) => string {
  if (build.length === 0) {
    const key = build(...([] as unknown as A));
    return () => key;
  }
  let held = 0;
  let cache = new Map<string, string | Map<string, string>>();
  if (build.length === 1) {
    return (...args) => {
      const a = args[0] as string;
      let key = cache.get(a) as string | undefined;
      if (key === undefined) {
        key = build(...args);
        if (++held > REMEMBERED_KEYS) {
          cache = new Map();
          held = 1;
        }
        cache.set(a, key);
      }
      return key;
    };
  }
  return (...args) => {
    const [a, b] = args as unknown as [string, string];
    let inner = cache.get(a) as Map<string, string> | undefined;
    let key = inner?.get(b);
    if (key === undefined) {
      key = build(...args);
      if (++held > REMEMBERED_KEYS) {
        cache = new Map();
        inner = undefined;
        held = 1;
      }
      if (inner === undefined) {
        inner = new Map();
        cache.set(a, inner);
      }
      inner.set(b, key);
    }
    return key;
  };
}

type Builders = typeof KEY_BUILDERS;
/** The engine's keys (the table above), each builder {@link remembered}. */
export const KEYS = Object.fromEntries(Object.entries(KEY_BUILDERS).map(([name, build]) => [name, remembered(build as (...a: string[]) => string)])) as unknown as Builders;

/** The scope names of pending-failure evidence. */
export const scopes = {
  ip: remembered((ip: string) => `ip:${ip}`),
  net: remembered((net: string) => `net:${net}`),
  dev: remembered((dev: string) => `dev:${dev}`),
  acct: remembered((acct: string) => `acct:${acct}`),
  site: 'site',
} as const;

/**
 * The neighbourhood of an address, whose evidence is pooled to see rotation inside a
 * range: its IPv4 /24, or its IPv6 /48 (a site's usual allocation). IPv4-mapped IPv6 is
 * its IPv4 /24. `undefined` for what does not parse.
 */
export function neighbourhoodKey(ip: string): string | undefined {
  const addr = parseAddress(ip);
  return addr ? neighbourhoodOf(addr) : undefined;
}

/** {@link neighbourhoodKey} of an address already parsed. */
export function neighbourhoodOf(addr: ParsedIp): string {
  if (addr.v4 !== undefined) {
    const text = addr.text;
    return `${text.slice(0, text.lastIndexOf('.'))}.0/24`;
  }
  const p = addr.v6.parts;
  return `${p[0]?.toString(16)}:${p[1]?.toString(16)}:${p[2]?.toString(16)}::/48`;
}
