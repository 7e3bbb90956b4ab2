// Vigil's ALTCHA v2 server side against altcha-lib itself, both ways: what Vigil issues,
// altcha-lib verifies (and its solver solves); what altcha-lib issues in deterministic
// mode, Vigil verifies; a change anywhere is refused by both. The protocol stays
// ALTCHA's to the byte, so that the widget, altcha-lib's solver and every port of it
// (Go, Python, Java…) solve Vigil's challenges.
import { createChallenge as altchaCreate, solveChallenge, verifySolution } from 'altcha-lib';
import { deriveKey as altchaDerive } from 'altcha-lib/algorithms/pbkdf2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createChallenge, sortKeys, verify } from './altcha-v2.js';

const secret = 'sign-secret-0123456789abcdef';
const keySecret = 'key-secret-0123456789abcdef';
const now = () => Date.now();

describe('ALTCHA v2, Vigil against altcha-lib', () => {
  it("Vigil's challenges: altcha-lib's solver solves them, altcha-lib and Vigil verify the solution", async () => {
    for (let i = 0; i < 5; i++) {
      const counter = 3 * i + 1;
      const challenge = await createChallenge({ cost: 50, counter, expiresAt: Math.floor(now() / 1000) + 60, data: { r: '/login', a: 'x', l: 1 }, secret, keySecret });
      const solution = await solveChallenge({ challenge: challenge as never, deriveKey: altchaDerive });
      expect(solution?.counter).toBe(counter);
      const theirs = await verifySolution({ challenge: challenge as never, solution: solution as never, deriveKey: altchaDerive, hmacSignatureSecret: secret, hmacKeySignatureSecret: keySecret });
      expect(theirs).toMatchObject({ verified: true, expired: false, invalidSignature: false, invalidSolution: false });
      expect(verify(challenge, solution, { secret, keySecret, now: now() })).toBe('verified');
    }
  });

  it("altcha-lib's deterministic challenges verify with Vigil (and the other secret is refused)", async () => {
    const challenge = await altchaCreate({ algorithm: 'PBKDF2/SHA-256', cost: 50, counter: 7, deriveKey: altchaDerive, expiresAt: Math.floor(now() / 1000) + 60, data: { r: '/login', l: 2 }, hmacSignatureSecret: secret, hmacKeySignatureSecret: keySecret });
    const solution = await solveChallenge({ challenge, deriveKey: altchaDerive });
    expect(verify(challenge as never, solution, { secret, keySecret, now: now() })).toBe('verified');
    expect(verify(challenge as never, solution, { secret: `${secret}!`, keySecret, now: now() })).toBe('tampered');
    expect(verify(challenge as never, solution, { secret, keySecret: `${keySecret}!`, now: now() })).toBe('invalid');
  });

  it('the same parameters sign to the same signature in both', async () => {
    const challenge = await createChallenge({ cost: 10, counter: 0, expiresAt: 2_000_000_000, data: { z: 1, a: 'b' }, secret, keySecret });
    // altcha-lib signs JSON.stringify of the keys sorted at every depth: re-signing ours
    // with its code path gives the same text.
    expect(JSON.stringify(sortKeys(challenge.parameters))).toBe(JSON.stringify(challenge.parameters));
    const theirs = await verifySolution({ challenge: challenge as never, solution: { counter: 0, derivedKey: 'ab' }, deriveKey: altchaDerive, hmacSignatureSecret: secret, hmacKeySignatureSecret: keySecret });
    expect(theirs.invalidSignature).toBe(false);
  });

  it('any change to a signed parameter is refused by both; expiry is checked first, as altcha-lib does', async () => {
    const challenge = await createChallenge({ cost: 10, counter: 2, expiresAt: Math.floor(now() / 1000) + 60, data: { r: '/login', a: 'x', l: 1 }, secret, keySecret });
    const solution = await solveChallenge({ challenge: challenge as never, deriveKey: altchaDerive });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('cost', 'keyPrefix', 'nonce', 'salt', 'keySignature', 'data', 'keyLength'), fc.oneof(fc.integer(), fc.string(), fc.constant(null)), async (key, value) => {
        const changed = { ...challenge, parameters: { ...challenge.parameters, [key]: value } };
        if (JSON.stringify(changed.parameters[key]) === JSON.stringify(challenge.parameters[key])) return;
        expect(verify(changed, solution, { secret, keySecret, now: now() })).toBe('tampered');
        const theirs = await verifySolution({ challenge: changed as never, solution: solution as never, deriveKey: altchaDerive, hmacSignatureSecret: secret, hmacKeySignatureSecret: keySecret }).catch(() => ({ verified: false }));
        expect(theirs.verified).toBe(false);
      }),
      { numRuns: 60 },
    );
    expect(verify(challenge, solution, { secret, keySecret, now: now() + 61_000 })).toBe('expired');
  });

  it('malformed solutions are invalid, never an exception', () => {
    const challenge = { parameters: { algorithm: 'PBKDF2/SHA-256', keySignature: 'ab' }, signature: 'x' };
    for (const solution of [null, 1, 'x', {}, { counter: -1, derivedKey: 'ab' }, { counter: 1.5, derivedKey: 'ab' }, { counter: 1, derivedKey: 'AB' }, { counter: 1, derivedKey: 'abc' }, { counter: 2 ** 32, derivedKey: 'ab' }]) {
      expect(() => verify(challenge, solution, { secret, keySecret, now: now() })).not.toThrow();
    }
  });
});

describe("the page's fallback solver (plain JavaScript, for pages that are not a secure context)", () => {
  it('derives what Node derives, and solves challenges that Vigil then verifies', async () => {
    const { SOLVER_SCRIPT } = await import('./assets.js');
    const { solve } = (await import(`data:text/javascript;base64,${Buffer.from(SOLVER_SCRIPT).toString('base64')}`)) as { solve(p: unknown): Promise<{ counter: number; derivedKey: string } | null> };
    for (const counter of [0, 1, 17, 40]) {
      const challenge = await createChallenge({ cost: 30 + counter, counter, expiresAt: Math.floor(now() / 1000) + 60, data: { r: '/login', l: 1 }, secret, keySecret });
      const solution = await solve(challenge.parameters);
      expect(solution?.counter).toBe(counter);
      expect(verify(challenge, solution, { secret, keySecret, now: now() })).toBe('verified');
      const theirs = await verifySolution({ challenge: challenge as never, solution: solution as never, deriveKey: altchaDerive, hmacSignatureSecret: secret, hmacKeySignatureSecret: keySecret });
      expect(theirs.verified).toBe(true);
    }
  });
});
