/**
 * An account's familiarity record: the networks (IP counting keys) and devices where it
 * logged in successfully or signed up, each with when (minutes since the epoch). One
 * value per account, so a decision reads it in one operation. Entries older than
 * `familiarForMs` are ignored and pruned on the next write; each list keeps its most
 * recent {@link MAX_FAMILIAR} entries.
 */
import { BoundedMap } from '../stores/bounded-map.js';

export interface Familiarity {
  /** Networks: counting key → minute last seen. */
  n: ReadonlyMap<string, number>;
  /** Devices: device id → minute last seen. */
  d: ReadonlyMap<string, number>;
}

/** Most networks, and most devices, one account's record keeps. */
export const MAX_FAMILIAR = 16;
const MAX_JSON = 8192;

const minute = (ms: number) => Math.floor(ms / 60_000);

const seenAt = (at: unknown, oldest: number): at is number => typeof at === 'number' && Number.isFinite(at) && at >= oldest;

/**
 * One list of a stored record: `[[key, minute], ...]`, or the object form records had
 * before (`{ key: minute }`), read the same. A Map, not an object: random ids as
 * property names cost V8 a dictionary object and a string-table entry each.
 */
function entries(value: unknown, oldest: number): Map<string, number> {
  const out = new Map<string, number>();
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (Array.isArray(entry) && typeof entry[0] === 'string' && seenAt(entry[1], oldest)) out.set(entry[0], entry[1]);
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, at] of Object.entries(value as Record<string, unknown>)) if (seenAt(at, oldest)) out.set(key, at);
  }
  return out;
}

/**
 * A record as read: its lists, and (private) the cut-off minute it was read at, for
 * withVisit to file the record it writes under the same one: the next read of the value
 * it returns (the outcome's write, read back by the next decision) is then no parse at
 * all. A private field, not a WeakMap from record to minute: an entry per outcome costs.
 */
class ReadRecord implements Familiarity {
  readonly n: ReadonlyMap<string, number>;
  readonly d: ReadonlyMap<string, number>;
  readonly #oldest: number;
  constructor(n: ReadonlyMap<string, number>, d: ReadonlyMap<string, number>, oldest: number) {
    this.n = n;
    this.d = d;
    this.#oldest = oldest;
  }
  static oldestOf(record: Familiarity): number | undefined {
    return record instanceof ReadRecord ? record.#oldest : undefined;
  }
}

// A decision and the outcome of the same request read the same value: parsed once. The
// records handed out are never changed (withVisit builds a new value). Keyed by the
// value itself (the string the store handed out, whose hash V8 keeps), with the cut-off
// minute it was read at: a key built from both would be a new string to hash each time.
const parsedRecords = new BoundedMap<string, { oldest: number; record: Familiarity }>(256);
let empty: { oldest: number; record: Familiarity } = { oldest: Number.NaN, record: { n: new Map(), d: new Map() } };

/** Reads a stored record; anything unreadable, absent or expired is an empty one. */
export function parseFamiliarity(value: unknown, now: number, familiarForMs: number): Familiarity {
  const oldest = minute(now - familiarForMs);
  if (typeof value !== 'string' || value.length > MAX_JSON) {
    // No record (every first visit): one empty record per cut-off minute, never changed.
    if (empty.oldest !== oldest) empty = { oldest, record: new ReadRecord(new Map(), new Map(), oldest) };
    return empty.record;
  }
  const known = parsedRecords.get(value);
  if (known !== undefined && known.oldest === oldest) return known.record;
  const record = parseRecord(value, oldest);
  parsedRecords.set(value, { oldest, record });
  return record;
}

function parseRecord(value: string, oldest: number): Familiarity {
  let parsed: { n?: unknown; d?: unknown };
  try {
    parsed = JSON.parse(value) as typeof parsed;
  } catch {
    return new ReadRecord(new Map(), new Map(), oldest);
  }
  return new ReadRecord(entries(parsed?.n, oldest), entries(parsed?.d, oldest), oldest);
}

/** Whether the record knows this network or this device. */
export function isFamiliar(record: Familiarity, network: string | undefined, device: string | undefined): boolean {
  return (network !== undefined && record.n.has(network)) || (device !== undefined && record.d.has(device));
}

/** The list with `key` seen at `at`, as stored pairs, keeping the {@link MAX_FAMILIAR} most recent (the oldest entries make room). */
function visited(list: ReadonlyMap<string, number>, key: string | undefined, at: number): [string, number][] {
  const out: [string, number][] = [];
  for (const entry of list) if (entry[0] !== key) out.push(entry);
  if (key !== undefined) out.push([key, at]);
  if (out.length <= MAX_FAMILIAR) return out;
  if (out.length === MAX_FAMILIAR + 1) {
    // The usual case, one over: the least recent goes (the earliest of them on a tie; never the one just seen, last).
    let oldest = 0;
    for (let i = 1; i < out.length - 1; i++) if ((out[i] as [string, number])[1] < (out[oldest] as [string, number])[1]) oldest = i;
    out.splice(oldest, 1);
    return out;
  }
  // The most recent first, the one just seen before any other of its minute.
  return out
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => b.entry[1] - a.entry[1] || b.i - a.i)
    .slice(0, MAX_FAMILIAR)
    .map(({ entry }) => entry);
}

/**
 * The record with this network and device added (or refreshed), as the value to store;
 * `undefined` when the record already says so (both seen this minute): nothing to write.
 */
export function withVisit(record: Familiarity, network: string | undefined, device: string | undefined, now: number): string | undefined {
  const at = minute(now);
  if ((network === undefined || record.n.get(network) === at) && (device === undefined || record.d.get(device) === at)) return undefined;
  const n = visited(record.n, network, at);
  const d = visited(record.d, device, at);
  const value = JSON.stringify({ n, d });
  // Every entry kept was at or after the cut-off the record was read at, and the visit
  // is now: parsing `value` at that cut-off gives exactly these lists, so file them.
  const oldest = ReadRecord.oldestOf(record);
  if (oldest !== undefined && value.length <= MAX_JSON) parsedRecords.set(value, { oldest, record: new ReadRecord(new Map(n), new Map(d), oldest) });
  return value;
}
