// A client of the built-in challenge, for tests and the simulator: it solves what a
// challenged request received (ALTCHA's own solver, as the widget does) and walks one
// app through the whole flow, so that each adapter's test checks the same observations.
import { solveChallenge as altchaSolve } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';

/** A challenge as the JSON answer carries it (`body.challenge`) or the page's data block holds it. */
export interface ChallengeToSolve {
  parameters: Record<string, unknown>;
  signature: string;
}

/**
 * Solves a challenge and returns the payload to present (the `vigil-challenge` header
 * or the `vigil_challenge` field), with the attempts it took and the time in ms.
 * Throws when it cannot be solved (not a challenge, or no counter found within 90 s).
 *
 * @example
 * const res = await fetch('/login', { method: 'POST', body })            // 403 { challenge }
 * const { payload } = await solveChallenge((await res.json()).challenge)
 * await fetch('/login', { method: 'POST', body, headers: { 'vigil-challenge': payload } })
 */
export async function solveChallenge(challenge: ChallengeToSolve): Promise<{ payload: string; attempts: number; ms: number }> {
  const started = performance.now();
  const solution = await altchaSolve({ challenge: { parameters: challenge.parameters, signature: challenge.signature } as never, deriveKey });
  if (solution === null) throw new Error('the challenge could not be solved');
  const payload = Buffer.from(JSON.stringify({ challenge: { parameters: challenge.parameters, signature: challenge.signature }, solution: { counter: solution.counter, derivedKey: solution.derivedKey } })).toString('base64');
  return { payload, attempts: solution.counter + 1, ms: performance.now() - started };
}

/** One request of {@link challengeFlow}, as the adapter's test sends it. */
export interface FlowRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  /** Already encoded (JSON or form). */
  body?: string;
}

/** One answer, as the adapter's test received it. */
export interface FlowResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The part of supertest's API {@link supertestSend} uses (supertest itself is the test's dependency, not core's). */
export type SupertestLike = (app: unknown) => { get(url: string): SupertestRequest; post(url: string): SupertestRequest }
/** One supertest request being built. */
export interface SupertestRequest extends PromiseLike<{ status: number; headers: Record<string, unknown>; text: string }> {
  set(name: string, value: string): SupertestRequest;
  send(body: string): SupertestRequest;
}

/** A {@link challengeFlow} sender through supertest, for an Express app or a Nest app's HTTP server. */
export function supertestSend(request: SupertestLike, app: unknown): (req: FlowRequest) => Promise<FlowResponse> {
  return async ({ method, url, headers, body }) => {
    let req = method === 'GET' ? request(app).get(url) : request(app).post(url);
    for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
    const res = await (body === undefined ? req : req.send(body));
    return { status: res.status, headers: res.headers as FlowResponse['headers'], body: res.text };
  };
}

/** What {@link challengeFlow} saw, for the adapter's test to assert on. */
export interface FlowReport {
  /** The challenged API request: 403 and its JSON. */
  challenged: { status: number; json: Record<string, unknown> };
  /** The same request with the solution in the header. */
  solved: { status: number; json: Record<string, unknown> | undefined };
  /** The same solution again. */
  replayed: { status: number };
  /** A browser's form post: the page. */
  page: { status: number; contentType: string | undefined; csp: string | undefined; body: string; sealed: boolean; leaks: boolean };
  /** The assets the page loads, each name with its status and type. */
  assets: Record<string, { status: number; type: string | undefined }>;
  /** The page's form re-posted with its solution: what the route answered (it echoes the body it saw). */
  reposted: { status: number; json: Record<string, unknown> | undefined };
}

const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';

function parse(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Walks an app through the built-in challenge. The app must challenge `POST path` (a
 * provider answering risk 0.7 in blocking mode) and its handler must answer 200 JSON
 * `{ body }` with the body it received. `send` sends one request to the app (through
 * its framework: inject, supertest, fetch).
 */
export async function challengeFlow(send: (req: FlowRequest) => Promise<FlowResponse>, path = '/login', assetsPath = '/_vigil/challenge'): Promise<FlowReport> {
  const fields = { email: 'ann@example.com', password: 'correct horse battery' };
  const api = { 'content-type': 'application/json', accept: 'application/json', 'user-agent': BROWSER_UA };
  const first = await send({ method: 'POST', url: path, headers: api, body: JSON.stringify(fields) });
  const json = parse(first.body) ?? {};
  const { payload } = await solveChallenge(json.challenge as ChallengeToSolve);
  const solved = await send({ method: 'POST', url: path, headers: { ...api, 'vigil-challenge': payload }, body: JSON.stringify(fields) });
  const replayed = await send({ method: 'POST', url: path, headers: { ...api, 'vigil-challenge': payload }, body: JSON.stringify(fields) });

  const browser = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'user-agent': BROWSER_UA };
  const form = new URLSearchParams(fields).toString();
  const pageResponse = await send({ method: 'POST', url: path, headers: browser, body: form });
  const page = pageResponse.body;
  const sealed = /name="vigil_form" value="([^"]+)"/.exec(page)?.[1];
  const data = /id="vigil-challenge-data">(.*?)<\/script>/s.exec(page)?.[1];
  const assets: FlowReport['assets'] = {};
  for (const name of ['altcha.js', 'altcha.css', 'pbkdf2.js', 'vigil-challenge.js', 'vigil-challenge.css', 'nothing.js']) {
    const res = await send({ method: 'GET', url: `${assetsPath}/${name}`, headers: { accept: '*/*', 'user-agent': BROWSER_UA } });
    const type = res.headers['content-type'];
    assets[name] = { status: res.status, type: Array.isArray(type) ? type[0] : type };
  }
  let reposted: FlowReport['reposted'] = { status: 0, json: undefined };
  if (data !== undefined && sealed !== undefined) {
    const solution = await solveChallenge((JSON.parse(data) as { challenge: ChallengeToSolve }).challenge);
    const back = new URLSearchParams({ vigil_form: sealed.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c))), vigil_challenge: solution.payload }).toString();
    const res = await send({ method: 'POST', url: path, headers: browser, body: back });
    reposted = { status: res.status, json: parse(res.body) };
  }
  const type = pageResponse.headers['content-type'];
  const csp = pageResponse.headers['content-security-policy'];
  return {
    challenged: { status: first.status, json },
    solved: { status: solved.status, json: parse(solved.body) },
    replayed: { status: replayed.status },
    page: { status: pageResponse.status, contentType: Array.isArray(type) ? type[0] : type, csp: Array.isArray(csp) ? csp[0] : csp, body: page, sealed: sealed !== undefined, leaks: page.includes(fields.password) || page.includes(fields.email) },
    assets,
    reposted,
  };
}

/**
 * What is wrong with a {@link challengeFlow} report, as one line per problem (empty when
 * the adapter serves and verifies the challenge as it must): the challenged request got
 * 403 JSON with an ALTCHA challenge, its solution passed (`okStatus` and the route's
 * echo), the replay was refused, the browser got the page (HTML, sealed form, nothing
 * typed in it, a CSP allowing only this origin's scripts), the assets were served (and
 * an unknown one was not), and the page's re-post reached the route with the form typed.
 * Each adapter's test asserts `expect(challengeFlowProblems(report, 200)).toEqual([])`.
 */
export function challengeFlowProblems(report: FlowReport, okStatus: number): string[] {
  const problems: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const challenge = report.challenged.json.challenge as { type?: unknown; algorithm?: unknown } | undefined;
  check(report.challenged.status === 403, `challenged: status ${report.challenged.status}, not 403`);
  check(challenge?.type === 'altcha' && challenge.algorithm === 'PBKDF2/SHA-256', `challenged: ${JSON.stringify(report.challenged.json).slice(0, 200)} is not an ALTCHA challenge`);
  const solved = report.solved.json as { body?: { email?: unknown }; challenge?: Record<string, unknown> } | undefined;
  check(report.solved.status === okStatus, `solved: status ${report.solved.status}, not ${okStatus}`);
  check(solved?.body?.email === 'ann@example.com', `solved: the route saw ${JSON.stringify(solved?.body)}`);
  check(solved?.challenge?.passed === true && solved.challenge.kind === 'pow' && solved.challenge.reason === 'solved', `solved: decision.challenge is ${JSON.stringify(solved?.challenge)}`);
  check(report.replayed.status === 403, `replayed: status ${report.replayed.status}, not 403`);
  check(report.page.status === 403 && report.page.contentType === 'text/html; charset=utf-8', `page: ${report.page.status} ${report.page.contentType}`);
  check(report.page.sealed, 'page: no sealed form');
  check(!report.page.leaks, 'page: the email or the password is in it');
  check(report.page.csp?.includes("script-src 'self'") === true && report.page.csp?.includes('unsafe') === false, `page: CSP ${report.page.csp}`);
  for (const name of ['altcha.js', 'pbkdf2.js', 'vigil-challenge.js']) {
    check(report.assets[name]?.status === 200 && report.assets[name]?.type === 'text/javascript; charset=utf-8', `asset ${name}: ${JSON.stringify(report.assets[name])}`);
  }
  check(report.assets['altcha.css']?.status === 200, `asset altcha.css: ${JSON.stringify(report.assets['altcha.css'])}`);
  check(report.assets['nothing.js']?.status === 404, `asset nothing.js: ${JSON.stringify(report.assets['nothing.js'])}, not 404`);
  const back = report.reposted.json as { body?: unknown; challenge?: Record<string, unknown> } | undefined;
  check(report.reposted.status === okStatus, `re-post: status ${report.reposted.status}, not ${okStatus}`);
  check(JSON.stringify(back?.body) === JSON.stringify({ email: 'ann@example.com', password: 'correct horse battery' }), `re-post: the route saw ${JSON.stringify(back?.body)}`);
  check(back?.challenge?.passed === true && back.challenge.level === 1 && back.challenge.recorded === true, `re-post: decision.challenge is ${JSON.stringify(back?.challenge)}`);
  return problems;
}
