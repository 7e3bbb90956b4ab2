#!/usr/bin/env node
// `pnpm demo`: the three example apps, each in blocking mode, each facing the same
// seeded mix of real users and attacks; one table per framework.
import { once } from 'node:events';
import { simulate, startServer } from './src/run.mjs';
import { SCENARIOS } from './src/scenarios.mjs';

const APPS = ['express', 'fastify', 'nestjs'];
const SEED = 1;
const pct = (x, total) => (total === 0 ? '–' : `${((100 * x) / total).toFixed(1)}%`);

function demoTable(app, run) {
  const lines = [`## ${app} — blocking mode, seed ${SEED}, ${run.seconds.toFixed(1)} s`, '', '| traffic | requests | let through | challenged | blocked | account takeovers |', '|---|---:|---:|---:|---:|---:|'];
  for (const [name, s] of Object.entries(run.summary)) {
    const label = name === 'legit' ? `legit users (${s.legitUsers}; ${s.legitUnable} could not log in)` : name;
    lines.push(`| ${label} | ${s.requests} | ${s.allowed} (${pct(s.allowed, s.requests)}) | ${s.challenged} (${pct(s.challenged, s.requests)}) | ${s.blocked} (${pct(s.blocked, s.requests)}) | ${name === 'legit' ? '–' : s.takeovers} |`);
  }
  return lines.join('\n');
}

const started = Date.now();
let failed = false;
for (const app of APPS) {
  let server;
  try {
    server = await startServer('blocking', app);
    const run = await simulate(server.url, { seed: SEED, scenarios: SCENARIOS, concurrency: 16, thinkMs: 2 });
    console.log(`${demoTable(app, run)}\n`);
    if (run.errors > 0) console.log(`(${run.errors} requests failed at the HTTP level)\n`);
  } catch (error) {
    failed = true;
    console.error(`${app}: ${error.message}`);
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      if (server.child.exitCode === null) await once(server.child, 'exit');
    }
  }
}
console.log(`Done in ${((Date.now() - started) / 1000).toFixed(0)} s. "let through" for attacks is what reached the app; for legit users it is what should.`);
process.exit(failed ? 1 : 0);
