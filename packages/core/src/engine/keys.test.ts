import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../events.js';
import { ipCountingKey } from './identifiers.js';
import { KEYS, neighbourhoodKey, REMEMBERED_KEYS, remembered, scopes } from './keys.js';

type Builder = (...args: string[]) => string;
const BUILDERS = Object.entries(KEYS) as [string, Builder][];

/** The scopes a scope-taking key is built with (engine/learn.ts, engine/rules.ts). */
const SCOPE_KINDS = { ip: scopes.ip('*'), net: scopes.net('*'), dev: scopes.dev('*'), acct: scopes.acct('*'), site: scopes.site } as const;
/** Keys built from a scope rather than a bare identifier. */
const SCOPED = new Set(['failedAccounts', 'resolvedAccounts', 'pendingFailure', 'population', 'populationDevices', 'summary']);

/**
 * Every shape a key can take: its arguments as `*`, scope-taking keys once per scope kind.
 * Two builders (or two scope kinds) with one shape could write each other's keys.
 */
function shapes(): { name: string; shape: string }[] {
  const out: { name: string; shape: string }[] = [];
  for (const [name, build] of BUILDERS) {
    if (SCOPED.has(name)) {
      for (const [kind, scope] of Object.entries(SCOPE_KINDS)) out.push({ name: `${name}(${kind})`, shape: build(scope, '*') });
    } else out.push({ name, shape: build('*', '*') });
  }
  return out;
}

// Realistic arguments: what the engine passes in.
const hash = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'));
const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((p) => p.map((x) => x.toString(16)).join(':'));
const ip = fc.oneof(v4, v6).map(ipCountingKey);
const net = fc.oneof(v4, v6).map((a) => neighbourhoodKey(a) as string);
const device = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));
const userId = fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !s.includes(':'));
const scope = fc.oneof(ip.map(scopes.ip), net.map(scopes.net), device.map(scopes.dev), hash.map(scopes.acct), fc.constant(scopes.site));
const eventType = fc.constantFrom(...EVENT_TYPES);

/** Arguments for each builder, by what its parameters are. */
const ARGS: Record<string, fc.Arbitrary<string[]>> = {
  ipAttempts: fc.tuple(ip, eventType),
  ipFailures: fc.tuple(ip),
  ipAccounts: fc.tuple(ip),
  ipSignups: fc.tuple(ip),
  ipResets: fc.tuple(ip),
  failedAccounts: fc.tuple(scope),
  resolvedAccounts: fc.tuple(scope),
  pendingFailure: fc.tuple(scope, hash),
  deviceLastFailure: fc.tuple(device),
  population: fc.tuple(scope),
  populationDevices: fc.tuple(scope),
  summary: fc.tuple(scope),
  deviceAccounts: fc.tuple(device),
  deviceNetworks: fc.tuple(device),
  accountFailures: fc.tuple(hash),
  accountNewNetworks: fc.tuple(hash),
  accountTypoResolved: fc.tuple(hash),
  siteUnfamiliarSucceeded: fc.constant([]),
  siteAttack: fc.constant([]),
  familiarity: fc.tuple(hash),
  mailboxSignups: fc.tuple(hash),
  blockedUser: fc.tuple(userId),
  reportedDevice: fc.tuple(device),
  approvedDevice: fc.tuple(device),
  userDevices: fc.tuple(fc.oneof(userId, hash)),
};

describe('KEYS: the one table of store keys', () => {
  it('every key has a test domain for its arguments (a new key needs one here)', () => {
    expect(Object.keys(ARGS).sort()).toEqual(Object.keys(KEYS).sort());
  });

  it('every key (and every scope of a scoped key) has a distinct shape', () => {
    const all = shapes();
    const seen = new Map<string, string>();
    for (const { name, shape } of all) {
      expect(seen.get(shape), `${name} and ${seen.get(shape)} share the shape ${shape}`).toBeUndefined();
      seen.set(shape, name);
    }
    expect(seen.size).toBe(all.length);
  });

  it('every key starts with a documented prefix: v: velocity, p: pending, k: familiarity, b: / a: lists, d: device records', () => {
    for (const { name, shape } of shapes()) expect(shape, name).toMatch(/^(v|p|k|b|a|d):/);
    // Operator-written lists are apart from traffic keys: nothing traffic writes starts with b: or a:.
    for (const { name, shape } of shapes()) if (/^(b|a):/.test(shape)) expect(['blockedUser', 'reportedDevice', 'approvedDevice']).toContain(name);
  });

  it('no two keys collide for any arguments the engine passes (property)', () => {
    fc.assert(
      fc.property(fc.tuple(...BUILDERS.map(([name]) => ARGS[name] as fc.Arbitrary<string[]>)), fc.tuple(...BUILDERS.map(([name]) => ARGS[name] as fc.Arbitrary<string[]>)), (a, b) => {
        const owner = new Map<string, string>();
        for (const args of [a, b]) {
          BUILDERS.forEach(([name, build], i) => {
            const key = build(...(args[i] as string[]));
            const first = owner.get(key);
            // The same builder with the same arguments may repeat; nothing else may.
            if (first !== undefined) expect(first, key).toBe(`${name}(${JSON.stringify(args[i])})`);
            owner.set(key, `${name}(${JSON.stringify(args[i])})`);
          });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the same arguments always give the same key (a fleet agrees)', () => {
    for (const [name, build] of BUILDERS) expect(build('a', 'b'), name).toBe(build('a', 'b'));
  });

  it('scope names are distinct and prefix-free', () => {
    const names = Object.values(SCOPE_KINDS);
    expect(new Set(names).size).toBe(names.length);
    for (const a of names) for (const b of names) if (a !== b) expect(b.startsWith(a.replace('*', '')), `${a} / ${b}`).toBe(false);
  });
});

describe('neighbourhoodKey', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0/24'],
    ['203.0.113.0', '203.0.113.0/24'],
    ['203.0.113.255', '203.0.113.0/24'],
    ['203.0.113.77:8080', '203.0.113.0/24'],
    ['[203.0.113.1]', '203.0.113.0/24'],
    ['10.0.0.1', '10.0.0.0/24'],
  ])('IPv4 %s → its /24 %s', (ip, expected) => {
    expect(neighbourhoodKey(ip)).toBe(expected);
  });

  it.each([
    ['2001:db8:1:2::1', '2001:db8:1::/48'],
    ['2001:db8:1:ffff:ffff:ffff:ffff:ffff', '2001:db8:1::/48'],
    ['2001:0DB8:0001:0002::', '2001:db8:1::/48'],
    ['[2001:db8:1:2::1]:443', '2001:db8:1::/48'],
    ['2002:cb00:710a::1', '2002:cb00:710a::/48'],
    ['fe80::1%eth0', 'fe80:0:0::/48'],
    ['::1', '0:0:0::/48'],
  ])('IPv6 %s → its /48 %s', (ip, expected) => {
    expect(neighbourhoodKey(ip)).toBe(expected);
  });

  it.each([
    ['::ffff:203.0.113.10', '203.0.113.0/24'],
    ['::ffff:cb00:710a', '203.0.113.0/24'],
    ['::FFFF:203.0.113.200', '203.0.113.0/24'],
  ])('IPv4-mapped IPv6 %s → the IPv4 /24 %s (one client, one neighbourhood)', (ip, expected) => {
    expect(neighbourhoodKey(ip)).toBe(expected);
    expect(neighbourhoodKey(ip)).toBe(neighbourhoodKey(ipCountingKey(ip)));
  });

  it.each([[''], ['not-an-ip'], ['203.0.113'], ['256.1.1.1'], ['1.2.3.4.5'], ['010.1.2.3'], ['2001:db8::g'], ['2001:db8:1:2:3:4:5:6:7'], [' 203.0.113.1'], ['203.0.113.1 '], ['::ffff:1.2.3.4:80']])(
    'garbage %j → undefined (no range evidence)',
    (ip) => {
      expect(neighbourhoodKey(ip)).toBeUndefined();
    },
  );

  it('IPv4: two addresses share a neighbourhood exactly when their first 24 bits agree (property)', () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.nat(0xffffffff), (a, b) => {
        const text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
        expect(neighbourhoodKey(text(a)) === neighbourhoodKey(text(b))).toBe(a >>> 8 === b >>> 8);
      }),
    );
  });

  it('IPv6: two addresses share a neighbourhood exactly when their first 48 bits agree, and each /64 is inside its /48 (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }), fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }), (a, b) => {
        // Not IPv4-mapped (those are IPv4).
        fc.pre(!(a.slice(0, 5).every((x) => x === 0) && a[5] === 0xffff) && !(b.slice(0, 5).every((x) => x === 0) && b[5] === 0xffff));
        const text = (p: number[]) => p.map((x) => x.toString(16)).join(':');
        const same = a.slice(0, 3).every((x, i) => x === b[i]);
        expect(neighbourhoodKey(text(a)) === neighbourhoodKey(text(b))).toBe(same);
        // The counting key's /64 lies inside the /48.
        expect(neighbourhoodKey(text(a))).toBe(neighbourhoodKey(text([...a.slice(0, 4), 0, 0, 0, 1])));
      }),
    );
  });
});

describe('remembered key builders', () => {
  it('return what the builder builds, for any arguments in any order, across the bound', () => {
    const arg = fc.oneof(fc.constantFrom('a', 'b', '198.51.100.7', ''), fc.string({ maxLength: 6 }), fc.nat(3 * REMEMBERED_KEYS).map(String));
    fc.assert(
      fc.property(fc.array(fc.tuple(arg, arg), { minLength: 1, maxLength: 3 * REMEMBERED_KEYS }), (calls) => {
        let built = 0;
        const one = remembered((a: string) => (built++, `one:${a}`));
        const two = remembered((a: string, b: string) => `two:${a}|${b}`);
        for (const [a, b] of calls) {
          expect(one(a)).toBe(`one:${a}`);
          expect(two(a, b)).toBe(`two:${a}|${b}`);
        }
        // Remembered: never more builds than distinct arguments plus a start-over per bound.
        const distinct = new Set(calls.map(([a]) => a)).size;
        expect(built).toBeLessThanOrEqual(distinct + Math.floor(calls.length / REMEMBERED_KEYS) * distinct);
        if (calls.length <= REMEMBERED_KEYS) expect(built).toBe(distinct);
      }),
      { numRuns: 40 },
    );
  });

  it('the engine table is the builders remembered: each key as documented', () => {
    expect(KEYS.ipAttempts('198.51.100.7', '$login')).toBe('v:ip:198.51.100.7:ev:$login');
    expect(KEYS.ipAttempts('198.51.100.7', '$registration')).toBe('v:ip:198.51.100.7:ev:$registration');
    expect(KEYS.pendingFailure(scopes.ip('198.51.100.7'), 'h:x')).toBe('p:ip:198.51.100.7:h:x');
    expect(KEYS.siteAttack()).toBe('v:site:attack');
  });
});
