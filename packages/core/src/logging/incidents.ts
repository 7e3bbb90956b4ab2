import type { Logger } from './logger.js';

/**
 * The three lines of an incident: its start (warn), a summary at most every
 * `summaryEveryMs` while it lasts (warn), its end (info, or warn for loggers without info).
 */
export interface IncidentCodes {
  /** Logged once, with the first failure's reason and details. */
  start: string;
  /** Logged at most once per `summaryEveryMs`, with the counts since the previous line. */
  ongoing: string;
  /** Logged once, at the first success `quietMs` after the last failure, with the totals. */
  end: string;
}

/** Options of {@link createIncidentTracker}. */
export interface IncidentTrackerOptions {
  /** Where the lines go. Calls that throw are ignored. */
  logger: Logger;
  /** The codes of the start, summary and end lines. */
  codes: IncidentCodes;
  /** Fields on every line, e.g. `{ store: 'redis' }` or `{ provider: 'local' }`. */
  fields?: Readonly<Record<string, unknown>>;
  /** What failed, for the default messages: `'Redis'`, `'the provider'`… Default `'a dependency'`. */
  subject?: string;
  /** The start line's message, given the first failure's reason. */
  startMessage?: (reason: string) => string;
  /** Most one summary line per this many ms while an incident lasts. Default 60 000. */
  summaryEveryMs?: number;
  /**
   * Hysteresis: an incident ends only at a success that comes at least this long after
   * its last failure. Alternating successes and failures (a Redis at its `maxmemory`,
   * a vendor failing one call in three) stay one incident instead of one per failure.
   * Default 10 000.
   */
  quietMs?: number;
  /** The clock, ms. Default `Date.now`; tests pass their own. */
  clock?: () => number;
}

/** Counts of failures, by reason, over a stretch of an incident. */
export interface IncidentCounts {
  /** Failures reported. */
  failures: number;
  /** Requests they affected (decisions failed over, outcomes not learned, batches not run). */
  requests: number;
  /** Failures per reason. */
  reasons: Record<string, number>;
}

/** What one failure reports besides its reason. */
export interface IncidentFailure {
  /** Requests this failure affected. Default 1; 0 when an earlier failure already counted the request. */
  requests?: number;
  /** The start line's code when this failure starts an incident (default `codes.start`). */
  code?: string;
  /**
   * How much this failure matters, default 0. A failure more severe than every failure
   * that got a start line in this incident gets a start line of its own (with its
   * `code`), so an incident that begins with a minor failure (an outcome not logged)
   * still says when the major one (decisions failing over) begins; the reverse order
   * is one line.
   */
  severity?: number;
  /** The start line's message when this failure starts an incident (default `startMessage(reason)`). */
  message?: string;
  /** Extra fields for the start line when this failure starts an incident (e.g. the error). */
  details?: Readonly<Record<string, unknown>>;
}

/**
 * One incident at a time, for something that can fail on every request (a store, a
 * provider): `failure()` and `success()` are called per operation, and the log gets one
 * line when an incident starts, at most one summary per minute while it lasts (counts
 * of failures and affected requests, by reason) and one when it ends. No timers: lines
 * are written from those calls, so an idle process writes nothing and keeps nothing alive.
 */
export interface IncidentTracker {
  /** Reports a failed operation. Returns true when it started an incident. */
  failure(reason: string, failure?: IncidentFailure): boolean;
  /** Reports a successful operation; ends the incident after the quiet period. */
  success(): void;
  /** Whether an incident is open (it may be quiet, waiting for its end). */
  readonly active: boolean;
  /** Incidents started so far. */
  readonly incidents: number;
}

function emptyCounts(): IncidentCounts {
  return { failures: 0, requests: 0, reasons: {} };
}

function add(counts: IncidentCounts, reason: string, requests: number): void {
  counts.failures++;
  counts.requests += requests;
  counts.reasons[reason] = (counts.reasons[reason] ?? 0) + 1;
}

/**
 * Creates an {@link IncidentTracker}.
 *
 * An incident starts at a failure when none is open. It ends at the first success that
 * comes `quietMs` (10 s) or more after its last failure, so a flapping dependency is
 * one incident, and in any stretch of time T there are at most T / `quietMs` + 1 of
 * them. While it is open, the first call `summaryEveryMs` (60 s) or more after the
 * previous line writes a summary of the failures since that line.
 *
 * @example
 * const incidents = createIncidentTracker({
 *   logger,
 *   codes: { start: 'APP_W_QUEUE_DOWN', ongoing: 'APP_W_QUEUE_STILL_DOWN', end: 'APP_I_QUEUE_BACK' },
 *   subject: 'the queue',
 * })
 * try {
 *   await queue.push(job)
 *   incidents.success()
 * } catch (err) {
 *   incidents.failure('push failed', { details: { err: err.message } })
 * }
 */
export function createIncidentTracker(options: IncidentTrackerOptions): IncidentTracker {
  const { logger, codes } = options;
  const fields = options.fields ?? {};
  const subject = options.subject ?? 'a dependency';
  const summaryEveryMs = options.summaryEveryMs ?? 60_000;
  const quietMs = options.quietMs ?? 10_000;
  const clock = options.clock ?? Date.now;
  const startMessage = options.startMessage ?? ((reason: string) => `${subject} is failing (${reason}); a summary follows at most every minute until it recovers`);

  let open = false;
  let severity = 0;
  let incidents = 0;
  let startedAt = 0;
  let lastFailureAt = 0;
  let lastLineAt = 0;
  let total = emptyCounts();
  let period = emptyCounts();

  const log = (level: 'info' | 'warn', obj: object, msg: string) => {
    try {
      const fn = level === 'info' && typeof logger.info === 'function' ? logger.info : logger.warn;
      fn.call(logger, obj, msg);
    } catch {
      // A broken logger must not break the operation it reports on.
    }
  };

  const summarizeIfDue = (now: number) => {
    if (period.failures === 0 || now - lastLineAt < summaryEveryMs) return;
    log(
      'warn',
      { code: codes.ongoing, ...fields, ...period, periodMs: now - lastLineAt, durationMs: now - startedAt, totalFailures: total.failures },
      `${subject} is still failing: ${period.failures} failures (${period.requests} requests affected) in the last ${Math.round((now - lastLineAt) / 1000)} s`,
    );
    lastLineAt = now;
    period = emptyCounts();
  };

  return {
    failure(reason, failure = {}) {
      const now = clock();
      const requests = failure.requests ?? 1;
      lastFailureAt = now;
      if (!open) {
        open = true;
        severity = failure.severity ?? 0;
        incidents++;
        startedAt = now;
        lastLineAt = now;
        total = emptyCounts();
        period = emptyCounts();
        add(total, reason, requests);
        log('warn', { code: failure.code ?? codes.start, ...fields, reason, ...(failure.details ?? {}) }, failure.message ?? startMessage(reason));
        return true;
      }
      add(total, reason, requests);
      add(period, reason, requests);
      if ((failure.severity ?? 0) > severity) {
        severity = failure.severity ?? 0;
        log('warn', { code: failure.code ?? codes.start, ...fields, reason, ...(failure.details ?? {}) }, failure.message ?? startMessage(reason));
      }
      summarizeIfDue(now);
      return false;
    },
    success() {
      if (!open) return;
      const now = clock();
      if (now - lastFailureAt < quietMs) {
        summarizeIfDue(now);
        return;
      }
      open = false;
      log(
        'info',
        { code: codes.end, ...fields, ...total, durationMs: lastFailureAt - startedAt },
        `${subject} recovered: ${total.failures} failures (${total.requests} requests affected) over ${Math.round((lastFailureAt - startedAt) / 1000)} s`,
      );
    },
    get active() {
      return open;
    },
    get incidents() {
      return incidents;
    },
  };
}
