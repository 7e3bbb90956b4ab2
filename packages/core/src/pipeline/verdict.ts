/**
 * What Vigil accepts of a provider's answer: a verdict with a risk from 0 to 1 and, when
 * given, a known action and a whole threat code; anything else fails the provider over
 * with a short reason.
 */
import type { Verdict } from '../providers/types.js';

/** A provider's failover reason, as a short string (a provider can hand over anything). */
export function reasonOf(value: unknown, fallback: string): string {
  return typeof value === 'string' && value !== '' ? value.slice(0, 100) : fallback;
}

/** The verdict when it is one Vigil can act on, else why not (the failover reason). */
export function checkVerdict(value: unknown): Verdict | string {
  if (value === null || typeof value !== 'object') return 'the verdict is not an object';
  const v = value as Verdict;
  if (typeof v.risk !== 'number' || !(v.risk >= 0 && v.risk <= 1)) return 'risk is not a number from 0 to 1';
  if (v.action !== undefined && v.action !== 'allow' && v.action !== 'challenge' && v.action !== 'deny') return 'action is not allow, challenge or deny';
  if (v.threatCode !== undefined && (typeof v.threatCode !== 'number' || !Number.isInteger(v.threatCode) || v.threatCode < 0)) return 'threatCode is not a whole number';
  return v;
}
