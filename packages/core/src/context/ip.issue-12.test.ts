import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createClientIpExtractor, extractClientIp, type IpOptions } from './ip.js';

// Regressions of issue 12, item 3 ("Clients never choose their address"): each case is
// a request a client could send on the code before the fix to pick its own address.

const ip = (headers: Record<string, string>, remoteAddress: string, options: IpOptions) => extractClientIp({ headers, remoteAddress }, options);

describe('issue 12: depth 1 behind one appending proxy', () => {
  // client 198.51.100.7 ──► proxy 203.0.113.1 (appends its peer) ──► app
  it('ignores the entries the client wrote and answers the one the proxy appended', () => {
    const options = { trustedProxyDepth: 1 };
    expect(ip({ 'x-forwarded-for': '6.6.6.6, 198.51.100.7' }, '203.0.113.1', options)).toBe('198.51.100.7');
    expect(ip({ 'x-forwarded-for': '10.0.0.9, 6.6.6.6, 198.51.100.7' }, '203.0.113.1', options)).toBe('198.51.100.7');
    expect(ip({ 'x-forwarded-for': '198.51.100.7' }, '203.0.113.1', options)).toBe('198.51.100.7');
  });

  it('behind two appending proxies, depth 2 still answers the address the outer proxy saw', () => {
    // client 198.51.100.7 ──► edge 192.0.2.5 ──► router 203.0.113.1 ──► app
    expect(ip({ 'x-forwarded-for': '6.6.6.6, 7.7.7.7, 198.51.100.7, 192.0.2.5' }, '203.0.113.1', { trustedProxyDepth: 2 })).toBe('198.51.100.7');
  });
});

describe('issue 12: RFC 7239 Forwarded is read with the same trust rules', () => {
  it('answers the element the trusted proxy appended, IPv6 quoted in brackets with a port', () => {
    const headers = { forwarded: 'for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https' };
    expect(ip(headers, '10.0.0.1', { ipHeaders: ['Forwarded'] })).toBe('2001:db8:cafe::17');
    expect(ip(headers, '203.0.113.1', { ipHeaders: ['Forwarded'], trustedProxyDepth: 1 })).toBe('2001:db8:cafe::17');
  });
});

describe('issue 12: the Cloudflare preset believes CF-Connecting-IP only from Cloudflare', () => {
  it('believes it from a Cloudflare peer, and not from anyone else', () => {
    const headers = { 'cf-connecting-ip': '198.51.100.7', 'x-forwarded-for': '198.51.100.7' };
    expect(ip(headers, '172.70.1.1', { preset: 'cloudflare' } as IpOptions)).toBe('198.51.100.7');
    expect(ip({ 'cf-connecting-ip': '6.6.6.6' }, '203.0.113.1', { preset: 'cloudflare' } as IpOptions)).toBe('203.0.113.1');
  });
});

// ---------------------------------------------------------------------------------------
// The family: a client behind any topology of proxies, each trusted by address or
// counted by depth, writing whatever it likes into every address header.
// ---------------------------------------------------------------------------------------

/**
 * Canonical IPv6 as the WHATWG URL parser writes it: a reference independent of ip.ts.
 */
const canonicalV6 = (groups: readonly number[]) => new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1);

const byte = fc.integer({ min: 0, max: 255 });
const hextet = fc.integer({ min: 0, max: 0xffff });
const port = fc.integer({ min: 1, max: 65535 });

// Every address the client writes ends in an even number, the client's real address in
// an odd one: whatever the client writes, in whatever spelling, differs from the truth.
const oddByte = byte.map((b) => b | 1);
const evenByte = byte.map((b) => b & 0xfe);
const oddHextet = hextet.map((h) => h | 1);
const evenHextet = hextet.map((h) => h & 0xfffe);

interface Addr {
  v6: boolean;
  /** Canonical text, as the extractor must answer it. */
  text: string;
}

/**
 * The client's real address: public, outside every range any proxy in these topologies
 * is trusted by (private ranges, 200.0.0.0/5-ish listed proxies, Cloudflare).
 */
const realClient: fc.Arbitrary<Addr> = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 99 }).filter((a) => a !== 10), byte, byte, oddByte).map((o) => ({ v6: false, text: o.join('.') })),
  fc.tuple(fc.integer({ min: 0x2001, max: 0x2003 }), hextet, hextet, hextet, hextet, hextet, hextet, oddHextet).map((g) => ({ v6: true, text: canonicalV6(g) })),
);

type Trust = 'depth' | 'private' | 'listed' | 'cloudflare';
interface Proxy extends Addr {
  trust: Trust;
}

const privateAddr: fc.Arbitrary<Addr> = fc.oneof(
  fc.tuple(byte, byte, byte).map((o) => ({ v6: false, text: `10.${o.join('.')}` })),
  fc.tuple(fc.integer({ min: 16, max: 31 }), byte, byte).map((o) => ({ v6: false, text: `172.${o.join('.')}` })),
  fc.tuple(byte, byte).map((o) => ({ v6: false, text: `192.168.${o.join('.')}` })),
  fc.tuple(fc.integer({ min: 0xfc00, max: 0xfdff }), hextet, hextet).map(([a, b, c]) => ({ v6: true, text: canonicalV6([a, b, 0, 0, 0, 0, 0, c]) })),
);
/** Public proxies of the operator's own (a PaaS router, a self-run edge). */
const publicProxyAddr: fc.Arbitrary<Addr> = fc.oneof(
  fc.tuple(fc.integer({ min: 200, max: 223 }), byte, byte, byte).map((o) => ({ v6: false, text: o.join('.') })),
  fc.tuple(fc.integer({ min: 0x3000, max: 0x3fff }), hextet, hextet).map(([a, b, c]) => ({ v6: true, text: canonicalV6([a, b, 0, 0, 0, 0, 0, c]) })),
);
const cloudflareAddr: fc.Arbitrary<Addr> = fc.oneof(
  fc.tuple(fc.integer({ min: 64, max: 71 }), byte, byte).map((o) => ({ v6: false, text: `172.${o.join('.')}` })),
  fc.tuple(byte, byte).map((o) => ({ v6: false, text: `162.158.${o.join('.')}` })),
  fc.tuple(fc.integer({ min: 16, max: 27 }), byte, byte).map((o) => ({ v6: false, text: `104.${o.join('.')}` })),
  fc.tuple(fc.constantFrom(0x2606, 0x2400), hextet).map(([a, c]) => ({ v6: true, text: canonicalV6([a, a === 0x2606 ? 0x4700 : 0xcb00, 0, 0, 0, 0, 0, c]) })),
);

/** An address as a proxy writes its peer into X-Forwarded-For (some add the port). */
function xffEntry(addr: Addr, form: number, p: number): string {
  if (form === 0) return addr.text;
  return addr.v6 ? `[${addr.text}]:${p}` : `${addr.text}:${p}`;
}
/** An RFC 7239 element for the peer, as proxies write them. */
function forwardedElement(addr: Addr, form: number, p: number): string {
  const node = addr.v6 ? `"[${addr.text}]${form === 1 ? `:${p}` : ''}"` : form === 1 ? `"${addr.text}:${p}"` : addr.text;
  return form === 2 ? `for=${node};proto=https;by=_edge` : `for=${node}`;
}

/** Anything a client may write into an address header, never its real address. */
const spoofAddress = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 223 }), byte, byte, evenByte).map((o) => o.join('.')),
  fc.tuple(fc.integer({ min: 0x2000, max: 0x3fff }), hextet, hextet, evenHextet).map(([a, b, c, d]) => canonicalV6([a, b, 0, 0, 0, 0, c, d])),
  fc.tuple(byte, byte, evenByte).map((o) => `10.${o.join('.')}`),
  fc.tuple(byte, evenByte).map((o) => `172.64.${o.join('.')}`),
  evenHextet.map((h) => `2606:4700::${h.toString(16)}`),
);
const spoofToken = fc.oneof(
  { weight: 4, arbitrary: spoofAddress },
  { weight: 2, arbitrary: fc.tuple(spoofAddress, port).map(([a, p]) => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`)) },
  fc.tuple(fc.integer({ min: 1, max: 223 }), byte, byte, evenByte).map((o) => `::ffff:${o.join('.')}`),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('unknown', '_hidden', 'localhost', 'unix', '127.1', '"', '[', ';', '=', 'for=', '1.2.3.4.5', 'fe80::2%eth0', '\u00a0', '🤖'),
);
const spoofForwardedElement = fc.oneof(
  spoofToken.map((t) => `for=${t}`),
  spoofToken.map((t) => `for="${t}"`),
  fc.tuple(spoofAddress, port).map(([a, p]) => `For="[${a}]:${p}"`),
  spoofToken.map((t) => `for="${t}`),
  fc.tuple(spoofToken, spoofToken).map(([a, b]) => `for=${a};for=${b}`),
  fc.constantFrom('for=_hidden', 'for=unknown', 'proto=https', 'by=1.2.3.4', ''),
);
const list = <T>(item: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 5, arbitrary: fc.array(item, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.array(item, { minLength: 50, maxLength: 300 }) });
const separator = fc.constantFrom(', ', ',', ' ', ' , ', ',,');

/** What the client sends: any subset of the address headers, any content. */
const clientHeaders = fc.record(
  {
    'x-forwarded-for': fc.tuple(list(spoofToken), separator).map(([t, s]) => t.join(s)),
    'x-real-ip': fc.tuple(list(spoofToken), separator).map(([t, s]) => t.join(s)),
    forwarded: fc.tuple(list(spoofForwardedElement), fc.constantFrom(', ', ',')).map(([t, s]) => t.join(s)),
    'cf-connecting-ip': spoofToken,
    'true-client-ip': spoofToken,
  },
  { requiredKeys: [] },
);

/** How the chain reports the client: which header the proxies write, hence which the app reads. */
type Reporting = 'xff' | 'forwarded' | 'x-real-ip' | 'cloudflare';

interface Topology {
  client: Addr;
  /** Nearest first: proxies[0] is the socket peer. */
  proxies: Proxy[];
  depth: number;
  reporting: Reporting;
  withCloudflarePreset: boolean;
  forms: { entry: number; port: number }[];
  sent: Record<string, string>;
  asArray: boolean;
  /** The outermost proxy hides its peer (`unknown`, `for=_hidden`): nobody can know the client. */
  hidden: boolean;
}

const topology: fc.Arbitrary<Topology> = fc
  .record({
    client: realClient,
    k: fc.integer({ min: 0, max: 4 }),
    depthShare: fc.double({ min: 0, max: 1, noNaN: true }),
    reporting: fc.constantFrom<Reporting>('xff', 'forwarded', 'x-real-ip', 'cloudflare'),
    trusts: fc.array(fc.constantFrom<Trust>('private', 'listed'), { minLength: 4, maxLength: 4 }),
    depthAddrs: fc.array(fc.oneof(publicProxyAddr, privateAddr), { minLength: 4, maxLength: 4 }),
    privateAddrs: fc.array(privateAddr, { minLength: 4, maxLength: 4 }),
    listedAddrs: fc.array(publicProxyAddr, { minLength: 4, maxLength: 4 }),
    edge: cloudflareAddr,
    preset: fc.boolean(),
    forms: fc.array(fc.record({ entry: fc.integer({ min: 0, max: 2 }), port }), { minLength: 5, maxLength: 5 }),
    sent: clientHeaders,
    asArray: fc.boolean(),
    hide: fc.integer({ min: 0, max: 9 }),
  })
  .map((t) => {
    // A direct connection has no proxy for a single-value header or Cloudflare to set.
    const reporting: Reporting = t.k === 0 ? 'xff' : t.reporting;
    // Depth counts the nearest hops; the rest are trusted by address.
    const depth = Math.floor(t.depthShare * (t.k + 1)) > t.k ? t.k : Math.floor(t.depthShare * (t.k + 1));
    const proxies: Proxy[] = [];
    for (let i = 0; i < t.k; i++) {
      const outermost = i === t.k - 1;
      if (reporting === 'cloudflare' && outermost) proxies.push({ ...t.edge, trust: i < depth ? 'depth' : 'cloudflare' });
      else if (i < depth) proxies.push({ ...(t.depthAddrs[i] as Addr), trust: 'depth' });
      else if (t.trusts[i] === 'private') proxies.push({ ...(t.privateAddrs[i] as Addr), trust: 'private' });
      else proxies.push({ ...(t.listedAddrs[i] as Addr), trust: 'listed' });
    }
    const hidden = t.hide === 0 && t.k > 0 && (reporting === 'xff' || reporting === 'forwarded');
    return { client: t.client, proxies, depth, reporting, withCloudflarePreset: reporting === 'cloudflare' || t.preset, forms: t.forms, sent: t.sent, asArray: t.asArray, hidden };
  });

/** Sends the client's request through the chain, outermost proxy first, as real proxies do. */
function deliver(t: Topology): { headers: Record<string, string | string[]>; remoteAddress: string } {
  const headers: Record<string, string | string[]> = { ...t.sent };
  const append = (name: string, item: string) => {
    const before = headers[name];
    if (before === undefined) headers[name] = item;
    // Some proxies add a header line (frameworks may hand over an array), most append.
    else headers[name] = t.asArray ? [...(Array.isArray(before) ? before : [before]), item] : `${Array.isArray(before) ? before.join(', ') : before}, ${item}`;
  };
  for (let j = t.proxies.length - 1; j >= 0; j--) {
    const proxy = t.proxies[j] as Proxy;
    const peer: Addr = j === t.proxies.length - 1 ? t.client : (t.proxies[j + 1] as Proxy);
    const form = t.forms[j] as { entry: number; port: number };
    const outermost = j === t.proxies.length - 1;
    if (outermost && t.hidden) append(t.reporting === 'forwarded' ? 'forwarded' : 'x-forwarded-for', t.reporting === 'forwarded' ? (form.entry ? 'for=_hidden' : 'for=unknown') : 'unknown');
    else if (t.reporting === 'forwarded') append('forwarded', forwardedElement(peer, form.entry, form.port));
    else append('x-forwarded-for', xffEntry(peer, form.entry % 2, form.port));
    if (outermost && t.reporting === 'x-real-ip') headers['x-real-ip'] = peer.text;
    if (proxy.trust === 'cloudflare' || (t.reporting === 'cloudflare' && outermost)) headers['cf-connecting-ip'] = peer.text;
  }
  return { headers, remoteAddress: t.proxies[0]?.text ?? t.client.text };
}

/** The configuration an operator writes for that topology. */
function configure(t: Topology): IpOptions {
  const options: IpOptions = {};
  if (t.depth > 0) options.trustedProxyDepth = t.depth;
  const listed = t.proxies.filter((p) => p.trust === 'listed').map((p) => (p.v6 ? `${p.text}/128` : p.text));
  if (listed.length > 0) options.trustedProxies = listed;
  if (t.withCloudflarePreset) options.preset = 'cloudflare';
  if (t.reporting === 'forwarded') options.ipHeaders = ['Forwarded'];
  if (t.reporting === 'x-real-ip') options.ipHeaders = ['X-Real-IP'];
  return options;
}

describe('issue 12: clients never choose their address, over proxy topologies', () => {
  it('the extracted address is always the real client’s (or, past a hidden hop, a proxy’s), never a value the client wrote', () => {
    fc.assert(
      fc.property(topology, (t) => {
        const options = configure(t);
        const extract = createClientIpExtractor(options);
        const answer = extract(deliver(t));
        if (t.hidden) {
          // What lies beyond a hidden hop is the client's writing: the answer can only
          // be a proxy the request really passed, or nothing.
          if (answer !== undefined) expect(t.proxies.map((p) => p.text)).toContain(answer);
        } else {
          expect(answer).toBe(t.client.text);
        }
        // Trusting by address only, reaching the app around the proxies gains nothing.
        if (t.depth === 0) expect(extract({ headers: t.sent, remoteAddress: t.client.text })).toBe(t.client.text);
      }),
      { seed: 12, numRuns: 2000 },
    );
  });
});
