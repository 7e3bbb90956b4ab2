import { parseAddress } from '../context/ip.js';
import { VigilStoreError } from '../errors.js';
import type { ProviderEvent, Verdict } from '../providers/types.js';
import type { StoreOp, StoreResult } from '../stores/types.js';
import { type Familiarity, isFamiliar, parseFamiliarity } from './familiarity.js';
import { countingKeyOf, type IdentifierHasher, normalizeIdentifier } from './identifiers.js';
import type { IpRangeSet } from './ip-ranges.js';
import { neighbourhoodOf } from './keys.js';
import { type LearnDeps, learnOutcome } from './learn.js';
import { mailboxKey } from './mailbox.js';
import { type Facts, READS, type ReadName, RULES, type Rule, type RuleContext, type Subject } from './rules.js';
import { combineSignals, type Signal, type SignalName } from './signals.js';
import { drive, type Steps, type StoreRunner } from './steps.js';
import { readSummary, type Summary } from './summary.js';

// The engine's memo on a login verdict: whether the account was familiar. Compared by
// identity, so no other value (from another provider, or forged) can be taken for one.
const nothing = (): void => undefined;
const FAMILIAR = Object.freeze({ familiar: true });
const UNFAMILIAR = Object.freeze({ familiar: false });

/** What {@link createEngine} needs: its compiled options and how to reach the store. */
export interface EngineOptions extends RuleContext, StoreRunner {
  hasher: IdentifierHasher;
  allowIps?: IpRangeSet;
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

/**
 * Builds the engine from its compiled options. Every decision is one store batch: the
 * union of the reads its active rules need; every rule then decides from the results.
 * Learning runs off the request path.
 */
export function createEngine(o: EngineOptions): Engine {
  const { weights, limits, hasher } = o;
  const store: StoreRunner = o.runSync === undefined ? { run: o.run } : { run: o.run, runSync: o.runSync };
  const rules = RULES.filter((rule) => rule.signals.some((name) => weights[name] > 0));
  // Each rule's reads once, in a fixed order: a batch is built by walking this list, and
  // a read's result is found by its index in it.
  const reads = [...new Set(rules.flatMap((rule) => rule.reads))];
  const builders = reads.map((name) => READS[name]);
  const indexOf = Object.fromEntries(reads.map((name, i) => [name, i])) as Partial<Record<ReadName, number>>;
  // Per rule, the indexes of its reads: when the batch fails, a rule that needed one is skipped.
  const ruleReads = rules.map((rule) => rule.reads.map((name) => indexOf[name] as number));

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
    const account = accountKey(event);
    const s: Subject = { event, login };
    if (velocity) {
      // One parse for both keys; what does not parse is counted as it came, with no neighbourhood.
      const addr = parseAddress(ip);
      s.ip = addr ? countingKeyOf(addr) : ip;
      if (addr) s.net = neighbourhoodOf(addr);
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

  const verdictOf = (signals: Signal[], riskScale = 1): Verdict => {
    const result = combineSignals(signals, riskScale);
    const verdict: Verdict = { risk: result.risk, signals: result.signals, reasons: result.reasons, riskDecides: true };
    if (result.threatCode !== undefined) verdict.threatCode = result.threatCode;
    if (result.action !== undefined) verdict.action = result.action;
    if (result.cap !== undefined) verdict.cap = result.cap;
    return verdict;
  };

  const score = (event: ProviderEvent): Promise<Verdict> => {
    try {
      return drive(scoring(event), event.timestamp, store);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  function* scoring(event: ProviderEvent): Steps<Verdict> {
    const s = subjectOf(event);
    const ops: StoreOp[] = [];
    // slots[i]: where read i sits in the batch, -1 when it did not apply.
    const slots: number[] = new Array(builders.length);
    for (let i = 0; i < builders.length; i++) {
      const op = (builders[i] as (typeof builders)[number])(s, limits);
      if (op === undefined) slots[i] = -1;
      else {
        slots[i] = ops.length;
        ops.push(op);
      }
    }
    const signals: Signal[] = [];
    const push = (signal: Signal) => {
      if (signal.weight > 0) signals.push(signal);
    };
    let results: StoreResult[] = [];
    let failed = false;
    let failure: unknown;
    if (ops.length > 0) {
      try {
        results = yield ops;
      } catch (error) {
        failed = true;
        failure = error;
      }
    }
    const read = (name: ReadName): StoreResult | undefined => {
      const index = indexOf[name];
      const slot = index === undefined ? -1 : (slots[index] as number);
      return slot < 0 || failed ? undefined : results[slot];
    };
    let record: Familiarity | undefined;
    const summaries: Partial<Record<string, Omit<Summary, 't'>>> = {};
    let familiar: boolean | undefined;
    const facts: Facts = {
      s,
      ctx: o,
      read,
      familiarity: () => {
        record ??= parseFamiliarity(read('familiarity'), event.timestamp, limits.familiarForMs);
        return record;
      },
      familiar: () => {
        familiar ??= isFamiliar(facts.familiarity(), s.ip, s.returningDevice);
        return familiar;
      },
      attack: () => typeof read('siteAttack') === 'string',
      summary: (name) => {
        let parsed = summaries[name];
        if (parsed === undefined) {
          parsed = readSummary(read(name), event.timestamp, limits.windowMs, limits.populationWindowMs);
          summaries[name] = parsed;
        }
        return parsed;
      },
    };
    const silenced: SignalName[] = [];
    for (let r = 0; r < rules.length; r++) {
      const rule = rules[r] as Rule;
      // When the batch failed, the rules that need no store still decide.
      if (failed && (ruleReads[r] as number[]).length > 0) {
        const reads = ruleReads[r] as number[];
        if (rule.applies ? rule.applies(s) : reads.every((i) => (slots[i] as number) >= 0)) silenced.push(...rule.signals.filter((n) => weights[n] > 0));
        continue;
      }
      rule.decide(facts, push);
    }
    if (failed) {
      const degraded = [...new Set(silenced)];
      throw new VigilStoreError((failure as Error).cause ?? failure, { ...verdictOf(signals), degraded });
    }
    const approved = weights.approved_device > 0 && typeof read('approvedDevice') === 'string';
    const verdict = verdictOf(signals, approved ? 1 - weights.approved_device : 1);
    // The outcome of this same request needs it: handed back with it (Verdict.memo), so
    // learning skips a read.
    if (s.login && read('familiarity') !== undefined) verdict.memo = facts.familiar() ? FAMILIAR : UNFAMILIAR;
    if (approved) {
      verdict.signals = Object.freeze({ ...verdict.signals, approved_device: Object.freeze({ weight: weights.approved_device }) });
      verdict.reasons = [...(verdict.reasons ?? []), 'the device was approved by its user'];
    }
    return verdict;
  }

  const learnDeps: LearnDeps = {
    limits,
    familiarOf: (ev) => (ev.memo === FAMILIAR ? true : ev.memo === UNFAMILIAR ? false : undefined),
    signupMember: (ev) => (typeof ev.user.email === 'string' ? hasher.hash('alias', normalizeIdentifier(ev.user.email)) : undefined),
  };
  const learn = (event: ProviderEvent): Promise<void> => {
    if (event.type !== '$login' && event.type !== '$registration' && event.type !== '$challenge') return Promise.resolve();
    try {
      return drive(learnOutcome(learnDeps, event, subjectOf(event)), event.timestamp, store).then(nothing);
    } catch (error) {
      return Promise.reject(error);
    }
  };

  return { rules, score, learn, accountKey };
}
