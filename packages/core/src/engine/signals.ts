/** Names of the embedded engine's signals (Castle's where Castle has one). */
export type SignalName =
  | 'web_crawler'
  | 'http_client_library'
  | 'headless_browser'
  | 'missing_user_agent'
  | 'missing_headers'
  | 'high_activity_ip'
  | 'failed_logins_ip'
  | 'credential_stuffing'
  | 'credential_stuffing_range'
  | 'credential_stuffing_device'
  | 'multiple_accounts_ip'
  | 'multiple_accounts_device'
  | 'multiple_networks_device'
  | 'multiple_networks_account'
  | 'unfamiliar_login_during_attack'
  | 'high_activity_account'
  | 'ip_denylisted'
  | 'datacenter_ip'
  | 'proxy_ip'
  | 'disposable_email_domain'
  | 'invalid_email'
  | 'blocked_user'
  | 'reported_device'
  | 'approved_device'
  | 'new_device'
  | 'multiple_signups_mailbox'
  | 'reset_enumeration';

/** One signal that fired for an event. */
export interface Signal {
  name: SignalName;
  /** Contribution to risk, 0..1. */
  weight: number;
  /** CHEQ threat code, when the signal classifies the traffic. */
  code?: number;
  /**
   * The strongest action this signal may cause on its own: `challenge` for signals that
   * must never lock a real person out (missing headers, attacks on an account).
   */
  cap?: 'challenge';
  /** Forces a deny whatever else fired (block lists). */
  deny?: boolean;
  /** A sentence for the decision's reasons. */
  reason: string;
  /** Measured values, for the decision's signals map. */
  details?: Record<string, unknown>;
}

/** What the engine concluded from its signals. */
export interface Score {
  risk: number;
  threatCode: number | undefined;
  /** `deny` when a block list matched. */
  action: 'deny' | undefined;
  /** `challenge` when the strongest signal may only challenge: the policy never blocks on it. */
  cap: 'challenge' | undefined;
  signals: Readonly<Record<string, unknown>>;
  reasons: string[];
}

/**
 * Combines signals: risk is their noisy-OR (`1 − Π(1 − weight)`: independent pieces of
 * evidence, none of which alone reaches certainty), the threat code is the strongest
 * signal's, the action is `deny` when a block list matched, and `cap` is `challenge`
 * when the strongest signal may only challenge. Everything else is left to the policy,
 * which weighs risk against its thresholds (so weights are real knobs). An approved
 * device (negative evidence) scales the risk down.
 */
export function combineSignals(signals: readonly Signal[], riskScale = 1): Score {
  if (signals.length === 0) return { risk: 0, threatCode: undefined, action: undefined, cap: undefined, signals: NO_SIGNALS, reasons: [] };
  let keep = 1;
  let strongest: Signal | undefined;
  let deny = false;
  const map: Record<string, unknown> = {};
  const reasons: string[] = [];
  for (const signal of signals) {
    keep *= 1 - Math.min(1, Math.max(0, signal.weight));
    if (signal.weight > 0 && (!strongest || signal.weight > strongest.weight)) strongest = signal;
    if (signal.deny) deny = true;
    map[signal.name] = entryOf(signal);
    reasons.push(signal.reason);
  }
  const risk = Math.round((1 - keep) * riskScale * 1000) / 1000;
  return {
    risk: Math.min(1, risk),
    threatCode: strongest?.code,
    action: deny ? 'deny' : undefined,
    cap: !deny && strongest?.cap === 'challenge' ? 'challenge' : undefined,
    signals: Object.freeze(map),
    reasons,
  };
}

const NO_SIGNALS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * A signal's entry in the verdict's map: its weight, code and details, frozen and plain
 * (finite numbers, strings, lists of strings: what the rules put there), so that a
 * decision can take the map as it is (see `PLAIN_SIGNALS`).
 */
function entryOf(signal: Signal): Readonly<Record<string, unknown>> {
  const entry: Record<string, unknown> = { weight: signal.weight };
  if (signal.code !== undefined) entry.code = signal.code;
  const details = signal.details;
  if (details !== undefined) {
    for (const key in details) {
      const value = details[key];
      if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) entry[key] = value;
      else if (Array.isArray(value)) entry[key] = Object.freeze(value.filter((item): item is string => typeof item === 'string'));
    }
  }
  return Object.freeze(entry);
}
