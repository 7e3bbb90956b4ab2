import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RequestInfo } from './context/request.js';
import { VigilProviderError } from './errors.js';
import type { Provider, ProviderEvent, Verdict } from './providers/types.js';
import { thrown as configError } from './test-support/thrown.js';
import { createVigil, type VigilConfig } from './vigil.js';

const LOGIN = { method: 'POST', path: '/login', event: '$login' as const, user: { email: 'body.email' } };

function request(overrides: Partial<RequestInfo> = {}): RequestInfo {
  return {
    method: 'POST',
    url: '/login',
    path: '/login',
    headers: { 'user-agent': 'Mozilla/5.0', accept: 'application/json', cookie: 'sid=secret', authorization: 'Bearer t0k3n' },
    remoteAddress: '203.0.113.7',
    body: { email: 'alice@example.com', password: 'hunter2' },
    ...overrides,
  };
}

/** A provider that records its calls and answers with `answer`. */
function recordingProvider(answer: (event: ProviderEvent) => Verdict | Promise<Verdict>) {
  const calls: { method: 'filter' | 'risk' | 'log'; event: ProviderEvent }[] = [];
  const provider: Provider = {
    name: 'recording',
    filter: async (event) => {
      calls.push({ method: 'filter', event });
      return answer(event);
    },
    risk: async (event) => {
      calls.push({ method: 'risk', event });
      return answer(event);
    },
    log: async (event) => {
      calls.push({ method: 'log', event });
    },
  };
  return { provider, calls };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createVigil: configuration errors', () => {
  it.each([
    [{ mode: 'block' }, 'VIGIL_E_MODE', 'mode', /"block".*"monitoring".*"blocking"/],
    [{ failover: 'open' }, 'VIGIL_E_FAILOVER', 'failover', /"open".*"allow", "deny", "challenge", "throw"/],
    [{ timeout: 0 }, 'VIGIL_E_TIMEOUT', 'timeout', /is 0/],
    [{ timeout: Number.NaN }, 'VIGIL_E_TIMEOUT', 'timeout', /NaN/],
    [{ provider: { name: 'x', filter: async () => ({ risk: 0 }) } }, 'VIGIL_E_PROVIDER', 'provider', /lacks risk\(\), log\(\)/],
    [{ provider: 42 }, 'VIGIL_E_PROVIDER', 'provider', /42/],
    [{ onChallenge: 'captcha' }, 'VIGIL_E_OPTION_TYPE', 'onChallenge', /not a function/],
    [{ modee: 'blocking' }, 'VIGIL_E_UNKNOWN_OPTION', 'modee', /Did you mean "mode"/],
    [{ logger: { info() {} } }, 'VIGIL_E_LOGGER', 'logger', /warn\(\) and error\(\)/],
    [{ routes: [{ path: '/login', event: '$signin' }] }, 'VIGIL_E_ROUTE', 'routes[0].event', /"\$signin".*\$login/],
    [{ threatCodes: { block: [2, 13] } }, 'VIGIL_E_THREAT_CODES_OVERLAP', 'threatCodes', /code 13 is in both block and captcha/],
    [{ thresholds: { deny: 0.5, challenge: 0.7 } }, 'VIGIL_E_THRESHOLDS', 'thresholds.challenge', /not below thresholds.deny/],
    [{ ip: { trustedProxies: ['10.0.0.*'] } }, 'VIGIL_E_TRUSTED_PROXY', 'ip.trustedProxies[0]', /CIDR/],
    [{ uriExclusion: '/static' }, 'VIGIL_E_URI_EXCLUSION', 'uriExclusion', /not an array/],
  ] as [VigilConfig, string, string, RegExp][])('%j → %s', (config, code, option, message) => {
    const error = configError(() => createVigil(config));
    expect(error.code).toBe(code);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
    expect(error.message).toContain(option);
  });

  it('defaults to monitoring mode, the embedded engine and no routes', async () => {
    const vigil = createVigil();
    expect(vigil.mode).toBe('monitoring');
    expect(vigil.provider.name).toBe('local');
    const decision = await vigil.protect(request());
    expect(decision.protected).toBe(false);
  });
});

describe('protect: routing and exclusions', () => {
  it('does not call the provider for unmatched or excluded requests, and returns shared decisions', async () => {
    const { provider, calls } = recordingProvider(() => ({ risk: 1 }));
    const vigil = createVigil({ mode: 'blocking', provider, routes: [LOGIN, { path: '/static/*', event: '$custom', name: 'asset' }], uriExclusion: ['/static'] });
    const unmatched = await vigil.protect(request({ path: '/about', url: '/about' }));
    const excluded = await vigil.protect(request({ path: '/static/app.css', url: '/static/app.css', method: 'GET' }));
    expect(calls).toHaveLength(0);
    expect(unmatched).toMatchObject({ action: 'allow', protected: false, reasons: ['not a protected route'] });
    expect(excluded).toMatchObject({ action: 'allow', protected: false, reasons: ['excluded by uriExclusion'] });
    expect(await vigil.protect(request({ path: '/about', url: '/about' }))).toBe(unmatched);
    expect(vigil.match(request({ path: '/static/x', url: '/static/x' }))).toBeUndefined();
  });

  // issue 12 review: `PUT /users/42.css` reached a `guard.protect()` handler undecided
  // because `/\.css$/` excluded it: a route the framework chose is decided regardless.
  it('decides an explicitly given route whatever the exclusions say; a broad one is carved', async () => {
    const { provider, calls } = recordingProvider(() => ({ risk: 1 }));
    const vigil = createVigil({ mode: 'blocking', provider, uriExclusion: ['/internal', /\.css$/] });
    const chosen = vigil.route({ event: '$profile_update' });
    expect(chosen.broad).toBe(false);
    for (const path of ['/users/42.css', '/internal/login']) {
      expect((await vigil.protect(request({ url: path, path }), chosen)).action, path).toBe('block');
    }
    const broad = vigil.route({ path: '/api/*', event: '$custom', name: 'api' });
    expect(broad.broad).toBe(true);
    expect((await vigil.protect(request({ url: '/api/app.css', path: '/api/app.css' }), broad)).protected).toBe(false);
    expect((await vigil.protect(request({ url: '/api/login', path: '/api/login' }), broad)).action).toBe('block');
    expect(calls).toHaveLength(3);
  });

  it('carves exclusions out of wildcard and RegExp routes of the list, never out of a named path', async () => {
    const { provider } = recordingProvider(() => ({ risk: 1 }));
    const vigil = createVigil({
      mode: 'blocking',
      provider,
      routes: [
        { path: '/users/:id', event: '$profile_update', name: 'user' },
        { path: '/static/login', event: '$login', name: 'named' },
        { path: '/api/*', event: '$custom', name: 'api' },
        { path: /^\/files\//, event: '$custom', name: 'files' },
      ],
      uriExclusion: ['/static', /\.css$/],
    });
    const name = (path: string) => vigil.match({ method: 'PUT', path })?.name;
    expect(name('/users/42.css')).toBe('user');
    expect(name('/static/login')).toBe('named');
    expect(name('/api/app.css')).toBeUndefined();
    expect(name('/files/a.css')).toBeUndefined();
    expect(name('/api/login')).toBe('api');
    expect((await vigil.protect(request({ method: 'PUT', url: '/users/42.css', path: '/users/42.css' }))).action).toBe('block');
  });

  // issue 12 review: a GET rule let HEAD through, and both routers answer HEAD with the GET handler.
  it('applies a GET route to HEAD requests', () => {
    const vigil = createVigil({ routes: [{ method: 'GET', path: '/magic/:token', event: '$login', name: 'magic' }] });
    expect(vigil.match({ method: 'HEAD', path: '/magic/abc' })?.name).toBe('magic');
    expect(vigil.match({ method: 'POST', path: '/magic/abc' })).toBeUndefined();
    expect([...(vigil.routes[0]?.methods ?? [])]).toEqual(['GET', 'HEAD']);
  });

  // issue 12: exclusion RegExps saw path and query, so a client adding
  // `?healthcheck=1` to a login skipped the decision.
  it('never lets the query string exclude a request', async () => {
    const { provider, calls } = recordingProvider(() => ({ risk: 1 }));
    const vigil = createVigil({ mode: 'blocking', provider, routes: [{ path: '/login', event: '$login' }], uriExclusion: [/[?&]healthcheck=1/, /\.css$/] });
    for (const url of ['/login?healthcheck=1', '/login?x=.css']) {
      const decision = await vigil.protect(request({ url, path: '/login' }));
      expect(decision.action, url).toBe('block');
    }
    expect(calls).toHaveLength(2);
  });

  it('sends filter without a user id, risk with one, with scrubbed headers and the user fields', async () => {
    const { provider, calls } = recordingProvider(() => ({ risk: 0 }));
    const vigil = createVigil({ provider, routes: [LOGIN, { path: '/account', event: '$profile_update', user: { id: 'headers.x-user-id' } }] });
    await vigil.protect(request());
    await vigil.protect(request({ path: '/account', url: '/account', headers: { 'x-user-id': 'u-1', cookie: 'a=b' } }));
    expect(calls.map((c) => c.method)).toEqual(['filter', 'risk']);
    const [first, second] = calls;
    expect(first?.event).toMatchObject({ type: '$login', status: '$attempted', name: '/login', user: { email: 'alice@example.com' } });
    expect(first?.event.context).toMatchObject({ ip: '203.0.113.7', userAgent: 'Mozilla/5.0' });
    expect(first?.event.context.headers.Cookie).toBe(true);
    expect(first?.event.context.headers.Authorization).toBe(true);
    expect(JSON.stringify(first?.event)).not.toMatch(/secret|t0k3n|hunter2/);
    expect(second?.event.user).toEqual({ id: 'u-1' });
  });

  it('accepts a plain async function as a provider', async () => {
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: async () => ({ risk: 0.95 }) });
    expect((await vigil.protect(request())).action).toBe('block');
  });

  it('accepts CHEQ routeToEventType', async () => {
    const vigil = createVigil({ mode: 'blocking', routeToEventType: { '/signup': '$registration' }, provider: async () => ({ risk: 1 }) });
    const decision = await vigil.protect(request({ path: '/signup', url: '/signup' }));
    expect(decision).toMatchObject({ event: '$registration', action: 'block' });
  });
});

describe('protect: the resolution order, in both modes', () => {
  const cases: [string, Verdict, Partial<VigilConfig>, string, string][] = [
    // name, verdict, extra config, expected wouldAction, expected verdict
    ['provider deny wins over low risk', { action: 'deny', risk: 0 }, {}, 'block', 'deny'],
    ['provider challenge with a handler', { action: 'challenge', risk: 0 }, { onChallenge: () => {} }, 'challenge', 'challenge'],
    ['block-group code', { risk: 0, threatCode: 10 }, {}, 'block', 'deny'],
    ['block-group code with redirectUrl', { risk: 0, threatCode: 3 }, { redirectUrl: '/blocked' }, 'redirect', 'deny'],
    ['captcha-group code', { risk: 0, threatCode: 13 }, { onChallenge: () => {} }, 'challenge', 'challenge'],
    ['code in neither list, low risk', { risk: 0.1, threatCode: 19 }, {}, 'allow', 'allow'],
    ['code in neither list, high risk', { risk: 0.95, threatCode: 19 }, {}, 'block', 'deny'],
    ['risk at the deny threshold', { risk: 0.9 }, {}, 'block', 'deny'],
    ['risk at the challenge threshold', { risk: 0.6 }, { onChallenge: () => {} }, 'challenge', 'challenge'],
    ['risk just below challenge', { risk: 0.59 }, { onChallenge: () => {} }, 'allow', 'allow'],
    ['custom thresholds', { risk: 0.5 }, { thresholds: { deny: 0.5, challenge: 0.3 } }, 'block', 'deny'],
    ['custom captcha list', { risk: 0, threatCode: 2 }, { threatCodes: { block: [3], captcha: [2] }, onChallenge: () => {} }, 'challenge', 'challenge'],
    ['provider allow does not override a block code', { action: 'allow', risk: 0, threatCode: 2 }, {}, 'block', 'deny'],
  ];

  it.each(cases)('%s', async (_name, verdict, extra, wouldAction, conclusion) => {
    for (const mode of ['monitoring', 'blocking'] as const) {
      const vigil = createVigil({ mode, routes: [LOGIN], provider: async () => verdict, ...extra });
      const decision = await vigil.protect(request());
      expect(decision.wouldAction).toBe(wouldAction);
      expect(decision.verdict).toBe(conclusion);
      expect(decision.action).toBe(mode === 'blocking' ? wouldAction : 'allow');
      expect(decision.wouldBlock).toBe(wouldAction === 'block' || wouldAction === 'redirect');
      expect(decision.failover).toBe(false);
      expect(Object.isFrozen(decision)).toBe(true);
      expect(decision.reasons.length).toBeGreaterThan(0);
    }
  });

  // Issue 13: without onChallenge, monitoring reported wouldAction 'allow' for every
  // challenge, and blocking mode allowed them with nothing said at start-up. Issue 15:
  // the built-in challenge serves them unless `challenge: false`, which these cover.
  it.each<[string, Verdict]>([
    ['provider challenge', { action: 'challenge', risk: 0 }],
    ['captcha-group code', { risk: 0, threatCode: 13 }],
    ['risk at the challenge threshold', { risk: 0.6 }],
  ])('%s without a handler: wouldAction challenge in both modes, allowed, and the reasons say so', async (_name, verdict) => {
    for (const mode of ['monitoring', 'blocking'] as const) {
      const vigil = createVigil({ mode, routes: [LOGIN], provider: async () => verdict, challenge: false });
      const decision = await vigil.protect(request());
      expect(decision).toMatchObject({ action: 'allow', wouldAction: 'challenge', wouldBlock: false, verdict: 'challenge' });
      expect(decision.reasons.at(-1)).toMatch(/no challenge is served \(challenge: false and no onChallenge\), so the request is allowed/);
    }
  });

  it("failover 'challenge' without a handler: wouldAction challenge in both modes, allowed", async () => {
    for (const mode of ['monitoring', 'blocking'] as const) {
      const vigil = createVigil({ mode, routes: [LOGIN], failover: 'challenge', provider: async () => Promise.reject(new Error('down')), challenge: false });
      const decision = await vigil.protect(request());
      expect(decision).toMatchObject({ action: 'allow', wouldAction: 'challenge', wouldBlock: false, verdict: 'challenge', failover: true });
      expect(decision.reasons.at(-1)).toMatch(/no challenge is served \(challenge: false and no onChallenge\), so the request is allowed/);
    }
  });

  it('warns once at start-up (VIGIL_W_NO_CHALLENGE_HANDLER) when blocking mode has the built-in challenge off and no onChallenge, naming the option and the fix', () => {
    const warn = vi.fn();
    createVigil({ mode: 'blocking', routes: [LOGIN], challenge: false, logger: { warn, error: vi.fn() } });
    expect(warn).toHaveBeenCalledTimes(1);
    const [fields, message] = warn.mock.calls[0] as [Record<string, unknown>, string];
    expect(fields).toMatchObject({ code: 'VIGIL_W_NO_CHALLENGE_HANDLER', option: 'challenge' });
    expect(message).toMatch(/onChallenge/);
    expect(message).toMatch(/allowed/);
  });

  it('does not warn about challenges in monitoring mode, with the built-in challenge (the default), nor with an onChallenge handler', () => {
    const warn = vi.fn();
    createVigil({ mode: 'monitoring', routes: [LOGIN], logger: { warn, error: vi.fn() } });
    createVigil({ routes: [LOGIN], logger: { warn, error: vi.fn() } });
    createVigil({ mode: 'blocking', routes: [LOGIN], logger: { warn, error: vi.fn() } });
    createVigil({ mode: 'blocking', routes: [LOGIN], challenge: false, onChallenge: () => {}, logger: { warn, error: vi.fn() } });
    expect(warn).not.toHaveBeenCalled();
  });

  it('describes itself: route, event, risk, code, group, signals, provider, ids', async () => {
    const vigil = createVigil({
      mode: 'blocking',
      routes: [{ ...LOGIN, name: 'login' }],
      provider: { name: 'p', filter: async () => ({ risk: 0.2, threatCode: 13, signals: { datacenter: true }, reasons: ['hosting range'], device: { id: 'd1' } }), risk: async () => ({ risk: 0 }), log: async () => {} },
    });
    const decision = await vigil.protect(request());
    expect(decision).toMatchObject({
      route: 'login',
      event: '$login',
      risk: 0.2,
      threatCode: 13,
      threatGroup: 'captcha',
      signals: { datacenter: true },
      provider: 'p',
      device: { id: 'd1' },
      ip: '203.0.113.7',
      mode: 'blocking',
    });
    expect(decision.reasons[0]).toBe('hosting range');
    expect(decision.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(decision.durationMs).toBeGreaterThanOrEqual(0);
  });
});

describe('protect: failover', () => {
  const failures: [string, () => Promise<Verdict> | Verdict, string][] = [
    ['a rejected promise', () => Promise.reject(new Error('boom')), 'provider error'],
    ['a synchronous throw', () => {
      throw new Error('sync boom');
    }, 'provider error'],
    ['a provider-supplied reason', () => Promise.reject(Object.assign(new Error('503'), { failoverReason: 'server error' })), 'server error'],
    ['a verdict without risk', () => ({}) as Verdict, 'invalid verdict'],
    ['a risk above 1', () => ({ risk: 3 }), 'invalid verdict'],
    ['a NaN risk', () => ({ risk: Number.NaN }), 'invalid verdict'],
    ['an unknown action', () => ({ risk: 0, action: 'block' }) as unknown as Verdict, 'invalid verdict'],
    ['a null verdict', () => null as unknown as Verdict, 'invalid verdict'],
  ];

  it.each(failures)('%s fails over with the configured strategy', async (_name, answer, reason) => {
    for (const [failover, wouldAction] of [
      ['allow', 'allow'],
      ['deny', 'block'],
      ['challenge', 'challenge'],
    ] as const) {
      const warn = vi.fn();
      const vigil = createVigil({
        mode: 'blocking',
        routes: [LOGIN],
        failover,
        onChallenge: () => {},
        logger: { warn, error: vi.fn() },
        provider: { name: 'bad', filter: answer as Provider['filter'], risk: answer as Provider['risk'], log: async () => {} },
      });
      const decision = await vigil.protect(request());
      expect(decision).toMatchObject({ failover: true, failoverReason: reason, action: wouldAction, wouldAction });
      expect(warn).toHaveBeenCalledWith(expect.objectContaining({ code: 'VIGIL_W_FAILOVER', reason }), expect.any(String));
    }
  });

  it("'throw' rethrows in blocking mode and never in monitoring mode", async () => {
    const provider = async () => Promise.reject(new Error('down'));
    const blocking = createVigil({ mode: 'blocking', routes: [LOGIN], failover: 'throw', provider });
    await expect(blocking.protect(request())).rejects.toBeInstanceOf(VigilProviderError);
    const monitoring = createVigil({ mode: 'monitoring', routes: [LOGIN], failover: 'throw', provider });
    await expect(monitoring.protect(request())).resolves.toMatchObject({ action: 'allow', failover: true });
  });

  it('keeps a provider-reported failover as such', async () => {
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: async () => ({ risk: 0, action: 'allow', failover: true, failoverReason: 'timeout' }) });
    expect(await vigil.protect(request())).toMatchObject({ failover: true, failoverReason: 'timeout', action: 'allow' });
  });

  it('resolves at the timeout when the provider never answers, and close() does not hang', async () => {
    vi.useFakeTimers();
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], timeout: 200, failover: 'deny', provider: () => new Promise<Verdict>(() => {}) });
    let settled: unknown;
    void vigil.protect(request()).then((d) => {
      settled = d;
    });
    await vi.advanceTimersByTimeAsync(199);
    expect(settled).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toMatchObject({ failover: true, failoverReason: 'timeout', action: 'block' });
    expect(vi.getTimerCount()).toBe(0);
    await vigil.close();
  });

  it('clears its timer when the provider answers first (no leaked timers)', async () => {
    vi.useFakeTimers();
    const vigil = createVigil({ routes: [LOGIN], timeout: 5000, provider: async () => ({ risk: 0 }) });
    await vigil.protect(request());
    expect(vi.getTimerCount()).toBe(0);
  });

  it('after close(), decisions fail over with reason "closed" and close() resolves even if provider.close hangs', async () => {
    vi.useFakeTimers();
    const vigil = createVigil({
      routes: [LOGIN],
      timeout: 100,
      provider: { name: 'hang', filter: async () => ({ risk: 0 }), risk: async () => ({ risk: 0 }), log: async () => {}, close: () => new Promise<void>(() => {}) },
    });
    const closing = vigil.close();
    await vi.advanceTimersByTimeAsync(100);
    await closing;
    expect(await vigil.protect(request())).toMatchObject({ failover: true, failoverReason: 'closed' });
  });
});

describe('properties', () => {
  const verdicts = fc.record({
    risk: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.double(), fc.constant(Number.NaN)),
    action: fc.option(fc.constantFrom('allow', 'challenge', 'deny', 'block', ''), { nil: undefined }),
    threatCode: fc.option(fc.oneof(fc.integer({ min: -2, max: 25 }), fc.double()), { nil: undefined }),
  });
  // Each behaviour: answer now, answer after a delay (possibly past the timeout), never
  // answer, reject now, reject later, throw synchronously.
  const behaviours = fc.oneof(
    fc.record({ kind: fc.constant('now' as const), verdict: verdicts }),
    fc.record({ kind: fc.constant('later' as const), verdict: verdicts, delay: fc.integer({ min: 0, max: 3000 }) }),
    fc.record({ kind: fc.constant('never' as const) }),
    fc.record({ kind: fc.constant('reject' as const), delay: fc.integer({ min: 0, max: 3000 }) }),
    fc.record({ kind: fc.constant('throw' as const) }),
  );
  type Behaviour = { kind: 'now' | 'later' | 'never' | 'reject' | 'throw'; verdict?: unknown; delay?: number };
  const toProvider = (b: Behaviour) => (): Promise<Verdict> => {
    switch (b.kind) {
      case 'now':
        return Promise.resolve(b.verdict as Verdict);
      case 'later':
        return new Promise<Verdict>((resolve) => setTimeout(resolve, b.delay, b.verdict as Verdict));
      case 'never':
        return new Promise(() => {});
      case 'reject':
        return new Promise((_, reject) => setTimeout(reject, b.delay, new Error('x')));
      default:
        throw new Error('sync');
    }
  };

  it('monitoring mode never yields an action other than allow, for any verdict, error or delay', async () => {
    vi.useFakeTimers();
    await fc.assert(
      fc.asyncProperty(behaviours, fc.constantFrom('allow', 'deny', 'challenge', 'throw'), async (b, failover) => {
        const vigil = createVigil({ mode: 'monitoring', routes: [LOGIN], timeout: 1000, failover, onChallenge: () => {}, redirectUrl: '/x', provider: toProvider(b as Behaviour) });
        const pending = vigil.protect(request());
        await vi.advanceTimersByTimeAsync(1000);
        const decision = await pending;
        expect(decision.action).toBe('allow');
      }),
      { numRuns: 150 },
    );
  });

  it('no provider behaviour makes protect outlast the timeout or throw (unless failover is throw)', async () => {
    vi.useFakeTimers();
    await fc.assert(
      fc.asyncProperty(behaviours, fc.constantFrom('allow', 'deny', 'challenge'), fc.integer({ min: 1, max: 2000 }), async (b, failover, timeout) => {
        const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], timeout, failover, provider: toProvider(b as Behaviour) });
        let outcome: 'resolved' | 'rejected' | undefined;
        vigil.protect(request()).then(
          () => {
            outcome = 'resolved';
          },
          () => {
            outcome = 'rejected';
          },
        );
        // Settled once the clock has moved by exactly the timeout: the + 50 ms bound is
        // met with no wall-clock measurement at all.
        await vi.advanceTimersByTimeAsync(timeout);
        expect(outcome).toBe('resolved');
        expect(vi.getTimerCount()).toBeLessThanOrEqual(b.kind === 'later' || b.kind === 'reject' ? 1 : 0);
        vi.clearAllTimers();
      }),
      { numRuns: 150 },
    );
  });
});

describe('after the response: logOutcome', () => {
  it('logs $succeeded / $failed from the route outcome with the same request id, without awaiting', async () => {
    const { provider, calls } = recordingProvider(() => ({ risk: 0 }));
    const vigil = createVigil({ routes: [{ ...LOGIN, outcome: { failed: ['4xx'] } }], provider });
    const decision = await vigil.protect(request());
    vigil.logOutcome(decision, 200);
    const second = await vigil.protect(request());
    vigil.logOutcome(second, 422);
    vigil.logOutcome(await vigil.protect(request()), 500); // neither succeeded nor failed: not logged
    await vigil.close(); // waits for in-flight logs
    const logs = calls.filter((c) => c.method === 'log');
    expect(logs.map((c) => [c.event.status, c.event.responseStatus])).toEqual([
      ['$succeeded', 200],
      ['$failed', 422],
    ]);
    expect(logs[0]?.event.requestId).toBe(decision.requestId);
    expect(logs[1]?.event.requestId).toBe(second.requestId);
    expect(vigil.outcomeOf(decision, 401)).toBe('$failed');
  });

  it('does not log requests Vigil answered itself, nor unprotected ones', async () => {
    const { provider, calls } = recordingProvider(() => ({ risk: 1 }));
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider });
    const blocked = await vigil.protect(request());
    vigil.logOutcome(blocked, 403);
    vigil.logOutcome(await vigil.protect(request({ path: '/x', url: '/x' })), 200);
    await vigil.close();
    expect(calls.filter((c) => c.method === 'log')).toHaveLength(0);
  });

  it('a failing or hanging log never surfaces as an error', async () => {
    vi.useFakeTimers();
    const warn = vi.fn();
    const vigil = createVigil({
      routes: [LOGIN],
      timeout: 50,
      logger: { warn, error: vi.fn() },
      provider: { name: 'p', filter: async () => ({ risk: 0 }), risk: async () => ({ risk: 0 }), log: () => new Promise(() => {}) },
    });
    const decision = await vigil.protect(request());
    vigil.logOutcome(decision, 200);
    await vi.advanceTimersByTimeAsync(50);
    expect(warn).toHaveBeenCalledWith(expect.objectContaining({ code: 'VIGIL_W_LOG_TIMEOUT' }), expect.any(String));
  });
});

describe('hooks and warnings', () => {
  it('calls onDecision for protected requests and survives it throwing', async () => {
    const seen: string[] = [];
    const vigil = createVigil({
      routes: [LOGIN],
      onDecision: (decision) => {
        seen.push(decision.route ?? '');
        throw new Error('metrics down');
      },
    });
    await expect(vigil.protect(request())).resolves.toMatchObject({ action: 'allow' });
    await vigil.protect(request({ path: '/other', url: '/other' }));
    expect(seen).toEqual(['/login']);
  });

  it('warns once when a route reads body fields but the body was not parsed', async () => {
    const warn = vi.fn();
    const vigil = createVigil({ routes: [LOGIN], logger: { warn, error: vi.fn() } });
    await vigil.protect(request({ body: undefined }));
    await vigil.protect(request({ body: undefined }));
    const calls = warn.mock.calls.filter(([obj]) => obj.code === 'VIGIL_W_BODY_NOT_PARSED');
    expect(calls).toHaveLength(1);
  });

  it('warns once when X-Forwarded-For keeps arriving from an untrusted public peer', async () => {
    const warn = vi.fn();
    const vigil = createVigil({ routes: [LOGIN], logger: { warn, error: vi.fn() } });
    for (let i = 0; i < 25; i++) await vigil.protect(request({ headers: { 'x-forwarded-for': '1.2.3.4' } }));
    const calls = warn.mock.calls.filter(([obj]) => obj.code === 'VIGIL_W_FORWARDED_FOR_UNTRUSTED');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[1]).toMatch(/trustedProxies/);
  });

  it('warns once when no client IP can be found', async () => {
    const warn = vi.fn();
    const vigil = createVigil({ routes: [LOGIN], logger: { warn, error: vi.fn() } });
    await vigil.protect(request({ remoteAddress: undefined, headers: {} }));
    await vigil.protect(request({ remoteAddress: undefined, headers: {} }));
    expect(warn.mock.calls.filter(([obj]) => obj.code === 'VIGIL_W_NO_CLIENT_IP')).toHaveLength(1);
  });
});

describe('respond', () => {
  it('renders what core decided: HTML for browsers, JSON for API clients, redirects, nothing otherwise', async () => {
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: async () => ({ risk: 1 }) });
    const decision = await vigil.protect(request());
    const html = vigil.respond(decision, 'text/html,application/xhtml+xml');
    expect(html?.status).toBe(403);
    expect(html?.headers['content-type']).toMatch(/text\/html/);
    const json = vigil.respond(decision, 'application/json, text/html');
    expect(JSON.parse(json?.body ?? '')).toMatchObject({ blocked: true, requestId: decision.requestId });
    const redirecting = createVigil({ mode: 'blocking', routes: [LOGIN], redirectUrl: '/sorry', redirectStatus: 303, provider: async () => ({ risk: 1 }) });
    const redirect = await redirecting.protect(request());
    expect(redirecting.respond(redirect, undefined)).toMatchObject({ status: 303, headers: { location: '/sorry' } });
    const monitoring = createVigil({ routes: [LOGIN], provider: async () => ({ risk: 1 }) });
    expect(monitoring.respond(await monitoring.protect(request()), 'text/html')).toBeUndefined();
  });
});

describe('bad input is a normal request', () => {
  it.each([
    ['no headers at all', { headers: undefined as unknown as RequestInfo['headers'] }],
    ['a __proto__ body', { body: JSON.parse('{"__proto__": {"polluted": true}, "email": {"$ne": 1}}') }],
    ['a string body', { body: 'email=a' }],
    ['a huge X-Forwarded-For', { headers: { 'x-forwarded-for': '1.1.1.1, '.repeat(8000) }, remoteAddress: '10.0.0.1' }],
    ['a garbage socket address', { remoteAddress: 'not-an-ip' }],
    ['a lower-case method and odd path', { method: 'post', path: '/login/', url: '/login/?a=%ff' }],
  ])('%s', async (_name, overrides) => {
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: async () => ({ risk: 0 }) });
    const decision = await vigil.protect(request(overrides as Partial<RequestInfo>));
    expect(decision.action).toBe('allow');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('enforce: the one place adapters delegate the branching to', () => {
  function io(sent = false) {
    const calls: { appended: [string, unknown][]; sent: { status: number; body: string }[] } = { appended: [], sent: [] };
    return {
      calls,
      io: {
        appendHeader: (name: string, value: unknown) => calls.appended.push([name, value]),
        send: (r: { status: number; body: string }) => {
          calls.sent.push(r);
        },
        headersSent: () => sent,
        raw: { marker: true },
      },
    };
  }
  const verdictWithCookie = { risk: 0, responseHeaders: { 'Set-Cookie': '_cheq_rti=abc; Path=/', 'bad header': 'x', 'X-Evil': 'a\r\nb' } };

  it('appends provider response headers in every mode, dropping invalid ones', async () => {
    for (const mode of ['monitoring', 'blocking'] as const) {
      const vigil = createVigil({ mode, routes: [LOGIN], provider: async () => verdictWithCookie });
      const decision = await vigil.protect(request());
      const { io: target, calls } = io();
      expect(await vigil.enforce(decision, request(), target)).toBe('proceed');
      // The provider's cookie first, then Vigil's own device cookie (on by default).
      expect(calls.appended).toEqual([['set-cookie', ['_cheq_rti=abc; Path=/', expect.stringMatching(/^vigil_did=/)]]]);
    }
  });

  // The family: whatever a provider hands over as headers, the decision carries only what
  // Node accepts (token names, lower-cased; string values without CR, LF or NUL), and
  // Vigil's device cookie comes after the provider's own Set-Cookie values, never lost.
  it('any provider headers: only valid names and values reach the decision, the device cookie last', async () => {
    const name = fc.oneof(fc.constantFrom('Set-Cookie', 'set-cookie', 'X-Trace', 'bad header', 'x:y', ''), fc.string({ maxLength: 8 }));
    const text = fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('a\r\nb', 'ok', 'x\0', 'v=1; Path=/'));
    const value = fc.oneof(text, fc.array(fc.oneof(text, fc.integer(), fc.constant(null)), { maxLength: 3 }), fc.integer(), fc.constant(undefined));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(name, value, { maxKeys: 5 }), async (headers) => {
        const vigil = createVigil({ routes: [LOGIN], provider: async () => ({ risk: 0, responseHeaders: headers as Record<string, string> }) });
        const decision = await vigil.protect(request());
        for (const [key, values] of Object.entries(decision.responseHeaders)) {
          expect(key).toMatch(/^[!#$%&'*+.^_`|~0-9a-z-]+$/);
          for (const v of [values].flat()) expect(v).toMatch(/^[^\r\n\0]*$/);
        }
        const cookies = [decision.responseHeaders['set-cookie'] ?? []].flat();
        expect(cookies[cookies.length - 1]).toMatch(/^vigil_did=/);
      }),
      { numRuns: 200 },
    );
  });

  it('negotiates the block page on the Accept header read as any header is: any case, a list joined', async () => {
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: async () => ({ risk: 1 }) });
    const decision = await vigil.protect(request());
    // A hand-built request (a test, a serverless adapter) may spell the name any way.
    for (const headers of [{ ACCEPT: 'text/html' }, { Accept: 'text/html' }, { accept: ['text/html', 'application/xhtml+xml'] }]) {
      const { io: target, calls } = io();
      expect(await vigil.enforce(decision, request({ headers }), target)).toBe('handled');
      expect(calls.sent[0]?.body, JSON.stringify(headers)).toMatch(/<html/);
    }
  });

  it('sends the rendered block (negotiated) and never writes when headers are already sent', async () => {
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: async () => ({ risk: 1 }) });
    const decision = await vigil.protect(request());
    const { io: target, calls } = io();
    expect(await vigil.enforce(decision, request({ headers: { accept: 'text/html' } }), target)).toBe('handled');
    expect(calls.sent[0]?.status).toBe(403);
    expect(calls.sent[0]?.body).toMatch(/<html/);
    const late = io(true);
    expect(await vigil.enforce(decision, request(), late.io)).toBe('handled');
    expect(late.calls.sent).toHaveLength(0);
  });

  it('hands a challenge to onChallenge, which may proceed (sync or after awaiting)', async () => {
    const seen: unknown[] = [];
    const vigil = createVigil({
      mode: 'blocking',
      routes: [LOGIN],
      provider: async () => ({ risk: 0, action: 'challenge' }),
      onChallenge: async ({ request: req, decision, proceed, raw }) => {
        seen.push([req.path, decision.action, raw]);
        await new Promise((r) => setTimeout(r, 1));
        proceed();
      },
    });
    const decision = await vigil.protect(request());
    const { io: target, calls } = io();
    expect(await vigil.enforce(decision, request(), target)).toBe('proceed');
    expect(seen).toEqual([['/login', 'challenge', { marker: true }]]);
    expect(calls.sent).toHaveLength(0);
  });

  it('answers with the block response when onChallenge throws or neither answers nor proceeds', async () => {
    for (const onChallenge of [() => {
      throw new Error('captcha service down');
    }, () => {}]) {
      const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: async () => ({ risk: 0, action: 'challenge' }), onChallenge });
      const decision = await vigil.protect(request());
      const { io: target, calls } = io();
      expect(await vigil.enforce(decision, request(), target)).toBe('handled');
      expect(calls.sent.map((r) => r.status)).toEqual([403]);
    }
  });

  it('vigil.route() without a path applies wherever it is mounted', async () => {
    const vigil = createVigil({ mode: 'blocking', provider: async () => ({ risk: 1 }) });
    const route = vigil.route({ event: '$login', user: { email: 'body.email' } });
    expect(route.name).toBe('$login');
    expect((await vigil.protect(request({ path: '/any/where', url: '/any/where' }), route)).action).toBe('block');
  });
});

describe('failover incidents', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // The incident tracker's clock is Date.now: faking Date alone moves it, and nothing else.
  const later = (ms: number) => vi.setSystemTime(Date.now() + ms);

  it('one line when failovers start, none while they flap, one when decisions have succeeded for the quiet period', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    let down = true;
    const warn = vi.fn();
    const info = vi.fn();
    const vigil = createVigil({
      routes: [LOGIN],
      logger: { warn, error: vi.fn(), info },
      provider: async () => (down ? Promise.reject(new Error('down')) : { risk: 0 }),
    });
    for (let i = 0; i < 5; i++) await vigil.protect(request());
    // A success, then failures again within 10 s: the same incident (a flapping store).
    down = false;
    await vigil.protect(request());
    down = true;
    later(5_000);
    await vigil.protect(request());
    expect(warn.mock.calls.map(([obj]) => obj.code)).toEqual(['VIGIL_W_FAILOVER']);
    expect(info).not.toHaveBeenCalled();
    // 10 s without a failure: the next success ends it, with the counts.
    down = false;
    later(10_000);
    await vigil.protect(request());
    expect(info.mock.calls.map(([obj]) => obj)).toMatchObject([{ code: 'VIGIL_I_RECOVERED', provider: 'function', failures: 6, requests: 6, reasons: { 'provider error': 6 } }]);
    down = true;
    await vigil.protect(request());
    expect(warn.mock.calls.map(([obj]) => obj.code)).toEqual(['VIGIL_W_FAILOVER', 'VIGIL_W_FAILOVER']);
    expect(vigil.stats).toEqual({ decisions: 9, failovers: 7, incidents: 2 });
  });

  it('outcomes that cannot be logged join the incident: 1 000 failed outcomes are one line, then a summary a minute', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const warn = vi.fn();
    const provider: Provider = {
      name: 'flaky',
      filter: async () => ({ risk: 0 }),
      risk: async () => ({ risk: 0 }),
      log: async () => Promise.reject(Object.assign(new Error('ECONNREFUSED'), { failoverReason: 'store error' })),
    };
    const vigil = createVigil({ routes: [LOGIN], logger: { warn, error: vi.fn() }, provider });
    for (let i = 0; i < 1000; i++) {
      vigil.logOutcome(await vigil.protect(request()), 401);
      await vigil.trackLogin(request(), { success: false, email: 'a@example.com' });
    }
    expect(warn.mock.calls.map(([obj]) => obj)).toMatchObject([{ code: 'VIGIL_W_LOG_FAILED', provider: 'flaky', reason: 'log: store error', err: { message: 'ECONNREFUSED' } }]);
    later(60_000);
    await vigil.trackLogin(request(), { success: false, email: 'a@example.com' });
    expect(warn.mock.calls.map(([obj]) => obj.code)).toEqual(['VIGIL_W_LOG_FAILED', 'VIGIL_W_FAILOVER_ONGOING']);
    expect(warn.mock.calls[1]?.[0]).toMatchObject({ failures: 2000, requests: 2000, reasons: { 'log: store error': 2000 } });
    await vigil.close();
  });

  it('an incident begun by failed outcomes still says when decisions start failing over, once', async () => {
    let decisionsDown = false;
    const warn = vi.fn();
    const down = () => Promise.reject(Object.assign(new Error('OOM'), { failoverReason: 'store error' }));
    const provider: Provider = { name: 'oom', filter: async () => (decisionsDown ? down() : { risk: 0 }), risk: async () => ({ risk: 0 }), log: down };
    const vigil = createVigil({ routes: [LOGIN], logger: { warn, error: vi.fn() }, provider });
    // Redis at its maxmemory: reads answer, writes fail; the outcomes' writes fail first.
    for (let i = 0; i < 3; i++) vigil.logOutcome(await vigil.protect(request()), 401);
    decisionsDown = true;
    for (let i = 0; i < 50; i++) vigil.logOutcome(await vigil.protect(request()), 401);
    await vigil.close();
    expect(warn.mock.calls.map(([obj]) => obj.code)).toEqual(['VIGIL_W_LOG_FAILED', 'VIGIL_W_FAILOVER']);
  });
});
