import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Local fakes of the vendor APIs Vigil's remote providers speak (Castle v1, CHEQ RTI v1),
 * for tests: real HTTP servers on 127.0.0.1 (port 0) that implement each API's contract,
 * record every request, count TCP connections, and take per-test switches to misbehave
 * (delay, hang, hold the answer until released, answer a status and body, send
 * malformed JSON or an oversized body, cut the connection before answering or in the
 * middle of a 200's body).
 */

/** One request as the fake saw it. */
export interface RecordedRequest {
  method: string;
  /** Pathname without the query string, e.g. `/v1/filter`. */
  path: string;
  /** The raw request target. */
  url: string;
  /** Node's lower-case header map. */
  headers: IncomingHttpHeaders;
  /** The body as sent. */
  rawBody: string;
  /** Everything the client sent, as text: request line, headers as sent (names in their case), body. */
  raw: string;
  /** JSON bodies parsed; form bodies as a field → value object; else undefined. */
  body: unknown;
  /** The ordinal (1, 2, ...) of the TCP connection the request came on. */
  connection: number;
  /** `Date.now()` when the request's body was complete. */
  receivedAt: number;
}

/** What the fake answers: the contract's answer unless a switch says otherwise. */
export interface FakeAnswer {
  status: number;
  /** An object is sent as JSON; a string as is; undefined: no body. */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Per-test switches; `reset()` turns them all off. */
export interface FakeSwitches {
  /** Wait this long before answering (ms). */
  delayMs?: number;
  /** Answer this status (and `body`) instead of the contract's answer. */
  status?: number;
  /** The body sent with `status` (object → JSON, string → as is). */
  body?: unknown;
  /** Answer 200 with a body that is not JSON. */
  malformedJson?: boolean;
  /** Destroy the socket without answering. */
  destroySocket?: boolean;
  /** Never answer (the connection stays open until the client gives up or the fake closes). */
  hang?: boolean;
  /**
   * Hold the answer until this promise settles (then the other switches apply): a test
   * decides when the vendor answers, with no clock.
   */
  holdUntil?: Promise<unknown>;
  /** Answer 200 with a Content-Length, send half of the contract's body, then cut the connection. */
  resetMidBody?: boolean;
  /**
   * Answer the contract's JSON padded (a `padding` field) to at least this many bytes,
   * streamed in chunks without a Content-Length.
   */
  oversizedBody?: number;
  /** Apply the switches only to requests whose path matches (default: every request). */
  only?: RegExp;
}

type Handler = (req: RecordedRequest) => FakeAnswer;

/** A running fake vendor. */
export interface FakeVendor {
  /** `http://127.0.0.1:<port>` plus the API's base path. */
  readonly url: string;
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Sets switches (merged into the current ones). */
  set(switches: FakeSwitches): void;
  /** Clears switches, recorded requests and the connection count. */
  reset(): void;
  /** Resolves once `count` requests were recorded (rejects after `timeoutMs`). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** Stops the server, cutting open connections. */
  close(): Promise<void>;
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === '') return undefined;
  if (contentType?.includes('application/json')) {
    try {
      return JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  return undefined;
}

/**
 * Starts a fake on 127.0.0.1 that answers with `handler` (the vendor's contract) unless
 * a switch says otherwise.
 */
export async function startFakeVendor(handler: Handler, basePath = ''): Promise<FakeVendor> {
  const requests: RecordedRequest[] = [];
  const sockets = new Map<Socket, number>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  let connections = 0;
  let closed = false;
  let switches: FakeSwitches = {};

  const answer = (res: ServerResponse, { status, body, headers = {} }: FakeAnswer) => {
    if (res.destroyed || res.writableEnded) return;
    let payload: string | undefined;
    const out: Record<string, string> = { ...headers };
    if (typeof body === 'string') payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      out['content-type'] ??= 'application/json';
    }
    res.writeHead(status, out);
    res.end(payload);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const url = req.url ?? '/';
      let head = `${req.method} ${url} HTTP/${req.httpVersion}\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) head += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.split('?')[0] as string,
        url,
        headers: req.headers,
        rawBody,
        raw: `${head}\r\n${rawBody}`,
        body: parseBody(rawBody, req.headers['content-type']),
        connection: sockets.get(req.socket) ?? 0,
        receivedAt: Date.now(),
      };
      requests.push(recorded);
      for (const wake of [...waiters]) wake();
      const active = switches.only === undefined || switches.only.test(recorded.path) ? switches : {};
      const contractAnswer = (): FakeAnswer => {
        try {
          return handler(recorded);
        } catch (error) {
          return { status: 500, body: { type: 'fake_error', message: (error as Error).message } };
        }
      };
      const respond = () => {
        if (active.hang) return;
        if (active.destroySocket) {
          req.socket.destroy();
          return;
        }
        if (active.resetMidBody) {
          const payload = JSON.stringify(contractAnswer().body ?? { risk: 0.1, isInvalid: false });
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) });
          res.write(payload.slice(0, Math.max(1, Math.floor(payload.length / 2))), () => req.socket.destroy());
          return;
        }
        if (active.oversizedBody !== undefined) {
          const contract = contractAnswer();
          const body = contract.body && typeof contract.body === 'object' ? contract.body : {};
          const payload = JSON.stringify({ ...body, padding: 'x'.repeat(active.oversizedBody) });
          res.writeHead(contract.status >= 200 && contract.status < 300 ? contract.status : 200, { 'content-type': 'application/json' });
          for (let i = 0; i < payload.length; i += 16_384) res.write(payload.slice(i, i + 16_384));
          res.end();
          return;
        }
        if (active.malformedJson) {
          answer(res, { status: 200, body: '{"risk": 0.1, "policy": {', headers: { 'content-type': 'application/json' } });
          return;
        }
        if (active.status !== undefined) {
          answer(res, { status: active.status, body: active.body });
          return;
        }
        answer(res, contractAnswer());
      };
      if (active.holdUntil) {
        const release = () => {
          if (!closed) respond();
        };
        active.holdUntil.then(release, release);
      } else if (active.delayMs && active.delayMs > 0) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          respond();
        }, active.delayMs);
        timers.add(timer);
      } else respond();
    });
  };

  const server: Server = createServer(onRequest);
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.set(socket, connections);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    url: `${origin}${basePath}`,
    origin,
    requests,
    get connections() {
      return connections;
    },
    set(next) {
      switches = { ...switches, ...next };
    },
    reset() {
      switches = {};
      requests.length = 0;
      connections = 0;
      // Connections still open keep their ordinals; new ones count from 1 again.
      for (const socket of sockets.keys()) sockets.set(socket, 0);
    },
    waitForRequests(count, timeoutMs = 2000) {
      if (requests.length >= count) return Promise.resolve(requests.slice());
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the fake saw ${requests.length} request(s), expected ${count}`));
        }, timeoutMs);
        const check = () => {
          if (requests.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(requests.slice());
        };
        waiters.add(check);
      });
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------
// Castle v1

/** What the fake Castle answers to `/filter` and `/risk`. */
export interface FakeCastleVerdict {
  risk: number;
  action: 'allow' | 'challenge' | 'deny';
  signals?: Record<string, unknown>;
  deviceToken?: string;
}

/** A fake of Castle's v1 API at `{url}` (`.../v1`). */
export interface FakeCastle extends FakeVendor {
  /** The answer of `/filter` and `/risk`. */
  verdict: FakeCastleVerdict;
  /** Devices by token, for the device endpoints. */
  readonly devices: Map<string, { user_id: string } & Record<string, unknown>>;
  /** When true (the default), `/filter` and `/risk` without `request_token` answer 422 `invalid_request_token`, as Castle does. */
  requireRequestToken: boolean;
}

const CASTLE_EVENT_TYPES = new Set(['$login', '$registration', '$password_reset_request', '$challenge', '$profile_update', '$transaction', '$custom']);
const CASTLE_STATUSES = new Set(['$attempted', '$succeeded', '$failed']);

/**
 * Starts a fake Castle: Basic auth with an empty user and `apiSecret` as password (else
 * 401), JSON bodies, `POST /v1/filter`, `/v1/risk`, `/v1/log`, and the device endpoints.
 */
export async function startFakeCastle(apiSecret: string): Promise<FakeCastle> {
  const expectedAuth = `Basic ${Buffer.from(`:${apiSecret}`).toString('base64')}`;
  const state = {
    verdict: { risk: 0.1, action: 'allow', signals: {}, deviceToken: 'dev_token_1' } as FakeCastleVerdict,
    devices: new Map<string, { user_id: string } & Record<string, unknown>>(),
    requireRequestToken: true,
  };
  const device = (token: string) => {
    const found = state.devices.get(token);
    return found ? { token, ...found } : undefined;
  };
  const invalid = (message: string, type = 'invalid_parameters'): FakeAnswer => ({ status: 422, body: { type, message } });
  const handler: Handler = (req) => {
    if (req.headers.authorization !== expectedAuth) return { status: 401, body: { type: 'unauthorized', message: 'Unauthorized' } };
    const path = req.path.replace(/^\/v1/, '');
    if (req.method === 'POST' && (path === '/filter' || path === '/risk' || path === '/log')) {
      if (!req.headers['content-type']?.includes('application/json')) return { status: 400, body: { type: 'bad_request', message: 'expected JSON' } };
      const body = req.body as Record<string, unknown> | undefined;
      if (!body || typeof body !== 'object') return { status: 400, body: { type: 'bad_request', message: 'malformed JSON body' } };
      if (!CASTLE_EVENT_TYPES.has(body.type as string)) return invalid('type is invalid');
      if (!CASTLE_STATUSES.has(body.status as string)) return invalid('status is invalid');
      const context = body.context as { ip?: unknown; headers?: unknown } | undefined;
      if (!context || typeof context.ip !== 'string' || typeof context.headers !== 'object') return invalid('context.ip and context.headers are required');
      if (path === '/risk' && typeof (body.user as { id?: unknown } | undefined)?.id !== 'string') return invalid('user.id is required');
      if (path !== '/log' && state.requireRequestToken && typeof body.request_token !== 'string') {
        return invalid('Invalid Request Token', 'invalid_request_token');
      }
      if (path === '/log') return { status: 204 };
      const { risk, action, signals = {}, deviceToken } = state.verdict;
      return {
        status: 201,
        body: {
          risk,
          policy: { action, name: `Fake ${action}`, id: 'pol_1', revision_id: 'rev_1' },
          signals,
          ...(deviceToken === undefined ? {} : { device: { token: deviceToken } }),
        },
      };
    }
    let match = /^\/devices\/([^/]+)$/.exec(path);
    if (match && req.method === 'GET') {
      const found = device(decodeURIComponent(match[1] as string));
      return found ? { status: 200, body: found } : { status: 404, body: { type: 'not_found', message: 'Device not found' } };
    }
    match = /^\/devices\/([^/]+)\/(approve|report)$/.exec(path);
    if (match && req.method === 'PUT') {
      const token = decodeURIComponent(match[1] as string);
      const found = state.devices.get(token);
      if (!found) return { status: 404, body: { type: 'not_found', message: 'Device not found' } };
      found[match[2] === 'approve' ? 'approved_at' : 'escalated_at'] = new Date().toISOString();
      return { status: 200, body: { device: device(token) } };
    }
    match = /^\/users\/([^/]+)\/devices$/.exec(path);
    if (match && req.method === 'GET') {
      const userId = decodeURIComponent(match[1] as string);
      const data = [...state.devices.keys()].map((token) => device(token)).filter((d) => d?.user_id === userId);
      return { status: 200, body: { total_count: data.length, data } };
    }
    return { status: 404, body: { type: 'not_found', message: 'Not found' } };
  };
  const fake = (await startFakeVendor(handler, '/v1')) as FakeCastle;
  const resetServer = fake.reset;
  Object.defineProperties(fake, {
    verdict: { get: () => state.verdict, set: (value: FakeCastleVerdict) => (state.verdict = value), enumerable: true },
    requireRequestToken: { get: () => state.requireRequestToken, set: (value: boolean) => (state.requireRequestToken = value), enumerable: true },
    devices: { value: state.devices, enumerable: true },
  });
  fake.reset = () => {
    resetServer();
    state.verdict = { risk: 0.1, action: 'allow', signals: {}, deviceToken: 'dev_token_1' };
    state.devices.clear();
    state.requireRequestToken = true;
  };
  return fake;
}

// ---------------------------------------------------------------------------------
// CHEQ RTI v1

/** What the fake CHEQ answers. */
export interface FakeCheqVerdict {
  isInvalid: boolean;
  threatTypeCode: number;
  setCookie?: string;
}

/** A fake of CHEQ's Real-Time Interception API v1 at `{url}`. */
export interface FakeCheq extends FakeVendor {
  verdict: FakeCheqVerdict;
}

/** The fields CHEQ RTI requires on every call. */
export const CHEQ_REQUIRED_FIELDS = ['ApiKey', 'TagHash', 'EventType', 'ClientIP', 'RequestURL', 'Method', 'ResourceType', 'RequestTime'] as const;

/**
 * Starts a fake CHEQ RTI: `POST /v1/realtime-interception`, form-encoded, the API key
 * and tag hash checked (401 otherwise), required fields checked (400 otherwise).
 */
export async function startFakeCheq(apiKey: string, tagHash: string): Promise<FakeCheq> {
  const state = { verdict: { isInvalid: false, threatTypeCode: 0 } as FakeCheqVerdict, seq: 0 };
  const handler: Handler = (req) => {
    if (req.method !== 'POST' || req.path !== '/v1/realtime-interception') return { status: 404, body: { message: 'Not found' } };
    if (!req.headers['content-type']?.includes('application/x-www-form-urlencoded')) return { status: 415, body: { message: 'form-encoded body expected' } };
    const form = (req.body ?? {}) as Record<string, string>;
    if (form.ApiKey !== apiKey || form.TagHash !== tagHash) return { status: 401, body: { message: 'invalid ApiKey or TagHash' } };
    const missing = CHEQ_REQUIRED_FIELDS.filter((f) => typeof form[f] !== 'string' || form[f] === '');
    if (missing.length > 0) return { status: 400, body: { message: `missing ${missing.join(', ')}` } };
    state.seq += 1;
    const { isInvalid, threatTypeCode, setCookie } = state.verdict;
    return { status: 200, body: { isInvalid, threatTypeCode, requestId: `rti-${state.seq}`, ...(setCookie === undefined ? {} : { setCookie }) } };
  };
  const fake = (await startFakeVendor(handler)) as FakeCheq;
  const resetServer = fake.reset;
  Object.defineProperty(fake, 'verdict', { get: () => state.verdict, set: (value: FakeCheqVerdict) => (state.verdict = value), enumerable: true });
  fake.reset = () => {
    resetServer();
    state.verdict = { isInvalid: false, threatTypeCode: 0 };
    state.seq = 0;
  };
  return fake;
}
