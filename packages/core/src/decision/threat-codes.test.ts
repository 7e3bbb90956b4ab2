import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VigilConfigError } from '../errors.js';
import {
  classifyThreat,
  compileThreatCodes,
  DEFAULT_BLOCK_CODES,
  DEFAULT_CAPTCHA_CODES,
  THREAT_CODES,
  type ThreatCodeLists,
} from './threat-codes.js';
import { thrown } from '../test-support/thrown.js';

const BLOCK = [2, 3, 6, 7, 10, 11, 16, 18];
const CAPTCHA = [4, 5, 13, 14, 15, 17];

describe('defaults', () => {
  it('match the design', () => {
    expect([...DEFAULT_BLOCK_CODES]).toEqual(BLOCK);
    expect([...DEFAULT_CAPTCHA_CODES]).toEqual(CAPTCHA);
  });

  it('are frozen', () => {
    expect(Object.isFrozen(DEFAULT_BLOCK_CODES)).toBe(true);
    expect(Object.isFrozen(DEFAULT_CAPTCHA_CODES)).toBe(true);
    expect(Object.isFrozen(THREAT_CODES)).toBe(true);
  });

  it('are disjoint and known CHEQ codes', () => {
    for (const code of BLOCK) expect(CAPTCHA).not.toContain(code);
    for (const code of [...BLOCK, ...CAPTCHA]) expect(THREAT_CODES[code]).toBeTypeOf('string');
  });

  it.each<[number, string]>([
    [0, 'valid'],
    [2, 'scrapers'],
    [3, 'automation tools'],
    [10, 'malicious bots'],
    [13, 'data centers'],
    [19, 'good bot'],
    [21, 'geo exclusions'],
  ])('names code %i %j', (code, name) => {
    expect(THREAT_CODES[code]).toBe(name);
  });
});

describe('classifyThreat with the default lists', () => {
  it.each(BLOCK)('code %i → block', (code) => {
    expect(classifyThreat(code)).toBe('block');
  });

  it.each(CAPTCHA)('code %i → captcha', (code) => {
    expect(classifyThreat(code)).toBe('captcha');
  });

  it.each([0, 1, 8, 9, 12, 19, 20, 21, 22, 99, -1, 1.5, Number.NaN])('code %d → none', (code) => {
    expect(classifyThreat(code)).toBe('none');
  });

  it('undefined → none', () => {
    expect(classifyThreat(undefined)).toBe('none');
    expect(classifyThreat(undefined, { block: [1] })).toBe('none');
  });

  it('the documented examples', () => {
    expect(classifyThreat(10)).toBe('block');
    expect(classifyThreat(13)).toBe('captcha');
    expect(classifyThreat(19)).toBe('none');
    expect(() => classifyThreat(13, { block: [13] })).toThrow(VigilConfigError);
  });
});

describe('classifyThreat with given lists', () => {
  it.each<[ThreatCodeLists, number, 'block' | 'captcha' | 'none']>([
    // One list given: the other keeps its default.
    [{ block: [19] }, 19, 'block'],
    [{ block: [19] }, 2, 'none'],
    [{ block: [19] }, 13, 'captcha'],
    [{ captcha: [20] }, 20, 'captcha'],
    [{ captcha: [20] }, 13, 'none'],
    [{ captcha: [20] }, 2, 'block'],
    // Both given.
    [{ block: [1], captcha: [2] }, 1, 'block'],
    [{ block: [1], captcha: [2] }, 2, 'captcha'],
    [{ block: [1], captcha: [2] }, 3, 'none'],
    // Empty lists.
    [{ block: [] }, 2, 'none'],
    [{ block: [] }, 13, 'captcha'],
    [{ captcha: [] }, 13, 'none'],
    [{ block: [], captcha: [] }, 10, 'none'],
    // Empty object: both defaults.
    [{}, 2, 'block'],
    [{}, 13, 'captcha'],
    [{}, 19, 'none'],
    // A code in neither list is allowed.
    [{ block: [100], captcha: [200] }, 300, 'none'],
  ])('%o: code %i → %s', (lists, code, expected) => {
    expect(classifyThreat(code, lists)).toBe(expected);
  });

  it('accepts compiled lists', () => {
    const compiled = compileThreatCodes({ block: [1], captcha: [2] });
    expect(classifyThreat(1, compiled)).toBe('block');
    expect(classifyThreat(2, compiled)).toBe('captcha');
    expect(classifyThreat(3, compiled)).toBe('none');
  });

  it('answers the same for the same lists object, many times', () => {
    const lists = { block: [19] };
    for (let i = 0; i < 5; i++) {
      expect(classifyThreat(19, lists)).toBe('block');
      expect(classifyThreat(13, lists)).toBe('captcha');
    }
  });

  it('throws for invalid lists every time', () => {
    const lists = { block: [13] };
    expect(() => classifyThreat(1, lists)).toThrow(VigilConfigError);
    expect(() => classifyThreat(1, lists)).toThrow(VigilConfigError);
  });

  it('classifies any code as its list says (property)', () => {
    const code = fc.integer({ min: 0, max: 40 });
    fc.assert(
      fc.property(fc.uniqueArray(code, { maxLength: 10 }), fc.uniqueArray(code, { maxLength: 10 }), code, (a, b, probe) => {
        const captcha = b.filter((c) => !a.includes(c));
        const expected = a.includes(probe) ? 'block' : captcha.includes(probe) ? 'captcha' : 'none';
        expect(classifyThreat(probe, { block: a, captcha })).toBe(expected);
      }),
    );
  });
});

describe('compileThreatCodes', () => {
  it('returns the defaults as sets', () => {
    const compiled = compileThreatCodes(undefined);
    expect([...compiled.block]).toEqual(BLOCK);
    expect([...compiled.captcha]).toEqual(CAPTCHA);
  });

  it('keeps the default of the list left out', () => {
    expect([...compileThreatCodes({ block: [1] }).captcha]).toEqual(CAPTCHA);
    expect([...compileThreatCodes({ captcha: [1] }).block]).toEqual(BLOCK);
  });

  it('tolerates duplicates within one list', () => {
    expect([...compileThreatCodes({ block: [1, 1, 19] }).block]).toEqual([1, 19]);
  });

  describe('overlap', () => {
    it.each<[ThreatCodeLists, string]>([
      [{ block: [13] }, 'code 13 is in both block and captcha'],
      [{ captcha: [2] }, 'code 2 is in both block and captcha'],
      [{ block: [2, 3], captcha: [2] }, 'code 2 is in both block and captcha'],
      [{ block: [2, 3], captcha: [3, 2] }, 'codes 3, 2 are in both block and captcha'],
      [{ block: [4, 5, 19] }, 'codes 4, 5 are in both block and captcha'],
      [{ block: [2, 2], captcha: [2, 2] }, 'code 2 is in both block and captcha'],
      [{ block: BLOCK, captcha: BLOCK }, `codes ${BLOCK.join(', ')} are in both block and captcha`],
    ])('%o → %j', (lists, problem) => {
      const err = thrown(() => compileThreatCodes(lists));
      expect(err.code).toBe('VIGIL_E_THREAT_CODES_OVERLAP');
      expect(err.option).toBe('threatCodes');
      expect(err.message.startsWith('VIGIL_E_THREAT_CODES_OVERLAP: threatCodes is ')).toBe(true);
      expect(err.message).toContain(problem);
      expect(err.message).toMatch(/remove it from one of the two lists/);
      expect(err.value).toEqual({
        block: lists.block ?? DEFAULT_BLOCK_CODES,
        captcha: lists.captcha ?? DEFAULT_CAPTCHA_CODES,
      });
    });

    it('classifyThreat refuses overlapping lists too', () => {
      const err = thrown(() => classifyThreat(13, { block: [13] }));
      expect(err.code).toBe('VIGIL_E_THREAT_CODES_OVERLAP');
      expect(err.message).toContain('code 13 is in both block and captcha');
    });

    it('always lists exactly the shared codes (property)', () => {
      const code = fc.integer({ min: 0, max: 30 });
      fc.assert(
        fc.property(fc.array(code, { maxLength: 8 }), fc.array(code, { maxLength: 8 }), (block, captcha) => {
          const shared = [...new Set(captcha.filter((c) => block.includes(c)))];
          if (shared.length === 0) {
            expect(() => compileThreatCodes({ block, captcha })).not.toThrow();
          } else {
            const err = thrown(() => compileThreatCodes({ block, captcha }));
            expect(err.code).toBe('VIGIL_E_THREAT_CODES_OVERLAP');
            expect(err.message).toContain(`${shared.join(', ')} ${shared.length === 1 ? 'is' : 'are'} in both`);
          }
        }),
      );
    });
  });

  describe('invalid codes', () => {
    it.each<[string, unknown, string]>([
      ['a fraction', 2.5, '2.5'],
      ['a negative', -1, '-1'],
      ['a string', '2', '"2"'],
      ['NaN', Number.NaN, 'NaN'],
      ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
      ['null', null, 'null'],
      ['an object', {}, '{}'],
    ])('rejects %s in block', (_label, code, shown) => {
      const err = thrown(() => compileThreatCodes({ block: [2, code as number] }));
      expect(err.code).toBe('VIGIL_E_THREAT_CODES');
      expect(err.option).toBe('threatCodes.block');
      expect(err.message.startsWith('VIGIL_E_THREAT_CODES: threatCodes.block is ')).toBe(true);
      expect(err.message).toContain(`holds ${shown}, not whole non-negative numbers`);
      expect(err.message).toMatch(/CHEQ integers/);
    });

    it('rejects an invalid code in captcha, naming captcha', () => {
      const err = thrown(() => compileThreatCodes({ captcha: [4, 4.5] }));
      expect(err.code).toBe('VIGIL_E_THREAT_CODES');
      expect(err.option).toBe('threatCodes.captcha');
      expect(err.message).toContain('4.5');
    });

    it.each([[2], ['2,3'], [null], [{}], [new Set([2])]])('rejects the list %o that is not an array', (list) => {
      const err = thrown(() => compileThreatCodes({ block: list } as unknown as ThreatCodeLists));
      expect(err.code).toBe('VIGIL_E_THREAT_CODES');
      expect(err.option).toBe('threatCodes.block');
      expect(err.message).toMatch(/not an array/);
      expect(err.message).toMatch(/threatCodes\.block: \[2, 3, 10\]/);
    });

    it.each([[null], [[2, 3]], ['block'], [42]])('rejects threatCodes %j that is not an object', (lists) => {
      const err = thrown(() => compileThreatCodes(lists as unknown as ThreatCodeLists));
      expect(err.code).toBe('VIGIL_E_THREAT_CODES');
      expect(err.option).toBe('threatCodes');
      expect(err.message).toMatch(/block\?: number\[\], captcha\?: number\[\]/);
    });

    it.each([['blok'], ['captha'], ['allow'], ['redirect']])('rejects the unknown key %s', (key) => {
      const err = thrown(() => compileThreatCodes({ [key]: [1] } as unknown as ThreatCodeLists));
      expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
      expect(err.option).toBe(`threatCodes.${key}`);
      expect(err.message).toMatch(/"block" and "captcha"/);
    });

    it('uses the option name it is given', () => {
      const err = thrown(() => compileThreatCodes({ block: [1.5] }, 'cheq.threatCodes'));
      expect(err.option).toBe('cheq.threatCodes.block');
    });
  });
});
