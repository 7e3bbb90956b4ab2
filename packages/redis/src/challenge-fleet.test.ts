// Issue 15, a fleet behind a load balancer: two instances sharing one Redis (and the
// engine's secret) verify each other's challenges, and a solution spent on one is
// refused on the other — also when both receive it at the same moment.
import { createVigil, localProvider, type RequestInfo, type Vigil } from '@vigil/core';
import { solveChallenge } from '@vigil/core/testing';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store.js';
import { adminClient, deleteKeys, REDIS_URL, SECRET, uniquePrefix } from './test-support.js';

let admin: Redis;
const prefix = uniquePrefix('challenge-fleet');
const vigils: Vigil[] = [];
beforeAll(() => {
  admin = adminClient();
});
afterAll(async () => {
  await Promise.all(vigils.map((v) => v.close()));
  await deleteKeys(admin, prefix);
  admin.disconnect();
});

const LOGIN = { method: 'POST', path: '/login', event: '$login' as const, user: { email: 'body.email' } };

function login(headers: Record<string, string> = {}): RequestInfo {
  return {
    method: 'POST',
    url: '/login',
    path: '/login',
    headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', accept: 'application/json', ...headers },
    remoteAddress: '203.0.113.50',
    body: { email: 'fleet@example.com', password: 'x' },
  };
}

// An instance as an app runs it: the embedded engine on the shared Redis, with the
// fleet's secret; its verdict pinned at a challenge so that every login is challenged.
// Nothing about the challenge is configured: its key and its store are the engine's.
function instance(): Vigil {
  const engine = localProvider({ store: new RedisStore({ url: REDIS_URL, prefix }), secret: SECRET });
  const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: { ...engine, filter: async () => ({ risk: 0.7 }) }, timeout: 2_000 });
  vigils.push(vigil);
  return vigil;
}

async function challengeFrom(vigil: Vigil): Promise<string> {
  const req = login();
  const decision = await vigil.protect(req);
  let body = '';
  const send = (answer: { body: string }) => {
    body = answer.body;
  };
  await vigil.enforce(decision, req, { raw: null, appendHeader: () => {}, headersSent: () => body !== '', send });
  return (await solveChallenge(JSON.parse(body).challenge)).payload;
}

describe('the built-in challenge across a fleet on one Redis', () => {
  it('a challenge issued by one instance passes on another; once spent there, it is refused everywhere', async () => {
    const [a, b] = [instance(), instance()];
    const payload = await challengeFrom(a);
    expect((await b.protect(login({ 'vigil-challenge': payload }))).challenge).toMatchObject({ passed: true, recorded: true });
    expect((await a.protect(login({ 'vigil-challenge': payload }))).challenge).toMatchObject({ passed: false, reason: 'replayed' });
    expect((await b.protect(login({ 'vigil-challenge': payload }))).challenge).toMatchObject({ passed: false, reason: 'replayed' });
    // The spent solution is a value in the shared store, with a TTL.
    const keys = await admin.keys(`${prefix}*chal:*`);
    expect(keys.length).toBe(1);
    expect(await admin.pttl(keys[0] as string)).toBeGreaterThan(0);
  });

  it('the same solution sent to both instances at once passes on exactly one', async () => {
    const [a, b] = [instance(), instance()];
    for (let round = 0; round < 5; round++) {
      const payload = await challengeFrom(round % 2 ? a : b);
      const decisions = await Promise.all([a, b, a, b].map((v) => v.protect(login({ 'vigil-challenge': payload }))));
      expect(decisions.filter((d) => d.challenge?.passed).length).toBe(1);
      expect(decisions.filter((d) => d.challenge?.reason === 'replayed').length).toBe(3);
    }
  });

  it('an instance with another secret cannot verify the fleet\'s challenges', async () => {
    const payload = await challengeFrom(instance());
    const engine = localProvider({ store: new RedisStore({ url: REDIS_URL, prefix }), secret: `${SECRET}-other` });
    const stranger = createVigil({ mode: 'blocking', routes: [LOGIN], provider: { ...engine, filter: async () => ({ risk: 0.7 }) } });
    vigils.push(stranger);
    expect((await stranger.protect(login({ 'vigil-challenge': payload }))).challenge).toMatchObject({ passed: false, reason: 'tampered' });
  });
});
