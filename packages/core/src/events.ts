/**
 * Castle's event vocabulary, which Vigil speaks to every provider.
 * `$login`, `$registration` and `$password_reset_request` are the pre-authentication
 * events most apps protect.
 */
export const EVENT_TYPES = [
  '$login',
  '$registration',
  '$password_reset_request',
  '$challenge',
  '$profile_update',
  '$transaction',
  '$custom',
] as const;

/** One of {@link EVENT_TYPES}. */
export type EventType = (typeof EVENT_TYPES)[number];

/** Castle's event statuses: before the app answers, and after it did. */
export const EVENT_STATUSES = ['$attempted', '$succeeded', '$failed'] as const;

/** One of {@link EVENT_STATUSES}. */
export type EventStatus = (typeof EVENT_STATUSES)[number];

/** True when `value` is one of {@link EVENT_TYPES}. */
export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}
