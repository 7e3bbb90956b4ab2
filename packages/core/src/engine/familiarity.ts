/**
 * An account's familiarity record: the networks (IP counting keys) and devices where it
 * logged in successfully or signed up, each with when (minutes since the epoch). One
 * value per account, so a decision reads it in one operation. Entries older than
 * `familiarForMs` are ignored and pruned on the next write; each list keeps its most
 * recent {@link MAX_FAMILIAR} entries.
 */
export interface Familiarity {
  /** Networks: counting key → minute last seen. */
  n: Record<string, number>;
  /** Devices: device id → minute last seen. */
  d: Record<string, number>;
}

/** Most networks, and most devices, one account's record keeps. */
export const MAX_FAMILIAR = 16;
const MAX_JSON = 8192;

const minute = (ms: number) => Math.floor(ms / 60_000);

function entries(value: unknown, oldest: number): Record<string, number> {
  const out: Record<string, number> = Object.create(null);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [key, at] of Object.entries(value as Record<string, unknown>)) {
    if (typeof at === 'number' && Number.isFinite(at) && at >= oldest) out[key] = at;
  }
  return out;
}

/** Reads a stored record; anything unreadable, absent or expired is an empty one. */
export function parseFamiliarity(value: unknown, now: number, familiarForMs: number): Familiarity {
  if (typeof value !== 'string' || value.length > MAX_JSON) return { n: Object.create(null), d: Object.create(null) };
  let parsed: { n?: unknown; d?: unknown };
  try {
    parsed = JSON.parse(value) as typeof parsed;
  } catch {
    return { n: Object.create(null), d: Object.create(null) };
  }
  const oldest = minute(now - familiarForMs);
  return { n: entries(parsed?.n, oldest), d: entries(parsed?.d, oldest) };
}

/** Whether the record knows this network or this device. */
export function isFamiliar(record: Familiarity, network: string | undefined, device: string | undefined): boolean {
  return (network !== undefined && record.n[network] !== undefined) || (device !== undefined && record.d[device] !== undefined);
}

function keepRecent(list: Record<string, number>): Record<string, number> {
  const keys = Object.keys(list);
  if (keys.length <= MAX_FAMILIAR) return list;
  const kept = keys.sort((a, b) => (list[b] as number) - (list[a] as number)).slice(0, MAX_FAMILIAR);
  return Object.fromEntries(kept.map((k) => [k, list[k] as number]));
}

/** The record with this network and device added (or refreshed), as the value to store. */
export function withVisit(record: Familiarity, network: string | undefined, device: string | undefined, now: number): string {
  const at = minute(now);
  const n = { ...record.n };
  const d = { ...record.d };
  if (network !== undefined) n[network] = at;
  if (device !== undefined) d[device] = at;
  return JSON.stringify({ n: keepRecent(n), d: keepRecent(d) });
}
