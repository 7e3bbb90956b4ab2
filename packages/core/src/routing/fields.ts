import { getHeader } from '../context/headers.js';
import { readCookie } from '../tracking/device-cookie.js';
import type { RequestInfo } from '../context/request.js';
import { VigilConfigError } from '../errors.js';

/** A user field: a dotted path into the request (`'body.email'`) or a function of it. */
export type FieldSource = string | ((req: RequestInfo) => unknown);

/** Reads one field of a request; `undefined` when absent. Never throws. */
export type FieldReader = (req: RequestInfo) => string | undefined;

const ROOTS = ['body', 'query', 'headers', 'cookies'] as const;
const MAX_FIELD_LENGTH = 1024;

function asFieldValue(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed === '' || trimmed.length > MAX_FIELD_LENGTH ? undefined : trimmed;
  }
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'bigint') return String(value);
  return undefined;
}

/**
 * Compiles a user-field source once. Paths start at `body`, `query`, `headers` or
 * `cookies`; each step reads an own property only, so `body.__proto__.x` or
 * `body.constructor` can never reach a prototype. Values that are not strings or
 * numbers, empty, or longer than 1 024 characters count as absent.
 */
export function compileField(source: FieldSource, option: string): FieldReader {
  if (typeof source === 'function') {
    return (req) => {
      try {
        return asFieldValue(source(req));
      } catch {
        return undefined;
      }
    };
  }
  if (typeof source !== 'string' || source.trim() === '') {
    throw new VigilConfigError(
      'VIGIL_E_ROUTE',
      option,
      source,
      'which is neither a dotted path nor a function',
      'Use a path into the request such as "body.email", "query.u" or "headers.x-user", or a function (req) => value.',
    );
  }
  const [root, ...rest] = source.trim().split('.');
  if (!(ROOTS as readonly string[]).includes(root as string) || rest.length === 0 || rest.some((step) => step === '')) {
    throw new VigilConfigError(
      'VIGIL_E_ROUTE',
      option,
      source,
      `which does not start with one of ${ROOTS.join(', ')} followed by a field name`,
      'Use a path such as "body.email", "body.user.email", "query.u" or "headers.x-user".',
    );
  }
  if (root === 'headers') {
    const name = rest.join('.');
    return (req) => asFieldValue(getHeader(req.headers, name));
  }
  if (root === 'cookies' && rest.length === 1) {
    // Parsed cookies when the framework parsed them, else the Cookie header: the same
    // route reads the same value under every adapter.
    const name = rest[0] as string;
    return (req) => asFieldValue(readCookie(req, name));
  }
  const steps = rest;
  return (req) => {
    let current: unknown = (req as unknown as Record<string, unknown>)[root as string];
    for (const step of steps) {
      if (current === null || typeof current !== 'object' || !Object.hasOwn(current, step)) return undefined;
      current = (current as Record<string, unknown>)[step];
    }
    return asFieldValue(current);
  };
}
