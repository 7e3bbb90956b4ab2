import { createVigil, type Decision, type LocalProvider, localProvider, MemoryStore, type Provider, type Store, type Vigil } from '@vigil/core';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store.js';
import { adminClient, deleteKeys, LOGIN_ROUTES, loginRequest, REDIS_URL, SECRET, uniquePrefix } from './test-support.js';

// A fleet behind a load balancer: instances that share a Redis (same prefix, same
// secret) must block a credential-stuffing run after as many attempts as one instance
// seeing all of it does.

let admin: Redis;
const prefixes: string[] = [];
beforeAll(() => {
  admin = adminClient();
});
afterAll(async () => {
  for (const prefix of prefixes) await deleteKeys(admin, prefix);
  admin.disconnect();
});

interface Instance {
  vigil: Vigil;
  /** Resolves when every outcome handed to the engine so far is in the store. */
  settled(): Promise<void>;
}

// An instance as an app runs it, except that the test can wait for the after-response
// outcome to land in the store before the next request (logOutcome does not wait).
function instance(store: Store): Instance {
  const engine: LocalProvider = localProvider({ store, secret: SECRET, limits: { windowMs: 3_600_000 } });
  const logs: Promise<unknown>[] = [];
  const provider: Provider = {
    name: 'local',
    filter: engine.filter,
    risk: engine.risk,
    log: (event) => {
      const logged = engine.log(event);
      logs.push(logged);
      return logged;
    },
  };
  const vigil = createVigil({ mode: 'blocking', routes: LOGIN_ROUTES, provider, timeout: 2_000 });
  return { vigil, settled: async () => void (await Promise.all(logs)) };
}

// One IP tries account after account, each login failing (401), the requests going to
// the instances in turn. Returns the attempt (1-based) that was first blocked.
async function stuff(instances: Instance[], ip: string): Promise<{ firstBlock: number; decisions: Decision[] }> {
  const decisions: Decision[] = [];
  for (let attempt = 1; attempt <= 50; attempt++) {
    const { vigil, settled } = instances[(attempt - 1) % instances.length] as Instance;
    const decision = await vigil.protect(loginRequest(ip, `victim${attempt}@example.com`));
    decisions.push(decision);
    expect(decision.failover).toBe(false);
    if (decision.action === 'block') return { firstBlock: attempt, decisions };
    vigil.logOutcome(decision, 401);
    await settled();
  }
  throw new Error('the stuffing run was never blocked');
}

describe('a fleet sharing one Redis decides as one instance', () => {
  it('two instances taking turns block a stuffing run after as many attempts as one instance', async () => {
    const ip = '203.0.113.66';

    const single = uniquePrefix('fleet-single');
    prefixes.push(single);
    const soloStore = new RedisStore({ url: REDIS_URL, prefix: single });
    const solo = await stuff([instance(soloStore)], ip);

    const shared = uniquePrefix('fleet-shared');
    prefixes.push(shared);
    // Two stores, two connections, as two processes would have.
    const storeA = new RedisStore({ url: REDIS_URL, prefix: shared });
    const storeB = new RedisStore({ url: REDIS_URL, prefix: shared });
    const fleet = await stuff([instance(storeA), instance(storeB)], ip);

    // And the reference: one process with the default in-memory store.
    const memory = await stuff([instance(new MemoryStore())], ip);

    expect(solo.firstBlock).toBe(memory.firstBlock);
    expect(fleet.firstBlock).toBe(solo.firstBlock);
    expect(fleet.firstBlock).toBeLessThanOrEqual(10);
    // Both instances took part, and the block is the engine's stuffing signal.
    expect(fleet.decisions.at(-1)?.threatCode).toBe(10);
    expect(fleet.decisions.map((d) => d.action)).toEqual(solo.decisions.map((d) => d.action));

    // Two instances NOT sharing a store each see half the run: they block later. This
    // is what the shared store is for.
    const apartA = uniquePrefix('fleet-apart-a');
    const apartB = uniquePrefix('fleet-apart-b');
    prefixes.push(apartA, apartB);
    const storeC = new RedisStore({ url: REDIS_URL, prefix: apartA });
    const storeD = new RedisStore({ url: REDIS_URL, prefix: apartB });
    const apart = await stuff([instance(storeC), instance(storeD)], ip);
    expect(apart.firstBlock).toBeGreaterThan(fleet.firstBlock);

    await Promise.all([soloStore, storeA, storeB, storeC, storeD].map((store) => store.close()));
  });
});

describe('block lists across a fleet', () => {
  it('a user blocked on one instance is refused by another on its next request; devices and unblocks travel too', async () => {
    const prefix = uniquePrefix('fleet-blocks');
    prefixes.push(prefix);
    const storeA = new RedisStore({ url: REDIS_URL, prefix });
    const storeB = new RedisStore({ url: REDIS_URL, prefix });
    const a = createVigil({ mode: 'blocking', provider: localProvider({ store: storeA, secret: SECRET }), timeout: 2_000 });
    const b = createVigil({ mode: 'blocking', provider: localProvider({ store: storeB, secret: SECRET }), timeout: 2_000 });
    try {
      const page = { ...loginRequest('203.0.113.40', 'someone@example.com'), method: 'GET', url: '/account', path: '/account' };
      expect((await b.identify(page, { id: 'u-fleet' })).blocked).toBe(false);
      await a.blockUser('u-fleet', { reason: 'takeover' });
      const refused = await b.identify(page, { id: 'u-fleet' });
      expect(refused).toMatchObject({ blocked: true, decision: { action: 'block' } });
      expect(b.respond(refused.decision, 'application/json')?.status).toBe(403);
      expect((await b.listBlockedUsers()).map((u) => u.id)).toEqual(['u-fleet']);
      await b.unblockUser('u-fleet');
      expect((await a.identify(page, { id: 'u-fleet' })).blocked).toBe(false);
    } finally {
      await a.close();
      await b.close();
      await storeA.close();
      await storeB.close();
    }
  });
});
