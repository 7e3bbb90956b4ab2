import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLD, type Credited, MAX_CREDIT, PROTECTED_SHARE, SegmentedMap } from './segmented-map.js';

const NOW = 1_000;
const entry = (credit = 0, expiresAt = Number.POSITIVE_INFINITY): Credited => ({ credit, expiresAt });

describe('SegmentedMap', () => {
  it('gets, inserts and deletes in either segment', () => {
    const map = new SegmentedMap<string, Credited>(10);
    const cold = entry();
    const hot = entry(5);
    map.insert('cold', cold, NOW);
    map.insert('hot', hot, NOW);
    expect(cold.credit).toBe(COLD);
    expect(map.protectedSize).toBe(1);
    expect(map.get('cold')).toBe(cold);
    expect(map.get('hot')).toBe(hot);
    expect(map.delete('cold')).toBe(true);
    expect(map.delete('hot')).toBe(true);
    expect(map.delete('hot')).toBe(false);
    expect(map.size).toBe(0);
  });

  it('a spray of cold keys only ever evicts cold keys', () => {
    const map = new SegmentedMap<string, Credited>(100);
    const hot = entry();
    map.insert('hot', hot, NOW);
    map.credit('hot', hot, 1, NOW); // touched once more: the least a key can earn
    for (let i = 0; i < 100_000; i++) map.insert(`cold${i}`, entry(), NOW);
    expect(map.get('hot')).toBe(hot);
    expect(map.size).toBe(100);
    // The newest cold keys are kept: probation is a FIFO of what was seen once.
    expect(map.get('cold99999')).toBeDefined();
    expect(map.get('cold0')).toBeUndefined();
  });

  it('never exceeds its bound, nor the protected segment its share, whatever the operations', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.tuple(fc.constantFrom('insert', 'credit', 'delete'), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 300 })), { maxLength: 400 }),
        (max, ops) => {
          const map = new SegmentedMap<number, Credited & { key: number }>(max);
          for (const [op, key, credit] of ops) {
            const held = map.get(key);
            if (op === 'insert' && held === undefined) map.insert(key, { key, credit, expiresAt: Number.POSITIVE_INFINITY }, NOW);
            else if (op === 'credit' && held !== undefined) map.credit(key, held, credit, NOW);
            else if (op === 'delete') map.delete(key);
            expect(map.size).toBeLessThanOrEqual(max);
            expect(map.protectedSize).toBeLessThanOrEqual(Math.floor(max * PROTECTED_SHARE));
            // What is held is what was inserted under that key.
            const now = map.get(key);
            if (now !== undefined) expect(now.key).toBe(key);
            expect(now === undefined || now.credit === COLD || (now.credit >= 0 && now.credit <= MAX_CREDIT)).toBe(true);
          }
          expect([...map.entries()].length).toBe(map.size);
        },
      ),
    );
  });

  it('keeps the key with more evidence when keys with less stream through the protected segment', () => {
    const map = new SegmentedMap<string, Credited>(100);
    const strong = entry(MAX_CREDIT);
    map.insert('strong', strong, NOW);
    for (let i = 0; i < 2_000; i++) map.insert(`weak${i}`, entry(1), NOW);
    expect(map.get('strong')).toBe(strong);
    expect(map.protectedSize).toBeLessThanOrEqual(80);
    // The newest weak evidence was admitted: nothing stops new evidence from coming in.
    expect(map.get('weak1999')?.credit).toBeGreaterThan(COLD);
  });

  it('untouched evidence cannot hold the protected segment for good: fresher evidence takes it over in the end', () => {
    const map = new SegmentedMap<string, Credited>(100);
    for (let i = 0; i < 80; i++) map.insert(`old${i}`, entry(MAX_CREDIT), NOW);
    expect(map.protectedSize).toBe(80);
    // Weak newcomers lose against the old evidence at first, but each attempt spends
    // some of its credit: in the end the old keys are demoted and evicted.
    for (let i = 0; i < 50_000; i++) map.insert(`new${i}`, entry(1), NOW);
    const old = [...map.entries()].filter(([key]) => key.startsWith('old'));
    expect(old).toEqual([]);
    expect(map.protectedSize).toBe(80);
  });

  it('gives back the slots of protected keys that expired, even when only cold keys arrive', () => {
    const map = new SegmentedMap<string, Credited>(100);
    for (let i = 0; i < 80; i++) map.insert(`hot${i}`, entry(10, NOW + 10), NOW);
    for (let i = 0; i < 20; i++) map.insert(`cold${i}`, entry(), NOW);
    for (let i = 20; i < 200; i++) map.insert(`cold${i}`, entry(), NOW + 10);
    expect(map.protectedSize).toBe(0);
    expect(map.size).toBe(100);
  });
});
