import { describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import { createVigil } from '../vigil.js';
import { copyPlainData } from './plain-data.js';
import type { Verdict } from './types.js';

describe('copyPlainData', () => {
  it('keeps JSON data: strings, finite numbers, booleans, null, plain objects and arrays', () => {
    const value = { a: 'x', n: 1.5, t: true, z: null, list: [1, 'two', { three: 3 }], nested: { deep: { ok: false } } };
    expect(copyPlainData(value)).toEqual(value);
  });

  it('leaves out what JSON cannot hold: functions, symbols, undefined, BigInt, NaN and Infinity', () => {
    const value = { f: () => 1, s: Symbol('x'), u: undefined, b: 10n, nan: Number.NaN, inf: Number.POSITIVE_INFINITY, kept: 1, list: [() => 1, 2n, 3] };
    expect(copyPlainData(value as unknown as Record<string, unknown>)).toEqual({ kept: 1, list: [3] });
  });

  it('drops cyclic references, keeps shared ones', () => {
    const shared = { id: 'dev' };
    const value: Record<string, unknown> = { a: shared, b: shared };
    value.self = value;
    (shared as Record<string, unknown>).back = value;
    const copy = copyPlainData(value);
    expect(copy).toEqual({ a: { id: 'dev' }, b: { id: 'dev' } });
    expect(() => JSON.stringify(copy)).not.toThrow();
  });

  it('drops getters and proxies that throw, and class instances, Maps and Dates', () => {
    const value: Record<string, unknown> = { ok: 1, when: new Date(0), map: new Map([[1, 2]]), instance: new (class Signal {})() };
    Object.defineProperty(value, 'boom', { enumerable: true, get: () => { throw new Error('getter'); } });
    value.proxy = new Proxy({}, { ownKeys: () => { throw new Error('trap'); } });
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    value.revoked = revocable.proxy;
    expect(copyPlainData(value)).toEqual({ ok: 1 });
  });

  it('stops at the depth limit without recursing further (no stack overflow on 100 000 levels)', () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 100_000; i++) deep = { next: deep };
    const copy = copyPlainData({ deep });
    let depth = 0;
    for (let node = copy.deep as Record<string, unknown> | undefined; node; node = node.next as Record<string, unknown> | undefined) depth++;
    expect(depth).toBeLessThanOrEqual(8);
    expect(() => JSON.stringify(copy)).not.toThrow();
  });

  it('copies at most maxValues values and cuts long strings, so the copy stays small', () => {
    const value = { list: Array.from({ length: 100_000 }, (_, i) => i), text: 'y'.repeat(100_000) };
    const copy = copyPlainData(value);
    expect(JSON.stringify(copy).length).toBeLessThan(10_000);
    expect(copyPlainData({ text: 'y'.repeat(100) }, { maxStringLength: 10 })).toEqual({ text: 'y'.repeat(10) });
    // The object and the list count too: 4 values are the object, the list and two items.
    expect(copyPlainData({ list: [1, 2, 3, 4] }, { maxValues: 4 }).list).toEqual([1, 2]);
  });

  it('never writes a prototype: a "__proto__" key is left out, and the copy is frozen', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": {"b": 1}}') as Record<string, unknown>;
    const copy = copyPlainData(value);
    expect(copy).toEqual({ a: { b: 1 } });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.isFrozen(copy)).toBe(true);
    expect(Object.isFrozen(copy.a)).toBe(true);
  });

  it('answers an empty object for anything that is not an object', () => {
    for (const value of [null, undefined, 'x', 1, [1, 2]]) expect(copyPlainData(value as unknown as Record<string, unknown>)).toEqual({});
  });
});

describe('decisions stay serializable whatever a provider puts in its verdict', () => {
  const request: RequestInfo = { method: 'POST', url: '/login', path: '/login', headers: { 'user-agent': 'Mozilla/5.0' }, remoteAddress: '203.0.113.1' };
  const routes = [{ method: 'POST', path: '/login', event: '$login' } as const];

  it('cyclic signals, functions, BigInt, throwing getters and huge nesting: JSON.stringify(decision) works', async () => {
    const signals: Record<string, unknown> = { score: { value: 0.2 }, fn: () => 1, big: 1n };
    signals.self = signals;
    Object.defineProperty(signals, 'trap', { enumerable: true, get: () => { throw new Error('no'); } });
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 50_000; i++) deep = { next: deep };
    signals.deep = deep;
    const vigil = createVigil({ routes, provider: async () => ({ risk: 0.2, signals, reasons: ['ok', 42 as unknown as string] }) as Verdict });
    const decision = await vigil.protect(request);
    expect(() => JSON.stringify(decision)).not.toThrow();
    expect(decision.signals).toMatchObject({ score: { value: 0.2 } });
    expect(decision.signals).not.toHaveProperty('self');
    expect(decision.reasons).toEqual(['ok', expect.any(String)]);
  });

  it('reasons that are not a list, and a failoverReason that is not a string, are not copied', async () => {
    const vigil = createVigil({ routes, failover: 'deny', mode: 'blocking', provider: async () => ({ risk: 0, reasons: 'nope', failover: true, failoverReason: { evil: true } }) as unknown as Verdict });
    const decision = await vigil.protect(request);
    expect(decision).toMatchObject({ action: 'block', failover: true, failoverReason: 'provider failover' });
    expect(() => JSON.stringify(decision)).not.toThrow();
  });
});
