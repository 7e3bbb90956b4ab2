import { describe, expect, it } from 'vitest';
import type { RequestInfo } from './context/request.js';
import type { Provider, ProviderEvent } from './providers/types.js';
import type { RouteDefinition } from './routing/routes.js';
import { createVigil } from './vigil.js';

const LOGIN: RouteDefinition = { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } };
const SIGNUP: RouteDefinition = { method: 'POST', path: '/signup', event: '$registration', user: { email: 'body.email' } };

function request(path = '/login', overrides: Partial<RequestInfo> = {}): RequestInfo {
  return {
    method: 'POST',
    url: path,
    path,
    headers: { host: 'example.com', 'user-agent': 'Mozilla/5.0', accept: 'text/html' },
    remoteAddress: '203.0.113.7',
    body: { email: 'alice@example.com', password: 'hunter2' },
    ...overrides,
  };
}

/** A provider that allows everything and records what it is asked to log. */
function recordingProvider() {
  const logs: ProviderEvent[] = [];
  const provider: Provider = {
    name: 'recording',
    filter: async () => ({ risk: 0 }),
    risk: async () => ({ risk: 0 }),
    log: async (event) => {
      logs.push(event);
    },
  };
  return { provider, logs };
}

/** What the provider was asked to log: [type, status, responseStatus]. */
const summary = (logs: readonly ProviderEvent[]) => logs.map((event) => [event.type, event.status, event.responseStatus]);

describe('one outcome per decision', () => {
  it('logOutcome called twice or three times logs once, the first answer', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    const decision = await vigil.protect(request());
    expect(decision.protected).toBe(true);
    vigil.logOutcome(decision, 401);
    vigil.logOutcome(decision, 200);
    vigil.logOutcome(decision, 401);
    const other = await vigil.protect(request());
    vigil.logOutcome(other, 200);
    vigil.logOutcome(other, 200);
    await vigil.close();
    expect(summary(logs)).toEqual([
      ['$login', '$failed', 401],
      ['$login', '$succeeded', 200],
    ]);
    expect(logs[0]?.requestId).toBe(decision.requestId);
    expect(logs[1]?.requestId).toBe(other.requestId);
  });

  it('outcomeOf still answers after the outcome was logged, and logs nothing', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    const decision = await vigil.protect(request());
    vigil.logOutcome(decision, 200);
    expect(vigil.outcomeOf(decision, 200)).toBe('$succeeded');
    expect(vigil.outcomeOf(decision, 401)).toBe('$failed');
    expect(vigil.outcomeOf(decision, 500)).toBeUndefined();
    // With the request the decision was made on: the redirect rules apply.
    expect(vigil.outcomeOf(decision, { status: 302, headers: { location: '/login?error=1' } })).toBe('$failed');
    expect(vigil.outcomeOf(decision, { status: 302, headers: { location: '/account' } })).toBe('$succeeded');
    await vigil.close();
    expect(summary(logs)).toEqual([['$login', '$succeeded', 200]]);
  });

  it('outcomeOf answers undefined for an unprotected decision', async () => {
    const { provider } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    const unprotected = await vigil.protect(request('/about'));
    expect(unprotected.protected).toBe(false);
    expect(vigil.outcomeOf(unprotected, 401)).toBeUndefined();
    await vigil.close();
  });
});

describe('explicit trackLogin / trackSignup on the decided request', () => {
  it('an explicit failure before the automatic outcome: only the explicit $failed is logged', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    const req = request();
    const decision = await vigil.protect(req);
    await vigil.trackLogin(req, { success: false, email: 'alice@example.com' });
    vigil.logOutcome(decision, 200);
    await vigil.close();
    expect(summary(logs)).toEqual([['$login', '$failed', undefined]]);
    expect(logs[0]?.user).toMatchObject({ email: 'alice@example.com' });
  });

  it('an explicit success before an automatic failure: only the explicit $succeeded is logged', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    const req = request();
    const decision = await vigil.protect(req);
    await vigil.trackLogin(req, { success: true, userId: 'u1' });
    vigil.logOutcome(decision, 401);
    vigil.logOutcome(decision, { status: 302, headers: { location: '/login?error=1' } });
    await vigil.close();
    expect(summary(logs)).toEqual([['$login', '$succeeded', undefined]]);
  });

  it('the same explicit outcome after the automatic one is not logged again', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    const req = request();
    const decision = await vigil.protect(req);
    vigil.logOutcome(decision, 401);
    await vigil.trackLogin(req, { success: false });
    await vigil.trackLogin(req, { success: false });
    await vigil.close();
    expect(summary(logs)).toEqual([['$login', '$failed', 401]]);
  });

  it('a different explicit outcome after the automatic one is logged, as a correction', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    const req = request();
    const decision = await vigil.protect(req);
    vigil.logOutcome(decision, 200);
    await vigil.trackLogin(req, { success: false });
    // Now the failure is what was logged: the same again is not, and neither is a later automatic one.
    await vigil.trackLogin(req, { success: false });
    vigil.logOutcome(decision, 401);
    await vigil.close();
    expect(summary(logs)).toEqual([
      ['$login', '$succeeded', 200],
      ['$login', '$failed', undefined],
    ]);
  });

  it('the explicit call counts without being awaited (it is registered synchronously)', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    const req = request();
    const decision = await vigil.protect(req);
    const tracked = vigil.trackLogin(req, { success: false });
    vigil.logOutcome(decision, 200);
    await tracked;
    await vigil.close();
    expect(summary(logs)).toEqual([['$login', '$failed', undefined]]);
  });

  it('a trackLogin on a different request object is always logged, and leaves the decision\'s outcome alone', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    const req = request();
    const decision = await vigil.protect(req);
    await vigil.trackLogin({ ...req }, { success: false });
    vigil.logOutcome(decision, 401);
    await vigil.trackLogin(request(), { success: false });
    await vigil.close();
    expect(summary(logs)).toEqual([
      ['$login', '$failed', undefined],
      ['$login', '$failed', 401],
      ['$login', '$failed', undefined],
    ]);
  });

  it('a trackLogin on a request decided on a $registration route is always logged, and the automatic outcome too', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN, SIGNUP] });
    const req = request('/signup');
    const decision = await vigil.protect(req);
    expect(decision.event).toBe('$registration');
    await vigil.trackLogin(req, { success: false });
    vigil.logOutcome(decision, 200);
    await vigil.close();
    expect(summary(logs)).toEqual([
      ['$login', '$failed', undefined],
      ['$registration', '$succeeded', 200],
    ]);
  });

  it('a trackSignup on a request decided on a $login route is always logged, and the automatic outcome too', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN, SIGNUP] });
    const req = request();
    const decision = await vigil.protect(req);
    vigil.logOutcome(decision, 401);
    await vigil.trackSignup(req, { success: false });
    await vigil.close();
    expect(summary(logs)).toEqual([
      ['$login', '$failed', 401],
      ['$registration', '$failed', undefined],
    ]);
  });

  it('trackSignup replaces the automatic outcome of its own $registration route', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [SIGNUP] });
    const req = request('/signup');
    const decision = await vigil.protect(req);
    await vigil.trackSignup(req, {});
    vigil.logOutcome(decision, 401);
    await vigil.trackSignup(req, { success: true });
    await vigil.close();
    expect(summary(logs)).toEqual([['$registration', '$succeeded', undefined]]);
  });
});

describe('logOutcome with the whole response', () => {
  it('a redirect back to the form with an error logs $failed with the response status', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    const decision = await vigil.protect(request());
    vigil.logOutcome(decision, { status: 302, headers: { location: '/login?error=1' } });
    await vigil.close();
    expect(summary(logs)).toEqual([['$login', '$failed', 302]]);
    expect(logs[0]?.requestId).toBe(decision.requestId);
  });

  it('a plain redirect back to the form with signedIn: true logs $succeeded; one naming an error stays $failed', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    vigil.logOutcome(await vigil.protect(request()), { status: 302, headers: { location: '/login' }, signedIn: true });
    vigil.logOutcome(await vigil.protect(request()), { status: 302, headers: { location: '/login?error=1' }, signedIn: true });
    await vigil.close();
    expect(summary(logs)).toEqual([
      ['$login', '$succeeded', 302],
      ['$login', '$failed', 302],
    ]);
  });

  it('the redirect rules read the request the decision was made on', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [{ ...LOGIN, path: '/login/password' }] });
    const back = await vigil.protect(request('/login/password'));
    vigil.logOutcome(back, { status: 302, headers: { location: '/login' } });
    const away = await vigil.protect(request('/login/password'));
    vigil.logOutcome(away, { status: 302, headers: { location: '/' } });
    const rotated = await vigil.protect(request('/login/password', { headers: { host: 'example.com', cookie: 'connect.sid=s%3Aold.sig' } }));
    vigil.logOutcome(rotated, { status: 302, headers: { location: '/login', 'set-cookie': ['connect.sid=s%3Anew.sig; Path=/; HttpOnly'] } });
    await vigil.close();
    // A new session cookie does not outweigh being sent back to the form: a client can
    // get one on a failure by presenting a stale or made-up cookie.
    expect(summary(logs)).toEqual([
      ['$login', '$failed', 302],
      ['$login', '$succeeded', 302],
      ['$login', '$failed', 302],
    ]);
  });

  it('a response no rule answers logs nothing', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [LOGIN] });
    vigil.logOutcome(await vigil.protect(request()), { status: 500, headers: { location: '/login' } });
    vigil.logOutcome(await vigil.protect(request()), { status: 422 });
    await vigil.close();
    expect(logs).toEqual([]);
  });

  it('a json rule reads the body given', async () => {
    const { provider, logs } = recordingProvider();
    const vigil = createVigil({ provider, routes: [{ ...LOGIN, outcome: { json: { field: 'ok', succeeded: true, failed: false } } }] });
    vigil.logOutcome(await vigil.protect(request()), { status: 200, body: { ok: false } });
    vigil.logOutcome(await vigil.protect(request()), { status: 200, body: '{"ok":true}' });
    await vigil.close();
    expect(summary(logs)).toEqual([
      ['$login', '$failed', 200],
      ['$login', '$succeeded', 200],
    ]);
  });
});

describe('needsResponseBody', () => {
  it('is true only for a route with a json rule', async () => {
    const { provider } = recordingProvider();
    const vigil = createVigil({
      provider,
      routes: [
        { ...LOGIN, outcome: { json: { field: 'ok', failed: false } } },
        { ...SIGNUP, outcome: { header: { name: 'x-signup', failed: 'taken' }, classify: () => undefined } },
        { method: 'POST', path: '/reset', event: '$password_reset_request' },
      ],
    });
    const withJson = await vigil.protect(request('/login'));
    const withHeader = await vigil.protect(request('/signup'));
    const plain = await vigil.protect(request('/reset'));
    const unprotected = await vigil.protect(request('/about'));
    expect([withJson, withHeader, plain].map((d) => d.protected)).toEqual([true, true, true]);
    expect(vigil.needsResponseBody(withJson)).toBe(true);
    expect(vigil.needsResponseBody(withHeader)).toBe(false);
    expect(vigil.needsResponseBody(plain)).toBe(false);
    expect(vigil.needsResponseBody(unprotected)).toBe(false);
    await vigil.close();
  });

  it('an app-wide json rule makes every route need the body', async () => {
    const { provider } = recordingProvider();
    const vigil = createVigil({ provider, outcome: { json: { field: 'ok', failed: false } }, routes: [LOGIN, SIGNUP] });
    expect(vigil.needsResponseBody(await vigil.protect(request('/login')))).toBe(true);
    expect(vigil.needsResponseBody(await vigil.protect(request('/signup')))).toBe(true);
    await vigil.close();
  });
});

describe('Verdict.memo comes back on the outcome of the same decision', () => {
  it('the provider gets its memo on the log event of that decision, and on no other', async () => {
    const logs: ProviderEvent[] = [];
    let n = 0;
    const provider: Provider = {
      name: 'remembering',
      filter: async () => ({ risk: 0, memo: { n: ++n } }),
      risk: async () => ({ risk: 0 }),
      log: async (event) => {
        logs.push(event);
      },
    };
    const vigil = createVigil({ mode: 'monitoring', routes: [LOGIN], provider });
    const first = await vigil.protect(request());
    const second = await vigil.protect(request());
    vigil.logOutcome(second, 200);
    vigil.logOutcome(first, 401);
    await vigil.trackLogin(request(), { success: true, email: 'bob@example.com' });
    await vigil.close();
    expect(logs.map((e) => [e.status, e.memo])).toEqual([
      ['$succeeded', { n: 2 }],
      ['$failed', { n: 1 }],
      ['$succeeded', undefined],
    ]);
    // Never on the decision: it is the provider's, kept in the process.
    expect(JSON.stringify(first)).not.toContain('"memo"');
    expect(Object.values(first)).not.toContainEqual({ n: 1 });
  });

  it('the embedded engine learns from a decided failure without reading the familiarity again', async () => {
    const { localProvider } = await import('./providers/local.js');
    const { MemoryStore } = await import('./stores/memory.js');
    const memory = new MemoryStore();
    const batches: string[][] = [];
    const store = { name: 'spy', execute: (ops: readonly { type: string; key: string }[], now?: number) => (batches.push(ops.map((op) => `${op.type} ${op.key}`)), memory.execute(ops as never, now)) };
    const vigil = createVigil({ mode: 'monitoring', routes: [LOGIN], provider: localProvider({ store }) });
    const familiarityReads = () => batches.flat().filter((op) => op.startsWith('get k:')).length;
    const decision = await vigil.protect(request());
    expect(familiarityReads()).toBe(1);
    vigil.logOutcome(decision, 401);
    await vigil.close();
    expect(familiarityReads()).toBe(1);
    // It did learn: the failure is counted on the account.
    expect(batches.flat()).toContainEqual(expect.stringMatching(/^hit v:acct:.*:fail$/));
  });
});

describe('an outcome that cannot be logged', () => {
  it('never rejects nor leaves a promise behind, even when the logger throws too', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const thrower = () => {
        throw new Error('logger down');
      };
      for (const log of [async () => Promise.reject(new Error('provider down')), async () => Promise.reject(undefined), () => { throw new Error('sync throw'); }, async () => undefined]) {
        const provider: Provider = { name: 'failing', filter: async () => ({ risk: 0 }), risk: async () => ({ risk: 0 }), log };
        const vigil = createVigil({ mode: 'monitoring', routes: [LOGIN], provider, logger: { warn: thrower, error: thrower, info: thrower, debug: thrower } });
        vigil.logOutcome(await vigil.protect(request()), 200);
        await vigil.close();
      }
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
