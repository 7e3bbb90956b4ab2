import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VigilConfigError } from '../errors.js';
import { runStoreContract } from '../testing/store-contract.js';
import { MemoryStore } from './memory.js';

runStoreContract('MemoryStore', () => new MemoryStore(), {
  describe,
  it,
  beforeEach,
  afterEach,
  assertEqual: (actual, expected, message) => expect(actual, message).toEqual(expected),
});

describe('MemoryStore bounds', () => {
  it('never holds more than maxKeys keys, evicting the least recently used', async () => {
    const store = new MemoryStore({ maxKeys: 100 });
    const now = Date.now();
    await store.execute([{ type: 'set', key: 'keep', value: 'v' }], now);
    for (let i = 0; i < 1000; i++) {
      await store.execute([{ type: 'hit', key: `ip:${i}`, windowMs: 60_000 }], now);
      if (i % 10 === 0) await store.execute([{ type: 'get', key: 'keep' }], now); // keep it recent
    }
    expect(store.size).toBeLessThanOrEqual(100);
    expect(await store.execute([{ type: 'get', key: 'keep' }, { type: 'count', key: 'ip:0', windowMs: 60_000 }], now)).toEqual(['v', 0]);
  });

  it('saturates a distinct set at maxMembersPerSet', async () => {
    const store = new MemoryStore({ maxMembersPerSet: 10 });
    const now = Date.now();
    let count = 0;
    for (let i = 0; i < 50; i++) [count] = (await store.execute([{ type: 'distinct', key: 'k', windowMs: 60_000, member: String(i) }], now)) as [number];
    expect(count).toBe(10);
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects maxKeys %s at construction', (maxKeys) => {
    expect(() => new MemoryStore({ maxKeys })).toThrow(VigilConfigError);
    expect(() => new MemoryStore({ maxKeys })).toThrow(/MemoryStore.maxKeys/);
  });
});
