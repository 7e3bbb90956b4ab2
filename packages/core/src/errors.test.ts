import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CONFIG_ERROR_CODES, LOG_CODES, VigilConfigError } from './errors.js';

// Every package's sources (not tests): where codes are used and error classes declared.
const packages = fileURLToPath(new URL('../../', import.meta.url));
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : sources(path);
    return /\.ts$/.test(entry.name) && !/\.test\.ts$|\.d\.ts$/.test(entry.name) ? [path] : [];
  });
}
const files = readdirSync(packages, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .flatMap((entry) => {
    try {
      return sources(join(packages, entry.name, 'src'));
    } catch {
      return [];
    }
  })
  .map((path) => ({ path: relative(packages, path), text: readFileSync(path, 'utf8') }));
const errorsFile = files.find((f) => f.path === join('core', 'src', 'errors.ts'));

describe('error classes and codes in one place (errors.ts)', () => {
  it('reads the sources of every package', () => {
    expect(errorsFile).toBeDefined();
    for (const name of ['core', 'express', 'fastify', 'nestjs', 'redis']) expect(files.some((f) => f.path.startsWith(`${name}/`))).toBe(true);
  });

  it('lists every code any package uses, and uses every code it lists', () => {
    const listed = new Set<string>([...CONFIG_ERROR_CODES, ...Object.keys(LOG_CODES)]);
    const used = new Map<string, string>();
    for (const file of files) {
      if (file === errorsFile) continue;
      for (const [code] of file.text.matchAll(/VIGIL_[EWID]_[A-Z0-9_]*[A-Z0-9]/g)) used.set(code, file.path);
    }
    const unlisted = [...used].filter(([code]) => !listed.has(code)).map(([code, path]) => `${code} (${path})`);
    expect(unlisted).toEqual([]);
    expect([...listed].filter((code) => !used.has(code))).toEqual([]);
    // A code is a configuration error's or a log line's, never both.
    expect(CONFIG_ERROR_CODES.filter((code) => code in LOG_CODES)).toEqual([]);
  });

  it('says what each log code means', () => {
    for (const [code, meaning] of Object.entries(LOG_CODES)) {
      expect(code).toMatch(/^VIGIL_[EWID]_[A-Z0-9_]+$/);
      expect(meaning.length).toBeGreaterThan(10);
    }
  });

  it("declares core's error classes nowhere else (the vendor clients keep their vendors' families, @vigil/redis its RedisStoreError)", () => {
    const elsewhere = files
      .filter((f) => f !== errorsFile)
      .flatMap((f) => [...f.text.matchAll(/class (\w+) extends (\w+)/g)].filter(([, , base]) => /Error$/.test(base as string)).map(([, name]) => `${name} (${f.path})`));
    const allowed = (entry: string) => /^(Castle\w*|Cheq\w*)Error \(core\/src\/providers\/(castle|cheq)\.ts\)$/.test(entry) || entry === 'RedisStoreError (redis/src/redis-store.ts)';
    expect(elsewhere.filter((entry) => !allowed(entry))).toEqual([]);
    expect(elsewhere).toContain('CastleError (core/src/providers/castle.ts)');
  });

  it('names the code, the option, the value and the fix in a configuration error', () => {
    const error = new VigilConfigError('VIGIL_E_MODE', 'mode', 'block', 'which is not a mode', 'Use "monitoring" or "blocking".');
    expect(error.message).toBe('VIGIL_E_MODE: mode is "block", which is not a mode. Use "monitoring" or "blocking".');
    expect([error.code, error.option, error.value, error.name]).toEqual(['VIGIL_E_MODE', 'mode', 'block', 'VigilConfigError']);
  });
});
