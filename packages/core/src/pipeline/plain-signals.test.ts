import { describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import { localProvider } from '../providers/local.js';
import type { Provider } from '../providers/types.js';
import { createVigil } from '../vigil.js';

const LOGIN = { method: 'POST', path: '/login', event: '$login', user: { email: 'body.email' } } as const;
// curl on a login: the engine raises http_client_library (with its details) on every request.
const curl = (): RequestInfo => ({ method: 'POST', url: '/login', path: '/login', headers: { host: 'shop.example', 'user-agent': 'curl/8.5.0' }, remoteAddress: '203.0.113.9', body: { email: 'a@example.com' } });

/** Every object and array inside, the value itself included, is frozen. */
function deepFrozen(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  return Object.isFrozen(value) && Object.values(value).every(deepFrozen);
}

describe("a decision's signals", () => {
  it("the engine's: taken as they are, frozen all the way down, and they serialize", async () => {
    const vigil = createVigil({ mode: 'monitoring', routes: [LOGIN], provider: localProvider() });
    const decision = await vigil.protect(curl());
    await vigil.close();
    expect(Object.keys(decision.signals)).toContain('http_client_library');
    expect(deepFrozen(decision.signals)).toBe(true);
    expect(JSON.parse(JSON.stringify(decision)).signals).toEqual(decision.signals);
  });

  it('a wrapper that replaces filter or risk is copied as any provider: what is not plain data never reaches the decision', async () => {
    const local = localProvider();
    const cyclic: Record<string, unknown> = { weight: 0.5 };
    cyclic.self = cyclic;
    const odd = { weight: 0.9, at: () => 1, big: 10n, nested: cyclic };
    for (const replaced of ['filter', 'risk'] as const) {
      const wrapper: Provider = { ...local, [replaced]: async () => ({ risk: 0.95, signals: { odd } }) };
      const vigil = createVigil({ mode: 'monitoring', routes: [{ ...LOGIN, user: { email: 'body.email', ...(replaced === 'risk' ? { id: 'body.email' } : {}) } }], provider: wrapper });
      const decision = await vigil.protect(curl());
      await vigil.close();
      expect(decision.signals).toEqual({ odd: { weight: 0.9, nested: { weight: 0.5 } } });
      expect(deepFrozen(decision.signals)).toBe(true);
      expect(() => JSON.stringify(decision)).not.toThrow();
    }
  });

  it('a spread of the engine that keeps its scoring is still the engine: its maps are taken as they are', async () => {
    const local = localProvider();
    const vigil = createVigil({ mode: 'monitoring', routes: [LOGIN], provider: { ...local, name: 'renamed' } });
    const decision = await vigil.protect(curl());
    await vigil.close();
    expect(decision.provider).toBe('renamed');
    expect(Object.keys(decision.signals)).toContain('http_client_library');
    expect(deepFrozen(decision.signals)).toBe(true);
  });
});
