import { solveChallenge as solveWork } from '@vigil/core/testing';
import { createJar, loginPathFor, signedIn, wrongPassword } from './http.mjs';
import {
  browserHeaders,
  disposableEmail,
  gmailAliases,
  ipv6InPrefix,
  ipv6Prefix48,
  ispPrefixes,
  password,
  personalEmail,
  pickBrowser,
  pickDesktopBrowser,
  pickMobileBrowser,
  residentialIp,
  residentialIpv6,
  templatedHeaders,
  typo,
} from './population.mjs';
import { createRng } from './rng.mjs';

/** Real people, one scenario per kind of network and habit. */
export const PEOPLE_SCENARIOS = ['home', 'office', 'carrier', 'travellers', 'typo-storm', 'owners-under-attack'];
/** Attacks. */
export const ATTACK_SCENARIOS = [
  'stuffing-few-ips',
  'stuffing-rotating',
  'brute-force',
  'scripted',
  'headless',
  'fake-signups',
  'spray',
  'one-jar',
  'dilution',
  'alias-signups',
  'reset-flood',
  'ipv6-range',
  'solver',
];
/** Every scenario the simulator knows; `mix` runs them all at once, as real traffic comes. */
export const SCENARIOS = [...PEOPLE_SCENARIOS, ...ATTACK_SCENARIOS];
/** Older names still accepted on the command line. */
export const SCENARIO_ALIASES = { legit: 'home' };

/**
 * The rows of the report each scenario fills: travellers are two populations (with
 * their own device, and on someone else's), every other scenario is one.
 */
export const POPULATIONS = Object.fromEntries(SCENARIOS.map((s) => [s, s === 'travellers' ? ['travellers-with-device', 'travellers-without-device'] : [s]]));
/** Report rows that are real people (the rest are attacks). */
export const PEOPLE = PEOPLE_SCENARIOS.flatMap((s) => POPULATIONS[s]);

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

/** Vigil's device cookie (its default name). */
export const DEVICE_COOKIE = 'vigil_did';

/** What a password spray tries on every account: common passwords the sign-up rules (8+ characters) let people pick. */
export const SPRAY_PASSWORDS = ['password1', 'qwerty123', 'iloveyou', 'Welcome1!'];

/**
 * Sizes at `scale` 1 (about 6 000 requests in all). `scale` multiplies the crowds
 * (SCALED); the other entries are the shapes the issue names (one office NAT of 14,
 * 40 phones behind 3 addresses, 100 accounts from 25 addresses…) and stay as they are
 * at any scale, since their shape is what a rule has to get right.
 */
export const SIZES = {
  homeUsers: 300,
  homeSignups: 30,
  homePrivateBrowsing: 0.1,
  homeWeakPasswords: 0.02,
  officePeople: 14,
  carrierUsers: 40,
  carrierIps: 3,
  travellersWithDevice: 10,
  travellersWithoutDevice: 10,
  typoStormUsers: 10,
  bruteAccounts: 4,
  fewIps: 3,
  fewIpsAttempts: 150,
  rotatingIps: 400,
  rotatingAttemptsPerIp: 2,
  solverIps: 20,
  solverAttemptsPerIp: 2,
  bruteIps: 120,
  scriptedIps: 40,
  scriptedRequests: 6,
  headlessIps: 20,
  headlessRequests: 8,
  fakeSignupIps: 30,
  fakeSignupsPerIp: 5,
  sprayAccounts: 60,
  sprayIps: 80,
  oneJarAccounts: 100,
  oneJarIps: 25,
  dilutionOwnAccounts: 5,
  dilutionAttempts: 40,
  aliasSignups: 30,
  resetEmails: 100,
  resetIps: 3,
  ipv6Attempts: 150,
};
/** The SIZES entries `scale` multiplies. */
export const SCALED = new Set(['homeUsers', 'homeSignups', 'fewIps', 'rotatingIps', 'bruteIps', 'scriptedIps', 'headlessIps', 'fakeSignupIps', 'sprayAccounts', 'sprayIps']);

function newMetrics(population) {
  const m = { requests: 0, allowed: 0, challenged: 0, blocked: 0, errors: 0, wouldBlock: 0, wouldChallenge: 0 };
  if (PEOPLE.includes(population)) return { ...m, kind: 'people', users: 0, signups: 0, refusedAtSignup: 0, lockedOut: 0, keptDeviceCookie: 0 };
  // `cover`: the dilution attack's logins to its own accounts, kept apart from its stuffing attempts.
  return { ...m, kind: 'attack', attackers: new Map(), takeovers: 0, accountsCreated: 0, cover: population === 'dilution' ? { requests: 0, allowed: 0, challenged: 0, blocked: 0, errors: 0, succeeded: 0 } : undefined };
}

/** CPU the simulated people spent solving challenges (ms) and how many they solved. */
export const solving = { challenges: 0, ms: 0, attempts: 0 };
/** The same for the `solver` attack: what an attacker who solves every challenge pays. */
export const attackerSolving = { challenges: 0, ms: 0, attempts: 0 };

/**
 * How a person gets past Vigil's built-in challenge, as their browser or app does: the
 * proof of work computed (ALTCHA's own solver), then, for an API client, the same
 * request again with the solution in the `vigil-challenge` header; for a browser, the
 * challenge page's form re-posted (the sealed original form and the solution), as the
 * page's script does. Resolves the body and headers to send. Attackers never call it.
 */
export async function solveChallenge(body, response, headers, tally = solving) {
  let challenge;
  let sealed;
  if (response.body?.challenge) challenge = response.body.challenge;
  else if (typeof response.page === 'string') {
    const data = /id="vigil-challenge-data">(.*?)<\/script>/s.exec(response.page)?.[1];
    challenge = data === undefined ? undefined : JSON.parse(data).challenge;
    sealed = /name="vigil_form" value="([^"]+)"/.exec(response.page)?.[1]?.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c)));
  }
  if (challenge === undefined) return { body, headers };
  const solved = await solveWork(challenge);
  tally.challenges++;
  tally.ms += solved.ms;
  tally.attempts += solved.attempts;
  if (sealed !== undefined) return { body: { vigil_form: sealed, vigil_challenge: solved.payload }, headers };
  return { body, headers: { ...headers, 'vigil-challenge': solved.payload } };
}

/**
 * Builds the seeded population and the actors of the chosen scenarios. Every random
 * choice comes from `seed`, so two runs send the same requests in the same per-actor
 * order (the interleaving across actors depends on response times only).
 */
export function buildSimulation({ seed, scenarios, scale = 1, origin, thinkMs = 5 }) {
  const rng = createRng(seed);
  const size = (key) => (SCALED.has(key) ? Math.max(1, Math.round(SIZES[key] * scale)) : SIZES[key]);
  const isps = ispPrefixes(rng.fork('isps'), 12);
  // Other countries' ISPs, for travellers' hotels and cafés.
  const abroad = ispPrefixes(rng.fork('abroad'), 6);
  const wanted = new Set(scenarios.map((s) => SCENARIO_ALIASES[s] ?? s));
  const metrics = {};
  for (const s of SCENARIOS) if (wanted.has(s)) for (const p of POPULATIONS[s]) metrics[p] = newMetrics(p);
  const setupStats = { requests: 0, refused: 0 };
  const sleep = (ms) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

  /** A browser on one device: its User-Agent profile and its cookie jar. */
  const device = (browser, form) => ({ browser, form, jar: createJar() });
  const headersOf = (dev) => browserHeaders(dev.browser, { origin, form: dev.form });
  /** Where a person is and on what: the request options for the HTTP client. */
  const at = (dev, ip, jar = dev.jar) => ({ headers: headersOf(dev), ip, jar });

  // The app's existing users (home): they exist before the run, and the attackers'
  // combo lists contain a few of their real credentials.
  const people = [];
  {
    const r = rng.fork('people');
    for (let i = 0; i < size('homeUsers'); i++) {
      const browser = pickBrowser(r);
      const form = r.chance(0.3);
      const person = {
        email: personalEmail(r, i),
        password: r.chance(SIZES.homeWeakPasswords) ? r.pick(SPRAY_PASSWORDS) : password(r),
        ip: r.chance(0.1) ? residentialIpv6(r) : residentialIp(r, isps),
        browser,
        form,
        privateBrowsing: r.chance(SIZES.homePrivateBrowsing),
        devices: [device(browser, form)],
      };
      // A quarter also log in from a second device at home (a phone, or a laptop for phone-first people).
      if (r.chance(0.25)) person.devices.push(device(browser.deviceCategory === 'mobile' ? pickDesktopBrowser(r) : pickMobileBrowser(r), r.chance(0.3)));
      people.push(person);
    }
  }

  /** Someone who already has an account, made at home on their own device. */
  const existing = (r, n, label) => {
    const browser = r.chance(0.5) ? pickDesktopBrowser(r) : pickMobileBrowser(r);
    return { email: personalEmail(r, n), password: password(r), ip: residentialIp(r, isps), devices: [device(browser, r.chance(0.3))], label };
  };
  const officePeople = [];
  const officeNat = residentialIp(rng.fork('office-nat'), ispPrefixes(rng.fork('office-isp'), 1));
  {
    const r = rng.fork('office');
    for (let i = 0; i < SIZES.officePeople; i++) {
      const p = existing(r, 200_000 + i, 'office');
      p.devices = [device(pickDesktopBrowser(r), r.chance(0.3))]; // the work laptop, taken home
      officePeople.push(p);
    }
  }
  const travellers = [];
  {
    const r = rng.fork('travellers');
    for (let i = 0; i < SIZES.travellersWithDevice + SIZES.travellersWithoutDevice; i++) {
      const p = existing(r, 300_000 + i, 'travellers');
      p.withDevice = i < SIZES.travellersWithDevice;
      p.hotelIp = residentialIp(r, abroad);
      // Without their device: a hotel's computer or a borrowed phone, its own browser and an empty jar.
      if (!p.withDevice) p.borrowed = device(pickBrowser(r), r.chance(0.3));
      travellers.push(p);
    }
  }
  const stormers = [];
  {
    const r = rng.fork('typo-storm');
    for (let i = 0; i < SIZES.typoStormUsers; i++) stormers.push(existing(r, 400_000 + i, 'typo-storm'));
  }
  const owners = [];
  {
    const r = rng.fork('owners');
    for (let i = 0; i < SIZES.bruteAccounts; i++) owners.push(existing(r, 500_000 + i, 'owners-under-attack'));
  }

  function tally(m, res) {
    m.requests++;
    m[res.outcome === 'error' ? 'errors' : res.outcome]++;
    if (res.would === 'block' || res.would === 'redirect') m.wouldBlock++;
    if (res.would === 'challenge') m.wouldChallenge++;
  }

  function record(population, attackerId, res) {
    if (population === null) {
      setupStats.requests++;
      return;
    }
    const m = metrics[population];
    tally(m, res);
    if (attackerId !== undefined) {
      let a = m.attackers.get(attackerId);
      if (!a) {
        a = { attempts: 0, beforeFirstBlock: undefined, beforeFirstStop: undefined, failuresBeforeChallenge: undefined, failures: 0 };
        m.attackers.set(attackerId, a);
      }
      if (res.outcome === 'blocked' && a.beforeFirstBlock === undefined) a.beforeFirstBlock = a.attempts;
      if ((res.outcome === 'blocked' || res.outcome === 'challenged') && a.beforeFirstStop === undefined) a.beforeFirstStop = a.attempts;
      if ((res.outcome === 'blocked' || res.outcome === 'challenged') && a.failuresBeforeChallenge === undefined) a.failuresBeforeChallenge = a.failures;
      if (wrongPassword(res)) a.failures++;
      a.attempts++;
    }
  }

  /** One thing a person does: a challenge is solved (solveChallenge) and the request sent again. */
  async function human(client, population, path, body, options) {
    const tagged = { ...options, tag: population ?? 'setup' };
    let res = await client.post(path, body, tagged);
    record(population, undefined, res);
    if (res.outcome === 'challenged') {
      const again = await solveChallenge(body, res, tagged.headers);
      res = await client.post(path, again.body, { ...tagged, headers: again.headers });
      record(population, undefined, res);
    }
    return res;
  }
  // A browser posting a form signs in through the server-rendered /login (Passport); the others through the JSON API.
  const login = (client, population, person, pw, options) => human(client, population, loginPathFor(options.headers), { email: person.email, password: pw }, options);

  /** A sign-up: counted as refused when it never got its 201, challenge solved or not. */
  async function signUp(client, population, person, options) {
    const res = await human(client, population, '/api/register', { email: person.email, password: person.password }, options);
    if (population === null) {
      if (res.status !== 201) setupStats.refused++;
    } else {
      metrics[population].signups++;
      if (res.status !== 201) metrics[population].refusedAtSignup++;
    }
    return res.status === 201;
  }

  /** Typos before the right password in one session: 85% none, 10% one, 5% two. */
  const typosFor = (r, person, [none, one] = [0.85, 0.95]) => {
    const x = r.next();
    return Array.from({ length: x < none ? 0 : x < one ? 1 : 2 }, () => typo(r, person.password));
  };

  /** Logs in with the given typos first; true when the right password got its 200. */
  async function session(client, population, person, step, options) {
    if (step.reset) await human(client, population, '/api/password-reset', { email: person.email }, options);
    for (const wrong of step.typos) {
      await login(client, population, person, wrong, options);
      await sleep(step.think);
    }
    const res = await login(client, population, person, person.password, options);
    await sleep(step.think);
    return signedIn(res);
  }

  /** A person's run is over: locked out if no login ever got its 200; whether their browser kept Vigil's device cookie. */
  function done(population, everIn, jar) {
    if (!everIn) metrics[population].lockedOut++;
    if (jar?.has(DEVICE_COOKIE)) metrics[population].keptDeviceCookie++;
  }

  // Set-up: the existing users sign up and log in once, at home, on their own device
  // (real users have a history). Not counted in the scenarios' numbers.
  const setup = [];
  const setUp = (person) =>
    setup.push(async (client) => {
      const options = at(person.devices[0], person.ip, person.privateBrowsing ? createJar() : undefined);
      if (!(await signUp(client, null, person, options))) person.setupFailed = true;
      await login(client, null, person, person.password, options);
    });
  for (const person of people) setUp(person);
  if (wanted.has('office')) for (const person of officePeople) setUp(person);
  if (wanted.has('travellers')) for (const person of travellers) setUp(person);
  if (wanted.has('typo-storm')) for (const person of stormers) setUp(person);
  if (wanted.has('brute-force') || wanted.has('owners-under-attack')) for (const person of owners) setUp(person);

  const actors = [];

  if (wanted.has('home')) {
    const r = rng.fork('legit');
    for (const person of people) {
      const sessions = r.int(1, 3);
      const plan = Array.from({ length: sessions }, () => ({ typos: typosFor(r, person, [0.85, 0.97]), reset: r.chance(0.04), think: r.int(0, thinkMs * 4), device: person.devices[r.chance(0.35) ? person.devices.length - 1 : 0] }));
      actors.push(async (client) => {
        metrics.home.users++;
        let everIn = false;
        let jar;
        for (const step of plan) {
          // Private browsing: a fresh jar every session.
          const options = at(step.device, person.ip, person.privateBrowsing ? createJar() : step.device.jar);
          if (await session(client, 'home', person, step, options)) everIn = true;
          jar = options.jar;
        }
        done('home', everIn, jar);
      });
    }
    for (let i = 0; i < size('homeSignups'); i++) {
      const browser = pickBrowser(r);
      const person = { email: personalEmail(r, 100_000 + i), password: password(r), ip: residentialIp(r, isps), devices: [device(browser, r.chance(0.3))] };
      const think = r.int(0, thinkMs * 2);
      actors.push(async (client) => {
        metrics.home.users++;
        const options = at(person.devices[0], person.ip);
        if (!(await signUp(client, 'home', person, options))) return;
        await sleep(think);
        done('home', await session(client, 'home', person, { typos: [], think }, options), options.jar);
      });
    }
  }

  if (wanted.has('office')) {
    const r = rng.fork('office-run');
    for (const person of officePeople) {
      const plan = Array.from({ length: r.int(2, 4) }, () => ({ typos: typosFor(r, person), reset: r.chance(0.06), think: r.int(0, thinkMs * 4) }));
      actors.push(async (client) => {
        metrics.office.users++;
        let everIn = false;
        for (const step of plan) if (await session(client, 'office', person, step, at(person.devices[0], officeNat))) everIn = true;
        done('office', everIn, person.devices[0].jar);
      });
    }
  }

  if (wanted.has('carrier')) {
    const r = rng.fork('carrier');
    const prefix = ispPrefixes(r, 1);
    const ips = Array.from({ length: SIZES.carrierIps }, () => residentialIp(r, prefix));
    for (let i = 0; i < SIZES.carrierUsers; i++) {
      const person = { email: personalEmail(r, 600_000 + i), password: password(r), devices: [device(pickMobileBrowser(r), r.chance(0.2))] };
      const plan = Array.from({ length: r.int(1, 3) }, () => ({ typos: typosFor(r, person), think: r.int(0, thinkMs * 4) }));
      // CGNAT: each request leaves from any of the carrier's addresses (drawn up front, so the seed fixes them).
      const picks = Array.from({ length: 24 }, () => r.int(0, ips.length - 1));
      let k = 0;
      actors.push(async (client) => {
        const viaCarrier = { post: (path, body, o) => client.post(path, body, { ...at(person.devices[0], ips[picks[k++ % picks.length]]), tag: o.tag }) };
        metrics.carrier.users++;
        if (!(await signUp(viaCarrier, 'carrier', person, {}))) return;
        let everIn = false;
        for (const step of plan) if (await session(viaCarrier, 'carrier', person, step, {})) everIn = true;
        done('carrier', everIn, person.devices[0].jar);
      });
    }
  }

  if (wanted.has('travellers')) {
    const r = rng.fork('travellers-run');
    for (const person of travellers) {
      const population = person.withDevice ? 'travellers-with-device' : 'travellers-without-device';
      const plan = Array.from({ length: r.int(1, 2) }, () => ({ typos: typosFor(r, person, [0.9, 0.98]), think: r.int(0, thinkMs * 4) }));
      actors.push(async (client) => {
        metrics[population].users++;
        const options = person.withDevice ? at(person.devices[0], person.hotelIp) : at(person.borrowed, person.hotelIp);
        let everIn = false;
        for (const step of plan) if (await session(client, population, person, step, options)) everIn = true;
        done(population, everIn, options.jar);
      });
    }
  }

  if (wanted.has('typo-storm')) {
    const r = rng.fork('typo-storm-run');
    for (const person of stormers) {
      const wrong = Array.from({ length: r.int(4, 8) }, () => typo(r, person.password));
      const think = r.int(0, thinkMs * 2);
      actors.push(async (client) => {
        metrics['typo-storm'].users++;
        done('typo-storm', await session(client, 'typo-storm', person, { typos: wrong, think }, at(person.devices[0], person.ip)), person.devices[0].jar);
      });
    }
  }

  if (wanted.has('owners-under-attack')) {
    const r = rng.fork('owners-run');
    for (const person of owners) {
      // Three sessions spread over the run, as the brute force goes on.
      const plan = Array.from({ length: 3 }, () => ({ typos: typosFor(r, person), think: r.int(thinkMs * 20, thinkMs * 60) }));
      actors.push(async (client) => {
        metrics['owners-under-attack'].users++;
        let everIn = false;
        for (const step of plan) {
          await sleep(step.think);
          if (await session(client, 'owners-under-attack', person, step, at(person.devices[0], person.ip))) everIn = true;
        }
        done('owners-under-attack', everIn, person.devices[0].jar);
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

  /** One attacker request; attackers never solve a challenge. `jar` only for tools that keep cookies. */
  async function attack(client, scenario, attackerId, path, body, headers, ip, jar) {
    const res = await client.post(path, body, { headers, ip, jar, tag: scenario });
    record(scenario, attackerId, res);
    if ((path === '/api/login' || path === '/login') && signedIn(res)) metrics[scenario].takeovers++;
    if (path === '/api/register' && res.status === 201) metrics[scenario].accountsCreated++;
    return res;
  }

  if (wanted.has('stuffing-few-ips')) {
    const r = rng.fork('few');
    for (let i = 0; i < size('fewIps'); i++) {
      const ip = residentialIp(r, isps);
      // Well-built tool: a real browser's full header set, replayed; every other one
      // posts the server-rendered form (Passport's 302s) rather than the JSON API.
      const headers = browserHeaders(pickBrowser(r), { origin, form: i % 2 === 1 });
      const path = loginPathFor(headers);
      const creds = Array.from({ length: SIZES.fewIpsAttempts }, () => combo(r));
      actors.push(async (client) => {
        for (const c of creds) await attack(client, 'stuffing-few-ips', ip, path, { email: c.email, password: c.password }, headers, ip);
      });
    }
  }

  if (wanted.has('stuffing-rotating')) {
    const r = rng.fork('rotating');
    for (let i = 0; i < size('rotatingIps'); i++) {
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

  if (wanted.has('solver')) {
    // Rotating-address stuffing with a full browser header set that also solves every
    // challenge it gets, paying the proof of work's CPU for each (attackerSolving).
    const r = rng.fork('solver');
    for (let i = 0; i < size('solverIps'); i++) {
      const ip = residentialIp(r, isps);
      const headers = browserHeaders(pickBrowser(r), { origin, form: false });
      const creds = Array.from({ length: SIZES.solverAttemptsPerIp }, () => combo(r));
      actors.push(async (client) => {
        for (const c of creds) {
          const body = { email: c.email, password: c.password };
          const res = await attack(client, 'solver', ip, '/api/login', body, headers, ip);
          if (res.outcome === 'challenged') {
            const again = await solveChallenge(body, res, headers, attackerSolving);
            await attack(client, 'solver', ip, '/api/login', again.body, again.headers, ip);
          }
          await sleep(thinkMs);
        }
      });
    }
  }

  if (wanted.has('brute-force')) {
    const r = rng.fork('brute');
    // One target uses a guessable password: it sits in the wordlist.
    const wordlists = owners.map((t, i) => {
      const list = [...COMMON_PASSWORDS, ...Array.from({ length: 30 }, () => password(r))];
      if (i === 0) list.splice(25, 0, t.password);
      return list;
    });
    const next = owners.map(() => 0);
    for (let i = 0; i < size('bruteIps'); i++) {
      const ip = residentialIp(r, isps);
      // Half the addresses post the server-rendered form, half the JSON API.
      const headers = browserHeaders(pickBrowser(r), { origin, form: i % 2 === 1 });
      const path = loginPathFor(headers);
      const t = i % owners.length;
      const tries = r.int(1, 3);
      actors.push(async (client) => {
        for (let k = 0; k < tries; k++) {
          const list = wordlists[t];
          const guess = list[next[t]++ % list.length];
          const res = await attack(client, 'brute-force', `account:${t}`, path, { email: owners[t].email, password: guess }, headers, ip);
          if (signedIn(res)) return;
          await sleep(thinkMs);
        }
      });
    }
  }

  if (wanted.has('scripted')) {
    const r = rng.fork('scripted');
    for (let i = 0; i < size('scriptedIps'); i++) {
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
    for (let i = 0; i < size('headlessIps'); i++) {
      const ip = residentialIp(r, isps);
      const headers = { ...browserHeaders({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0', language: 'en-US' }, { origin, form: true }), 'user-agent': HEADLESS_UAS[i % HEADLESS_UAS.length] };
      // A headless browser keeps cookies for the life of its browser context (one per proxy here).
      const jar = createJar();
      actors.push(async (client) => {
        for (let k = 0; k < SIZES.headlessRequests; k++) {
          const c = combo(r);
          await attack(client, 'headless', ip, '/api/login', { email: c.email, password: c.password }, headers, ip, jar);
        }
      });
    }
  }

  if (wanted.has('fake-signups')) {
    const r = rng.fork('signups');
    for (let i = 0; i < size('fakeSignupIps'); i++) {
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

  if (wanted.has('spray')) {
    const r = rng.fork('spray');
    // Half the accounts exist here (the weak-password ones among them: the list is
    // scraped, and weak passwords are what a spray finds), half do not.
    const half = Math.ceil(size('sprayAccounts') / 2);
    const weak = people.filter((p) => SPRAY_PASSWORDS.includes(p.password));
    const others = people.filter((p) => !weak.includes(p));
    const accounts = [...weak.slice(0, half)];
    while (accounts.length < half && others.length) accounts.push(others.splice(r.int(0, others.length - 1), 1)[0]);
    const emails = [...accounts.map((p) => p.email), ...Array.from({ length: size('sprayAccounts') - half }, () => personalEmail(r, r.int(1, 1e6)))];
    // Residential proxies; each runs a templated tool or replays a browser's headers.
    const proxies = Array.from({ length: size('sprayIps') }, () => {
      const browser = pickBrowser(r);
      return { ip: residentialIp(r, isps), headers: r.chance(0.5) ? templatedHeaders(browser, { origin }) : browserHeaders(browser, { origin, form: false }) };
    });
    // One password across every account, then the next: under any per-account failure limit.
    const attempts = SPRAY_PASSWORDS.flatMap((pw) => emails.map((email) => ({ email, password: pw })));
    const chunk = 10;
    for (let start = 0; start < attempts.length; start += chunk) {
      const slice = attempts.slice(start, start + chunk);
      actors.push(async (client) => {
        for (let k = 0; k < slice.length; k++) {
          const proxy = proxies[(start + k) % proxies.length];
          await attack(client, 'spray', proxy.ip, '/api/login', slice[k], proxy.headers, proxy.ip);
          await sleep(thinkMs);
        }
      });
    }
  }

  if (wanted.has('one-jar')) {
    const r = rng.fork('one-jar');
    // One tool, one cookie jar (it keeps vigil_did like a browser), one replayed header set, many proxies.
    const jar = createJar();
    const headers = browserHeaders(pickDesktopBrowser(r), { origin, form: false });
    const ips = Array.from({ length: SIZES.oneJarIps }, () => residentialIp(r, isps));
    const creds = Array.from({ length: SIZES.oneJarAccounts }, () => combo(r));
    const threads = 4;
    for (let t = 0; t < threads; t++) {
      actors.push(async (client) => {
        for (let k = t; k < creds.length; k += threads) {
          await attack(client, 'one-jar', 'jar', '/api/login', { email: creds[k].email, password: creds[k].password }, headers, ips[k % ips.length], jar);
          await sleep(thinkMs);
        }
      });
    }
  }

  if (wanted.has('dilution')) {
    const r = rng.fork('dilution');
    const browser = pickDesktopBrowser(r);
    const own = Array.from({ length: SIZES.dilutionOwnAccounts }, (_, i) => ({ email: personalEmail(r, 700_000 + i), password: password(r), ip: residentialIp(r, isps), devices: [device(browser, false)] }));
    // Set-up: the attacker registers its own accounts from its own addresses (a CAPTCHA
    // farm would solve the odd challenge for five sign-ups: `human` here, not `attack`).
    for (const account of own) setup.push((client) => signUp(client, null, account, { headers: headersOf(account.devices[0]), ip: account.ip }));
    const headers = browserHeaders(browser, { origin, form: false });
    for (let i = 0; i < SIZES.dilutionAttempts; i++) {
      const cover = [r.pick(own), r.pick(own)].map((a) => ({ account: a, ip: residentialIp(r, isps) }));
      const c = combo(r);
      const ip = residentialIp(r, isps);
      actors.push(async (client) => {
        const m = metrics.dilution;
        for (const { account, ip: coverIp } of cover) {
          const res = await client.post('/api/login', { email: account.email, password: account.password }, { headers, ip: coverIp, tag: 'dilution-cover' });
          m.cover.requests++;
          m.cover[res.outcome === 'error' ? 'errors' : res.outcome]++;
          if (signedIn(res)) m.cover.succeeded++;
          await sleep(thinkMs);
        }
        await attack(client, 'dilution', 'dilution', '/api/login', { email: c.email, password: c.password }, headers, ip);
      });
    }
  }

  if (wanted.has('alias-signups')) {
    const r = rng.fork('aliases');
    const emails = ['j.o.hn.doe+7@gmail.com', 'johndoe@googlemail.com', 'JohnDoe+x@gmail.com'];
    for (const e of gmailAliases(r, SIZES.aliasSignups * 2)) if (emails.length < SIZES.aliasSignups && !emails.some((x) => x.toLowerCase() === e.toLowerCase())) emails.push(e);
    const attempts = emails.map((email) => ({ email, ip: residentialIp(r, isps), headers: browserHeaders(pickBrowser(r), { origin, form: false }), password: password(r) }));
    for (let start = 0; start < attempts.length; start += 6) {
      const slice = attempts.slice(start, start + 6);
      actors.push(async (client) => {
        for (const a of slice) {
          await attack(client, 'alias-signups', 'johndoe@gmail.com', '/api/register', { email: a.email, password: a.password }, a.headers, a.ip);
          await sleep(thinkMs);
        }
      });
    }
  }

  if (wanted.has('reset-flood')) {
    const r = rng.fork('reset-flood');
    const emails = Array.from({ length: SIZES.resetEmails }, (_, i) => (i % 2 === 0 ? r.pick(people).email : personalEmail(r, r.int(1, 1e6))));
    const unique = [...new Set(emails)];
    while (unique.length < SIZES.resetEmails) unique.push(personalEmail(r, 800_000 + unique.length));
    for (let i = 0; i < SIZES.resetIps; i++) {
      const ip = residentialIp(r, isps);
      const headers = browserHeaders(pickBrowser(r), { origin, form: false });
      const mine = unique.filter((_, k) => k % SIZES.resetIps === i);
      actors.push(async (client) => {
        for (const email of mine) {
          await attack(client, 'reset-flood', ip, '/api/password-reset', { email }, headers, ip);
          await sleep(thinkMs);
        }
      });
    }
  }

  if (wanted.has('ipv6-range')) {
    const r = rng.fork('ipv6-range');
    const prefix = ipv6Prefix48(r);
    const headers = browserHeaders(pickDesktopBrowser(r), { origin, form: false });
    const attempts = Array.from({ length: SIZES.ipv6Attempts }, () => ({ ...combo(r), ip: ipv6InPrefix(r, prefix) }));
    for (let start = 0; start < attempts.length; start += 15) {
      const slice = attempts.slice(start, start + 15);
      actors.push(async (client) => {
        for (const a of slice) {
          await attack(client, 'ipv6-range', `${prefix}::/48`, '/api/login', { email: a.email, password: a.password }, headers, a.ip);
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
  return { setup, actors, metrics, setupStats, people, populations: { office: officePeople, officeNat, travellers, stormers, owners } };
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
