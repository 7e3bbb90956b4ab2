import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileOutcome, type OutcomeOptions, type StatusMatcher } from './outcome.js';
import { thrown } from '../test-support/thrown.js';

const OPTION = 'routes[0].outcome';

describe('compileOutcome defaults', () => {
  it.each<[number, '$succeeded' | '$failed' | undefined]>([
    [100, undefined],
    [199, undefined],
    [200, '$succeeded'],
    [201, '$succeeded'],
    [204, '$succeeded'],
    [299, '$succeeded'],
    [301, '$succeeded'],
    [302, '$succeeded'],
    [303, '$succeeded'],
    [399, '$succeeded'],
    [400, undefined],
    [401, '$failed'],
    [402, undefined],
    [403, '$failed'],
    [404, undefined],
    [422, undefined],
    [429, undefined],
    [500, undefined],
    [503, undefined],
    [599, undefined],
  ])('%i → %s', (status, expected) => {
    expect(compileOutcome(undefined, OPTION)(status)).toBe(expected);
    expect(compileOutcome({}, OPTION)(status)).toBe(expected);
  });

  it.each([[Number.NaN], [Number.POSITIVE_INFINITY], ['200'], [undefined], [null]])('answers undefined for the status %j', (status) => {
    expect(compileOutcome(undefined, OPTION)(status as number)).toBeUndefined();
  });
});

describe('compileOutcome matchers', () => {
  it.each<[string, StatusMatcher, number[], number[]]>([
    ['a number', 401, [401], [400, 402, 200]],
    ['a class', '4xx', [400, 401, 450, 499], [399, 500, 200]],
    ['an upper-case class', '4XX', [400, 499], [500]],
    ['a class with spaces', ' 5xx ', [500, 599], [499]],
    ['a 2xx class', '2xx', [200, 299], [300]],
    ['a range', '400-403', [400, 401, 402, 403], [399, 404]],
    ['a range with spaces', '400 - 403', [400, 403], [404]],
    ['a one-status range', '401-401', [401], [400, 402]],
    ['a numeric string', '429', [429], [428, 430]],
    ['an array', [401, '403', '5xx', '420-422'], [401, 403, 500, 599, 420, 421, 422], [400, 402, 404, 419, 423]],
    ['a function', (s: number) => s === 418, [418], [200, 401]],
    ['a function returning truthy non-true', (() => 1) as unknown as StatusMatcher, [], [200, 401]],
    ['an empty array', [], [], [200, 401, 403]],
  ])('failed as %s', (_label, failed, yes, no) => {
    const classify = compileOutcome({ succeeded: '2xx', failed }, OPTION);
    for (const status of yes) expect(classify(status), `status ${status}`).toBe(status >= 200 && status < 300 ? '$succeeded' : '$failed');
    for (const status of no) expect(classify(status), `status ${status}`).not.toBe('$failed');
  });

  it.each<[string, StatusMatcher, number[], number[]]>([
    ['a number', 302, [302], [200, 301]],
    ['a class', '3xx', [300, 302, 399], [200, 400]],
    ['a range', '200-204', [200, 204], [205, 302]],
    ['an array', [200, 302], [200, 302], [201, 301]],
    ['a function', (s: number) => s < 300, [100, 200, 299], [300]],
  ])('succeeded as %s', (_label, succeeded, yes, no) => {
    const classify = compileOutcome({ succeeded, failed: [] }, OPTION);
    for (const status of yes) expect(classify(status), `status ${status}`).toBe('$succeeded');
    for (const status of no) expect(classify(status), `status ${status}`).toBeUndefined();
  });

  it('keeps the default of the list left out', () => {
    const onlyFailed = compileOutcome({ failed: 429 }, OPTION);
    expect(onlyFailed(200)).toBe('$succeeded');
    expect(onlyFailed(302)).toBe('$succeeded');
    expect(onlyFailed(429)).toBe('$failed');
    expect(onlyFailed(401)).toBeUndefined();
    const onlySucceeded = compileOutcome({ succeeded: 302 }, OPTION);
    expect(onlySucceeded(302)).toBe('$succeeded');
    expect(onlySucceeded(200)).toBeUndefined();
    expect(onlySucceeded(401)).toBe('$failed');
    expect(onlySucceeded(403)).toBe('$failed');
  });

  it('tries succeeded first when both lists are given and overlap', () => {
    const classify = compileOutcome({ succeeded: '2xx', failed: 200 }, OPTION);
    expect(classify(200)).toBe('$succeeded');
  });

  it('lets a given list win over the other list\'s default (form logins re-render with 200 on failure)', () => {
    const failedOn200 = compileOutcome({ failed: 200 }, OPTION);
    expect(failedOn200(200)).toBe('$failed');
    expect(failedOn200(201)).toBe('$succeeded');
    expect(failedOn200(302)).toBe('$succeeded');
    const succeededOn401 = compileOutcome({ succeeded: [200, 401] }, OPTION);
    expect(succeededOn401(401)).toBe('$succeeded');
    expect(succeededOn401(403)).toBe('$failed');
  });

  it('the classic form login: redirect on success, 200 on failure', () => {
    const classify = compileOutcome({ succeeded: 302, failed: 200 }, OPTION);
    expect(classify(302)).toBe('$succeeded');
    expect(classify(200)).toBe('$failed');
    expect(classify(500)).toBeUndefined();
  });

  it('treats a throwing function as no match', () => {
    const classify = compileOutcome(
      {
        failed: () => {
          throw new Error('boom');
        },
      },
      OPTION,
    );
    expect(classify(401)).toBeUndefined();
    expect(classify(200)).toBe('$succeeded');
  });

  it('passes the status to the function', () => {
    const seen: number[] = [];
    const classify = compileOutcome(
      {
        succeeded: [],
        failed: (s) => {
          seen.push(s);
          return false;
        },
      },
      OPTION,
    );
    classify(401);
    classify(500);
    expect(seen).toEqual([401, 500]);
  });

  it('a number matcher matches exactly that status (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 100, max: 599 }), (configured, status) => {
        const classify = compileOutcome({ succeeded: [], failed: configured }, OPTION);
        expect(classify(status)).toBe(status === configured ? '$failed' : undefined);
      }),
    );
  });

  it('a range matcher matches exactly its bounds and what lies between (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 100, max: 599 }), (low, width, status) => {
        const high = Math.min(599, low + width);
        const classify = compileOutcome({ succeeded: `${low}-${high}`, failed: [] }, OPTION);
        expect(classify(status)).toBe(status >= low && status <= high ? '$succeeded' : undefined);
      }),
    );
  });
});

describe('compileOutcome errors', () => {
  it.each<[string, unknown, string]>([
    ['a class out of range', '6xx', `${OPTION}.failed`],
    ['a 0xx class', '0xx', `${OPTION}.failed`],
    ['a bad class', '4yy', `${OPTION}.failed`],
    ['a partial class', '4x', `${OPTION}.failed`],
    ['a reversed range', '403-400', `${OPTION}.failed`],
    ['a half range', '400-', `${OPTION}.failed`],
    ['a word', 'unauthorized', `${OPTION}.failed`],
    ['an empty string', '', `${OPTION}.failed`],
    ['a status too low', 99, `${OPTION}.failed`],
    ['a status too high', 600, `${OPTION}.failed`],
    ['zero', 0, `${OPTION}.failed`],
    ['a fraction', 401.5, `${OPTION}.failed`],
    ['NaN', Number.NaN, `${OPTION}.failed`],
    ['null', null, `${OPTION}.failed`],
    ['true', true, `${OPTION}.failed`],
    ['an object', { status: 401 }, `${OPTION}.failed`],
    ['a bad entry in an array', [401, '4yy'], `${OPTION}.failed[1]`],
    ['a nested array', [[401]], `${OPTION}.failed[0]`],
    ['null in an array', [401, 403, null], `${OPTION}.failed[2]`],
  ])('rejects %s', (_label, failed, option) => {
    const err = thrown(() => compileOutcome({ failed } as OutcomeOptions, OPTION));
    expect(err.code).toBe('VIGIL_E_ROUTE');
    expect(err.option).toBe(option);
    expect(err.message.startsWith(`VIGIL_E_ROUTE: ${option} is `)).toBe(true);
    expect(err.message).toMatch(/not a status matcher/);
    expect(err.message).toMatch(/"4xx"/);
    expect(err.message).toMatch(/"400-403"/);
  });

  it('names succeeded when that is at fault', () => {
    const err = thrown(() => compileOutcome({ succeeded: '2xxx' }, 'routes[4].outcome'));
    expect(err.option).toBe('routes[4].outcome.succeeded');
    expect(err.value).toBe('2xxx');
    expect(err.message).toContain('"2xxx"');
  });

  it.each([[null], [401], ['4xx'], [[401]], [() => true]])('rejects the outcome %j that is not an object', (options) => {
    const err = thrown(() => compileOutcome(options as unknown as OutcomeOptions, OPTION));
    expect(err.code).toBe('VIGIL_E_ROUTE');
    expect(err.option).toBe(OPTION);
    expect(err.message).toMatch(/succeeded\?, failed\?/);
  });

  it.each([
    ['failled', 'failed'],
    ['fail', 'failed'],
    ['succeded', 'succeeded'],
    ['succeed', 'succeeded'],
  ])('rejects the unknown key %s with a hint', (typo, meant) => {
    const err = thrown(() => compileOutcome({ [typo]: 401 } as OutcomeOptions, OPTION));
    expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
    expect(err.option).toBe(`${OPTION}.${typo}`);
    expect(err.message).toContain(`Did you mean "${OPTION}.${meant}"?`);
  });
});
