// readCookie finds one cookie without parsing the whole header: a differential
// property against the full parse it replaced (the same header, the same value).
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { getHeader } from '../context/headers.js';
import { parseCookieHeader, readCookie } from './device-cookie.js';
it('readCookie agrees with parseCookieHeader on any header', () => {
  const part = fc.oneof(fc.constantFrom('vigil_did', 'sid', ' vigil_did', 'vigil_did ', '', '=', 'a'), fc.string({ maxLength: 6 }));
  fc.assert(fc.property(fc.array(fc.tuple(part, fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('"x"', '%41', '%zz', ''))), { maxLength: 6 }), fc.constantFrom('vigil_did', 'sid', 'a'), fc.boolean(), (pairs, name, array) => {
    const text = pairs.map(([k, v]) => `${k}=${v}`).join(array ? '; ' : ';');
    const header = array ? text.split('; ') : text;
    expect(readCookie({ method: 'GET', url: '/', path: '/', headers: { cookie: header } }, name)).toBe(parseCookieHeader(getHeader({ cookie: header }, 'Cookie'))[name]);
  }), { numRuns: 3000 });
});
