import type { ProviderEvent, Verdict } from '../providers/types.js';
import type { StoreOp, StoreResult } from '../stores/types.js';
import { type IdentifierHasher, ipCountingKey, normalizeIdentifier } from './identifiers.js';
import type { IpRangeSet } from './ip-ranges.js';
import { KEYS, neighbourhoodKey } from './keys.js';
import { learnOutcome } from './learn.js';
import { mailboxKey } from './mailbox.js';
import { type Facts, parseDevices, READS, type ReadName, type Rule, type RuleContext, RULES, type Subject } from './rules.js';
import { combineSignals, type Signal, type SignalName } from './signals.js';
import { VigilStoreError } from './store-error.js';

/** What {@link createEngine} needs. */
export interface EngineOptions extends RuleContext {
  hasher: IdentifierHasher;
  allowIps?: IpRangeSet;
  /** Runs a batch on the store, throwing {@link VigilStoreError} when it fails. */
  run(ops: StoreOp[], now: number): Promise<StoreResult[]>;
}

/** The embedded engine: scores events with its rules and learns from outcomes. */
export interface Engine {
  /** The rules that run (those with at least one signal whose weight is above 0). */
  readonly rules: readonly Rule[];
  /** Scores a `filter` / `risk` event: one store batch. */
  score(event: ProviderEvent): Promise<Verdict>;
  /** Learns from a `log` event (an answered login or sign-up). */
  learn(event: ProviderEvent): Promise<void>;
  /** The keyed account of an event (email by mailbox, else username, phone, id). */
  accountKey(event: ProviderEvent): string | undefined;
}

const MAX_DEVICES_PER_USER = 20;
const DEVICE_TTL_MS = 400 * 24 * 60 * 60_000;

/**
 * Builds the engine from its compiled options. Every decision is one store batch: the
 * union of the reads its active rules need; every rule then decides from the results.
 * Learning runs off the request path.
 */
export function createEngine(o: EngineOptions): Engine {
  const { weights, limits, hasher, run } = o;
  const rules = RULES.filter((rule) => rule.signals.some((name) => weights[name] > 0));
  // Each rule's reads once, in a fixed order: a batch is built by walking this list.
  const reads = [...new Set(rules.flatMap((rule) => rule.reads))];
  const signalsOfRead = new Map<ReadName, SignalName[]>();
  for (const rule of rules) for (const read of rule.reads) signalsOfRead.set(read, [...(signalsOfRead.get(read) ?? []), ...rule.signals.filter((n) => weights[n] > 0)]);

  const accountKey = (event: ProviderEvent): string | undefined => {
    const { email, username, phone, id } = event.user;
    // Aliases of one mailbox (Gmail dots, +tags...) are one account.
    if (email !== undefined) return hasher.hash('email', mailboxKey(email));
    if (username !== undefined) return hasher.hash('username', normalizeIdentifier(username));
    if (phone !== undefined) return hasher.hash('phone', phone.replace(/[\s().-]/g, ''));
    if (id !== undefined) return hasher.hash('id', id);
    return undefined;
  };

  const subjectOf = (event: ProviderEvent): Subject => {
    const ip = event.context.ip;
    const velocity = ip !== undefined && o.allowIps?.has(ip) !== true;
    const login = event.type === '$login';
    const account = login || event.type === '$password_reset_request' || event.type === '$registration' ? accountKey(event) : undefined;
    const s: Subject = { event, login };
    if (velocity) {
      s.ip = ipCountingKey(ip);
      const net = neighbourhoodKey(ip);
      if (net !== undefined) s.net = net;
    }
    if (account !== undefined) s.account = account;
    if (event.deviceId !== undefined) {
      s.device = event.deviceId;
      if (event.deviceFresh !== true) s.returningDevice = event.deviceId;
    }
    if (event.type === '$registration' && typeof event.user.email === 'string') s.signupMailbox = hasher.hash('email', mailboxKey(event.user.email));
    const userKey = event.user.id ?? account;
    if (userKey !== undefined) s.userKey = userKey;
    return s;
  };

  // Familiarity read by a decision, for the outcome of the same request: keyed by the
  // request's context object, which the outcome event shares. A WeakMap: nothing to bound.
  const familiarByRequest = new WeakMap<object, boolean>();

  const verdictOf = (signals: Signal[], riskScale = 1): Verdict => {
    const result = combineSignals(signals, riskScale);
    const verdict: Verdict = { risk: result.risk, signals: result.signals, reasons: result.reasons, riskDecides: true };
    if (result.threatCode !== undefined) verdict.threatCode = result.threatCode;
    if (result.action !== undefined) verdict.action = result.action;
    if (result.cap !== undefined) verdict.cap = result.cap;
    return verdict;
  };

  const score = async (event: ProviderEvent): Promise<Verdict> => {
    const s = subjectOf(event);
    const ops: StoreOp[] = [];
    const slots: Partial<Record<ReadName, number>> = {};
    for (const name of reads) {
      const op = READS[name](s, limits);
      if (op === undefined) continue;
      slots[name] = ops.length;
      ops.push(op);
    }
    const signals: Signal[] = [];
    const push = (signal: Signal) => {
      if (signal.weight > 0) signals.push(signal);
    };
    let results: StoreResult[] = [];
    let failure: unknown;
    if (ops.length > 0) {
      try {
        results = await run(ops, event.timestamp);
      } catch (error) {
        failure = error;
      }
    }
    const read = (name: ReadName): StoreResult | undefined => {
      const slot = slots[name];
      return slot === undefined || failure !== undefined ? undefined : results[slot];
    };
    let familiar: boolean | undefined;
    const facts: Facts = {
      s,
      ctx: o,
      read,
      familiar: () => {
        familiar ??= typeof read('familiarNetwork') === 'string' || typeof read('familiarDevice') === 'string';
        return familiar;
      },
    };
    for (const rule of rules) {
      // When the batch failed, the rules that need no store still decide.
      if (failure !== undefined && rule.reads.some((r) => slots[r] !== undefined)) continue;
      rule.decide(facts, push);
    }
    if (failure !== undefined) {
      const degraded = [...new Set(Object.keys(slots).flatMap((r) => signalsOfRead.get(r as ReadName) ?? []))];
      throw new VigilStoreError((failure as Error).cause ?? failure, { ...verdictOf(signals), degraded });
    }
    // The outcome of this same request needs it: remember it, so learning skips a read.
    if (slots.familiarNetwork !== undefined || slots.familiarDevice !== undefined) familiarByRequest.set(event.context, facts.familiar());
    const approved = typeof read('approvedDevice') === 'string';
    const verdict = verdictOf(signals, approved ? 1 - weights.approved_device : 1);
    if (approved) {
      verdict.signals = { ...verdict.signals, approved_device: { weight: weights.approved_device } };
      verdict.reasons = [...(verdict.reasons ?? []), 'the device was approved by its user'];
    }
    return verdict;
  };

  /** Adds the event's device to its user's list (read-modify-write: metadata, off the request path). */
  const recordDevice = async (event: ProviderEvent, userKey: string | undefined) => {
    if (event.deviceId === undefined || userKey === undefined) return;
    const key = KEYS.userDevices(userKey);
    const [current] = await run([{ type: 'get', key }], event.timestamp);
    const devices = parseDevices(current);
    const now = new Date(event.timestamp).toISOString();
    let device = devices.find((d) => d.id === event.deviceId);
    if (!device) {
      device = { id: event.deviceId, firstSeen: now, lastSeen: now, ips: [], userAgent: event.context.userAgent?.slice(0, 512) };
      devices.unshift(device);
    }
    device.lastSeen = now;
    if (event.context.ip !== undefined) device.ips = [event.context.ip, ...device.ips.filter((ip) => ip !== event.context.ip)].slice(0, 5);
    if (event.context.userAgent !== undefined) device.userAgent = event.context.userAgent.slice(0, 512);
    devices.sort((a, b) => (a.lastSeen < b.lastSeen ? 1 : -1));
    await run([{ type: 'set', key, value: JSON.stringify(devices.slice(0, MAX_DEVICES_PER_USER)), ttlMs: DEVICE_TTL_MS }], event.timestamp);
  };

  const learnDeps = {
    limits,
    run,
    recordDevice,
    signupMember: (event: ProviderEvent) => (typeof event.user.email === 'string' ? hasher.hash('alias', normalizeIdentifier(event.user.email)) : undefined),
  };

  const learn = async (event: ProviderEvent): Promise<void> => {
    if (event.type !== '$login' && event.type !== '$registration') return;
    const s = subjectOf(event);
    let familiar = true;
    if (event.type === '$login' && s.account !== undefined) {
      const known = familiarByRequest.get(event.context);
      if (known !== undefined) familiar = known;
      else {
        // An outcome reported without its decision (trackLogin): read familiarity first.
        const ops: StoreOp[] = [];
        if (s.ip !== undefined) ops.push({ type: 'get', key: KEYS.familiarNetwork(s.account, s.ip) });
        if (s.returningDevice !== undefined) ops.push({ type: 'get', key: KEYS.familiarDevice(s.account, s.returningDevice) });
        // No network to be unfamiliar on (no IP, or an allowlisted one): nothing site-wide to count.
        familiar = ops.length === 0 ? true : (await run(ops, event.timestamp)).some((v) => typeof v === 'string');
      }
    }
    await learnOutcome(learnDeps, event, s, familiar);
  };

  return { rules, score, learn, accountKey };
}
