import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { Logger } from '../logging/logger.js';
import { type FakeCastle, startFakeCastle } from '../testing/fake-vendors.js';
import { createVigil, type Vigil, type VigilConfig } from '../vigil.js';
import { castleProvider } from './castle.js';
import { MAX_ANSWER_BYTES } from './http.js';
import type { Provider, Verdict } from './types.js';

/** How remote providers' faults reach createVigil: its strategy, its logger, its limits. */

const SECRET = 'sk_faults_castle_Wd4';
const ROUTES = [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } } as const];

function login(): RequestInfo {
  return {
    method: 'POST',
    url: '/login',
    path: '/login',
    headers: { host: 'app.example.com', 'user-agent': 'Mozilla/5.0 Firefox/126.0', accept: 'text/html', 'x-castle-request-token': 'tok_faults' },
    remoteAddress: '203.0.113.40',
    body: { email: 'ann@example.com' },
  };
}

function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg?: string }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const logger: Required<Logger> = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const codes = (level?: string) => lines.filter((l) => level === undefined || l.level === level).map((l) => l.obj.code);
  return { lines, logger, codes };
}

let fake: FakeCastle;
const toClose: Vigil[] = [];
beforeAll(async () => {
  fake = await startFakeCastle(SECRET);
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(toClose.splice(0).map((v) => v.close()));
});

function vigilWith(provider: Provider, config: VigilConfig = {}): Vigil {
  const vigil = createVigil({ mode: 'blocking', routes: ROUTES, provider, ...config });
  toClose.push(vigil);
  return vigil;
}

const castle = (options: Record<string, unknown> = {}) => castleProvider({ apiSecret: SECRET, baseUrl: fake.url, ...options });

describe('a vendor outage reaches createVigil’s logger as one incident', () => {
  it('one line when it starts, at most one summary a minute while it lasts, one when it ends (Castle 503s)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2025-01-01T00:00:00Z'));
    const { logger, lines, codes } = recordingLogger();
    const vigil = vigilWith(castle(), { logger });
    fake.set({ status: 503, body: { type: 'service_unavailable', message: 'down' } });
    for (let i = 0; i < 20; i++) expect((await vigil.protect(login())).failoverReason).toBe('server error');
    // Blocking mode without onChallenge says so once at start-up, before any incident.
    expect(codes('warn')).toEqual(['VIGIL_W_FAILOVER']);
    expect(lines.find((l) => l.obj.code === 'VIGIL_W_FAILOVER')?.obj).toMatchObject({ reason: 'server error', provider: 'castle', err: { name: 'CastleInternalServerError', status: 503 } });

    vi.setSystemTime(new Date('2025-01-01T00:01:01Z'));
    for (let i = 0; i < 20; i++) await vigil.protect(login());
    expect(codes('warn')).toEqual(['VIGIL_W_FAILOVER', 'VIGIL_W_FAILOVER_ONGOING']);

    fake.reset();
    vi.setSystemTime(new Date('2025-01-01T00:02:00Z'));
    for (let i = 0; i < 5; i++) expect((await vigil.protect(login())).failover).toBe(false);
    expect(codes('info')).toEqual(['VIGIL_I_RECOVERED']);
    expect(codes('error')).toEqual([]);
  });

  it('the same with a failover the provider sets itself: its action stands, the incident is reported all the same', async () => {
    const { logger, codes } = recordingLogger();
    const vigil = vigilWith(castle({ failover: 'deny' }), { logger, failover: 'allow' });
    fake.set({ status: 502 });
    expect(await vigil.protect(login())).toMatchObject({ action: 'block', failover: true, failoverReason: 'server error' });
    expect(await vigil.protect(login())).toMatchObject({ action: 'block', failover: true });
    expect(codes('warn')).toEqual(['VIGIL_W_FAILOVER']);
    expect(vigil.stats).toMatchObject({ failovers: 2, incidents: 1 });
  });
});

describe('a provider reports a fault, createVigil’s failover decides', () => {
  it.each([
    ['deny', 'block'],
    ['challenge', 'challenge'],
    ['allow', 'allow'],
  ] as const)('a verdict marked failover without an action of its own follows createVigil’s %s', async (failover, action) => {
    const provider = async (): Promise<Verdict> => ({ risk: 0, failover: true, failoverReason: 'vendor down' });
    const vigil = vigilWith({ name: 'mine', filter: provider, risk: provider, log: async () => undefined }, { failover, onChallenge: () => undefined });
    expect(await vigil.protect(login())).toMatchObject({ action, failover: true, failoverReason: 'vendor down' });
  });

  it('a 422 invalid_request_token (a visitor without a valid client token) fails over, never a 500', async () => {
    const { 'x-castle-request-token': _, ...noToken } = login().headers;
    for (const failover of ['allow', 'deny', 'challenge'] as const) {
      const vigil = vigilWith(castle(), { failover, onChallenge: () => undefined });
      const decision = await vigil.protect({ ...login(), headers: noToken });
      expect(decision).toMatchObject({ failover: true, failoverReason: 'invalid_request_token', action: failover === 'deny' ? 'block' : failover });
    }
  });
});

describe('answer bodies are capped at 64 KB: beyond is a malformed answer', () => {
  const verdictOf = (bytes: number) => ({ risk: 0.95, policy: { action: 'deny' }, padding: 'p'.repeat(bytes) });

  it('a declared Content-Length over the cap fails over as "oversized response"', async () => {
    fake.set({ status: 201, body: verdictOf(MAX_ANSWER_BYTES + 1) });
    const decision = await vigilWith(castle(), { failover: 'challenge', onChallenge: () => undefined }).protect(login());
    expect(decision).toMatchObject({ action: 'challenge', failover: true, failoverReason: 'oversized response' });
  });

  it('a streamed body (no Content-Length) over the cap too', async () => {
    fake.set({ oversizedBody: MAX_ANSWER_BYTES * 4 });
    const decision = await vigilWith(castle(), { failover: 'deny' }).protect(login());
    expect(decision).toMatchObject({ action: 'block', failover: true, failoverReason: 'oversized response' });
  });

  it('an answer just under the cap is read', async () => {
    fake.set({ status: 201, body: verdictOf(MAX_ANSWER_BYTES - 200) });
    const decision = await vigilWith(castle()).protect(login());
    expect(decision).toMatchObject({ action: 'block', failover: false, verdict: 'deny' });
  });
});

describe('a connection reset in the middle of a 200’s body', () => {
  it('is a fault ("connection error"), not a caller error: the configured failover answers, never a 500', async () => {
    fake.set({ resetMidBody: true });
    const { logger, codes } = recordingLogger();
    const decision = await vigilWith(castle(), { failover: 'deny', logger }).protect(login());
    expect(decision).toMatchObject({ action: 'block', failover: true, failoverReason: 'connection error' });
    expect(codes('error')).toEqual([]);
  });
});
