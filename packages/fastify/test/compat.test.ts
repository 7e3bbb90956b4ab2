import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Each run is a fresh `node` process on the built package (dist/), outside vitest's
// module system: what is tested is exactly what an app's `import` or `require` gets.
const cwd = join(dirname(fileURLToPath(import.meta.url)), '..');

const APP = `
  const app = Fastify();
  await app.register(vigil, { mode: 'blocking', routes: [{ method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } }] });
  app.post('/login', async (request) => ({ ok: true, action: request.vigil.action }));
  app.get('/page', async (request) => ({ protected: request.vigil.protected, reasons: request.vigil.reasons, identify: typeof request.vigil.identify }));
  const blocked = await app.inject({ method: 'POST', url: '/login', payload: { email: 'a@example.com' }, headers: { 'user-agent': 'curl/8.5.0' } });
  const page = await app.inject({ method: 'GET', url: '/page' });
  let error;
  try { await Fastify().register(vigil, { mode: 'block' }).ready() } catch (e) { error = e instanceof VigilConfigError ? e.code : 'wrong class' }
  await app.close();
  console.log(JSON.stringify({
    blocked: [blocked.statusCode, blocked.json().blocked],
    page: page.json(),
    error,
    meta: vigil[Symbol.for('plugin-meta')],
    core: typeof app.vigil.protect,
  }));
`;

function run(kind: 'import' | 'require'): unknown {
  const script =
    kind === 'require'
      ? `const { vigil, VigilConfigError } = require('@vigil/fastify'); const Fastify = require('fastify'); (async () => { ${APP} })()`
      : `import { vigil, VigilConfigError } from '@vigil/fastify'; import Fastify from 'fastify'; ${APP}`;
  const args = kind === 'require' ? ['-e', script] : ['--input-type=module', '-e', script];
  return JSON.parse(execFileSync(process.execPath, args, { cwd, encoding: 'utf8' }));
}

describe('the built package', () => {
  it('is built (pnpm --filter @vigil/fastify build)', () => {
    expect(existsSync(join(cwd, 'dist/index.cjs')) && existsSync(join(cwd, 'dist/index.js'))).toBe(true);
  });

  const expected = {
    blocked: [403, true],
    page: { protected: false, reasons: ['not a protected route'], identify: 'function' },
    error: 'VIGIL_E_MODE',
    meta: { name: '@vigil/fastify', fastify: '5.x' },
    core: 'function',
  };

  it('registers and decides through import (ESM)', () => {
    expect(run('import')).toEqual(expected);
  });

  it('registers and decides through require (CommonJS)', () => {
    expect(run('require')).toEqual(expected);
  });

  it('exports the same names through both', () => {
    const names = (kind: 'import' | 'require') => {
      const script =
        kind === 'require'
          ? `console.log(JSON.stringify(Object.keys(require('@vigil/fastify')).sort()))`
          : `import('@vigil/fastify').then((m) => console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort())))`;
      const args = kind === 'require' ? ['-e', script] : ['--input-type=module', '-e', script];
      return JSON.parse(execFileSync(process.execPath, args, { cwd, encoding: 'utf8' }));
    };
    expect(names('import')).toEqual(['VERSION', 'VigilConfigError', 'VigilProviderError', 'VigilUnsupportedError', 'WebhookVerificationError', 'hcaptcha', 'recaptcha', 'turnstile', 'vigil']);
    expect(names('require')).toEqual(names('import'));
  });
});
