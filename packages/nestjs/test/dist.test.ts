import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The built package, loaded by a fresh `node` outside vitest (no esbuild, no decorator
// metadata of its own): what an app's `require` or `import` gets. Each run boots a Nest
// app with the guard global and decorators applied by hand, as compiled JS would.
const cwd = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);

const APP = `
const { Controller, Get, HttpCode, Module, Post } = common;
const { APP_GUARD, NestFactory } = core;
const { Protect, VigilGuard, VigilModule } = vigil;

class AuthController {
  login() { return { ok: true }; }
  health() { return { ok: true }; }
}
const decorate = (name, ...decorators) => {
  const descriptor = Object.getOwnPropertyDescriptor(AuthController.prototype, name);
  for (const decorator of decorators.reverse()) decorator(AuthController.prototype, name, descriptor);
};
decorate('login', Post('login'), HttpCode(200), Protect('$login', { user: { email: 'body.email' } }));
decorate('health', Get('health'));
Controller()(AuthController);
class AppModule {}
Module({
  imports: [VigilModule.forRoot({ mode: 'blocking' })],
  controllers: [AuthController],
  providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
})(AppModule);

(async () => {
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  const login = (userAgent) => fetch(url + '/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ email: 'a@example.com' }),
  });
  const curl = await login('curl/8.5.0');
  const health = await fetch(url + '/health', { headers: { 'user-agent': 'curl/8.5.0' } });
  const result = { curl: [curl.status, await curl.json()], health: health.status, exports: Object.keys(vigil).filter((k) => k !== 'default').sort() };
  await app.close();
  console.log(JSON.stringify(result));
})().catch((error) => { console.error(error); process.exit(1); });
`;

const SCRIPTS = {
  require: `const common = require('@nestjs/common'); const core = require('@nestjs/core'); const vigil = require('@vigil/nestjs');\n${APP}`,
  import: `import * as common from '@nestjs/common'; import * as core from '@nestjs/core'; import * as vigil from '@vigil/nestjs';\n${APP}`,
};

describe('the built package (dist)', () => {
  const results: Record<string, { curl: [number, Record<string, unknown>]; health: number; exports: string[] }> = {};

  it.each(['require', 'import'] as const)('boots a Nest app through %s and blocks curl on a @Protect() route', async (kind) => {
    expect(existsSync(join(cwd, 'dist/index.cjs')), 'dist/ is missing: run pnpm --filter @vigil/nestjs build first').toBe(true);
    const args = kind === 'require' ? ['-e', SCRIPTS.require] : ['--input-type=module', '-e', SCRIPTS.import];
    const { stdout } = await run(process.execPath, args, { cwd, timeout: 30_000 });
    const result = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(result.curl[0]).toBe(403);
    expect(result.curl[1]).toMatchObject({ blocked: true, message: 'Request blocked' });
    expect(result.health).toBe(200);
    results[kind] = result;
  });

  it('exports the same names through require and import', () => {
    expect(results.require?.exports).toEqual(results.import?.exports);
    expect(results.require?.exports).toEqual([
      'Protect',
      'SkipVigil',
      'VIGIL_INSTANCE',
      'VIGIL_OPTIONS',
      'VIGIL_PROTECT_METADATA',
      'VIGIL_SKIP_METADATA',
      'VigilBlockedException',
      'VigilDecision',
      'VigilExceptionFilter',
      'VigilGuard',
      'VigilHandledException',
      'VigilModule',
      'VigilOutcomeInterceptor',
      'VigilService',
      'hcaptcha',
      'recaptcha',
      'turnstile',
    ]);
  });
});
