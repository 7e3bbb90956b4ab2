/** Median of a list of numbers (undefined for an empty list). */
function median(values) {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const pct = (x, total) => (total === 0 ? '–' : `${((100 * x) / total).toFixed(1)}%`);

/** Per-scenario summary numbers from the raw metrics. */
export function summarize(metrics) {
  const out = {};
  for (const [name, m] of Object.entries(metrics)) {
    if (m.requests === 0) continue;
    const attackers = [...m.attackers.values()];
    const firsts = attackers.map((a) => a.beforeFirstBlock ?? a.attempts);
    const stops = attackers.map((a) => a.beforeFirstStop ?? a.attempts);
    const failures = attackers.map((a) => a.failuresBeforeChallenge ?? a.failures);
    out[name] = {
      requests: m.requests,
      allowed: m.allowed,
      challenged: m.challenged,
      blocked: m.blocked,
      errors: m.errors,
      wouldBlock: m.wouldBlock,
      wouldChallenge: m.wouldChallenge,
      stoppedShare: (m.challenged + m.blocked) / m.requests,
      blockedShare: m.blocked / m.requests,
      attackers: attackers.length,
      beforeFirstBlockMedian: median(firsts),
      beforeFirstBlockMax: firsts.length ? Math.max(...firsts) : undefined,
      beforeFirstStopMedian: median(stops),
      beforeFirstStopMax: stops.length ? Math.max(...stops) : undefined,
      failuresBeforeChallengeMax: failures.length ? Math.max(...failures) : undefined,
      takeovers: m.takeovers,
      accountsCreated: m.accountsCreated,
      legitUsers: m.legitUsers,
      legitUnable: m.legitUnable,
    };
  }
  return out;
}

/** A Markdown table of one run. */
export function table(summary, title) {
  const lines = [
    `### ${title}`,
    '',
    '| scenario | requests | allowed | challenged | blocked | would block / challenge | attempts before first block (median / max per attacker) | before first block or challenge | account takeovers | fake accounts created | legit users unable to log in |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const [name, s] of Object.entries(summary)) {
    const before = s.attackers ? `${s.beforeFirstBlockMedian} / ${s.beforeFirstBlockMax}` : '–';
    const stop = s.attackers ? `${s.beforeFirstStopMedian} / ${s.beforeFirstStopMax}` : '–';
    lines.push(
      `| ${name} | ${s.requests} | ${s.allowed} (${pct(s.allowed, s.requests)}) | ${s.challenged} (${pct(s.challenged, s.requests)}) | ${s.blocked} (${pct(s.blocked, s.requests)}) | ${s.wouldBlock} / ${s.wouldChallenge} | ${before} | ${stop} | ${s.takeovers || 0} | ${name === 'fake-signups' || name === 'scripted' ? s.accountsCreated : '–'} | ${name === 'legit' ? `${s.legitUnable} of ${s.legitUsers}` : '–'} |`,
    );
  }
  return lines.join('\n');
}

/**
 * The issue's targets, checked against a blocking-mode run (and the monitoring run for
 * the takeover reduction). Returns one line per target with ✅ / ❌.
 */
export function checkTargets(blocking, monitoring) {
  const lines = [];
  const check = (ok, text) => lines.push(`${ok ? '✅' : '❌'} ${text}`);
  const scripted = ['scripted', 'headless'].filter((k) => blocking[k]);
  if (scripted.length) {
    const req = scripted.reduce((a, k) => a + blocking[k].requests, 0);
    const blk = scripted.reduce((a, k) => a + blocking[k].blocked, 0);
    check(blk / req >= 0.99, `scripted, headless and UA-less requests blocked: ${pct(blk, req)} (target ≥ 99%)`);
  }
  const few = blocking['stuffing-few-ips'];
  if (few) {
    check(few.beforeFirstBlockMax <= 10, `stuffing from a few IPs: at most ${few.beforeFirstBlockMax} attempts per IP before its first block (target ≤ 10)`);
    check(few.blockedShare >= 0.95, `stuffing from a few IPs: ${pct(few.blocked, few.requests)} blocked (target ≥ 95%)`);
  }
  const rot = blocking['stuffing-rotating'];
  if (rot) check(rot.stoppedShare >= 0.8, `rotating-IP stuffing: ${pct(rot.blocked + rot.challenged, rot.requests)} blocked or challenged (target ≥ 80%)`);
  const brute = blocking['brute-force'];
  if (brute) check(brute.failuresBeforeChallengeMax <= 10, `brute force: challenged after at most ${brute.failuresBeforeChallengeMax} failures per account (target ≤ 10)`);
  const legit = blocking.legit;
  if (legit) {
    const fp = legit.blocked + legit.challenged;
    check(fp / legit.requests <= 0.005, `legit requests blocked or challenged: ${fp} of ${legit.requests} (${pct(fp, legit.requests)}; target ≤ 0.5%)`);
    check(legit.legitUnable === 0, `legit users unable to log in: ${legit.legitUnable} (target 0)`);
  }
  if (monitoring) {
    const ato = (s) => Object.values(s).reduce((a, x) => a + (x.takeovers || 0), 0);
    const before = ato(monitoring);
    const after = ato(blocking);
    const reduction = before === 0 ? 1 : 1 - after / before;
    check(reduction >= 0.9, `account takeovers: ${before} in monitoring → ${after} in blocking (${(reduction * 100).toFixed(0)}% fewer; target ≥ 90%)`);
  }
  return lines;
}
