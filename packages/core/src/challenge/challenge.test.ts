// The built-in challenge end to end through createVigil (issue 15): a challenged
// request gets the page or JSON; a client that does the work (ALTCHA's own solver) and
// presents the solution goes on; a replayed, expired, foreign or tampered one does not
// and is re-challenged harder; every check is logged as `$challenge`.
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RequestInfo } from '../context/request.js';
import type { RenderedResponse } from '../decision/responses.js';
import type { EnforceIO, VigilConfig } from '../pipeline/types.js';
import type { Verdict } from '../providers/types.js';
import { MemoryStore } from '../stores/memory.js';
import { recordingProvider } from '../testing/recording.js';
import { createVigil } from '../vigil.js';
import { SEALED_FIELD, SOLUTION_FIELD, SOLUTION_HEADER } from './page.js';
import { PowChallenges } from './pow.js';
import { unseal } from './seal.js';

const LOGIN = { method: 'POST', path: '/login', event: '$login' as const, user: { email: 'body.email' } };
// Small work so that the suite stays fast: difficulty and cost are the options' to set.
const FAST = { difficulty: 4, cost: 10 };

function request(overrides: Partial<RequestInfo> = {}): RequestInfo {
  return {
    method: 'POST',
    url: '/login?next=%2Faccount',
    path: '/login',
    headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36', accept: 'application/json' },
    remoteAddress: '203.0.113.7',
    body: { email: 'ann@example.com', password: 'hunter2-secret' },
    ...overrides,
  };
}

/** A request whose body can be replaced, as the adapters' are. */
function adapterRequest(overrides: Partial<RequestInfo> = {}): RequestInfo & { replaced: unknown[] } {
  const req = request(overrides) as RequestInfo & { replaced: unknown[] };
  req.replaced = [];
  req.setBody = (body) => {
    req.replaced.push(body);
    req.body = body;
  };
  return req;
}

class Capture implements EnforceIO<null> {
  sent: RenderedResponse | undefined;
  readonly headers: [string, string | readonly string[]][] = [];
  raw = null;
  appendHeader(name: string, value: string | readonly string[]) {
    this.headers.push([name, value]);
  }
  send(response: RenderedResponse) {
    this.sent = response;
  }
  headersSent() {
    return this.sent !== undefined;
  }
}

const toClose: { close(): Promise<void> }[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(toClose.splice(0).map((v) => v.close()));
});

function vigilWith(verdict: Verdict = { risk: 0.7 }, config: VigilConfig = {}) {
  const recorder = recordingProvider(verdict);
  const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: recorder.provider, challenge: { ...FAST, secret: 'challenge-secret-for-tests-0123' }, ...config });
  toClose.push(vigil);
  return { vigil, calls: recorder.calls };
}

/** Challenged once: the JSON answer's challenge. */
async function challengeOf(vigil: ReturnType<typeof vigilWith>['vigil'], req: RequestInfo = request()) {
  const decision = await vigil.protect(req);
  const io = new Capture();
  expect(await vigil.enforce(decision, req, io)).toBe('handled');
  return { decision, sent: io.sent as RenderedResponse, json: JSON.parse((io.sent as RenderedResponse).body) };
}

/** The first group of `re` in `text`; fails the test when there is none. */
function group(re: RegExp, text: string): string {
  const found = re.exec(text)?.[1];
  if (found === undefined) throw new Error(`${re} not found`);
  return found;
}

/** What a client does: solve with ALTCHA's own solver, encode as the widget does. */
async function solve(challenge: { parameters: Record<string, unknown>; signature: string }): Promise<string> {
  const solution = await solveChallenge({ challenge: challenge as never, deriveKey });
  expect(solution).not.toBeNull();
  return Buffer.from(JSON.stringify({ challenge, solution: { counter: solution?.counter, derivedKey: solution?.derivedKey } })).toString('base64');
}

describe('the built-in challenge: issued', () => {
  it('blocking mode serves it by default: a challenged API request gets 403 JSON with the challenge, how to solve it and where the solution goes', async () => {
    const { vigil } = vigilWith();
    const { decision, sent, json } = await challengeOf(vigil);
    expect(decision).toMatchObject({ action: 'challenge', wouldAction: 'challenge', verdict: 'challenge' });
    expect(decision.challenge).toBeUndefined();
    expect(sent.status).toBe(403);
    expect(sent.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    expect(json.requestId).toBe(decision.requestId);
    expect(json.challenge).toMatchObject({ type: 'altcha', version: 2, algorithm: 'PBKDF2/SHA-256', solution: { header: SOLUTION_HEADER, field: SOLUTION_FIELD } });
    expect(json.challenge.parameters).toMatchObject({ algorithm: 'PBKDF2/SHA-256', cost: FAST.cost, keyLength: 32 });
    expect(typeof json.challenge.signature).toBe('string');
    // Neither the email nor the address is in it: only keyed tags.
    expect(sent.body).not.toContain('ann@example.com');
    expect(sent.body).not.toContain('203.0.113.7');
    expect(sent.body).not.toContain('hunter2');
  });

  it('a browser form post gets the page: the form sealed (the password never in it), posted back to the same target, assets from the same origin under a strict CSP', async () => {
    const { vigil } = vigilWith();
    const req = adapterRequest({ headers: { ...request().headers, accept: 'text/html,application/xhtml+xml' } });
    const decision = await vigil.protect(req);
    const io = new Capture();
    await vigil.enforce(decision, req, io);
    const page = io.sent as RenderedResponse;
    expect(page.status).toBe(403);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe');
    // No action: the browser posts back to the URL it used (a proxy's prefix, a rewrite, included).
    expect(page.body).toContain('<form id="vigil-challenge-form" method="post">');
    expect(page.body).not.toContain('action=');
    expect(page.body).toContain(`name="${SEALED_FIELD}"`);
    expect(page.body).toContain('src="/_vigil/challenge/vigil-challenge.js"');
    expect(page.body).not.toContain('hunter2');
    expect(page.body).not.toContain('ann@example.com');
    expect(page.body).not.toMatch(/<script>(?!<)/); // no inline script: only a JSON data block and a module by src
    const sealed = group(/name="vigil_form" value="([^"]+)"/, page.body);
    const data = JSON.parse(group(/<script type="application\/json" id="vigil-challenge-data">(.*?)<\/script>/s, page.body));
    expect(data.field).toBe(SOLUTION_FIELD);
    // The sealed form opens only with the instance's key (another key: nothing); the re-post test below opens it.
    expect(unseal(Buffer.alloc(32), data.challenge.signature, sealed)).toBeUndefined();
  });

  it('a browser without setBody on its request (a hand-built adapter) gets JSON: the form could not be put back', async () => {
    const { vigil } = vigilWith();
    const req = request({ headers: { ...request().headers, accept: 'text/html' } });
    const { json } = await challengeOf(vigil, req);
    expect(json.challenge.type).toBe('altcha');
  });

  it('a raw body (a Buffer, text) cannot come back through the page: the browser gets JSON', async () => {
    const { vigil } = vigilWith();
    for (const body of [Buffer.from('email=a%40b.c'), 'email=a@b.c']) {
      const req = adapterRequest({ headers: { ...request().headers, accept: 'text/html' }, body });
      const { json } = await challengeOf(vigil, req);
      expect(json.challenge.type).toBe('altcha');
    }
  });

  it('difficulty follows risk: base for what the policy challenges, 4× from risk 0.9 (a softened deny), 16× after a failed solution', async () => {
    const ceilings = async (risk: number) => {
      const { vigil } = vigilWith({ risk, action: 'challenge' }, { challenge: { difficulty: 1000, cost: 1, secret: 'challenge-secret-for-tests-0123' } });
      const levels = new Set<number>();
      for (let i = 0; i < 3; i++) levels.add((await challengeOf(vigil)).json.challenge.parameters.data.l);
      return [...levels];
    };
    expect(await ceilings(0.6)).toEqual([1]);
    expect(await ceilings(0.85)).toEqual([1]);
    expect(await ceilings(0.95)).toEqual([2]);
  });

  it('assets: the widget, its worker, its stylesheet and the page script, served from the package; nothing else', () => {
    const { vigil } = vigilWith();
    for (const name of ['altcha.js', 'altcha.css', 'pbkdf2.js', 'vigil-challenge.js', 'vigil-challenge.css']) {
      const asset = vigil.challengeAsset('GET', `/_vigil/challenge/${name}`);
      expect(asset?.status, name).toBe(200);
      expect(asset?.body.length, name).toBeGreaterThan(100);
      expect(asset?.headers['x-content-type-options']).toBe('nosniff');
    }
    expect(vigil.challengeAsset('GET', '/_vigil/challenge/altcha.js')?.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(vigil.challengeAsset('GET', '/_vigil/challenge/../package.json')).toBeUndefined();
    expect(vigil.challengeAsset('GET', '/_vigil/challenge/constructor')).toBeUndefined();
    expect(vigil.challengeAsset('POST', '/_vigil/challenge/altcha.js')).toBeUndefined();
    expect(vigil.challengeAsset('GET', '/login')).toBeUndefined();
    const off = createVigil({ challenge: false });
    expect(off.challengeAsset('GET', '/_vigil/challenge/altcha.js')).toBeUndefined();
    expect(off.challengeAssetsPath).toBeUndefined();
  });
});

describe('the built-in challenge: verified', () => {
  it('a correct, fresh solution lets the request through (decision.challenge.passed) and is logged as $challenge $succeeded; the same solution again is a replay', async () => {
    const { vigil, calls } = vigilWith();
    const { json } = await challengeOf(vigil);
    const payload = await solve(json.challenge);
    const retry = request({ headers: { ...request().headers, [SOLUTION_HEADER]: payload } });
    const passed = await vigil.protect(retry);
    expect(passed).toMatchObject({ action: 'allow', wouldAction: 'allow', verdict: 'challenge', challenge: { passed: true, reason: 'solved', level: 1, recorded: true } });
    expect(passed.reasons.at(-1)).toMatch(/challenge passed/);
    expect(await vigil.enforce(passed, retry, new Capture())).toBe('proceed');
    await vi.waitFor(() => expect(calls.log.some((e) => e.type === '$challenge')).toBe(true));
    const logged = calls.log.find((e) => e.type === '$challenge');
    expect(logged).toMatchObject({ type: '$challenge', status: '$succeeded', properties: { challenge: 'pow', reason: 'solved', level: 1 } });
    const replay = await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: payload } }));
    expect(replay).toMatchObject({ action: 'challenge', challenge: { passed: false, reason: 'replayed' } });
    await vi.waitFor(() => expect(calls.log.filter((e) => e.type === '$challenge').map((e) => e.status)).toEqual(['$succeeded', '$failed']));
  });

  it('the solution in the JSON body field works as the header does', async () => {
    const { vigil } = vigilWith();
    const { json } = await challengeOf(vigil);
    const payload = await solve(json.challenge);
    const passed = await vigil.protect(request({ body: { ...request().body as object, [SOLUTION_FIELD]: payload } }));
    expect(passed.challenge).toMatchObject({ passed: true });
  });

  it('expired: a solution presented after expiresInSeconds fails', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-07T10:00:00Z'));
    const { vigil } = vigilWith({ risk: 0.7 }, { challenge: { ...FAST, expiresInSeconds: 60, secret: 'challenge-secret-for-tests-0123' } });
    const { json } = await challengeOf(vigil);
    const payload = await solve(json.challenge);
    vi.setSystemTime(new Date('2026-12-07T10:01:01Z'));
    const late = await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: payload } }));
    expect(late).toMatchObject({ action: 'challenge', challenge: { passed: false, reason: 'expired' } });
  });

  it('foreign: a solution issued for one account, route or client is refused for another, and the next challenge is harder', async () => {
    const { vigil } = vigilWith();
    const { json } = await challengeOf(vigil);
    const payload = await solve(json.challenge);
    const header = { ...request().headers, [SOLUTION_HEADER]: payload };
    const otherAccount = await vigil.protect(request({ headers: header, body: { email: 'bob@example.com', password: 'x' } }));
    expect(otherAccount.challenge).toMatchObject({ passed: false, reason: 'foreign' });
    // Another network and no device: another client.
    const otherClient = await vigil.protect(request({ headers: header, remoteAddress: '198.51.100.9' }));
    expect(otherClient.challenge).toMatchObject({ passed: false, reason: 'foreign' });
    // A failed solution makes the next challenge the hardest level.
    const io = new Capture();
    await vigil.enforce(otherClient, request(), io);
    expect(JSON.parse((io.sent as RenderedResponse).body).challenge).toMatchObject({ retry: true, parameters: { data: { l: 3 } } });
    // Not spent by the foreign attempts: its own request still passes.
    expect((await vigil.protect(request({ headers: header }))).challenge).toMatchObject({ passed: true });
  });

  it('the same device on another network passes (a phone moving between carrier addresses); the same /24 without the device passes', async () => {
    const { vigil } = vigilWith();
    const first = await vigil.protect(request());
    const cookie = first.responseHeaders['set-cookie']?.[0]?.split(';')[0] as string;
    const withDevice = (overrides: Partial<RequestInfo>) => request({ ...overrides, headers: { ...request().headers, cookie, ...(overrides.headers ?? {}) } });
    const { json } = await challengeOf(vigil, withDevice({}));
    const moved = await vigil.protect(withDevice({ remoteAddress: '198.51.100.23', headers: { [SOLUTION_HEADER]: await solve(json.challenge) } }));
    expect(moved.challenge).toMatchObject({ passed: true });
    const second = await challengeOf(vigil);
    const sameNet = await vigil.protect(request({ remoteAddress: '203.0.113.99', headers: { ...request().headers, [SOLUTION_HEADER]: await solve(second.json.challenge) } }));
    expect(sameNet.challenge).toMatchObject({ passed: true });
  });

  it('tampered: a changed parameter (a lower cost, another account tag, a later expiry), signature or derived key fails', async () => {
    const { vigil } = vigilWith();
    const { json } = await challengeOf(vigil);
    const payload = await solve(json.challenge);
    const decoded = JSON.parse(Buffer.from(payload, 'base64').toString());
    const variants: [string, (d: typeof decoded) => void][] = [
      ['cost', (d) => (d.challenge.parameters.cost = 1)],
      ['expiry', (d) => (d.challenge.parameters.expiresAt += 3600)],
      ['binding', (d) => (d.challenge.parameters.data.a = '')],
      ['signature', (d) => (d.challenge.signature = d.challenge.signature.replace(/^./, (c: string) => (c === '0' ? '1' : '0')))],
      ['key', (d) => (d.solution.derivedKey = d.solution.derivedKey.replace(/^./, (c: string) => (c === '0' ? '1' : '0')))],
    ];
    for (const [name, change] of variants) {
      const copy = structuredClone(decoded);
      change(copy);
      const decision = await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: Buffer.from(JSON.stringify(copy)).toString('base64') } }));
      expect(decision.challenge?.passed, name).toBe(false);
      expect(['tampered', 'invalid'], name).toContain(decision.challenge?.reason);
      expect(decision.action, name).toBe('challenge');
    }
    // None of them spent it.
    expect((await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: payload } }))).challenge).toMatchObject({ passed: true });
  });

  it('a challenge signed by another instance (another secret) is tampered; by an instance sharing the secret, it passes', async () => {
    const a = vigilWith().vigil;
    const b = vigilWith({ risk: 0.7 }, { challenge: { ...FAST, secret: 'another-secret-entirely-0123456' } }).vigil;
    const c = vigilWith().vigil;
    const { json } = await challengeOf(a);
    const payload = await solve(json.challenge);
    const presented = () => request({ headers: { ...request().headers, [SOLUTION_HEADER]: payload } });
    expect((await b.protect(presented())).challenge).toMatchObject({ passed: false, reason: 'tampered' });
    expect((await c.protect(presented())).challenge).toMatchObject({ passed: true });
  });

  it('garbage of every kind is a failed challenge, never an exception', async () => {
    const { vigil } = vigilWith();
    const garbage = ['x', '%%%', Buffer.from('null').toString('base64'), Buffer.from('[]').toString('base64'), Buffer.from('{"challenge":{},"solution":1}').toString('base64'),
      Buffer.from(JSON.stringify({ challenge: { parameters: { algorithm: 'PBKDF2/SHA-256', nonce: 'zz', salt: 'zz', keyPrefix: 'zz' }, signature: 'ab' }, solution: { counter: -1, derivedKey: 'g' } })).toString('base64'),
      Buffer.from(JSON.stringify({ challenge: { parameters: { algorithm: 'SHA-1' }, signature: 'ab' }, solution: {} })).toString('base64'), 'a'.repeat(100_000),
      // A signature of the right length in characters but not in bytes.
      Buffer.from(JSON.stringify({ challenge: { parameters: { algorithm: 'PBKDF2/SHA-256', keySignature: `é${'a'.repeat(63)}` }, signature: `é${'a'.repeat(63)}` }, solution: { counter: 1, derivedKey: 'ab' } })).toString('base64')];
    for (const value of garbage) {
      const decision = await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: value } }));
      expect(decision.challenge?.passed).toBe(false);
      expect(decision.action).toBe('challenge');
    }
  });

  it('a solution is checked only when the policy challenges: a deny stays a block, an allowed request keeps its solution unspent', async () => {
    const { vigil } = vigilWith({ risk: 0.7 });
    const { json } = await challengeOf(vigil);
    const payload = await solve(json.challenge);
    const presented = () => request({ headers: { ...request().headers, [SOLUTION_HEADER]: payload } });
    const denying = vigilWith({ risk: 0.99, action: 'deny' }).vigil;
    const blocked = await denying.protect(presented());
    expect(blocked.action).toBe('block');
    expect(blocked.challenge).toBeUndefined();
    const allowing = vigilWith({ risk: 0.1 }).vigil;
    expect((await allowing.protect(presented())).challenge).toBeUndefined();
    // Not spent by either: it still answers the challenge it was issued for.
    expect((await vigil.protect(presented())).challenge).toMatchObject({ passed: true });
  });

  it('a solution of an easier challenge does not answer a harder one (too-easy), and is not accepted once the risk rose', async () => {
    const { vigil } = vigilWith({ risk: 0.7 });
    const { json } = await challengeOf(vigil);
    const payload = await solve(json.challenge);
    const riskier = vigilWith({ risk: 0.95, action: 'challenge' }).vigil;
    expect((await riskier.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: payload } }))).challenge).toMatchObject({ passed: false, reason: 'too-easy', level: 1 });
  });

  it('a route whose name is not Latin-1 (checkout — step 2) is solved like any other: the payload only ever holds ASCII', async () => {
    const route = { method: 'POST', path: '/checkout', name: 'checkout — step 2 ✓', event: '$transaction' as const, user: { email: 'body.email' } };
    const { vigil } = vigilWith({ risk: 0.7 }, { routes: [route] });
    const req = () => request({ url: '/checkout', path: '/checkout' });
    const { json } = await challengeOf(vigil, req());
    expect(JSON.stringify(json.challenge.parameters)).toMatch(/^[\x20-\x7e]+$/);
    const payload = await solve(json.challenge);
    expect((await vigil.protect({ ...req(), headers: { ...request().headers, [SOLUTION_HEADER]: payload } })).challenge).toMatchObject({ passed: true });
  });

  it('a store with no room left refuses a solution (replayed), never lets it through unrecorded', async () => {
    const store = new MemoryStore({ maxClaimKeys: 1 });
    const { vigil } = vigilWith({ risk: 0.7 }, { challenge: { ...FAST, store, secret: 'challenge-secret-for-tests-0123' } });
    const first = await solve((await challengeOf(vigil)).json.challenge);
    const second = await solve((await challengeOf(vigil)).json.challenge);
    expect((await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: first } }))).challenge).toMatchObject({ passed: true });
    expect((await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: second } }))).challenge).toMatchObject({ passed: false, reason: 'replayed' });
  });

  it('the sealed form comes back: the page re-post carries only the solution and the sealed form, and the route sees what the person typed', async () => {
    const { vigil, calls } = vigilWith();
    const browser = { ...request().headers, accept: 'text/html,application/xhtml+xml' };
    const req = adapterRequest({ headers: browser });
    const io = new Capture();
    await vigil.enforce(await vigil.protect(req), req, io);
    const page = (io.sent as RenderedResponse).body;
    const sealed = group(/name="vigil_form" value="([^"]+)"/, page);
    const data = JSON.parse(group(/id="vigil-challenge-data">(.*?)<\/script>/s, page));
    const payload = await solve(data.challenge);
    const repost = adapterRequest({ headers: browser, body: { [SOLUTION_FIELD]: payload, [SEALED_FIELD]: sealed } });
    const passed = await vigil.protect(repost);
    expect(passed.challenge).toMatchObject({ passed: true });
    expect(repost.replaced).toEqual([{ email: 'ann@example.com', password: 'hunter2-secret' }]);
    expect(repost.body).toEqual({ email: 'ann@example.com', password: 'hunter2-secret' });
    // The engine saw the account of the restored form (the binding held).
    expect(calls.filter.at(-1)?.user.email).toBe('ann@example.com');
    // A sealed form that was changed (or belongs to another challenge) is tampered, and nothing is restored.
    const forged = adapterRequest({ headers: browser, body: { [SOLUTION_FIELD]: payload, [SEALED_FIELD]: `${sealed.slice(0, -2)}AA` } });
    expect((await vigil.protect(forged)).challenge).toMatchObject({ passed: false, reason: 'tampered' });
    expect(forged.replaced).toEqual([]);
  });

  it('with the store down, a correct solution still passes (recorded: false): a person is not turned away for an outage', async () => {
    const store = new MemoryStore();
    const { vigil } = vigilWith({ risk: 0.7 }, { challenge: { ...FAST, store, secret: 'challenge-secret-for-tests-0123' } });
    const { json } = await challengeOf(vigil);
    const payload = await solve(json.challenge);
    store.execute = async () => {
      throw new Error('down');
    };
    const decision = await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: payload } }));
    expect(decision.challenge).toMatchObject({ passed: true, recorded: false });
  });
});

describe('the built-in challenge: options', () => {
  it.each<[string, unknown, RegExp]>([
    ['not an object', 'yes', /VIGIL_E_CHALLENGE: challenge is "yes"/],
    ['unknown key', { dificulty: 3 }, /challenge\.dificulty/],
    ['difficulty 0', { difficulty: 0 }, /challenge\.difficulty is 0, which is not a whole number from 1/],
    ['cost 1.5', { cost: 1.5 }, /challenge\.cost is 1\.5/],
    ['expiry too short', { expiresInSeconds: 5 }, /challenge\.expiresInSeconds is 5/],
    ['assets path with a trailing slash', { assetsPath: '/x/' }, /challenge\.assetsPath is "\/x\/"/],
    ['short secret', { secret: 'short' }, /challenge\.secret is "\(hidden\)", which is not a string of 16 characters/],
    ['a store that is not one', { store: {} }, /challenge\.store/],
  ])('%s fails at start-up, naming the option', (_name, challenge, message) => {
    expect(() => createVigil({ challenge: challenge as never })).toThrow(message);
  });

  it('a short secret is never printed', () => {
    expect(() => createVigil({ challenge: { secret: 'short-secret' } })).toThrow(/\(hidden\)/);
    try {
      createVigil({ challenge: { secret: 'short-secret' } });
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('short-secret');
    }
  });

  it('decode of what a client sent never throws', () => {
    for (const value of [undefined, null, 1, '', '@@', 'a'.repeat(5000)]) expect(PowChallenges.decode(value)).toBeUndefined();
  });
});

describe('the built-in challenge: what the embedded engine learns', () => {
  it('a failed solution is a failure of the address ($challenge $failed, counted with its failed logins), once per solution', async () => {
    const { RecordingStore } = await import('../testing/recording.js');
    const { localProvider } = await import('../providers/local.js');
    const store = new RecordingStore();
    // The engine's learning, behind a verdict pinned at a challenge (a solution is only checked then).
    const engine = localProvider({ store, secret: 'engine-secret-0123456789abcdef' });
    // Every event the engine learns from, so that "nothing was counted" is read once it has learned.
    const learning: Promise<unknown>[] = [];
    const log = (event: Parameters<typeof engine.log>[0]) => {
      const learned = engine.log(event);
      learning.push(learned);
      return learned;
    };
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: { ...engine, filter: async () => ({ risk: 0.7 }), log }, challenge: FAST });
    toClose.push(vigil);
    const failures = () => store.ops.filter((op) => op.type === 'hit' && op.key === 'v:ip:203.0.113.7:fail').length;
    await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: 'garbage' } }));
    await vi.waitFor(() => expect(failures()).toBe(1));
    await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: 'more garbage' } }));
    await vi.waitFor(() => expect(failures()).toBe(2));
    // Its own solution presented again (a reload) is refused, but is no evidence, and the
    // next challenge is not the harder one.
    const { json } = await challengeOf(vigil);
    const payload = await solve(json.challenge);
    expect((await vigil.protect(request({ headers: { ...request().headers, [SOLUTION_HEADER]: payload } }))).challenge).toMatchObject({ passed: true });
    const again = request({ headers: { ...request().headers, [SOLUTION_HEADER]: payload } });
    const replayed = await vigil.protect(again);
    expect(replayed.challenge).toMatchObject({ passed: false, reason: 'replayed' });
    const io = new Capture();
    await vigil.enforce(replayed, again, io);
    expect(JSON.parse((io.sent as RenderedResponse).body).challenge.parameters.data.l).toBe(1);
    // The replay's $challenge event was handed to the engine and learned from: nothing counted.
    await vi.waitFor(() => expect(learning.length).toBe(4));
    await Promise.all(learning);
    expect(failures()).toBe(2);
  });

  it('a flood of challenged requests: at most 64 challenges are issued at once, the rest get the block answer, said once', async () => {
    const warn = vi.fn();
    const vigil = createVigil({ mode: 'blocking', routes: [LOGIN], provider: async () => ({ risk: 0.7 }), challenge: { difficulty: 4, cost: 20_000, secret: 'challenge-secret-for-tests-0123' }, logger: { warn, error: vi.fn() } });
    toClose.push(vigil);
    const answers = await Promise.all(
      Array.from({ length: 150 }, async (_, i) => {
        const req = request({ remoteAddress: `198.51.100.${i}` });
        const io = new Capture();
        await vigil.enforce(await vigil.protect(req), req, io);
        return JSON.parse((io.sent as RenderedResponse).body);
      }),
    );
    const challenged = answers.filter((a) => a.challenge).length;
    expect(challenged).toBeGreaterThanOrEqual(64);
    expect(answers.filter((a) => a.blocked).length).toBe(150 - challenged);
    expect(challenged).toBeLessThan(150);
    expect(warn.mock.calls.filter(([fields]) => (fields as { code?: string }).code === 'VIGIL_W_CHALLENGE_BUSY')).toHaveLength(1);
  });
});
