import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Decision, type DecisionAction, UNPROTECTED_DECISION } from './decision.js';
import { type BlockResponseOptions, createResponder, prefersHtml, type RenderedResponse, type ResponseOptions } from './responses.js';
import { thrown } from '../test-support/thrown.js';

/** A decision literal with the given action (and what blocking mode would do). */
function decision(action: DecisionAction, overrides: Partial<Decision> = {}): Decision {
  return {
    ...UNPROTECTED_DECISION,
    action,
    wouldAction: action,
    wouldBlock: action === 'block' || action === 'redirect',
    mode: 'blocking',
    protected: true,
    event: '$login',
    route: '/login',
    verdict: action === 'block' || action === 'redirect' ? 'deny' : action === 'challenge' ? 'challenge' : 'allow',
    risk: 0.95,
    requestId: 'req-123',
    ...overrides,
  };
}

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const FETCH = 'application/json, text/plain, */*';

function respond(options: ResponseOptions, d: Decision, accept: string | undefined): RenderedResponse {
  const response = createResponder(options)(d, accept);
  expect(response).toBeDefined();
  return response as RenderedResponse;
}

describe('prefersHtml', () => {
  it.each<[string | undefined, boolean]>([
    [BROWSER, true],
    ['text/html', true],
    ['TEXT/HTML', true],
    ['Text/Html; charset=utf-8', true],
    ['text/html;q=0.9, */*;q=0.8', true],
    ['application/xhtml+xml, text/html', true],
    ['text/html, application/json', false],
    ['application/json, text/html', false],
    ['text/html, APPLICATION/JSON', false],
    ['application/json', false],
    [FETCH, false],
    ['*/*', false],
    ['text/plain', false],
    ['application/xhtml+xml', false],
    ['', false],
    [undefined, false],
    [42 as unknown as string, false],
    [['text/html'] as unknown as string, false],
  ])('%j → %s', (accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });
});

describe('createResponder: block', () => {
  it('answers 403 HTML to a browser', () => {
    const response = respond({}, decision('block'), BROWSER);
    expect(response.status).toBe(403);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.body).toMatch(/^<!doctype html>/);
    expect(response.body).toContain('Request blocked');
    expect(response.body).toContain('<code>req-123</code>');
  });

  it.each<[string | undefined]>([[FETCH], ['application/json'], ['text/html, application/json'], ['*/*'], [''], [undefined], ['text/plain']])(
    'answers 403 JSON to Accept %j',
    (accept) => {
      const response = respond({}, decision('block'), accept);
      expect(response.status).toBe(403);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(JSON.parse(response.body)).toEqual({ blocked: true, requestId: 'req-123', message: 'Request blocked' });
    },
  );

  it('leaves the reference out when the decision has no requestId', () => {
    const response = respond({}, decision('block', { requestId: undefined }), BROWSER);
    expect(response.body).not.toContain('Reference');
    expect(JSON.parse(respond({}, decision('block', { requestId: undefined }), FETCH).body)).toEqual({ blocked: true, message: 'Request blocked' });
  });

  it('escapes the requestId in the default HTML', () => {
    const requestId = '<script>alert("x")</script>&\'';
    const response = respond({}, decision('block', { requestId }), BROWSER);
    expect(response.body).not.toContain('<script>');
    expect(response.body).not.toContain('</script>');
    expect(response.body).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#38;&#39;');
  });

  it('escapes any requestId: no tag can be injected (property)', () => {
    fc.assert(
      fc.property(fc.string(), (requestId) => {
        const body = respond({}, decision('block', { requestId }), BROWSER).body;
        const ref = /<code>([\s\S]*)<\/code>/.exec(body)?.[1] ?? '';
        expect(ref).not.toMatch(/[<>"']/);
      }),
    );
  });

  it('serializes the requestId safely in JSON', () => {
    const requestId = '<script>"x"</script>';
    expect(JSON.parse(respond({}, decision('block', { requestId }), FETCH).body).requestId).toBe(requestId);
  });

  it('renders a redirect decision as a block when no redirectUrl is set', () => {
    const response = respond({}, decision('redirect'), FETCH);
    expect(response.status).toBe(403);
    expect(response.headers.location).toBeUndefined();
  });

  it.each<[DecisionAction]>([['allow'], ['challenge']])('returns undefined for %s', (action) => {
    const responder = createResponder({ redirectUrl: '/blocked', blockResponse: { status: 429 } });
    expect(responder(decision(action), BROWSER)).toBeUndefined();
    expect(responder(decision(action), FETCH)).toBeUndefined();
    expect(createResponder({})(decision(action), undefined)).toBeUndefined();
  });

  it('follows the action, not wouldAction (monitoring mode)', () => {
    const monitored = decision('allow', { wouldAction: 'block', wouldBlock: true, mode: 'monitoring' });
    expect(createResponder({})(monitored, BROWSER)).toBeUndefined();
  });

  describe('blockResponse parts', () => {
    it.each<[number]>([[400], [401], [403], [418], [429], [451], [500], [503], [599]])('uses the status %i', (status) => {
      expect(respond({ blockResponse: { status } }, decision('block'), FETCH).status).toBe(status);
      expect(respond({ blockResponse: { status } }, decision('block'), BROWSER).status).toBe(status);
    });

    it('uses an HTML string', () => {
      const response = respond({ blockResponse: { html: '<h1>No</h1>' } }, decision('block'), BROWSER);
      expect(response.body).toBe('<h1>No</h1>');
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(JSON.parse(respond({ blockResponse: { html: '<h1>No</h1>' } }, decision('block'), FETCH).body)).toMatchObject({ blocked: true });
    });

    it('uses an HTML function of the decision', () => {
      const response = respond({ blockResponse: { html: (d) => `<p>${d.route}</p>` } }, decision('block'), BROWSER);
      expect(response.body).toBe('<p>/login</p>');
    });

    it('uses a JSON value', () => {
      const response = respond({ blockResponse: { json: { error: 'blocked', code: 42 } } }, decision('block'), FETCH);
      expect(JSON.parse(response.body)).toEqual({ error: 'blocked', code: 42 });
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    });

    it.each<[unknown]>([['just a string'], [0], [false], [null], [[1, 2]]])('serializes the JSON value %j', (json) => {
      const response = respond({ blockResponse: { json } }, decision('block'), FETCH);
      expect(JSON.parse(response.body)).toEqual(json ?? null);
    });

    it('uses a JSON function of the decision', () => {
      const response = respond({ blockResponse: { json: (d: Decision) => ({ id: d.requestId }) } }, decision('block'), FETCH);
      expect(JSON.parse(response.body)).toEqual({ id: 'req-123' });
    });

    it('adds headers to both kinds of response, which may replace the defaults', () => {
      const blockResponse: BlockResponseOptions = { headers: { 'retry-after': '60', 'cache-control': 'private' } };
      for (const accept of [BROWSER, FETCH]) {
        const response = respond({ blockResponse }, decision('block'), accept);
        expect(response.headers['retry-after']).toBe('60');
        expect(response.headers['cache-control']).toBe('private');
        expect(response.headers['content-type']).toMatch(/charset=utf-8$/);
      }
    });

    it('does not let later changes to the options alter the responses', () => {
      const headers: Record<string, string> = { 'x-a': '1' };
      const responder = createResponder({ blockResponse: { headers } });
      headers['x-b'] = '2';
      expect((responder(decision('block'), FETCH) as RenderedResponse).headers['x-b']).toBeUndefined();
    });
  });

  describe('blockResponse function', () => {
    it('renders the whole response, given the decision and the Accept header', () => {
      const calls: [Decision, string | undefined][] = [];
      const blockResponse = (d: Decision, accept: string | undefined): RenderedResponse => {
        calls.push([d, accept]);
        return { status: 429, headers: { 'content-type': 'text/plain' }, body: `slow down ${d.requestId}` };
      };
      const d = decision('block');
      expect(respond({ blockResponse }, d, BROWSER)).toEqual({ status: 429, headers: { 'content-type': 'text/plain' }, body: 'slow down req-123' });
      expect(calls).toEqual([[d, BROWSER]]);
    });

    it('is used for redirect decisions without a redirectUrl, but not with one', () => {
      const blockResponse = () => ({ status: 451, headers: {}, body: 'no' });
      expect(respond({ blockResponse }, decision('redirect'), FETCH).status).toBe(451);
      expect(respond({ blockResponse, redirectUrl: '/blocked' }, decision('redirect'), FETCH).status).toBe(302);
    });

    it('is not called for allow or challenge', () => {
      let called = false;
      const responder = createResponder({
        blockResponse: () => {
          called = true;
          return { status: 403, headers: {}, body: '' };
        },
      });
      responder(decision('allow'), BROWSER);
      responder(decision('challenge'), BROWSER);
      expect(called).toBe(false);
    });
  });
});

describe('createResponder: redirect', () => {
  it('answers 302 with a Location by default', () => {
    const response = respond({ redirectUrl: '/blocked' }, decision('redirect'), BROWSER);
    expect(response).toEqual({ status: 302, headers: { location: '/blocked', 'cache-control': 'no-store' }, body: '' });
  });

  it.each([[301], [302], [303], [307], [308]])('uses the redirect status %i', (redirectStatus) => {
    const response = respond({ redirectUrl: 'https://example.com/blocked?x=1', redirectStatus }, decision('redirect'), FETCH);
    expect(response.status).toBe(redirectStatus);
    expect(response.headers.location).toBe('https://example.com/blocked?x=1');
  });

  it('still renders block decisions as blocks when a redirectUrl is set', () => {
    const response = respond({ redirectUrl: '/blocked' }, decision('block'), FETCH);
    expect(response.status).toBe(403);
    expect(response.headers.location).toBeUndefined();
  });
});

describe('createResponder: configuration errors', () => {
  it.each<[unknown]>([[300], [304], [200], [404], [0], ['302'], [302.5], [null], [Number.NaN]])('rejects redirectStatus %j', (redirectStatus) => {
    const err = thrown(() => createResponder({ redirectStatus } as ResponseOptions));
    expect(err.code).toBe('VIGIL_E_RESPONSE');
    expect(err.option).toBe('redirectStatus');
    expect(err.value).toEqual(redirectStatus);
    expect(err.message.startsWith('VIGIL_E_RESPONSE: redirectStatus is ')).toBe(true);
    expect(err.message).toContain('301, 302, 303, 307, 308');
  });

  it.each<[string, unknown]>([
    ['a CR LF injection', '/blocked\r\nSet-Cookie: a=b'],
    ['an LF', '/blocked\nx'],
    ['a CR', '/blocked\rx'],
    ['an empty string', ''],
    ['blanks', '   '],
    ['a number', 42],
    ['null', null],
    ['an object', { url: '/blocked' }],
  ])('rejects a redirectUrl that is %s', (_label, redirectUrl) => {
    const err = thrown(() => createResponder({ redirectUrl } as ResponseOptions));
    expect(err.code).toBe('VIGIL_E_RESPONSE');
    expect(err.option).toBe('redirectUrl');
    expect(err.value).toEqual(redirectUrl);
    expect(err.message.startsWith('VIGIL_E_RESPONSE: redirectUrl is ')).toBe(true);
    expect(err.message).toMatch(/"\/blocked"/);
  });

  it.each<[string, string]>([
    ['a NUL', '/blocked\u0000x'],
    ['a DEL', '/blocked\u007fx'],
    ['an escape', '/blocked\u001b[0m'],
    ['a non-Latin-1 character', '/blocked/€'],
    ['a line separator', '/blocked\u2028x'],
  ])('rejects a redirectUrl with %s, which Node would refuse to send', (_label, redirectUrl) => {
    const err = thrown(() => createResponder({ redirectUrl }));
    expect(err.code).toBe('VIGIL_E_RESPONSE');
    expect(err.option).toBe('redirectUrl');
    expect(err.message).toMatch(/Percent-encode/);
  });

  it.each([['/blocked'], ['https://example.com/blocked?reason=bot#top'], ['/blocked/%E2%82%AC'], ['//cdn.example.com/x']])('accepts the redirectUrl %j', (redirectUrl) => {
    expect(respond({ redirectUrl }, decision('redirect'), FETCH).headers.location).toBe(redirectUrl);
  });

  it.each<[unknown]>([[200], [302], [399], [600], [99], [403.5], ['403'], [null], [Number.NaN]])('rejects blockResponse.status %j', (status) => {
    const err = thrown(() => createResponder({ blockResponse: { status } as BlockResponseOptions }));
    expect(err.code).toBe('VIGIL_E_RESPONSE');
    expect(err.option).toBe('blockResponse.status');
    expect(err.message.startsWith('VIGIL_E_RESPONSE: blockResponse.status is ')).toBe(true);
    expect(err.message).toMatch(/4xx or 5xx/);
  });

  it.each<[unknown]>([[42], [{}], [['<p>']], [null], [true]])('rejects blockResponse.html %j', (html) => {
    const err = thrown(() => createResponder({ blockResponse: { html } as BlockResponseOptions }));
    expect(err.code).toBe('VIGIL_E_RESPONSE');
    expect(err.option).toBe('blockResponse.html');
    expect(err.message).toMatch(/string/);
  });

  it.each<[unknown]>([[null], ['<h1>blocked</h1>'], [403], [true]])('rejects blockResponse %j', (blockResponse) => {
    const err = thrown(() => createResponder({ blockResponse } as ResponseOptions));
    expect(err.code).toBe('VIGIL_E_RESPONSE');
    expect(err.option).toBe('blockResponse');
    expect(err.message).toMatch(/function/);
  });

  it.each([
    ['stauts', 'status'],
    ['htlm', 'html'],
    ['header', 'headers'],
    ['body', undefined],
  ])('rejects the unknown blockResponse key %s', (key, meant) => {
    const err = thrown(() => createResponder({ blockResponse: { [key]: 1 } as BlockResponseOptions }));
    expect(err.code).toBe('VIGIL_E_UNKNOWN_OPTION');
    expect(err.option).toBe(`blockResponse.${key}`);
    if (meant) expect(err.message).toContain(`Did you mean "blockResponse.${meant}"?`);
    else expect(err.message).toContain('status, html, json, headers');
  });

  it.each<[string, unknown, string]>([
    ['not an object', 'retry-after: 60', 'blockResponse.headers'],
    ['null', null, 'blockResponse.headers'],
    ['an array', [['retry-after', '60']], 'blockResponse.headers'],
    ['a CR LF value', { 'x-a': 'ok\r\nSet-Cookie: a=b' }, 'blockResponse.headers["x-a"]'],
    ['a number value', { 'retry-after': 60 }, 'blockResponse.headers["retry-after"]'],
    ['an invalid name', { 'x a': '1' }, 'blockResponse.headers["x a"]'],
    ['an empty name', { '': '1' }, 'blockResponse.headers[""]'],
  ])('rejects blockResponse.headers that is %s', (_label, headers, option) => {
    const err = thrown(() => createResponder({ blockResponse: { headers } as BlockResponseOptions }));
    expect(err.code).toBe('VIGIL_E_RESPONSE');
    expect(err.option).toBe(option);
    expect(err.message.startsWith(`VIGIL_E_RESPONSE: ${option} is `)).toBe(true);
  });

  it('ignores the other top-level options it is handed (createVigil passes its whole config)', () => {
    const config = { mode: 'blocking', routes: [], redirectUrl: '/blocked' } as unknown as ResponseOptions;
    expect(() => createResponder(config)).not.toThrow();
  });
});
