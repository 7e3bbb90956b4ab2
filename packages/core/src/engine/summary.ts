/**
 * What learning concluded about one scope (an IP, a neighbourhood, a device, an account),
 * stored as one value so that a decision reads it in one operation. Learn recomputes it
 * from the windowed counters and distinct sets each time an outcome touches the scope;
 * the counters stay the source of truth.
 *
 * - `f`: failed logins (IP; account: failures on it from anywhere)
 * - `u`: accounts that failed there and did not then succeed there (IP, range, device)
 * - `p`: the IP's population: distinct accounts that succeeded there on a returning device
 * - `s`: accounts that signed up from the IP
 * - `n`: networks the account succeeded from while unfamiliar there
 *
 * `t` is when it was computed. Window counts (`f`, `u`, `s`, `n`) hold for one window
 * after it, the population for its own (longer) window: a scope with no new outcome
 * forgets like its counters do.
 */
export interface Summary {
  t: number;
  f?: number;
  u?: number;
  p?: number;
  s?: number;
  n?: number;
}

const FIELDS = ['f', 'u', 'p', 's', 'n'] as const;
const MAX_JSON = 512;
const NOTHING: Omit<Summary, 't'> = Object.freeze({});

/** A stored summary, parsed: its time and its valid fields (frozen; shared by every read of the value). */
interface Parsed {
  t: number;
  fields: Readonly<Omit<Summary, 't'>>;
  /** The fields but the population, for reads past the window but within the population's. */
  withoutCounts: Readonly<Omit<Summary, 't'>> | undefined;
}

// A decision reads the value the last outcome wrote, usually several times before the
// next outcome rewrites it: parsed once, keyed by the value itself (the string the
// store hands back, whose hash V8 keeps). Values this process writes are filed as they
// are made, so a decision after an outcome does not parse at all. Bounded: at the bound
// the cache starts over.
const MAX_PARSED = 1024;
let parsedValues = new Map<string, Parsed>();

function file(value: string, parsed: Parsed): void {
  if (parsedValues.size >= MAX_PARSED) parsedValues = new Map();
  parsedValues.set(value, parsed);
}

function parsedOf(t: number, fields: Omit<Summary, 't'>): Parsed {
  const withoutCounts = fields.p === undefined ? undefined : Object.freeze({ p: fields.p });
  return { t, fields: Object.freeze(fields), withoutCounts };
}

function parse(value: string): Parsed | undefined {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(value) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || typeof raw.t !== 'number' || !Number.isFinite(raw.t)) return undefined;
  const fields: Omit<Summary, 't'> = {};
  for (const field of FIELDS) {
    const v = raw[field];
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) fields[field] = v;
  }
  return parsedOf(raw.t, fields);
}

/**
 * The value to store for a summary (JSON, what {@link readSummary} reads), filed so that
 * reading it back in this process is no parse. Fields of 0 or less are left out.
 */
export function summaryValue(summary: Summary): string {
  let value = `{"t":${summary.t}`;
  const fields: Omit<Summary, 't'> = {};
  for (const field of FIELDS) {
    const v = summary[field];
    if (v !== undefined && v > 0 && Number.isFinite(v)) {
      value += `,"${field}":${v}`;
      fields[field] = v;
    }
  }
  value += '}';
  if (Number.isFinite(summary.t)) file(value, parsedOf(summary.t, fields));
  return value;
}

/**
 * The summary's fields still valid at `now` (`windowMs` for counts, `populationWindowMs`
 * for `p`); empty when absent or unreadable. Frozen, and shared between reads of one
 * value: read it, never change it.
 */
export function readSummary(value: unknown, now: number, windowMs: number, populationWindowMs: number): Omit<Summary, 't'> {
  if (typeof value !== 'string' || value.length > MAX_JSON) return NOTHING;
  let parsed = parsedValues.get(value);
  if (parsed === undefined) {
    parsed = parse(value);
    if (parsed === undefined) return NOTHING;
    file(value, parsed);
  }
  const age = now - parsed.t;
  const countsValid = age < windowMs;
  const populationValid = age < populationWindowMs;
  if (countsValid && (populationValid || parsed.fields.p === undefined)) return parsed.fields;
  if (!countsValid) return populationValid ? (parsed.withoutCounts ?? NOTHING) : NOTHING;
  // Counts valid, population expired (a population window shorter than the window).
  const { p: _expired, ...counts } = parsed.fields;
  return counts;
}
