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

  it('keeps the key with more evidence when keys with less, touched again, stream through the protected segment', () => {
    const map = new SegmentedMap<string, Credited>(100);
    const strong = entry(MAX_CREDIT);
    map.insert('strong', strong, NOW);
    for (let i = 0; i < 2_000; i++) {
      const weak = entry();
      map.insert(`weak${i}`, weak, NOW);
      map.credit(`weak${i}`, weak, 1, NOW);
    }
    expect(map.get('strong')).toBe(strong);
    expect(map.protectedSize).toBe(80);
    // The first 79 weak keys took the free slots and keep them; later ones, as strong
    // as those, wait on probation (ties keep the incumbent) and are evicted in turn.
    expect(map.get('weak0')?.credit).toBe(1);
    expect(map.get('weak1999')?.credit).toBe(COLD);
    // A key that earned more, over two touches, takes the slot of a weaker one.
    const stronger = entry();
    map.insert('stronger', stronger, NOW);
    map.credit('stronger', stronger, 2, NOW);
    expect(stronger.credit).toBe(2);
    expect(map.protectedSize).toBe(80);
    expect(map.get('strong')).toBe(strong);
  });

  it('a key written once with credit takes free or expired slots only, never a weaker key’s', () => {
    const map = new SegmentedMap<string, Credited>(100);
    for (let i = 0; i < 80; i++) map.insert(`old${i}`, entry(1, NOW + 10), NOW);
    for (let i = 0; i < 10_000; i++) map.insert(`new${i}`, entry(MAX_CREDIT), NOW);
    expect([...map.entries()].filter(([key, v]) => key.startsWith('old') && v.credit === 1)).toHaveLength(80);
    // Once the old evidence expired, the next writes get its slots.
    for (let i = 10_000; i < 10_100; i++) map.insert(`new${i}`, entry(MAX_CREDIT), NOW + 10);
    expect([...map.entries()].filter(([key]) => key.startsWith('old'))).toEqual([]);
    expect(map.protectedSize).toBe(80);
  });

  it('untouched evidence is not worn out by traffic: equals and weaker keys wait until it expires, then take its slots', () => {
    const map = new SegmentedMap<string, Credited>(100);
    const old = Array.from({ length: 80 }, () => entry(5, NOW + 10));
    for (const [i, value] of old.entries()) map.insert(`old${i}`, value, NOW);
    expect(map.protectedSize).toBe(80);
    // However many times keys as strong as the old evidence are touched, none is demoted.
    for (let i = 0; i < 50_000; i++) {
      const value = entry();
      map.insert(`new${i}`, value, NOW);
      map.credit(`new${i}`, value, 5, NOW);
      map.credit(`new${i}`, value, 5, NOW);
    }
    for (const [i, value] of old.entries()) expect(map.get(`old${i}`)).toBe(value);
    expect(old.every((value) => value.credit === 5)).toBe(true);
    // At its expiry, fresher evidence takes the segment over.
    for (let i = 50_000; i < 50_200; i++) {
      const value = entry();
      map.insert(`new${i}`, value, NOW + 10);
      map.credit(`new${i}`, value, 1, NOW + 10);
    }
    expect([...map.entries()].filter(([key]) => key.startsWith('old'))).toEqual([]);
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
