import { createVigil, localProvider } from '@vigil/core';
import { runStoreContract } from '@vigil/core/testing';
import { Cluster } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RedisStore } from './redis-store.js';
import { LOGIN_ROUTES, loginRequest, SECRET, uniquePrefix } from './test-support.js';

// Against a real Redis Cluster, when one is given: REDIS_CLUSTER_NODES=host:port,host:port,...
// (CI runs a single Redis; the key layout test checks the shared hash tag there).
const nodes = (process.env.REDIS_CLUSTER_NODES ?? '')
  .split(',')
  .filter(Boolean)
  .map((node) => {
    const [host, port] = node.split(':');
    return { host: host as string, port: Number(port) };
  });

describe.skipIf(nodes.length === 0)('Redis Cluster', () => {
  const prefix = uniquePrefix('cluster');
  const cluster = new Cluster(nodes, { enableOfflineQueue: true, redisOptions: { connectionName: 'vigil-test' } });
  cluster.on('error', () => undefined);
  afterAll(async () => {
    for (const node of cluster.nodes('master')) {
      const keys = await node.keys(`${prefix}*`);
      // One hash tag: every key of the run sits on one node.
      if (keys.length > 0) await node.del(...keys);
    }
    cluster.disconnect();
  });

  runStoreContract('RedisStore (Cluster)', () => new RedisStore({ client: cluster, prefix }), {
    describe,
    it,
    beforeEach,
    afterEach,
    assertEqual: (actual, expected, message) => expect(actual, message).toEqual(expected),
  });

  it('decides through the engine, and keeps all its keys in one slot', async () => {
    const store = new RedisStore({ client: cluster, prefix });
    const vigil = createVigil({ mode: 'blocking', routes: LOGIN_ROUTES, provider: localProvider({ store, secret: SECRET }) });
    for (let i = 0; i < 10; i++) expect((await vigil.protect(loginRequest('198.51.100.30', `u${i}@example.com`))).failover).toBe(false);
    const holders = [];
    for (const node of cluster.nodes('master')) if ((await node.keys(`${prefix}*`)).length > 0) holders.push(node);
    expect(holders).toHaveLength(1);
    await vigil.close();
    await store.close();
  });
});
