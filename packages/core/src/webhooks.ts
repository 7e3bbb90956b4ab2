import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError } from './errors.js';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Verifies a webhook signed Castle's way (`X-Castle-Signature`): the base64 HMAC-SHA256
 * of the raw body, keyed with your API secret, compared in constant time. Pass the body
 * exactly as received (a parsed-then-serialized body will not match): Express
 * `express.raw({ type: 'application/json' })`, Fastify a raw content-type parser,
 * Nest `rawBody: true`. Throws {@link WebhookVerificationError} for a missing,
 * malformed or wrong signature, and for an empty body.
 *
 * @example
 * app.post('/webhooks/castle', express.raw({ type: 'application/json' }), (req, res) => {
 *   verifyWebhook(req.body, req.get('X-Castle-Signature'), process.env.CASTLE_API_SECRET)
 *   const event = JSON.parse(req.body.toString('utf8'))
 *   res.sendStatus(204)
 * })
 */
export function verifyWebhook(rawBody: string | Buffer, signature: string | undefined, secret: string): void {
  if (typeof secret !== 'string' || secret === '') throw new WebhookVerificationError('no secret to verify the webhook with');
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.isBuffer(rawBody) ? rawBody : undefined;
  if (!body || body.length === 0) throw new WebhookVerificationError('the webhook body is empty (pass the raw body, not a parsed object)');
  if (typeof signature !== 'string' || signature.trim() === '') throw new WebhookVerificationError('the webhook has no signature');
  const given = signature.trim();
  if (!BASE64.test(given)) throw new WebhookVerificationError('the webhook signature is not base64');
  const actual = Buffer.from(given, 'base64');
  // Only the canonical encoding: Buffer's decoder ignores stray padding bits, so
  // "…kWo=" and "…kWp=" would decode to the same bytes.
  if (actual.toString('base64') !== given) throw new WebhookVerificationError('the webhook signature is not base64');
  const expected = createHmac('sha256', secret).update(body).digest();
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) throw new WebhookVerificationError('the webhook signature does not match');
}

/**
 * Castle's secure mode: the lower-case hex HMAC-SHA256 of the user id, keyed with your
 * API secret, for the browser SDK to send with the user id so that it cannot be forged.
 *
 * @example
 * res.render('app', { userId: user.id, userSignature: signUserId(user.id, process.env.CASTLE_API_SECRET) })
 */
export function signUserId(userId: string, secret: string): string {
  return createHmac('sha256', secret).update(String(userId)).digest('hex');
}
