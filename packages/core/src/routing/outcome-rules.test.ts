import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { VigilConfigError } from '../errors.js';
import { createVigil } from '../vigil.js';
import { compileOutcome, mergeOutcome, type OutcomeClassifier, type OutcomeOptions, type OutcomeResponse, type ResponseHeaders, watchSignIn } from './outcome.js';
import { thrown } from '../test-support/thrown.js';

const OPTION = 'routes[0].outcome';
const PAST = 'Thu, 01 Jan 1970 00:00:00 GMT';
const FUTURE = 'Fri, 01 Jan 2100 00:00:00 GMT';

/** A request Vigil decided on: POST `path` on example.com. */
function request(path = '/login', overrides: Partial<RequestInfo> = {}): RequestInfo {
  return { method: 'POST', url: path, path, headers: { host: 'example.com' }, ...overrides };
}

/** A 302 to `location`, with more headers when given. */
function redirectTo(location: string, headers: ResponseHeaders = {}, status = 302): OutcomeResponse {
  return { status, headers: { location, ...headers } };
}

const compile = (options?: OutcomeOptions): OutcomeClassifier => compileOutcome(options, OPTION);

// ---------------------------------------------------------------------------------------
describe('classify', () => {
  it('answers first, over every other rule', () => {
    const failing = compile({ classify: () => 'failed', header: { name: 'x-login', succeeded: 'ok' }, json: { field: 'ok', succeeded: true } });
    const response: OutcomeResponse = { status: 200, signedIn: true, headers: { 'x-login': 'ok', 'set-cookie': 'connect.sid=s%3Anew.sig; Path=/' }, body: { ok: true } };
    expect(failing(response, request('/login', { headers: { host: 'example.com', cookie: 'connect.sid=s%3Aold.sig' } }))).toBe('$failed');
    const succeeding = compile({ classify: () => 'succeeded' });
    expect(succeeding({ status: 401 }, request())).toBe('$succeeded');
    expect(succeeding(redirectTo('/login?error=1'), request())).toBe('$succeeded');
    expect(succeeding({ status: 500 }, request())).toBe('$succeeded');
  });

  it('falls through to the other rules when it returns undefined or anything but the two answers', () => {
    for (const answer of [undefined, null, 'SUCCEEDED', 'success', true, 1, '$failed']) {
      const classify = compile({ classify: (() => answer) as unknown as OutcomeOptions['classify'] });
      expect(classify({ status: 401 }, request()), String(answer)).toBe('$failed');
      expect(classify({ status: 200 }, request()), String(answer)).toBe('$succeeded');
      expect(classify(redirectTo('/login?error=1'), request()), String(answer)).toBe('$failed');
      expect(classify({ status: 500 }, request()), String(answer)).toBeUndefined();
    }
  });

  it('a classify that throws falls through and never throws out', () => {
    const classify = compile({
      classify: () => {
        throw new Error('boom');
      },
    });
    expect(() => classify({ status: 200 }, request())).not.toThrow();
    expect(classify({ status: 200 }, request())).toBe('$succeeded');
    expect(classify({ status: 403 }, request())).toBe('$failed');
    expect(classify(redirectTo('/login'), request())).toBe('$failed');
  });

  it('receives the RequestInfo and the response, as given', () => {
    const seen: [RequestInfo, OutcomeResponse][] = [];
    const classify = compile({
      classify: (req, res) => {
        seen.push([req, res]);
        return undefined;
      },
    });
    const req = request('/login', { body: { email: 'a@example.com' } });
    const res: OutcomeResponse = { status: 302, headers: { location: '/account' } };
    expect(classify(res, req)).toBe('$succeeded');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.[0]).toBe(req);
    expect(seen[0]?.[1]).toBe(res);
  });

  it('can read the request and the response', () => {
    const classify = compile({ classify: (req, res) => (req.path === '/login' && res.headers?.['x-ok'] === 'yes' ? 'succeeded' : undefined), failed: '2xx' });
    expect(classify({ status: 200, headers: { 'x-ok': 'yes' } }, request())).toBe('$succeeded');
    expect(classify({ status: 200, headers: { 'x-ok': 'yes' } }, request('/signup'))).toBe('$failed');
  });

  it('is not called without a request, nor for a bare status', () => {
    let calls = 0;
    const classify = compile({
      classify: () => {
        calls++;
        return 'failed';
      },
    });
    expect(classify({ status: 200 })).toBe('$succeeded');
    expect(classify(200, request())).toBe('$succeeded');
    expect(classify(200)).toBe('$succeeded');
    expect(calls).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------
describe('signedIn', () => {
  it('is a success for any status below 400, even a plain redirect back to the login form', () => {
    const classify = compile();
    expect(classify({ status: 302, signedIn: true, headers: { location: '/login' } }, request())).toBe('$succeeded');
    expect(classify({ status: 200, signedIn: true }, request())).toBe('$succeeded');
    expect(classify({ status: 303, signedIn: true, headers: { location: '/login' } })).toBe('$succeeded');
  });

  it('never outweighs an error the redirect names, nor a header or a json field the app set: another middleware may sign a client in (a remember-me cookie it sent)', () => {
    expect(compile()({ status: 302, signedIn: true, headers: { location: '/login?error=1' } }, request())).toBe('$failed');
    expect(compile()({ status: 302, signedIn: true, headers: { location: '/login/failed' } }, request())).toBe('$failed');
    const stated = compile({ header: { name: 'x-login', failed: 'no' }, json: { field: 'ok', failed: false } });
    expect(stated({ status: 200, signedIn: true, headers: { 'x-login': 'no' } }, request())).toBe('$failed');
    expect(stated({ status: 200, signedIn: true, body: { ok: false } }, request())).toBe('$failed');
  });

  it('outweighs a status list and a failure page given for the route (a success may land there too)', () => {
    expect(compile({ failed: '2xx' })({ status: 200, signedIn: true }, request())).toBe('$succeeded');
    expect(compile({ redirect: { failed: '/' } })({ status: 302, signedIn: true, headers: { location: '/' } }, request())).toBe('$succeeded');
    expect(compile({ redirect: { failed: '/' } })({ status: 302, headers: { location: '/' } }, request())).toBe('$failed');
  });

  it('counts on logins and sign-ups only: elsewhere another middleware signing a client in says nothing of the request', () => {
    for (const event of ['$transaction', '$password_reset_request', '$profile_update', '$custom']) {
      const classify = compileOutcome({ json: { field: 'ok', failed: false } }, OPTION, { event });
      expect(classify({ status: 200, signedIn: true, body: { ok: false } }, request('/transfer')), event).toBe('$failed');
      expect(compileOutcome({ failed: 200 }, OPTION, { event })({ status: 200, signedIn: true }, request('/transfer')), event).toBe('$failed');
    }
  });

  it('does not turn a 401 or a 403 into a success, nor a 500 into an outcome', () => {
    const classify = compile();
    expect(classify({ status: 401, signedIn: true }, request())).toBe('$failed');
    expect(classify({ status: 403, signedIn: true }, request())).toBe('$failed');
    expect(classify({ status: 500, signedIn: true }, request())).toBeUndefined();
  });

  it('counts only true', () => {
    const classify = compile();
    for (const signedIn of ['true', 1, {}, false]) {
      expect(classify({ status: 302, headers: { location: '/login' }, signedIn } as unknown as OutcomeResponse, request()), String(signedIn)).toBe('$failed');
    }
  });
});

// ---------------------------------------------------------------------------------------
describe('session cookie', () => {
  const withCookie = (cookie: string, path = '/login') => request(path, { headers: { host: 'example.com', cookie } });
  const OLD = 'connect.sid=s%3Aold.sig';
  // A form that answers 200 both ways (`failed: 200`) with its session cookies named:
  // the session rule is what tells a success, so each case below is decided by it alone.
  const FORM = { failed: 200, session: ['connect.sid', 'sessionId'] } as OutcomeOptions;
  const ok = (headers: ResponseHeaders = {}): OutcomeResponse => ({ status: 200, headers });

  it('a rotated connect.sid (presented in the cookie header) is a success', () => {
    const classify = compile(FORM);
    expect(classify(ok({ 'set-cookie': ['connect.sid=s%3Anew.sig; Path=/; HttpOnly'] }), withCookie(OLD))).toBe('$succeeded');
    expect(classify(ok({ 'set-cookie': 'connect.sid=s%3Anew.sig; Path=/; HttpOnly' }), withCookie(`theme=dark; ${OLD}`))).toBe('$succeeded');
    // The same response without the rotation: the status list's failure.
    expect(classify(ok(), withCookie(OLD))).toBe('$failed');
  });

  it('never outweighs a redirect back to the form: a client gets a fresh cookie on a failure by presenting a stale one', () => {
    for (const classify of [compile(), compile({ session: 'connect.sid' })]) {
      expect(classify(redirectTo('/login', { 'set-cookie': 'connect.sid=s%3Anew.sig; Path=/' }), withCookie('connect.sid=s%3Ajunk.bad'))).toBe('$failed');
      expect(classify(redirectTo('/login?error=1', { 'set-cookie': 'connect.sid=s%3Afresh.sig; Path=/' }), request())).toBe('$failed');
    }
    // A redirect elsewhere with a rotation: a success either way.
    expect(compile()(redirectTo('/account', { 'set-cookie': 'connect.sid=s%3Anew.sig' }), withCookie(OLD))).toBe('$succeeded');
  });

  it('reads the presented value from the parsed cookies too', () => {
    const classify = compile(FORM);
    const parsed = request('/login', { cookies: { 'connect.sid': 's:old.sig' } });
    expect(classify(ok({ 'set-cookie': 'connect.sid=s%3Anew.sig; Path=/' }), parsed)).toBe('$succeeded');
    // The same value, encoded in the Set-Cookie and decoded in `cookies`: not a rotation.
    expect(classify(ok({ 'set-cookie': 'connect.sid=s%3Aold.sig; Path=/' }), parsed)).toBe('$failed');
  });

  it("rotation of @fastify/session's sessionId counts too", () => {
    expect(compile(FORM)(ok({ 'set-cookie': 'sessionId=B; Path=/' }), withCookie('sessionId=A'))).toBe('$succeeded');
  });

  it('the same value set again (express-session `rolling`) is no session answer', () => {
    const rolling = `${OLD}; Path=/; Expires=${FUTURE}; HttpOnly`;
    expect(compile({ failed: 200, session: 'connect.sid' })(ok({ 'set-cookie': rolling }), withCookie(OLD))).toBe('$failed');
    expect(compile()(ok({ 'set-cookie': rolling }), withCookie(OLD))).toBe('$succeeded');
    expect(compile({ succeeded: [], failed: [] })(ok({ 'set-cookie': rolling }), withCookie(OLD))).toBeUndefined();
  });

  it('off unless named: a rotated or issued cookie alone says nothing (a client gets one on a failure by presenting a made-up cookie)', () => {
    const issued = { 'set-cookie': 'connect.sid=s%3Afresh.sig; Path=/; HttpOnly' };
    expect(compile({ failed: 200 })(ok(issued), request())).toBe('$failed');
    expect(compile({ failed: 200 })(ok(issued), withCookie('connect.sid=s%3Ajunk.bad'))).toBe('$failed');
    expect(compile()({ status: 401, headers: issued }, request())).toBe('$failed');
    expect(compile({ succeeded: [], failed: [] })(ok(issued), request())).toBeUndefined();
  });

  it('with session named explicitly, a cookie issued to a request that had none is a success', () => {
    const classify = compile({ ...FORM, session: 'connect.sid' });
    expect(classify(ok({ 'set-cookie': 'connect.sid=s%3Afresh.sig; Path=/; HttpOnly' }), request())).toBe('$succeeded');
    // Rotation still counts, re-setting the same value still does not.
    expect(classify(ok({ 'set-cookie': 'connect.sid=s%3Anew.sig' }), withCookie(OLD))).toBe('$succeeded');
    expect(classify(ok({ 'set-cookie': 'connect.sid=s%3Aold.sig' }), withCookie(OLD))).toBe('$failed');
  });

  it('named cookies replace the defaults', () => {
    const classify = compile({ ...FORM, session: ['sid', 'app.sess'] });
    expect(classify(ok({ 'set-cookie': 'connect.sid=s%3Anew.sig' }), withCookie(OLD))).toBe('$failed');
    expect(classify(ok({ 'set-cookie': 'app.sess=2' }), withCookie('app.sess=1'))).toBe('$succeeded');
    expect(classify(ok({ 'set-cookie': ['other=1', 'sid=x'] }), request())).toBe('$succeeded');
  });

  it.each([
    ['Max-Age=0', 'connect.sid=s%3Anew.sig; Path=/; Max-Age=0'],
    ['a negative Max-Age', 'connect.sid=s%3Anew.sig; Path=/; Max-Age=-1'],
    ['Max-Age=0 with an Expires in the future', `connect.sid=s%3Anew.sig; Max-Age=0; Expires=${FUTURE}`],
    ['an Expires in 1970', `connect.sid=s%3Anew.sig; Path=/; Expires=${PAST}`],
    ['an empty value', 'connect.sid=; Path=/'],
    ['an empty quoted value', 'connect.sid=""; Path=/'],
  ])('a cleared cookie (%s) is not a success', (_label, line) => {
    for (const classify of [compile(FORM), compile({ ...FORM, session: 'connect.sid' })]) {
      expect(classify(ok({ 'set-cookie': line }), withCookie(OLD))).toBe('$failed');
      expect(classify(ok({ 'set-cookie': [line] }), request())).toBe('$failed');
    }
  });

  it('a Max-Age beats a past Expires; a future Expires is not a clearing', () => {
    const classify = compile(FORM);
    expect(classify(ok({ 'set-cookie': `connect.sid=s%3Anew.sig; Max-Age=3600; Expires=${PAST}` }), withCookie(OLD))).toBe('$succeeded');
    expect(classify(ok({ 'set-cookie': `connect.sid=s%3Anew.sig; Expires=${FUTURE}` }), withCookie(OLD))).toBe('$succeeded');
  });

  it('the last Set-Cookie line for the name is the one that counts', () => {
    const classify = compile(FORM);
    expect(classify(ok({ 'set-cookie': ['connect.sid=s%3Anew.sig', 'connect.sid=; Max-Age=0'] }), withCookie(OLD))).toBe('$failed');
    expect(classify(ok({ 'set-cookie': ['connect.sid=; Max-Age=0', 'connect.sid=s%3Anew.sig'] }), withCookie(OLD))).toBe('$succeeded');
  });

  it('session: false turns the rule off', () => {
    const classify = compile({ ...FORM, session: false });
    expect(classify(ok({ 'set-cookie': 'connect.sid=s%3Anew.sig' }), withCookie(OLD))).toBe('$failed');
    expect(classify(ok({ 'set-cookie': 'sessionId=B' }), withCookie('sessionId=A'))).toBe('$failed');
  });

  it.each(['set-cookie', 'Set-Cookie', 'SET-COOKIE'])('reads the %s header as a string or an array', (name) => {
    const classify = compile(FORM);
    expect(classify(ok({ [name]: 'connect.sid=s%3Anew.sig; Path=/' }), withCookie(OLD))).toBe('$succeeded');
    expect(classify(ok({ [name]: ['device=1; Path=/', 'connect.sid=s%3Anew.sig; Path=/'] }), withCookie(OLD))).toBe('$succeeded');
  });

  it('only another cookie set, or none: no session answer', () => {
    const classify = compile(FORM);
    expect(classify(ok({ 'set-cookie': ['vigil_did=abc; Path=/', 'connect.sidx=1'] }), withCookie(OLD))).toBe('$failed');
    expect(classify(ok({ 'set-cookie': [] }), withCookie(OLD))).toBe('$failed');
  });

  it('applies only below 400: a rotation on a 401 stays a failure', () => {
    const classify = compile({ session: 'connect.sid' });
    expect(classify({ status: 401, headers: { 'set-cookie': 'connect.sid=s%3Anew.sig' } }, withCookie(OLD))).toBe('$failed');
    expect(classify({ status: 500, headers: { 'set-cookie': 'connect.sid=s%3Anew.sig' } }, withCookie(OLD))).toBeUndefined();
  });

  it('comes after the header and json rules, which the app set on purpose', () => {
    const classify = compile({ header: { name: 'x-login', failed: 'no' }, json: { field: 'ok', failed: false } });
    expect(classify({ status: 200, headers: { 'x-login': 'no', 'set-cookie': 'connect.sid=s%3Anew.sig' }, body: { ok: false } }, withCookie(OLD))).toBe('$failed');
    expect(classify({ status: 200, headers: { 'set-cookie': 'connect.sid=s%3Anew.sig' }, body: { ok: false } }, withCookie(OLD))).toBe('$failed');
  });
});

// ---------------------------------------------------------------------------------------
describe('header rule', () => {
  it('equals a value; failed is tried before succeeded', () => {
    const classify = compile({ header: { name: 'x-login-result', succeeded: 'ok', failed: 'failed' } });
    expect(classify({ status: 200, headers: { 'x-login-result': 'failed' } }, request())).toBe('$failed');
    expect(classify({ status: 401, headers: { 'x-login-result': 'ok' } }, request())).toBe('$succeeded');
    expect(classify({ status: 200, headers: { 'x-login-result': 'OK' } }, request())).toBe('$succeeded'); // status default
    expect(classify({ status: 500, headers: { 'x-login-result': 'other' } }, request())).toBeUndefined();
    const both = compile({ header: { name: 'x-login', succeeded: 'x', failed: 'x' } });
    expect(both({ status: 200, headers: { 'x-login': 'x' } })).toBe('$failed');
  });

  it('an array of values', () => {
    const classify = compile({ header: { name: 'x-login', failed: ['error', 'locked'], succeeded: ['ok', 'mfa'] } });
    expect(classify({ status: 200, headers: { 'x-login': 'locked' } })).toBe('$failed');
    expect(classify({ status: 401, headers: { 'x-login': 'mfa' } })).toBe('$succeeded');
    expect(classify({ status: 500, headers: { 'x-login': 'err' } })).toBeUndefined();
  });

  it('a RegExp (a global flag does not make it stateful)', () => {
    const classify = compile({ header: { name: 'x-login', failed: /^fail/g, succeeded: /ok/i } });
    for (let i = 0; i < 3; i++) expect(classify({ status: 200, headers: { 'x-login': 'failure' } })).toBe('$failed');
    expect(classify({ status: 401, headers: { 'x-login': 'All OK' } })).toBe('$succeeded');
    expect(classify({ status: 500, headers: { 'x-login': 'nope' } })).toBeUndefined();
  });

  it('a function of the value; only true counts, a throw is no match', () => {
    const seen: unknown[] = [];
    const classify = compile({
      header: {
        name: 'x-login',
        failed: (v) => {
          seen.push(v);
          if (v === 'boom') throw new Error('boom');
          return v === undefined;
        },
        succeeded: ((v: unknown) => (v === 'truthy' ? 1 : v === 'yes')) as (v: unknown) => boolean,
      },
    });
    expect(classify({ status: 200, headers: {} })).toBe('$failed');
    expect(classify({ status: 401, headers: { 'x-login': 'yes' } })).toBe('$succeeded');
    expect(classify({ status: 500, headers: { 'x-login': 'truthy' } })).toBeUndefined();
    expect(classify({ status: 500, headers: { 'x-login': 'boom' } })).toBeUndefined();
    expect(seen).toEqual([undefined, 'yes', 'truthy', 'boom']);
  });

  it('matches the header name in any case, configured or sent', () => {
    const classify = compile({ header: { name: 'X-Login-Result', failed: 'failed' } });
    expect(classify({ status: 200, headers: { 'x-login-result': 'failed' } })).toBe('$failed');
    expect(classify({ status: 200, headers: { 'X-LOGIN-RESULT': 'failed' } })).toBe('$failed');
    expect(classify({ status: 200, headers: { 'x-login-other': 'failed' } })).toBe('$succeeded');
  });

  it('reads a list header as its values joined with ", "', () => {
    const exact = compile({ header: { name: 'x-login', failed: 'failed' } });
    expect(exact({ status: 200, headers: { 'x-login': ['failed'] } })).toBe('$failed');
    expect(exact({ status: 200, headers: { 'x-login': ['a', 'failed'] } })).toBe('$succeeded');
    const joined = compile({ header: { name: 'x-login', failed: 'a, failed' } });
    expect(joined({ status: 200, headers: { 'x-login': ['a', 'failed'] } })).toBe('$failed');
    const pattern = compile({ header: { name: 'x-login', failed: /(?:^|, )failed(?:,|$)/ } });
    expect(pattern({ status: 200, headers: { 'x-login': ['a', 'failed'] } })).toBe('$failed');
  });

  it('reads a number header as its text', () => {
    const classify = compile({ header: { name: 'x-login-code', failed: '0', succeeded: /^1$/ } });
    expect(classify({ status: 200, headers: { 'x-login-code': 0 } })).toBe('$failed');
    expect(classify({ status: 401, headers: { 'x-login-code': 1 } })).toBe('$succeeded');
  });

  it('answers without a request and beats the json and redirect rules', () => {
    const classify = compile({ header: { name: 'x-login', succeeded: 'ok' }, json: { field: 'ok', failed: false } });
    expect(classify({ ...redirectTo('/login?error=1', { 'x-login': 'ok' }), body: { ok: false } }, request())).toBe('$succeeded');
    expect(classify({ status: 401, headers: { 'x-login': 'ok' } })).toBe('$succeeded');
  });
});

// ---------------------------------------------------------------------------------------
describe('json rule', () => {
  const rule = compile({ json: { field: 'error.code', failed: ['bad_password', 'unknown_user'], succeeded: null } });

  it('reads a dotted path into an object body', () => {
    expect(rule({ status: 200, body: { error: { code: 'bad_password' } } })).toBe('$failed');
    expect(rule({ status: 401, body: { error: { code: null } } })).toBe('$succeeded');
    expect(rule({ status: 200, body: { error: { code: 'other' } } })).toBe('$succeeded'); // status default
    expect(rule({ status: 500, body: { error: {} } })).toBeUndefined();
    expect(rule({ status: 500, body: { error: 'bad_password' } })).toBeUndefined();
    const deep = compile({ json: { field: 'data.user.id', succeeded: (v) => typeof v === 'string' } });
    expect(deep({ status: 500, body: { data: { user: { id: 'u1' } } } })).toBe('$succeeded');
    expect(deep({ status: 500, body: { data: { user: { id: 1 } } } })).toBeUndefined();
    const index = compile({ json: { field: 'errors.0', failed: 'invalid' } });
    expect(index({ status: 200, body: { errors: ['invalid'] } })).toBe('$failed');
  });

  it('reads a JSON string body and a Buffer body', () => {
    const text = JSON.stringify({ error: { code: 'unknown_user' } });
    expect(rule({ status: 200, body: text })).toBe('$failed');
    expect(rule({ status: 200, body: Buffer.from(text) })).toBe('$failed');
    expect(rule({ status: 200, body: new TextEncoder().encode(text) })).toBe('$failed');
    expect(rule({ status: 401, body: Buffer.from('{"error":{"code":null}}') })).toBe('$succeeded');
  });

  it('equals true, false, 0 and null exactly', () => {
    const classify = compile({ json: { field: 'ok', succeeded: true, failed: false } });
    expect(classify({ status: 200, body: { ok: false } })).toBe('$failed');
    expect(classify({ status: 401, body: { ok: true } })).toBe('$succeeded');
    expect(classify({ status: 500, body: { ok: 'true' } })).toBeUndefined();
    expect(classify({ status: 500, body: { ok: 1 } })).toBeUndefined();
    const zero = compile({ json: { field: 'code', failed: 0 } });
    expect(zero({ status: 200, body: { code: 0 } })).toBe('$failed');
    expect(zero({ status: 200, body: { code: '0' } })).toBe('$succeeded');
  });

  it('a RegExp tests strings and numbers only', () => {
    const classify = compile({ json: { field: 'result', failed: /^(?:fail|4\d\d)/ } });
    expect(classify({ status: 200, body: { result: 'failure' } })).toBe('$failed');
    expect(classify({ status: 200, body: { result: 401 } })).toBe('$failed');
    expect(classify({ status: 200, body: { result: ['failure'] } })).toBe('$succeeded');
  });

  it('does not read a text body over 64 KiB: the other rules decide', () => {
    const padded = (length: number) => {
      const head = '{"error":{"code":"bad_password"},"pad":"';
      return `${head}${'x'.repeat(length - head.length - 2)}"}`;
    };
    expect(padded(64 * 1024)).toHaveLength(65536);
    expect(rule({ status: 200, body: padded(64 * 1024) })).toBe('$failed');
    // Too long to read: a success by status alone is no outcome.
    expect(rule({ status: 200, body: padded(64 * 1024 + 1) })).toBeUndefined();
    expect(rule({ status: 200, body: Buffer.from(padded(64 * 1024)) })).toBe('$failed');
    expect(rule({ status: 200, body: Buffer.from(padded(64 * 1024 + 1)) })).toBeUndefined();
    expect(rule({ status: 401, body: padded(64 * 1024 + 1) })).toBe('$failed');
    expect(rule({ status: 500, body: padded(100 * 1024) })).toBeUndefined();
  });

  it('malformed JSON: a failure status still counts, a success by status alone does not', () => {
    for (const body of ['{"error":{"code":"bad_password"}', 'bad_password', '', Buffer.from([0xff, 0xfe, 0x7b]), '\u0000']) {
      expect(rule({ status: 200, body }), String(body)).toBeUndefined();
      expect(rule({ status: 401, body }), String(body)).toBe('$failed');
      expect(rule({ status: 500, body }), String(body)).toBeUndefined();
    }
  });

  it('bodies of other kinds fall through', () => {
    for (const body of [null, 42, true, Symbol('x'), () => ({ error: { code: 'bad_password' } }), [], new Map([['error', { code: 'bad_password' }]])]) {
      expect(rule({ status: 500, body }), String(body)).toBeUndefined();
    }
  });

  it('never reads inherited properties nor a "__proto__" key of parsed JSON', () => {
    const classify = compile({ json: { field: 'ok', succeeded: true, failed: (v) => v !== undefined && v !== true } });
    expect(classify({ status: 500, body: Object.create({ ok: true }) })).toBeUndefined();
    expect(classify({ status: 500, body: '{"__proto__":{"ok":true}}' })).toBeUndefined();
    const nested = compile({ json: { field: 'user.id', succeeded: (v) => v !== undefined } });
    expect(nested({ status: 500, body: { user: Object.create({ id: 'u1' }) } })).toBeUndefined();
    expect(nested({ status: 500, body: '{"user":{"__proto__":{"id":"u1"}}}' })).toBeUndefined();
    const inherited = compile({ json: { field: 'toString', succeeded: (v) => v !== undefined } });
    expect(inherited({ status: 500, body: {} })).toBeUndefined();
    expect(inherited({ status: 500, body: '{}' })).toBeUndefined();
    const length = compile({ json: { field: 'message.length', succeeded: (v) => v !== undefined } });
    expect(length({ status: 500, body: { message: 'abc' } })).toBeUndefined();
  });

  it('a getter that throws falls through', () => {
    const body = {
      get ok(): boolean {
        throw new Error('lazy');
      },
    };
    const classify = compile({ json: { field: 'ok', failed: false } });
    expect(classify({ status: 200, body })).toBeUndefined();
    expect(classify({ status: 401, body })).toBe('$failed');
  });

  it('a byte-order mark before the JSON text is read through', () => {
    const classify = compile({ json: { field: 'ok', failed: false } });
    expect(classify({ status: 200, body: '\ufeff{"ok":false}' })).toBe('$failed');
  });

  it('is skipped when no body was kept', () => {
    const classify = compile({ json: { field: 'ok', failed: (v) => v === undefined } });
    expect(classify({ status: 200 })).toBe('$succeeded');
    expect(classify({ status: 200, body: {} })).toBe('$failed');
  });

  it('beats the redirect rules', () => {
    const classify = compile({ json: { field: 'ok', succeeded: true } });
    expect(classify({ ...redirectTo('/login?error=1'), body: { ok: true } }, request())).toBe('$succeeded');
    expect(classify({ ...redirectTo('/login?error=1'), body: { ok: false } }, request())).toBe('$failed');
  });

  it('needsBody is true only when a json rule is set', () => {
    expect(compile().needsBody).toBe(false);
    expect(compile({}).needsBody).toBe(false);
    expect(compile({ header: { name: 'x', failed: 'no' }, classify: () => undefined, session: 'sid', redirect: { failed: '/login' }, failed: 401 }).needsBody).toBe(false);
    expect(compile({ json: { field: 'ok', failed: false } }).needsBody).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
describe('redirect defaults', () => {
  const classify = compile();

  it.each<[string, string, string]>([
    ['back to its own path', '/login', '/login'],
    ['back to its own path, another case', '/login', '/LOGIN'],
    ['back to its own path, a trailing slash', '/login', '/login/'],
    ['back to its own path from a request with a trailing slash', '/Login/', '/login'],
    ['back to its own path with a query', '/login', '/login?next=%2Faccount'],
    ['the parent path (passport-local\'s /login/password)', '/login/password', '/login'],
    ['a sign-in page from an OAuth callback', '/auth/github/callback', '/login'],
    ['another sign-in page', '/login', '/signin'],
    ['a failure page below the form', '/login', '/login/failed'],
    ['a failure page of its own', '/login', '/login-failed'],
    ['an auth failure page', '/login', '/auth/failure'],
    ['an unauthorized page', '/login', '/unauthorized'],
    ['a sign-in page with only where to go next', '/login', '/login?next=%2Faccount&returnTo=%2Fx'],
    ['a form page with an explicit failure status', '/login', '/login?step=2&status=failed'],
    ['an absolute URL to another host that looks like the login path (the Host is the client\'s)', '/login', 'https://sso.example.net/login'],
    ['a protocol-relative URL to another host', '/login', '//elsewhere.example/login'],
    ['a host with another port', '/login', 'http://example.com:8080/login'],
    ['a parent sign-in path of another spelling', '/sign-in/password', '/sign-in'],
    ['the same last segment', '/auth/login', '/login'],
    ['the same last segment, other parents', '/api/v1/signin', '/web/signin'],
    ['an error query to the root', '/login', '/?error=1'],
    ['an error query elsewhere', '/login', '/account?login=failed'],
    ['a bare error key', '/login', '/home?error'],
    ['an err key', '/login', '/home?err=x'],
    ['a result key saying denied', '/login', '/home?auth=denied'],
    ['an absolute URL to the same host', '/login', 'http://example.com/login'],
    ['an absolute https URL to the same host in another case', '/login', 'https://EXAMPLE.com/login/'],
    ['an absolute URL to the same host with an error query', '/login', 'https://example.com/account?error=1'],
    ['a relative location with an error query', '/login', 'login?error'],
    ['a relative location of the same segment', '/auth/login', 'login'],
  ])('%s → $failed (%s → %s)', (_label, from, location) => {
    expect(classify(redirectTo(location), request(from))).toBe('$failed');
    expect(classify(redirectTo(location, {}, 303), request(from))).toBe('$failed');
    expect(classify({ status: 302, headers: { Location: location } }, request(from))).toBe('$failed');
  });

  it.each<[string, string, string]>([
    ['elsewhere', '/login', '/account'],
    ['the root', '/login', '/'],
    ['the root from a nested path', '/login/password', '/'],
    ['a child of the form', '/login', '/login/success'],
    ['a parent that is not a form page (/account from /account/login)', '/account/login', '/account'],
    ['a parent that is not a form page (/admin from /admin/login)', '/admin/login', '/admin'],
    ['a grand-parent that is not a form page', '/account/login/password', '/account'],
    ['a parent below another segment', '/users/login/password', '/users'],
    ['a query without an error', '/login', '/account?welcome=1&next=%2Flogin'],
    ['an absolute URL to the same host elsewhere', '/login', 'https://example.com/account'],
    ['a parent named auth (a success may land there)', '/auth/login/password', '/auth'],
    ['the next step of the form (2FA)', '/login', '/login?step=otp'],
    ['identifier first: the email, then the password', '/login', '/login?email=alice%40example.com'],
    ['a step with where to go next', '/login', '/login?next=%2Fx&step=otp'],
    ['a magic link sent', '/login', '/login?sent=1'],
    ['a welcome on another sign-in page', '/login', '/signin?welcome=1'],
    ['a page of failed jobs', '/login', '/jobs?status=failed'],
    ['logs at error level', '/login', '/logs?level=error'],
    ['a tab of errors', '/login', '/issues?tab=errors'],
    ['a status=invalid query on a page that is not the form', '/login', '/somewhere?status=invalid'],
    ['a reason that is not a result key', '/login', '/home?reason=denied'],
    ['a settings page', '/login', '/settings/security/login-history'],
  ])('%s → the 2xx/3xx default, $succeeded (%s → %s)', (_label, from, location) => {
    expect(classify(redirectTo(location), request(from))).toBe('$succeeded');
  });

  it('a redirect that is not a default failure leaves the decision to the status lists', () => {
    const failed302 = compile({ failed: 302 });
    expect(failed302(redirectTo('/account'), request())).toBe('$failed');
    const none = compile({ succeeded: [], failed: [] });
    expect(none(redirectTo('/account'), request())).toBeUndefined();
    expect(none(redirectTo('/login'), request())).toBe('$failed');
  });

  it('a default failure beats a status list that says success', () => {
    expect(compile({ succeeded: 302 })(redirectTo('/login?error=1'), request())).toBe('$failed');
  });

  it('needs a 3xx status and a location', () => {
    expect(classify({ status: 200, headers: { location: '/login' } }, request())).toBe('$succeeded');
    expect(classify({ status: 201, headers: { location: '/login?error=1' } }, request())).toBe('$succeeded');
    expect(classify({ status: 302, headers: {} }, request())).toBe('$succeeded');
    expect(classify({ status: 302 }, request())).toBe('$succeeded');
    expect(classify({ status: 302, headers: { location: ['/login'] } }, request())).toBe('$failed');
  });

  it('never reads the host: a client writes its Host header (and a proxy may not forward it)', () => {
    for (const host of ['example.com:3000', 'evil.example', undefined]) {
      const req = request('/login', { headers: host === undefined ? {} : { host } });
      expect(classify(redirectTo('http://example.com:3000/login'), req), host).toBe('$failed');
      expect(classify(redirectTo('https://app.example.com/login'), req), host).toBe('$failed');
      expect(classify(redirectTo('https://app.example.com/account'), req), host).toBe('$succeeded');
    }
  });

  it('the sign-up defaults on a $registration route', () => {
    const signup = compileOutcome(undefined, OPTION, { event: '$registration' });
    expect(signup(redirectTo('/SignUp/'), request('/signup/email'))).toBe('$failed');
    expect(signup(redirectTo('/register?error=taken'), request('/register'))).toBe('$failed');
    expect(signup(redirectTo('/signup?step=2'), request('/signup'))).toBe('$succeeded');
    expect(signup(redirectTo('/register?success=1'), request('/register'))).toBe('$succeeded');
    expect(signup(redirectTo('/signup/verify'), request('/signup'))).toBe('$succeeded');
    // A sign-in page is not a sign-up's failure: many send new users there.
    expect(signup(redirectTo('/login'), request('/signup'))).toBe('$succeeded');
  });

  it('a malformed location never throws and is no redirect answer', () => {
    for (const location of ['http://[', 'https://exa mple.com/login', 'http://example.com:99999/login', `/login?${'x'.repeat(9000)}`]) {
      expect(() => classify(redirectTo(location), request()), location).not.toThrow();
      expect(classify(redirectTo(location), request()), location).toBe('$succeeded');
    }
  });

  it('a request without a path is read as the root', () => {
    const req = { method: 'POST', url: '/', headers: {} } as unknown as RequestInfo;
    expect(classify(redirectTo('/account'), req)).toBe('$succeeded');
    expect(classify(redirectTo('/login?error=1'), req)).toBe('$failed');
  });

  it('do not answer without a request', () => {
    expect(classify(redirectTo('/login?error=1'))).toBe('$succeeded');
    expect(classify(redirectTo('/login'))).toBe('$succeeded');
  });
});

describe('redirect matchers', () => {
  it('given paths are tried before the defaults', () => {
    const classify = compile({ redirect: { failed: '/signin', succeeded: '/home/*' } });
    expect(classify(redirectTo('/signin'), request('/auth/login'))).toBe('$failed');
    expect(classify(redirectTo('/SignIn/?x=1'), request('/auth/login'))).toBe('$failed');
    expect(classify(redirectTo('/home/dashboard'), request('/home/login'))).toBe('$succeeded');
    expect(classify(redirectTo('/home'), request('/home/login'))).toBe('$succeeded');
    expect(classify(redirectTo('/home?error=1'), request())).toBe('$succeeded');
    // Neither matcher: the defaults still apply.
    expect(classify(redirectTo('/login'), request())).toBe('$failed');
    expect(classify(redirectTo('/account'), request())).toBe('$succeeded');
  });

  it('failed is tried before succeeded', () => {
    const classify = compile({ redirect: { failed: /[?&]error=/, succeeded: '/login' } });
    expect(classify(redirectTo('/login?error=1'), request())).toBe('$failed');
    expect(classify(redirectTo('/login?ok=1'), request())).toBe('$succeeded');
  });

  it('a path matcher ignores the query it is written with', () => {
    const classify = compile({ redirect: { failed: '/signin?error=1' } });
    expect(classify(redirectTo('/signin'), request())).toBe('$failed');
  });

  it('a path matcher with a parameter', () => {
    const classify = compile({ redirect: { succeeded: '/users/:id' } });
    expect(classify(redirectTo('/users/42'), request('/users/login'))).toBe('$succeeded');
  });

  it('a RegExp is tested against the path and query, not the host', () => {
    const classify = compile({ redirect: { failed: /^\/account\?.*\bretry=1/, succeeded: /^\/welcome$/ } });
    expect(classify(redirectTo('/account?retry=1'), request())).toBe('$failed');
    expect(classify(redirectTo('https://example.com/account?a=b&retry=1'), request())).toBe('$failed');
    expect(classify(redirectTo('/account', {}, 303), request())).toBe('$succeeded');
    expect(compile({ succeeded: [], failed: [], redirect: { succeeded: /^\/welcome$/ } })(redirectTo('/welcome'), request())).toBe('$succeeded');
    expect(compile({ succeeded: [], failed: [], redirect: { succeeded: /example/ } })(redirectTo('https://example.com/x'), request())).toBeUndefined();
  });

  it('a function of the resolved URL; only true counts, a throw is no match', () => {
    const seen: string[] = [];
    const classify = compile({
      succeeded: [],
      failed: [],
      redirect: {
        failed: (url) => {
          seen.push(url.href);
          if (url.pathname === '/boom') throw new Error('boom');
          return url.searchParams.get('e') === '1';
        },
        succeeded: ((url: URL) => (url.host === 'app.example' ? 1 : url.pathname === '/ok')) as (url: URL) => boolean,
      },
    });
    expect(classify(redirectTo('/x?e=1'), request())).toBe('$failed');
    expect(classify(redirectTo('/ok'), request())).toBe('$succeeded');
    expect(classify(redirectTo('https://app.example/ok2'), request())).toBeUndefined();
    expect(classify(redirectTo('/boom'), request())).toBeUndefined();
    expect(seen[0]).toMatch(/\/x\?e=1$/);
    expect(seen[2]).toBe('https://app.example/ok2');
  });

  it('arrays of paths and RegExps', () => {
    const classify = compile({ redirect: { failed: ['/signin', /[?&]retry\b/], succeeded: ['/dashboard/*', /^\/welcome/] } });
    expect(classify(redirectTo('/signin'), request())).toBe('$failed');
    expect(classify(redirectTo('/x?retry'), request())).toBe('$failed');
    expect(classify(redirectTo('/dashboard/1'), request('/dashboard/login'))).toBe('$succeeded');
    expect(classify(redirectTo('/welcome/new'), request('/welcome/login'))).toBe('$succeeded');
    const empty = compile({ succeeded: [], failed: [], redirect: { failed: [], succeeded: [] } });
    expect(empty(redirectTo('/home'), request())).toBeUndefined();
    expect(empty(redirectTo('/login'), request())).toBe('$failed');
  });

  it('redirect: false turns the defaults off', () => {
    const classify = compile({ redirect: false });
    expect(classify(redirectTo('/login?error=1'), request())).toBe('$succeeded');
    expect(classify(redirectTo('/login'), request())).toBe('$succeeded');
    expect(classify(redirectTo('/login/password'), request('/login/password'))).toBe('$succeeded');
    expect(compile({ redirect: false, failed: 302 })(redirectTo('/account'), request())).toBe('$failed');
  });

  it('an empty redirect object keeps the defaults', () => {
    expect(compile({ redirect: {} })(redirectTo('/login'), request())).toBe('$failed');
  });

  it('given matchers answer on the location alone, without a request (the defaults do not)', () => {
    const classify = compile({ redirect: { failed: '/signin', succeeded: '/home' } });
    expect(classify(redirectTo('/signin'))).toBe('$failed');
    expect(compile({ succeeded: [], failed: [], redirect: { succeeded: '/home' } })(redirectTo('/home'))).toBe('$succeeded');
    expect(classify(redirectTo('/login?error=1'))).toBe('$succeeded');
  });
});

// ---------------------------------------------------------------------------------------
describe('without a request, and bare statuses', () => {
  it('a bare number works as before', () => {
    const classify = compile({ header: { name: 'x-login', failed: 'no' }, json: { field: 'ok', failed: false }, classify: () => 'failed', session: 'sid', redirect: { failed: '/login' } });
    expect(classify(200)).toBe('$succeeded');
    expect(classify(302)).toBe('$succeeded');
    expect(classify(401)).toBe('$failed');
    expect(classify(500)).toBeUndefined();
    expect(compile({ succeeded: 302, failed: 200 })(200)).toBe('$failed');
  });

  it('the redirect defaults, the session rule and classify do not answer without a request', () => {
    const classify = compile({ session: 'connect.sid', classify: () => 'failed', succeeded: [], failed: [] });
    expect(classify(redirectTo('/login?error=1'))).toBeUndefined();
    expect(classify({ status: 200, headers: { 'set-cookie': 'connect.sid=s%3Anew.sig' } })).toBeUndefined();
    expect(classify({ status: 200 })).toBeUndefined();
    // With the request, the same responses answer.
    const withoutClassify = compile({ session: 'connect.sid', succeeded: [], failed: [] });
    expect(withoutClassify(redirectTo('/login?error=1'), request())).toBe('$failed');
    expect(withoutClassify({ status: 200, headers: { 'set-cookie': 'connect.sid=s%3Anew.sig' } }, request())).toBe('$succeeded');
  });

  it('a response object without a usable status is no outcome', () => {
    const classify = compile({ classify: () => 'succeeded' });
    for (const status of [undefined, null, '200', Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(classify({ status, signedIn: true } as unknown as OutcomeResponse, request()), String(status)).toBeUndefined();
    }
    expect(classify(null as unknown as OutcomeResponse, request())).toBeUndefined();
    expect(classify('200' as unknown as OutcomeResponse, request())).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------
describe('configuration errors', () => {
  /** Asserts the error's code, its option path, and that its message names the option and says how to fix it. */
  function expectError(options: unknown, option: string, fix: RegExp, code = 'VIGIL_E_ROUTE', at = OPTION): VigilConfigError {
    const err = thrown(() => compileOutcome(options as OutcomeOptions, at));
    expect(err.name).toBe('VigilConfigError');
    expect(err.code).toBe(code);
    expect(err.option).toBe(option);
    expect(err.message.startsWith(`${code}: ${option} is `)).toBe(true);
    expect(err.message).toMatch(fix);
    return err;
  }

  it.each([[null], [401], ['4xx'], [true], [[]], [() => ({})]])('the outcome %j that is not an object', (options) => {
    const err = expectError(options, OPTION, /which is not an object\. Pass \{ succeeded\?, failed\?, redirect\?, session\?, header\?, json\?, classify\? \}/);
    expect(err.value).toBe(options);
  });

  it.each([
    ['clasify', 'classify'],
    ['sesion', 'session'],
    ['headers', 'header'],
    ['redirects', 'redirect'],
    ['jsn', 'json'],
  ])('the unknown key %s, with a hint', (typo, meant) => {
    expectError({ [typo]: 1 }, `${OPTION}.${typo}`, new RegExp(`Did you mean "${OPTION.replace(/[[\].]/g, '\\$&')}\\.${meant}"\\?`), 'VIGIL_E_UNKNOWN_OPTION');
  });

  it('an unknown key far from any, with the list of valid ones', () => {
    expectError({ onFailure: 1 }, `${OPTION}.onFailure`, /Valid options here: succeeded, failed, redirect, session, header, json, classify\./, 'VIGIL_E_UNKNOWN_OPTION');
  });

  it.each([['a string', 'failed'], ['an object', {}], ['true', true]])('classify as %s', (_label, classify) => {
    const err = expectError({ classify }, `${OPTION}.classify`, /which is not a function\. Pass \(request, response\) => 'succeeded' \| 'failed' \| undefined\./);
    expect(err.value).toBe(classify);
  });

  it.each([['true', true], ['null', null], ['a string', '/login'], ['an array', ['/login']]])('redirect as %s', (_label, redirect) => {
    expectError({ redirect }, `${OPTION}.redirect`, /which is not an object\. Pass \{ succeeded\?: '\/account\/\*', failed\?: '\/login' \} or false\./);
  });

  it('an unknown key in redirect', () => {
    expectError({ redirect: { faild: '/login' } }, `${OPTION}.redirect.faild`, /Did you mean "routes\[0\]\.outcome\.redirect\.failed"\?/, 'VIGIL_E_UNKNOWN_OPTION');
  });

  it.each<[string, unknown, string, string]>([
    ['a relative path', 'login', 'failed', `${OPTION}.redirect.failed`],
    ['an absolute URL', 'https://example.com/login', 'succeeded', `${OPTION}.redirect.succeeded`],
    ['a number', 302, 'failed', `${OPTION}.redirect.failed`],
    ['null', null, 'succeeded', `${OPTION}.redirect.succeeded`],
    ['an object', { path: '/login' }, 'failed', `${OPTION}.redirect.failed`],
    ['a bad entry in an array', ['/signin', 42], 'failed', `${OPTION}.redirect.failed[1]`],
    ['a nested array', [['/signin']], 'succeeded', `${OPTION}.redirect.succeeded[0]`],
  ])('a redirect matcher that is %s', (_label, matcher, key, option) => {
    expectError({ redirect: { [key]: matcher } }, option, /which is not a redirect matcher\. Use a path \("\/login", "\/account\/\*"\), a RegExp tested against the path and query/);
  });

  it('a redirect path with a "*" before its end', () => {
    expectError({ redirect: { succeeded: ['/ok', '/a/*/b'] } }, `${OPTION}.redirect.succeeded[1]`, /Only a trailing "\/\*" is supported/);
  });

  it.each<[string, unknown]>([
    ['true', true],
    ['null', null],
    ['an empty string', ''],
    ['a name with a space', 'connect sid'],
    ['a name with a ";"', 'sid;'],
    ['a number', 42],
    ['an empty list', []],
    ['a list with a bad name', ['connect.sid', 'bad name']],
    ['a list with a number', ['sid', 1]],
    ['an object', { name: 'sid' }],
  ])('session as %s', (_label, session) => {
    const err = expectError({ session }, `${OPTION}.session`, /which is not a cookie name or a list of them\. Use the session cookie's name \("connect\.sid"\), a list of names, or false/);
    expect(err.value).toBe(session);
  });

  it.each([['a string', 'x-login'], ['null', null], ['an array', [{ name: 'x' }]]])('header as %s', (_label, header) => {
    expectError({ header }, `${OPTION}.header`, /which is not an object\. Pass \{ name: 'x-login-result', succeeded\?: 'ok', failed\?: 'failed' \}\./);
  });

  it.each<[string, unknown]>([
    ['missing', undefined],
    ['empty', ''],
    ['a number', 42],
    ['with a space', 'x login'],
    ['with a colon', 'x-login:'],
  ])('a header rule whose name is %s', (_label, name) => {
    expectError({ header: { name, failed: 'no' } }, `${OPTION}.header.name`, /which is not a header name\. Use the header's name, e\.g\. "x-login-result"\./);
  });

  it('an unknown key in the header rule', () => {
    expectError({ header: { name: 'x-login', faild: 'no' } }, `${OPTION}.header.faild`, /Did you mean "routes\[0\]\.outcome\.header\.failed"\?/, 'VIGIL_E_UNKNOWN_OPTION');
  });

  it.each<[string, unknown]>([
    ['an object', { equals: 'ok' }],
    ['an array with an object', ['ok', {}]],
    ['a nested array', [['ok']]],
    ['a bigint', 1n],
    ['a symbol', Symbol('ok')],
  ])('a value matcher that is %s, in a header or a json rule', (_label, matcher) => {
    const fix = /which is not a value matcher\. Use a value \(true, "ok", 0, null\), an array of values, a RegExp, or a function \(value\) => boolean\./;
    expectError({ header: { name: 'x-login', succeeded: matcher } }, `${OPTION}.header.succeeded`, fix);
    expectError({ header: { name: 'x-login', failed: matcher } }, `${OPTION}.header.failed`, fix);
    expectError({ json: { field: 'ok', succeeded: matcher } }, `${OPTION}.json.succeeded`, fix);
    expectError({ json: { field: 'ok', failed: matcher } }, `${OPTION}.json.failed`, fix);
  });

  it('a header or json rule with neither succeeded nor failed', () => {
    const fix = /which says neither what a success nor what a failure is\. Give succeeded, failed or both/;
    expectError({ header: { name: 'x-login' } }, `${OPTION}.header`, fix);
    expectError({ header: { name: 'x-login', succeeded: undefined, failed: undefined } }, `${OPTION}.header`, fix);
    expectError({ json: { field: 'ok' } }, `${OPTION}.json`, fix);
  });

  it.each([['a string', 'ok'], ['null', null], ['an array', ['ok']]])('json as %s', (_label, json) => {
    expectError({ json }, `${OPTION}.json`, /which is not an object\. Pass \{ field: 'ok', succeeded\?: true, failed\?: false \}\./);
  });

  it.each<[string, unknown]>([
    ['missing', undefined],
    ['empty', ''],
    ['a..b', 'a..b'],
    ['a leading dot', '.ok'],
    ['a trailing dot', 'ok.'],
    ['__proto__', '__proto__'],
    ['a nested __proto__', 'user.__proto__.id'],
    ['constructor', 'constructor'],
    ['a nested prototype', 'user.constructor.prototype'],
    ['a number', 1],
    ['an array', ['ok']],
  ])('a json field that is %s', (_label, field) => {
    const err = expectError({ json: { field, failed: false } }, `${OPTION}.json.field`, /which is not a dotted path into the body\. Use e\.g\. "ok" or "error\.code"\./);
    expect(err.value).toBe(field);
  });

  it('an unknown key in the json rule', () => {
    expectError({ json: { feild: 'ok', failed: false } }, `${OPTION}.json.feild`, /Did you mean "routes\[0\]\.outcome\.json\.field"\?/, 'VIGIL_E_UNKNOWN_OPTION');
  });

  it('names the option it is given', () => {
    expectError({ json: { field: '' , failed: false } }, 'outcome.json.field', /dotted path/, 'VIGIL_E_ROUTE', 'outcome');
    expectError({ session: '' }, 'route.outcome.session', /cookie name/, 'VIGIL_E_ROUTE', 'route.outcome');
  });
});

// ---------------------------------------------------------------------------------------
describe('junk responses (property)', () => {
  const classifiers: OutcomeClassifier[] = [
    compile(),
    compile({ succeeded: [], failed: [] }),
    compile({ session: ['connect.sid', 'sid'], redirect: { failed: ['/signin', /[?&]e=/], succeeded: (url) => url.pathname.startsWith('/home') } }),
    compile({ header: { name: 'x-login', failed: /fail/, succeeded: ['ok', 1] }, json: { field: 'a.b', failed: (v) => (v as { x: number }).x > 1, succeeded: /ok/ } }),
    compile({ classify: (req, res) => ((res.headers as Record<string, unknown>)?.x === 1 ? 'failed' : (req.path as unknown) === 1 ? 'succeeded' : undefined), redirect: false, session: false }),
    compile({
      classify: () => {
        throw new Error('boom');
      },
      json: { field: '0', succeeded: true },
    }),
  ];

  const headerName = fc.oneof(fc.constantFrom('location', 'Location', 'LOCATION', 'set-cookie', 'Set-Cookie', 'x-login', 'X-Login', '__proto__', 'constructor'), fc.string());
  const cookieLine = fc.oneof(
    fc.string(),
    fc.tuple(fc.constantFrom('connect.sid', 'sessionId', 'sid', 'x'), fc.string(), fc.string()).map(([name, value, attributes]) => `${name}=${value}; ${attributes}`),
    fc.constantFrom('connect.sid=; Max-Age=0', 'connect.sid=%E0%A4%A', 'connect.sid="', `sid=x; Expires=${PAST}`, 'sid=x; Max-Age=abc', 'sid=x; Expires=not a date'),
  );
  const location = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.tuple(fc.constantFrom('/', '//', 'http://', 'https://example.com', '\\\\', 'javascript:', 'login?', '/login?error'), fc.string()).map(([a, b]) => a + b),
  );
  const headerValue = fc.oneof(fc.string(), location, fc.integer(), fc.double(), fc.array(fc.oneof(fc.string(), cookieLine, fc.anything())), cookieLine, fc.anything());
  const headers = fc.oneof(
    fc.constant(undefined),
    fc.anything(),
    fc.dictionary(headerName, headerValue),
    fc.record({ location, 'set-cookie': fc.oneof(cookieLine, fc.array(cookieLine)) }),
  );
  const body = fc.oneof(fc.anything(), fc.json(), fc.string(), fc.uint8Array().map((bytes) => Buffer.from(bytes)), fc.jsonValue(), fc.constant('{"a":{"b":"ok"}}'));
  const status = fc.oneof(fc.integer({ min: 100, max: 599 }), fc.constantFrom(301, 302, 303, 307, 308), fc.integer(), fc.double(), fc.anything());
  const response = fc.oneof(
    fc.record({ status, headers, body, signedIn: fc.anything() }, { requiredKeys: [] }),
    fc.record({ status: fc.constantFrom(301, 302, 303, 307, 308), headers: fc.record({ location, 'set-cookie': fc.oneof(cookieLine, fc.array(cookieLine)) }) }),
    fc.anything(),
  );
  const requestInfo = fc.oneof(
    fc.constant(undefined),
    fc.constant(request('/login', { headers: { host: 'example.com', cookie: 'connect.sid=s%3Aold.sig; sid=1' } })),
    fc.record({
      method: fc.constant('POST'),
      url: fc.string(),
      path: fc.oneof(fc.string(), fc.anything()),
      headers: fc.oneof(fc.anything(), fc.dictionary(fc.constantFrom('host', 'Host', 'cookie', 'Cookie', 'x'), fc.oneof(fc.string(), fc.anything()))),
      cookies: fc.oneof(fc.constant(undefined), fc.anything(), fc.dictionary(fc.constantFrom('connect.sid', 'sessionId', 'sid'), fc.anything())),
    }),
  );
  const OUTCOMES = ['$succeeded', '$failed', undefined];

  it('never throw and always answer $succeeded, $failed or undefined', () => {
    fc.assert(
      fc.property(fc.constantFrom(...classifiers), response, requestInfo, (classify, res, req) => {
        const answer = classify(res as OutcomeResponse, req as RequestInfo | undefined);
        expect(OUTCOMES).toContain(answer);
      }),
      { numRuns: 3000 },
    );
  });

  it('a redirect to any location answers as a redirect answers (property)', () => {
    const classify = compile();
    fc.assert(
      fc.property(location, fc.constantFrom(301, 302, 303, 307, 308), (to, code) => {
        expect(['$succeeded', '$failed']).toContain(classify(redirectTo(to, {}, code), request()));
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------
describe('mergeOutcome and the app-wide outcome option', () => {
  it('mergeOutcome: route keys replace global ones of the same kind, the others apply', () => {
    const global: OutcomeOptions = { session: 'sid', header: { name: 'x-login', failed: 'no' }, failed: 200 };
    const route: OutcomeOptions = { header: { name: 'x-result', succeeded: 'ok' }, redirect: false };
    expect(mergeOutcome(global, route)).toEqual({ session: 'sid', header: { name: 'x-result', succeeded: 'ok' }, failed: 200, redirect: false });
    expect(mergeOutcome(undefined, route)).toBe(route);
    expect(mergeOutcome(global, undefined)).toBe(global);
    expect(mergeOutcome(undefined, undefined)).toBeUndefined();
    // Nothing is mutated.
    expect(global).toEqual({ session: 'sid', header: { name: 'x-login', failed: 'no' }, failed: 200 });
    expect(route).toEqual({ header: { name: 'x-result', succeeded: 'ok' }, redirect: false });
  });

  it('mergeOutcome hands an invalid route value on, for compileOutcome to name', () => {
    expect(mergeOutcome({ failed: 401 }, 42 as unknown as OutcomeOptions)).toBe(42);
    expect(mergeOutcome({ failed: 401 }, null as unknown as OutcomeOptions)).toBeNull();
  });

  const LOGIN = { method: 'POST', path: '/login', event: '$login' as const };
  const SIGNUP = { method: 'POST', path: '/signup', event: '$registration' as const };

  it('createVigil applies the app-wide outcome to every route, under each route\'s own', () => {
    const vigil = createVigil({
      outcome: { header: { name: 'x-login', failed: 'no' }, redirect: { failed: '/signin' }, session: 'sid' },
      routes: [LOGIN, { ...SIGNUP, outcome: { header: { name: 'x-signup', failed: 'taken' }, session: false } }],
    });
    const [login, signup] = vigil.routes;
    expect(login?.name).toBe('/login');
    expect(signup?.name).toBe('/signup');
    // The login route: all three global rules.
    expect(login?.outcome({ status: 200, headers: { 'x-login': 'no' } }, request())).toBe('$failed');
    expect(login?.outcome(redirectTo('/signin'), request())).toBe('$failed');
    expect(login?.outcome({ status: 200, headers: { 'set-cookie': 'sid=1' } }, request())).toBe('$succeeded');
    expect(login?.outcome({ status: 401, headers: { 'x-signup': 'taken' } }, request())).toBe('$failed');
    expect(login?.outcome({ status: 200, headers: { 'x-signup': 'taken' } }, request())).toBe('$succeeded');
    // The signup route: its own header rule replaces the global one; the session rule is off; the redirect rule applies.
    const req = request('/signup');
    expect(signup?.outcome({ status: 200, headers: { 'x-login': 'no' } }, req)).toBe('$succeeded');
    expect(signup?.outcome({ status: 200, headers: { 'x-signup': 'taken' } }, req)).toBe('$failed');
    expect(signup?.outcome(redirectTo('/signin'), req)).toBe('$failed');
    expect(signup?.outcome(redirectTo('/signup', { 'set-cookie': 'sid=1' }), req)).toBe('$failed');
  });

  it('app-wide status lists apply; a route\'s replace only the list it gives', () => {
    const vigil = createVigil({ outcome: { succeeded: 302, failed: 200 }, routes: [LOGIN, { ...SIGNUP, outcome: { failed: 422 } }] });
    const [login, signup] = vigil.routes;
    expect(login?.outcome(200)).toBe('$failed');
    expect(login?.outcome(302)).toBe('$succeeded');
    expect(login?.outcome(401)).toBeUndefined();
    expect(signup?.outcome(422)).toBe('$failed');
    expect(signup?.outcome(302)).toBe('$succeeded');
    expect(signup?.outcome(200)).toBeUndefined();
  });

  it('the app-wide json rule makes every route keep the body', () => {
    const vigil = createVigil({ outcome: { json: { field: 'ok', failed: false } }, routes: [LOGIN, { ...SIGNUP, outcome: { failed: 409 } }] });
    expect(vigil.routes.map((route) => route.outcome.needsBody)).toEqual([true, true]);
    expect(vigil.routes[1]?.outcome({ status: 200, body: { ok: false } })).toBe('$failed');
    expect(createVigil({ routes: [LOGIN] }).routes[0]?.outcome.needsBody).toBe(false);
  });

  it('applies to routeToEventType and to routes given explicitly', () => {
    const vigil = createVigil({ outcome: { redirect: { failed: '/signin' } }, routeToEventType: { '/login': '$login' } });
    expect(vigil.routes[0]?.outcome(redirectTo('/signin'), request('/login'))).toBe('$failed');
    const chosen = vigil.route({ event: '$login' });
    expect(chosen.outcome(redirectTo('/signin'), request('/anywhere'))).toBe('$failed');
    expect(chosen.outcome(redirectTo('/home'), request('/anywhere'))).toBe('$succeeded');
  });

  it.each<[string, unknown, string, string]>([
    ['not an object', 42, 'outcome', 'VIGIL_E_ROUTE'],
    ['an unknown key', { failled: 401 }, 'outcome.failled', 'VIGIL_E_UNKNOWN_OPTION'],
    ['a bad json field', { json: { field: 'a..b', failed: false } }, 'outcome.json.field', 'VIGIL_E_ROUTE'],
    ['a bad session name', { session: 'a b' }, 'outcome.session', 'VIGIL_E_ROUTE'],
    ['a bad redirect matcher', { redirect: { failed: ['/ok', 'login'] } }, 'outcome.redirect.failed[1]', 'VIGIL_E_ROUTE'],
    ['a header rule without a name', { header: { failed: 'no' } }, 'outcome.header.name', 'VIGIL_E_ROUTE'],
    ['classify not a function', { classify: 'failed' }, 'outcome.classify', 'VIGIL_E_ROUTE'],
  ])('an invalid app-wide outcome (%s) fails at start-up naming it', (_label, outcome, option, code) => {
    const err = thrown(() => createVigil({ outcome: outcome as OutcomeOptions, routes: [{ ...LOGIN, outcome: { failed: 'bad' as unknown as number } }] }));
    expect(err.code).toBe(code);
    expect(err.option).toBe(option);
    expect(err.message.startsWith(`${code}: ${option} is `)).toBe(true);
  });

  it('an invalid app-wide outcome fails even without routes', () => {
    expect(thrown(() => createVigil({ outcome: { json: { field: '' } } as OutcomeOptions })).option).toBe('outcome.json.field');
  });

  it('an invalid route outcome under a valid app-wide one names the route', () => {
    const err = thrown(() => createVigil({ outcome: { session: 'sid' }, routes: [LOGIN, { ...SIGNUP, outcome: { json: { field: 'ok.__proto__', failed: false } } }] }));
    expect(err.option).toBe('routes[1].outcome.json.field');
    expect(err.code).toBe('VIGIL_E_ROUTE');
  });
});

// ---------------------------------------------------------------------------------------
// From the review of the first version: each case was answered wrongly (or threw).
describe('redirect targets, resolved as a browser would', () => {
  const classify = compile();

  it('a relative Location resolves against the request URL', () => {
    expect(classify(redirectTo('../login'), request('/auth/login/password'))).toBe('$failed');
    expect(classify(redirectTo('.'), request('/login/password'))).toBe('$failed');
    expect(classify(redirectTo('password?error=1'), request('/login/password'))).toBe('$failed');
    expect(classify(redirectTo('../account'), request('/auth/login'))).toBe('$succeeded');
  });

  it('an absolute URL is read by its path, whatever host it names', () => {
    expect(classify(redirectTo('http://example.com/login'), request('/login', { headers: { HOST: 'example.com' } }))).toBe('$failed');
    expect(classify(redirectTo('https://www.example.com/login'), request('/login', { headers: { host: '127.0.0.1:3000' } }))).toBe('$failed');
    expect(classify(redirectTo('https://www.example.com/account'), request('/login', { headers: { host: '127.0.0.1:3000' } }))).toBe('$succeeded');
  });

  it('an error in the query is a failure on any host (an SSO page sends errors back the same way); ?error=0 is none', () => {
    expect(classify(redirectTo('https://sso.example.net/login?error=1'), request())).toBe('$failed');
    expect(classify(redirectTo('https://www.example.com/?login=failed'), request('/login', { headers: { host: '127.0.0.1:3000' } }))).toBe('$failed');
    for (const none of ['0', 'false', 'no', 'none']) expect(classify(redirectTo(`/account?error=${none}`), request()), none).toBe('$succeeded');
  });

  it('the defaults read login and sign-up forms only: a reset page redirecting to itself is not a failure', () => {
    const reset = compileOutcome(undefined, OPTION, { event: '$password_reset_request' });
    expect(reset(redirectTo('/password/forgot?sent=1'), request('/password/forgot'))).toBe('$succeeded');
    expect(compileOutcome(undefined, OPTION, { event: '$registration' })(redirectTo('/signup?error=taken'), request('/signup'))).toBe('$failed');
    expect(compileOutcome(undefined, OPTION, { event: '$login' })(redirectTo('/login'), request('/login'))).toBe('$failed');
    // A matcher given for the route still applies.
    expect(compileOutcome({ redirect: { failed: '/password/forgot' } }, OPTION, { event: '$password_reset_request' })(redirectTo('/password/forgot'), request('/password/forgot'))).toBe('$failed');
  });

  it('the defaults through a route: the event comes from its definition', () => {
    const vigil = createVigil({ routes: [{ method: 'POST', path: '/password/forgot', event: '$password_reset_request', user: { email: 'body.email' } }] });
    const [route] = vigil.routes;
    expect(route?.outcome(redirectTo('/password/forgot?sent=1'), request('/password/forgot'))).toBe('$succeeded');
    return vigil.close();
  });
});

describe('hostile values never throw', () => {
  it('a revoked proxy body, a throwing headers getter, a signedIn getter that throws: no outcome, no throw', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(compile({ json: { field: 'ok', failed: false } })({ status: 200, body: proxy }, request())).toBeUndefined();
    expect(compile({ json: { field: 'ok', failed: false } })({ status: 401, body: proxy }, request())).toBe('$failed');
    const headers = Object.defineProperty({}, 'location', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(() => compile()({ status: 302, headers }, request())).not.toThrow();
    expect(compile()({ status: 302, headers }, request())).toBeUndefined();
    const response = Object.defineProperty({ status: 302 }, 'signedIn', {
      get() {
        throw new Error('boom');
      },
    }) as OutcomeResponse;
    expect(compile()(response, request())).toBeUndefined();
  });

  it('signedIn with a status that is not one (0, -1, 1000, 200.5) is no outcome', () => {
    for (const status of [0, -1, 1000, 200.5]) expect(compile()({ status, signedIn: true }, request()), String(status)).toBeUndefined();
  });
});

describe('header matchers compare text', () => {
  it('a number matches its digits', () => {
    const classify = compile({ header: { name: 'x-ok', succeeded: 1, failed: [0, 'no'] } });
    expect(classify({ status: 401, headers: { 'x-ok': 1 } }, request())).toBe('$succeeded');
    expect(classify({ status: 200, headers: { 'x-ok': '0' } }, request())).toBe('$failed');
    expect(classify({ status: 200, headers: { 'x-ok': 'no' } }, request())).toBe('$failed');
  });

  it.each([[true], [false], [null], [Number.NaN], [['ok', true]]])('a header matcher %j no text can equal fails at start-up', (matcher) => {
    const err = thrown(() => compile({ header: { name: 'x-ok', succeeded: matcher as never } }));
    expect(err.option).toBe(`${OPTION}.header.succeeded`);
    expect(err.message).toMatch(/can never equal/);
  });

  it('NaN in a json matcher fails at start-up too', () => {
    const err = thrown(() => compile({ json: { field: 'n', failed: Number.NaN } }));
    expect(err.option).toBe(`${OPTION}.json.failed`);
  });
});

describe('watchSignIn: a sign-in is a call of the request\'s logIn/login, not a user found on it', () => {
  it("Passport's initialize() after Vigil: `req.login = req.logIn = req.logIn || impl` keeps the watch", () => {
    const calls: unknown[] = [];
    const impl = function (this: unknown, user: unknown) {
      calls.push([this, user]);
      return 'done';
    };
    const req: Record<string, unknown> = { user: { id: 'attacker' } };
    const signedIn = watchSignIn(req);
    // What passport/lib/middleware/initialize.js does.
    req.login = req.logIn = (req.logIn as unknown) || impl;
    expect(signedIn()).toBe(false);
    // A session middleware loading the client's own session is no sign-in.
    req.user = { id: 'someone' };
    expect(signedIn()).toBe(false);
    expect((req.logIn as (u: unknown) => unknown)({ id: 'alice' })).toBe('done');
    expect(signedIn()).toBe(true);
    expect(calls).toEqual([[req, { id: 'alice' }]]);
  });

  it('a method already on the request, or on its prototype (a Fastify decorator), is watched with its own `this`', () => {
    const own = { logIn(this: unknown) { return this; } };
    const watchOwn = watchSignIn(own);
    expect(own.logIn()).toBe(own);
    expect(watchOwn()).toBe(true);

    class FastifyLikeRequest {
      login(this: unknown) {
        return this;
      }
    }
    const request = new FastifyLikeRequest();
    const watchProto = watchSignIn(request);
    expect(watchProto()).toBe(false);
    expect(request.login()).toBe(request);
    expect(watchProto()).toBe(true);
    // Another request of the same class is not watched by this one.
    const other = new FastifyLikeRequest();
    const watchOther = watchSignIn(other);
    expect(watchOther()).toBe(false);
  });

  it('a framework request (an object of a class) gets no property of its own: its prototype is set up once', () => {
    class ExpressLikeRequest {}
    const impl = function (this: unknown) {
      return this;
    };
    const first = new ExpressLikeRequest() as Record<string, unknown>;
    const watchFirst = watchSignIn(first);
    expect(Object.getOwnPropertyNames(first)).toEqual([]);
    // Passport's initialize() then assigns through the prototype's setter: still no own property.
    first.login = first.logIn = (first.logIn as unknown) || impl;
    expect(Object.getOwnPropertyNames(first)).toEqual([]);
    const second = new ExpressLikeRequest() as Record<string, unknown>;
    const watchSecond = watchSignIn(second);
    second.login = second.logIn = (second.logIn as unknown) || impl;
    expect((second.logIn as () => unknown)()).toBe(second);
    expect([watchFirst(), watchSecond()]).toEqual([false, true]);
    expect((first.login as () => unknown)()).toBe(first);
    expect(watchFirst()).toBe(true);
  });

  it('a prototype method of a parent context (Fastify encapsulation) is watched through the child', () => {
    class Parent {
      logIn(this: unknown) {
        return this;
      }
    }
    class Child extends Parent {}
    const parentRequest = new Parent();
    const childRequest = new Child();
    const watchParent = watchSignIn(parentRequest);
    const watchChild = watchSignIn(childRequest);
    expect(childRequest.logIn()).toBe(childRequest);
    expect([watchParent(), watchChild()]).toEqual([false, true]);
    expect(parentRequest.logIn()).toBe(parentRequest);
    expect(watchParent()).toBe(true);
  });

  it("a token strategy's logIn(user, { session: false }) is no sign-in; a session login is", () => {
    class TokenRequest {
      logIn(this: unknown, _user: unknown, _options?: unknown) {
        return this;
      }
    }
    const api = new TokenRequest();
    const watchApi = watchSignIn(api);
    api.logIn({ id: 'attacker' }, { session: false });
    expect(watchApi()).toBe(false);
    api.logIn({ id: 'attacker' }, {});
    expect(watchApi()).toBe(true);
    const callbackOnly = new TokenRequest();
    const watchCallback = watchSignIn(callbackOnly);
    callbackOnly.logIn({ id: 'u' }, () => undefined);
    expect(watchCallback()).toBe(true);
  });

  it('a method assigned on a watched prototype later (a library patching it) reaches every request', () => {
    class LatePatched {}
    const proto = LatePatched.prototype as unknown as Record<string, unknown>;
    const first = new LatePatched() as Record<string, unknown>;
    watchSignIn(first);
    proto.logIn = function (this: unknown) {
      return this;
    };
    const second = new LatePatched() as Record<string, unknown>;
    const watchSecond = watchSignIn(second);
    expect(typeof second.logIn).toBe('function');
    expect((second.logIn as () => unknown)()).toBe(second);
    expect(watchSecond()).toBe(true);
  });

  it('never called: false; odd requests never throw', () => {
    expect(watchSignIn({})()).toBe(false);
    expect(watchSignIn(null)()).toBe(false);
    expect(watchSignIn('req')()).toBe(false);
    const frozen = Object.freeze({ logIn() {} });
    expect(() => watchSignIn(frozen)).not.toThrow();
    const accessor = Object.defineProperty({}, 'logIn', { configurable: false, get: () => () => 1 });
    expect(() => watchSignIn(accessor)).not.toThrow();
  });
});

// The redirect shapes of real Passport and hand-written logins, as public Express apps
// write them (route path, successRedirect, failureRedirect; the values only, collected
// from public repositories). Lock-outs are the worse error: a success must never read
// as a failure; a failure should read as one wherever the path can tell.
describe('redirect defaults over the shapes real apps use', () => {
  const SHAPES: [event: '$login' | '$registration', route: string, success: string, failure: string | undefined][] = [
    ['$login', '/login', '/events/list', '/login'],
    ['$login', '/login', '/showProducts.html', '/login.html'],
    ['$login', '/users/signin', '/notes', '/users/signin'],
    ['$login', '/login', '/admin', '/login'],
    ['$login', '/login', '/api/user/me', '/api/user/login'],
    ['$login', '/login', '/home', '/login'],
    ['$login', '/login', '/dashboard/feed', '/users/login'],
    ['$login', '/login/password', '/', '/login'],
    ['$login', '/auth/google/callback', '/profile', '/login-failed'],
    ['$login', '/auth/github/callback', 'http://localhost:5173/', '/login'],
    ['$login', '/auth/facebook/return', '/profile', '/login'],
    ['$login', '/login', '/account', '/loginfail'],
    ['$login', '/api/auth/login', '/app', '/login?error=1'],
    ['$login', '/session', '/dashboard', '/session/new?error=invalid'],
    ['$login', '/login', 'https://app.example.com/welcome', '/login?failed=1'],
    // A failure page a success could land on too: no default can tell (see the README).
    ['$login', '/login', '/shoes', undefined],
    ['$registration', '/bo_admin_dev_signup', '/admin/dashboard', '/bo_admin_dev_signup'],
    ['$registration', '/signup', '/welcome', '/signup?error=email_taken'],
    ['$registration', '/register', '/login', '/register'],
    // Hand-written: res.redirect() after checking the password, or after a sign-up.
    ['$login', '/login', '/', '/login?erro=Erro%20interno'],
    ['$login', '/login', '/', '/login?error=credenciales_invalidas'],
    ['$login', '/auth/callback', '/app', '/login?error=No%20authorization%20code%20received'],
    ['$login', '/auth/callback', '/app', '/login?error_description=access_denied'],
    ['$login', '/login', '/', '/login?error=Too%20many%20login%20attempts'],
    ['$registration', '/signup', '/login?status=success', '/signup?error=1'],
    ['$registration', '/signup', '/login?signup=success', undefined],
    ['$registration', '/signup', '/login?msg=Your%20account%20was%20created&msgClass=1', undefined],
    // Identifier first, or a verification step: the next step of the flow, not a failure.
    ['$login', '/login', '/login?email=alice%40example.com', undefined],
  ];
  for (const [event, route, success, failure] of SHAPES) {
    const classify = compileOutcome(undefined, OPTION, { event });
    it(`${event} POST ${route}: ${success} succeeded${failure === undefined ? '' : `, ${failure} failed`}`, () => {
      for (const status of [302, 303]) {
        expect(classify(redirectTo(success, {}, status), request(route))).toBe('$succeeded');
        expect(classify({ ...redirectTo(success, {}, status), signedIn: true }, request(route))).toBe('$succeeded');
        if (failure !== undefined) expect(classify(redirectTo(failure, {}, status), request(route))).toBe('$failed');
      }
    });
  }

  it("a success redirected back to the sign-in page (successRedirect: '/login') is read by the sign-in, not by the path", () => {
    const classify = compileOutcome(undefined, OPTION, { event: '$login' });
    expect(classify({ ...redirectTo('/login'), signedIn: true }, request('/login'))).toBe('$succeeded');
    expect(classify(redirectTo('/login'), request('/login'))).toBe('$failed');
  });

  it("a failure page a success could land on is one option away: Passport's successes are read by the sign-in first", () => {
    const classify = compileOutcome({ redirect: { failed: '/' } }, OPTION, { event: '$login' });
    expect(classify(redirectTo('/'), request('/login'))).toBe('$failed');
    expect(classify({ ...redirectTo('/'), signedIn: true }, request('/login'))).toBe('$succeeded');
  });
});
