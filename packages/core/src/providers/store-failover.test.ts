import { describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { Store } from '../stores/types.js';
import { createVigil, type FailoverStrategy, VigilProviderError } from '../vigil.js';
import { localProvider } from './local.js';

// DESIGN.md, Failover: "Signals computed from the request alone keep deciding when the
// store fails." The store-backed signals go quiet and the decision names them; the
// request-only verdict applies when it is stronger than the failover strategy.
// (The same through a real RedisStore on a closed port: packages/redis/src/faults.test.ts.)

const LOGIN = { method: 'POST', path: '/login', event: '$login' as const, user: { email: 'body.email' } };
const REGISTER = { method: 'POST', path: '/register', event: '$registration' as const, user: { email: 'body.email' } };
const CHROME = {
  host: 'app.example.com',
  'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-US,en;q=0.9',
  'sec-fetch-site': 'same-origin',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
};
const PYTHON = { host: 'app.example.com', 'user-agent': 'python-requests/2.31.0', accept: '*/*' };

const broken: Store = { name: 'broken', execute: async () => Promise.reject(new Error('ECONNREFUSED')) };

function post(path: string, headers: RequestInfo['headers'], ip = '203.0.113.50', email = 'alice@example.com'): RequestInfo {
  return { method: 'POST', url: path, path, headers, remoteAddress: ip, body: { email, password: 'hunter2' } };
}

function vigil(failover: FailoverStrategy, extra: Parameters<typeof createVigil>[0] = {}) {
  return createVigil({ mode: 'blocking', failover, routes: [LOGIN, REGISTER], provider: localProvider({ store: broken, denyIps: ['198.51.100.0/24'] }), onChallenge: () => {}, ...extra });
}

const STORE_SIGNALS_OF_A_LOGIN = ['high_activity_ip', 'failed_logins_ip', 'credential_stuffing', 'multiple_accounts_ip', 'high_activity_account', 'unfamiliar_login_during_attack'];

describe('the store fails: request-only signals keep deciding', () => {
  it("failover 'allow': a python-requests login is blocked with its threat code; the decision names what went quiet", async () => {
    const decision = await vigil('allow').protect(post('/login', PYTHON));
    expect(decision).toMatchObject({ action: 'block', verdict: 'deny', threatCode: 3, threatGroup: 'block', failover: true, failoverReason: 'store error' });
    expect(decision.signals).toHaveProperty('http_client_library');
    expect([...(decision.degraded ?? [])].sort()).toEqual([...STORE_SIGNALS_OF_A_LOGIN].sort());
    expect(JSON.parse(JSON.stringify(decision))).toMatchObject({ failover: true, degraded: decision.degraded });
  });

  it("failover 'allow': a browser login gets the strategy's outcome, still saying what went quiet", async () => {
    const decision = await vigil('allow').protect(post('/login', CHROME));
    expect(decision).toMatchObject({ action: 'allow', verdict: 'allow', failover: true, failoverReason: 'store error', risk: 0 });
    expect(decision.degraded).toEqual(expect.arrayContaining(['credential_stuffing', 'high_activity_ip']));
    expect(decision.reasons.at(-1)).toBe('failover (store error): allow');
  });

  it("failover 'deny' still denies a browser; 'challenge' challenges it and still blocks python-requests", async () => {
    expect(await vigil('deny').protect(post('/login', CHROME))).toMatchObject({ action: 'block', verdict: 'deny', failover: true });
    expect(await vigil('deny').protect(post('/login', PYTHON))).toMatchObject({ action: 'block', threatCode: 3, failover: true });
    expect(await vigil('challenge').protect(post('/login', CHROME))).toMatchObject({ action: 'challenge', failover: true });
    expect(await vigil('challenge').protect(post('/login', PYTHON))).toMatchObject({ action: 'block', threatCode: 3, failover: true });
  });

  it("failover 'throw': a request the request alone denies is blocked; the others throw", async () => {
    expect(await vigil('throw').protect(post('/login', PYTHON))).toMatchObject({ action: 'block', threatCode: 3, failover: true });
    await expect(vigil('throw').protect(post('/login', CHROME))).rejects.toBeInstanceOf(VigilProviderError);
  });

  it('the deny list and the email checks still apply; monitoring mode records what blocking would do', async () => {
    expect(await vigil('allow').protect(post('/login', CHROME, '198.51.100.7'))).toMatchObject({ action: 'block', failover: true });
    const disposable = await vigil('allow').protect(post('/register', CHROME, '203.0.113.51', 'x@mailinator.com'));
    expect(disposable).toMatchObject({ failover: true, action: 'block' });
    expect(disposable.signals).toHaveProperty('disposable_email_domain');
    const monitoring = await vigil('allow', { mode: 'monitoring' }).protect(post('/login', PYTHON));
    expect(monitoring).toMatchObject({ action: 'allow', wouldAction: 'block', wouldBlock: true, threatCode: 3, failover: true });
  });

  it('a device cookie adds the device signals to what went quiet', async () => {
    const v = vigil('allow', { deviceCookie: { secret: 'device-secret-0123456789' } });
    const decision = await v.protect(post('/login', CHROME));
    expect(decision.degraded).toEqual(expect.arrayContaining(['reported_device', 'approved_device', 'new_device']));
  });
});
