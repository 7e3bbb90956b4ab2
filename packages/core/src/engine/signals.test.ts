import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { combineSignals, type Signal } from './signals.js';

const sig = (name: Signal['name'], weight: number, extra: Partial<Signal> = {}): Signal => ({ name, weight, reason: `${name} fired`, ...extra });

describe('combineSignals', () => {
  it('no signals → risk 0, no code, no action, no cap', () => {
    expect(combineSignals([])).toStrictEqual({ risk: 0, threatCode: undefined, action: undefined, cap: undefined, signals: {}, reasons: [] });
    expect(combineSignals([], 0.5).risk).toBe(0);
  });

  it('one signal → its weight and its code', () => {
    const score = combineSignals([sig('datacenter_ip', 0.4, { code: 13 })]);
    expect(score).toStrictEqual({
      risk: 0.4,
      threatCode: 13,
      action: undefined,
      cap: undefined,
      signals: { datacenter_ip: { weight: 0.4, code: 13 } },
      reasons: ['datacenter_ip fired'],
    });
  });

  it('risk is the noisy-OR of the weights: 1 − Π(1 − w)', () => {
    expect(combineSignals([sig('datacenter_ip', 0.4), sig('proxy_ip', 0.4)]).risk).toBe(0.64);
    expect(combineSignals([sig('datacenter_ip', 0.5), sig('proxy_ip', 0.5), sig('invalid_email', 0.5)]).risk).toBe(0.875);
    expect(combineSignals([sig('missing_headers', 0.7), sig('datacenter_ip', 0.4)]).risk).toBe(0.82);
  });

  it('rounds risk to three decimals', () => {
    expect(combineSignals([sig('datacenter_ip', 0.12345)]).risk).toBe(0.123);
    expect(combineSignals([sig('datacenter_ip', 1 / 3), sig('proxy_ip', 1 / 3)]).risk).toBe(0.556);
  });

  it('clamps weights to 0..1', () => {
    expect(combineSignals([sig('datacenter_ip', 1.7)]).risk).toBe(1);
    expect(combineSignals([sig('datacenter_ip', -0.5), sig('proxy_ip', 0.3)]).risk).toBe(0.3);
  });

  it("the threat code is the strongest signal's, whatever the order", () => {
    const a = sig('datacenter_ip', 0.4, { code: 13 });
    const b = sig('credential_stuffing', 0.95, { code: 10 });
    const c = sig('multiple_accounts_ip', 0.6, { code: 5 });
    expect(combineSignals([a, b, c]).threatCode).toBe(10);
    expect(combineSignals([c, b, a]).threatCode).toBe(10);
    expect(combineSignals([a, c]).threatCode).toBe(5);
  });

  it('on a tie, the first signal is the strongest', () => {
    expect(combineSignals([sig('web_crawler', 0.95, { code: 2 }), sig('credential_stuffing', 0.95, { code: 10 })]).threatCode).toBe(2);
    expect(combineSignals([sig('credential_stuffing', 0.95, { code: 10 }), sig('web_crawler', 0.95, { code: 2 })]).threatCode).toBe(10);
  });

  it('a strongest signal without a code leaves the threat code undefined', () => {
    expect(combineSignals([sig('disposable_email_domain', 0.95), sig('datacenter_ip', 0.4, { code: 13 })]).threatCode).toBeUndefined();
  });

  it('a zero-weight signal is listed but never the strongest', () => {
    const score = combineSignals([sig('datacenter_ip', 0, { code: 13 })]);
    expect(score.risk).toBe(0);
    expect(score.threatCode).toBeUndefined();
    expect(score.signals).toHaveProperty('datacenter_ip');
  });

  it('deny: any signal with the deny flag forces deny, even a weak one beside strong capped ones', () => {
    expect(combineSignals([sig('ip_denylisted', 1, { deny: true })]).action).toBe('deny');
    expect(combineSignals([sig('high_activity_account', 0.75, { cap: 'challenge', code: 4 }), sig('blocked_user', 0.1, { deny: true })]).action).toBe('deny');
  });

  it("challenge cap: cap 'challenge' (never an action) only when the strongest signal is capped", () => {
    const capped = sig('missing_headers', 0.7, { code: 11, cap: 'challenge' });
    // The cap limits what the policy may do; it is no action of its own: risk still decides.
    expect(combineSignals([capped])).toMatchObject({ cap: 'challenge', action: undefined, risk: 0.7, threatCode: 11 });
    expect(combineSignals([capped, sig('datacenter_ip', 0.4, { code: 13 })])).toMatchObject({ cap: 'challenge', action: undefined, risk: 0.82, threatCode: 11 });
    // A stronger uncapped signal takes over: the cap no longer applies.
    const strong = sig('high_activity_ip', 0.9, { code: 6 });
    const score = combineSignals([capped, strong]);
    expect(score.cap).toBeUndefined();
    expect(score.action).toBeUndefined();
    expect(score.threatCode).toBe(6);
    // On a tie the first is the strongest, cap and all.
    expect(combineSignals([capped, sig('datacenter_ip', 0.7, { code: 13 })]).cap).toBe('challenge');
    expect(combineSignals([sig('datacenter_ip', 0.7, { code: 13 }), capped]).cap).toBeUndefined();
    // Uncapped signals alone: no cap.
    expect(combineSignals([sig('datacenter_ip', 0.4), sig('proxy_ip', 0.4)]).cap).toBeUndefined();
  });

  it('a deny wins over a cap: no cap with a deny, whatever the strongest signal', () => {
    const score = combineSignals([sig('high_activity_account', 0.75, { cap: 'challenge', code: 4 }), sig('blocked_user', 0.1, { deny: true })]);
    expect(score).toMatchObject({ action: 'deny', cap: undefined, threatCode: 4 });
  });

  it('a zero-weight capped signal never caps', () => {
    expect(combineSignals([sig('missing_headers', 0, { cap: 'challenge' }), sig('datacenter_ip', 0.4)]).cap).toBeUndefined();
  });

  it('approved-device scaling multiplies the risk, leaves code and deny alone', () => {
    const signals = [sig('datacenter_ip', 0.4, { code: 13 }), sig('proxy_ip', 0.4, { code: 15 })];
    expect(combineSignals(signals, 0.5).risk).toBe(0.32);
    expect(combineSignals(signals, 0.5).threatCode).toBe(13);
    expect(combineSignals([sig('reported_device', 1, { deny: true })], 0.5)).toMatchObject({ risk: 0.5, action: 'deny' });
    expect(combineSignals(signals, 0).risk).toBe(0);
  });

  it('lists every signal with its weight, code and details, and every reason in order', () => {
    const score = combineSignals([
      sig('credential_stuffing', 0.95, { code: 10, details: { failedAccounts: 7 } }),
      sig('disposable_email_domain', 0.2, { reason: 'disposable' }),
    ]);
    expect(score.signals).toEqual({
      credential_stuffing: { weight: 0.95, code: 10, failedAccounts: 7 },
      disposable_email_domain: { weight: 0.2 },
    });
    expect(score.reasons).toEqual(['credential_stuffing fired', 'disposable']);
  });

  it('properties: risk in 0..1, at least the strongest weight, never lowered by another signal, order-independent', () => {
    const names: Signal['name'][] = ['web_crawler', 'missing_headers', 'datacenter_ip', 'proxy_ip', 'high_activity_ip', 'invalid_email'];
    const signal = fc.record({
      name: fc.constantFrom(...names),
      weight: fc.double({ min: 0, max: 1, noNaN: true }),
      code: fc.option(fc.integer({ min: 0, max: 21 }), { nil: undefined }),
      reason: fc.constant('r'),
    });
    fc.assert(
      fc.property(fc.array(signal, { maxLength: 8 }), signal, (list, extra) => {
        const clean = list.map((s) => (s.code === undefined ? { name: s.name, weight: s.weight, reason: s.reason } : s)) as Signal[];
        const { risk } = combineSignals(clean);
        expect(risk).toBeGreaterThanOrEqual(0);
        expect(risk).toBeLessThanOrEqual(1);
        const max = Math.max(0, ...clean.map((s) => s.weight));
        expect(risk).toBeGreaterThanOrEqual(max - 0.0005);
        expect(combineSignals([...clean, extra as Signal]).risk).toBeGreaterThanOrEqual(risk);
        expect(Math.abs(combineSignals([...clean].reverse()).risk - risk)).toBeLessThanOrEqual(0.001);
      }),
      { numRuns: 300 },
    );
  });
});
