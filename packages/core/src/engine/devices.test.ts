import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { devicesWith, MAX_DEVICES_PER_USER, parseDevices } from './devices.js';

const T0 = Date.UTC(2026, 11, 1, 9, 0, 0);
const MIN = 60_000;
const UA = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0';
const visit = (id: string, at = T0, ip: string | undefined = '198.51.100.7', userAgent: string | undefined = UA) => ({ id, at, ip, userAgent });

/** The list after these visits, in order, from an empty value. */
function replay(visits: ReturnType<typeof visit>[]): string | undefined {
  let value: string | undefined;
  for (const v of visits) value = devicesWith(value, v) ?? value;
  return value;
}

describe('a user’s device list', () => {
  it('records a first device with when, where and which browser', () => {
    const value = devicesWith(undefined, visit('laptop'));
    expect(parseDevices(value)).toEqual([{ id: 'laptop', firstSeen: new Date(T0).toISOString(), lastSeen: new Date(T0).toISOString(), ips: ['198.51.100.7'], userAgent: UA }]);
  });

  it('puts a new device first, one line each, and keeps the others in their order', () => {
    const value = replay([visit('a'), visit('b', T0 + MIN), visit('c', T0 + 2 * MIN)]);
    expect(value?.split('\n')).toHaveLength(3);
    expect(parseDevices(value).map((d) => d.id)).toEqual(['c', 'b', 'a']);
  });

  it('moves a returning device to the front, with its first sighting kept and its new address first', () => {
    const value = replay([visit('a'), visit('b', T0 + MIN), visit('a', T0 + 2 * MIN, '203.0.113.9')]);
    const [first, second] = parseDevices(value);
    expect(first).toMatchObject({ id: 'a', firstSeen: new Date(T0).toISOString(), lastSeen: new Date(T0 + 2 * MIN).toISOString(), ips: ['203.0.113.9', '198.51.100.7'] });
    expect(second?.id).toBe('b');
  });

  it('needs no write when the device is first and nothing changed this minute; does when the address, the browser or the minute did', () => {
    const value = devicesWith(undefined, visit('a'));
    expect(devicesWith(value, visit('a', T0 + 30_000))).toBeUndefined();
    expect(devicesWith(value, visit('a', T0 + 30_000, undefined, undefined))).toBeUndefined();
    expect(devicesWith(value, visit('a', T0 + 30_000, '203.0.113.9'))).toBeDefined();
    expect(devicesWith(value, visit('a', T0 + 30_000, '198.51.100.7', 'curl/8.5.0'))).toBeDefined();
    expect(devicesWith(value, visit('a', T0 + MIN))).toBeDefined();
    // Second in the list: moved to the front, even within the minute.
    const two = devicesWith(value, visit('b'));
    expect(parseDevices(devicesWith(two, visit('a', T0 + 1_000))).map((d) => d.id)).toEqual(['a', 'b']);
  });

  it(`keeps the ${MAX_DEVICES_PER_USER} most recent devices, whichever way a device arrives`, () => {
    const visits = Array.from({ length: MAX_DEVICES_PER_USER + 5 }, (_, i) => visit(`d${i}`, T0 + i * MIN));
    const value = replay(visits);
    const ids = parseDevices(value).map((d) => d.id);
    expect(ids).toHaveLength(MAX_DEVICES_PER_USER);
    expect(ids[0]).toBe(`d${MAX_DEVICES_PER_USER + 4}`);
    expect(ids).not.toContain('d4');
    expect(value?.split('\n')).toHaveLength(MAX_DEVICES_PER_USER);
  });

  it('caps a device’s addresses at 5 and its browser string at 512 characters', () => {
    const value = replay(Array.from({ length: 8 }, (_, i) => visit('a', T0 + i * MIN, `198.51.100.${i}`, 'x'.repeat(2_000))));
    const [device] = parseDevices(value);
    expect(device?.ips).toEqual(['198.51.100.7', '198.51.100.6', '198.51.100.5', '198.51.100.4', '198.51.100.3']);
    expect(device?.userAgent).toHaveLength(512);
  });

  it('finds an id by its whole value: an id that is a prefix of another is a device of its own', () => {
    const value = replay([visit('abc'), visit('ab', T0 + MIN)]);
    expect(parseDevices(value).map((d) => d.id)).toEqual(['ab', 'abc']);
    expect(devicesWith(value, visit('ab', T0 + MIN + 1_000))).toBeUndefined();
  });

  it('an id with quotes or a line break cannot forge or split a line', () => {
    const evil = 'x","firstSeen":"1970-01-01T00:00:00.000Z","ips":[]}\n{"id":"victim';
    const value = replay([visit('victim'), visit(evil, T0 + MIN)]);
    expect(parseDevices(value).map((d) => d.id)).toEqual([evil, 'victim']);
    expect(parseDevices(value)[1]?.firstSeen).toBe(new Date(T0).toISOString());
  });

  it('reads a list stored in the older form (one JSON array) and rewrites it in lines', () => {
    const older = JSON.stringify([
      { id: 'phone', firstSeen: new Date(T0).toISOString(), lastSeen: new Date(T0).toISOString(), ips: ['198.51.100.7'] },
      { id: 'laptop', firstSeen: new Date(T0).toISOString(), lastSeen: new Date(T0).toISOString(), ips: [] },
    ]);
    expect(parseDevices(older).map((d) => d.id)).toEqual(['phone', 'laptop']);
    const withNew = devicesWith(older, visit('tablet', T0 + MIN));
    expect(parseDevices(withNew).map((d) => d.id)).toEqual(['tablet', 'phone', 'laptop']);
    expect(withNew?.split('\n')).toHaveLength(3);
    expect(parseDevices(devicesWith(older, visit('laptop', T0 + MIN))).map((d) => d.id)).toEqual(['laptop', 'phone']);
  });

  it('leaves out what does not read: a broken line, a value that is not a list, an oversized value', () => {
    const value = replay([visit('a'), visit('b', T0 + MIN)]);
    expect(parseDevices(`${value}\n{not json\n42\n{"id":"no-dates"}`).map((d) => d.id)).toEqual(['b', 'a']);
    for (const bad of [undefined, null, 7, '', 'garbage', '{"id":1}', 'x'.repeat(70_000)]) expect(parseDevices(bad as never)).toEqual([]);
    // A broken stored value never stops the visit from being recorded.
    expect(parseDevices(devicesWith('{broken', visit('a'))).map((d) => d.id)).toEqual(['a']);
    expect(parseDevices(devicesWith(`{"id":"a",broken`, visit('a'))).map((d) => d.id)).toEqual(['a']);
  });
});

describe('devicesWith over any sequence of visits', () => {
  it('the visited device is first with this visit, nothing is lost or doubled, the list stays bounded', () => {
    const step = fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', ...Array.from({ length: 25 }, (_, i) => `x${i}`)), minutes: fc.nat(3), ip: fc.option(fc.constantFrom('198.51.100.7', '203.0.113.9', '2001:db8::1'), { nil: undefined }), ua: fc.option(fc.constantFrom(UA, 'curl/8'), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        let value: string | undefined;
        let at = T0;
        const seen: string[] = [];
        for (const { id, minutes, ip, ua } of steps) {
          at += minutes * MIN;
          const next = devicesWith(value, visit(id, at, ip, ua));
          value = next ?? value;
          const devices = parseDevices(value);
          const first = devices[0];
          expect(first?.id).toBe(id);
          expect(first?.lastSeen.slice(0, 16)).toBe(new Date(at).toISOString().slice(0, 16));
          if (ip !== undefined) expect(first?.ips[0]).toBe(ip);
          if (ua !== undefined) expect(first?.userAgent).toBe(ua);
          expect(new Set(devices.map((d) => d.id)).size).toBe(devices.length);
          expect(devices.length).toBeLessThanOrEqual(MAX_DEVICES_PER_USER);
          seen.splice(seen.indexOf(id) >>> 0, seen.includes(id) ? 1 : 0);
          seen.unshift(id);
          // The most recent devices, most recent first.
          expect(devices.map((d) => d.id)).toEqual(seen.slice(0, MAX_DEVICES_PER_USER));
        }
      }),
      { numRuns: 150 },
    );
  });
});
