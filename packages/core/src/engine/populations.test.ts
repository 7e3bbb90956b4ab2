// Populations of people and attackers against the embedded engine, in process (no HTTP:
// tools/simulate does that against the example apps): seeded, a few thousand decisions,
// each answered as the app would and learned from. Who is in here is what the first
// wave got wrong — shared addresses, new networks, mistyped emails, a deployment's first
// day without cookies — next to the attacks that look like them.
import { describe, expect, it } from 'vitest';
import { applyPolicy } from '../decision/policy.js';
import { compileThreatCodes } from '../decision/threat-codes.js';
import { compileThresholds } from '../decision/policy.js';
import type { ProviderEvent } from '../providers/types.js';
import { localProvider } from '../providers/local.js';
import type { EventType } from '../events.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const HEADERS = {
  Host: 'shop.example',
  'User-Agent': CHROME,
  Accept: 'application/json',
  'Accept-Language': 'en-US,en;q=0.9',
  'Accept-Encoding': 'gzip, deflate, br',
  'Sec-Fetch-Site': 'same-origin',
  'Sec-Fetch-Mode': 'cors',
  'Sec-Fetch-Dest': 'empty',
  Origin: 'https://shop.example',
};
const POLICY = { mode: 'blocking' as const, threatCodes: compileThreatCodes(undefined), thresholds: compileThresholds(undefined), redirect: false, canChallenge: true };

interface Tally {
  requests: number;
  challenged: number;
  blocked: number;
  through: number;
}

/** One seeded run: the people, and (unless `attacks` is false) the attacks, interleaved. */
async function run(seed: number, attacks: boolean) {
  let state = seed;
  const rnd = () => {
    state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const provider = localProvider({ secret: 'populations-secret-0123456789' });
  let clock = Date.UTC(2026, 11, 2, 9);
  let ids = 0;
  const tallies = new Map<string, Tally>();
  const tally = (kind: string) => {
    const t = tallies.get(kind) ?? { requests: 0, challenged: 0, blocked: 0, through: 0 };
    tallies.set(kind, t);
    return t;
  };
  const device = () => `dev${(ids++).toString(36).padStart(8, '0')}`;
  const home = () => `${20 + Math.floor(rnd() * 60)}.${Math.floor(rnd() * 256)}.${Math.floor(rnd() * 256)}.${1 + Math.floor(rnd() * 250)}`;

  /** A person solves a challenge and goes on; an attacker stops there. Answered requests are learned from. */
  async function send(kind: string, o: { type?: EventType; email: string; ip: string; device?: string; fresh?: boolean; success: boolean; person: boolean }) {
    clock += 250;
    const event: ProviderEvent = {
      type: o.type ?? '$login',
      status: '$attempted',
      name: 'r',
      requestId: String(ids++),
      timestamp: clock,
      context: { ip: o.ip, headers: HEADERS, userAgent: CHROME, protocol: 'https', ja3: undefined, resourceType: 'text/html', channel: undefined, method: 'POST', path: '/login' },
      user: { email: o.email },
      ...(o.device === undefined ? {} : { deviceId: o.device, ...(o.fresh ? { deviceFresh: true } : {}) }),
    };
    const action = applyPolicy(await provider.filter(event), POLICY).action;
    const t = tally(kind);
    t.requests++;
    if (action === 'block') return void t.blocked++;
    if (action === 'challenge') {
      t.challenged++;
      if (!o.person) return;
    } else if (!o.person) t.through++;
    await provider.log({ ...event, status: o.success ? '$succeeded' : '$failed', timestamp: clock + 20 });
  }

  // The app's users, who signed up and logged in from home before.
  const people = Array.from({ length: 150 }, (_, i) => ({ email: `user${i}@gmail.com`, ip: home(), device: device() }));
  const officeStaff = Array.from({ length: 60 }, (_, i) => ({ email: `staff${i}@corp.example`, ip: home(), device: device() }));
  const campus = Array.from({ length: 120 }, (_, i) => ({ email: `student${i}@uni.example`, ip: `130.1.2.${1 + i}`, device: device() }));
  for (const u of [...people, ...officeStaff, ...campus]) {
    await send('setup', { type: '$registration', ...u, fresh: true, success: true, person: true });
    await send('setup', { ...u, success: true, person: true });
  }
  const owned = Array.from({ length: 5 }, (_, i) => ({ email: `mine${i}@gmail.com`, ip: home(), device: device() }));
  for (const u of owned) await send('setup', { type: '$registration', ...u, fresh: true, success: true, person: true });

  const actors: (() => Promise<void>)[] = [];
  const typo = () => rnd() < 0.15;
  // Home users: their own address and browser, a typo now and then.
  for (const u of people.slice(0, 120)) actors.push(async () => {
    if (typo()) await send('home', { ...u, success: false, person: true });
    await send('home', { ...u, success: true, person: true });
  });
  // An office of 15 behind one NAT, on the laptops they signed up with, several sessions.
  for (const u of officeStaff.slice(0, 15)) for (let k = 0; k < 3; k++) actors.push(async () => {
    if (typo()) await send('office', { ...u, ip: '81.2.69.160', success: false, person: true });
    await send('office', { ...u, ip: '81.2.69.160', success: true, person: true });
  });
  // A deployment's first day: 45 staff behind another NAT, no Vigil cookie yet, some mistype their email.
  for (const u of officeStaff.slice(15)) actors.push(async () => {
    const d = device();
    if (rnd() < 0.1) await send('office, first day', { email: `x${u.email}`, ip: '81.2.70.1', device: d, fresh: true, success: false, person: true });
    if (typo()) await send('office, first day', { ...u, ip: '81.2.70.1', device: d, fresh: true, success: false, person: true });
    await send('office, first day', { ...u, ip: '81.2.70.1', device: d, fresh: true, success: true, person: true });
    await send('office, first day', { ...u, ip: '81.2.70.1', device: d, success: true, person: true });
  });
  // Forty phones behind three carrier addresses sign up, then log in.
  const carrier = ['5.0.7.9', '5.1.7.9', '5.2.7.9'];
  for (let i = 0; i < 40; i++) {
    const u = { email: `mobile${i}@gmail.com`, device: device() };
    actors.push(async () => {
      const ip = () => carrier[Math.floor(rnd() * 3)] as string;
      await send('carrier', { type: '$registration', ...u, ip: ip(), fresh: true, success: true, person: true });
      for (let k = 0; k < 2; k++) await send('carrier', { ...u, ip: ip(), success: true, person: true });
    });
  }
  // A campus /24, 5% giving up after a failure.
  for (const u of campus) actors.push(async () => {
    if (rnd() < 0.05) return send('campus', { ...u, success: false, person: true });
    if (typo()) await send('campus', { ...u, success: false, person: true });
    await send('campus', { ...u, success: true, person: true });
  });
  // Travellers: with their laptop on a hotel network; without it (a borrowed computer).
  for (const u of people.slice(120, 135)) actors.push(() => send('travellers with their device', { ...u, ip: home(), success: true, person: true }));
  for (const u of people.slice(135, 150)) actors.push(() => send('travellers without their device', { ...u, ip: home(), device: device(), fresh: true, success: true, person: true }));
  // A family of four on one laptop.
  const familyDevice = device();
  const family = Array.from({ length: 4 }, (_, i) => ({ email: `family${i}@gmail.com`, ip: '90.1.1.1', device: familyDevice }));
  for (const u of family) await send('setup', { type: '$registration', ...u, success: true, person: true });
  for (const u of family) for (let k = 0; k < 3; k++) actors.push(async () => {
    if (typo()) await send('family', { ...u, success: false, person: true });
    await send('family', { ...u, success: true, person: true });
  });

  if (attacks) {
    const combo = () => (rnd() < 0.03 ? { email: (people[Math.floor(rnd() * people.length)] as { email: string }).email, ok: true } : { email: `leak${Math.floor(rnd() * 1e6)}@gmail.com`, ok: false });
    for (let k = 0; k < 3; k++) {
      const ip = home();
      for (let i = 0; i < 100; i++) actors.push(async () => { const c = combo(); await send('stuffing from 3 addresses', { email: c.email, ip, success: c.ok, person: false }); });
    }
    for (let k = 0; k < 300; k++) {
      const ip = home();
      for (let i = 0; i < 2; i++) actors.push(async () => { const c = combo(); await send('rotating stuffing', { email: c.email, ip, success: c.ok, person: false }); });
    }
    const jar = device();
    for (let i = 0; i < 100; i++) actors.push(async () => { const c = combo(); await send('one cookie jar', { email: c.email, ip: `9.9.${i % 25}.7`, device: jar, fresh: i === 0, success: c.ok, person: false }); });
    for (let i = 0; i < 40; i++) actors.push(async () => {
      const c = combo();
      await send('dilution', { email: c.email, ip: home(), success: c.ok, person: false });
      for (let j = 0; j < 2; j++) await send('dilution, own accounts', { ...(owned[(2 * i + j) % 5] as { email: string }), ip: home(), success: true, person: false });
    });
    for (let i = 0; i < 120; i++) actors.push(async () => { const c = combo(); await send('IPv6 /48 rotation', { email: c.email, ip: `2a01:4f8:1234:${(i * 37).toString(16)}:${i.toString(16)}::1`, success: c.ok, person: false }); });
  }
  for (let i = actors.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [actors[i], actors[j]] = [actors[j] as () => Promise<void>, actors[i] as () => Promise<void>];
  }
  for (const actor of actors) await actor();
  tallies.delete('setup');
  return tallies;
}

const PEOPLE = ['home', 'office', 'office, first day', 'carrier', 'campus', 'travellers with their device', 'travellers without their device', 'family'];

describe('engine populations (in process, seeded)', () => {
  it.each([1, 2, 3])('seed %i, no attack: nobody is challenged or blocked', async (seed) => {
    const tallies = await run(seed, false);
    for (const kind of PEOPLE) expect(tallies.get(kind), kind).toMatchObject({ challenged: 0, blocked: 0 });
  });

  it.each([1, 2])('seed %i, under attack: no person is blocked; only people on a new device and a new network are challenged; attacks are stopped', async (seed) => {
    const tallies = await run(seed, true);
    for (const kind of PEOPLE) expect(tallies.get(kind)?.blocked, kind).toBe(0);
    for (const kind of ['home', 'office', 'carrier', 'campus', 'travellers with their device', 'family']) expect(tallies.get(kind)?.challenged, kind).toBe(0);
    const stopped = (kind: string) => {
      const t = tallies.get(kind) as Tally;
      return (t.challenged + t.blocked) / t.requests;
    };
    expect(stopped('stuffing from 3 addresses')).toBeGreaterThan(0.95);
    expect(stopped('rotating stuffing')).toBeGreaterThan(0.9);
    expect(stopped('one cookie jar')).toBeGreaterThan(0.9);
    expect(stopped('IPv6 /48 rotation')).toBeGreaterThan(0.8);
    expect(tallies.get('dilution')?.through).toBeLessThanOrEqual(4);
  });
});
