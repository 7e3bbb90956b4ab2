import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createClientIpExtractor, extractClientIp, type IpOptions, type IpSource } from './ip.js';

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

// Review of issue 12: an unknown socket peer is not a proxy. Node reports
// `remoteAddress: undefined` once the socket is destroyed, and Express keeps running the
// middleware chain after that: a client that sends X-Forwarded-For and resets the
// connection while an earlier async middleware runs must not pick its address.

/** What an app sees of a request: its headers and `req.socket.remoteAddress`, read now. */
function seen(req: IncomingMessage): IpSource {
  return { headers: req.headers, remoteAddress: req.socket.remoteAddress };
}

describe('issue 12 review: a missing remoteAddress is not a trusted proxy', () => {
  const spoof = { 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.6', forwarded: 'for=6.6.6.6', 'cf-connecting-ip': '6.6.6.6', 'true-client-ip': '6.6.6.6' };
  it.each<[string, IpOptions | undefined]>([
    ['the defaults', undefined],
    ['X-Real-IP', { ipHeaders: ['X-Real-IP'] }],
    ['Forwarded', { ipHeaders: ['Forwarded'] }],
    ['trustedIpHeader', { trustedIpHeader: 'True-Client-IP' }],
    ['trustedProxyDepth 1', { trustedProxyDepth: 1 }],
    ['trustProxyChain', { trustProxyChain: true }],
    ['listed proxies', { trustedProxies: ['203.0.113.0/24', 'localhost'] }],
    ['the cloudflare preset', { preset: 'cloudflare' }],
  ])('with %s, no peer address: headers are not believed and the address is undefined', (_, options) => {
    for (const remoteAddress of [undefined, '', 'garbage']) {
      expect(extractClientIp({ headers: spoof, remoteAddress }, options)).toBeUndefined();
      expect(createClientIpExtractor(options).resolve({ headers: spoof, remoteAddress })).toMatchObject({ ip: undefined, source: 'none' });
    }
  });

  it("trustedProxies: ['unix'] (or 'unix:<path>') opts in: a unix-socket app behind a local proxy believes it", () => {
    for (const entry of ['unix', 'UNIX', 'unix:/run/app.sock']) {
      expect(extractClientIp({ headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' } }, { trustedProxies: [entry] })).toBe('198.51.100.7');
      expect(extractClientIp({ headers: { 'x-real-ip': '198.51.100.7' } }, { trustedProxies: [entry], ipHeaders: ['X-Real-IP'] })).toBe('198.51.100.7');
    }
    // The opt-in trusts the unknown peer only: a public peer still is the client.
    expect(extractClientIp({ headers: { 'x-forwarded-for': '6.6.6.6' }, remoteAddress: '198.51.100.7' }, { trustedProxies: ['unix'] })).toBe('198.51.100.7');
  });

  it('over a real TCP socket: X-Forwarded-For then a reset during an async step is not extracted', async () => {
    let answer: { socketGone: string | undefined; ip: string | undefined } | undefined;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    // An app whose middleware awaits something (a session store, a body parser) before
    // Vigil's runs: here, until the client has gone.
    const server = createServer((req) => {
      req.socket.once('close', () => {
        const source = seen(req);
        answer = { socketGone: source.remoteAddress, ip: extractClientIp(source) };
        done();
      });
      req.socket.emit('request-seen');
    });
    server.on('connection', (socket) => socket.once('request-seen', () => client.resetAndDestroy()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = connect(port, '127.0.0.1');
    client.on('error', () => undefined);
    client.write('GET /login HTTP/1.1\r\nHost: app\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n');
    try {
      await finished;
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(answer).toEqual({ socketGone: undefined, ip: undefined });
  });

  it("over a real unix socket: undefined without the opt-in, the proxy's entry with trustedProxies: ['unix']", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-ip-'));
    const path = join(dir, 'app.sock');
    const sources: IpSource[] = [];
    const server = createServer((req, res) => {
      sources.push(seen(req));
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      // nginx in front, `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for`.
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ socketPath: path, path: '/login', headers: { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' } }, (res) => {
          res.resume();
          res.on('end', resolve);
        });
        req.on('error', reject);
        req.end();
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
    const source = sources[0] as IpSource;
    expect(source.remoteAddress).toBeUndefined();
    expect(extractClientIp(source)).toBeUndefined();
    expect(extractClientIp(source, { trustedProxies: ['unix'] })).toBe('198.51.100.7');
  });
});

describe('issue 12 review: behind an L4 NAT the private default can be turned off', () => {
  // client 198.51.100.7 ──► k8s Service (externalTrafficPolicy: Cluster, SNAT to node 10.244.0.1)
  //   ──► ingress pod 10.1.2.7 (appends its peer) ──► app
  const headers = { 'x-forwarded-for': '6.6.6.6, 10.244.0.1' };
  it('with the default trust, the NATed node address is a trusted proxy and the client picks its address', () => {
    expect(extractClientIp({ headers, remoteAddress: '10.1.2.7' })).toBe('6.6.6.6');
  });

  it('trustPrivateRanges: false with the real proxies listed: the answer is what the ingress saw, never what the client wrote', () => {
    const options = { trustPrivateRanges: false, trustedProxies: ['10.1.2.0/24'] } as IpOptions;
    expect(extractClientIp({ headers, remoteAddress: '10.1.2.7' }, options)).toBe('10.244.0.1');
    // With no proxy at all, the NATed peer is the answer.
    expect(extractClientIp({ headers: { 'x-forwarded-for': '6.6.6.6' }, remoteAddress: '10.244.0.1' }, options)).toBe('10.244.0.1');
    // Loopback stays trusted (a sidecar proxy on the same host).
    expect(extractClientIp({ headers: { 'x-forwarded-for': '198.51.100.7' }, remoteAddress: '127.0.0.6' }, options)).toBe('198.51.100.7');
  });

  it('a trustPrivateRanges that is not a boolean is a start-up error naming the option, the value and the fix', () => {
    expect(() => createClientIpExtractor({ trustPrivateRanges: 'no' } as unknown as IpOptions)).toThrow(/ip\.trustPrivateRanges is "no".*Use true.*or false/s);
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

type Trust = 'depth' | 'private' | 'listed' | 'cloudflare' | 'unix';
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
  /**
   * What the app knows of its socket peer. `known`: its address. `unix`: the nearest
   * proxy (proxies[0]) talks to the app over a unix socket, so `remoteAddress` is
   * undefined; `optedIn` says whether the operator wrote `trustedProxies: ['unix']`.
   * `gone`: the socket was destroyed before the app looked (a client reset).
   */
  peer: 'known' | 'unix' | 'gone';
  optedIn: boolean;
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
    peer: fc.oneof({ weight: 4, arbitrary: fc.constant<'known'>('known') }, fc.constantFrom<'unix' | 'gone'>('unix', 'gone')),
    optedIn: fc.boolean(),
  })
  .map((t) => {
    // A unix-socket proxy is one more hop, the nearest; the others follow it.
    const offset = t.peer === 'unix' ? 1 : 0;
    const n = t.k + offset;
    // A direct connection has no proxy for a single-value header or Cloudflare to set.
    const reporting: Reporting = t.k === 0 ? 'xff' : t.reporting;
    // Depth counts the nearest hops; the rest are trusted by address.
    const depth = Math.min(n, Math.floor(t.depthShare * (n + 1)));
    const proxies: Proxy[] = [];
    for (let i = 0; i < n; i++) {
      const outermost = i === n - 1;
      const j = i - offset;
      if (i < offset) proxies.push({ v6: false, text: '', trust: i < depth ? 'depth' : 'unix' });
      else if (reporting === 'cloudflare' && outermost) proxies.push({ ...t.edge, trust: i < depth ? 'depth' : 'cloudflare' });
      else if (i < depth) proxies.push({ ...(t.depthAddrs[j] as Addr), trust: 'depth' });
      else if (t.trusts[j] === 'private') proxies.push({ ...(t.privateAddrs[j] as Addr), trust: 'private' });
      else proxies.push({ ...(t.listedAddrs[j] as Addr), trust: 'listed' });
    }
    const hidden = t.hide === 0 && n > 0 && (reporting === 'xff' || reporting === 'forwarded');
    // A destroyed socket on a TCP app: opting in there is the misconfiguration the
    // README warns about, not a topology.
    const optedIn = t.peer === 'unix' && t.optedIn;
    return { client: t.client, proxies, depth, reporting, withCloudflarePreset: reporting === 'cloudflare' || t.preset, forms: t.forms, sent: t.sent, asArray: t.asArray, hidden, peer: t.peer, optedIn };
  });

/** Sends the client's request through the chain, outermost proxy first, as real proxies do. */
function deliver(t: Topology): { headers: Record<string, string | string[]>; remoteAddress: string | undefined } {
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
  // On a unix socket, and once the socket is gone, Node's remoteAddress is undefined.
  return { headers, remoteAddress: t.peer === 'known' ? (t.proxies[0]?.text ?? t.client.text) : undefined };
}

/** The configuration an operator writes for that topology. */
function configure(t: Topology): IpOptions {
  const options: IpOptions = {};
  if (t.depth > 0) options.trustedProxyDepth = t.depth;
  const listed = t.proxies.filter((p) => p.trust === 'listed').map((p) => (p.v6 ? `${p.text}/128` : p.text));
  if (t.optedIn) listed.push('unix');
  if (listed.length > 0) options.trustedProxies = listed;
  if (t.withCloudflarePreset) options.preset = 'cloudflare';
  if (t.reporting === 'forwarded') options.ipHeaders = ['Forwarded'];
  if (t.reporting === 'x-real-ip') options.ipHeaders = ['X-Real-IP'];
  return options;
}

describe('issue 12: clients never choose their address, over proxy topologies', () => {
  it('the extracted address is always the real client’s (or, past a hidden hop, a proxy’s, or with an unknown peer and no opt-in, undefined), never a value the client wrote', () => {
    fc.assert(
      fc.property(topology, (t) => {
        const options = configure(t);
        const extract = createClientIpExtractor(options);
        const answer = extract(deliver(t));
        if (t.peer !== 'known' && !t.optedIn) {
          // Nobody can vouch for headers from a peer the app does not know.
          expect(answer).toBeUndefined();
        } else if (t.hidden) {
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
