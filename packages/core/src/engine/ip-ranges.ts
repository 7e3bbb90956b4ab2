import { readFileSync } from 'node:fs';
import { parseAddress, type ParsedIp } from '../context/ip.js';
import { VigilConfigError } from '../errors.js';

function v6ToBigInt(parts: number[]): bigint {
  let value = 0n;
  for (const part of parts) value = (value << 16n) | BigInt(part);
  return value;
}

/** Merges sorted-by-start intervals in place. */
function merge<T extends number | bigint>(intervals: [T, T][]): [T, T][] {
  intervals.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [T, T][] = [];
  for (const interval of intervals) {
    const last = out[out.length - 1];
    const adjacent = last ? ((typeof last[1] === 'bigint' ? (last[1] as bigint) + 1n : (last[1] as number) + 1) as T) : undefined;
    if (last && adjacent !== undefined && interval[0] <= adjacent) {
      if (interval[1] > last[1]) last[1] = interval[1];
    } else {
      out.push([interval[0], interval[1]]);
    }
  }
  return out;
}

function contains<T extends number | bigint>(intervals: [T, T][], value: T): boolean {
  let low = 0;
  let high = intervals.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const [start, end] = intervals[mid] as [T, T];
    if (value < start) high = mid - 1;
    else if (value > end) low = mid + 1;
    else return true;
  }
  return false;
}

/**
 * A set of IP addresses and CIDR ranges, IPv4 and IPv6, answering membership in
 * O(log n): ranges are merged into sorted intervals once, at start-up. Lists of tens of
 * thousands of data-center ranges cost microseconds per lookup.
 *
 * @example
 * const set = IpRangeSet.from(['10.0.0.0/8', '2001:db8::/32', '203.0.113.7'], 'denyIps')
 * set.has('10.1.2.3') // true
 */
export class IpRangeSet {
  readonly #v4: [number, number][];
  readonly #v6: [bigint, bigint][];

  private constructor(v4: [number, number][], v6: [bigint, bigint][]) {
    this.#v4 = merge(v4);
    this.#v6 = merge(v6);
  }

  /** Number of merged intervals (IPv4 + IPv6). */
  get size(): number {
    return this.#v4.length + this.#v6.length;
  }

  /**
   * Builds a set from IPs and CIDRs. A bad entry throws a {@link VigilConfigError}
   * naming `option[index]`.
   */
  static from(entries: readonly unknown[], option: string): IpRangeSet {
    if (!Array.isArray(entries)) {
      throw new VigilConfigError('VIGIL_E_OPTION_TYPE', option, entries, 'which is not an array', `Pass an array of IPs and CIDR ranges, e.g. ${option}: ['203.0.113.0/24'].`);
    }
    const v4: [number, number][] = [];
    const v6: [bigint, bigint][] = [];
    entries.forEach((entry, i) => {
      const at = `${option}[${i}]`;
      if (!IpRangeSet.#add(entry, v4, v6)) {
        throw new VigilConfigError('VIGIL_E_OPTION_VALUE', at, entry, 'which is not an IP address or a CIDR range', 'Use e.g. "203.0.113.7", "203.0.113.0/24" or "2001:db8::/32".');
      }
    });
    return new IpRangeSet(v4, v6);
  }

  /**
   * Loads ranges from a text file: one IP or CIDR per line; blank lines and `#`
   * comments are skipped. A missing file or a bad line throws a {@link VigilConfigError}
   * naming the option, the file and the line.
   */
  static fromFile(path: string, option: string): IpRangeSet {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new VigilConfigError('VIGIL_E_OPTION_VALUE', option, path, `which cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'Point it at a readable text file with one IP or CIDR per line.');
    }
    const v4: [number, number][] = [];
    const v6: [bigint, bigint][] = [];
    const lines = text.split(/\r?\n/);
    lines.forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') return;
      if (!IpRangeSet.#add(line, v4, v6)) {
        throw new VigilConfigError('VIGIL_E_OPTION_VALUE', `${option} (${path}:${i + 1})`, line, 'which is not an IP address or a CIDR range', 'Each line must hold one IP or CIDR, e.g. "203.0.113.0/24"; comments start with #.');
      }
    });
    return new IpRangeSet(v4, v6);
  }

  static #add(entry: unknown, v4: [number, number][], v6: [bigint, bigint][]): boolean {
    if (typeof entry !== 'string') return false;
    const [base, bitsText, extra] = entry.trim().split('/');
    if (base === undefined || extra !== undefined) return false;
    const addr = parseAddress(base);
    if (!addr) return false;
    const max = addr.v4 !== undefined ? 32 : 128;
    const bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : -1;
    if (bits < 0 || bits > max) return false;
    if (addr.v4 !== undefined) {
      const size = 2 ** (32 - bits);
      const start = Math.floor(addr.v4 / size) * size;
      v4.push([start, start + size - 1]);
    } else {
      const value = v6ToBigInt(addr.v6.parts);
      const hostBits = BigInt(128 - bits);
      const start = (value >> hostBits) << hostBits;
      v6.push([start, start + (1n << hostBits) - 1n]);
    }
    return true;
  }

  /** True when the address (any form `canonicalizeIp` reads) is in the set. */
  has(ip: string | ParsedIp | undefined): boolean {
    if (ip === undefined) return false;
    const addr = typeof ip === 'string' ? parseAddress(ip) : ip;
    if (!addr) return false;
    if (addr.v4 !== undefined) return this.#v4.length > 0 && contains(this.#v4, addr.v4);
    return this.#v6.length > 0 && contains(this.#v6, v6ToBigInt(addr.v6.parts));
  }
}
