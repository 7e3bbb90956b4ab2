#!/usr/bin/env node
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checkTargets, eachTable, table } from './src/report.mjs';
import { simulate, simulateEach, withServer } from './src/run.mjs';
import { whyTable } from './src/why.mjs';
import { ATTACK_SCENARIOS, PEOPLE_SCENARIOS, SCENARIO_ALIASES, SCENARIOS } from './src/scenarios.mjs';

const HELP = `vigil-simulate — seeded traffic against a running Vigil-protected app

  pnpm simulate --target URL [--scenario NAME] [--seed N]   drive a running app
  pnpm simulate --serve [--app express|fastify|nestjs] [--scenario NAME] [--seed N]
                                                            start an example app in monitoring, then
                                                            blocking mode, run the same traffic, compare

options:
  --scenario   mix (default: everything at once), people, attacks, or one or more
               (comma-separated) of
                 people:  ${PEOPLE_SCENARIOS.join(', ')}
                 attacks: ${ATTACK_SCENARIOS.join(', ')}
  --seed       integer seed (default 1); same seed, same traffic
  --scale      multiply the crowds (default 1; the issue's shapes keep their size, see README)
  --concurrency  clients in flight (default 16)
  --think      think time unit in ms (default 5; scaled down from human seconds)
  --env K=V    with --serve: an environment variable for the example app (repeatable),
               e.g. --env VIGIL_DEVICE_SECRET=0123456789abcdef (the Express example's device cookie)
  --each       with --serve: every attack in --scenario on its own, next to the people
               in --scenario (a fresh app each time, monitoring then blocking); one
               row per attack. A mix can hide a weak rule: one attack trips site-wide
               attack mode and the others are caught by it
  --why        with --serve and the Express app: log every decision's reasons (in a
               harness around the unchanged example) and print, per population of
               people, which rules challenged or blocked them
  --json       print the summary as JSON too`;

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    serve: { type: 'boolean', default: false },
    app: { type: 'string', default: 'express' },
    scenario: { type: 'string', default: 'mix' },
    seed: { type: 'string', default: '1' },
    scale: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '16' },
    think: { type: 'string', default: '5' },
    env: { type: 'string', multiple: true, default: [] },
    why: { type: 'boolean', default: false },
    each: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help || (!values.target && !values.serve)) {
  console.log(HELP);
  process.exit(values.help ? 0 : 2);
}
const GROUPS = { mix: SCENARIOS, people: PEOPLE_SCENARIOS, attacks: ATTACK_SCENARIOS };
const scenarios = [...new Set(values.scenario.split(',').flatMap((s) => GROUPS[s] ?? [SCENARIO_ALIASES[s] ?? s]))];
for (const s of scenarios) {
  if (!SCENARIOS.includes(s)) {
    console.error(`unknown scenario "${s}"; use mix, people, attacks or one of ${SCENARIOS.join(', ')}`);
    process.exit(2);
  }
}
const seed = Number.parseInt(values.seed, 10);
const appEnv = {};
for (const pair of values.env) {
  const eq = pair.indexOf('=');
  if (eq <= 0) {
    console.error(`--env takes KEY=VALUE, not "${pair}"`);
    process.exit(2);
  }
  appEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
}
if (values.each && !values.serve) {
  console.error('--each needs --serve');
  process.exit(2);
}
if (values.why && (!values.serve || values.app !== 'express')) {
  console.error('--why needs --serve and --app express');
  process.exit(2);
}
const options = { tagRequests: values.why, seed, scenarios, scale: Number(values.scale), concurrency: Number(values.concurrency), thinkMs: Number(values.think) };

async function main() {
  if (values.target) {
    const run = await simulate(values.target, options);
    console.log(table(run.summary, `${values.target} — seed ${seed}, ${run.seconds.toFixed(1)} s`, run));
    if (values.json) console.log(JSON.stringify(run.summary, null, 2));
    return;
  }
  if (values.each) {
    const attacks = scenarios.filter((s) => ATTACK_SCENARIOS.includes(s));
    const people = scenarios.filter((s) => PEOPLE_SCENARIOS.includes(s));
    const started = Date.now();
    const results = await simulateEach({ ...options, app: values.app, env: appEnv, attacks, people });
    console.log(eachTable(results, `${values.app}: each attack on its own next to ${people.length ? people.join(', ') : 'no people'} — seed ${seed}, ${((Date.now() - started) / 1000).toFixed(0)} s`));
    if (values.json) console.log(JSON.stringify(results, null, 2));
    return;
  }
  const results = {};
  const why = {};
  const logs = values.why ? mkdtempSync(join(tmpdir(), 'vigil-why-')) : undefined;
  for (const mode of ['monitoring', 'blocking']) {
    if (logs) why[mode] = join(logs, `${mode}.jsonl`);
    results[mode] = await withServer(mode, logs ? 'express-why' : values.app, logs ? { ...appEnv, VIGIL_SIM_DECISIONS: why[mode] } : appEnv, (url) => simulate(url, options));
    const run = results[mode];
    console.log(`${table(run.summary, `${values.app}, ${mode} mode — seed ${seed}, ${run.seconds.toFixed(1)} s${run.errors ? `, ${run.errors} HTTP errors` : ''}`, run)}\n`);
  }
  console.log(checkTargets(results.blocking.summary, results.monitoring.summary).join('\n'));
  if (logs) {
    for (const mode of ['monitoring', 'blocking']) console.log(`\n### Why people were stopped — ${values.app}, ${mode} mode (decision log: ${why[mode]})\n\n${whyTable(why[mode], { mode })}`);
  }
  if (values.json) console.log(JSON.stringify(results, null, 2));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
