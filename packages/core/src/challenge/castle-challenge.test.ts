// With Castle as the provider (a real HTTP server on loopback speaking Castle's v1
// contract): Castle's own `challenge` action is served by the built-in challenge, and the
// solution's check reaches Castle as its `$challenge` event (`/v1/log`, `$succeeded` or
// `$failed`), with the request's context and nothing secret.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { RenderedResponse } from '../decision/responses.js';
import { castleProvider } from '../providers/castle.js';
import { solveChallenge } from '../testing/challenge-flow.js';
import { type FakeCastle, startFakeCastle } from '../testing/fake-vendors.js';
import { createVigil } from '../vigil.js';
import { SOLUTION_HEADER } from './page.js';

const SECRET = 'castle-api-secret-for-tests';
let fake: FakeCastle;
beforeAll(async () => {
  fake = await startFakeCastle(SECRET);
});
afterAll(async () => {
  await fake.close();
});

const request = (headers: Record<string, string> = {}): RequestInfo => ({
  method: 'POST',
  url: '/login',
  path: '/login',
  headers: { host: 'app.example.com', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/126.0', accept: 'application/json', cookie: 'sid=s3ss10n', 'x-castle-request-token': 'tok_1', ...headers },
  remoteAddress: '203.0.113.7',
  body: { email: 'ann@example.com', password: 'hunter2-secret' },
});

describe('the built-in challenge with Castle as the provider', () => {
  it("serves Castle's challenge, and logs the solution's check to Castle as $challenge", async () => {
    fake.reset();
    fake.verdict = { risk: 0.7, action: 'challenge' };
    const vigil = createVigil({ mode: 'blocking', routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }], provider: castleProvider({ apiSecret: SECRET, baseUrl: fake.url }), challenge: { difficulty: 4, cost: 10, secret: 'challenge-secret-0123456789ab' } });
    try {
      const req = request();
      const decision = await vigil.protect(req);
      expect(decision.action).toBe('challenge');
      let sent: RenderedResponse | undefined;
      const send = (r: RenderedResponse) => {
        sent = r;
      };
      await vigil.enforce(decision, req, { raw: null, appendHeader: () => {}, headersSent: () => sent !== undefined, send });
      const { payload } = await solveChallenge(JSON.parse((sent as RenderedResponse).body).challenge);
      const passed = await vigil.protect(request({ [SOLUTION_HEADER]: payload }));
      expect(passed).toMatchObject({ action: 'allow', challenge: { passed: true } });
      await vigil.protect(request({ [SOLUTION_HEADER]: payload }));
      const logs = () => fake.requests.filter((r) => r.path === '/v1/log').map((r) => r.body as Record<string, unknown>);
      await expect.poll(() => logs().filter((b) => b.type === '$challenge').length, { timeout: 3000 }).toBe(2);
      const [ok, replay] = logs().filter((b) => b.type === '$challenge');
      expect(ok).toMatchObject({ type: '$challenge', status: '$succeeded', properties: { challenge: 'pow', reason: 'solved' } });
      expect(replay).toMatchObject({ type: '$challenge', status: '$failed', properties: { reason: 'replayed' } });
      // Castle never sees the solution, the cookie or the password.
      const text = JSON.stringify(logs());
      for (const secret of [payload.slice(0, 40), 's3ss10n', 'hunter2-secret']) expect(text).not.toContain(secret);
    } finally {
      await vigil.close();
    }
  });
});
