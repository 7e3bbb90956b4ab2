import { createHash } from 'node:crypto';

/**
 * The user id of an account: the demo's user store keys accounts by email, so an opaque
 * id is derived from it, as a real app's database would give one. Vigil blocks,
 * identifies and lists devices by this id, never by the email.
 */
export function userIdOf(email: unknown): string | undefined {
  if (typeof email !== 'string' || !email.includes('@')) return undefined;
  return `user_${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 16)}`;
}
