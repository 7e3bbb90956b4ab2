import ipaddr from 'ipaddr.js';
import { VigilConfigError } from '../errors.js';
import { checkKnownOptions } from '../config/options.js';
import { getHeader, type IncomingHeaders, normalizeHeaderName } from './headers.js';
import { IP_PRESETS, type IpPreset, type IpPresetName } from './ip-presets.js';

/** Where the client address comes from: the request's headers and its socket peer. */
export interface IpSource {
  headers?: IncomingHeaders;
  /**
   * The socket's peer address (`req.socket.remoteAddress`). Undefined when unknown: on a
   * unix socket, and once the socket is destroyed (a client that reset the connection).
   * An unknown peer is not trusted: see `trustedProxies: ['unix']`.
   */
  remoteAddress?: string | undefined;
}

/** Options of {@link extractClientIp}: which headers to believe, and which peers are proxies. */
export interface IpOptions {
  /**
   * Headers carrying client addresses, tried in order. Default `['X-Forwarded-For']`;
   * a given list replaces the default. Any spelling: `CF_CONNECTING_IP` and
   * `cf-connecting-ip` are one header.
   */
  ipHeaders?: string[];
  /**
   * Extra trusted proxies: exact IPs, CIDR ranges (`10.1.0.0/16`, `2001:db8::/32`) or
   * RegExps tested against the canonical address. Loopback, private, link-local and
   * unique-local ranges are always trusted.
   *
   * `'unix'` (or `'unix:<path>'`) trusts an unknown socket peer: the way for an app that
   * listens on a unix socket behind a local proxy (nginx `proxy_pass http://unix:…`),
   * where Node reports no `remoteAddress`. Without it such a peer is not believed and the
   * address is undefined, since a TCP socket destroyed by a client that reset the
   * connection has no `remoteAddress` either. Use it only when the app listens on a
   * unix socket alone.
   */
  trustedProxies?: (string | RegExp)[];
  /**
   * Trust the private, link-local and unique-local ranges as proxies (loopback is always
   * trusted). Default true. Set false where an L4 NAT makes every socket peer private (a
   * Kubernetes Service with `externalTrafficPolicy: Cluster`, some container runtimes)
   * and list the real proxies in `trustedProxies`.
   */
  trustPrivateRanges?: boolean;
  /**
   * How many proxies every request passes before the app, the socket peer being the
   * nearest. Those hops are believed whatever their address, and no more: in
   * `X-Forwarded-For` and `Forwarded` the answer is at most that many hops out (with one
   * appending proxy and depth 1, the entry it appended). Other headers are believed
   * from the peer only. Depth trust assumes the app cannot be reached around its
   * proxies: prefer `trustedProxies` or `preset`, which trust by address.
   */
  trustedProxyDepth?: number;
  /**
   * A known edge, or several: `'cloudflare'` trusts Cloudflare's published ranges and
   * reads `CF-Connecting-IP` first, only when the socket peer is one of them. See
   * {@link IP_PRESETS} for the data and its date.
   */
  preset?: IpPresetName | readonly IpPresetName[];
  /** Take the left-most entry: every hop is a proxy you trust. Rarely right; think twice. */
  trustProxyChain?: boolean;
  /** CHEQ's shorthand: one header tried before `ipHeaders`, e.g. `CF-Connecting-IP`. */
  trustedIpHeader?: string;
  /**
   * Adapters only: take the framework's own client address (Express `req.ip` with its
   * `trust proxy`, Fastify `request.ip` with its `trustProxy`) instead of Vigil's.
   */
  useFramework?: boolean;
}

/** How a client address was found; the detailed form of {@link extractClientIp}. */
export interface ClientIpResolution {
  /** The client address, canonical; undefined when none could be found. */
  ip: string | undefined;
  /** `socket` when the peer itself is the answer, `header` when a header gave it. */
  source: 'socket' | 'header' | 'none';
  /**
   * True when the peer is a public address nobody declared a proxy, yet it sent an
   * `X-Forwarded-For`: either a spoof, or a CDN / load balancer the configuration
   * does not know about yet.
   */
  ignoredForwardedFor: boolean;
}

/** A compiled extractor: options validated once, applied to many requests. */
export interface ClientIpExtractor {
  (req: IpSource): string | undefined;
  /** Same answer with the reasoning, for diagnostics and start-up warnings. */
  resolve(req: IpSource): ClientIpResolution;
}

/**
 * A parsed address. IPv4 is kept as a number (the hot path: most traffic, and trust
 * checks become two integer operations); IPv6 goes through ipaddr.js.
 */
export type ParsedIp = { v4: number; v6?: undefined; text: string } | { v4?: undefined; v6: ipaddr.IPv6; text: string };
type Address = ParsedIp;

/** Parses a strict dotted quad (no leading zeros, no short forms) to a uint32, or -1. */
function parseDottedQuad(token: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1; // leading zero: octal in some parsers
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else if (c === 46 && digits > 0 && dots < 3) {
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + octet : -1;
}

function v4Text(num: number): string {
  return `${num >>> 24}.${(num >>> 16) & 255}.${(num >>> 8) & 255}.${num & 255}`;
}

const LOOPBACK_CIDRS = ['127.0.0.0/8', '::1/128'];
const PRIVATE_CIDRS = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'];

const XFF = 'X-Forwarded-For';
const MAX_TOKEN_LENGTH = 100;
const PORT = /^\d{1,5}$/;
const SEPARATORS = /[\s,]+/;

function isTrustedName(token: string): boolean {
  const lower = token.toLowerCase();
  return lower === 'localhost' || lower === 'unix' || lower.startsWith('unix:');
}

/**
 * Parses one address token: strips `v4:port` and `[v6]:port`, maps `::ffff:a.b.c.d` to
 * IPv4, and accepts only dotted-quad IPv4 (no `127.1`, `0x7f.1` or octal forms, which
 * some parsers read as other addresses).
 */
export function parseAddress(raw: string): Address | undefined {
  if (raw.length === 0 || raw.length > MAX_TOKEN_LENGTH) return undefined;
  let token = raw;
  if (token.charCodeAt(0) === 91 /* [ */) {
    const end = token.indexOf(']');
    if (end < 0) return undefined;
    const rest = token.slice(end + 1);
    if (rest !== '' && !(rest.charCodeAt(0) === 58 /* : */ && PORT.test(rest.slice(1)))) return undefined;
    token = token.slice(1, end);
  } else {
    const colon = token.indexOf(':');
    if (colon > 0 && token.indexOf(':', colon + 1) === -1) {
      if (!PORT.test(token.slice(colon + 1))) return undefined;
      token = token.slice(0, colon);
    }
  }
  const v4 = parseDottedQuad(token);
  // A strict dotted quad is already canonical: the token itself is the text.
  if (v4 >= 0) return { v4, text: token };
  if (token.includes(':')) {
    // One parse (isValid would parse it a first time), and the mapped range read from
    // the parts: ipaddr's own check walks every special range of the address space.
    let v6: ipaddr.IPv6;
    try {
      v6 = ipaddr.IPv6.parse(token);
    } catch {
      return undefined;
    }
    const p = v6.parts;
    if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0xffff) {
      const num = (p[6] as number) * 65536 + (p[7] as number);
      return { v4: num, text: v4Text(num) };
    }
    // A zone index (`fe80::1%eth0`) names an interface of the sender's host: it is not
    // part of the address, and keeping it would let one client appear as many.
    if (v6.zoneId !== undefined) v6 = new ipaddr.IPv6(v6.parts);
    return { v6, text: v6.toString() };
  }
  return undefined;
}

/**
 * Parses an address in any of the forms clients and proxies write (`1.2.3.4:80`,
 * `[2001:db8::1]:443`, `::ffff:1.2.3.4`) and returns its canonical string, or
 * `undefined` when the token is not an IP address.
 *
 * @example
 * canonicalizeIp('[2001:0db8::0001]:443') // '2001:db8::1'
 * canonicalizeIp('::ffff:1.2.3.4')        // '1.2.3.4'
 * canonicalizeIp('127.1')                 // undefined
 */
export function canonicalizeIp(token: string): string | undefined {
  if (typeof token !== 'string') return undefined;
  return parseAddress(token.trim())?.text;
}

/**
 * The fix for an IPv4 wildcard such as `10.0.0.*` or `192.168.*.*`: the CIDR range and
 * the RegExp that mean the same, or a generic hint when the pattern has no such range.
 */
function wildcardFix(value: string): string {
  const parts = value.split('.');
  const fixed: string[] = [];
  for (const part of parts) {
    if (part === '*') break;
    if (!/^(0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) return WILDCARD_GENERIC;
    fixed.push(part);
  }
  const rest = parts.slice(fixed.length);
  if (fixed.length === 0 || fixed.length > 3 || parts.length > 4 || rest.some((part) => part !== '*')) return WILDCARD_GENERIC;
  const base = [...fixed, '0', '0', '0'].slice(0, 4).join('.');
  return `Wildcards are not supported: use the CIDR range "${base}/${fixed.length * 8}" or a RegExp such as /^${fixed.join('\\.')}\\./.`;
}

const WILDCARD_GENERIC =
  'Wildcards are not supported: use a CIDR range ("203.0.113.0/24") or a RegExp (/^203\\.0\\.113\\./).';

interface CompiledTrust {
  /** [network, mask] pairs as uint32. */
  v4: [number, number][];
  /** [network parts, prefix length] pairs. */
  v6: [number[], number][];
  patterns: RegExp[];
  /** `trustedProxies: ['unix']`: a peer with no (or no readable) address is a proxy. */
  unknownPeer?: boolean;
}

function addRange(trust: CompiledTrust, addr: Address, bits: number): void {
  if (addr.v4 !== undefined) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    trust.v4.push([(addr.v4 & mask) >>> 0, mask]);
  } else {
    trust.v6.push([addr.v6.parts, bits]);
  }
}

/** Compiles CIDRs the package ships (defaults, presets): known good, never user input. */
function rangesTrust(cidrs: readonly string[], into: CompiledTrust = { v4: [], v6: [], patterns: [] }): CompiledTrust {
  for (const cidr of cidrs) {
    const [base, bits] = cidr.split('/');
    addRange(into, parseAddress(base as string) as Address, Number(bits));
  }
  return into;
}

function compileTrust(entries: unknown, option: string, presetRanges: readonly string[], privateRanges: boolean): CompiledTrust {
  const trust = rangesTrust(presetRanges, rangesTrust(privateRanges ? [...LOOPBACK_CIDRS, ...PRIVATE_CIDRS] : LOOPBACK_CIDRS));
  if (entries === undefined) return trust;
  if (!Array.isArray(entries)) {
    throw new VigilConfigError(
      'VIGIL_E_TRUSTED_PROXY',
      option,
      entries,
      'which is not an array',
      `Pass an array of IPs, CIDR ranges or RegExps, e.g. ${option}: ['203.0.113.0/24'].`,
    );
  }
  entries.forEach((entry, i) => {
    const at = `${option}[${i}]`;
    if (entry instanceof RegExp) {
      // A global or sticky RegExp carries lastIndex between calls and would answer
      // differently for the same address; a fresh copy without those flags cannot.
      trust.patterns.push(new RegExp(entry.source, entry.flags.replace(/[gy]/g, '')));
      return;
    }
    if (typeof entry !== 'string') {
      throw new VigilConfigError(
        'VIGIL_E_TRUSTED_PROXY',
        at,
        entry,
        'which is neither a string nor a RegExp',
        'Use an IP ("203.0.113.7"), a CIDR range ("203.0.113.0/24") or a RegExp (/^203\\.0\\.113\\./).',
      );
    }
    const value = entry.trim();
    if (isTrustedName(value)) {
      // `localhost` is loopback, trusted already; `unix` opts in to an unknown peer.
      if (value.toLowerCase() !== 'localhost') trust.unknownPeer = true;
      return;
    }
    if (value.includes('/')) {
      const [base, bits, extra] = value.split('/');
      const addr = base === undefined ? undefined : parseAddress(base);
      const prefix = Number(bits);
      const max = addr?.v4 !== undefined ? 32 : 128;
      if (addr && extra === undefined && bits !== undefined && /^\d{1,3}$/.test(bits) && prefix <= max) {
        addRange(trust, addr, prefix);
        return;
      }
    } else {
      const addr = parseAddress(value);
      if (addr) {
        addRange(trust, addr, addr.v4 !== undefined ? 32 : 128);
        return;
      }
    }
    throw new VigilConfigError(
      'VIGIL_E_TRUSTED_PROXY',
      at,
      entry,
      'which is not an IP address, a CIDR range or a RegExp',
      value.includes('*') ? wildcardFix(value) : 'Use an IP ("203.0.113.7"), a CIDR range ("203.0.113.0/24") or a RegExp (/^203\\.0\\.113\\./).',
    );
  });
  return trust;
}

/** Whether the first `bits` bits of two IPv6 addresses (as 16-bit parts) are the same. */
function inV6Range(parts: number[], range: number[], bits: number): boolean {
  let left = bits;
  for (let i = 0; i < 8 && left > 0; i++, left -= 16) {
    const shift = left >= 16 ? 0 : 16 - left;
    if ((parts[i] as number) >> shift !== (range[i] as number) >> shift) return false;
  }
  return true;
}

function isTrusted(addr: Address, trust: CompiledTrust): boolean {
  if (addr.v4 !== undefined) {
    const num = addr.v4;
    for (const [network, mask] of trust.v4) if (((num & mask) >>> 0) === network) return true;
  } else {
    const parts = addr.v6.parts;
    for (const [range, bits] of trust.v6) if (inV6Range(parts, range, bits)) return true;
  }
  for (const pattern of trust.patterns) if (pattern.test(addr.text)) return true;
  return false;
}

/**
 * How a header is read. `appended`: every proxy adds its peer at the end
 * (`X-Forwarded-For`), so entries right to left are hops, and the depth counts them.
 * `forwarded`: the same, RFC 7239 syntax. `single`: written by one proxy, read from the
 * peer only (`X-Real-IP`, `True-Client-IP`); the depth never reaches inside it.
 */
type HeaderKind = 'appended' | 'forwarded' | 'single';

interface HeaderRule {
  name: string;
  kind: HeaderKind;
  /** A preset's header: believed only when the socket peer is in these ranges. */
  edge?: CompiledTrust;
}

const FORWARDED = 'Forwarded';

function compilePresets(value: unknown, option: string): IpPreset[] {
  if (value === undefined) return [];
  const known = Object.keys(IP_PRESETS);
  const fixFor = (name: unknown) => {
    const near = typeof name === 'string' ? known.find((k) => k === name.trim().toLowerCase()) : undefined;
    return (
      `${near ? `Did you mean "${near}"? ` : ''}Presets: ${known.map((k) => JSON.stringify(k)).join(', ')}. ` +
      'Behind a load balancer that connects from private addresses (AWS ALB, GCP internal load balancers, a Kubernetes ingress) no preset is needed: private ranges are trusted by default; ' +
      `for another edge, list its published ranges in ${option.replace(/\.preset$/, '')}.trustedProxies.`
    );
  };
  const names: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? value : [];
  if (typeof value !== 'string' && !Array.isArray(value)) {
    throw new VigilConfigError('VIGIL_E_TRUSTED_PROXY', option, value, 'which is neither a preset name nor an array of them', fixFor(undefined));
  }
  return names.map((name, i) => {
    // Object.hasOwn: "__proto__" or "toString" are not presets.
    if (typeof name !== 'string' || !Object.hasOwn(IP_PRESETS, name)) {
      throw new VigilConfigError('VIGIL_E_TRUSTED_PROXY', typeof value === 'string' ? option : `${option}[${i}]`, name, 'which is not a preset Vigil knows', fixFor(name));
    }
    return IP_PRESETS[name as IpPresetName];
  });
}

function compileHeaderList(options: IpOptions, prefix: string, presets: readonly IpPreset[]): HeaderRule[] {
  const rules: HeaderRule[] = [];
  const edges = new Map<string, CompiledTrust>();
  for (const preset of presets) if (preset.header) edges.set(normalizeHeaderName(preset.header), rangesTrust(preset.ranges));
  const add = (name: string) => {
    const normalized = normalizeHeaderName(name.trim());
    if (rules.some((rule) => rule.name === normalized)) return;
    const kind: HeaderKind = normalized === XFF ? 'appended' : normalized === FORWARDED ? 'forwarded' : 'single';
    // A preset's header stays bound to its edge wherever it is listed: naming it again
    // in ipHeaders must not make it believable from any trusted peer.
    const edge = edges.get(normalized);
    rules.push(edge ? { name: normalized, kind, edge } : { name: normalized, kind });
  };
  if (options.trustedIpHeader !== undefined) {
    if (typeof options.trustedIpHeader !== 'string' || options.trustedIpHeader.trim() === '') {
      throw new VigilConfigError(
        'VIGIL_E_IP_HEADERS',
        `${prefix}.trustedIpHeader`,
        options.trustedIpHeader,
        'which is not a header name',
        'Pass one header name, e.g. trustedIpHeader: "CF-Connecting-IP".',
      );
    }
    add(options.trustedIpHeader);
  }
  for (const preset of presets) if (preset.header) add(preset.header);
  const list = options.ipHeaders;
  if (list === undefined) {
    add(XFF);
  } else if (!Array.isArray(list)) {
    throw new VigilConfigError(
      'VIGIL_E_IP_HEADERS',
      `${prefix}.ipHeaders`,
      list,
      'which is not an array',
      typeof list === 'string'
        ? `Wrap it in an array: ipHeaders: [${JSON.stringify(list)}].`
        : 'Pass an array of header names, e.g. ipHeaders: ["X-Forwarded-For"].',
    );
  } else {
    list.forEach((name, i) => {
      if (typeof name !== 'string' || name.trim() === '') {
        throw new VigilConfigError(
          'VIGIL_E_IP_HEADERS',
          `${prefix}.ipHeaders[${i}]`,
          name,
          'which is not a header name',
          'Each entry must be a non-empty header name such as "X-Real-Ip".',
        );
      }
      add(name);
    });
  }
  return rules;
}

const OBFUSCATED_PORT = /:_[\w.-]+$/;

/**
 * The `for=` node of each element of an RFC 7239 `Forwarded` value, left to right, still
 * to be parsed as an address; `''` for an element that names no node, or names two.
 *
 * Elements are cut at every comma, quoted or not. A node never contains one, and a
 * quote-aware split would let a client's unbalanced `"` swallow the element its proxy
 * appended after it.
 */
function forwardedNodes(value: string): string[] {
  const nodes: string[] = [];
  for (const element of value.split(',')) {
    // Empty list elements are allowed (RFC 9110 #list) and mean nothing.
    if (element.trim() === '') continue;
    let node: string | undefined;
    let count = 0;
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      count++;
      node = pair.slice(eq + 1).trim();
    }
    if (node === undefined || count !== 1) {
      nodes.push('');
      continue;
    }
    if (node.length >= 2 && node.charCodeAt(0) === 34 && node.charCodeAt(node.length - 1) === 34) node = node.slice(1, -1);
    // An obfuscated port ("192.0.2.43:_a1") hides the port, not the address.
    nodes.push(node.replace(OBFUSCATED_PORT, ''));
  }
  return nodes;
}

const IP_OPTION_KEYS = ['ipHeaders', 'trustedProxies', 'trustPrivateRanges', 'trustedProxyDepth', 'trustProxyChain', 'trustedIpHeader', 'preset', 'useFramework'];

/**
 * Validates client-IP options once and returns the extractor that applies them. Bad
 * options throw a {@link VigilConfigError} naming the option, the value and the fix.
 *
 * @param optionPrefix how the options are named in error messages (`ip` inside `createVigil`).
 */
export function createClientIpExtractor(options: IpOptions = {}, optionPrefix = 'ip'): ClientIpExtractor {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', optionPrefix, options, 'which is not an object', 'Pass an object such as { trustedProxies: ["203.0.113.0/24"] }.');
  }
  checkKnownOptions(options, IP_OPTION_KEYS, optionPrefix);
  const depth = options.trustedProxyDepth ?? 0;
  if (typeof depth !== 'number' || !Number.isInteger(depth) || depth < 0 || depth > 64) {
    throw new VigilConfigError(
      'VIGIL_E_PROXY_DEPTH',
      `${optionPrefix}.trustedProxyDepth`,
      options.trustedProxyDepth,
      'which is not a whole number of proxy hops',
      'Use the number of proxies every request passes, the socket peer included, that append to X-Forwarded-For: 0 (default), 1, 2... ' +
        'Where you can, trust them by address instead (trustedProxies, preset): depth trust assumes the app cannot be reached around them.',
    );
  }
  const chain = options.trustProxyChain ?? false;
  if (typeof chain !== 'boolean') {
    throw new VigilConfigError('VIGIL_E_OPTION_TYPE', `${optionPrefix}.trustProxyChain`, chain, 'which is not a boolean', 'Use true or false.');
  }
  const privateRanges = options.trustPrivateRanges ?? true;
  if (typeof privateRanges !== 'boolean') {
    throw new VigilConfigError(
      'VIGIL_E_OPTION_TYPE',
      `${optionPrefix}.trustPrivateRanges`,
      options.trustPrivateRanges,
      'which is not a boolean',
      'Use true (default: private ranges are trusted proxies) or false (only loopback, trustedProxies and preset), e.g. behind an L4 NAT.',
    );
  }
  const presets = compilePresets(options.preset, `${optionPrefix}.preset`);
  const trust = compileTrust(
    options.trustedProxies,
    `${optionPrefix}.trustedProxies`,
    presets.flatMap((preset) => preset.ranges),
    privateRanges,
  );
  const rules = compileHeaderList(options, optionPrefix, presets);

  const resolve = (req: IpSource): ClientIpResolution => {
    const headers = req && typeof req === 'object' ? req.headers : undefined;
    const remote = req && typeof req === 'object' ? req.remoteAddress : undefined;
    let socket: Address | undefined;
    let peerIsProxy: boolean;
    if (typeof remote === 'string' && remote !== '' && isTrustedName(remote)) {
      // An adapter that names the peer (`unix:/run/app.sock`) knows it is local.
      peerIsProxy = true;
    } else {
      socket = typeof remote === 'string' ? parseAddress(remote.trim()) : undefined;
      if (socket) peerIsProxy = isTrusted(socket, trust);
      else if (trust.unknownPeer === true) peerIsProxy = true;
      else {
        // No peer address: a unix socket, or a TCP socket the client already destroyed
        // (Node forgets remoteAddress then, and the app's middleware still runs). Nobody
        // vouches for the headers: without `trustedProxies: ['unix']`, no answer, and no
        // depth or chain setting makes one.
        return { ip: undefined, source: 'none', ignoredForwardedFor: false };
      }
    }

    // The peer is hop 0: a depth of 1 or more declares it a proxy, whatever its address.
    if (!peerIsProxy && depth === 0 && !chain) {
      const forwarded = getHeader(headers, XFF);
      return { ip: socket?.text, source: 'socket', ignoredForwardedFor: forwarded !== undefined && forwarded.trim() !== '' };
    }

    let firstSeen: string | undefined;
    for (const rule of rules) {
      // A preset's header is the edge's word: from any other peer it is the client's.
      if (rule.edge && !(socket && isTrusted(socket, rule.edge))) continue;
      const value = getHeader(headers, rule.name);
      if (value === undefined) continue;
      const tokens = rule.kind === 'forwarded' ? forwardedNodes(value) : value.split(SEPARATORS);
      if (chain) {
        for (const token of tokens) {
          const addr = parseAddress(token);
          if (addr) return { ip: addr.text, source: 'header', ignoredForwardedFor: false };
        }
        continue;
      }
      // Right to left, entry `hop` is the address that hop `hop - 1` saw as its peer.
      // Walk on while that address is a proxy: counted by the depth (appended headers
      // only) or trusted by address. The first that is neither is the client.
      const hopsCounted = rule.kind === 'single' ? 0 : depth;
      let hop = 0;
      let leftmost: Address | undefined;
      let answer: Address | undefined;
      for (let i = tokens.length - 1; i >= 0; i--) {
        const token = tokens[i] as string;
        // Separators around the value split into empty tokens; they are not entries.
        if (token === '' && rule.kind !== 'forwarded') continue;
        hop++;
        const addr = parseAddress(token);
        if (!addr) {
          // `localhost` / `unix:` name a proxy on the same host: walk on past it.
          if (isTrustedName(token)) continue;
          // A hop that is not an address (`unknown`, `_hidden`, garbage) cannot be
          // vouched for, so neither can anything it passed on: what lies left of it may
          // be the client's own writing. The walk ends with no answer from this header.
          break;
        }
        if (hop >= hopsCounted && !isTrusted(addr, trust)) {
          answer = addr;
          break;
        }
        leftmost = addr;
      }
      if (answer) return { ip: answer.text, source: 'header', ignoredForwardedFor: false };
      if (firstSeen === undefined && leftmost) firstSeen = leftmost.text;
    }
    if (firstSeen !== undefined) return { ip: firstSeen, source: 'header', ignoredForwardedFor: false };
    const ip = socket?.text;
    return { ip, source: ip === undefined ? 'none' : 'socket', ignoredForwardedFor: false };
  };

  const extractor = ((req: IpSource) => resolve(req).ip) as ClientIpExtractor;
  extractor.resolve = resolve;
  return extractor;
}

const compiledByOptions = new WeakMap<object, ClientIpExtractor>();
let defaultExtractor: ClientIpExtractor | undefined;

/**
 * Finds the client's IP address, Castle-style but safe by default.
 *
 * The socket peer is the nearest hop. Headers are believed only when that peer is a
 * trusted proxy (loopback, private, link-local, unique-local, `trustedProxies`, a
 * `preset`'s ranges) or `trustedProxyDepth` / `trustProxyChain` declare it one: a public
 * client can never pick its own address with `X-Forwarded-For`. With no peer address (a
 * unix socket, a socket the client destroyed) the answer is undefined, unless
 * `trustedProxies` lists `'unix'`. In
 * `X-Forwarded-For` and RFC 7239 `Forwarded`, entries right to left are the hops the
 * request passed; the walk goes past hops the depth counts or whose address is trusted,
 * and the first other address is the client. A hop that is not an address (`unknown`,
 * `_hidden`) ends the walk, since nothing beyond it can be vouched for. When every
 * address is trusted, the first one seen, then the socket address.
 *
 * Options are compiled once per options object (bad ones throw
 * {@link VigilConfigError}); use {@link createClientIpExtractor} to hold the compiled form.
 *
 * @example
 * extractClientIp({ headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.2' }, remoteAddress: '10.0.0.1' })
 * // '203.0.113.9'
 * extractClientIp({ headers: { 'x-forwarded-for': '1.1.1.1' }, remoteAddress: '198.51.100.4' })
 * // '198.51.100.4' — a public peer is the client, whatever it claims
 * extractClientIp({ headers: { 'x-forwarded-for': '1.1.1.1, 198.51.100.4' }, remoteAddress: '203.0.113.1' }, { trustedProxyDepth: 1 })
 * // '198.51.100.4' — the entry the one proxy appended; the client wrote 1.1.1.1
 */
export function extractClientIp(req: IpSource, options?: IpOptions): string | undefined {
  if (options === undefined) {
    defaultExtractor ??= createClientIpExtractor();
    return defaultExtractor(req);
  }
  let extractor = typeof options === 'object' && options !== null ? compiledByOptions.get(options) : undefined;
  if (!extractor) {
    extractor = createClientIpExtractor(options);
    compiledByOptions.set(options, extractor);
  }
  return extractor(req);
}
