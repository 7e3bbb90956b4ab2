import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WebhookVerificationError } from './errors.js';
import { signUserId, verifyWebhook } from './webhooks.js';

// Vectors computed independently with OpenSSL:
//   printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
//   printf '%s' user_42 | openssl dgst -sha256 -hmac sk_secure_mode
const SECRET = 'whsec_test_secret';
const BODY = '{"api_version":"v1","app_id":"492157","type":"$incident.confirmed","created_at":"2024-05-01T12:00:00.000Z","data":{"id":"test","device_token":"dev_1","user_id":"user_1"}}';
const SIGNATURE = 'T2+mDi/nZyEelDvKASPFEV4TTpG9WURDsFo/7h8QkWo=';

function sign(body: string | Buffer, secret = SECRET): string {
  return createHmac('sha256', secret).update(body).digest('base64');
}

function failure(fn: () => void): WebhookVerificationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    expect((error as Error).name).toBe('WebhookVerificationError');
    return error as WebhookVerificationError;
  }
  throw new Error('expected a WebhookVerificationError');
}

describe('verifyWebhook', () => {
  it('accepts the base64 HMAC-SHA256 of the raw body (OpenSSL vector), as a string or a Buffer', () => {
    expect(sign(BODY)).toBe(SIGNATURE);
    expect(() => verifyWebhook(BODY, SIGNATURE, SECRET)).not.toThrow();
    expect(verifyWebhook(Buffer.from(BODY, 'utf8'), SIGNATURE, SECRET)).toBeUndefined();
  });

  it('hashes the bytes as received: UTF-8 strings, binary Buffers', () => {
    expect(() => verifyWebhook('héllo', 'eV4saB/rfoNGHObNQ62oQJ+wr+J61W49b4PgdZT9we0=', 'k')).not.toThrow();
    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
    expect(() => verifyWebhook(binary, sign(binary), SECRET)).not.toThrow();
  });

  it('tolerates whitespace around the header value', () => {
    expect(() => verifyWebhook(BODY, ` ${SIGNATURE}\n`, SECRET)).not.toThrow();
  });

  it.each([
    ['undefined', undefined],
    ['empty', ''],
    ['blank', '   '],
  ])('a missing signature (%s) fails', (_, signature) => {
    expect(failure(() => verifyWebhook(BODY, signature, SECRET)).message).toMatch(/no signature/);
  });

  it.each([
    ['not base64', 'not base64!'],
    ['base64url', SIGNATURE.replace(/\+/g, '-').replace(/\//g, '_')],
    ['a "$" in it', `${SIGNATURE.slice(0, -2)}$=`],
    ['non-canonical padding bits (decodes to the same bytes)', `${SIGNATURE.slice(0, -2)}p=`],
    ['missing its padding', SIGNATURE.slice(0, -1)],
    ['padding in the middle', `${SIGNATURE.slice(0, 10)}=${SIGNATURE.slice(10)}`],
    ['a "sha256=" prefix', `sha256=${SIGNATURE}`],
  ])('a malformed signature (%s) fails', (_, signature) => {
    expect(failure(() => verifyWebhook(BODY, signature, SECRET)).message).toMatch(/not base64/);
  });

  it.each([
    ['of another body', sign(`${BODY} `)],
    ['with another secret', sign(BODY, 'whsec_other')],
    ['as hex (valid base64 alphabet, wrong bytes)', createHmac('sha256', SECRET).update(BODY).digest('hex')],
    ['truncated', SIGNATURE.slice(0, 20)],
    ['an empty HMAC', Buffer.alloc(32).toString('base64')],
    ['too long', `${SIGNATURE.slice(0, -1)}AAAA`],
    ['a single flipped character', `${SIGNATURE[0] === 'A' ? 'B' : 'A'}${SIGNATURE.slice(1)}`],
    ['with a blank secret', sign(BODY, ' ')],
  ])('a wrong signature (%s) fails without a RangeError', (_, signature) => {
    expect(failure(() => verifyWebhook(BODY, signature, SECRET)).message).toMatch(/does not match|not base64/);
  });

  it('a tampered body fails', () => {
    const tampered = BODY.replace('user_1', 'user_2');
    expect(failure(() => verifyWebhook(tampered, SIGNATURE, SECRET)).message).toMatch(/does not match/);
  });

  it.each([
    ['an empty string', ''],
    ['an empty Buffer', Buffer.alloc(0)],
    ['a parsed object', JSON.parse(BODY) as unknown],
    ['undefined', undefined],
  ])('an empty or non-raw body (%s) fails', (_, body) => {
    expect(failure(() => verifyWebhook(body as string, sign(''), SECRET)).message).toMatch(/empty/);
  });

  it.each([
    ['empty', ''],
    ['undefined', undefined],
  ])('a missing secret (%s) fails', (_, secret) => {
    failure(() => verifyWebhook(BODY, SIGNATURE, secret as unknown as string));
  });

  it('never puts the secret or the expected signature in its message', () => {
    const error = failure(() => verifyWebhook(BODY, sign('other'), SECRET));
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain(SIGNATURE);
  });
});

describe('signUserId', () => {
  it('is the lower-case hex HMAC-SHA256 of the user id (OpenSSL vector)', () => {
    expect(signUserId('user_42', 'sk_secure_mode')).toBe('f961c4dc3fad8ad78c745b896724bb36481974c7e05640a8fa14bf199ed4729b');
  });

  it('is 64 lower-case hex characters, stable, and depends on both the id and the secret', () => {
    const signature = signUserId('42', 'secret');
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    expect(signUserId('42', 'secret')).toBe(signature);
    expect(signUserId('43', 'secret')).not.toBe(signature);
    expect(signUserId('42', 'secret2')).not.toBe(signature);
    expect(signature).toBe(createHmac('sha256', 'secret').update('42').digest('hex'));
  });

  it('signs a numeric id as its string form', () => {
    expect(signUserId(42 as unknown as string, 'secret')).toBe(signUserId('42', 'secret'));
  });
});
