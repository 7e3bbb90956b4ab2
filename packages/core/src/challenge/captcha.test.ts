// A third-party CAPTCHA in place of the proof of work, through createVigil: the JSON
// answer and the page name the vendor's widget; a token the vendor confirms lets the
// request through, one it refuses does not; a vendor that cannot be asked makes the next
// challenge the built-in proof of work, which passes as usual. The vendor is a real
// HTTP server on loopback speaking Turnstile's siteverify contract.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { RenderedResponse } from '../decision/responses.js';
import { solveChallenge } from '../testing/challenge-flow.js';
import { createVigil } from '../vigil.js';
import { SOLUTION_HEADER } from './page.js';
import { turnstile } from './vendors.js';

const SECRET = '0x4AAAAAAA-test-secret-9f2';
let server: Server;
let url: string;
let up = true;
const spent = new Set<string>();
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (!up) {
        res.writeHead(503).end('down');
        return;
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      const token = form.get('response') ?? '';
      const ok = form.get('secret') === SECRET && token.startsWith('good-') && !spent.has(token);
      if (ok) spent.add(token);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { success: true, 'error-codes': [], hostname: 'shop.example', action: '', cdata: '' } : { success: false, 'error-codes': [spent.has(token) ? 'timeout-or-duplicate' : 'invalid-input-response'] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/turnstile/v0/siteverify`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const LOGIN = { method: 'POST', path: '/login', event: '$login' as const, user: { email: 'body.email' } };
const request = (headers: Record<string, string> = {}, body: Record<string, unknown> = { email: 'ann@example.com', password: 'pw' }): RequestInfo => {
  const req: RequestInfo = {
    method: 'POST',
    url: '/login',
    path: '/login',
    headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', accept: 'application/json', ...headers },
    remoteAddress: '203.0.113.7',
    body,
  };
  req.setBody = (b) => {
    req.body = b;
  };
  return req;
};

function vigil() {
  return createVigil({ mode: 'blocking', routes: [LOGIN], provider: async () => ({ risk: 0.7 }), challenge: { difficulty: 4, cost: 10, captcha: turnstile({ siteKey: '0x4AAAAAAA-site', secret: SECRET, verifyUrl: url, timeout: 1000 }) } });
}

/** What enforce answers for a decision on `req`. */
async function enforced(v: ReturnType<typeof vigil>, req: RequestInfo, decision?: Awaited<ReturnType<ReturnType<typeof vigil>['protect']>>): Promise<RenderedResponse> {
  let sent: RenderedResponse | undefined;
  const send = (r: RenderedResponse) => {
    sent = r;
  };
  await v.enforce(decision ?? (await v.protect(req)), req, { raw: null, appendHeader: () => {}, headersSent: () => sent !== undefined, send });
  return sent as RenderedResponse;
}
const answer = (v: ReturnType<typeof vigil>, req: RequestInfo) => enforced(v, req);

describe('a third-party CAPTCHA (Turnstile) instead of the proof of work', () => {
  it('JSON names the widget and where its token goes; the page embeds it with the vendor in its CSP, the form sealed', async () => {
    const v = vigil();
    const json = JSON.parse((await answer(v, request())).body);
    expect(json.challenge).toEqual({ type: 'turnstile', siteKey: '0x4AAAAAAA-site', retry: false, solution: { header: SOLUTION_HEADER, field: 'cf-turnstile-response' } });
    const page = await answer(v, request({ accept: 'text/html' }, { email: 'ann@example.com', password: 'secret-pw' }));
    expect(page.body).toContain('class="cf-turnstile"');
    expect(page.body).toContain('src="https://challenges.cloudflare.com/turnstile/v0/api.js"');
    expect(page.body).toContain('name="vigil_form"');
    expect(page.body).not.toContain('secret-pw');
    expect(page.headers['content-security-policy']).toContain("script-src 'self' https://challenges.cloudflare.com");
    expect(page.headers['content-security-policy']).toContain('frame-src');
    await v.close();
  });

  it("a token the vendor confirms passes (kind turnstile), once; one it refuses fails and is challenged again", async () => {
    const v = vigil();
    const passed = await v.protect(request({ [SOLUTION_HEADER]: 'good-1' }));
    expect(passed).toMatchObject({ action: 'allow', challenge: { kind: 'turnstile', passed: true, reason: 'solved' } });
    const again = await v.protect(request({ [SOLUTION_HEADER]: 'good-1' }));
    expect(again).toMatchObject({ action: 'challenge', challenge: { kind: 'turnstile', passed: false, reason: 'invalid' } });
    // The widget's own field on the app's own form is the app's token, not Vigil's: not read
    // (not spent with the vendor). Only the challenge page's re-post carries it for Vigil.
    expect((await v.protect(request({}, { email: 'ann@example.com', password: 'pw', 'cf-turnstile-response': 'good-2' }))).challenge).toBeUndefined();
    expect(spent.has('good-2')).toBe(false);
    await v.close();
  });

  it("the page's re-post (the sealed form and the widget's token) passes and puts the form back", async () => {
    const v = vigil();
    const page = (await answer(v, request({ accept: 'text/html' }, { email: 'ann@example.com', password: 'secret-pw' }))).body;
    const sealed = /name="vigil_form" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const repost = request({ accept: 'text/html' }, { vigil_form: sealed, 'cf-turnstile-response': 'good-9' });
    const decision = await v.protect(repost);
    expect(decision).toMatchObject({ action: 'allow', challenge: { kind: 'turnstile', passed: true } });
    expect(repost.body).toEqual({ email: 'ann@example.com', password: 'secret-pw' });
    await v.close();
  });

  it('the vendor down: the token is unavailable, and the next challenge is the built-in proof of work, which passes', async () => {
    const v = vigil();
    up = false;
    try {
      const decision = await v.protect(request({ [SOLUTION_HEADER]: 'good-3' }));
      expect(decision).toMatchObject({ action: 'challenge', challenge: { kind: 'turnstile', passed: false, reason: 'unavailable' } });
      const pow = JSON.parse((await enforced(v, request({ [SOLUTION_HEADER]: 'good-3' }))).body).challenge;
      expect(pow).toMatchObject({ type: 'altcha', parameters: { data: { l: 1 } } });
      const { payload } = await solveChallenge(pow);
      expect((await v.protect(request({ [SOLUTION_HEADER]: payload }))).challenge).toMatchObject({ kind: 'pow', passed: true });
    } finally {
      up = true;
      await v.close();
    }
  });

  it('challenge.captcha must be made by turnstile(), hcaptcha() or recaptcha()', () => {
    expect(() => createVigil({ challenge: { captcha: { name: 'turnstile', siteKey: 'x' } as never } })).toThrow(/challenge\.captcha/);
  });
});
