import { checkKnownOptions } from '../config/options.js';
import { VigilConfigError } from '../errors.js';
import type { Verdict } from '../providers/types.js';
import type { DecisionAction, Mode, PolicyVerdict } from './decision.js';
import { type CompiledThreatCodes, classifyThreat, type ThreatGroup } from './threat-codes.js';

/** Risk thresholds, 0..1; `challenge` must be below `deny`. */
export interface Thresholds {
  /** Risk at or above which a request is blocked. Default 0.9. */
  deny?: number;
  /** Risk at or above which a request is challenged. Default 0.6. */
  challenge?: number;
}

/** Validated thresholds. */
export interface CompiledThresholds {
  deny: number;
  challenge: number;
}

const THRESHOLD_KEYS = ['deny', 'challenge'];

/** Validates `thresholds`. Throws {@link VigilConfigError}. */
export function compileThresholds(thresholds: Thresholds | undefined): CompiledThresholds {
  if (thresholds !== undefined && (thresholds === null || typeof thresholds !== 'object' || Array.isArray(thresholds))) {
    throw new VigilConfigError('VIGIL_E_THRESHOLDS', 'thresholds', thresholds, 'which is not an object', 'Pass { deny?: number, challenge?: number }, e.g. { deny: 0.9, challenge: 0.6 }.');
  }
  if (thresholds !== undefined) checkKnownOptions(thresholds, THRESHOLD_KEYS, 'thresholds');
  // `=== undefined`, not `??`: a null threshold is a mistake to report, not a default.
  const deny = thresholds?.deny === undefined ? 0.9 : thresholds.deny;
  const challenge = thresholds?.challenge === undefined ? 0.6 : thresholds.challenge;
  for (const [name, value] of [['deny', deny], ['challenge', challenge]] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
      throw new VigilConfigError('VIGIL_E_THRESHOLDS', `thresholds.${name}`, value, 'which is not a risk between 0 and 1', `Use a number from 0 to 1 (default ${name === 'deny' ? 0.9 : 0.6}).`);
    }
  }
  if (challenge >= deny && thresholds?.challenge === undefined) {
    // Only deny was given: it is the one at fault, below the default challenge.
    throw new VigilConfigError(
      'VIGIL_E_THRESHOLDS',
      'thresholds.deny',
      deny,
      `which is not above thresholds.challenge (${challenge}, the default)`,
      `Deny must be above challenge: raise thresholds.deny above ${challenge}${deny > 0 ? `, or also set a lower challenge, e.g. { challenge: ${Math.round(deny * 50) / 100}, deny: ${deny} }` : ''}.`,
    );
  }
  if (challenge >= deny) {
    throw new VigilConfigError(
      'VIGIL_E_THRESHOLDS',
      'thresholds.challenge',
      challenge,
      `which is not below thresholds.deny (${deny})`,
      'Challenge must start below deny, e.g. { challenge: 0.6, deny: 0.9 }.',
    );
  }
  return { deny, challenge };
}

/** Everything the policy needs besides the verdict. */
export interface PolicyOptions {
  mode: Mode;
  threatCodes: CompiledThreatCodes;
  thresholds: CompiledThresholds;
  /** A `redirectUrl` is configured: blocks become redirects. */
  redirect: boolean;
  /** An `onChallenge` handler is configured: challenges can be handed off. */
  canChallenge: boolean;
}

/** The policy's reading of one verdict. */
export interface PolicyResult {
  verdict: PolicyVerdict;
  action: DecisionAction;
  wouldAction: DecisionAction;
  threatGroup: ThreatGroup;
  /** Why the policy concluded as it did. */
  reason: string;
}

/**
 * Applies Vigil's resolution order to a verdict: the provider's own `deny` /
 * `challenge` first; then, for a verdict whose risk decides (`riskDecides`, the
 * embedded engine), risk against the thresholds, a deny softened to a challenge by the
 * captcha group or the verdict's `cap`; otherwise the threat code's group, then risk
 * against the thresholds; else allow. A `cap: 'challenge'` never lets a verdict block. `wouldAction` is what the policy calls for (`challenge` even without an
 * `onChallenge` handler); `action` is what happens now: always `allow` in monitoring
 * mode, and in blocking mode too for a challenge no handler can serve (the reason
 * says so).
 */
export function applyPolicy(verdict: Verdict, options: PolicyOptions): PolicyResult {
  const threatGroup = classifyThreat(verdict.threatCode, options.threatCodes);
  let conclusion: PolicyVerdict;
  let reason: string;
  const { deny, challenge } = options.thresholds;
  if (verdict.action === 'deny' || verdict.action === 'challenge') {
    conclusion = verdict.action;
    reason = `provider action ${verdict.action}`;
  } else if (verdict.riskDecides === true) {
    // The embedded engine: risk (its weights) decides how strong the action is; the
    // captcha group and the verdict's cap can only soften a deny into a challenge.
    if (verdict.risk >= deny) {
      const soft = verdict.cap === 'challenge' ? 'its strongest signal may only challenge' : threatGroup === 'captcha' ? `threat code ${verdict.threatCode} is in the captcha group` : undefined;
      conclusion = soft === undefined ? 'deny' : 'challenge';
      reason = `risk ${verdict.risk} ≥ deny threshold ${deny}${soft === undefined ? '' : `, and ${soft}`}`;
    } else if (verdict.risk >= challenge) {
      conclusion = 'challenge';
      reason = `risk ${verdict.risk} ≥ challenge threshold ${challenge}`;
    } else {
      conclusion = 'allow';
      reason = verdict.threatCode === undefined ? 'allowed' : `allowed: risk ${verdict.risk} < challenge threshold ${challenge}`;
    }
  } else if (threatGroup === 'block') {
    conclusion = verdict.cap === 'challenge' ? 'challenge' : 'deny';
    reason = `threat code ${verdict.threatCode} is in the block group${verdict.cap === 'challenge' ? ', capped at challenge' : ''}`;
  } else if (threatGroup === 'captcha') {
    conclusion = 'challenge';
    reason = `threat code ${verdict.threatCode} is in the captcha group`;
  } else if (verdict.risk >= deny) {
    conclusion = verdict.cap === 'challenge' ? 'challenge' : 'deny';
    reason = `risk ${verdict.risk} ≥ deny threshold ${deny}${verdict.cap === 'challenge' ? ', capped at challenge' : ''}`;
  } else if (verdict.risk >= challenge) {
    conclusion = 'challenge';
    reason = `risk ${verdict.risk} ≥ challenge threshold ${challenge}`;
  } else {
    conclusion = 'allow';
    reason = 'allowed';
  }
  const wouldAction = wouldActionOf(conclusion, options.redirect);
  if (conclusion === 'challenge' && !options.canChallenge) reason += '; no challenge is served (challenge: false and no onChallenge), so the request is allowed';
  return {
    verdict: conclusion,
    action: actionInMode(wouldAction, options.mode, options.canChallenge),
    wouldAction,
    threatGroup,
    reason,
  };
}

/**
 * What the adapter does now with what the policy calls for: monitoring mode always
 * allows; blocking mode acts, except on a challenge that nothing can serve (no
 * `onChallenge` yet), which it allows. `wouldAction` stays `challenge` either way, so
 * that monitoring reports what the policy asks for (issue 13).
 */
export function actionInMode(wouldAction: DecisionAction, mode: Mode, canChallenge: boolean): DecisionAction {
  if (mode !== 'blocking') return 'allow';
  return wouldAction === 'challenge' && !canChallenge ? 'allow' : wouldAction;
}

/** What blocking mode does for a conclusion: a denial blocks, or redirects when `redirectUrl` is set. */
export function wouldActionOf(conclusion: PolicyResult['verdict'], redirect: boolean): DecisionAction {
  return conclusion === 'deny' ? (redirect ? 'redirect' : 'block') : conclusion;
}

/**
 * The policy's answer when the provider failed over (`reason`): the `failover`
 * strategy's conclusion, mapped to an action as a provider's would be.
 */
export function failoverPolicy(strategy: 'allow' | 'deny' | 'challenge' | 'throw', mode: Mode, canChallenge: boolean, redirect: boolean, reason: string): PolicyResult {
  const conclusion: PolicyResult['verdict'] = strategy === 'deny' ? 'deny' : strategy === 'challenge' ? 'challenge' : 'allow';
  let text = `failover (${reason}): ${strategy === 'throw' ? 'throw' : conclusion}`;
  if (strategy === 'challenge' && !canChallenge) text += '; no challenge is served (challenge: false and no onChallenge), so the request is allowed';
  if (strategy === 'throw' && mode === 'monitoring') text += '; monitoring mode never changes a response, so the request is allowed';
  const wouldAction = wouldActionOf(conclusion, redirect);
  return { verdict: conclusion, action: actionInMode(wouldAction, mode, canChallenge), wouldAction, threatGroup: 'none', reason: text };
}
