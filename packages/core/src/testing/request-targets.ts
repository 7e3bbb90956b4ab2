import { connect, type Socket } from 'node:net';
// Types only: the caller hands its own fast-check in (as `runStoreContract` takes the
// test runner's functions), so `@vigil/core/testing` loads without fast-check installed.
import type * as FastCheck from 'fast-check';

/**
 * The functions of fast-check (4.x) these helpers call: pass `fc` itself, from
 * `import fc from 'fast-check'` or `import * as fc from 'fast-check'`.
 */
export type FastCheckApi = Pick<typeof FastCheck, 'array' | 'assert' | 'asyncProperty' | 'boolean' | 'constant' | 'constantFrom' | 'nat' | 'oneof' | 'record' | 'sample'>;

/**
 * One generated request target: the routed path it was made from, what was done to it,
 * and the target as it goes on the request line.
 */
export interface RequestTarget {
  /** The path the app routes, before any mutation (`/users/42/reset`). */
  readonly base: string;
  /** The request target sent (`hTtP://a@b/users/42/%72eset#x`). */
  readonly target: string;
  /** The mutations applied, in order, as a reader of a counterexample wants them. */
  readonly mutations: readonly string[];
}

/** Paths a differential test app routes; the generator mutates these. */
export const ROUTED_BASE_PATHS: readonly string[] = Object.freeze([
  '/api/login',
  '/api/signup',
  '/api/orders/7/pay',
  '/users/42/reset',
  '/auth/x/callback',
  '/account/9/email',
  '/checkout',
  '/pay/card/visa',
  '/api/logout',
  '/users/42',
  '/static/app.css',
  '/health',
]);

// A piece of the path: the separator before a segment ("/", or a mutation's "\" or
// "%2F") and the segment's text as written on the wire.
interface Part {
  sep: string;
  text: string;
}

/** One change to the path; indices are taken modulo the path's length when applied. */
type PathEdit =
  | { kind: 'encode'; segment: number; at: number; upper: boolean }
  | { kind: 'insert-byte'; segment: number; at: number; byte: number; upper: boolean }
  | { kind: 'insert-char'; segment: number; at: number; char: string }
  | { kind: 'case'; segment: number; mask: number }
  | { kind: 'param'; segment: number; text: string }
  | { kind: 'replace'; segment: number; text: string }
  | { kind: 'insert-segment'; segment: number; text: string }
  | { kind: 'separator'; segment: number; text: string }
  | { kind: 'trailing'; text: string };

interface TargetSpec {
  base: string;
  edits: PathEdit[];
  absolute: { scheme: string; mask: number; authority: string } | undefined;
  query: string | undefined;
  fragment: string | undefined;
}

// Pools chosen for what routers and URL parsers treat differently: dot segments (raw
// and encoded), reserved characters (raw and encoded), empty segments, things that look
// like an excluded path.
const RAW_CHARS = [';', '#', '?', '*', '@', ':', '!', '$', '&', "'", '(', ')', '+', ',', '=', '~', '-', '.', '_', '|', '^', '`', '{', '}', '[', ']', '"', '<', '>', '\\', '%', ' ', '\t'];
const PARAMS = ['x', '.css', 'jsessionid=1', '', 'a=b;c', '/../static', '%2F', '.'];
const REPLACEMENTS = ['.', '..', '%2e', '%2E%2e', '.%2E', '', 'static', 'x', '%2F', '%2f..', '*', ':id', 'health'];
const INSERTED_SEGMENTS = ['.', '..', 'x/..', '%2e%2e', '%2E', '', 'static/..', 'static', 'api', 'x/%2e%2e', '..;'];
const SEPARATORS = ['\\', '%5C', '%5c', '%2F', '%2f', '//', '///', '/./', '/%2e/', '/;/', '\\/'];
const TRAILING = ['/', '//', '/.', '/..', '/..%2f..%2fstatic', '%2f', '/;x', '/%2e', '.', '/x.css', '%23.css', '%3F.css', '%3b.css', '%00', '%20', '/%2e%2e'];
const WEB_SCHEMES = ['http', 'https'];
const OTHER_SCHEMES = ['ftp', 'ws', 'wss', 'file', 'foo', 'javascript', 'h', 'http+unix'];
const AUTHORITIES = ['localhost', 'localhost:3000', '127.0.0.1', 'example.com', 'a@b', 'user:pw@example.com:8080', '[::1]:80', '[::1]', '', 'EXAMPLE.COM', 'host:', 'x.y.z:65535', 'a@b@c', '%41', 'static'];
const QUERIES = ['', '/api/login', 'x=/static/a.css', 'next=/api/login', '.css', 'a=1&b=2', '?', '/../static', 'x=%2F', 'x=.css', '/health', '#'];
const FRAGMENTS = ['', 'x', '/../login', '.css', '?a=1', '/static/a.css', '%2F', '#'];

function hex(byte: number, upper: boolean): string {
  const text = byte.toString(16).padStart(2, '0');
  return `%${upper ? text.toUpperCase() : text}`;
}

function flipCase(text: string, mask: number): string {
  // Bit i of the mask flips the case of the i-th letter (cycling after 31): mask 0 is
  // all upper case, so that the smallest case change is also the most readable.
  let out = '';
  let letter = 0;
  for (const char of text) {
    if (/[a-z]/i.test(char)) {
      const flip = mask === 0 || ((mask >>> letter % 31) & 1) === 1;
      out += flip ? (char === char.toLowerCase() ? char.toUpperCase() : char.toLowerCase()) : char;
      letter++;
    } else {
      out += char;
    }
  }
  return out;
}

function partsOf(base: string): Part[] {
  return base
    .split('/')
    .slice(1)
    .map((text) => ({ sep: '/', text }));
}

function pick<T>(list: readonly T[], index: number): T {
  return list[index % list.length] as T;
}

/** Applies one edit to the path's parts; returns what it did, for the counterexample (undefined: nothing). */
function applyEdit(parts: Part[], tail: { text: string }, edit: PathEdit): string | undefined {
  if (edit.kind === 'trailing') {
    tail.text += edit.text;
    return `append ${JSON.stringify(edit.text)}`;
  }
  if (edit.kind === 'insert-segment') {
    const at = edit.segment % (parts.length + 1);
    parts.splice(at, 0, { sep: '/', text: edit.text });
    return `insert segment ${JSON.stringify(edit.text)} at ${at}`;
  }
  if (parts.length === 0) return undefined;
  const part = pick(parts, edit.segment);
  const before = part.text;
  switch (edit.kind) {
    case 'encode': {
      if (before.length === 0) return undefined;
      const at = edit.at % before.length;
      const char = before.charAt(at);
      const bytes = Buffer.from(char, 'utf8');
      const encoded = [...bytes].map((b) => hex(b, edit.upper)).join('');
      part.text = before.slice(0, at) + encoded + before.slice(at + 1);
      return `encode ${JSON.stringify(char)} of ${JSON.stringify(before)} as ${encoded}`;
    }
    case 'insert-byte': {
      const at = edit.at % (before.length + 1);
      part.text = before.slice(0, at) + hex(edit.byte, edit.upper) + before.slice(at);
      return `insert ${hex(edit.byte, edit.upper)} into ${JSON.stringify(before)} at ${at}`;
    }
    case 'insert-char': {
      const at = edit.at % (before.length + 1);
      part.text = before.slice(0, at) + edit.char + before.slice(at);
      return `insert ${JSON.stringify(edit.char)} into ${JSON.stringify(before)} at ${at}`;
    }
    case 'case':
      part.text = flipCase(before, edit.mask);
      return part.text === before ? undefined : `change case of ${JSON.stringify(before)} to ${JSON.stringify(part.text)}`;
    case 'param':
      part.text = `${before};${edit.text}`;
      return `add ;${edit.text} to ${JSON.stringify(before)}`;
    case 'replace':
      part.text = edit.text;
      return `replace segment ${JSON.stringify(before)} with ${JSON.stringify(edit.text)}`;
    case 'separator': {
      const old = part.sep;
      part.sep = edit.text;
      return `write the ${JSON.stringify(old)} before ${JSON.stringify(before)} as ${JSON.stringify(edit.text)}`;
    }
  }
}

/** The request target a spec describes. */
function buildTarget(spec: TargetSpec): RequestTarget {
  const parts = partsOf(spec.base);
  const tail = { text: '' };
  const mutations: string[] = [];
  for (const edit of spec.edits) {
    const done = applyEdit(parts, tail, edit);
    if (done !== undefined) mutations.push(done);
  }
  // Kept as built, even when it starts with a backslash or "%2F": such targets are sent too.
  let target = parts.map((p) => p.sep + p.text).join('') + tail.text;
  if (target === '') target = '/';
  if (spec.absolute !== undefined) {
    const scheme = spec.absolute.mask < 0 ? spec.absolute.scheme : flipCase(spec.absolute.scheme, spec.absolute.mask);
    target = `${scheme}://${spec.absolute.authority}${target}`;
    mutations.push(`absolute form ${scheme}://${spec.absolute.authority}`);
  }
  if (spec.query !== undefined) {
    target += `?${spec.query}`;
    mutations.push(`query ?${spec.query}`);
  }
  if (spec.fragment !== undefined) {
    target += `#${spec.fragment}`;
    mutations.push(`fragment #${spec.fragment}`);
  }
  return Object.freeze({ base: spec.base, target, mutations: Object.freeze(mutations) });
}

/** What {@link requestTargetArbitrary} builds targets from. */
export interface RequestTargetOptions {
  /** Routed paths to mutate; default {@link ROUTED_BASE_PATHS}. */
  bases?: readonly string[];
  /** At most this many path edits per target (default 3). */
  maxEdits?: number;
}

/**
 * A fast-check arbitrary of HTTP request targets for differential routing tests: each
 * one a routed base path, mutated the ways routers and URL parsers disagree on —
 * absolute form with any scheme (in any case) and authority (port, userinfo, IPv6,
 * empty), fragments, `%XX` of any byte (upper or lower hex) anywhere in a segment and
 * of the segment's own characters, raw reserved characters, `.` and `..` segments (raw
 * and encoded), repeated and encoded slashes, backslashes, `;params`, case, trailing
 * slashes and suffixes, and query strings that look like paths. Many targets are ones
 * Node's HTTP parser rejects (a 400 that never reaches a handler): send them anyway, a
 * router only routes what the parser let through. Shrinking drops edits and envelope
 * parts first, so a counterexample reads as the fewest mutations that still fail.
 *
 * `fc` is the caller's fast-check (4.x), so that this module needs it only when used.
 *
 * @example
 * import fc from 'fast-check'
 * import { requestTargetArbitrary } from '@vigil/core/testing'
 *
 * const targets = requestTargetArbitrary(fc, { bases: ['/login', '/users/1/reset'] })
 * await fc.assert(fc.asyncProperty(targets, async ({ target }) => {
 *   const reply = await client.send('POST', target, { email: 'a@example.com' })
 *   return reply.json?.reached === undefined || reply.json.decided === true
 * }), { seed: 12, numRuns: 2000 })
 */
export function requestTargetArbitrary(fc: FastCheckApi, options: RequestTargetOptions = {}): FastCheck.Arbitrary<RequestTarget> {
  const bases = options.bases ?? ROUTED_BASE_PATHS;
  if (bases.length === 0 || bases.some((b) => typeof b !== 'string' || !b.startsWith('/'))) {
    throw new TypeError(`requestTargetArbitrary: bases must be paths starting with "/", got ${JSON.stringify(bases)}`);
  }
  const index = fc.nat({ max: 1 << 20 });
  // Weighted towards edits a router may well still route (case, a trailing slash, an
  // encoded letter), so that a good share of targets reach a handler at all.
  const edit: FastCheck.Arbitrary<PathEdit> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('case' as const), segment: index, mask: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('trailing' as const), text: fc.constantFrom(...TRAILING) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('encode' as const), segment: index, at: index, upper: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert-byte' as const), segment: index, at: index, byte: fc.nat({ max: 255 }), upper: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert-char' as const), segment: index, at: index, char: fc.constantFrom(...RAW_CHARS) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('param' as const), segment: index, text: fc.constantFrom(...PARAMS) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('replace' as const), segment: index, text: fc.constantFrom(...REPLACEMENTS) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('insert-segment' as const), segment: index, text: fc.constantFrom(...INSERTED_SEGMENTS) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('separator' as const), segment: index, text: fc.constantFrom(...SEPARATORS) }) },
  );
  const maxEdits = options.maxEdits ?? 3;
  // No edit, one, or several: shrinking goes to fewer.
  const edits: FastCheck.Arbitrary<PathEdit[]> = maxEdits < 1 ? fc.constant([]) : fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as PathEdit[]) },
    { weight: 3, arbitrary: fc.array(edit, { minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.array(edit, { minLength: 1, maxLength: maxEdits }) },
  );
  const absolute = fc.record({
    // Mostly http(s), which every router strips; sometimes a scheme some do not.
    scheme: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...WEB_SCHEMES) }, { weight: 1, arbitrary: fc.constantFrom(...OTHER_SCHEMES) }),
    // -1: the scheme as written (lower case); otherwise a case mask.
    mask: fc.oneof(fc.constant(-1), fc.nat()),
    authority: fc.constantFrom(...AUTHORITIES),
  });
  // Each envelope part is there about one time in four: most targets keep the origin
  // form, so that what a path edit does is not always hidden behind another change.
  const sometimes = <T>(arb: FastCheck.Arbitrary<T>): FastCheck.Arbitrary<T | undefined> =>
    fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
  return fc
    .record({
      base: fc.constantFrom(...bases),
      edits,
      absolute: sometimes(absolute),
      query: sometimes(fc.constantFrom(...QUERIES)),
      fragment: sometimes(fc.constantFrom(...FRAGMENTS)),
    })
    .map(buildTarget);
}

/** One response read off a raw socket. */
export interface RawResponse {
  /** The status code; 0 when the server closed the connection without answering. */
  readonly status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** The body parsed as JSON when it is JSON, else undefined. */
  readonly json: unknown;
}

/**
 * An HTTP/1.1 client over one raw TCP connection (kept alive, reopened when the server
 * closes it): the request target goes on the wire exactly as given, which no HTTP
 * client library promises (they resolve, normalize or reject odd targets). Requests
 * are sent one after the other.
 */
export interface RawHttpClient {
  /** Sends one request with a JSON body and reads its response. */
  send(method: string, target: string, body?: unknown, headers?: Record<string, string>): Promise<RawResponse>;
  /** Closes the connection. */
  close(): void;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Reads one response from a growing buffer; undefined while incomplete. */
function parseResponse(buffer: Buffer, ended: boolean): { response: RawResponse; rest: Buffer; close: boolean } | undefined {
  const headEnd = buffer.indexOf(HEAD_END);
  if (headEnd < 0) return ended && buffer.length > 0 ? { response: { status: 0, headers: {}, body: buffer.toString('latin1'), json: undefined }, rest: Buffer.alloc(0), close: true } : undefined;
  const lines = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let bodyStart = headEnd + HEAD_END.length;
  let body: Buffer;
  let restStart: number;
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
    const chunks: Buffer[] = [];
    for (;;) {
      const lineEnd = buffer.indexOf('\r\n', bodyStart);
      if (lineEnd < 0) return undefined;
      const size = Number.parseInt(buffer.subarray(bodyStart, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) return undefined;
      const dataStart = lineEnd + 2;
      if (size === 0) {
        // No trailers from the servers under test: the last chunk ends with one more CRLF.
        if (buffer.length < dataStart + 2) return undefined;
        restStart = dataStart + 2;
        break;
      }
      if (buffer.length < dataStart + size + 2) return undefined;
      chunks.push(buffer.subarray(dataStart, dataStart + size));
      bodyStart = dataStart + size + 2;
    }
    body = Buffer.concat(chunks);
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (buffer.length < bodyStart + length) return undefined;
    body = buffer.subarray(bodyStart, bodyStart + length);
    restStart = bodyStart + length;
  } else {
    // Neither: the body runs to the end of the connection (Node's own 400 has none).
    if (!ended) return undefined;
    body = buffer.subarray(bodyStart);
    restStart = buffer.length;
  }
  const text = body.toString('utf8');
  let json: unknown;
  if ((headers['content-type'] ?? '').includes('json')) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  const close = (headers.connection ?? '').toLowerCase().includes('close');
  return { response: { status, headers, body: text, json }, rest: Buffer.from(buffer.subarray(restStart)), close };
}

/**
 * Opens a {@link RawHttpClient} to `host:port` (default 127.0.0.1).
 *
 * @example
 * const client = openRawHttpClient(port)
 * const reply = await client.send('POST', 'http://x/api/login#frag', { email: 'a@example.com' })
 * client.close()
 */
export function openRawHttpClient(port: number, host = '127.0.0.1'): RawHttpClient {
  // One connection's state: a late 'close' of an old socket must not touch the next one.
  interface Connection {
    socket: Socket;
    buffer: Buffer;
    ended: boolean;
    used: boolean;
    wake: (() => void) | undefined;
  }
  let current: Connection | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  const open = (): Connection => {
    const conn: Connection = { socket: connect({ host, port }), buffer: Buffer.alloc(0), ended: false, used: false, wake: undefined };
    conn.socket.setNoDelay(true);
    conn.socket.on('data', (data: Buffer) => {
      conn.buffer = conn.buffer.length === 0 ? data : Buffer.concat([conn.buffer, data]);
      conn.wake?.();
    });
    const end = () => {
      conn.ended = true;
      if (current === conn) current = undefined;
      conn.wake?.();
    };
    conn.socket.on('end', end);
    conn.socket.on('close', end);
    // A reset (the server gave up on a target) ends the exchange as a close does.
    conn.socket.on('error', end);
    return conn;
  };

  const exchange = async (request: Buffer, retried = false): Promise<RawResponse> => {
    current ??= open();
    const conn = current;
    const reused = conn.used;
    conn.used = true;
    conn.socket.write(request);
    for (;;) {
      const parsed = parseResponse(conn.buffer, conn.ended);
      if (parsed) {
        conn.buffer = parsed.rest;
        if (parsed.close || conn.ended) {
          conn.socket.destroy();
          if (current === conn) current = undefined;
        }
        return parsed.response;
      }
      if (conn.ended) {
        if (current === conn) current = undefined;
        // A server may close a kept-alive connection after an answer that did not say
        // so (an error answer to a target its parser rejected): this request then never
        // reached it, and goes again on a fresh connection.
        if (reused && !retried && conn.buffer.length === 0) return exchange(request, true);
        return { status: 0, headers: {}, body: '', json: undefined };
      }
      await new Promise<void>((resolve) => {
        conn.wake = resolve;
      });
      conn.wake = undefined;
    }
  };

  return {
    send(method, target, body, headers = {}) {
      const payload = body === undefined ? '' : JSON.stringify(body);
      const head = [
        `${method} ${target} HTTP/1.1`,
        `Host: ${host}:${port}`,
        ...(body === undefined ? [] : ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`]),
        'Connection: keep-alive',
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ].join('\r\n');
      // Latin-1: one byte per character, so the target reaches the parser byte for byte.
      const request = Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), Buffer.from(payload, 'utf8')]);
      const next = chain.then(() => exchange(request));
      chain = next.catch(() => undefined);
      return next;
    },
    close() {
      current?.socket.destroy();
      current = undefined;
    },
  };
}

/**
 * One app of a differential routing test: its port, and the names its protected
 * handlers answer with. Every handler answers JSON `{ reached: '<handler>', decided }`,
 * `decided` being true when the request carries Vigil's decision (`protected: true`).
 */
export interface DifferentialApp {
  /** Name in messages: `"express"`, `"fastify (router options)"`. */
  readonly name: string;
  readonly port: number;
  /** The `reached` values of handlers Vigil protects in this app. */
  readonly protectedHandlers: readonly string[];
}

/** What one app saw during a differential run. */
export interface DifferentialStats {
  /** Requests sent. */
  sent: number;
  /** Responses from a protected handler. */
  reachedProtected: number;
  /** Of those, targets other than their plain base path. */
  reachedProtectedMutated: number;
  /** Responses from a protected handler that said `decided: false`, distinct targets, first 50. */
  undecided: { target: string; reached: string; mutations: readonly string[] }[];
  /** How many responses had each status (0: closed without an answer). */
  statuses: Record<number, number>;
}

/** Counts for each app of a differential run, by app name. */
export type DifferentialReport = Record<string, DifferentialStats>;

/** Options of {@link runRoutingDifferential}. */
export interface DifferentialOptions {
  readonly apps: readonly DifferentialApp[];
  readonly targets: FastCheck.Arbitrary<RequestTarget>;
  /** Property runs; each sends `batch` targets to every app. */
  readonly numRuns: number;
  readonly seed: number;
  /** Targets per run, at most (default 3). */
  readonly batch?: number;
  /** The method of every request (default POST). */
  readonly method?: string;
  /** The JSON body of every request. */
  readonly body?: unknown;
}

/** A JSON answer from one of the apps' handlers. */
function handlerAnswer(json: unknown): { reached: string; decided: unknown } | undefined {
  if (json === null || typeof json !== 'object' || typeof (json as { reached?: unknown }).reached !== 'string') return undefined;
  return json as { reached: string; decided: unknown };
}

/**
 * The differential routing property over real apps: every request the framework's
 * router sends to a protected handler carries Vigil's decision. Sends each run's
 * targets to every app over a raw keep-alive connection, with `fc.assert` (so a
 * failure shrinks to its simplest target), and rejects with fast-check's report plus
 * the distinct undecided targets seen before shrinking. Resolves with what each app
 * saw, for checks that the targets reached protected handlers at all.
 *
 * @example
 * const report = await runRoutingDifferential(fc, {
 *   apps: [{ name: 'express', port, protectedHandlers: ['login'] }],
 *   targets: requestTargetArbitrary(fc), numRuns: 2000, seed: 12,
 * })
 */
export async function runRoutingDifferential(fc: FastCheckApi, options: DifferentialOptions): Promise<DifferentialReport> {
  const method = options.method ?? 'POST';
  const body = options.body ?? { email: 'differential@example.com', password: 'not-the-password' };
  const clients = options.apps.map((app) => openRawHttpClient(app.port));
  const report: DifferentialReport = {};
  for (const app of options.apps) report[app.name] = { sent: 0, reachedProtected: 0, reachedProtectedMutated: 0, undecided: [], statuses: {} };
  const seenUndecided = new Set<string>();

  const property = fc.asyncProperty(fc.array(options.targets, { minLength: 1, maxLength: options.batch ?? 3 }), async (batch) => {
    const failures: string[] = [];
    await Promise.all(
      options.apps.map(async (app, i) => {
        const stats = report[app.name] as DifferentialStats;
        const client = clients[i] as RawHttpClient;
        for (const one of batch) {
          const response = await client.send(method, one.target, body);
          stats.sent++;
          stats.statuses[response.status] = (stats.statuses[response.status] ?? 0) + 1;
          const answer = handlerAnswer(response.json);
          if (answer === undefined || !app.protectedHandlers.includes(answer.reached)) continue;
          stats.reachedProtected++;
          if (one.target !== one.base) stats.reachedProtectedMutated++;
          if (answer.decided === true) continue;
          failures.push(`${app.name}: POST ${one.target} reached protected handler "${answer.reached}" without a decision (from ${one.base}: ${one.mutations.join('; ') || 'as is'})`);
          const key = `${app.name} ${one.target}`;
          if (!seenUndecided.has(key) && stats.undecided.length < 50) {
            seenUndecided.add(key);
            stats.undecided.push({ target: one.target, reached: answer.reached, mutations: one.mutations });
          }
        }
      }),
    );
    if (failures.length > 0) throw new Error(failures.join('\n'));
  });
  try {
    await fc.assert(property, { seed: options.seed, numRuns: options.numRuns });
  } catch (error) {
    const lines = Object.entries(report).flatMap(([name, stats]) => stats.undecided.map((u) => `  ${name}: ${JSON.stringify(u.target)} → ${u.reached}`));
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}\n\nUndecided requests seen before shrinking (distinct, first 50 per app):\n${lines.join('\n')}`, { cause: error });
  } finally {
    for (const client of clients) client.close();
  }
  return report;
}

/**
 * Sends `count` targets (fast-check's sample for `seed`) to every app and counts what
 * each saw, without checking decisions: the measure of whether a generator reaches the
 * protected handlers at all, independent of whether the property holds.
 */
export async function sampleRouting(fc: FastCheckApi, options: Omit<DifferentialOptions, 'numRuns' | 'batch'> & { count: number }): Promise<DifferentialReport> {
  const method = options.method ?? 'POST';
  const body = options.body ?? { email: 'differential@example.com', password: 'not-the-password' };
  const targets = fc.sample(options.targets, { seed: options.seed, numRuns: options.count });
  const report: DifferentialReport = {};
  await Promise.all(
    options.apps.map(async (app) => {
      const stats: DifferentialStats = { sent: 0, reachedProtected: 0, reachedProtectedMutated: 0, undecided: [], statuses: {} };
      report[app.name] = stats;
      const client = openRawHttpClient(app.port);
      try {
        for (const one of targets) {
          const response = await client.send(method, one.target, body);
          stats.sent++;
          stats.statuses[response.status] = (stats.statuses[response.status] ?? 0) + 1;
          const answer = handlerAnswer(response.json);
          if (answer === undefined || !app.protectedHandlers.includes(answer.reached)) continue;
          stats.reachedProtected++;
          if (one.target !== one.base) stats.reachedProtectedMutated++;
          if (answer.decided !== true && stats.undecided.length < 50) stats.undecided.push({ target: one.target, reached: answer.reached, mutations: one.mutations });
        }
      } finally {
        client.close();
      }
    }),
  );
  return report;
}

/**
 * Why a sample of a differential run could not prove anything, if it could not: the
 * property holds vacuously when the targets only ever meet 404s. Each app must see at
 * least `minShare` of its requests reach a protected handler, and mutated targets
 * (not a plain base path) among them for `minMutatedShare` of its requests. Returns one
 * message per shortfall; an empty list means the sample is useful.
 *
 * @example
 * expect(usefulnessProblems(await sampleRouting(fc, { apps, targets, seed, count: 600 }))).toEqual([])
 */
export function usefulnessProblems(report: DifferentialReport, minShare = 0.2, minMutatedShare = 0.05): string[] {
  const problems: string[] = [];
  for (const [name, stats] of Object.entries(report)) {
    if (stats.reachedProtected < stats.sent * minShare) {
      problems.push(`${name}: only ${stats.reachedProtected} of ${stats.sent} requests reached a protected handler (statuses ${JSON.stringify(stats.statuses)})`);
    }
    if (stats.reachedProtectedMutated <= stats.sent * minMutatedShare) {
      problems.push(`${name}: only ${stats.reachedProtectedMutated} mutated targets of ${stats.sent} requests reached a protected handler`);
    }
  }
  return problems;
}

/**
 * Sends one request on a fresh raw connection and closes it: for the named regression
 * cases of a differential suite.
 *
 * @example
 * expect((await sendOnce(app.port, 'POST', 'http://h/api/login', {})).json).toMatchObject({ decided: true })
 */
export async function sendOnce(port: number, method: string, target: string, body?: unknown): Promise<RawResponse> {
  const client = openRawHttpClient(port);
  try {
    return await client.send(method, target, body);
  } finally {
    client.close();
  }
}
