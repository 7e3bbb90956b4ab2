// Route-style paths: how string routes (and outcome rules' redirect targets) match a
// request's path, as Express's and Fastify's routers do.
import { VigilConfigError } from '../errors.js';

const UPPER_OR_TRAILING_SLASH = /[A-Z]|[\s\S]\/$/;

/**
 * Normalizes a pathname for matching string routes: lower case, no trailing slash
 * (except the root). Allocates only when something changes.
 */
export function normalizePathForMatch(path: string): string {
  if (!UPPER_OR_TRAILING_SLASH.test(path)) return path;
  let out = path.toLowerCase();
  while (out.length > 1 && out.endsWith('/')) out = out.slice(0, -1);
  return out;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Compiles a route-style path (`/login`, `/users/:id/reset`, `/api/*`) or a RegExp into a
 * test of a normalized path (see {@link normalizePathForMatch}) and the raw one.
 * Throws {@link VigilConfigError} (`VIGIL_E_ROUTE`) naming `option`.
 */
export function compilePath(path: unknown, option: string): (normalizedPath: string, rawPath: string) => boolean {
  if (path instanceof RegExp) {
    const pattern = new RegExp(path.source, path.flags.replace(/[gy]/g, ''));
    return (_normalized, raw) => pattern.test(raw);
  }
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new VigilConfigError(
      'VIGIL_E_ROUTE',
      option,
      path,
      'which is not a pathname or a RegExp',
      'Use a pathname starting with "/" ("/login", "/users/:id/reset", "/api/*") or a RegExp.',
    );
  }
  const normalized = normalizePathForMatch(path);
  // The root is one empty segment; it matches "/" alone (and "//", normalized to "/").
  if (normalized === '/') return (normalizedPath) => normalizedPath === '/';
  const segments = normalized.split('/');
  const wildcard = segments[segments.length - 1] === '*';
  if (wildcard) segments.pop();
  if (segments.some((segment, i) => segment.includes('*') || (segment === '' && i > 0))) {
    throw new VigilConfigError(
      'VIGIL_E_ROUTE',
      option,
      path,
      'which has a "*" before its end or an empty segment',
      'Only a trailing "/*" is supported ("/api/*"); use a RegExp for anything richer.',
    );
  }
  const hasParams = segments.some((segment) => segment.startsWith(':'));
  if (!hasParams && !wildcard) return (normalizedPath) => normalizedPath === normalized;
  // A parameter may be empty: find-my-way routes `/users//reset` to `/users/:id/reset`
  // and `/files/` to `/files/:name`.
  const body = segments.map((segment) => (segment.startsWith(':') ? '[^/]*' : escapeRegExp(segment))).join('/');
  if (wildcard) {
    // "/api/*" covers "/api" itself too: protecting less than asked is the worse mistake.
    // `[\s\S]`, not `.`: find-my-way decodes `%0a` and `%E2%80%A8` into line breaks,
    // which `.` does not match.
    const pattern = new RegExp(`^${body}(?:/[\\s\\S]*)?$`);
    return (normalizedPath) => pattern.test(normalizedPath);
  }
  // Parametric routes see the path with its trailing slashes, which the normalized path
  // has lost: `/files/` (an empty `:name`) is the route, `/files` is not. Case is ignored.
  const pattern = new RegExp(`^${body}/*$`, 'i');
  return (_normalized, raw) => pattern.test(raw);
}

