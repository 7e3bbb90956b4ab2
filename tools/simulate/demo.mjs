#!/usr/bin/env node
// `pnpm demo`: the three example apps, one after the other, each in blocking mode, each
// facing the same seeded mix of real people and attacks. Per framework: real people by
// kind (did they get in, how often were they challenged) next to each attack (what got
// through). Needs the packages built (`pnpm build`); builds the NestJS example if needed.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attackMeetsTarget, checkTargets, LABELS, peopleMeetTarget, pct } from './src/report.mjs';
import { simulate, startServer } from './src/run.mjs';
import { attackerSolving, SCENARIOS, solving } from './src/scenarios.mjs';

const APPS = ['express', 'fastify', 'nestjs'];
const SEED = 1;
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The same traffic as `pnpm simulate --serve --seed 1` sends in blocking mode (about 10 s per framework).
const OPTIONS = { seed: SEED, scenarios: SCENARIOS, scale: 1, concurrency: 16, thinkMs: 5 };

/** Terminal cells a string takes (✅ and ❌ take two). */
const width = (s) => [...String(s)].reduce((n, ch) => n + (ch === '✅' || ch === '❌' ? 2 : 1), 0);

/** Plain-text table, columns padded; `right[i]`: right-align column i. */
function textTable(header, rows, right) {
  const widths = header.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i]))));
  const line = (cells) =>
    cells
      .map((c, i) => {
        const pad = ' '.repeat(widths[i] - width(c));
        return right[i] ? pad + c : c + pad;
      })
      .join('  ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)];
}

/** Two blocks of lines next to each other when the terminal is wide enough, else one under the other. */
function sideBySide(left, right, gap = 4) {
  const leftWidth = Math.max(...left.map(width));
  const columns = process.stdout.columns ?? (Number(process.env.COLUMNS) || 0);
  if (leftWidth + gap + Math.max(...right.map(width)) > columns) return [...left, '', ...right];
  return Array.from({ length: Math.max(left.length, right.length) }, (_, i) => {
    const l = left[i] ?? '';
    return `${l}${' '.repeat(leftWidth - width(l) + gap)}${right[i] ?? ''}`.trimEnd();
  });
}

const mark = (ok) => (ok === undefined ? '  ' : ok ? '✅' : '❌');

function demoTables(app, run) {
  const people = Object.entries(run.summary).filter(([, s]) => s.kind === 'people');
  const attacks = Object.entries(run.summary).filter(([, s]) => s.kind === 'attack');
  const left = [
    'REAL PEOPLE',
    ...textTable(
      ['', 'kind', 'people', 'requests', 'challenged', 'blocked', 'refused sign-up', 'locked out'],
      people.map(([name, s]) => [mark(peopleMeetTarget(name, s)), LABELS[name] ?? name, s.users, s.requests, pct(s.challenged, s.requests), s.blocked, s.refusedAtSignup, s.lockedOut]),
      [false, false, true, true, true, true, true, true],
    ),
  ];
  const right = [
    'ATTACKS',
    ...textTable(
      ['', 'attack', 'attempts', 'stopped', 'got through'],
      attacks.map(([name, s]) => {
        const through = name === 'dilution' ? `${s.allowed} stuffing attempts` : name === 'reset-flood' ? `${s.allowed} resets` : `${s.allowed}`;
        const harm = [s.takeovers ? `${s.takeovers} takeover${s.takeovers === 1 ? '' : 's'}` : '', s.accountsCreated ? `${s.accountsCreated} accounts` : ''].filter(Boolean).join(', ');
        return [mark(attackMeetsTarget(name, s)), name, s.requests, pct(s.challenged + s.blocked, s.requests), harm ? `${through} (${harm})` : through];
      }),
      [false, false, true, true, false],
    ),
  ];
  const title = `${app} — blocking mode, seed ${SEED}, ${run.seconds.toFixed(1)} s`;
  return [title, '═'.repeat(title.length), ...sideBySide(left, right)].join('\n');
}

/** The NestJS example runs from its compiled dist/: build it when missing or older than its sources. */
function ensureNestBuilt() {
  const dir = join(ROOT, 'examples', 'nestjs');
  const main = join(dir, 'dist', 'main.js');
  const newest = Math.max(...readdirSync(join(dir, 'src')).map((f) => statSync(join(dir, 'src', f)).mtimeMs));
  if (existsSync(main) && statSync(main).mtimeMs >= newest) return;
  console.error('Building the NestJS example (pnpm --filter @vigil/example-nestjs build)…');
  const r = spawnSync('pnpm', ['--filter', '@vigil/example-nestjs', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('the NestJS example did not build');
}

const started = Date.now();
let failed = false;
for (const app of APPS) {
  let server;
  try {
    if (app === 'nestjs') ensureNestBuilt();
    server = await startServer('blocking', app);
    // What the people and the solver spent solving challenges, for this app alone.
    for (const tally of [solving, attackerSolving]) tally.challenges = tally.ms = tally.attempts = 0;
    const run = await simulate(server.url, OPTIONS);
    console.log(`${demoTables(app, run)}\n`);
    const lines = checkTargets(run.summary);
    const missed = lines.filter((l) => l.startsWith('❌'));
    console.log(missed.length ? `Targets not met:\n${missed.join('\n')}\n` : 'Every target met.');
    console.log(`${lines.filter((l) => l.startsWith('ℹ️ people solved') || l.startsWith('ℹ️ solver')).join('\n')}\n`);
    if (run.errors > 0) console.log(`(${run.errors} requests failed at the HTTP level)\n`);
  } catch (error) {
    failed = true;
    console.error(`${app}: ${error.message}${/Cannot find module/.test(error.message) ? '\n(build the packages first: pnpm build)' : ''}\n`);
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      if (server.child.exitCode === null) await once(server.child, 'exit');
    }
  }
}
console.log(
  `Done in ${((Date.now() - started) / 1000).toFixed(0)} s. "challenged": requests that got the built-in proof-of-work challenge (people solve it, as their browser would, and go on; attackers never do, but the solver, which pays the proof of work for every login it tries); "stopped": challenged or blocked; "got through": attack requests the app answered. ✅/❌: the issue 13 target for that row (tools/simulate/README.md).`,
);
process.exit(failed ? 1 : 0);
