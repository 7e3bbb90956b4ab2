import { describe, expect, it } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import { recordingProvider } from '../testing/recording.js';
import { createVigil } from '../vigil.js';
import { createHandle, decisionOf, lazyHandleClass, requestOf } from './handle.js';

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

describe('lazyHandleClass', () => {
  it("reads the shared decision's fields through, builds the full handle once and only for a helper, and is a decision to core", async () => {
    const { provider, calls } = recordingProvider();
    const logs = calls.log;
    const vigil = createVigil({ mode: 'blocking', provider, routes: [] });
    const decision = vigil.unprotectedDecision;
    const built: object[] = [];
    const Handle = lazyHandleClass(decision, (request: { info: RequestInfo }, _response: undefined) => {
      built.push(request);
      return createHandle(vigil, decision, () => request.info);
    });
    const request = { info: { method: 'POST', url: '/orders', path: '/orders', headers: { 'user-agent': 'Mozilla/5.0' }, remoteAddress: '203.0.113.9' } as RequestInfo };
    const handle = new Handle(request, undefined);
    // Every field of the decision, through the prototype; nothing built yet.
    for (const field of ['action', 'wouldAction', 'mode', 'protected', 'reasons', 'requestId', 'responseHeaders'] as const) expect(handle[field]).toEqual(decision[field]);
    expect(handle.decision).toBe(decision);
    expect(JSON.parse(JSON.stringify(handle))).toEqual(JSON.parse(JSON.stringify(decision)));
    expect(decisionOf(handle)).toBe(decision);
    expect(vigil.respond(handle, 'application/json')).toEqual(vigil.respond(decision, 'application/json'));
    expect(built).toEqual([]);
    // The helpers: one full handle, for this request, whatever the number of calls.
    await handle.trackCustom('viewed', { page: 1 });
    await handle.trackLogin({ success: false, userId: 'u1' });
    expect((await handle.identify({ id: 'u1' })).blocked).toBe(false);
    expect(built).toEqual([request]);
    expect(logs.map((event) => [event.type, event.status, event.context.ip])).toEqual([
      ['$custom', '$succeeded', '203.0.113.9'],
      ['$login', '$failed', '203.0.113.9'],
    ]);
    // Another request: its own handle, its own full handle.
    const other = new Handle({ info: { ...request.info, remoteAddress: '198.51.100.1' } }, undefined);
    await other.trackCustom('viewed');
    expect(built).toHaveLength(2);
    expect(logs.at(-1)?.context.ip).toBe('198.51.100.1');
    // An object derived from a lazy handle works as one (adapters may derive handles).
    const derived = Object.create(handle, { extra: { value: 1 } }) as typeof handle;
    expect(decisionOf(derived)).toBe(decision);
    await derived.trackCustom('derived');
    expect(built).toHaveLength(2);
    expect(logs.at(-1)?.name).toBe('derived');
    // Not a handle: decisionOf leaves other objects alone, decisions' descendants included.
    const plain = Object.create(decision) as object;
    expect(decisionOf(plain as typeof decision)).toBe(plain);
    expect(decisionOf({ ...decision })).toEqual(decision);
    await vigil.close();
  });
});
