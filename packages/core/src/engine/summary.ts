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

/** The summary's fields still valid at `now` (`windowMs` for counts, `populationWindowMs` for `p`); empty when absent or unreadable. */
export function readSummary(value: unknown, now: number, windowMs: number, populationWindowMs: number): Omit<Summary, 't'> {
  if (typeof value !== 'string' || value.length > MAX_JSON) return {};
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(value) as Record<string, unknown>;
  } catch {
    return {};
  }
  if (parsed === null || typeof parsed !== 'object' || typeof parsed.t !== 'number') return {};
  const age = now - parsed.t;
  const out: Omit<Summary, 't'> = {};
  for (const field of FIELDS) {
    const v = parsed[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) continue;
    if (age < (field === 'p' ? populationWindowMs : windowMs)) out[field] = v;
  }
  return out;
}
