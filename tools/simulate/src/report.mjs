import { attackerSolving, solving } from './scenarios.mjs';

/** Median of a list of numbers (undefined for an empty list). */
function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export const pct = (x, total) => (total === 0 ? '–' : `${((100 * x) / total).toFixed(1)}%`);
const sum = (list, key) => list.reduce((a, x) => a + (x[key] ?? 0), 0);

/** The issue's thresholds, one place for checkTargets and the demo's verdicts. */
export const TARGETS = Object.freeze({
  friction: 0.01,
  /** Issue 15: challenges real people passed, share of all their requests. */
  solvedFriction: 0.02,
  scriptedStopped: 0.99,
  fewIpsAttemptsPerAddress: 10,
  rotatingStopped: 0.8,
  bruteFailuresPerAccount: 10,
  aliasAccountsPerMailbox: 3,
  dilutionAllowed: 0.1,
  resetStopped: 0.8,
  ipv6RangeStopped: 0.8,
  oneJarStopped: 0.9,
  takeoversVsMonitoring: 0.1,
});

/**
 * Whether one attack row meets its own target (undefined: it has none of its own, e.g.
 * spray, whose takeovers count in the site-wide takeover target).
 */
export function attackMeetsTarget(name, s) {
  switch (name) {
    case 'scripted':
    case 'headless':
      return s.stoppedShare >= TARGETS.scriptedStopped;
    case 'stuffing-few-ips':
      return s.beforeFirstStopMax <= TARGETS.fewIpsAttemptsPerAddress;
    case 'stuffing-rotating':
      return s.stoppedShare >= TARGETS.rotatingStopped;
    case 'brute-force':
      return s.failuresBeforeChallengeMax <= TARGETS.bruteFailuresPerAccount;
    case 'alias-signups':
      return s.accountsCreated <= TARGETS.aliasAccountsPerMailbox;
    case 'dilution':
      return s.allowed / s.requests <= TARGETS.dilutionAllowed;
    case 'reset-flood':
      return s.stoppedShare >= TARGETS.resetStopped;
    case 'ipv6-range':
      return s.stoppedShare >= TARGETS.ipv6RangeStopped;
    case 'one-jar':
      return s.stoppedShare >= TARGETS.oneJarStopped;
    case 'fake-signups':
      return s.accountsCreated === 0;
    default:
      return undefined;
  }
}

/** Whether one population of real people was treated as the targets say. */
export function peopleMeetTarget(name, s) {
  if (s.lockedOut || s.refusedAtSignup || s.blocked) return false;
  return name === MAY_BE_CHALLENGED || s.friction <= TARGETS.friction;
}

/** The population whose people may be challenged (never blocked, never locked out): a new device on a new network. */
export const MAY_BE_CHALLENGED = 'travellers-without-device';

/** Human-readable row names. */
export const LABELS = {
  home: 'home',
  office: 'office (one NAT)',
  carrier: 'mobile carrier (CGNAT)',
  'travellers-with-device': 'travellers with their device',
  'travellers-without-device': 'travellers without their device',
  'typo-storm': 'typo storm',
  'owners-under-attack': 'owners under brute force',
};

/**
 * Per-population summary numbers from the raw metrics (`buildSimulation().metrics`).
 * Rows of `kind: 'people'` carry users, friction (challenged / requests), refusals at
 * sign-up and lock-outs; rows of `kind: 'attack'` what got through.
 */
export function summarize(metrics) {
  const out = {};
  for (const [name, m] of Object.entries(metrics)) {
    if (m.requests === 0 && !m.users) continue;
    const base = {
      kind: m.kind,
      requests: m.requests,
      allowed: m.allowed,
      challenged: m.challenged,
      blocked: m.blocked,
      errors: m.errors,
      wouldBlock: m.wouldBlock,
      wouldChallenge: m.wouldChallenge,
      stoppedShare: m.requests ? (m.challenged + m.blocked) / m.requests : 0,
      blockedShare: m.requests ? m.blocked / m.requests : 0,
    };
    if (m.kind === 'people') {
      out[name] = { ...base, users: m.users, signups: m.signups, refusedAtSignup: m.refusedAtSignup, lockedOut: m.lockedOut, keptDeviceCookie: m.keptDeviceCookie ?? 0, friction: m.requests ? m.challenged / m.requests : 0 };
      continue;
    }
    const attackers = [...m.attackers.values()];
    const firsts = attackers.map((a) => a.beforeFirstBlock ?? a.attempts);
    const stops = attackers.map((a) => a.beforeFirstStop ?? a.attempts);
    const failures = attackers.map((a) => a.failuresBeforeChallenge ?? a.failures);
    out[name] = {
      ...base,
      attackers: attackers.length,
      beforeFirstBlockMedian: median(firsts),
      beforeFirstBlockMax: firsts.length ? Math.max(...firsts) : undefined,
      beforeFirstStopMedian: median(stops),
      beforeFirstStopMax: stops.length ? Math.max(...stops) : undefined,
      failuresBeforeChallengeMax: failures.length ? Math.max(...failures) : undefined,
      takeovers: m.takeovers,
      accountsCreated: m.accountsCreated,
      ...(m.cover ? { cover: { ...m.cover } } : {}),
    };
  }
  return out;
}

const people = (summary) => Object.entries(summary).filter(([, s]) => s.kind === 'people');
const attacks = (summary) => Object.entries(summary).filter(([, s]) => s.kind === 'attack');

/** What got through, in words, for an attack row. */
export function gotThrough(name, s) {
  const parts = [];
  if (name === 'dilution') parts.push(`${s.allowed} of ${s.requests} stuffing attempts allowed (+ ${s.cover?.succeeded ?? 0} of ${s.cover?.requests ?? 0} logins to its own accounts)`);
  else if (name === 'reset-flood') parts.push(`${s.allowed} of ${s.requests} reset requests let through`);
  else parts.push(`${s.allowed} of ${s.requests} allowed`);
  if (s.takeovers) parts.push(`${s.takeovers} account takeover${s.takeovers === 1 ? '' : 's'}`);
  if (s.accountsCreated) parts.push(`${s.accountsCreated} account${s.accountsCreated === 1 ? '' : 's'} created`);
  return parts.join(', ');
}

/** Two Markdown tables of one run: real people per population, then each attack. */
export function table(summary, title, { setup } = {}) {
  const lines = [`### ${title}`, ''];
  const rows = people(summary);
  if (rows.length) {
    lines.push(
      '| real people | users | requests | friction (challenged) | blocked requests | refused at sign-up | locked out | would block / challenge | kept vigil_did |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const [name, s] of rows) {
      lines.push(`| ${LABELS[name] ?? name} | ${s.users} | ${s.requests} | ${s.challenged} (${pct(s.challenged, s.requests)}) | ${s.blocked} | ${s.refusedAtSignup} of ${s.signups} | ${s.lockedOut} | ${s.wouldBlock} / ${s.wouldChallenge} | ${s.keptDeviceCookie} |`);
    }
    const all = rows.map(([, s]) => s);
    lines.push(`| **all real people** | ${sum(all, 'users')} | ${sum(all, 'requests')} | ${sum(all, 'challenged')} (${pct(sum(all, 'challenged'), sum(all, 'requests'))}) | ${sum(all, 'blocked')} | ${sum(all, 'refusedAtSignup')} of ${sum(all, 'signups')} | ${sum(all, 'lockedOut')} | ${sum(all, 'wouldBlock')} / ${sum(all, 'wouldChallenge')} | ${sum(all, 'keptDeviceCookie')} |`, '');
  }
  const hits = attacks(summary);
  if (hits.length) {
    lines.push(
      '| attack | attempts | allowed | challenged | blocked | would block / challenge | attempts before first block (median / max per attacker) | before first block or challenge | takeovers | accounts created | what got through |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const [name, s] of hits) {
      const before = s.attackers ? `${s.beforeFirstBlockMedian} / ${s.beforeFirstBlockMax}` : '–';
      const stop = s.attackers ? `${s.beforeFirstStopMedian} / ${s.beforeFirstStopMax}` : '–';
      const created = ['fake-signups', 'scripted', 'alias-signups'].includes(name) ? s.accountsCreated : '–';
      lines.push(`| ${name} | ${s.requests} | ${s.allowed} (${pct(s.allowed, s.requests)}) | ${s.challenged} (${pct(s.challenged, s.requests)}) | ${s.blocked} (${pct(s.blocked, s.requests)}) | ${s.wouldBlock} / ${s.wouldChallenge} | ${before} | ${stop} | ${s.takeovers || 0} | ${created} | ${gotThrough(name, s)} |`);
    }
    lines.push('');
  }
  if (setup?.refused) lines.push(`(set-up: ${setup.refused} existing users could not sign up before the run; they count as locked out)`, '');
  return lines.join('\n').trimEnd();
}

/**
 * The issue's targets, checked against a blocking-mode run (and the monitoring run for
 * the takeover reduction and the would-action agreement). One line per target, ✅ / ❌;
 * lines starting with ℹ️ are reported, not targets.
 */
export function checkTargets(blocking, monitoring) {
  const lines = [];
  const check = (ok, text) => lines.push(`${ok ? '✅' : '❌'} ${text}`);
  const info = (text) => lines.push(`ℹ️ ${text}`);
  const rows = people(blocking);
  if (rows.length) {
    const hurt = rows.filter(([, s]) => s.lockedOut || s.refusedAtSignup);
    const total = rows.reduce((a, [, s]) => a + s.lockedOut + s.refusedAtSignup, 0);
    check(total === 0, `real people locked out or refused at sign-up: ${total} of ${rows.reduce((a, [, s]) => a + s.users, 0)}${hurt.length ? ` (${hurt.map(([n, s]) => `${n} ${s.lockedOut} locked out, ${s.refusedAtSignup} refused`).join('; ')})` : ''} (target 0)`);
    const blockedRows = rows.filter(([, s]) => s.blocked);
    const blockedTotal = rows.reduce((a, [, s]) => a + s.blocked, 0);
    check(blockedTotal === 0, `real people's requests blocked: ${blockedTotal}${blockedRows.length ? ` (${blockedRows.map(([n, s]) => `${n} ${s.blocked}`).join(', ')})` : ''} (target 0)`);
    const counted = rows.filter(([n]) => n !== MAY_BE_CHALLENGED);
    if (counted.length) {
      const ch = counted.reduce((a, [, s]) => a + s.challenged, 0);
      const req = counted.reduce((a, [, s]) => a + s.requests, 0);
      const per = counted.map(([n, s]) => `${n} ${pct(s.challenged, s.requests)}${s.friction > TARGETS.friction ? ' ⚠' : ''}`).join(', ');
      check(req > 0 && ch / req <= TARGETS.friction, `real-user friction: ${ch} of ${req} requests challenged (${pct(ch, req)}; target ≤ 1%) — ${per}`);
    }
    // Issue 15: every challenge a person met was the built-in one, solved as a browser does.
    const allRequests = rows.reduce((a, [, s]) => a + s.requests, 0);
    const allChallenged = rows.reduce((a, [, s]) => a + s.challenged, 0);
    const shut = rows.reduce((a, [, s]) => a + s.lockedOut + s.blocked, 0);
    check(allRequests > 0 && allChallenged / allRequests <= TARGETS.solvedFriction && shut === 0, `real people's friction is only challenges they passed: ${allChallenged} of ${allRequests} requests challenged (${pct(allChallenged, allRequests)}; target ≤ 2%), ${shut} blocked or locked out (target 0)`);
    if (solving.challenges > 0) info(`people solved ${solving.challenges} proof-of-work challenges: ${(solving.attempts / solving.challenges).toFixed(0)} attempts and ${(solving.ms / solving.challenges).toFixed(0)} ms each on average (wall clock, in Node, on one core shared with the app and the other clients)`);
    const t = blocking[MAY_BE_CHALLENGED];
    if (t) check(t.blocked === 0 && t.lockedOut === 0, `travellers without their device (new device, new network): ${t.blocked} requests blocked, ${t.lockedOut} of ${t.users} locked out (target 0 and 0; challenged ${pct(t.challenged, t.requests)}, allowed)`);
  }

  const scripted = ['scripted', 'headless'].filter((k) => blocking[k]);
  if (scripted.length) {
    const req = scripted.reduce((a, k) => a + blocking[k].requests, 0);
    const stop = scripted.reduce((a, k) => a + blocking[k].blocked + blocking[k].challenged, 0);
    check(stop / req >= TARGETS.scriptedStopped, `scripted, headless and UA-less requests stopped: ${pct(stop, req)} (target ≥ 99%)`);
  }
  const few = blocking['stuffing-few-ips'];
  if (few) check(attackMeetsTarget('stuffing-few-ips', few), `stuffing from a few addresses: at most ${few.beforeFirstStopMax} attempts per address before it was first challenged or blocked (target ≤ 10)`);
  const rot = blocking['stuffing-rotating'];
  if (rot) check(attackMeetsTarget('stuffing-rotating', rot), `rotating-address stuffing: ${pct(rot.blocked + rot.challenged, rot.requests)} stopped (target ≥ 80%)`);
  const brute = blocking['brute-force'];
  if (brute) check(attackMeetsTarget('brute-force', brute), `brute force: challenged after at most ${brute.failuresBeforeChallengeMax} failures per account (target ≤ 10)`);
  const alias = blocking['alias-signups'];
  if (alias) check(attackMeetsTarget('alias-signups', alias), `mailbox aliases: ${alias.accountsCreated} accounts created for one Gmail mailbox out of ${alias.requests} sign-ups (target ≤ 3)`);
  const dil = blocking.dilution;
  if (dil) check(attackMeetsTarget('dilution', dil), `dilution: ${dil.allowed} of ${dil.requests} stuffing attempts allowed (${pct(dil.allowed, dil.requests)}; target ≤ 10%), ${dil.cover?.succeeded ?? 0} of ${dil.cover?.requests ?? 0} logins to its own accounts succeeded`);
  const reset = blocking['reset-flood'];
  if (reset) check(attackMeetsTarget('reset-flood', reset), `reset flood: ${reset.allowed} of ${reset.requests} reset requests let through (${pct(reset.challenged + reset.blocked, reset.requests)} stopped; target ≥ 80%)`);
  const v6 = blocking['ipv6-range'];
  if (v6) check(attackMeetsTarget('ipv6-range', v6), `stuffing inside one IPv6 /48: ${pct(v6.challenged + v6.blocked, v6.requests)} stopped (target ≥ 80%)`);
  const jar = blocking['one-jar'];
  if (jar) check(attackMeetsTarget('one-jar', jar), `one cookie jar, 25 addresses: ${pct(jar.challenged + jar.blocked, jar.requests)} stopped (target ≥ 90%)`);
  const fake = blocking['fake-signups'];
  if (fake) check(attackMeetsTarget('fake-signups', fake), `disposable-address sign-ups: ${fake.accountsCreated} of ${fake.requests} created (target 0)`);
  const spray = blocking.spray;
  const solver = blocking.solver;
  if (solver && attackerSolving.challenges > 0) {
    const per = attackerSolving.ms / attackerSolving.challenges;
    info(`solver (stuffing that solves every challenge): ${attackerSolving.challenges} challenges solved, ${(attackerSolving.attempts / attackerSolving.challenges).toFixed(0)} attempts and ${per.toFixed(0)} ms each (wall clock on this shared machine; CPU per level: node bench/challenge.mjs), ${solver.takeovers} takeovers: it gets through only by paying for every login it tries`);
  }
  if (spray) info(`password spray: ${pct(spray.challenged + spray.blocked, spray.requests)} stopped, ${spray.takeovers} takeovers (no target of its own; counted in the takeovers)`);

  if (monitoring) {
    // Attackers that do not solve challenges: the solver pays its way through, and its
    // takeovers are reported on its own line.
    const ato = (s) => attacks(s).filter(([name]) => name !== 'solver').reduce((a, [, x]) => a + (x.takeovers || 0), 0);
    const before = ato(monitoring);
    const after = ato(blocking);
    if (before > 0 || after > 0) check(after <= TARGETS.takeoversVsMonitoring * before, `account takeovers by attackers that do not solve challenges: ${before} in monitoring → ${after} in blocking (target ≤ 10% of monitoring's, ≤ ${Math.floor(TARGETS.takeoversVsMonitoring * before)})`);
    const { scripted: agreeScripted, disagreements } = agreement(blocking, monitoring);
    if (agreeScripted) check(agreeScripted.ok, `monitoring agrees with blocking on scripted clients: would stop ${agreeScripted.would} of ${agreeScripted.monitoringRequests}, stopped ${agreeScripted.did} of ${agreeScripted.blockingRequests}`);
    info(`monitoring's would-action vs blocking's action (would block+challenge in monitoring → blocked+challenged in blocking, share of requests): ${disagreements.length ? disagreements.join('; ') : 'every scenario within 5 points'}`);
  }
  return lines;
}

/**
 * Per scenario, monitoring's wouldBlock + wouldChallenge against blocking's blocked +
 * challenged. They cannot be equal (blocking changes the traffic: a stopped attacker
 * sends no follow-up, a person resubmits a challenge), so scenarios more than 5 points
 * apart are listed; only scripted clients (whose requests do not depend on answers)
 * must agree exactly.
 */
export function agreement(blocking, monitoring) {
  const disagreements = [];
  let scripted;
  for (const [name, b] of Object.entries(blocking)) {
    const m = monitoring[name];
    if (!m) continue;
    const would = m.wouldBlock + m.wouldChallenge;
    const did = b.blocked + b.challenged;
    const wShare = m.requests ? would / m.requests : 0;
    const dShare = b.requests ? did / b.requests : 0;
    if (name === 'scripted') scripted = { ok: would === did && m.requests === b.requests, would, did, monitoringRequests: m.requests, blockingRequests: b.requests };
    if (Math.abs(wShare - dShare) > 0.05) disagreements.push(`${name} ${pct(would, m.requests)} → ${pct(did, b.requests)}`);
  }
  return { scripted, disagreements };
}

/**
 * One row per attack run on its own (simulateEach): what got through in blocking mode,
 * the takeovers in monitoring → blocking, what the people next to it went through, and
 * the attack's own target.
 */
export function eachTable(results, title) {
  const lines = [
    `### ${title}`,
    '',
    '| attack, on its own | attempts | allowed | stopped | takeovers (monitoring → blocking) | accounts created | people locked out / refused at sign-up | people friction | people blocked | target |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|:---:|',
  ];
  for (const [name, runs] of Object.entries(results)) {
    const b = runs.blocking?.summary ?? {};
    const m = runs.monitoring?.summary;
    const s = b[name];
    if (!s) continue;
    const folks = people(b).filter(([n]) => n !== MAY_BE_CHALLENGED).map(([, x]) => x);
    const ok = attackMeetsTarget(name, s);
    const through = name === 'dilution' ? `${s.allowed} (+ ${s.cover?.succeeded ?? 0} own-account logins)` : `${s.allowed}`;
    lines.push(
      `| ${name} | ${s.requests} | ${through} | ${pct(s.challenged + s.blocked, s.requests)} | ${m?.[name] ? `${m[name].takeovers} → ` : ''}${s.takeovers} | ${s.accountsCreated} | ${sum(folks, 'lockedOut')} / ${sum(folks, 'refusedAtSignup')} | ${pct(sum(folks, 'challenged'), sum(folks, 'requests'))} | ${sum(folks, 'blocked')} | ${ok === undefined ? '–' : ok ? '✅' : '❌'} |`,
    );
  }
  return lines.join('\n');
}
