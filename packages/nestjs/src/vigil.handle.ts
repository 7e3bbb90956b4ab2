import { createHandle, type Decision, type IdentifyOptions, type RequestInfo, type VigilHandle } from '@vigil/core';
import { type PlatformRequest, toRequestInfo } from './platform.js';
import type { VigilService } from './vigil.service.js';

/**
 * The handle `VigilGuard` puts on `request.vigil`: core's request handle — the
 * decision's fields read through, `trackLogin`, `trackSignup` and `trackCustom` for
 * this request, `JSON.stringify()` giving the decision, accepted by core wherever a
 * decision is — whose `identify` is `VigilService.identify()`'s: in blocking mode a
 * blocked user's request ends with a `VigilBlockedException`, the Nest way, rather
 * than a response written under the handler (so it resolves with `handled: false`).
 * The override is an own property of the handle, not a derived object: a handle made
 * a prototype costs microseconds per request, and the guard makes one on every route.
 * The neutral request: `info` when the decision was made on one, else built only when a
 * helper needs it.
 */
export function createRequestHandle(service: VigilService, request: object, decision: Decision, info?: RequestInfo): VigilHandle {
  const handle = createHandle(service.vigil, decision, () => info ?? toRequestInfo(request as PlatformRequest));
  handle.identify = async (user: IdentifyOptions) => ({ ...(await service.identify(request, user)), handled: false });
  return handle;
}

/** The decision under a handle (or a decision put on `request.vigil` by other code). */
export function decisionOf(value: Decision | VigilHandle): Decision {
  return (value as Partial<VigilHandle>).decision ?? value;
}
