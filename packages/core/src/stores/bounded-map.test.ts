import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BoundedMap } from './bounded-map.js';

describe('BoundedMap', () => {
  it('gets, sets, overwrites and deletes', () => {
    const map = new BoundedMap<string, number>(3);
    map.set('a', 1);
    map.set('a', 2);
    expect(map.get('a')).toBe(2);
    expect(map.delete('a')).toBe(true);
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('evicts the oldest entry nobody read, and keeps the ones read since (second chance)', () => {
    const map = new BoundedMap<string, number>(3);
    map.set('a', 1);
    map.set('b', 2);
    map.set('c', 3);
    map.get('a'); // a was read: it survives the next eviction
    map.set('d', 4);
    expect([...map.entries()].map(([k]) => k).sort()).toEqual(['a', 'c', 'd']);
    map.set('e', 5); // c is now the oldest unread one
    expect(map.get('c')).toBeUndefined();
    expect(map.get('a')).toBe(1);
  });

  it('never exceeds its bound, whatever the operations', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.array(fc.tuple(fc.constantFrom('get', 'set', 'delete'), fc.integer({ min: 0, max: 50 })), { maxLength: 300 }), (max, ops) => {
        const map = new BoundedMap<number, number>(max);
        const model = new Map<number, number>();
        for (const [op, key] of ops) {
          if (op === 'set') {
            map.set(key, key * 2);
            model.set(key, key * 2);
          } else if (op === 'get') {
            const value = map.get(key);
            // Whatever is still there holds the last value written.
            if (value !== undefined) expect(value).toBe(model.get(key));
          } else {
            map.delete(key);
            model.delete(key);
          }
          expect(map.size).toBeLessThanOrEqual(max);
        }
      }),
    );
  });
});
