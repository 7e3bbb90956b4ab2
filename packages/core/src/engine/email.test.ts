import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDisposableEmail, isValidEmail, preloadDisposableDomains } from './email.js';

describe('isValidEmail', () => {
  it.each([
    'alice@example.com',
    'Alice.Smith@Example.COM',
    'a@b.co',
    'first.last+tag@sub.domain.example.org',
    "o'brien@example.ie",
    'x_y-z@my-domain.io',
    'user@xn--bcher-kva.de',
    '1234567890@example.museum',
    `${'a'.repeat(64)}@example.com`,
  ])('valid: %s', (email) => {
    expect(isValidEmail(email)).toBe(true);
  });

  it.each([
    ['', 'empty'],
    ['alice', 'no @'],
    ['@example.com', 'no local part'],
    ['alice@', 'no domain'],
    ['alice@localhost', 'no dot in the domain'],
    ['alice@example', 'no TLD'],
    ['alice@example.c', 'one-letter TLD'],
    ['alice@example.123', 'numeric TLD'],
    ['alice@@example.com', 'two @'],
    ['al ice@example.com', 'space in the local part'],
    [' alice@example.com', 'leading space'],
    ['.alice@example.com', 'leading dot'],
    ['alice.@example.com', 'trailing dot'],
    ['al..ice@example.com', 'double dot'],
    ['alice@-example.com', 'label starting with a dash'],
    ['alice@example-.com', 'label ending with a dash'],
    ['alice@exa_mple.com', 'underscore in the domain'],
    ['alice@example..com', 'empty label'],
    [`${'a'.repeat(65)}@example.com`, 'local part over 64'],
    [`a@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(60)}.com`, 'over 254 characters'],
    ['alice@example.com\n', 'trailing newline'],
    ['<alice@example.com>', 'angle brackets'],
  ])('invalid: %j (%s)', (email) => {
    expect(isValidEmail(email)).toBe(false);
  });

  it('never throws and is fast on hostile input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (s) => {
        expect(typeof isValidEmail(s)).toBe('boolean');
      }),
      { numRuns: 500 },
    );
    // A classic catastrophic-backtracking shape: many labels and no TLD.
    expect(isValidEmail(`a@${'a.'.repeat(120)}1`)).toBe(false);
  });
});

describe('isDisposableEmail', () => {
  it('loads the list once and reports its size', () => {
    expect(preloadDisposableDomains()).toBeGreaterThan(1000);
    expect(preloadDisposableDomains()).toBe(preloadDisposableDomains());
  });

  it.each(['bot@mailinator.com', 'x@guerrillamail.com', 'y@10minutemail.com', 'z@yopmail.com', 'w@sharklasers.com', 'v@trashmail.com'])('disposable: %s', (email) => {
    expect(isDisposableEmail(email)).toBe(true);
  });

  it('ignores case', () => {
    expect(isDisposableEmail('Bot@MAILINATOR.Com')).toBe(true);
  });

  it('flags subdomains of a disposable domain', () => {
    expect(isDisposableEmail('bot@foo.mailinator.com')).toBe(true);
    expect(isDisposableEmail('bot@a.b.c.mailinator.com')).toBe(true);
  });

  it.each(['alice@gmail.com', 'bob@outlook.com', 'carol@example.com', 'dave@proton.me', 'erin@company.co.uk'])('not disposable: %s', (email) => {
    expect(isDisposableEmail(email)).toBe(false);
  });

  it('does not match a domain that merely ends with a disposable name', () => {
    expect(isDisposableEmail('alice@xyzmailinator.com')).toBe(false);
    expect(isDisposableEmail('alice@acmeyopmail.com')).toBe(false);
    expect(isDisposableEmail('alice@mailinator.com.example.org')).toBe(false);
  });

  it('reads the domain after the last @, and answers false without one', () => {
    expect(isDisposableEmail('"a@gmail.com"@mailinator.com')).toBe(true);
    expect(isDisposableEmail('mailinator.com')).toBe(false);
    expect(isDisposableEmail('')).toBe(false);
    expect(isDisposableEmail('alice@')).toBe(false);
  });
});
