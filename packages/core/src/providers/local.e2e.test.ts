import { afterEach, describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { Decision } from '../decision/decision.js';
import type { Store } from '../stores/types.js';
import { createVigil, type Vigil } from '../vigil.js';
import { localProvider } from './local.js';

const LOGIN = { method: 'POST', path: '/login', event: '$login' as const, user: { email: 'body.email' } };

/** Headers as Node hands them over: what each browser sends posting a login form over HTTPS. */
const BROWSERS = {
  chrome: {
    host: 'app.example.com',
    'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8',
    'accept-language': 'en-US,en;q=0.9',
    'accept-encoding': 'gzip, deflate, br, zstd',
    'content-type': 'application/x-www-form-urlencoded',
    origin: 'https://app.example.com',
    referer: 'https://app.example.com/login',
    'sec-ch-ua': '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"',
    'sec-ch-ua-mobile': '?0',
    'sec-ch-ua-platform': '"Windows"',
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-dest': 'document',
    'sec-fetch-user': '?1',
    'upgrade-insecure-requests': '1',
    cookie: 'sid=abc',
  },
  firefox: {
    host: 'app.example.com',
    'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0',
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': 'de-DE,de;q=0.8,en-US;q=0.5,en;q=0.3',
    'accept-encoding': 'gzip, deflate, br',
    'content-type': 'application/x-www-form-urlencoded',
    origin: 'https://app.example.com',
    referer: 'https://app.example.com/login',
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-dest': 'document',
    'sec-fetch-user': '?1',
  },
  safari: {
    host: 'app.example.com',
    'user-agent': 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': 'fr-FR,fr;q=0.9',
    'accept-encoding': 'gzip, deflate, br',
    'content-type': 'application/x-www-form-urlencoded',
    origin: 'https://app.example.com',
    referer: 'https://app.example.com/login',
  },
};

function login(ip: string, email: string, headers: RequestInfo['headers'] = BROWSERS.chrome): RequestInfo {
  return { method: 'POST', url: '/login', path: '/login', headers, remoteAddress: ip, body: { email, password: 'correct horse battery staple' } };
}

/** Lets the after-response log (fire-and-forget) settle before the next request. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

let vigil: Vigil | undefined;
afterEach(async () => {
  await vigil?.close();
  vigil = undefined;
});

function blockingVigil(extra: Parameters<typeof createVigil>[0] = {}): Vigil {
  vigil = createVigil({ mode: 'blocking', routes: [LOGIN], onChallenge: () => {}, ...extra });
  return vigil;
}

describe('end to end: the embedded engine through createVigil (blocking mode)', () => {
  it('uses the embedded engine by default', () => {
    expect(blockingVigil().provider.name).toBe('local');
  });

  it('blocks a credential-stuffing run from one IP within 10 attempts, even from a perfect browser', async () => {
    const v = blockingVigil();
    const decisions: Decision[] = [];
    for (let i = 1; i <= 30; i++) {
      const decision = await v.protect(login('198.51.100.23', `victim${i}@example.com`));
      decisions.push(decision);
      if (decision.action === 'block') break;
      v.logOutcome(decision, 401);
      await settle();
    }
    const blocked = decisions.findIndex((d) => d.action === 'block') + 1;
    expect(blocked).toBeGreaterThan(0);
    expect(blocked).toBeLessThanOrEqual(10);
    const last = decisions[blocked - 1] as Decision;
    expect(last).toMatchObject({ verdict: 'deny', threatCode: 10, threatGroup: 'block', wouldBlock: true, failover: false, provider: 'local', ip: '198.51.100.23' });
    expect(last.signals).toHaveProperty('credential_stuffing');
    expect(v.respond(last, 'application/json')?.status).toBe(403);
    // Before that, the run looked like ordinary logins.
    for (const d of decisions.slice(0, blocked - 1)) expect(d.action).toBe('allow');
    // Another client is unaffected.
    const bystander = await v.protect(login('192.0.2.44', 'someone@example.com'));
    expect(bystander.action).toBe('allow');
  });

  it('keeps blocking the stuffing IP, whatever account it tries next', async () => {
    const v = blockingVigil();
    for (let i = 1; i <= 5; i++) {
      const decision = await v.protect(login('198.51.100.24', `victim${i}@example.com`));
      v.logOutcome(decision, 401);
      await settle();
    }
    for (let i = 6; i <= 8; i++) expect((await v.protect(login('198.51.100.24', `victim${i}@example.com`))).action).toBe('block');
  });

  it.each(Object.keys(BROWSERS) as (keyof typeof BROWSERS)[])('a legit %s user with two typos then success is never blocked or challenged', async (browser) => {
    const v = blockingVigil();
    const outcomes = [401, 401, 200];
    for (const status of outcomes) {
      const decision = await v.protect(login('203.0.113.80', 'alice@example.com', BROWSERS[browser]));
      expect(decision).toMatchObject({ action: 'allow', wouldAction: 'allow', verdict: 'allow', risk: 0, failover: false });
      expect(decision.reasons).toEqual(['allowed']);
      v.logOutcome(decision, status);
      await settle();
    }
    // And the next day's login is still clean.
    const again = await v.protect(login('203.0.113.80', 'alice@example.com', BROWSERS[browser]));
    expect(again.action).toBe('allow');
  });

  it('a legit user and an attack at once: the attack is blocked, the user is not', async () => {
    const v = blockingVigil();
    let attackBlocked = false;
    for (let i = 1; i <= 10; i++) {
      const attack = await v.protect(login('198.51.100.25', `victim${i}@example.com`));
      if (attack.action === 'block') attackBlocked = true;
      else v.logOutcome(attack, 401);
      if (i <= 3) {
        const user = await v.protect(login('203.0.113.81', 'bob@example.com', BROWSERS.firefox));
        expect(user.action).toBe('allow');
        v.logOutcome(user, i < 3 ? 401 : 200);
      }
      await settle();
    }
    expect(attackBlocked).toBe(true);
  });

  it('an address whose logins are only challenged is never blocked as stuffing (issue 13: attack mode no longer cascades)', async () => {
    const v = blockingVigil({ provider: localProvider({ limits: { attackMinFailures: 10, failedAccountsPerIp: 5, accountsPerIp: { challenge: 20, block: 60 } } }) });
    // Someone who logged in from the carrier address before the attack.
    const regular = await v.protect(login('203.0.113.150', 'regular@example.com'));
    v.logOutcome(regular, 200);
    await settle();
    // Distributed stuffing elsewhere turns attack mode on.
    for (let i = 1; i <= 10; i++) {
      const attack = await v.protect(login(`198.51.${100 + i}.9`, `victim${i}@example.com`));
      v.logOutcome(attack, 401);
      await settle();
    }
    // Forty subscribers behind the carrier NAT, all unfamiliar there: challenged, and a
    // challenge never reaches the app, so it never answers.
    const decisions: Decision[] = [];
    for (let i = 1; i <= 15; i++) decisions.push(await v.protect(login('203.0.113.150', `subscriber${i}@example.com`)));
    // The regular, familiar there, is not challenged.
    expect((await v.protect(login('203.0.113.150', 'regular@example.com'))).action).toBe('allow');
    for (let i = 16; i <= 59; i++) decisions.push(await v.protect(login('203.0.113.150', `subscriber${i}@example.com`)));
    expect(decisions.map((d) => d.action)).toEqual(decisions.map(() => 'challenge'));
    expect(decisions.some((d) => d.signals !== undefined && 'credential_stuffing' in d.signals)).toBe(false);
    expect(decisions[0]?.signals).toHaveProperty('unfamiliar_login_during_attack');
    // Past accountsPerIp.challenge every login there is challenged (accounts tried count,
    // answered or not), but never blocked below accountsPerIp.block.
    expect((await v.protect(login('203.0.113.150', 'regular@example.com'))).action).toBe('challenge');
  });

  it('an HTTP client is blocked at the first attempt (code 3), a Chrome UA without Sec-Fetch-* is challenged (code 11)', async () => {
    const v = blockingVigil();
    const curl = await v.protect(login('198.51.100.26', 'a@example.com', { 'user-agent': 'curl/8.4.0', accept: '*/*' }));
    expect(curl).toMatchObject({ action: 'block', threatCode: 3 });
    const { 'sec-fetch-site': _s, 'sec-fetch-mode': _m, 'sec-fetch-dest': _d, 'sec-fetch-user': _u, ...forged } = BROWSERS.chrome;
    const forgedChrome = await v.protect(login('198.51.100.27', 'b@example.com', forged));
    expect(forgedChrome).toMatchObject({ action: 'challenge', threatCode: 11, verdict: 'challenge' });
  });

  it('in monitoring mode the same attack is only recorded', async () => {
    vigil = createVigil({ routes: [LOGIN] });
    const decisions: Decision[] = [];
    for (let i = 1; i <= 10; i++) {
      const decision = await vigil.protect(login('198.51.100.28', `victim${i}@example.com`));
      decisions.push(decision);
      vigil.logOutcome(decision, 401);
      await settle();
    }
    expect(decisions.every((d) => d.action === 'allow')).toBe(true);
    expect(decisions.some((d) => d.wouldBlock && d.threatCode === 10)).toBe(true);
  });

  it('a failing store fails over with reason "store error"', async () => {
    const broken: Store = { name: 'broken', execute: async () => Promise.reject(new Error('ECONNREFUSED')) };
    const v = blockingVigil({ provider: localProvider({ store: broken }), failover: 'challenge' });
    const decision = await v.protect(login('203.0.113.82', 'alice@example.com'));
    expect(decision).toMatchObject({ failover: true, failoverReason: 'store error', action: 'challenge', verdict: 'challenge' });
  });
});

describe('end to end: mailbox identity and reset enumeration (blocking mode)', () => {
  const SIGNUP = { method: 'POST', path: '/signup', event: '$registration' as const, user: { email: 'body.email' } };
  const RESET = { method: 'POST', path: '/reset', event: '$password_reset_request' as const, user: { email: 'body.email' } };
  const post = (path: string, ip: string, email: string): RequestInfo => ({ ...login(ip, email), url: path, path });
  const v = () => blockingVigil({ routes: [LOGIN, SIGNUP, RESET] });

  it('30 sign-ups of one Gmail mailbox through aliases, from 30 IPs: at most 3 accounts', async () => {
    const vigil = v();
    const aliases = Array.from({ length: 30 }, (_, i) => (i === 0 ? 'johndoe@googlemail.com' : i % 3 === 0 ? `John.Doe+${i}@googlemail.com` : `j.o.hn.doe+${i}@gmail.com`));
    const decisions: Decision[] = [];
    for (const [i, email] of aliases.entries()) {
      const decision = await vigil.protect(post('/signup', `198.51.${100 + (i >> 4)}.${i * 7 + 1}`, email));
      decisions.push(decision);
      if (decision.action === 'allow') vigil.logOutcome(decision, 201);
      await settle();
    }
    const allowed = decisions.filter((d) => d.action === 'allow').length;
    expect(allowed).toBeLessThanOrEqual(3);
    expect(allowed).toBe(3);
    const refused = decisions.slice(3);
    for (const d of refused) expect(d).toMatchObject({ action: 'block', threatCode: 9 });
    expect(refused[0]?.signals).toHaveProperty('multiple_signups_mailbox');
    // Someone else signs up as usual.
    expect((await vigil.protect(post('/signup', '192.0.2.60', 'jane.roe@gmail.com'))).action).toBe('allow');
  });

  it('40 password resets for distinct emails from one IP: challenged, then blocked', async () => {
    const vigil = v();
    const actions: string[] = [];
    let enumeration = false;
    for (let i = 1; i <= 40; i++) {
      const decision = await vigil.protect(post('/reset', '198.51.100.77', `user${i}@example.com`));
      actions.push(decision.action);
      if (decision.signals && 'reset_enumeration' in decision.signals) enumeration = true;
      vigil.logOutcome(decision, 200);
      await settle();
    }
    expect(enumeration).toBe(true);
    const firstChallenge = actions.indexOf('challenge');
    const firstBlock = actions.indexOf('block');
    expect(firstChallenge).toBeGreaterThan(0);
    expect(firstBlock).toBeGreaterThan(firstChallenge);
    expect(firstBlock).toBeLessThan(10);
    expect(actions.slice(firstBlock).every((a) => a === 'block')).toBe(true);
  });

  it('a person resetting twice (and then logging in) is never stopped', async () => {
    const vigil = v();
    for (const email of ['alice@gmail.com', 'a.lice@gmail.com']) {
      const decision = await vigil.protect(post('/reset', '203.0.113.90', email));
      expect(decision).toMatchObject({ action: 'allow', wouldAction: 'allow', risk: 0 });
      vigil.logOutcome(decision, 200);
      await settle();
    }
    expect((await vigil.protect(login('203.0.113.90', 'alice@gmail.com'))).action).toBe('allow');
  });
});
