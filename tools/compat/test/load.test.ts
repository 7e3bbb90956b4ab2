import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Each load runs in a fresh `node` process, outside vitest's module system, so that
// what is tested is exactly what an app's `import` or `require` gets from Node.
const here = dirname(fileURLToPath(import.meta.url));
const cwd = join(here, '..');
const require = createRequire(join(cwd, 'package.json'));

const PACKAGES = ['@vigil/core', '@vigil/express', '@vigil/fastify', '@vigil/nestjs', '@vigil/redis'];

function exportsVia(kind: 'import' | 'require', name: string): string[] {
  const script =
    kind === 'require'
      ? `const m = require(${JSON.stringify(name)}); console.log(JSON.stringify(Object.keys(m).sort()))`
      : `import(${JSON.stringify(name)}).then((m) => console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort())))`;
  const args = kind === 'require' ? ['-e', script] : ['--input-type=module', '-e', script];
  return JSON.parse(execFileSync(process.execPath, args, { cwd, encoding: 'utf8' })) as string[];
}

describe.each(PACKAGES)('%s (built)', (name) => {
  it('loads with require and with import, with the same exports', () => {
    const viaRequire = exportsVia('require', name);
    const viaImport = exportsVia('import', name);
    expect(viaRequire.length).toBeGreaterThan(0);
    expect(viaImport).toEqual(viaRequire);
  });

  it('ships type declarations for both module systems', () => {
    const manifestPath = require.resolve(`${name}/package.json`);
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const root = manifest.exports['.'];
    for (const condition of ['import', 'require']) {
      const types = root[condition].types as string;
      const text = readFileSync(join(dirname(manifestPath), types), 'utf8');
      expect(text).toMatch(/export /);
    }
  });
});

describe('@vigil/core through CommonJS behaves like through ESM', () => {
  it('extracts the same client IP and scrubs the same headers', () => {
    const probe = (kind: 'import' | 'require') => {
      const body = `const ip = m.extractClientIp({ headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.2' }, remoteAddress: '10.0.0.1' });
        const h = m.scrubHeaders({ cookie: 'sid=1', 'user-agent': 'UA' });
        let err; try { m.extractClientIp({ headers: {} }, { trustedProxyDepth: -1 }) } catch (e) { err = e instanceof m.VigilConfigError ? e.code : 'wrong class' }
        console.log(JSON.stringify({ ip, h, err }))`;
      const script = kind === 'require' ? `const m = require('@vigil/core'); ${body}` : `import('@vigil/core').then((m) => { ${body} })`;
      const args = kind === 'require' ? ['-e', script] : ['--input-type=module', '-e', script];
      return JSON.parse(execFileSync(process.execPath, args, { cwd, encoding: 'utf8' }));
    };
    const expected = { ip: '203.0.113.9', h: { Cookie: true, 'User-Agent': 'UA' }, err: 'VIGIL_E_PROXY_DEPTH' };
    expect(probe('require')).toEqual(expected);
    expect(probe('import')).toEqual(expected);
  });
});
