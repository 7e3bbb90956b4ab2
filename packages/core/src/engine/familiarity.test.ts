import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFamiliar, MAX_FAMILIAR, parseFamiliarity, withVisit } from './familiarity.js';

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const MIN = 60_000;
const FOR = 90 * 24 * 60 * MIN;
const read = (value: string | undefined, now = T0) => parseFamiliarity(value, now, FOR);

describe('an account’s familiarity record', () => {
  it('a visit makes its network and its device familiar, each on its own', () => {
    const value = withVisit(read(undefined), '198.51.100.7', 'laptop', T0);
    const record = read(value);
    expect(isFamiliar(record, '198.51.100.7', undefined)).toBe(true);
    expect(isFamiliar(record, '203.0.113.9', 'laptop')).toBe(true);
    expect(isFamiliar(record, '203.0.113.9', 'phone')).toBe(false);
    expect(isFamiliar(record, undefined, undefined)).toBe(false);
  });

  it('needs no write when both were seen this minute; does for a new minute, network or device', () => {
    const record = read(withVisit(read(undefined), '198.51.100.7', 'laptop', T0));
    expect(withVisit(record, '198.51.100.7', 'laptop', T0 + 30_000)).toBeUndefined();
    expect(withVisit(record, '198.51.100.7', undefined, T0 + 30_000)).toBeUndefined();
    expect(withVisit(record, '198.51.100.7', 'laptop', T0 + MIN)).toBeDefined();
    expect(withVisit(record, '203.0.113.9', 'laptop', T0)).toBeDefined();
    expect(withVisit(record, '198.51.100.7', 'phone', T0)).toBeDefined();
  });

  it(`keeps the ${MAX_FAMILIAR} most recent of each list: the least recent makes room, never the one just seen`, () => {
    let record = read(undefined);
    for (let i = 0; i <= MAX_FAMILIAR + 3; i++) record = read(withVisit(record, `198.51.${i}.1`, `d${i}`, T0 + i * MIN), T0 + i * MIN);
    expect(record.n.size).toBe(MAX_FAMILIAR);
    expect(record.d.size).toBe(MAX_FAMILIAR);
    for (let i = 0; i < 4; i++) expect(record.d.has(`d${i}`)).toBe(false);
    // A network seen again is refreshed, so it outlives those seen after it once.
    record = read(withVisit(record, '198.51.4.1', undefined, T0 + 30 * MIN), T0 + 30 * MIN);
    record = read(withVisit(record, '198.51.99.1', undefined, T0 + 31 * MIN), T0 + 31 * MIN);
    expect(record.n.has('198.51.4.1')).toBe(true);
    expect(record.n.has('198.51.5.1')).toBe(false);
    expect(record.n.has('198.51.99.1')).toBe(true);
  });

  it('a record stored with more entries than the bound (a changed bound) is cut to the most recent', () => {
    const n = Array.from({ length: MAX_FAMILIAR + 10 }, (_, i) => [`10.0.0.${i}`, Math.floor(T0 / MIN) + i]);
    const value = withVisit(read(JSON.stringify({ n, d: [] })), '10.0.1.1', undefined, T0 + 60 * MIN);
    const record = read(value, T0 + 60 * MIN);
    expect(record.n.size).toBe(MAX_FAMILIAR);
    expect(record.n.has('10.0.1.1')).toBe(true);
    expect(record.n.has(`10.0.0.${MAX_FAMILIAR + 9}`)).toBe(true);
    expect(record.n.has('10.0.0.0')).toBe(false);
  });

  it('entries older than familiarForMs are not familiar', () => {
    const value = withVisit(read(undefined), '198.51.100.7', 'laptop', T0);
    expect(isFamiliar(read(value, T0 + FOR - MIN), '198.51.100.7', undefined)).toBe(true);
    expect(read(value, T0 + FOR + MIN)).toEqual({ n: new Map(), d: new Map() });
  });

  it('reads records stored in the older object form', () => {
    const at = Math.floor(T0 / MIN);
    const record = read(JSON.stringify({ n: { '198.51.100.7': at }, d: { laptop: at } }));
    expect(isFamiliar(record, '198.51.100.7', undefined)).toBe(true);
    expect(isFamiliar(record, undefined, 'laptop')).toBe(true);
  });

  it('an id that is a property name of objects (__proto__, constructor) is an entry like any other', () => {
    let record = read(undefined);
    expect(isFamiliar(record, 'constructor', 'toString')).toBe(false);
    record = read(withVisit(record, '__proto__', 'constructor', T0));
    expect(isFamiliar(record, '__proto__', undefined)).toBe(true);
    expect(isFamiliar(record, undefined, 'constructor')).toBe(true);
    expect(isFamiliar(record, 'hasOwnProperty', 'valueOf')).toBe(false);
  });

  it('anything unreadable is an empty record', () => {
    for (const bad of [undefined, 7, '', '{', 'null', '[]', '{"n":7,"d":"x"}', '{"n":[["a","b"],[1,2],"c"],"d":{"x":"y","z":null}}', 'x'.repeat(9_000)]) {
      const record = parseFamiliarity(bad, T0, FOR);
      expect(record.n.size + record.d.size).toBe(0);
    }
  });

  // The record withVisit files for the value it returns must be what parsing that value
  // gives: a stored value read back (the next decision) is served from that filing. A
  // leading space makes the same JSON another string, one nothing filed: a real parse.
  it('reading back a written value gives what a parse of it gives, whatever the sequence of visits', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const lists = (r: ReturnType<typeof read>) => ({ n: [...r.n], d: [...r.d] });
    for (let run = 0; run < 40; run++) {
      const forMs = [FOR, 30 * MIN, 5 * MIN][run % 3] as number;
      let now = T0;
      let record = parseFamiliarity(undefined, now, forMs);
      for (let step = 0; step < 60; step++) {
        now += rand(4) * 20_000 + (rand(10) === 0 ? forMs : 0);
        const network = rand(5) === 0 ? undefined : `198.51.${rand(24)}.1`;
        const device = rand(3) === 0 ? undefined : `d${rand(24)}`;
        const value = withVisit(record, network, device, now);
        if (value === undefined) continue;
        const later = now + rand(3) * 30_000;
        const served = parseFamiliarity(value, later, forMs);
        expect(lists(served)).toEqual(lists(parseFamiliarity(` ${value}`, later, forMs)));
        record = served;
      }
    }
  });
});

describe('familiarity records over any visits', () => {
  it('the stored value is the JSON of the lists, whatever the keys, and reads back as it was written', () => {
    const key = fc.oneof(fc.constantFrom('198.51.100.7', '2001:db8:1:2', 'laptop', 'a"b', 'back\\slash', 'new\nline', '', '__proto__', 'é☃'), fc.string({ maxLength: 12 }));
    const visit = fc.record({ network: fc.option(key, { nil: undefined }), device: fc.option(key, { nil: undefined }), minutes: fc.nat(90) });
    fc.assert(
      fc.property(fc.array(visit, { minLength: 1, maxLength: 40 }), (visits) => {
        let now = T0;
        let record = read(undefined, now);
        for (const v of visits) {
          now += v.minutes * MIN;
          const value = withVisit(read(JSON.stringify({ n: [...record.n], d: [...record.d] }), now), v.network, v.device, now);
          if (value === undefined) continue;
          const parsed = JSON.parse(value) as { n: [string, number][]; d: [string, number][] };
          // What JSON.stringify would have written for these lists.
          expect(value).toBe(JSON.stringify({ n: parsed.n, d: parsed.d }));
          // Read back (the parse filed by withVisit, or one of its own): the lists as parsed.
          const cached = read(value, now);
          expect(cached).toEqual({ n: new Map(parsed.n.filter(([, at]) => at >= Math.floor((now - FOR) / MIN))), d: new Map(parsed.d.filter(([, at]) => at >= Math.floor((now - FOR) / MIN))) });
          if (v.network !== undefined) expect(cached.n.get(v.network)).toBe(Math.floor(now / MIN));
          if (v.device !== undefined) expect(cached.d.get(v.device)).toBe(Math.floor(now / MIN));
          record = cached;
        }
      }),
      { numRuns: 150 },
    );
  });
});
