import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The built package (run `pnpm build` first), loaded by a fresh `node` process exactly
// as an app's `import` or `require` gets it, then mounted on a real Express app.
const cwd = join(dirname(fileURLToPath(import.meta.url)), '..');

const body = `
  const app = express();
  app.use(express.json());
  const guard = m.vigil({ mode: 'blocking', routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }] });
  app.use(guard);
  app.post('/login', (req, res) => res.json({ ok: true, action: req.vigil.action }));
  app.post('/signup', guard.protect('$registration', { user: { email: 'body.email' } }), (req, res) => res.status(201).json({ event: req.vigil.event }));
  app.get('/me', async (req, res) => {
    const { blocked, handled } = await req.vigil.identify({ id: 'u-1' });
    if (!handled) res.json({ blocked, protected: req.vigil.protected });
  });
  let configError;
  try { m.vigil({ mode: 'block' }) } catch (e) { configError = e instanceof m.VigilConfigError ? e.code : 'wrong class' }
  const server = app.listen(0, '127.0.0.1', async () => {
    const base = 'http://127.0.0.1:' + server.address().port;
    const post = async (path, ua) => {
      const res = await fetch(base + path, { method: 'POST', headers: { 'user-agent': ua, accept: 'application/json', 'accept-language': 'en', 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@example.com' }) });
      return [res.status, await res.json()];
    };
    const browser = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
    const me = async () => {
      const res = await fetch(base + '/me', { headers: { accept: 'application/json' } });
      return [res.status, await res.json()];
    };
    const before = await me();
    await guard.blockUser('u-1');
    const out = { exports: Object.keys(m).filter((k) => k !== 'default').sort(), configError, curl: await post('/login', 'curl/8.5.0'), browser: await post('/login', browser), signup: await post('/signup', browser), me: [before, await me()] };
    server.close();
    await guard.close();
    console.log(JSON.stringify(out));
  });`;

function run(kind: 'import' | 'require') {
  const script =
    kind === 'require'
      ? `const m = require('@vigil/express'); const express = require('express'); ${body}`
      : `const m = await import('@vigil/express'); const { default: express } = await import('express'); ${body}`;
  const args = kind === 'require' ? ['-e', script] : ['--input-type=module', '-e', script];
  return JSON.parse(execFileSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 20_000 }));
}

describe.each(['import', 'require'] as const)('the built package through %s', (kind) => {
  it('mounts on an Express app, blocks curl, lets a browser through, identifies users, and shares the error classes', () => {
    const out = run(kind);
    expect(out.exports).toEqual(['VigilConfigError', 'VigilProviderError', 'VigilUnsupportedError', 'WebhookVerificationError', 'hcaptcha', 'recaptcha', 'signUserId', 'turnstile', 'verifyWebhook', 'vigil']);
    expect(out.configError).toBe('VIGIL_E_MODE');
    expect(out.curl).toEqual([403, expect.objectContaining({ blocked: true })]);
    expect(out.browser).toEqual([200, { ok: true, action: 'allow' }]);
    expect(out.signup).toEqual([201, { event: '$registration' }]);
    // req.vigil on an unprotected route, and identify enforcing a block set through the middleware.
    expect(out.me).toEqual([
      [200, { blocked: false, protected: false }],
      [403, expect.objectContaining({ blocked: true })],
    ]);
  });
});
