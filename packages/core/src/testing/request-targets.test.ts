import { describe, expect, it } from 'vitest';
import { usefulnessProblems } from './request-targets.js';

const stats = (sent: number, reachedProtected: number, reachedProtectedMutated: number) => ({ sent, reachedProtected, reachedProtectedMutated, undecided: [], statuses: { 404: sent - reachedProtected } });

describe('usefulnessProblems', () => {
  it('accepts a sample where protected handlers were reached, by mutated targets too', () => {
    expect(usefulnessProblems({ app: stats(100, 30, 10) })).toEqual([]);
  });

  it('names the app whose sample met mostly 404s, or only plain base paths', () => {
    expect(usefulnessProblems({ app: stats(100, 10, 8) })).toEqual([expect.stringMatching(/^app: only 10 of 100 requests reached/)]);
    expect(usefulnessProblems({ other: stats(100, 40, 5) })).toEqual([expect.stringMatching(/^other: only 5 mutated targets/)]);
  });
});
