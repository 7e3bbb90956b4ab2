import { describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import { createVigil } from '../vigil.js';
import { createHandle, decisionOf, requestOf } from './handle.js';

describe('requestOf', () => {
  it("a handle's neutral request, built once and only when asked; nothing for what is not a handle", async () => {
    const vigil = createVigil({ mode: 'monitoring', routes: [] });
    const info: RequestInfo = { method: 'GET', url: '/', path: '/', headers: {} };
    let built = 0;
    const handle = createHandle(vigil, vigil.unprotectedDecision, () => {
      built++;
      return info;
    });
    expect(built).toBe(0);
    expect(requestOf(handle)).toBe(info);
    expect(requestOf(handle)).toBe(info);
    expect(built).toBe(1);
    expect(decisionOf(handle)).toBe(vigil.unprotectedDecision);
    for (const other of [undefined, null, {}, info, vigil.unprotectedDecision, Object.create(null)]) expect(requestOf(other)).toBeUndefined();
    await vigil.close();
  });
});
