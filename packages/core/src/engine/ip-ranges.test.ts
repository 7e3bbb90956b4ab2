import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { IpRangeSet } from './ip-ranges.js';
import { thrown as configError } from '../test-support/thrown.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-ip-ranges-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let fileCount = 0;
function file(text: string): string {
  const path = join(dir, `ranges-${fileCount++}.txt`);
  writeFileSync(path, text);
  return path;
}

describe('IpRangeSet.from: IPv4', () => {
  const set = IpRangeSet.from(['10.0.0.0/8', '203.0.113.7', '198.51.100.0/24'], 'denyIps');

  it.each(['10.0.0.0', '10.1.2.3', '10.255.255.255', '203.0.113.7', '198.51.100.0', '198.51.100.255'])('contains %s', (ip) => {
    expect(set.has(ip)).toBe(true);
  });

  it.each(['9.255.255.255', '11.0.0.0', '203.0.113.6', '203.0.113.8', '198.51.99.255', '198.51.101.0', '0.0.0.0', '255.255.255.255'])('does not contain %s', (ip) => {
    expect(set.has(ip)).toBe(false);
  });

  it('reads the address forms clients and proxies write', () => {
    expect(set.has('10.1.2.3:8080')).toBe(true);
    expect(set.has('::ffff:10.1.2.3')).toBe(true);
    expect(set.has('[::ffff:203.0.113.7]:443')).toBe(true);
  });

  it('answers false for undefined, garbage and non-canonical IPv4 forms', () => {
    expect(set.has(undefined)).toBe(false);
    expect(set.has('')).toBe(false);
    expect(set.has('not-an-ip')).toBe(false);
    expect(set.has('10.1')).toBe(false);
    expect(set.has('010.1.2.3')).toBe(false);
  });

  it('keeps IPv4 and IPv6 apart', () => {
    expect(set.has('::a00:1')).toBe(false); // ::10.0.0.1 is not IPv4-mapped
    expect(IpRangeSet.from(['::/0'], 'x').has('10.0.0.1')).toBe(false);
    expect(IpRangeSet.from(['0.0.0.0/0'], 'x').has('2001:db8::1')).toBe(false);
  });

  it('handles /0 and /32 and the ends of the address space', () => {
    const all = IpRangeSet.from(['0.0.0.0/0'], 'x');
    expect(all.has('0.0.0.0')).toBe(true);
    expect(all.has('255.255.255.255')).toBe(true);
    const ends = IpRangeSet.from(['0.0.0.0/32', '255.255.255.255/32'], 'x');
    expect(ends.has('0.0.0.0')).toBe(true);
    expect(ends.has('255.255.255.255')).toBe(true);
    expect(ends.has('0.0.0.1')).toBe(false);
    expect(ends.has('255.255.255.254')).toBe(false);
  });

  it('masks the host bits of a CIDR written from inside the range', () => {
    const set = IpRangeSet.from(['10.1.2.3/8'], 'x');
    expect(set.has('10.0.0.0')).toBe(true);
    expect(set.has('10.255.255.255')).toBe(true);
    expect(set.has('11.0.0.0')).toBe(false);
  });

  it('accepts surrounding whitespace', () => {
    expect(IpRangeSet.from([' 10.0.0.0/8 '], 'x').has('10.9.9.9')).toBe(true);
  });

  it('an empty list contains nothing', () => {
    const empty = IpRangeSet.from([], 'x');
    expect(empty.size).toBe(0);
    expect(empty.has('10.0.0.1')).toBe(false);
    expect(empty.has('2001:db8::1')).toBe(false);
  });
});

describe('IpRangeSet.from: IPv6', () => {
  const set = IpRangeSet.from(['2001:db8::/32', '2001:db8:ffff::/48', '2a00:1450:4001:81c::200e', 'fe80::/10'], 'denyIps');

  it.each(['2001:db8::', '2001:db8::1', '2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '2001:DB8:0:0:0:0:0:1', '2a00:1450:4001:81c::200e', '[2001:db8::1]:443', 'fe80::1', 'febf:ffff::1'])(
    'contains %s',
    (ip) => {
      expect(set.has(ip)).toBe(true);
    },
  );

  it.each(['2001:db7:ffff:ffff:ffff:ffff:ffff:ffff', '2001:db9::', '2a00:1450:4001:81c::200f', '2a00:1450:4001:81c::200d', 'fec0::1', '::1'])('does not contain %s', (ip) => {
    expect(set.has(ip)).toBe(false);
  });

  it('handles ::/0, /128 and the ends of the address space', () => {
    expect(IpRangeSet.from(['::/0'], 'x').has('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(IpRangeSet.from(['::/0'], 'x').has('::')).toBe(true);
    const ends = IpRangeSet.from(['::/128', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128'], 'x');
    expect(ends.has('::')).toBe(true);
    expect(ends.has('::1')).toBe(false);
    expect(ends.has('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(ends.has('ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe')).toBe(false);
  });

  it('masks host bits and ignores a zone index', () => {
    const s = IpRangeSet.from(['2001:db8:1:2::99/64'], 'x');
    expect(s.has('2001:db8:1:2:ffff::')).toBe(true);
    expect(s.has('2001:db8:1:3::')).toBe(false);
    expect(IpRangeSet.from(['fe80::/64'], 'x').has('fe80::1%eth0')).toBe(true);
  });
});

describe('IpRangeSet: merging', () => {
  it('merges overlapping ranges', () => {
    expect(IpRangeSet.from(['10.0.0.0/8', '10.1.0.0/16', '10.1.2.3'], 'x').size).toBe(1);
    expect(IpRangeSet.from(['2001:db8::/32', '2001:db8:1::/48'], 'x').size).toBe(1);
  });

  it('merges duplicates', () => {
    expect(IpRangeSet.from(['10.0.0.1', '10.0.0.1', '10.0.0.1/32'], 'x').size).toBe(1);
  });

  it('merges adjacent ranges (end + 1 = start), in any order', () => {
    const s = IpRangeSet.from(['10.0.0.128/25', '10.0.0.0/25'], 'x');
    expect(s.size).toBe(1);
    expect(s.has('10.0.0.127')).toBe(true);
    expect(s.has('10.0.0.128')).toBe(true);
    expect(IpRangeSet.from(['10.0.0.2', '10.0.0.1', '10.0.0.3'], 'x').size).toBe(1);
    expect(IpRangeSet.from(['2001:db8:8000::/33', '2001:db8::/33'], 'x').size).toBe(1);
    expect(IpRangeSet.from(['::1', '::2'], 'x').size).toBe(1);
  });

  it('keeps ranges with a gap apart and the gap outside', () => {
    const s = IpRangeSet.from(['10.0.0.1', '10.0.0.3'], 'x');
    expect(s.size).toBe(2);
    expect(s.has('10.0.0.2')).toBe(false);
    const v6 = IpRangeSet.from(['::1', '::3'], 'x');
    expect(v6.size).toBe(2);
    expect(v6.has('::2')).toBe(false);
  });

  it('a range swallowed by an earlier, larger one does not shrink it', () => {
    const s = IpRangeSet.from(['10.0.0.0/8', '10.0.0.0/24', '10.200.0.0/16'], 'x');
    expect(s.size).toBe(1);
    expect(s.has('10.255.255.255')).toBe(true);
  });

  it('counts IPv4 and IPv6 intervals together', () => {
    expect(IpRangeSet.from(['10.0.0.0/8', '2001:db8::/32'], 'x').size).toBe(2);
  });
});

describe('IpRangeSet: binary search', () => {
  // 1000 disjoint /24s: 10.0.0.0/24, 10.0.2.0/24, 10.0.4.0/24, ... (every other one).
  const entries = Array.from({ length: 1000 }, (_, i) => `10.${(i * 2) >> 8}.${(i * 2) & 255}.0/24`);
  const set = IpRangeSet.from([...entries].reverse(), 'x');
  const ip = (block: number, host: number) => `10.${block >> 8}.${block & 255}.${host}`;

  it('keeps them as 1000 intervals', () => {
    expect(set.size).toBe(1000);
  });

  it('finds the first, last and middle intervals at their edges', () => {
    for (const block of [0, 2, 998, 1000, 1996, 1998]) {
      expect(set.has(ip(block, 0)), ip(block, 0)).toBe(true);
      expect(set.has(ip(block, 255)), ip(block, 255)).toBe(true);
    }
  });

  it('misses every gap, and before the first and after the last', () => {
    for (const block of [1, 3, 999, 1997, 1999, 2000]) {
      expect(set.has(ip(block, 0)), ip(block, 0)).toBe(false);
      expect(set.has(ip(block, 255)), ip(block, 255)).toBe(false);
    }
    expect(set.has('9.255.255.255')).toBe(false);
    expect(set.has('255.255.255.255')).toBe(false);
  });

  it('agrees with a linear scan on random IPv4 sets (property)', () => {
    // Small address space (10.0.0.0/24) so that ranges overlap, touch and leave gaps.
    const cidr = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 24, max: 32 }));
    fc.assert(
      fc.property(fc.array(cidr, { maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 40 }), (cidrs, probes) => {
        const s = IpRangeSet.from(
          cidrs.map(([host, bits]) => `10.0.0.${host}/${bits}`),
          'x',
        );
        const naive = (host: number) =>
          cidrs.some(([base, bits]) => {
            const size = 2 ** (32 - bits);
            const start = Math.floor(base / size) * size;
            return host >= start && host < start + size;
          });
        for (const host of probes) expect(s.has(`10.0.0.${host}`)).toBe(naive(host));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with a linear scan on random IPv6 sets (property)', () => {
    const cidr = fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 112, max: 128 }));
    fc.assert(
      fc.property(fc.array(cidr, { maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 1, maxLength: 40 }), (cidrs, probes) => {
        const s = IpRangeSet.from(
          cidrs.map(([host, bits]) => `2001:db8::${host.toString(16)}/${bits}`),
          'x',
        );
        const naive = (host: number) =>
          cidrs.some(([base, bits]) => {
            const size = 2 ** (128 - bits);
            const start = Math.floor(base / size) * size;
            return host >= start && host < start + size;
          });
        for (const host of probes) expect(s.has(`2001:db8::${host.toString(16)}`)).toBe(naive(host));
      }),
      { numRuns: 300 },
    );
  });
});

describe('IpRangeSet.from: bad entries', () => {
  it.each([
    ['10.0.0.0/33'],
    ['10.0.0.0/-1'],
    ['10.0.0.0/'],
    ['10.0.0.0/8/8'],
    ['10.0.0.0/x'],
    ['10.0.0.0/1234'],
    ['2001:db8::/129'],
    ['not-an-ip'],
    ['10.0.0.*'],
    ['127.1'],
    ['10.0.0.0 /8'],
    [''],
    [42],
    [null],
    [undefined],
    [{}],
    [/10\.0\.0\./],
  ] as [unknown][])('%j → VigilConfigError naming option[index]', (bad) => {
    const error = configError(() => IpRangeSet.from(['10.0.0.0/8', '2001:db8::/32', bad], 'denyIps'));
    expect(error.code).toBe('VIGIL_E_OPTION_VALUE');
    expect(error.option).toBe('denyIps[2]');
    expect(error.message).toContain('denyIps[2]');
    expect(error.message).toMatch(/not an IP address or a CIDR range/);
  });

  it('names the first bad index', () => {
    expect(configError(() => IpRangeSet.from(['x', 'y'], 'allowIps')).option).toBe('allowIps[0]');
  });

  it('a non-array → VIGIL_E_OPTION_TYPE naming the option', () => {
    const error = configError(() => IpRangeSet.from('10.0.0.0/8' as unknown as string[], 'allowIps'));
    expect(error.code).toBe('VIGIL_E_OPTION_TYPE');
    expect(error.option).toBe('allowIps');
    expect(error.message).toMatch(/not an array/);
  });
});

describe('IpRangeSet.fromFile', () => {
  it('reads one IP or CIDR per line, skipping blank lines and comments; CRLF or LF', () => {
    const path = file(
      ['# data-center ranges', '', '10.0.0.0/8', '  192.0.2.0/24   # inline comment', '2001:db8::/32', '\t', '203.0.113.7', '# 198.51.100.0/24 commented out'].join('\r\n'),
    );
    const set = IpRangeSet.fromFile(path, 'datacenterRangesFile');
    expect(set.size).toBe(4);
    expect(set.has('10.20.30.40')).toBe(true);
    expect(set.has('192.0.2.200')).toBe(true);
    expect(set.has('2001:db8:abcd::1')).toBe(true);
    expect(set.has('203.0.113.7')).toBe(true);
    expect(set.has('198.51.100.1')).toBe(false);
    expect(IpRangeSet.fromFile(file('10.0.0.0/8\n11.0.0.0/8\n'), 'x').size).toBe(1);
  });

  it('an empty file or one with comments only contains nothing', () => {
    expect(IpRangeSet.fromFile(file(''), 'x').size).toBe(0);
    expect(IpRangeSet.fromFile(file('# nothing\n\n'), 'x').has('10.0.0.1')).toBe(false);
  });

  it('a bad line → VigilConfigError naming the option, file and line', () => {
    const path = file('10.0.0.0/8\n# comment\n10.0.0.0/33\n');
    const error = configError(() => IpRangeSet.fromFile(path, 'datacenterRangesFile'));
    expect(error.code).toBe('VIGIL_E_OPTION_VALUE');
    expect(error.option).toBe(`datacenterRangesFile (${path}:3)`);
    expect(error.message).toContain(`${path}:3`);
    expect(error.message).toContain('"10.0.0.0/33"');
  });

  it('counts lines across CRLF files too', () => {
    const path = file('10.0.0.0/8\r\n\r\nbogus\r\n');
    expect(configError(() => IpRangeSet.fromFile(path, 'proxyRangesFile')).option).toBe(`proxyRangesFile (${path}:3)`);
  });

  it('a missing file → VigilConfigError naming the option, the path and the cause', () => {
    const path = join(dir, 'does-not-exist.txt');
    const error = configError(() => IpRangeSet.fromFile(path, 'proxyRangesFile'));
    expect(error.code).toBe('VIGIL_E_OPTION_VALUE');
    expect(error.option).toBe('proxyRangesFile');
    expect(error.message).toContain(path);
    expect(error.message).toContain('ENOENT');
  });

  it('loads a large list once and answers membership', () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`);
    const set = IpRangeSet.fromFile(file(lines.join('\n')), 'x');
    expect(set.size).toBe(1); // 20 000 consecutive /24s merge into one interval
    expect(set.has('100.0.0.1')).toBe(true);
    expect(set.has(`100.${(19_999 >> 8) & 255}.${19_999 & 255}.255`)).toBe(true);
    expect(set.has(`100.${(20_000 >> 8) & 255}.${20_000 & 255}.0`)).toBe(false);
  });
});
