import {
  browserHeaders,
  disposableEmail,
  ispPrefixes,
  password,
  personalEmail,
  pickBrowser,
  residentialIp,
  residentialIpv6,
  templatedHeaders,
  typo,
} from './population.mjs';
import { createRng } from './rng.mjs';

/** Every scenario the simulator knows; `mix` runs them all at once, as real traffic comes. */
export const SCENARIOS = ['legit', 'stuffing-few-ips', 'stuffing-rotating', 'brute-force', 'scripted', 'headless', 'fake-signups'];

const SCRIPTED_UAS = [
  'curl/8.5.0',
  'python-requests/2.31.0',
  'Python-urllib/3.11',
  'python-httpx/0.27.0',
  'Go-http-client/1.1',
  'Go-http-client/2.0',
  'axios/1.6.7',
  'node-fetch/1.0 (+https://github.com/bitinn/node-fetch)',
  'undici',
  'node',
  'okhttp/4.12.0',
  'Java/17.0.2',
  'Apache-HttpClient/4.5.14 (Java/17.0.2)',
  'libwww-perl/6.72',
  'PostmanRuntime/7.36.1',
  'Scrapy/2.11.0 (+https://scrapy.org)',
  'Wget/1.21.4',
  'Ruby',
  'GuzzleHttp/7',
  '',
];

const HEADLESS_UAS = [
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.6367.60 Safari/537.36',
  'Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1',
];

const COMMON_PASSWORDS = ['123456', 'password', '123456789', 'qwerty', '12345678', '111111', 'abc123', 'password1', 'iloveyou', 'admin', 'welcome', 'monkey', 'dragon', 'letmein', 'football', 'sunshine', 'princess', 'qwerty123', 'baseball', 'shadow'];

/** Sizes of each scenario at `scale` 1; the default mix sends about 4 000 requests. */
export const SIZES = {
  legitUsers: 300,
  newSignups: 30,
  fewIps: 3,
  fewIpsAttempts: 150,
  rotatingIps: 400,
  rotatingAttemptsPerIp: 2,
  bruteAccounts: 4,
  bruteIps: 120,
  scriptedIps: 40,
  scriptedRequests: 6,
  headlessIps: 20,
  headlessRequests: 8,
  fakeSignupIps: 30,
  fakeSignupsPerIp: 5,
};

function newMetrics() {
  return { requests: 0, allowed: 0, challenged: 0, blocked: 0, errors: 0, wouldBlock: 0, wouldChallenge: 0, attackers: new Map(), takeovers: 0, accountsCreated: 0, legitUsers: 0, legitUnable: 0 };
}

/**
 * Builds the seeded population and the actors of the chosen scenarios. Every random
 * choice comes from `seed`, so two runs send the same requests in the same per-actor
 * order (the interleaving across actors depends on response times only).
 */
export function buildSimulation({ seed, scenarios, scale = 1, origin, thinkMs = 5 }) {
  const rng = createRng(seed);
  const n = (x) => Math.max(1, Math.round(x * scale));
  const isps = ispPrefixes(rng.fork('isps'), 12);
  const metrics = Object.fromEntries(SCENARIOS.map((s) => [s, newMetrics()]));
  const wanted = new Set(scenarios);
  const sleep = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

  // The legit population exists before the run (they are the app's users), and the
  // attackers' combo lists contain a few of their real credentials.
  const people = [];
  {
    const r = rng.fork('people');
    for (let i = 0; i < n(SIZES.legitUsers); i++) {
      const browser = pickBrowser(r);
      people.push({
        email: personalEmail(r, i),
        password: password(r),
        ip: r.chance(0.1) ? residentialIpv6(r) : residentialIp(r, isps),
        browser,
        form: r.chance(0.3),
      });
    }
  }

  function record(scenario, attackerId, res) {
    const m = metrics[scenario];
    m.requests++;
    m[res.outcome === 'error' ? 'errors' : res.outcome]++;
    if (res.would === 'block' || res.would === 'redirect') m.wouldBlock++;
    if (res.would === 'challenge') m.wouldChallenge++;
    if (attackerId !== undefined) {
      let a = m.attackers.get(attackerId);
      if (!a) {
        a = { attempts: 0, beforeFirstBlock: undefined, beforeFirstStop: undefined, failuresBeforeChallenge: undefined, failures: 0 };
        m.attackers.set(attackerId, a);
      }
      if (res.outcome === 'blocked' && a.beforeFirstBlock === undefined) a.beforeFirstBlock = a.attempts;
      if ((res.outcome === 'blocked' || res.outcome === 'challenged') && a.beforeFirstStop === undefined) a.beforeFirstStop = a.attempts;
      if ((res.outcome === 'blocked' || res.outcome === 'challenged') && a.failuresBeforeChallenge === undefined) a.failuresBeforeChallenge = a.failures;
      if (res.status === 401) a.failures++;
      a.attempts++;
    }
  }

  const headersFor = (person, form = person.form) => browserHeaders(person.browser, { origin, form });

  /** A person's login: a challenge is a CAPTCHA they solve (`captcha: 'passed'`). */
  async function personLogin(client, person, pw, scenario = 'legit') {
    const body = { email: person.email, password: pw };
    let res = await client.post('/api/login', body, { headers: headersFor(person), ip: person.ip });
    record(scenario, undefined, res);
    if (res.outcome === 'challenged') {
      res = await client.post('/api/login', { ...body, captcha: 'passed' }, { headers: headersFor(person), ip: person.ip });
      record(scenario, undefined, res);
    }
    return res;
  }

  const setup = people.map((person) => async (client) => {
    await client.post('/api/register', { email: person.email, password: person.password }, { headers: headersFor(person), ip: person.ip });
    await client.post('/api/login', { email: person.email, password: person.password }, { headers: headersFor(person), ip: person.ip });
  });

  const actors = [];

  if (wanted.has('legit')) {
    const r = rng.fork('legit');
    for (const person of people) {
      const sessions = r.int(1, 3);
      const plan = Array.from({ length: sessions }, () => {
        const x = r.next();
        return { typos: x < 0.85 ? 0 : x < 0.97 ? 1 : 2, reset: r.chance(0.04), think: r.int(0, thinkMs * 4) };
      });
      const typos = plan.map((p) => Array.from({ length: p.typos }, () => typo(r, person.password)));
      actors.push(async (client) => {
        metrics.legit.legitUsers++;
        let everIn = false;
        for (let s = 0; s < plan.length; s++) {
          const step = plan[s];
          if (step.reset) {
            const res = await client.post('/api/password-reset', { email: person.email }, { headers: headersFor(person), ip: person.ip });
            record('legit', undefined, res);
          }
          for (const wrong of typos[s]) {
            await personLogin(client, person, wrong);
            await sleep(step.think);
          }
          const res = await personLogin(client, person, person.password);
          if (res.status === 200) everIn = true;
          await sleep(step.think);
        }
        if (!everIn) metrics.legit.legitUnable++;
      });
    }
    for (let i = 0; i < n(SIZES.newSignups); i++) {
      const browser = pickBrowser(r);
      const person = { email: personalEmail(r, 100_000 + i), password: password(r), ip: residentialIp(r, isps), browser, form: r.chance(0.3) };
      actors.push(async (client) => {
        metrics.legit.legitUsers++;
        const body = { email: person.email, password: person.password };
        let reg = await client.post('/api/register', body, { headers: headersFor(person), ip: person.ip });
        record('legit', undefined, reg);
        if (reg.outcome === 'challenged') {
          reg = await client.post('/api/register', { ...body, captcha: 'passed' }, { headers: headersFor(person), ip: person.ip });
          record('legit', undefined, reg);
        }
        await sleep(thinkMs);
        const res = await personLogin(client, person, person.password);
        if (res.status !== 200) metrics.legit.legitUnable++;
      });
    }
  }

  // Combo lists: mostly credentials leaked elsewhere (accounts that do not exist here,
  // or exist with another password), with ~3% that work here.
  const combo = (r) => {
    if (r.chance(0.03)) {
      const victim = r.pick(people);
      return { email: victim.email, password: victim.password, valid: true };
    }
    if (r.chance(0.3)) {
      const victim = r.pick(people);
      return { email: victim.email, password: password(r), valid: false };
    }
    return { email: personalEmail(r, r.int(1, 1e6)), password: password(r), valid: false };
  };

  async function attack(client, scenario, attackerId, path, body, headers, ip) {
    const res = await client.post(path, body, { headers, ip });
    record(scenario, attackerId, res);
    if (path === '/api/login' && res.status === 200) metrics[scenario].takeovers++;
    if (path === '/api/register' && res.status === 201) metrics[scenario].accountsCreated++;
    return res;
  }

  if (wanted.has('stuffing-few-ips')) {
    const r = rng.fork('few');
    for (let i = 0; i < n(SIZES.fewIps); i++) {
      const ip = residentialIp(r, isps);
      // Well-built tool: a real browser's full header set, replayed.
      const headers = browserHeaders(pickBrowser(r), { origin, form: false });
      const creds = Array.from({ length: SIZES.fewIpsAttempts }, () => combo(r));
      actors.push(async (client) => {
        for (const c of creds) await attack(client, 'stuffing-few-ips', ip, '/api/login', { email: c.email, password: c.password }, headers, ip);
      });
    }
  }

  if (wanted.has('stuffing-rotating')) {
    const r = rng.fork('rotating');
    for (let i = 0; i < n(SIZES.rotatingIps); i++) {
      const ip = r.chance(0.15) ? residentialIpv6(r) : residentialIp(r, isps);
      const browser = pickBrowser(r);
      // Half the proxies run a cheap templated tool, half replay a full browser header set.
      const headers = r.chance(0.5) ? templatedHeaders(browser, { origin }) : browserHeaders(browser, { origin, form: false });
      const creds = Array.from({ length: SIZES.rotatingAttemptsPerIp }, () => combo(r));
      actors.push(async (client) => {
        for (const c of creds) {
          await attack(client, 'stuffing-rotating', ip, '/api/login', { email: c.email, password: c.password }, headers, ip);
          await sleep(thinkMs);
        }
      });
    }
  }

  if (wanted.has('brute-force')) {
    const r = rng.fork('brute');
    const targets = Array.from({ length: n(SIZES.bruteAccounts) }, (_, i) => people[(i * 7919) % people.length]);
    // One target uses a guessable password: it sits in the wordlist.
    const wordlists = targets.map((t, i) => {
      const list = [...COMMON_PASSWORDS, ...Array.from({ length: 30 }, () => password(r))];
      if (i === 0) list.splice(25, 0, t.password);
      return list;
    });
    const next = targets.map(() => 0);
    for (let i = 0; i < n(SIZES.bruteIps); i++) {
      const ip = residentialIp(r, isps);
      const headers = browserHeaders(pickBrowser(r), { origin, form: false });
      const t = i % targets.length;
      const tries = r.int(1, 3);
      actors.push(async (client) => {
        for (let k = 0; k < tries; k++) {
          const list = wordlists[t];
          const guess = list[next[t]++ % list.length];
          const res = await attack(client, 'brute-force', `account:${t}`, '/api/login', { email: targets[t].email, password: guess }, headers, ip);
          if (res.status === 200) return;
          await sleep(thinkMs);
        }
      });
    }
  }

  if (wanted.has('scripted')) {
    const r = rng.fork('scripted');
    for (let i = 0; i < n(SIZES.scriptedIps); i++) {
      const ip = residentialIp(r, isps);
      const ua = SCRIPTED_UAS[i % SCRIPTED_UAS.length];
      const headers = { 'user-agent': ua || undefined, accept: '*/*', 'content-type': 'application/json' };
      actors.push(async (client) => {
        for (let k = 0; k < SIZES.scriptedRequests; k++) {
          const c = combo(r);
          const path = k % 3 === 2 ? '/api/register' : '/api/login';
          await attack(client, 'scripted', ip, path, { email: c.email, password: c.password }, headers, ip);
        }
      });
    }
  }

  if (wanted.has('headless')) {
    const r = rng.fork('headless');
    for (let i = 0; i < n(SIZES.headlessIps); i++) {
      const ip = residentialIp(r, isps);
      const headers = { ...browserHeaders({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0', language: 'en-US' }, { origin, form: true }), 'user-agent': HEADLESS_UAS[i % HEADLESS_UAS.length] };
      actors.push(async (client) => {
        for (let k = 0; k < SIZES.headlessRequests; k++) {
          const c = combo(r);
          await attack(client, 'headless', ip, '/api/login', { email: c.email, password: c.password }, headers, ip);
        }
      });
    }
  }

  if (wanted.has('fake-signups')) {
    const r = rng.fork('signups');
    for (let i = 0; i < n(SIZES.fakeSignupIps); i++) {
      const ip = residentialIp(r, isps);
      const headers = browserHeaders(pickBrowser(r), { origin, form: false });
      const emails = Array.from({ length: SIZES.fakeSignupsPerIp }, () => disposableEmail(r));
      actors.push(async (client) => {
        for (const email of emails) {
          await attack(client, 'fake-signups', ip, '/api/register', { email, password: password(r) }, headers, ip);
          await sleep(thinkMs);
        }
      });
    }
  }

  // Interleave actors deterministically: real traffic arrives mixed.
  const order = createRng(seed ^ 0x9e3779b9);
  for (let i = actors.length - 1; i > 0; i--) {
    const j = Math.floor(order.next() * (i + 1));
    [actors[i], actors[j]] = [actors[j], actors[i]];
  }
  return { setup, actors, metrics, people };
}

/** Runs async tasks with at most `concurrency` in flight. */
export async function runPool(tasks, concurrency, client) {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, tasks.length) }, async () => {
    while (next < tasks.length) {
      const task = tasks[next++];
      await task(client);
    }
  });
  await Promise.all(workers);
}
