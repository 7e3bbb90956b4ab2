import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkKnownOptions } from './options.js';
import { thrown } from '../test-support/thrown.js';

const ROUTE_KEYS = ['method', 'path', 'event', 'name', 'user', 'outcome'];
const CONFIG_KEYS = ['mode', 'provider', 'routes', 'routeToEventType', 'uriExclusion', 'threatCodes', 'thresholds', 'redirectUrl', 'timeout'];

describe('checkKnownOptions', () => {
  it.each<[object]>([
    [{}],
    [{ path: '/login' }],
    [{ method: 'POST', path: '/login', event: '$login', name: 'x', user: {}, outcome: {} }],
    [{ path: undefined }],
  ])('accepts %o', (options) => {
    expect(() => checkKnownOptions(options, ROUTE_KEYS, 'routes[0]')).not.toThrow();
  });

  it('ignores symbol keys and inherited properties', () => {
    const options = Object.create({ inherited: true }) as Record<string | symbol, unknown>;
    options.path = '/login';
    options[Symbol('meta')] = 1;
    expect(() => checkKnownOptions(options, ROUTE_KEYS, 'routes[0]')).not.toThrow();
  });

  it('rejects a misspelt key with a "Did you mean" hint naming the full path', () => {
    const err = thrown(() => checkKnownOptions({ path: '/login', evnet: '$login' }, ROUTE_KEYS, 'routes[0]'));
    expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
    expect(err.option).toBe('routes[0].evnet');
    expect(err.value).toBe('$login');
    expect(err.message).toBe(
      'VIGIL_E_UNKNOWN_OPTION: routes[0].evnet is "$login", which is not an option Vigil knows. Did you mean "routes[0].event"?',
    );
  });

  it.each<[string, string]>([
    ['evnet', 'event'],
    ['evnt', 'event'],
    ['events', 'event'],
    ['Event', 'event'],
    ['EVENT', 'event'],
    ['methods', 'method'],
    ['metod', 'method'],
    ['pth', 'path'],
    ['paht', 'path'],
    ['nmae', 'name'],
    ['users', 'user'],
    ['outcomes', 'outcome'],
    ['outcom', 'outcome'],
  ])('hints %s → %s', (typo, meant) => {
    const err = thrown(() => checkKnownOptions({ [typo]: 1 }, ROUTE_KEYS, 'routes[2]'));
    expect(err.option).toBe(`routes[2].${typo}`);
    expect(err.message).toContain(`Did you mean "routes[2].${meant}"?`);
  });

  it.each<[string, string]>([
    ['mdoe', 'mode'],
    ['moed', 'mode'],
    ['route', 'routes'],
    ['rotues', 'routes'],
    ['uriExclusions', 'uriExclusion'],
    ['uriexclusion', 'uriExclusion'],
    ['routeToEventTypes', 'routeToEventType'],
    ['treshold', 'thresholds'],
    ['thresholds_', 'thresholds'],
    ['threatcode', 'threatCodes'],
    ['redirectURL', 'redirectUrl'],
    ['timout', 'timeout'],
  ])('at the top level, hints %s → %s with no prefix', (typo, meant) => {
    const err = thrown(() => checkKnownOptions({ [typo]: 1 }, CONFIG_KEYS, ''));
    expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
    expect(err.option).toBe(typo);
    expect(err.message.startsWith(`VIGIL_E_UNKNOWN_OPTION: ${typo} is 1, `)).toBe(true);
    expect(err.message).toContain(`Did you mean "${meant}"?`);
  });

  it.each([['xyz'], ['somethingElse'], ['a'], ['blockResponse'], ['constructor']])('lists the valid options when %j is not close to any', (key) => {
    const err = thrown(() => checkKnownOptions({ [key]: true }, ROUTE_KEYS, 'routes[0]'));
    expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
    expect(err.option).toBe(`routes[0].${key}`);
    expect(err.message).not.toContain('Did you mean');
    expect(err.message).toContain('Valid options here: method, path, event, name, user, outcome.');
  });

  it('names the first unknown key', () => {
    const err = thrown(() => checkKnownOptions({ path: '/x', pth: 1, evnet: 2 }, ROUTE_KEYS, 'routes[0]'));
    expect(err.option).toBe('routes[0].pth');
  });

  it('rejects an own "__proto__" key (from a parsed JSON config) without touching any prototype', () => {
    const options = JSON.parse('{"path": "/login", "__proto__": {"polluted": true}}') as object;
    const err = thrown(() => checkKnownOptions(options, ROUTE_KEYS, 'routes[0]'));
    expect(err.option).toBe('routes[0].__proto__');
    expect(err.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects every key when none is known', () => {
    const err = thrown(() => checkKnownOptions({ a: 1 }, [], 'x'));
    expect(err.option).toBe('x.a');
    expect(err.message).toContain('Valid options here: .');
  });

  it('shows the value in the message, briefly', () => {
    const err = thrown(() => checkKnownOptions({ evnet: 'x'.repeat(200) }, ROUTE_KEYS, 'routes[0]'));
    expect(err.message).toContain(`"${'x'.repeat(77)}..."`);
    expect(err.value).toBe('x'.repeat(200));
  });

  it('accepts any object whose keys are all known, and rejects any with an unknown key (property)', () => {
    const known = ['alpha', 'beta', 'gamma'];
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.integer()), (options) => {
        const unknown = Object.keys(options).filter((key) => !known.includes(key));
        if (unknown.length === 0) {
          expect(() => checkKnownOptions(options, known, 'p')).not.toThrow();
        } else {
          const err = thrown(() => checkKnownOptions(options, known, 'p'));
          expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
          expect(err.option).toBe(`p.${unknown[0]}`);
        }
      }),
    );
  });

  it('hints the known key for any one-letter typo (property)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CONFIG_KEYS),
        fc.nat(),
        fc.constantFrom('q', 'z', 'j'),
        fc.constantFrom('insert', 'delete', 'replace'),
        (key, at, letter, edit) => {
          const i = at % key.length;
          const typo =
            edit === 'insert' ? key.slice(0, i) + letter + key.slice(i) : edit === 'delete' ? key.slice(0, i) + key.slice(i + 1) : key.slice(0, i) + letter + key.slice(i + 1);
          fc.pre(!CONFIG_KEYS.includes(typo));
          const err = thrown(() => checkKnownOptions({ [typo]: 1 }, CONFIG_KEYS, ''));
          expect(err.message).toContain(`Did you mean "${key}"?`);
        },
      ),
    );
  });
});
