/**
 * A user's device list (what `getDevicesForUser` serves): one stored value per user, one
 * JSON object per line, most recently seen first, at most {@link MAX_DEVICES_PER_USER}.
 *
 * One line per device so that the common writes need no parse of the whole list: a
 * device the list does not hold yet (every first login from a new browser) is a new first
 * line in front of the others' first lines; a device already first, seen again in the same
 * minute from the same address and browser, needs no write at all. Only a device further
 * down the list is parsed and moved to the front.
 */
import type { StoreResult } from '../stores/types.js';
import type { DeviceRecord } from '../tracking/users.js';

/** One stored device: what {@link DeviceRecord} holds apart from the operator's flags. */
export type StoredDevice = Omit<DeviceRecord, 'approved' | 'reported'>;

/** Most devices one user's list keeps. */
export const MAX_DEVICES_PER_USER = 20;
/** How long a user's device list lives after its last change. */
export const DEVICE_TTL_MS = 400 * 24 * 60 * 60_000;
const MAX_STORED = 65_536;
const MAX_IPS = 5;
const MAX_USER_AGENT = 512;

/** What a visit brings to the list. */
export interface DeviceVisit {
  id: string;
  /** ms since the epoch. */
  at: number;
  ip: string | undefined;
  userAgent: string | undefined;
}

function isDevice(value: unknown): value is StoredDevice {
  if (value === null || typeof value !== 'object') return false;
  const d = value as Record<string, unknown>;
  return typeof d.id === 'string' && typeof d.firstSeen === 'string' && typeof d.lastSeen === 'string' && Array.isArray(d.ips);
}

/** The devices of one line: an object, or (lists written before one line per device) a JSON array of them. */
function parseLine(line: string): StoredDevice[] {
  try {
    const parsed: unknown = JSON.parse(line);
    if (Array.isArray(parsed)) return parsed.filter(isDevice);
    return isDevice(parsed) ? [parsed] : [];
  } catch {
    return [];
  }
}

/** Reads a user's device list from the store; anything unreadable (a line, or the whole value) is left out. */
export function parseDevices(value: StoreResult | undefined): StoredDevice[] {
  if (typeof value !== 'string' || value.length > MAX_STORED) return [];
  const out: StoredDevice[] = [];
  const ids = new Set<string>();
  for (const line of value.split('\n')) {
    for (const device of line === '' ? [] : parseLine(line)) {
      if (ids.has(device.id)) continue;
      ids.add(device.id);
      out.push(device);
      if (out.length === MAX_DEVICES_PER_USER) return out;
    }
  }
  return out;
}

/** The first `n` lines of `text` (all of it when it has fewer). */
function firstLines(text: string, n: number): string {
  let end = -1;
  for (let i = 0; i < n; i++) {
    end = text.indexOf('\n', end + 1);
    if (end < 0) return text;
  }
  return text.slice(0, end);
}

const lineOf = (device: StoredDevice) => JSON.stringify(device);

// The first device of a stored list, parsed once per value: a returning browser's every
// login reads the list its last login wrote (the same string from an in-process store,
// whose hash V8 keeps), usually to find nothing to change. Bounded: at the bound the cache
// starts over, by count and by the characters its keys hold (lists are up to 64 kB).
// The devices handed out are never changed (updatedDevice builds new ones).
const MAX_FIRST_DEVICES = 1024;
const MAX_FIRST_DEVICES_CHARS = 1 << 21;
let firstDevices = new Map<string, StoredDevice | null>();
let firstDevicesChars = 0;

function firstDevice(stored: string, end: number): StoredDevice | undefined {
  let known = firstDevices.get(stored);
  if (known === undefined) {
    known = parseLine(end < 0 ? stored : stored.slice(0, end))[0] ?? null;
    firstDevicesChars += stored.length;
    if (firstDevices.size >= MAX_FIRST_DEVICES || firstDevicesChars > MAX_FIRST_DEVICES_CHARS) {
      firstDevices = new Map();
      firstDevicesChars = stored.length;
    }
    firstDevices.set(stored, known);
  }
  return known ?? undefined;
}

// The minute of a time as ISO text (`2026-12-04T15:07`), kept for the minute it was
// asked for last: every login of that minute compares with it.
let lastMinute = Number.NaN;
let lastMinuteText = '';
function minuteOf(at: number): string {
  const minute = Math.floor(at / 60_000);
  if (minute !== lastMinute) {
    lastMinute = minute;
    lastMinuteText = new Date(minute * 60_000).toISOString().slice(0, 16);
  }
  return lastMinuteText;
}

/** The device seen again now, or `undefined` when its record already says so (this minute, this address, this browser). */
function updatedDevice(known: StoredDevice, at: number, ip: string | undefined, userAgent: string | undefined): StoredDevice | undefined {
  const sameMinute = known.lastSeen.slice(0, 16) === minuteOf(at);
  if (sameMinute && (ip === undefined || known.ips[0] === ip) && (userAgent === undefined || known.userAgent === userAgent)) return undefined;
  return {
    id: known.id,
    firstSeen: known.firstSeen,
    lastSeen: new Date(at).toISOString(),
    ips: ip === undefined ? known.ips : [ip, ...known.ips.filter((other) => other !== ip)].slice(0, MAX_IPS),
    userAgent: userAgent ?? known.userAgent,
  };
}

/**
 * The list with this visit recorded, as the value to store, or `undefined` when the
 * stored value already says it (the device first, seen this minute, from this address
 * with this browser).
 */
export function devicesWith(current: StoreResult | undefined, visit: DeviceVisit): string | undefined {
  const stored = typeof current === 'string' && current.length <= MAX_STORED ? current : '';
  const at = visit.at;
  const userAgent = visit.userAgent?.slice(0, MAX_USER_AGENT);
  // A line starts with its id (the first property written): found without a parse.
  const prefix = `{"id":${JSON.stringify(visit.id)},`;
  const fresh = (): StoredDevice => {
    const now = new Date(at).toISOString();
    return { id: visit.id, firstSeen: now, lastSeen: now, ips: visit.ip === undefined ? [] : [visit.ip], userAgent };
  };
  // A list in the older form (one JSON array) goes the parsing way, and is rewritten in lines.
  if (!stored.startsWith('[') && !stored.startsWith(prefix) && !stored.includes(`\n${prefix}`)) {
    const rest = stored === '' ? '' : firstLines(stored, MAX_DEVICES_PER_USER - 1);
    return rest === '' ? lineOf(fresh()) : `${lineOf(fresh())}\n${rest}`;
  }
  if (stored.startsWith(prefix)) {
    // The device is first already (a returning browser's usual case): only its line is read.
    const end = stored.indexOf('\n');
    const known = firstDevice(stored, end);
    if (known !== undefined && known.id === visit.id) {
      const updated = updatedDevice(known, at, visit.ip, userAgent);
      if (updated === undefined) return undefined;
      return end < 0 ? lineOf(updated) : `${lineOf(updated)}\n${firstLines(stored.slice(end + 1), MAX_DEVICES_PER_USER - 1)}`;
    }
  }
  const devices = parseDevices(stored);
  const index = devices.findIndex((d) => d.id === visit.id);
  const known = devices[index];
  // Not found after all (its line did not read, or an older list): a new device in front.
  if (known === undefined) return [fresh(), ...devices.slice(0, MAX_DEVICES_PER_USER - 1)].map(lineOf).join('\n');
  const updated = updatedDevice(known, at, visit.ip, userAgent);
  if (index === 0 && updated === undefined) return undefined;
  devices.splice(index, 1);
  return [updated ?? known, ...devices].map(lineOf).join('\n');
}
