import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readSummary, type Summary, summaryValue } from './summary.js';

const W = 600_000;
const DAY = 86_400_000;

/** What a stored summary says at `now`, read the plain way: parse, keep valid non-negative numbers still in their window. */
function reference(value: unknown, now: number, windowMs: number, populationWindowMs: number): Record<string, number> {
  if (typeof value !== 'string' || value.length > 512) return {};
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(value);
  } catch {
    return {};
  }
  if (parsed === null || typeof parsed !== 'object' || typeof parsed.t !== 'number') return {};
  const out: Record<string, number> = {};
  for (const field of ['f', 'u', 'p', 's', 'n']) {
    const v = parsed[field];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0 && now - parsed.t < (field === 'p' ? populationWindowMs : windowMs)) out[field] = v;
  }
  return out;
}

const count = fc.oneof(fc.constant(undefined), fc.integer({ min: -3, max: 5000 }));
const summary = fc.record({ t: fc.integer({ min: 0, max: 2 * DAY }), f: count, u: count, p: count, s: count, n: count }).map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as unknown as Summary);
const windows = fc.tuple(fc.integer({ min: 1, max: 2 * DAY }), fc.integer({ min: 1, max: 3 * DAY }));

describe('summaries', () => {
  it('what is written reads back as the plain reading says, at any time, whatever the windows (cached or not)', () => {
    fc.assert(
      fc.property(summary, fc.integer({ min: 0, max: 4 * DAY }), windows, (s, now, [w, pw]) => {
        const value = summaryValue(s);
        expect(JSON.parse(value).t).toBe(s.t);
        const expected = reference(value, now, w, pw);
        // Twice: the first read may be the filed parse, the second certainly is.
        expect({ ...readSummary(value, now, w, pw) }).toEqual(expected);
        expect({ ...readSummary(value, now, w, pw) }).toEqual(expected);
        // The same text arriving as another string (from Redis) reads the same.
        expect({ ...readSummary(` ${value}`.slice(1), now, w, pw) }).toEqual(expected);
      }),
    );
  });

  it('any stored text reads as the plain reading says; nothing unreadable throws', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.json({ maxDepth: 2 }),
      fc.record({ t: fc.oneof(fc.integer(), fc.double(), fc.string()), p: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(null)) }).map((o) => JSON.stringify(o)),
    );
    fc.assert(
      fc.property(fc.oneof(text, fc.constant(null), fc.integer()), fc.integer({ min: 0, max: 4 * DAY }), (value, now) => {
        expect({ ...readSummary(value, now, W, DAY) }).toEqual(reference(value, now, W, DAY));
      }),
    );
  });

  it('a read is frozen: a rule cannot change what the next read of the value sees', () => {
    const value = summaryValue({ t: 1000, u: 3, p: 7 });
    const read = readSummary(value, 2000, W, DAY);
    expect(Object.isFrozen(read)).toBe(true);
    expect(read).toEqual({ u: 3, p: 7 });
  });
});
