import type { EventStatus } from '../events.js';
import { checkKnownOptions } from '../config/options.js';
import { VigilConfigError } from '../errors.js';

/**
 * Which response statuses count as an outcome: a status (`401`), a class (`'4xx'`), a
 * range (`'400-403'`), a list of those, or a function of the status.
 */
export type StatusMatcher = number | string | readonly (number | string)[] | ((status: number) => boolean);

/** How a route's response status becomes `$succeeded` or `$failed` for the provider's log. */
export interface OutcomeOptions {
  /** Default: 2xx and 3xx. */
  succeeded?: StatusMatcher;
  /** Default: 401 and 403. */
  failed?: StatusMatcher;
}

/** A compiled outcome mapping: status → `$succeeded` | `$failed` | undefined (not logged). */
export type OutcomeClassifier = (status: number) => Extract<EventStatus, '$succeeded' | '$failed'> | undefined;

type Test = (status: number) => boolean;

function compileMatcher(spec: StatusMatcher, option: string): Test {
  if (typeof spec === 'function') {
    return (status) => {
      try {
        return spec(status) === true;
      } catch {
        return false;
      }
    };
  }
  const entries = Array.isArray(spec) ? spec : [spec];
  const tests: Test[] = entries.map((entry, i) => {
    const at = Array.isArray(spec) ? `${option}[${i}]` : option;
    if (typeof entry === 'number' && Number.isInteger(entry) && entry >= 100 && entry <= 599) return (status) => status === entry;
    if (typeof entry === 'string') {
      const klass = /^([1-5])xx$/i.exec(entry.trim());
      if (klass) {
        const base = Number(klass[1]) * 100;
        return (status) => status >= base && status < base + 100;
      }
      const range = /^(\d{3})\s*-\s*(\d{3})$/.exec(entry.trim());
      if (range && Number(range[1]) <= Number(range[2])) {
        const low = Number(range[1]);
        const high = Number(range[2]);
        return (status) => status >= low && status <= high;
      }
      if (/^\d{3}$/.test(entry.trim())) {
        const exact = Number(entry.trim());
        return (status) => status === exact;
      }
    }
    throw new VigilConfigError(
      'VIGIL_E_ROUTE',
      at,
      entry,
      'which is not a status matcher',
      'Use a status (401), a class ("4xx"), a range ("400-403"), an array of those, or a function (status) => boolean.',
    );
  });
  return (status) => tests.some((test) => test(status));
}

const OUTCOME_KEYS = ['succeeded', 'failed'];
const DEFAULT_SUCCEEDED: Test = (status) => status >= 200 && status < 400;
const DEFAULT_FAILED: Test = (status) => status === 401 || status === 403;

/**
 * Compiles a route's `outcome` option. Statuses matching neither list are not logged
 * (a 400 or a 500 says nothing about the credentials). A given list is tried before
 * the other's default; when both are given, `succeeded` is tried first.
 */
export function compileOutcome(options: OutcomeOptions | undefined, option: string): OutcomeClassifier {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    throw new VigilConfigError('VIGIL_E_ROUTE', option, options, 'which is not an object', 'Pass { succeeded?, failed? }, e.g. { failed: [401, 403, 429] }.');
  }
  if (options !== undefined) checkKnownOptions(options, OUTCOME_KEYS, option);
  const succeeded = options?.succeeded === undefined ? DEFAULT_SUCCEEDED : compileMatcher(options.succeeded, `${option}.succeeded`);
  const failed = options?.failed === undefined ? DEFAULT_FAILED : compileMatcher(options.failed, `${option}.failed`);
  // A list the user gave beats the other list's default: `{ failed: 200 }` (a form
  // login that re-renders with 200) must not be swallowed by the default 2xx success.
  const failedFirst = options?.failed !== undefined && options.succeeded === undefined;
  return (status) => {
    if (typeof status !== 'number' || !Number.isFinite(status)) return undefined;
    if (failedFirst && failed(status)) return '$failed';
    if (succeeded(status)) return '$succeeded';
    if (failed(status)) return '$failed';
    return undefined;
  };
}
