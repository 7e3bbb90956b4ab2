// Carrying a decision out (`vigil.enforce`, `vigil.respond`): the decision's response
// headers appended, the block or redirect answer rendered (the app's blockResponse, or
// a plain 403 when it throws), a challenge answered with the built-in one (the page or
// JSON) or handed to `onChallenge`, which proceeds or answers; a failed or silent
// hand-off ends with the block answer, never lets the request through.
import { bindingOf } from '../challenge/index.js';
import { MAX_ISSUING } from '../challenge/pow.js';
import { getHeader } from '../context/headers.js';
import type { RequestInfo } from '../context/request.js';
import type { Decision } from '../decision/decision.js';
import type { RenderedResponse } from '../decision/responses.js';
import { ChallengeBusyError } from '../errors.js';
import { describeError } from '../logging/logger.js';
import { decisionOf } from '../tracking/handle.js';
import { pendingOf, type Runtime } from './runtime.js';
import type { Vigil } from './types.js';

/** `vigil.respond`: the answer of a block or redirect; a failing blockResponse gives a bare 403. */
export function createRespond(rt: Runtime): Vigil['respond'] {
  const { respond, logger } = rt.config;
  return (given, acceptHeader) => {
    const decision = decisionOf(given);
    try {
      return respond(decision, acceptHeader);
    } catch (error) {
      // The app's own blockResponse renderer failed: answer with a bare block rather
      // than let the request fail open or crash.
      logger.error({ code: 'VIGIL_E_BLOCK_RESPONSE_FAILED', err: describeError(error) }, 'blockResponse threw; sending a plain 403');
      if (decision.action !== 'block' && decision.action !== 'redirect') return undefined;
      return { status: 403, headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }, body: JSON.stringify({ blocked: true, requestId: decision.requestId }) };
    }
  };
}

/** `vigil.enforce`, answering through `respond` (see {@link createRespond}). */
export function createEnforce(rt: Runtime, respond: Vigil['respond']): Vigil['enforce'] {
  const { onChallenge, logger, challenges } = rt.config;
  // The request's Accept header, read as every header is (any case, lists joined).
  const blockAnswer = (decision: Decision, request: RequestInfo) => respond({ ...decision, action: 'block' }, getHeader(request.headers, 'Accept')) as RenderedResponse;
  return async (decision, request, io) => {
    for (const [name, value] of Object.entries(decision.responseHeaders)) {
      try {
        // A copy: some frameworks (Fastify) push later values into the array they were given.
        if (!io.headersSent()) io.appendHeader(name, typeof value === 'string' ? value : [...value]);
      } catch (error) {
        logger.warn({ code: 'VIGIL_W_RESPONSE_HEADER', header: name, err: describeError(error) }, 'could not append a response header');
      }
    }
    const rendered = respond(decision, getHeader(request.headers, 'Accept'));
    if (rendered) {
      if (!io.headersSent()) await io.send(rendered);
      return 'handled';
    }
    if (decision.action !== 'challenge') return 'proceed';
    if (!onChallenge) {
      // The built-in challenge (a challenge decision without onChallenge means it is on).
      const state = pendingOf(decision);
      let answer: RenderedResponse;
      try {
        if (challenges === undefined || state === undefined) throw new Error('no built-in challenge for this decision');
        answer = await challenges.respond(request, bindingOf(state.route, state.event), decision.risk, state.challengeFailed === true, decision.requestId, state.captchaDown === true);
      } catch (error) {
        if (error instanceof ChallengeBusyError) {
          // A flood of challenged requests: the ones past the bound are answered as blocks
          // (cheap), said once, rather than queue key derivations in front of the app.
          rt.warnOnce('VIGIL_W_CHALLENGE_BUSY', `${MAX_ISSUING} challenges were being issued at once; the challenged requests past that bound got the block response. A flood of suspicious requests; nothing to configure.`);
        } else logger.error({ code: 'VIGIL_E_CHALLENGE_FAILED', err: describeError(error), requestId: decision.requestId }, 'the built-in challenge could not be issued; answering with the block response');
        answer = blockAnswer(decision, request);
      }
      if (!io.headersSent()) await io.send(answer);
      return 'handled';
    }
    let proceeded = false;
    try {
      await onChallenge({
        request,
        decision,
        proceed: () => {
          proceeded = true;
        },
        raw: io.raw,
      });
    } catch (error) {
      // The app's CAPTCHA hand-off failed: the request was judged risky, so it is not
      // let through; it gets the block response instead.
      logger.error({ code: 'VIGIL_E_ON_CHALLENGE_FAILED', err: describeError(error), requestId: decision.requestId }, 'onChallenge threw; answering with the block response');
      if (!io.headersSent()) await io.send(blockAnswer(decision, request));
      return 'handled';
    }
    if (proceeded) return 'proceed';
    if (!io.headersSent()) {
      logger.warn({ code: 'VIGIL_W_CHALLENGE_UNANSWERED', requestId: decision.requestId }, 'onChallenge neither answered nor proceeded; answering with the block response');
      await io.send(blockAnswer(decision, request));
    }
    return 'handled';
  };
}
