import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdentifierHasher, ipCountingKey, normalizeIdentifier } from './identifiers.js';

const SECRET = 'a-long-shared-secret-0123456789';

describe('IdentifierHasher', () => {
  it('same secret, same value → same hash (instances of a fleet agree)', () => {
    const a = new IdentifierHasher(SECRET);
    const b = new IdentifierHasher(SECRET);
    expect(a.hash('email', 'alice@example.com')).toBe(b.hash('email', 'alice@example.com'));
  });

  it('different secrets → different hashes (a leaked store cannot be matched against a list without the secret)', () => {
    const a = new IdentifierHasher(SECRET);
    const b = new IdentifierHasher(`${SECRET}!`);
    expect(a.hash('email', 'alice@example.com')).not.toBe(b.hash('email', 'alice@example.com'));
  });

  it('a random secret per instance when none is given', () => {
    expect(new IdentifierHasher().hash('email', 'alice@example.com')).not.toBe(new IdentifierHasher().hash('email', 'alice@example.com'));
  });

  it('different values and different kinds → different hashes', () => {
    const h = new IdentifierHasher(SECRET);
    expect(h.hash('email', 'alice@example.com')).not.toBe(h.hash('email', 'bob@example.com'));
    expect(h.hash('email', 'alice')).not.toBe(h.hash('username', 'alice'));
    // The kind and the value are separated: moving characters across does not collide.
    expect(h.hash('email', 'x')).not.toBe(h.hash('emai', 'lx'));
  });

  it('is a 128-bit base64url string (22 characters)', () => {
    const hash = new IdentifierHasher(SECRET).hash('email', 'alice@example.com');
    expect(hash).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('is an HMAC-SHA-256 of kind, NUL, value, truncated', async () => {
    const { createHmac } = await import('node:crypto');
    const expected = createHmac('sha256', SECRET).update('email\0alice@example.com').digest().subarray(0, 16).toString('base64url');
    expect(new IdentifierHasher(SECRET).hash('email', 'alice@example.com')).toBe(expected);
  });

  it('never contains the raw value, and is deterministic and collision-free on samples', () => {
    const h = new IdentifierHasher(SECRET);
    fc.assert(
      fc.property(fc.emailAddress(), fc.emailAddress(), (x, y) => {
        const hx = h.hash('email', x);
        expect(hx).not.toContain(x);
        expect(h.hash('email', x)).toBe(hx);
        if (x !== y) expect(h.hash('email', y)).not.toBe(hx);
      }),
      { numRuns: 300 },
    );
  });
});

describe('normalizeIdentifier', () => {
  it.each([
    ['Alice@Example.COM', 'alice@example.com'],
    ['  alice@example.com\t', 'alice@example.com'],
    ['ALICE', 'alice'],
    ['', ''],
  ])('%j → %j', (input, output) => {
    expect(normalizeIdentifier(input)).toBe(output);
  });
});

describe('ipCountingKey', () => {
  it('keeps IPv4 as is', () => {
    expect(ipCountingKey('203.0.113.7')).toBe('203.0.113.7');
    expect(ipCountingKey('203.0.113.8')).toBe('203.0.113.8');
  });

  it('maps IPv4-mapped IPv6 and ports to the IPv4 address', () => {
    expect(ipCountingKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(ipCountingKey('203.0.113.7:4711')).toBe('203.0.113.7');
  });

  it('counts IPv6 per /64: one subscriber cannot appear as many clients', () => {
    const key = ipCountingKey('2001:db8:1:2::1');
    expect(key).toBe('2001:db8:1:2::/64');
    expect(ipCountingKey('2001:db8:1:2::2')).toBe(key);
    expect(ipCountingKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(key);
    expect(ipCountingKey('2001:0db8:0001:0002:0000:0000:0000:0001')).toBe(key);
    expect(ipCountingKey('[2001:db8:1:2::99]:443')).toBe(key);
    expect(ipCountingKey('2001:DB8:1:2::abcd')).toBe(key);
  });

  it('separates different /64s', () => {
    expect(ipCountingKey('2001:db8:1:3::1')).not.toBe(ipCountingKey('2001:db8:1:2::1'));
    expect(ipCountingKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(ipCountingKey('2001:db9:1:2::1')).not.toBe(ipCountingKey('2001:db8:1:2::1'));
    expect(ipCountingKey('::1')).toBe('0:0:0:0::/64');
  });

  it('every address of a random /64 shares its key', () => {
    const hex = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
    fc.assert(
      fc.property(fc.tuple(hex, hex, hex, hex), fc.tuple(hex, hex, hex, hex), fc.tuple(hex, hex, hex, hex), (prefix, a, b) => {
        const p = prefix.join(':');
        expect(ipCountingKey(`${p}:${a.join(':')}`)).toBe(ipCountingKey(`${p}:${b.join(':')}`));
      }),
      { numRuns: 200 },
    );
  });

  it('returns an unparseable value unchanged', () => {
    expect(ipCountingKey('not-an-ip')).toBe('not-an-ip');
  });
});
