import { isIP } from 'node:net';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingHeaders } from './headers.js';
import { canonicalizeIp, createClientIpExtractor, extractClientIp, type IpOptions, type IpSource } from './ip.js';
import { IP_PRESETS } from './ip-presets.js';
import { thrown } from '../test-support/thrown.js';

// ---------------------------------------------------------------------------------------
// Reference helpers, written from the spec and independent of the code under test.
// ---------------------------------------------------------------------------------------

/** Canonical IPv6 (RFC 5952 short form) as the WHATWG URL parser writes it. */
function refCanonicalV6(text: string): string {
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** The spec's default trusted IPv4 ranges. */
function refTrustedV4(o: readonly number[]): boolean {
  const [a, b] = o as [number, number];
  return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
}

const octet = fc.integer({ min: 0, max: 255 });

/** A public IPv4 address (outside every default-trusted range), as octets. */
const publicV4Octets = fc.tuple(fc.integer({ min: 1, max: 223 }), octet, octet, octet).filter((o) => !refTrustedV4(o));
const publicIPv4 = publicV4Octets.map((o) => o.join('.'));

/** An address inside one of the default-trusted IPv4 ranges. */
const trustedIPv4 = fc.oneof(
  fc.tuple(octet, octet, octet).map(([b, c, d]) => `127.${b}.${c}.${d}`),
  fc.tuple(octet, octet, octet).map(([b, c, d]) => `10.${b}.${c}.${d}`),
  fc.tuple(fc.integer({ min: 16, max: 31 }), octet, octet).map(([b, c, d]) => `172.${b}.${c}.${d}`),
  fc.tuple(octet, octet).map(([c, d]) => `192.168.${c}.${d}`),
  fc.tuple(octet, octet).map(([c, d]) => `169.254.${c}.${d}`),
);

const hextet = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));

/** A global-unicast IPv6 address (2000::/3: never ::1, fc00::/7, fe80::/10 or ::ffff:0:0/96). */
const publicV6Groups = fc.tuple(fc.integer({ min: 0x2000, max: 0x3fff }), hextet, hextet, hextet, hextet, hextet, hextet, hextet);
const trustedV6Groups = fc.oneof(
  fc.constant([0, 0, 0, 0, 0, 0, 0, 1]),
  fc.tuple(fc.integer({ min: 0xfc00, max: 0xfdff }), hextet, hextet, hextet, hextet, hextet, hextet, hextet),
  fc.tuple(fc.integer({ min: 0xfe80, max: 0xfebf }), hextet, hextet, hextet, hextet, hextet, hextet, hextet),
);

/** An IPv6 address written in one of the ways clients and proxies write it, with its canonical form. */
function writtenV6(groups: fc.Arbitrary<readonly number[]>): fc.Arbitrary<{ text: string; canonical: string }> {
  return fc.tuple(groups, fc.constantFrom('full', 'padded', 'upper', 'canonical', 'bracket', 'bracket-port')).map(([g, form]) => {
    const full = g.map((n) => n.toString(16)).join(':');
    const canonical = refCanonicalV6(full);
    const text =
      form === 'full'
        ? full
        : form === 'padded'
          ? g.map((n) => n.toString(16).padStart(4, '0')).join(':')
          : form === 'upper'
            ? canonical.toUpperCase()
            : form === 'canonical'
              ? canonical
              : form === 'bracket'
                ? `[${canonical}]`
                : `[${full}]:443`;
    return { text, canonical };
  });
}

/** A public IPv4 address written as clients write it (port, IPv4-mapped IPv6), with its canonical form. */
const writtenPublicV4 = fc
  .tuple(publicIPv4, fc.constantFrom('plain', 'port', 'mapped', 'mapped-bracket-port', 'mapped-upper'), fc.integer({ min: 1, max: 65535 }))
  .map(([ip, form, port]) => {
    const text =
      form === 'plain'
        ? ip
        : form === 'port'
          ? `${ip}:${port}`
          : form === 'mapped'
            ? `::ffff:${ip}`
            : form === 'mapped-bracket-port'
              ? `[::ffff:${ip}]:${port}`
              : `::FFFF:${ip}`;
    return { text, canonical: ip };
  });

const writtenPublic = fc.oneof(writtenPublicV4, writtenV6(publicV6Groups));
const trustedToken = fc.oneof(trustedIPv4, writtenV6(trustedV6Groups).map((w) => w.text), fc.constantFrom('localhost', 'unix', 'LOCALHOST'));

/** Anything a client might put in an address header. */
const anyToken = fc.oneof(
  writtenPublic.map((w) => w.text),
  trustedToken,
  fc.string({ maxLength: 20 }),
  fc.constantFrom('unknown', '_hidden', '127.1', '0x7f.0.0.1', '010.0.0.1', '1.2.3', '1.2.3.4.5', '256.1.1.1', '[::1', '::1]', '1.2.3.4:', 'fe80::1%eth0', '2001:db8::1%25x', ':::', '1::2::3'),
  writtenV6(publicV6Groups).map((w) => `${w.canonical}%eth0`),
);
const separator = fc.constantFrom(', ', ',', ' ', '\t', ' , ', ',,', '\n');
function joinTokens(tokens: string[], seps: string[]): string {
  let out = '';
  tokens.forEach((t, i) => {
    out += i === 0 ? t : `${seps[i % seps.length] ?? ', '}${t}`;
  });
  return out;
}
const headerValue = fc.tuple(fc.array(anyToken, { maxLength: 8 }), fc.array(separator, { minLength: 1, maxLength: 4 })).map(([t, s]) => joinTokens(t, s));
const headerName = fc.oneof(
  fc.constantFrom('x-forwarded-for', 'X-Forwarded-For', 'HTTP_X_FORWARDED_FOR', 'x_forwarded_for', 'x-real-ip', 'cf-connecting-ip', 'CF_CONNECTING_IP', 'true-client-ip', 'forwarded', '__proto__', 'constructor'),
  fc.string({ minLength: 1, maxLength: 10 }),
);
const headerMap = fc.array(fc.tuple(headerName, fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 }))), { maxLength: 5 }).map((entries) => {
  const headers: IncomingHeaders = {};
  for (const [k, v] of entries) Object.defineProperty(headers, k, { value: v, enumerable: true, writable: true, configurable: true });
  return headers;
});

const PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();
afterEach(() => {
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_NAMES);
});

const ip = (headers: IncomingHeaders, remoteAddress?: string, options?: IpOptions) => extractClientIp({ headers, remoteAddress }, options);
const xff = (value: string | string[], remoteAddress?: string, options?: IpOptions) => ip({ 'x-forwarded-for': value }, remoteAddress, options);

// ---------------------------------------------------------------------------------------

describe('canonicalizeIp', () => {
  it.each([
    ['1.2.3.4', '1.2.3.4'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    [' 1.2.3.4 ', '1.2.3.4'],
    // Ports go.
    ['1.2.3.4:5678', '1.2.3.4'],
    ['1.2.3.4:0', '1.2.3.4'],
    ['[2001:db8::1]:443', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    // IPv4-mapped IPv6 becomes IPv4, in any spelling.
    ['::ffff:1.2.3.4', '1.2.3.4'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['::ffff:102:304', '1.2.3.4'],
    ['0:0:0:0:0:ffff:0102:0304', '1.2.3.4'],
    ['[::ffff:1.2.3.4]:80', '1.2.3.4'],
    // IPv6 in canonical short form (RFC 5952): lower case, no leading zeros, the first
    // longest run of two or more zero groups compressed.
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8:0:0:0:1:0:0', '2001:db8::1:0:0'],
    ['2001:DB8::A:B', '2001:db8::a:b'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::', '::'],
    ['FE80::1', 'fe80::1'],
    ['2001:db8::1:5678', '2001:db8::1:5678'],
    // A zone index is local to the sender's host; the address is the same one.
    ['fe80::1%eth0', 'fe80::1'],
    ['2001:db8::1%7', '2001:db8::1'],
  ])('%j → %j', (input, expected) => {
    expect(canonicalizeIp(input)).toBe(expected);
  });

  it.each([
    // Non-dotted-quad IPv4: deliberately not addresses.
    ['127.1'],
    ['127.0.1'],
    ['0x7f.0.0.1'],
    ['0x7f000001'],
    ['2130706433'],
    ['010.0.0.1'],
    ['01.2.3.4'],
    ['1.2.3.04'],
    // Not addresses at all.
    [''],
    [' '],
    ['1.2.3'],
    ['1.2.3.4.5'],
    ['256.1.1.1'],
    ['1.2.3.-1'],
    ['1.2.3.4:'],
    ['1.2.3.4:http'],
    ['1.2.3.4:123456'],
    ['[2001:db8::1'],
    ['2001:db8::1]'],
    ['[2001:db8::1]:'],
    ['[2001:db8::1]x'],
    ['1::2::3'],
    ['1:2:3:4:5:6:7:8:9'],
    ['::ffff:1.2.3'],
    ['localhost'],
    ['unix'],
    ['unix:/var/run/app.sock'],
    ['unknown'],
    ['_hidden'],
    ['example.com'],
    ['１.２.３.４'],
    ['1.2.3.4'.repeat(30)],
  ])('%j is not an address', (input) => {
    expect(canonicalizeIp(input)).toBeUndefined();
  });

  it('answers undefined for non-strings', () => {
    expect(canonicalizeIp(undefined as unknown as string)).toBeUndefined();
    expect(canonicalizeIp(1234 as unknown as string)).toBeUndefined();
  });

  it('agrees with an independent canonicalizer on written IPv4 and IPv6', () => {
    fc.assert(
      fc.property(fc.oneof(writtenPublic, writtenV6(trustedV6Groups)), ({ text, canonical }) => {
        expect(canonicalizeIp(text)).toBe(canonical);
      }),
      { numRuns: 500 },
    );
  });
});

describe('extractClientIp', () => {
  describe('the socket peer decides whether headers are believed', () => {
    it.each([
      ['203.0.113.9'],
      ['8.8.8.8'],
      ['2001:db8::5'],
      ['::ffff:198.51.100.4'],
    ])('a public peer %s with no proxy trust configured is the client, whatever it sends', (peer) => {
      const expected = canonicalizeIp(peer);
      const spoof = {
        'x-forwarded-for': '1.1.1.1',
        'X-Real-Ip': '1.1.1.2',
        'cf-connecting-ip': '1.1.1.3',
        HTTP_X_FORWARDED_FOR: '1.1.1.4',
      };
      expect(ip(spoof, peer)).toBe(expected);
      expect(ip(spoof, peer, { ipHeaders: ['X-Real-Ip', 'X-Forwarded-For'] })).toBe(expected);
      expect(ip(spoof, peer, { trustedIpHeader: 'CF-Connecting-IP' })).toBe(expected);
      expect(ip(spoof, peer, { trustedProxies: ['198.51.100.0/24'] })).toBe(peer === '::ffff:198.51.100.4' ? '1.1.1.1' : expected);
    });

    it.each([
      // Every default-trusted range, at both ends and inside.
      ['127.0.0.1'],
      ['127.255.255.254'],
      ['10.0.0.0'],
      ['10.255.255.255'],
      ['172.16.0.0'],
      ['172.31.255.255'],
      ['192.168.0.1'],
      ['192.168.255.255'],
      ['169.254.0.1'],
      ['169.254.255.255'],
      ['::1'],
      ['fc00::'],
      ['fd12:3456::1'],
      ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
      ['fe80::1'],
      ['febf:ffff::1'],
      ['::ffff:10.0.0.1'],
      ['::ffff:127.0.0.1'],
      ['10.0.0.1:54321'],
      // The trusted names, any case.
      ['localhost'],
      ['LocalHost'],
      ['unix'],
      ['UNIX'],
      ['unix:/var/run/app.sock'],
      ['Unix:/tmp/x'],
    ])('a peer %s is a trusted proxy: its X-Forwarded-For is believed', (peer) => {
      expect(xff('203.0.113.9', peer)).toBe('203.0.113.9');
    });

    it.each([
      ['9.255.255.255'],
      ['11.0.0.0'],
      ['126.255.255.255'],
      ['128.0.0.1'],
      ['172.15.255.255'],
      ['172.32.0.0'],
      ['192.167.255.255'],
      ['192.169.0.0'],
      ['169.253.255.255'],
      ['169.255.0.0'],
      ['100.64.0.1'],
      ['::2'],
      ['fbff:ffff::1'],
      ['fe00::1'],
      ['fec0::1'],
      ['ff02::1'],
      ['2001:db8::1'],
    ])('a peer %s just outside the trusted ranges is not a proxy', (peer) => {
      expect(xff('203.0.113.9', peer)).toBe(canonicalizeIp(peer));
      // …and as an entry of a trusted proxy's header it is the client.
      expect(xff(`203.0.113.9, ${peer}`, '10.0.0.1')).toBe(canonicalizeIp(peer));
    });

    it("an unknown peer (unix socket, destroyed socket: remoteAddress undefined) is believed only with trustedProxies: ['unix']", () => {
      expect(xff('203.0.113.9', undefined)).toBeUndefined();
      expect(extractClientIp({ headers: { 'x-forwarded-for': '203.0.113.9' } })).toBeUndefined();
      expect(xff('203.0.113.9', undefined, { trustedProxies: ['unix'] })).toBe('203.0.113.9');
      expect(xff('203.0.113.9', 'not an address', { trustedProxies: ['unix:/run/app.sock'] })).toBe('203.0.113.9');
      // `localhost` names loopback, trusted already: it is no opt-in.
      expect(xff('203.0.113.9', undefined, { trustedProxies: ['localhost'] })).toBeUndefined();
    });

    it('answers the socket address when no header helps', () => {
      expect(ip({}, '203.0.113.9')).toBe('203.0.113.9');
      expect(ip({}, '10.0.0.1')).toBe('10.0.0.1');
      expect(xff('unknown, garbage', '10.0.0.1')).toBe('10.0.0.1');
      expect(ip({ accept: '*/*' }, '::ffff:10.0.0.1')).toBe('10.0.0.1');
    });

    it('answers undefined when there is no address at all', () => {
      expect(ip({}, undefined)).toBeUndefined();
      expect(ip({}, 'unix:/var/run/app.sock')).toBeUndefined();
      expect(xff('unknown', 'localhost')).toBeUndefined();
      expect(extractClientIp({ headers: undefined as unknown as IncomingHeaders })).toBeUndefined();
      expect(extractClientIp({} as IpSource)).toBeUndefined();
    });
  });

  describe('right-to-left walk within a header', () => {
    it.each([
      ['1.1.1.1, 2.2.2.2, 10.0.0.2', '2.2.2.2'],
      ['1.1.1.1, 2.2.2.2', '2.2.2.2'],
      ['2.2.2.2, 10.0.0.2, 192.168.1.1, 127.0.0.1', '2.2.2.2'],
      ['10.0.0.5, 2.2.2.2, 10.0.0.2', '2.2.2.2'],
      ['2.2.2.2, fd00::1, ::1', '2.2.2.2'],
      ['2001:db8::7, fe80::2', '2001:db8::7'],
      ['2.2.2.2, ::ffff:10.0.0.3', '2.2.2.2'],
      ['2.2.2.2, localhost, unix', '2.2.2.2'],
      // Not-addresses left of the client are never reached.
      ['unknown, garbage, 127.1, _hidden, 8.8.8.8', '8.8.8.8'],
      // Separators: commas and white space, in any mix.
      ['1.1.1.1 2.2.2.2', '2.2.2.2'],
      ['1.1.1.1,2.2.2.2', '2.2.2.2'],
      ['1.1.1.1\t,\n 2.2.2.2  ', '2.2.2.2'],
      [',, 2.2.2.2 ,,', '2.2.2.2'],
      // Ports, brackets, IPv4-mapped, canonical IPv6.
      ['203.0.113.9:5678', '203.0.113.9'],
      ['[2001:db8::1]:443', '2001:db8::1'],
      ['::ffff:203.0.113.9', '203.0.113.9'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['[2001:0db8::0001]:443, 10.0.0.2:80', '2001:db8::1'],
    ])('%j behind 10.0.0.1 → %s', (value, expected) => {
      expect(xff(value, '10.0.0.1')).toBe(expected);
    });

    it.each([
      ['unknown, garbage, 8.8.8.8, _hidden'],
      ['8.8.8.8, 127.1'],
      ['8.8.8.8, 1.1'],
      ['8.8.8.8, 0x01.0.0.1'],
      ['8.8.8.8, 010.0.0.1'],
      ['8.8.8.8, 001.002.003.004'],
      ['8.8.8.8, 999.1.1.1'],
      ['8.8.8.8, unknown, 10.0.0.2'],
    ])('a hop that is not an address ends the walk: %j behind 10.0.0.1 answers the socket, not what lies beyond', (value) => {
      // Whatever is left of an unknown hop was written by nobody the app can vouch for.
      expect(xff(value, '10.0.0.1')).toBe(value.endsWith('10.0.0.2') ? '10.0.0.2' : '10.0.0.1');
    });

    it('joins an array-valued header in order', () => {
      expect(xff(['1.1.1.1', '2.2.2.2, 10.0.0.2'], '10.0.0.1')).toBe('2.2.2.2');
    });

    it.each([
      ['10.0.0.3, 192.168.0.1', '10.0.0.3'],
      ['127.0.0.1', '127.0.0.1'],
      ['fd00::1, 10.0.0.3', 'fd00::1'],
      ['unknown, 192.168.0.1, 10.0.0.3', '192.168.0.1'],
      // "127.1" is not an address, so it cannot be the first address seen.
      ['127.1, 10.0.0.2', '10.0.0.2'],
      ['0x7f.0.0.1, 010.0.0.1, 10.0.0.2', '10.0.0.2'],
    ])('when every address in %j is trusted, the first one seen: %s', (value, expected) => {
      expect(xff(value, '10.0.0.1')).toBe(expected);
    });
  });

  describe('header names and order', () => {
    const requestKeys = ['cf-connecting-ip', 'CF-Connecting-IP', 'CF_CONNECTING_IP', 'HTTP_CF_CONNECTING_IP', 'http-cf-connecting-ip'];
    const optionNames = ['CF-Connecting-IP', 'cf-connecting-ip', 'CF_CONNECTING_IP', 'HTTP_CF_CONNECTING_IP', 'Cf-Connecting-Ip'];
    const combos = optionNames.flatMap((option) => requestKeys.map((key) => [option, key] as const));

    it.each(combos)('ipHeaders [%j] reads the request header %j', (option, key) => {
      expect(ip({ [key]: '203.0.113.9' }, '10.0.0.1', { ipHeaders: [option] })).toBe('203.0.113.9');
      expect(ip({ [key]: '203.0.113.9' }, '10.0.0.1', { trustedIpHeader: option })).toBe('203.0.113.9');
    });

    it.each([['x-forwarded-for'], ['X-Forwarded-For'], ['X_FORWARDED_FOR'], ['HTTP_X_FORWARDED_FOR'], ['http-x-forwarded-for']])(
      'the default header is read under the key %j',
      (key) => {
        expect(ip({ [key]: '203.0.113.9' }, '10.0.0.1')).toBe('203.0.113.9');
      },
    );

    it('a given ipHeaders list replaces the default', () => {
      const headers = { 'x-forwarded-for': '1.1.1.1', 'x-real-ip': '2.2.2.2' };
      expect(ip(headers, '10.0.0.1', { ipHeaders: ['X-Real-Ip'] })).toBe('2.2.2.2');
      expect(ip({ 'x-forwarded-for': '1.1.1.1' }, '10.0.0.1', { ipHeaders: ['X-Real-Ip'] })).toBe('10.0.0.1');
      expect(ip(headers, '10.0.0.1', { ipHeaders: [] })).toBe('10.0.0.1');
    });

    it('tries headers in the given order', () => {
      const headers = { 'x-forwarded-for': '1.1.1.1', 'x-real-ip': '2.2.2.2' };
      expect(ip(headers, '10.0.0.1', { ipHeaders: ['X-Real-Ip', 'X-Forwarded-For'] })).toBe('2.2.2.2');
      expect(ip(headers, '10.0.0.1', { ipHeaders: ['X-Forwarded-For', 'X-Real-Ip'] })).toBe('1.1.1.1');
    });

    it('tries trustedIpHeader before ipHeaders, then falls back to them', () => {
      const both = { 'cf-connecting-ip': '3.3.3.3', 'x-forwarded-for': '1.1.1.1' };
      expect(ip(both, '10.0.0.1', { trustedIpHeader: 'CF-Connecting-IP' })).toBe('3.3.3.3');
      expect(ip(both, '10.0.0.1', { trustedIpHeader: 'CF-Connecting-IP', ipHeaders: ['X-Forwarded-For'] })).toBe('3.3.3.3');
      expect(ip({ 'x-forwarded-for': '1.1.1.1' }, '10.0.0.1', { trustedIpHeader: 'CF-Connecting-IP' })).toBe('1.1.1.1');
      expect(ip({ 'cf-connecting-ip': 'garbage', 'x-forwarded-for': '1.1.1.1' }, '10.0.0.1', { trustedIpHeader: 'CF-Connecting-IP' })).toBe('1.1.1.1');
    });

    it('skips a header whose entries are all trusted', () => {
      const headers = { 'x-real-ip': '10.0.0.7, 192.168.0.9', 'x-forwarded-for': '4.4.4.4, 10.0.0.2' };
      expect(ip(headers, '10.0.0.1', { ipHeaders: ['X-Real-Ip', 'X-Forwarded-For'] })).toBe('4.4.4.4');
    });

    it('when every address seen is trusted: the first seen, headers in order, each left to right, then the socket', () => {
      const options = { ipHeaders: ['X-Real-Ip', 'X-Forwarded-For'] };
      expect(ip({ 'x-real-ip': '10.0.0.7 192.168.0.9', 'x-forwarded-for': '10.0.0.8' }, '10.0.0.1', options)).toBe('10.0.0.7');
      expect(ip({ 'x-real-ip': 'unknown', 'x-forwarded-for': '10.0.0.8, 10.0.0.9' }, '10.0.0.1', options)).toBe('10.0.0.8');
      expect(ip({ 'x-real-ip': 'unknown', 'x-forwarded-for': 'localhost' }, '10.0.0.1', options)).toBe('10.0.0.1');
      expect(ip({ 'x-real-ip': '', 'x-forwarded-for': '' }, '::1', options)).toBe('::1');
    });
  });

  describe('trustedProxies', () => {
    it.each<[string, (string | RegExp)[], string]>([
      ['an exact IPv4', ['198.51.100.7'], '198.51.100.7'],
      ['an exact IPv6', ['2001:db8::7'], '2001:db8::7'],
      ['an exact IPv6 in another spelling', ['2001:0DB8:0:0:0:0:0:7'], '2001:db8::7'],
      ['an IPv4 CIDR', ['198.51.100.0/24'], '198.51.100.200'],
      ['an IPv4 CIDR with host bits set', ['198.51.100.77/24'], '198.51.100.200'],
      ['an IPv6 CIDR', ['2001:db8::/32'], '2001:db8:ffff::1'],
      ['a RegExp against the canonical address', [/^198\.51\.100\./], '198.51.100.3'],
      ['a RegExp against the canonical IPv6 form', [/^2001:db8::/], '2001:0DB8:0000::0009'],
      ['a RegExp against the IPv4 of a mapped peer', [/^198\.51\.100\.3$/], '::ffff:198.51.100.3'],
      ['a /0 range', ['0.0.0.0/0'], '8.8.4.4'],
    ])('trusts %s', (_what, trustedProxies, peer) => {
      expect(xff('203.0.113.9', peer, { trustedProxies })).toBe('203.0.113.9');
    });

    it('only the given range: its neighbours stay untrusted', () => {
      const options = { trustedProxies: ['100.64.0.0/10'] };
      expect(xff('203.0.113.9', '100.64.0.0', options)).toBe('203.0.113.9');
      expect(xff('203.0.113.9', '100.127.255.255', options)).toBe('203.0.113.9');
      expect(xff('203.0.113.9', '100.128.0.0', options)).toBe('100.128.0.0');
      expect(xff('203.0.113.9', '100.63.255.255', options)).toBe('100.63.255.255');
    });

    it('adds to the defaults rather than replacing them', () => {
      expect(xff('203.0.113.9', '10.0.0.1', { trustedProxies: ['198.51.100.0/24'] })).toBe('203.0.113.9');
    });

    it('skips trusted proxies inside the header too', () => {
      const options = { trustedProxies: ['198.51.100.0/24', /^2001:db8:/] };
      expect(xff('1.1.1.1, 2.2.2.2, 198.51.100.3, 2001:db8::9', '198.51.100.2', options)).toBe('2.2.2.2');
      expect(xff('198.51.100.4, 198.51.100.3', '198.51.100.2', options)).toBe('198.51.100.4');
    });

    it('accepts the trusted names as entries', () => {
      expect(xff('203.0.113.9', '10.0.0.1', { trustedProxies: ['localhost', 'unix'] })).toBe('203.0.113.9');
    });

    it('gives the same answer every time with a global or sticky RegExp', () => {
      const extract = createClientIpExtractor({ trustedProxies: [/^198\.51\.100\./g, /^198\.51\.100\./y] });
      for (let i = 0; i < 5; i++) expect(extract({ headers: { 'x-forwarded-for': '203.0.113.9' }, remoteAddress: '198.51.100.1' })).toBe('203.0.113.9');
    });
  });

  describe('trustedProxyDepth', () => {
    const chain = '1.1.1.1, 2.2.2.2, 3.3.3.3';

    it.each([
      [1, '3.3.3.3'],
      [2, '2.2.2.2'],
      [3, '1.1.1.1'],
      // Fewer entries than declared hops: every entry came from a declared proxy, so the
      // first one seen (Castle's rule when every hop is a proxy).
      [10, '1.1.1.1'],
    ])('depth %i: the peer and the %i-1 right-most entries are proxies, even a public peer → %s', (depth, expected) => {
      expect(xff(chain, '203.0.113.1', { trustedProxyDepth: depth })).toBe(expected);
    });

    it('depth 0 is the default', () => {
      expect(xff(chain, '203.0.113.1', { trustedProxyDepth: 0 })).toBe('203.0.113.1');
      expect(xff(chain, '10.0.0.1', { trustedProxyDepth: 0 })).toBe('3.3.3.3');
    });

    it('a depth-declared peer with no X-Forwarded-For is the client', () => {
      expect(ip({}, '203.0.113.1', { trustedProxyDepth: 2 })).toBe('203.0.113.1');
    });

    it('beyond the counted hops, only proxies trusted by address are walked past', () => {
      expect(xff('2.2.2.2, 10.0.0.9, 3.3.3.3', '203.0.113.1', { trustedProxyDepth: 1 })).toBe('3.3.3.3');
      expect(xff('2.2.2.2, 3.3.3.3, 10.0.0.9', '10.0.0.1', { trustedProxyDepth: 1 })).toBe('3.3.3.3');
      expect(xff('2.2.2.2, 3.3.3.3, 10.0.0.9', '203.0.113.1', { trustedProxyDepth: 2 })).toBe('3.3.3.3');
      expect(xff('2.2.2.2, 3.3.3.3, 198.51.100.9', '203.0.113.1', { trustedProxyDepth: 1, trustedProxies: ['198.51.100.0/24'] })).toBe('3.3.3.3');
    });

    it('counts entries, not separators', () => {
      expect(xff('2.2.2.2 ,  3.3.3.3 ,', '203.0.113.1', { trustedProxyDepth: 2 })).toBe('2.2.2.2');
      expect(xff(' 2.2.2.2\t3.3.3.3 ', '203.0.113.1', { trustedProxyDepth: 2 })).toBe('2.2.2.2');
      expect(xff(['2.2.2.2', '3.3.3.3'], '203.0.113.1', { trustedProxyDepth: 2 })).toBe('2.2.2.2');
    });

    it('counts X-Forwarded-For hops under any spelling', () => {
      expect(ip({ HTTP_X_FORWARDED_FOR: chain }, '203.0.113.1', { trustedProxyDepth: 2 })).toBe('2.2.2.2');
      expect(ip({ x_forwarded_for: chain }, '203.0.113.1', { trustedProxyDepth: 2, ipHeaders: ['x_forwarded_for'] })).toBe('2.2.2.2');
    });

    it('counts only the peer in single-value headers: one proxy writes them, they list no hops', () => {
      const headers = { 'x-real-ip': '4.4.4.4, 5.5.5.5', 'x-forwarded-for': chain };
      expect(ip(headers, '203.0.113.1', { trustedProxyDepth: 2, ipHeaders: ['X-Real-Ip', 'X-Forwarded-For'] })).toBe('5.5.5.5');
      expect(ip(headers, '203.0.113.1', { trustedProxyDepth: 2, trustedIpHeader: 'X-Real-Ip' })).toBe('5.5.5.5');
      expect(ip({ 'x-forwarded-for': chain }, '203.0.113.1', { trustedProxyDepth: 2, trustedIpHeader: 'X-Real-Ip' })).toBe('2.2.2.2');
    });
  });

  describe('trustProxyChain', () => {
    it.each([
      ['10.0.0.5, 1.1.1.1, 2.2.2.2', '10.0.0.5'],
      ['1.1.1.1, 2.2.2.2, 10.0.0.2', '1.1.1.1'],
      ['unknown, 127.1, 1.1.1.1, 2.2.2.2', '1.1.1.1'],
      ['[2001:0db8::1]:443, 1.1.1.1', '2001:db8::1'],
    ])('%j → the left-most entry %s, even behind a public peer', (value, expected) => {
      expect(xff(value, '203.0.113.1', { trustProxyChain: true })).toBe(expected);
      expect(xff(value, '10.0.0.1', { trustProxyChain: true })).toBe(expected);
    });

    it('answers from the first header that has an entry', () => {
      const options = { trustProxyChain: true, ipHeaders: ['X-Real-Ip', 'X-Forwarded-For'] };
      expect(ip({ 'x-real-ip': 'garbage', 'x-forwarded-for': '7.7.7.7, 8.8.8.8' }, '203.0.113.1', options)).toBe('7.7.7.7');
      expect(ip({ 'x-real-ip': '6.6.6.6 9.9.9.9', 'x-forwarded-for': '7.7.7.7' }, '203.0.113.1', options)).toBe('6.6.6.6');
      expect(ip({}, '203.0.113.1', options)).toBe('203.0.113.1');
    });

    it('with trustedProxyDepth, still the left-most: every hop is declared a proxy', () => {
      expect(xff('1.1.1.1, 2.2.2.2', '203.0.113.1', { trustProxyChain: true, trustedProxyDepth: 1 })).toBe('1.1.1.1');
      expect(xff('1.1.1.1', '203.0.113.1', { trustProxyChain: true, trustedProxyDepth: 2 })).toBe('1.1.1.1');
    });

    it('false is the default', () => {
      expect(xff('1.1.1.1, 2.2.2.2', '10.0.0.1', { trustProxyChain: false })).toBe('2.2.2.2');
    });
  });

  describe('RFC 7239 Forwarded', () => {
    const fwd = (value: string | string[], remoteAddress: string, options: IpOptions = {}) => ip({ forwarded: value }, remoteAddress, { ipHeaders: ['Forwarded'], ...options });

    it.each([
      ['for=192.0.2.60;proto=http;by=203.0.113.43', '192.0.2.60'],
      ['For="[2001:db8:cafe::17]:4711"', '2001:db8:cafe::17'],
      ['FOR = "[2001:db8:cafe::17]"', '2001:db8:cafe::17'],
      ['for=[2001:db8::1]', '2001:db8::1'],
      ['for=192.0.2.43, for=198.51.100.17', '198.51.100.17'],
      ['for=192.0.2.43, for="198.51.100.17:8080"', '198.51.100.17'],
      ['for="192.0.2.43:_a1b"', '192.0.2.43'],
      ['for="[2001:db8::5]:_port"', '2001:db8::5'],
      ['proto=https;for=192.0.2.43;host=example.com', '192.0.2.43'],
      ['for=198.51.100.17, for=10.0.0.2;proto=https', '198.51.100.17'],
      ['for=198.51.100.17,, ,', '198.51.100.17'],
      // A client's quotes cannot swallow the element its proxy appended.
      ['for="6.6.6.6, for=198.51.100.17', '198.51.100.17'],
      ['for="6.6.6.6,7.7.7.7", for=198.51.100.17', '198.51.100.17'],
      ['for=_hidden, for=unknown, for=198.51.100.17', '198.51.100.17'],
      // Every node trusted: the first one seen.
      ['for=10.0.0.3, for=10.0.0.2', '10.0.0.3'],
    ])('%j behind 10.0.0.1 → %s', (value, expected) => {
      expect(fwd(value, '10.0.0.1')).toBe(expected);
    });

    it.each([
      ['for=6.6.6.6, for=_hidden'],
      ['for=6.6.6.6, for=unknown'],
      ['for=6.6.6.6, for="_hidden:_port"'],
      ['for=6.6.6.6, proto=https'],
      ['for=6.6.6.6, for=7.7.7.7;for=8.8.8.8'],
      ['for=6.6.6.6, for=""'],
      ['for=6.6.6.6, for="198.51.100.17'],
      ['for=6.6.6.6, for=example.com'],
    ])('an element naming no address ends the walk: %j behind 10.0.0.1 answers the socket', (value) => {
      expect(fwd(value, '10.0.0.1')).toBe('10.0.0.1');
    });

    it('is ignored from an untrusted public peer, and counted like X-Forwarded-For by the depth', () => {
      expect(fwd('for=6.6.6.6', '203.0.113.1')).toBe('203.0.113.1');
      expect(fwd('for=6.6.6.6, for=198.51.100.17, for=203.0.113.50', '203.0.113.1', { trustedProxyDepth: 2 })).toBe('198.51.100.17');
      expect(fwd(['for=6.6.6.6', 'for=198.51.100.17'], '203.0.113.1', { trustedProxyDepth: 1 })).toBe('198.51.100.17');
      expect(fwd('for=6.6.6.6, for="[2001:db8::9]"', '203.0.113.1', { trustProxyChain: true })).toBe('6.6.6.6');
    });

    it('is read under any spelling of its name, and after X-Forwarded-For when both are listed', () => {
      expect(ip({ FORWARDED: 'for=198.51.100.17' }, '10.0.0.1', { ipHeaders: ['forwarded'] })).toBe('198.51.100.17');
      const both = { forwarded: 'for=198.51.100.17', 'x-forwarded-for': '198.51.100.18' };
      expect(ip(both, '10.0.0.1', { ipHeaders: ['X-Forwarded-For', 'Forwarded'] })).toBe('198.51.100.18');
      expect(ip({ forwarded: 'for=198.51.100.17', 'x-forwarded-for': 'unknown' }, '10.0.0.1', { ipHeaders: ['X-Forwarded-For', 'Forwarded'] })).toBe('198.51.100.17');
    });
  });

  describe('preset', () => {
    const cf = { preset: 'cloudflare' } as const;

    it('cloudflare: CF-Connecting-IP from a Cloudflare edge, IPv4 or IPv6, in any mapped spelling', () => {
      const headers = { 'cf-connecting-ip': '2001:db8::7', 'x-forwarded-for': '6.6.6.6' };
      expect(ip(headers, '172.70.1.1', cf)).toBe('2001:db8::7');
      expect(ip(headers, '2606:4700::1', cf)).toBe('2001:db8::7');
      expect(ip(headers, '::ffff:104.16.0.1', { preset: ['cloudflare'] })).toBe('2001:db8::7');
    });

    it('cloudflare: a Cloudflare edge without a usable CF-Connecting-IP falls back to X-Forwarded-For', () => {
      expect(ip({ 'cf-connecting-ip': 'garbage', 'x-forwarded-for': '6.6.6.6, 198.51.100.7' }, '172.70.1.1', cf)).toBe('198.51.100.7');
      expect(ip({ 'x-forwarded-for': '198.51.100.7' }, '162.158.0.1', cf)).toBe('198.51.100.7');
    });

    it('cloudflare: from any other peer, trusted or not, CF-Connecting-IP is the client’s own writing', () => {
      const spoof = { 'cf-connecting-ip': '6.6.6.6' };
      expect(ip(spoof, '203.0.113.1', cf)).toBe('203.0.113.1');
      expect(ip(spoof, '10.0.0.1', cf)).toBe('10.0.0.1');
      expect(ip(spoof, undefined, cf)).toBeUndefined();
      // Naming the header again does not unbind it from Cloudflare.
      expect(ip(spoof, '10.0.0.1', { ...cf, trustedIpHeader: 'CF-Connecting-IP' })).toBe('10.0.0.1');
      expect(ip(spoof, '10.0.0.1', { ...cf, ipHeaders: ['cf_connecting_ip', 'X-Forwarded-For'] })).toBe('10.0.0.1');
    });

    it('cloudflare + your load balancer: X-Forwarded-For is walked past the Cloudflare edge to the client', () => {
      // client 198.51.100.7 ─► Cloudflare 172.70.1.1 ─► LB 10.0.0.1 ─► app
      const headers = { 'cf-connecting-ip': '198.51.100.7', 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 172.70.1.1' };
      expect(ip(headers, '10.0.0.1', cf)).toBe('198.51.100.7');
      expect(ip({ ...headers, 'cf-connecting-ip': '6.6.6.6' }, '10.0.0.1', cf)).toBe('198.51.100.7');
    });

    it('cloudflare: the ranges end where Cloudflare publishes them', () => {
      expect(xff('198.51.100.7', '104.27.255.255', cf)).toBe('198.51.100.7');
      expect(xff('198.51.100.7', '104.28.0.0', cf)).toBe('104.28.0.0');
      expect(xff('198.51.100.7', '2a06:98c7:ffff::1', cf)).toBe('198.51.100.7');
      expect(xff('198.51.100.7', '2a06:98c8::1', cf)).toBe('2a06:98c8::1');
      // Without the preset a Cloudflare edge is a public peer like any other.
      expect(createClientIpExtractor().resolve({ headers: { 'x-forwarded-for': '198.51.100.7' }, remoteAddress: '172.70.1.1' })).toMatchObject({ ip: '172.70.1.1', ignoredForwardedFor: true });
    });

    it('IP_PRESETS ships every range as a valid CIDR, dated, frozen, spreadable into trustedProxies', () => {
      const { ranges, asOf, source, header } = IP_PRESETS.cloudflare;
      expect(ranges.filter((r) => r.includes('.'))).toHaveLength(15);
      expect(ranges.filter((r) => r.includes(':'))).toHaveLength(7);
      expect(asOf).toMatch(/\d{4}-\d{2}-\d{2}/);
      expect(source).toEqual(['https://www.cloudflare.com/ips-v4', 'https://www.cloudflare.com/ips-v6']);
      expect(header).toBe('CF-Connecting-IP');
      expect(Object.isFrozen(IP_PRESETS) && Object.isFrozen(IP_PRESETS.cloudflare) && Object.isFrozen(ranges)).toBe(true);
      const spread = createClientIpExtractor({ trustedProxies: [...ranges] });
      expect(spread({ headers: { 'x-forwarded-for': '198.51.100.7' }, remoteAddress: '2400:cb00::1' })).toBe('198.51.100.7');
      // Spreading the ranges trusts the edge but does not read CF-Connecting-IP.
      expect(spread({ headers: { 'cf-connecting-ip': '6.6.6.6' }, remoteAddress: '2400:cb00::1' })).toBe('2400:cb00::1');
    });
  });

  describe('createClientIpExtractor', () => {
    it('compiles once and answers like extractClientIp', () => {
      const options = { trustedProxies: ['198.51.100.0/24'], ipHeaders: ['X-Real-Ip'] };
      const extract = createClientIpExtractor(options);
      const reqs: IpSource[] = [
        { headers: { 'x-real-ip': '1.1.1.1' }, remoteAddress: '198.51.100.1' },
        { headers: { 'x-real-ip': '1.1.1.1' }, remoteAddress: '203.0.113.1' },
        { headers: {}, remoteAddress: undefined },
      ];
      for (const req of reqs) expect(extract(req)).toBe(extractClientIp(req, options));
    });

    it('.resolve explains the answer', () => {
      const extract = createClientIpExtractor();
      expect(extract.resolve({ headers: { 'x-forwarded-for': '1.1.1.1' }, remoteAddress: '203.0.113.1' })).toEqual({
        ip: '203.0.113.1',
        source: 'socket',
        ignoredForwardedFor: true,
      });
      expect(extract.resolve({ headers: {}, remoteAddress: '203.0.113.1' })).toEqual({ ip: '203.0.113.1', source: 'socket', ignoredForwardedFor: false });
      expect(extract.resolve({ headers: { 'x-forwarded-for': '1.1.1.1' }, remoteAddress: '10.0.0.1' })).toEqual({
        ip: '1.1.1.1',
        source: 'header',
        ignoredForwardedFor: false,
      });
      expect(extract.resolve({ headers: { 'x-forwarded-for': 'unknown' }, remoteAddress: '10.0.0.1' })).toEqual({
        ip: '10.0.0.1',
        source: 'socket',
        ignoredForwardedFor: false,
      });
      expect(extract.resolve({ headers: {} })).toEqual({ ip: undefined, source: 'none', ignoredForwardedFor: false });
    });
  });

  describe('hostile input is a normal request', () => {
    it('a 64 KB X-Forwarded-For with 10 000 entries: the real client is still found', () => {
      const spoofs = Array.from({ length: 9_998 }, (_, i) => `1.${(i >> 8) & 255}.${i & 255}.1`);
      const value = [...spoofs, '203.0.113.9', '10.0.0.2'].join(', ');
      expect(value.length).toBeGreaterThan(64 * 1024);
      expect(xff(value, '10.0.0.1')).toBe('203.0.113.9');
      expect(xff(value, '203.0.113.1')).toBe('203.0.113.1');
      expect(xff(value, '203.0.113.1', { trustedProxyDepth: 2 })).toBe('203.0.113.9');
      expect(xff(value, '203.0.113.1', { trustedProxyDepth: 3 })).toBe('1.39.13.1');
      expect(xff(value, '203.0.113.1', { trustProxyChain: true })).toBe('1.0.0.1');
    });

    it('10 000 trusted entries: the first one', () => {
      const value = Array.from({ length: 10_000 }, (_, i) => `10.0.${(i >> 8) & 255}.${i & 255}`).join(',');
      expect(xff(value, '10.0.0.1')).toBe('10.0.0.0');
    });

    it('10 000 garbage entries before, after and around the client', () => {
      const junk = Array.from({ length: 5_000 }, (_, i) => `junk${i}`).join(' ');
      expect(xff(`${junk}, 203.0.113.9`, '10.0.0.1')).toBe('203.0.113.9');
      expect(xff(`${junk}, 203.0.113.9, 10.0.0.2`, '10.0.0.1')).toBe('203.0.113.9');
      // Junk right of the client ends the walk at once: the cost does not grow with it.
      expect(xff(`${junk}, 203.0.113.9, ${junk}`, '10.0.0.1')).toBe('10.0.0.1');
      expect(xff(`${junk} ${junk}`, '10.0.0.1')).toBe('10.0.0.1');
    });

    it('a single 64 KB token is not an address', () => {
      expect(xff('1'.repeat(64 * 1024), '10.0.0.1')).toBe('10.0.0.1');
      expect(xff(`${'9'.repeat(64 * 1024)}.1.1.1, 203.0.113.9`, '10.0.0.1')).toBe('203.0.113.9');
      expect(xff(`${'['.repeat(64 * 1024)}, ${':'.repeat(64 * 1024)}`, '10.0.0.1')).toBe('10.0.0.1');
    });

    it('non-ASCII bytes are ignored, not thrown on', () => {
      const latin1 = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x2c, 0x31]).toString('latin1');
      expect(xff(`✓, 🤖, ２０３.０.１１３.９, ${latin1}, 203.0.113.9`, '10.0.0.1')).toBe('203.0.113.9');
      expect(xff(`203.0.113.9, ✓, 🤖, ２０３.０.１１３.９, ${latin1}`, '10.0.0.1')).toBe('10.0.0.1');
      expect(xff('203.0.113.9\u00a0198.51.100.1', '10.0.0.1')).toBe('198.51.100.1');
      expect(ip({ 'x-forwarded-for': '1.1.1.1', 'x-ünïcødé': '🤖' }, '10.0.0.1', { ipHeaders: ['X-Ünïcødé', 'X-Forwarded-For'] })).toBe('1.1.1.1');
    });

    it('headers named __proto__ or constructor do no harm', () => {
      const headers = JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"x-forwarded-for":"203.0.113.9"}');
      expect(ip(headers, '10.0.0.1')).toBe('203.0.113.9');
      expect(ip(headers, '10.0.0.1', { ipHeaders: ['__proto__', 'constructor', 'X-Forwarded-For'] })).toBe('203.0.113.9');
      const asIp = JSON.parse('{"__proto__":"198.51.100.5","constructor":"198.51.100.6"}');
      expect(ip(asIp, '10.0.0.1', { ipHeaders: ['__proto__'] })).toBe('198.51.100.5');
      expect(ip(asIp, '10.0.0.1', { ipHeaders: ['constructor'] })).toBe('198.51.100.6');
      // Inherited properties are not headers.
      expect(ip({}, '10.0.0.1', { ipHeaders: ['constructor', 'toString', '__proto__'] })).toBe('10.0.0.1');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('a null-prototype header map works', () => {
      const headers = Object.create(null) as IncomingHeaders;
      headers['x-forwarded-for'] = '203.0.113.9';
      expect(ip(headers, '10.0.0.1')).toBe('203.0.113.9');
    });

    it('odd value types do not throw', () => {
      expect(ip({ 'x-forwarded-for': 12345 }, '10.0.0.1')).toBe('10.0.0.1');
      expect(ip({ 'x-forwarded-for': undefined }, '10.0.0.1')).toBe('10.0.0.1');
      expect(ip({ 'x-forwarded-for': [] }, '10.0.0.1')).toBe('10.0.0.1');
      expect(extractClientIp({ headers: {}, remoteAddress: 42 as unknown as string })).toBeUndefined();
    });
  });

  describe('option errors, at construction', () => {
    const construct = (options: unknown) => () => createClientIpExtractor(options as IpOptions);
    const viaExtract = (options: unknown) => () => extractClientIp({ headers: {}, remoteAddress: '203.0.113.1' }, options as IpOptions);

    it.each([
      ['10.0.0.*', '10.0.0.0/24', '/^10\\.0\\.0\\./'],
      ['192.168.*.*', '192.168.0.0/16', '/^192\\.168\\./'],
      ['10.*', '10.0.0.0/8', '/^10\\./'],
    ])('trustedProxies [%j] suggests the CIDR %s or a RegExp', (entry, cidr, regexp) => {
      for (const fn of [construct({ trustedProxies: [entry] }), viaExtract({ trustedProxies: [entry] })]) {
        const err = thrown(fn);
        expect(err.code).toBe('VIGIL_E_TRUSTED_PROXY');
        expect(err.option).toBe('ip.trustedProxies[0]');
        expect(err.value).toBe(entry);
        expect(err.message).toContain('ip.trustedProxies[0]');
        expect(err.message).toContain(JSON.stringify(entry));
        expect(err.message).toContain(`"${cidr}"`);
        expect(err.message).toContain(regexp);
      }
    });

    it.each([
      ['*'],
      ['not-an-ip'],
      ['10.0.0.0/33'],
      ['2001:db8::/129'],
      ['10.0.0.0/'],
      ['/8'],
      ['10.0.0.0/8/9'],
      ['10.0.0.0/-1'],
      ['10.0.0.0/8.5'],
      ['10.0.0.0/ 8'],
      ['127.1'],
      ['010.0.0.1/8'],
      ['example.com'],
      [''],
    ])('trustedProxies [%j] is rejected, naming a CIDR and a RegExp as the fix', (entry) => {
      const err = thrown(construct({ trustedProxies: ['198.51.100.0/24', entry] }));
      expect(err.code).toBe('VIGIL_E_TRUSTED_PROXY');
      expect(err.option).toBe('ip.trustedProxies[1]');
      expect(err.message).toContain(JSON.stringify(entry));
      expect(err.message).toMatch(/CIDR/);
      expect(err.message).toMatch(/RegExp/);
    });

    it.each([[42], [null], [{}], [['10.0.0.1']]])('trustedProxies entry %j of the wrong type is rejected', (entry) => {
      const err = thrown(construct({ trustedProxies: [entry] }));
      expect(err.code).toBe('VIGIL_E_TRUSTED_PROXY');
      expect(err.option).toBe('ip.trustedProxies[0]');
    });

    it('trustedProxies that is not an array is rejected', () => {
      const err = thrown(construct({ trustedProxies: '10.0.0.0/8' }));
      expect(err.code).toBe('VIGIL_E_TRUSTED_PROXY');
      expect(err.option).toBe('ip.trustedProxies');
      expect(err.message).toContain('"10.0.0.0/8"');
      expect(err.message).toMatch(/array/);
    });

    it.each([[-1], [1.5], [0.1], [Number.NaN], [Number.POSITIVE_INFINITY], ['1'], [65536]])('trustedProxyDepth %j is rejected', (depth) => {
      for (const fn of [construct({ trustedProxyDepth: depth }), viaExtract({ trustedProxyDepth: depth })]) {
        const err = thrown(fn);
        expect(err.code).toBe('VIGIL_E_PROXY_DEPTH');
        expect(err.option).toBe('ip.trustedProxyDepth');
        expect(err.message).toContain('ip.trustedProxyDepth');
        expect(err.message).toContain(typeof depth === 'string' ? JSON.stringify(depth) : String(depth));
        expect(err.message).toMatch(/whole number/);
        expect(err.message).toMatch(/0 \(default\), 1, 2/);
      }
    });

    it.each([[0], [1], [5]])('trustedProxyDepth %i is accepted', (depth) => {
      expect(() => createClientIpExtractor({ trustedProxyDepth: depth })).not.toThrow();
    });

    it("ipHeaders: 'X-Real-Ip' (not an array) is rejected with the array to write instead", () => {
      for (const fn of [construct({ ipHeaders: 'X-Real-Ip' }), viaExtract({ ipHeaders: 'X-Real-Ip' })]) {
        const err = thrown(fn);
        expect(err.code).toBe('VIGIL_E_IP_HEADERS');
        expect(err.option).toBe('ip.ipHeaders');
        expect(err.value).toBe('X-Real-Ip');
        expect(err.message).toContain('ip.ipHeaders');
        expect(err.message).toContain('"X-Real-Ip"');
        expect(err.message).toContain('ipHeaders: ["X-Real-Ip"]');
      }
    });

    it.each([[''], ['  '], [42], [null]])('ipHeaders entry %j is rejected', (entry) => {
      const err = thrown(construct({ ipHeaders: ['X-Real-Ip', entry] }));
      expect(err.code).toBe('VIGIL_E_IP_HEADERS');
      expect(err.option).toBe('ip.ipHeaders[1]');
    });

    it.each([[''], [42], [['CF-Connecting-IP']]])('trustedIpHeader %j is rejected', (value) => {
      const err = thrown(construct({ trustedIpHeader: value }));
      expect(err.code).toBe('VIGIL_E_IP_HEADERS');
      expect(err.option).toBe('ip.trustedIpHeader');
    });

    it.each([['yes'], [1], [0]])('trustProxyChain %j is rejected', (value) => {
      const err = thrown(construct({ trustProxyChain: value }));
      expect(err.code).toBe('VIGIL_E_OPTION_TYPE');
      expect(err.option).toBe('ip.trustProxyChain');
    });

    it.each([
      ['trustedProxy', 'trustedProxies'],
      ['trustedProxie', 'trustedProxies'],
      ['trustedproxies', 'trustedProxies'],
      ['ipHeader', 'ipHeaders'],
      ['trustedProxiesDepth', 'trustedProxyDepth'],
      ['trustedIpHeaders', 'trustedIpHeader'],
      ['trustProxyChains', 'trustProxyChain'],
    ])('the unknown option %s is rejected with "Did you mean %s"', (key, suggestion) => {
      for (const fn of [construct({ [key]: 1 }), viaExtract({ [key]: 1 })]) {
        const err = thrown(fn);
        expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
        expect(err.option).toBe(`ip.${key}`);
        expect(err.message).toContain(`ip.${key}`);
        expect(err.message).toContain(`Did you mean "ip.${suggestion}"?`);
      }
    });

    it.each<[unknown, string, RegExp]>([
      ['Cloudflare', 'ip.preset', /Did you mean "cloudflare"\?/],
      [' cloudflare ', 'ip.preset', /Did you mean "cloudflare"\?/],
      ['aws-alb', 'ip.preset', /AWS ALB.*no preset is needed/],
      [['cloudflare', 'gcp'], 'ip.preset[1]', /Presets: "cloudflare"/],
      ['__proto__', 'ip.preset', /Presets: "cloudflare"/],
      [[42], 'ip.preset[0]', /Presets: "cloudflare"/],
      [42, 'ip.preset', /Presets: "cloudflare"/],
      [{ cloudflare: true }, 'ip.preset', /Presets: "cloudflare"/],
    ])('preset %j is rejected at %s, with the presets and the fix', (preset, option, fix) => {
      for (const fn of [construct({ preset }), viaExtract({ preset })]) {
        const err = thrown(fn);
        expect(err.code).toBe('VIGIL_E_TRUSTED_PROXY');
        expect(err.option).toBe(option);
        expect(err.message).toContain(option);
        expect(err.message).toMatch(fix);
        expect(err.message).toContain('ip.trustedProxies');
      }
    });

    it('a misspelt preset option suggests the right one', () => {
      expect(thrown(construct({ presets: 'cloudflare' })).message).toContain('Did you mean "ip.preset"?');
    });

    it.each([['string'], [42], [['X-Real-Ip']], [null]])('options %j that are not an object are rejected', (options) => {
      expect(thrown(construct(options)).code).toBe('VIGIL_E_OPTION_TYPE');
    });

    it('is a real Error with a name, thrown before any request', () => {
      let calls = 0;
      const err = thrown(() => {
        createClientIpExtractor({ trustedProxyDepth: -1 });
        calls++;
      });
      expect(calls).toBe(0);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe('VigilConfigError');
      expect(err.value).toBe(-1);
    });

    it('names the option with the given prefix', () => {
      expect(thrown(() => createClientIpExtractor({ trustedProxyDepth: -1 }, 'vigil.ip')).option).toBe('vigil.ip.trustedProxyDepth');
    });
  });

  describe('properties', () => {
    it('(a) with default options and a public peer, no header content changes the result', () => {
      fc.assert(
        fc.property(writtenPublic, headerMap, ({ text, canonical }, headers) => {
          expect(extractClientIp({ headers, remoteAddress: text })).toBe(canonical);
          // Naming more headers is not declaring a proxy either.
          expect(extractClientIp({ headers, remoteAddress: text }, NO_PROXY_TRUST)).toBe(canonical);
        }),
        { numRuns: 500 },
      );
    });

    it('(b) behind one trusted proxy that appends the client, prepended entries never change the result', () => {
      const prefixEntry = fc.oneof(fc.string(), writtenPublic.map((w) => w.text), trustedToken, anyToken);
      fc.assert(
        fc.property(writtenPublic, fc.array(prefixEntry, { maxLength: 12 }), fc.boolean(), ({ text, canonical }, prefix, asArray) => {
          const forwarded = asArray ? [...prefix, text] : [...prefix, text].join(', ');
          expect(xff(forwarded, '10.0.0.1')).toBe(canonical);
        }),
        { numRuns: 500 },
      );
    });

    it('(c) the result is always undefined or a valid IP in canonical form, taken from the request', () => {
      const remote = fc.oneof(
        fc.constant(undefined),
        writtenPublic.map((w) => w.text),
        trustedToken,
        anyToken,
        fc.constantFrom('unix:/tmp/app.sock', ''),
      );
      fc.assert(
        fc.property(headerMap, remote, fc.constantFrom(...EXTRACTORS), (headers, remoteAddress, extract) => {
          const result = extract({ headers, remoteAddress });
          if (result === undefined) return;
          expect(isIP(result)).not.toBe(0);
          expect(result).not.toContain('%');
          expect(canonicalizeIp(result)).toBe(result);
          const seen = new Set<string>();
          const values = [remoteAddress ?? '', ...Object.values(headers).flat().map(String)];
          for (const value of values) for (const token of value.split(/[\s,]+/)) seen.add(canonicalizeIp(token) ?? '');
          expect(seen.has(result)).toBe(true);
        }),
        { numRuns: 1000 },
      );
    });
  });
});

const NO_PROXY_TRUST: IpOptions = { ipHeaders: ['X-Real-Ip', 'X-Forwarded-For', 'CF-Connecting-IP'], trustedIpHeader: 'True-Client-Ip' };
const EXTRACTORS = [
  createClientIpExtractor(),
  createClientIpExtractor({ trustedProxyDepth: 1 }),
  createClientIpExtractor({ trustedProxyDepth: 3 }),
  createClientIpExtractor({ trustProxyChain: true }),
  createClientIpExtractor({ ipHeaders: ['X-Real-Ip', 'X-Forwarded-For', '__proto__'] }),
  createClientIpExtractor({ trustedIpHeader: 'CF-Connecting-IP' }),
  createClientIpExtractor({ trustedProxies: ['0.0.0.0/0', '::/0'] }),
  createClientIpExtractor({ trustedProxies: ['2000::/3', /^[0-9]/] }),
];
