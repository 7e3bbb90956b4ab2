import { createHash } from 'node:crypto';
import type { UserIdentity } from '../routing/routes.js';

/** What `trackLogin` reports. Use the same identifier keys in every call (ids, or emails). */
export interface TrackLoginOptions {
  /** Whether the credentials were right. */
  success: boolean;
  userId?: string;
  email?: string;
  username?: string;
  phone?: string;
  /** Whether the account exists (a failure on an unknown account is typical of stuffing). */
  userExists?: boolean;
  properties?: Record<string, unknown>;
}

/** What `trackSignup` reports. */
export interface TrackSignupOptions {
  /** Whether the account was created. Default true. */
  success?: boolean;
  userId?: string;
  email?: string;
  username?: string;
  phone?: string;
  properties?: Record<string, unknown>;
}

/** What `identify` is told about the user behind a request. */
export interface IdentifyOptions {
  /** The user id (opaque string). */
  id: string;
  [trait: string]: unknown;
}

/** A user on the block list. */
export interface BlockedUser {
  id: string;
  reason: string;
  /** When the block was issued (ISO-8601). */
  at: string;
}

/** What the engine knows about one of a user's devices. */
export interface DeviceRecord {
  id: string;
  firstSeen: string;
  lastSeen: string;
  /** Most recent first, at most five. */
  ips: string[];
  userAgent: string | undefined;
  approved: boolean;
  reported: boolean;
}

const sha = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 32);

/**
 * The `anonymize` option: identifiers are replaced by a truncated SHA-256 before they
 * reach any provider. An email keeps its domain (`<hash>@example.com`) so that the
 * engine can still recognise disposable-mail domains; usernames and phones become the
 * hash alone. User ids, opaque already, are kept.
 */
export function anonymizeIdentity(user: UserIdentity): UserIdentity {
  const out: UserIdentity = {};
  if (user.id !== undefined) out.id = user.id;
  if (user.email !== undefined) {
    const normalized = user.email.trim().toLowerCase();
    const at = normalized.lastIndexOf('@');
    out.email = at > 0 ? `${sha(normalized)}${normalized.slice(at)}` : sha(normalized);
  }
  if (user.username !== undefined) out.username = sha(user.username.trim().toLowerCase());
  if (user.phone !== undefined) out.phone = sha(user.phone.replace(/[\s().-]/g, ''));
  return out;
}

/** Picks the identity fields of a tracking call, dropping empty and non-string ones. */
export function identityOf(options: { userId?: unknown; email?: unknown; username?: unknown; phone?: unknown }): UserIdentity {
  const out: UserIdentity = {};
  const take = (value: unknown) => (typeof value === 'string' && value.trim() !== '' && value.length <= 1024 ? value.trim() : undefined);
  const id = take(options.userId);
  const email = take(options.email);
  const username = take(options.username);
  const phone = take(options.phone);
  if (id !== undefined) out.id = id;
  if (email !== undefined) out.email = email;
  if (username !== undefined) out.username = username;
  if (phone !== undefined) out.phone = phone;
  return out;
}
