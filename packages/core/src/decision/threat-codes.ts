import { VigilConfigError, describeValue } from '../errors.js';

/**
 * CHEQ's threat-code numbering, kept so that CHEQ users keep their configuration.
 * A verdict's `threatCode` names the strongest reason the traffic is invalid.
 */
export const THREAT_CODES = Object.freeze({
  0: 'valid',
  2: 'scrapers',
  3: 'automation tools',
  4: 'frequency capping',
  5: 'abnormal rate limit',
  6: 'excessive rate limit',
  7: 'disabled JavaScript',
  8: 'behavioural anomalies',
  9: 'click farm',
  10: 'malicious bots',
  11: 'false representation',
  13: 'data centers',
  14: 'VPN',
  15: 'proxy',
  16: 'disabled cookies',
  17: 'click hijacking',
  18: 'network anomalies',
  19: 'good bot',
  20: 'crawlers',
  21: 'geo exclusions',
} as Record<number, string>);

/** Codes answered with a block (or a redirect when `redirectUrl` is set) by default. */
export const DEFAULT_BLOCK_CODES: readonly number[] = Object.freeze([2, 3, 6, 7, 10, 11, 16, 18]);
/** Codes answered with a challenge (CAPTCHA hand-off) by default. */
export const DEFAULT_CAPTCHA_CODES: readonly number[] = Object.freeze([4, 5, 13, 14, 15, 17]);

/** The group a threat code falls in. A code in neither list is allowed. */
export type ThreatGroup = 'block' | 'captcha' | 'none';

/** Which codes block and which challenge; see {@link DEFAULT_BLOCK_CODES}. */
export interface ThreatCodeLists {
  block?: readonly number[];
  captcha?: readonly number[];
}

/** Validated threat-code lists, as sets. */
export interface CompiledThreatCodes {
  block: ReadonlySet<number>;
  captcha: ReadonlySet<number>;
}

function checkList(list: unknown, option: string): number[] {
  if (!Array.isArray(list)) {
    throw new VigilConfigError(
      'VIGIL_E_THREAT_CODES',
      option,
      list,
      'which is not an array',
      `Pass an array of CHEQ threat codes, e.g. ${option}: [2, 3, 10].`,
    );
  }
  const bad = list.filter((code) => typeof code !== 'number' || !Number.isInteger(code) || code < 0);
  if (bad.length > 0) {
    throw new VigilConfigError(
      'VIGIL_E_THREAT_CODES',
      option,
      list,
      `which holds ${bad.map((b) => describeValue(b)).join(', ')}, not whole non-negative numbers`,
      'Threat codes are CHEQ integers such as 2 (scrapers) or 13 (data centers).',
    );
  }
  return list as number[];
}

/**
 * Validates the block and captcha lists (giving one keeps the other's default; the
 * two must be disjoint) and returns them as sets. Throws {@link VigilConfigError}.
 */
export function compileThreatCodes(lists: ThreatCodeLists | undefined, option = 'threatCodes'): CompiledThreatCodes {
  if (lists === undefined) return { block: new Set(DEFAULT_BLOCK_CODES), captcha: new Set(DEFAULT_CAPTCHA_CODES) };
  if (lists === null || typeof lists !== 'object' || Array.isArray(lists)) {
    throw new VigilConfigError(
      'VIGIL_E_THREAT_CODES',
      option,
      lists,
      'which is not an object',
      `Pass { block?: number[], captcha?: number[] }, e.g. ${option}: { captcha: [4, 5, 13] }.`,
    );
  }
  for (const key of Object.keys(lists)) {
    if (key !== 'block' && key !== 'captcha') {
      throw new VigilConfigError('VIGIL_E_UNKNOWN_OPTION', `${option}.${key}`, (lists as Record<string, unknown>)[key], 'which is not an option Vigil knows', `${option} takes "block" and "captcha".`);
    }
  }
  const block = lists.block === undefined ? DEFAULT_BLOCK_CODES : checkList(lists.block, `${option}.block`);
  const captcha = lists.captcha === undefined ? DEFAULT_CAPTCHA_CODES : checkList(lists.captcha, `${option}.captcha`);
  const blockSet = new Set(block);
  const overlap = [...new Set(captcha.filter((code) => blockSet.has(code)))];
  if (overlap.length > 0) {
    throw new VigilConfigError(
      'VIGIL_E_THREAT_CODES_OVERLAP',
      option,
      { block, captcha },
      `${overlap.length === 1 ? 'code' : 'codes'} ${overlap.join(', ')} ${overlap.length === 1 ? 'is' : 'are'} in both block and captcha`,
      'A code can only have one answer: remove it from one of the two lists (a list you leave out keeps its default).',
    );
  }
  return { block: blockSet, captcha: new Set(captcha) };
}

const defaultLists = compileThreatCodes(undefined);
const compiledByLists = new WeakMap<object, CompiledThreatCodes>();

/**
 * Says which group a CHEQ threat code belongs to with the given lists (defaults when
 * absent): `'block'`, `'captcha'`, or `'none'` for a code in neither list (allowed).
 *
 * @example
 * classifyThreat(10)                  // 'block' (malicious bots)
 * classifyThreat(13)                  // 'captcha' (data centers)
 * classifyThreat(19)                  // 'none' (good bot)
 * classifyThreat(13, { block: [13] }) // throws: 13 would be in both lists
 */
export function classifyThreat(code: number | undefined, lists?: ThreatCodeLists | CompiledThreatCodes): ThreatGroup {
  if (code === undefined) return 'none';
  let compiled: CompiledThreatCodes;
  if (lists === undefined) compiled = defaultLists;
  else if (lists.block instanceof Set && lists.captcha instanceof Set) compiled = lists as CompiledThreatCodes;
  else {
    compiled = compiledByLists.get(lists) ?? compileThreatCodes(lists as ThreatCodeLists);
    compiledByLists.set(lists, compiled);
  }
  if (compiled.block.has(code)) return 'block';
  if (compiled.captcha.has(code)) return 'captcha';
  return 'none';
}
