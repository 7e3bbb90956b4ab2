// The form a challenged browser re-posts, sealed: the challenge page carries the
// original form fields as one AES-256-GCM ciphertext bound to the challenge, never in
// clear (a password typed into the login form is not echoed into the page, its DOM, a
// cache or an extension's view), and only the server that issued it can open it.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Largest sealed form accepted back: a form's fields, not an upload. */
export const MAX_SEALED_CHARS = 64 * 1024;

/** Seals `value` (JSON-serialisable) under `key` (32 bytes), bound to `context` (the challenge's signature). */
export function seal(key: Uint8Array, context: string, value: unknown): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(JSON.stringify(value) ?? 'null', 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
}

/**
 * Opens what {@link seal} sealed under the same key and context: the value, or
 * `undefined` when the text is not a sealed value (tampered, truncated, another
 * challenge's, another key's). Never throws.
 */
export function unseal(key: Uint8Array, context: string, text: unknown): { value: unknown } | undefined {
  if (typeof text !== 'string' || text.length > MAX_SEALED_CHARS) return undefined;
  try {
    const raw = Buffer.from(text, 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    return { value: JSON.parse(plain.toString('utf8')) };
  } catch {
    return undefined;
  }
}
