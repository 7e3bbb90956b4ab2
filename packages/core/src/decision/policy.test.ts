import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VigilConfigError } from '../errors.js';
import type { Verdict } from '../providers/types.js';
import { applyPolicy, compileThresholds, type PolicyOptions, type Thresholds } from './policy.js';
import { compileThreatCodes } from './threat-codes.js';
import { thrown } from '../test-support/thrown.js';

/** Policy options: blocking mode, default lists and thresholds, a challenge handler, no redirect. */
function options(overrides: Partial<PolicyOptions> = {}): PolicyOptions {
  return {
    mode: 'blocking',
    threatCodes: compileThreatCodes(undefined),
    thresholds: compileThresholds(undefined),
    redirect: false,
    canChallenge: true,
    ...overrides,
  };
}

describe('compileThresholds', () => {
  it('defaults to deny 0.9, challenge 0.6', () => {
    expect(compileThresholds(undefined)).toEqual({ deny: 0.9, challenge: 0.6 });
    expect(compileThresholds({})).toEqual({ deny: 0.9, challenge: 0.6 });
  });

  it.each<[Thresholds, { deny: number; challenge: number }]>([
    [{ deny: 0.8 }, { deny: 0.8, challenge: 0.6 }],
    [{ challenge: 0.5 }, { deny: 0.9, challenge: 0.5 }],
    [{ deny: 1, challenge: 0 }, { deny: 1, challenge: 0 }],
    [{ deny: 0.95, challenge: 0.94 }, { deny: 0.95, challenge: 0.94 }],
    [{ deny: 0.61 }, { deny: 0.61, challenge: 0.6 }],
    [{ challenge: 0.89 }, { deny: 0.9, challenge: 0.89 }],
    [{ deny: 0.3, challenge: 0.1 }, { deny: 0.3, challenge: 0.1 }],
  ])('accepts %o', (given, expected) => {
    expect(compileThresholds(given)).toEqual(expected);
  });

  it.each<[string, Thresholds, string, unknown]>([
    ['deny above 1', { deny: 1.1 }, 'thresholds.deny', 1.1],
    ['deny below 0', { deny: -0.1 }, 'thresholds.deny', -0.1],
    ['deny NaN', { deny: Number.NaN }, 'thresholds.deny', Number.NaN],
    ['deny Infinity', { deny: Number.POSITIVE_INFINITY }, 'thresholds.deny', Number.POSITIVE_INFINITY],
    ['deny a string', { deny: '0.9' as unknown as number }, 'thresholds.deny', '0.9'],
    ['deny null', { deny: null as unknown as number }, 'thresholds.deny', null],
    ['deny a percentage', { deny: 90 }, 'thresholds.deny', 90],
    ['challenge above 1', { challenge: 2 }, 'thresholds.challenge', 2],
    ['challenge below 0', { challenge: -1 }, 'thresholds.challenge', -1],
    ['challenge NaN', { challenge: Number.NaN }, 'thresholds.challenge', Number.NaN],
    ['challenge null', { challenge: null as unknown as number }, 'thresholds.challenge', null],
    ['challenge a boolean', { challenge: true as unknown as number }, 'thresholds.challenge', true],
  ])('rejects %s', (_label, given, option, value) => {
    const err = thrown(() => compileThresholds(given));
    expect(err.code).toBe('VIGIL_E_THRESHOLDS');
    expect(err.option).toBe(option);
    expect(err.value).toEqual(value);
    expect(err.message.startsWith(`VIGIL_E_THRESHOLDS: ${option} is `)).toBe(true);
    expect(err.message).toMatch(/between 0 and 1/);
    expect(err.message).toMatch(/Use a number from 0 to 1/);
  });

  it.each<[Thresholds]>([[{ deny: 0.5, challenge: 0.5 }], [{ deny: 0.5, challenge: 0.7 }], [{ deny: 0, challenge: 0 }], [{ challenge: 0.9 }], [{ challenge: 0.95 }], [{ challenge: 1 }]])(
    'rejects challenge not below deny in %o, naming thresholds.challenge',
    (given) => {
      const err = thrown(() => compileThresholds(given));
      expect(err.code).toBe('VIGIL_E_THRESHOLDS');
      expect(err.option).toBe('thresholds.challenge');
      expect(err.value).toBe(given.challenge);
      expect(err.message.startsWith('VIGIL_E_THRESHOLDS: thresholds.challenge is ')).toBe(true);
      expect(err.message).toContain(`not below thresholds.deny (${given.deny ?? 0.9})`);
      expect(err.message).toMatch(/Challenge must start below deny/);
    },
  );

  it.each<[number]>([[0.6], [0.5], [0.1], [0]])('rejects deny %d alone (not above the default challenge), naming thresholds.deny', (deny) => {
    const err = thrown(() => compileThresholds({ deny }));
    expect(err.code).toBe('VIGIL_E_THRESHOLDS');
    expect(err.option).toBe('thresholds.deny');
    expect(err.value).toBe(deny);
    expect(err.message.startsWith(`VIGIL_E_THRESHOLDS: thresholds.deny is ${deny}, `)).toBe(true);
    expect(err.message).toContain('thresholds.challenge (0.6, the default)');
    expect(err.message).toMatch(/raise thresholds\.deny above 0\.6/);
  });

  it('suggests a valid pair when only deny was given', () => {
    const err = thrown(() => compileThresholds({ deny: 0.5 }));
    expect(err.message).toContain('{ challenge: 0.25, deny: 0.5 }');
    expect(compileThresholds({ challenge: 0.25, deny: 0.5 })).toEqual({ challenge: 0.25, deny: 0.5 });
  });

  it.each([[null], [0.9], ['0.9'], [[0.9, 0.6]]])('rejects thresholds %j that is not an object', (given) => {
    const err = thrown(() => compileThresholds(given as unknown as Thresholds));
    expect(err.code).toBe('VIGIL_E_THRESHOLDS');
    expect(err.option).toBe('thresholds');
    expect(err.message).toMatch(/deny\?: number, challenge\?: number/);
  });

  it.each([
    ['denny', 'deny'],
    ['block', undefined],
    ['challange', 'challenge'],
    ['Deny', 'deny'],
  ])('rejects the unknown key %s', (key, meant) => {
    const err = thrown(() => compileThresholds({ [key]: 0.5 } as Thresholds));
    expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
    expect(err.option).toBe(`thresholds.${key}`);
    if (meant) expect(err.message).toContain(`Did you mean "thresholds.${meant}"?`);
    else expect(err.message).toContain('deny, challenge');
  });

  it('accepts every valid pair and rejects every invalid one (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: -0.5, max: 1.5, noNaN: true }), fc.double({ min: -0.5, max: 1.5, noNaN: true }), (deny, challenge) => {
        const valid = deny >= 0 && deny <= 1 && challenge >= 0 && challenge <= 1 && challenge < deny;
        if (valid) expect(compileThresholds({ deny, challenge })).toEqual({ deny, challenge });
        else expect(() => compileThresholds({ deny, challenge })).toThrow(VigilConfigError);
      }),
    );
  });
});

describe('applyPolicy resolution order', () => {
  type Row = [string, Verdict, Partial<PolicyOptions>, 'allow' | 'challenge' | 'deny', 'allow' | 'block' | 'redirect' | 'challenge', 'block' | 'captcha' | 'none', RegExp];
  it.each<Row>([
    // 1. The provider's own action comes first.
    ['provider deny, low risk', { risk: 0, action: 'deny' }, {}, 'deny', 'block', 'none', /provider action deny/],
    ['provider deny, captcha code', { risk: 0, action: 'deny', threatCode: 13 }, {}, 'deny', 'block', 'captcha', /provider action deny/],
    ['provider challenge, block code', { risk: 0, action: 'challenge', threatCode: 2 }, {}, 'challenge', 'challenge', 'block', /provider action challenge/],
    ['provider challenge, risk 1', { risk: 1, action: 'challenge' }, {}, 'challenge', 'challenge', 'none', /provider action challenge/],
    ['provider deny with redirect', { risk: 0, action: 'deny' }, { redirect: true }, 'deny', 'redirect', 'none', /provider action deny/],
    // A provider `allow` is not honoured over codes and risk.
    ['provider allow, block code', { risk: 0, action: 'allow', threatCode: 10 }, {}, 'deny', 'block', 'block', /threat code 10 is in the block group/],
    ['provider allow, risk 0.95', { risk: 0.95, action: 'allow' }, {}, 'deny', 'block', 'none', /risk 0.95 ≥ deny threshold 0.9/],
    // 2. The threat code's group.
    ['block code, low risk', { risk: 0, threatCode: 2 }, {}, 'deny', 'block', 'block', /threat code 2 is in the block group/],
    ['block code with redirect', { risk: 0, threatCode: 3 }, { redirect: true }, 'deny', 'redirect', 'block', /threat code 3 is in the block group/],
    ['captcha code, low risk', { risk: 0, threatCode: 13 }, {}, 'challenge', 'challenge', 'captcha', /threat code 13 is in the captcha group/],
    ['captcha code, risk 1', { risk: 1, threatCode: 14 }, {}, 'challenge', 'challenge', 'captcha', /threat code 14 is in the captcha group/],
    ['captcha code with redirect', { risk: 0, threatCode: 4 }, { redirect: true }, 'challenge', 'challenge', 'captcha', /captcha group/],
    ['block code, risk 1', { risk: 1, threatCode: 10 }, {}, 'deny', 'block', 'block', /block group/],
    // 3. Risk against the thresholds (inclusive), when the code is in neither group.
    ['no code, risk 0.9', { risk: 0.9 }, {}, 'deny', 'block', 'none', /risk 0.9 ≥ deny threshold 0.9/],
    ['no code, risk 1', { risk: 1 }, {}, 'deny', 'block', 'none', /deny threshold/],
    ['no code, risk 0.9 with redirect', { risk: 0.9 }, { redirect: true }, 'deny', 'redirect', 'none', /deny threshold/],
    ['no code, risk 0.89', { risk: 0.89 }, {}, 'challenge', 'challenge', 'none', /risk 0.89 ≥ challenge threshold 0.6/],
    ['no code, risk 0.6', { risk: 0.6 }, {}, 'challenge', 'challenge', 'none', /risk 0.6 ≥ challenge threshold 0.6/],
    ['no code, risk 0.59', { risk: 0.59 }, {}, 'allow', 'allow', 'none', /^allowed$/],
    ['no code, risk 0', { risk: 0 }, {}, 'allow', 'allow', 'none', /^allowed$/],
    ['good bot code 19, risk 0', { risk: 0, threatCode: 19 }, {}, 'allow', 'allow', 'none', /^allowed$/],
    ['valid code 0, risk 0.95', { risk: 0.95, threatCode: 0 }, {}, 'deny', 'block', 'none', /deny threshold/],
    ['unlisted code 8, risk 0.7', { risk: 0.7, threatCode: 8 }, {}, 'challenge', 'challenge', 'none', /challenge threshold/],
    // Custom thresholds and lists.
    ['custom deny 0.5, risk 0.5', { risk: 0.5 }, { thresholds: { deny: 0.5, challenge: 0.2 } }, 'deny', 'block', 'none', /deny threshold 0.5/],
    ['custom challenge 0.2, risk 0.2', { risk: 0.2 }, { thresholds: { deny: 0.5, challenge: 0.2 } }, 'challenge', 'challenge', 'none', /challenge threshold 0.2/],
    ['custom challenge 0.2, risk 0.19', { risk: 0.19 }, { thresholds: { deny: 0.5, challenge: 0.2 } }, 'allow', 'allow', 'none', /allowed/],
    ['custom block list', { risk: 0, threatCode: 19 }, { threatCodes: compileThreatCodes({ block: [19] }) }, 'deny', 'block', 'block', /19 is in the block group/],
    ['emptied block list', { risk: 0, threatCode: 2 }, { threatCodes: compileThreatCodes({ block: [] }) }, 'allow', 'allow', 'none', /allowed/],
  ])('%s', (_label, verdict, overrides, conclusion, wouldAction, group, reason) => {
    const result = applyPolicy(verdict, options(overrides));
    expect(result.verdict).toBe(conclusion);
    expect(result.wouldAction).toBe(wouldAction);
    expect(result.action).toBe(wouldAction);
    expect(result.threatGroup).toBe(group);
    expect(result.reason).toMatch(reason);
  });
});

describe('applyPolicy: risk decides for the embedded engine (riskDecides)', () => {
  type Row = [string, Verdict, Partial<PolicyOptions>, 'allow' | 'challenge' | 'deny', 'block' | 'captcha' | 'none', RegExp];
  it.each<Row>([
    // Issue 13: a datacenter_ip weight of 0.01 is a knob that works: allowed whatever its code's group.
    ['datacenter_ip at 0.01 (code 13, captcha group)', { risk: 0.01, threatCode: 13, riskDecides: true }, {}, 'allow', 'captcha', /^allowed: risk 0.01 < challenge threshold 0.6$/],
    ['datacenter_ip at 0.7', { risk: 0.7, threatCode: 13, riskDecides: true }, {}, 'challenge', 'captcha', /^risk 0.7 ≥ challenge threshold 0.6$/],
    ['a block-group code below the challenge threshold', { risk: 0.3, threatCode: 10, riskDecides: true }, {}, 'allow', 'block', /^allowed: risk 0.3 < challenge threshold 0.6$/],
    ['a block-group code between the thresholds', { risk: 0.6, threatCode: 3, riskDecides: true }, {}, 'challenge', 'block', /challenge threshold/],
    ['a block-group code at the deny threshold', { risk: 0.9, threatCode: 10, riskDecides: true }, {}, 'deny', 'block', /^risk 0.9 ≥ deny threshold 0.9$/],
    ['no code, risk 0.95', { risk: 0.95, riskDecides: true }, {}, 'deny', 'none', /^risk 0.95 ≥ deny threshold 0.9$/],
    ['no code, risk 0.59', { risk: 0.59, riskDecides: true }, {}, 'allow', 'none', /^allowed$/],
    // What softens a deny: a code in the captcha group, or the verdict's cap.
    ['a captcha-group code softens a deny', { risk: 0.95, threatCode: 5, riskDecides: true }, {}, 'challenge', 'captcha', /^risk 0.95 ≥ deny threshold 0.9, and threat code 5 is in the captcha group$/],
    ['cap softens a deny', { risk: 0.95, threatCode: 10, cap: 'challenge', riskDecides: true }, {}, 'challenge', 'block', /^risk 0.95 ≥ deny threshold 0.9, and its strongest signal may only challenge$/],
    ['cap at risk 1, no code', { risk: 1, cap: 'challenge', riskDecides: true }, {}, 'challenge', 'none', /may only challenge/],
    ['cap changes nothing below the deny threshold', { risk: 0.3, threatCode: 11, cap: 'challenge', riskDecides: true }, {}, 'allow', 'block', /^allowed/],
    ['cap between the thresholds: a challenge', { risk: 0.7, threatCode: 11, cap: 'challenge', riskDecides: true }, {}, 'challenge', 'block', /challenge threshold/],
    // The provider's own action still comes first; the cap does not soften a deny list.
    ['a provider deny (deny list) with risk 1', { risk: 1, action: 'deny', riskDecides: true }, {}, 'deny', 'none', /provider action deny/],
    ['a provider deny at low risk', { risk: 0.2, action: 'deny', riskDecides: true }, {}, 'deny', 'none', /provider action deny/],
    // Custom thresholds and lists are honoured.
    ['custom thresholds', { risk: 0.5, threatCode: 13, riskDecides: true }, { thresholds: { deny: 0.5, challenge: 0.2 } }, 'challenge', 'captcha', /deny threshold 0.5, and threat code 13 is in the captcha group/],
    ['custom thresholds, code out of the groups', { risk: 0.5, threatCode: 8, riskDecides: true }, { thresholds: { deny: 0.5, challenge: 0.2 } }, 'deny', 'none', /^risk 0.5 ≥ deny threshold 0.5$/],
    ['a code moved to the captcha group softens', { risk: 0.95, threatCode: 10, riskDecides: true }, { threatCodes: compileThreatCodes({ block: [2, 3], captcha: [10] }) }, 'challenge', 'captcha', /captcha group/],
  ])('%s', (_label, verdict, overrides, conclusion, group, reason) => {
    const result = applyPolicy(verdict, options(overrides));
    expect(result.verdict).toBe(conclusion);
    expect(result.threatGroup).toBe(group);
    expect(result.reason).toMatch(reason);
    expect(result.wouldAction).toBe(conclusion === 'deny' ? 'block' : conclusion);
  });

  it('remote verdicts (no riskDecides) keep the threat-code-group semantics', () => {
    // The same verdicts without riskDecides: the code's group decides first.
    expect(applyPolicy({ risk: 0.01, threatCode: 13 }, options()).verdict).toBe('challenge');
    expect(applyPolicy({ risk: 0.3, threatCode: 10 }, options()).verdict).toBe('deny');
    expect(applyPolicy({ risk: 0.95, threatCode: 5 }, options()).verdict).toBe('challenge');
    expect(applyPolicy({ risk: 0.95 }, options()).verdict).toBe('deny');
    // riskDecides: false is no riskDecides.
    expect(applyPolicy({ risk: 0.01, threatCode: 13, riskDecides: false }, options()).verdict).toBe('challenge');
  });

  it('a cap never lets a verdict block, whoever sent it', () => {
    expect(applyPolicy({ risk: 0, threatCode: 10, cap: 'challenge' }, options())).toMatchObject({ verdict: 'challenge', reason: 'threat code 10 is in the block group, capped at challenge' });
    expect(applyPolicy({ risk: 0.95, cap: 'challenge' }, options())).toMatchObject({ verdict: 'challenge', reason: 'risk 0.95 ≥ deny threshold 0.9, capped at challenge' });
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.option(fc.integer({ min: 0, max: 21 }), { nil: undefined }), fc.boolean(), (risk, threatCode, riskDecides) => {
        const verdict: Verdict = { risk, cap: 'challenge', riskDecides, ...(threatCode === undefined ? {} : { threatCode }) };
        expect(applyPolicy(verdict, options()).verdict).not.toBe('deny');
      }),
    );
  });

  it('with riskDecides, the action grows with risk alone (monotone), whatever the code (property)', () => {
    const rank = { allow: 0, challenge: 1, deny: 2 } as const;
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.option(fc.integer({ min: 0, max: 21 }), { nil: undefined }), (a, b, threatCode) => {
        const [low, high] = a <= b ? [a, b] : [b, a];
        const at = (risk: number) => applyPolicy({ risk, riskDecides: true, ...(threatCode === undefined ? {} : { threatCode }) }, options()).verdict;
        expect(rank[at(low)]).toBeLessThanOrEqual(rank[at(high)]);
        if (low < 0.6) expect(at(low)).toBe('allow');
      }),
    );
  });
});

describe('applyPolicy without a challenge handler', () => {
  it.each<[string, Verdict]>([
    ['provider challenge', { risk: 0, action: 'challenge' }],
    ['captcha code', { risk: 0, threatCode: 13 }],
    ['risk at the challenge threshold', { risk: 0.6 }],
  ])('%s → challenge verdict and wouldAction in both modes, allowed, and the reason says so', (_label, verdict) => {
    // Issue 13: monitoring reported wouldAction 'allow' for every challenge when no
    // handler was configured, hiding what the policy asks for.
    for (const mode of ['blocking', 'monitoring'] as const) {
      const result = applyPolicy(verdict, options({ canChallenge: false, mode }));
      expect(result.verdict).toBe('challenge');
      expect(result.wouldAction).toBe('challenge');
      expect(result.action).toBe('allow');
      expect(result.reason).toMatch(/no challenge is served \(challenge: false and no onChallenge\), so the request is allowed/);
    }
  });

  it('does not affect denials nor plain allows', () => {
    const denied = applyPolicy({ risk: 0.95 }, options({ canChallenge: false }));
    expect(denied.wouldAction).toBe('block');
    expect(denied.reason).not.toMatch(/onChallenge/);
    const allowed = applyPolicy({ risk: 0.1 }, options({ canChallenge: false }));
    expect(allowed.wouldAction).toBe('allow');
    expect(allowed.reason).toBe('allowed');
  });
});

const BLOCK_AND_CAPTCHA = [2, 3, 4, 5, 6, 7, 10, 11, 13, 14, 15, 16, 17, 18];

describe('applyPolicy modes', () => {
  it.each<[string, Verdict, 'allow' | 'block' | 'redirect' | 'challenge', Partial<PolicyOptions>]>([
    ['block', { risk: 0.95 }, 'block', {}],
    ['redirect', { risk: 0.95 }, 'redirect', { redirect: true }],
    ['challenge', { risk: 0.7 }, 'challenge', {}],
    ['allow', { risk: 0.1 }, 'allow', {}],
  ])('monitoring mode allows what blocking mode would %s', (_label, verdict, wouldAction, overrides) => {
    const monitoring = applyPolicy(verdict, options({ ...overrides, mode: 'monitoring' }));
    const blocking = applyPolicy(verdict, options({ ...overrides, mode: 'blocking' }));
    expect(monitoring.action).toBe('allow');
    expect(monitoring.wouldAction).toBe(wouldAction);
    expect(blocking.action).toBe(wouldAction);
    expect(blocking.wouldAction).toBe(wouldAction);
    expect({ ...monitoring, action: undefined }).toEqual({ ...blocking, action: undefined });
  });

  const verdictArb = fc.record(
    {
      risk: fc.double({ min: 0, max: 1, noNaN: true }),
      action: fc.constantFrom<Verdict['action']>('allow', 'challenge', 'deny', undefined),
      threatCode: fc.option(fc.integer({ min: -5, max: 50 }), { nil: undefined }),
      riskDecides: fc.constantFrom(true, false, undefined),
      cap: fc.constantFrom<Verdict['cap']>('challenge', undefined),
    },
    { requiredKeys: ['risk'] },
  ) as fc.Arbitrary<Verdict>;
  const optionsArb = fc.record({ redirect: fc.boolean(), canChallenge: fc.boolean(), mode: fc.constantFrom<'blocking' | 'monitoring'>('blocking', 'monitoring') });

  // Wider than the Verdict type: any number or none as threat code, any string or none as action.
  const anyVerdictArb = fc.record(
    {
      risk: fc.double({ min: 0, max: 1, noNaN: true }),
      action: fc.oneof(fc.constantFrom('allow', 'challenge', 'deny', undefined), fc.string()),
      threatCode: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(...[...BLOCK_AND_CAPTCHA, undefined])),
    },
    { requiredKeys: ['risk'] },
  ) as fc.Arbitrary<Verdict>;

  it('monitoring mode always allows, whatever the verdict (property)', () => {
    fc.assert(
      fc.property(anyVerdictArb, optionsArb, fc.constantFrom(undefined, { deny: 0.5, challenge: 0.2 }, { deny: 1, challenge: 0 }), (verdict, flags, thresholds) => {
        const result = applyPolicy(verdict, options({ ...flags, mode: 'monitoring', thresholds: compileThresholds(thresholds) }));
        expect(result.action).toBe('allow');
      }),
    );
  });

  it('monitoring mode allows the typed verdicts too (property)', () => {
    fc.assert(
      fc.property(verdictArb, optionsArb, (verdict, flags) => {
        const result = applyPolicy(verdict, options({ ...flags, mode: 'monitoring' }));
        expect(result.action).toBe('allow');
      }),
    );
  });

  it('blocking mode acts as it would, except a challenge no handler can serve, which it allows (property)', () => {
    fc.assert(
      fc.property(verdictArb, optionsArb, (verdict, flags) => {
        const result = applyPolicy(verdict, options({ ...flags, mode: 'blocking' }));
        expect(result.action).toBe(result.wouldAction === 'challenge' && !flags.canChallenge ? 'allow' : result.wouldAction);
      }),
    );
  });

  it('both modes agree on everything but the action (property)', () => {
    fc.assert(
      fc.property(verdictArb, optionsArb, (verdict, flags) => {
        const monitoring = applyPolicy(verdict, options({ ...flags, mode: 'monitoring' }));
        const blocking = applyPolicy(verdict, options({ ...flags, mode: 'blocking' }));
        expect(monitoring.verdict).toBe(blocking.verdict);
        expect(monitoring.wouldAction).toBe(blocking.wouldAction);
        expect(monitoring.threatGroup).toBe(blocking.threatGroup);
        expect(monitoring.reason).toBe(blocking.reason);
      }),
    );
  });

  it('follows the resolution order for any verdict (property)', () => {
    fc.assert(
      fc.property(verdictArb, optionsArb, (verdict, flags) => {
        const opts = options(flags);
        const result = applyPolicy(verdict, opts);
        const group = verdict.threatCode === undefined ? 'none' : opts.threatCodes.block.has(verdict.threatCode) ? 'block' : opts.threatCodes.captcha.has(verdict.threatCode) ? 'captcha' : 'none';
        let expected: 'allow' | 'challenge' | 'deny';
        const capped = verdict.cap === 'challenge';
        if (verdict.action === 'deny' || verdict.action === 'challenge') expected = verdict.action;
        else if (verdict.riskDecides === true) {
          // Risk decides; the captcha group and the cap only soften a deny.
          if (verdict.risk >= 0.9) expected = capped || group === 'captcha' ? 'challenge' : 'deny';
          else if (verdict.risk >= 0.6) expected = 'challenge';
          else expected = 'allow';
        } else if (group === 'block') expected = capped ? 'challenge' : 'deny';
        else if (group === 'captcha') expected = 'challenge';
        else if (verdict.risk >= 0.9) expected = capped ? 'challenge' : 'deny';
        else if (verdict.risk >= 0.6) expected = 'challenge';
        else expected = 'allow';
        expect(result.verdict).toBe(expected);
        expect(result.threatGroup).toBe(group);
        const would = expected === 'deny' ? (flags.redirect ? 'redirect' : 'block') : expected === 'challenge' ? 'challenge' : 'allow';
        expect(result.wouldAction).toBe(would);
        // Blocking mode acts on wouldAction, except a challenge no handler can serve.
        const acted = flags.mode === 'blocking' && (would !== 'challenge' || flags.canChallenge) ? would : 'allow';
        expect(result.action).toBe(acted);
      }),
    );
  });
});
