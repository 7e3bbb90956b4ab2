import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from './http.mjs';
import { summarize } from './report.mjs';
import { buildSimulation, runPool } from './scenarios.mjs';

/**
 * One full run against `target`: the set-up (the app's existing users register and log
 * in once from their own network), then the chosen scenarios, interleaved.
 */
export async function simulate(target, opts) {
  const client = createClient(target, { tagRequests: opts.tagRequests });
  const sim = buildSimulation({ ...opts, origin: target });
  await runPool(sim.setup, opts.concurrency ?? 16, client);
  const started = Date.now();
  await runPool(sim.actors, opts.concurrency ?? 16, client);
  const seconds = (Date.now() - started) / 1000;
  client.close();
  return { summary: summarize(sim.metrics), seconds, errors: client.errors, setup: sim.setupStats };
}

const APPS = {
  express: ['examples', 'express', 'server.mjs'],
  fastify: ['examples', 'fastify', 'server.mjs'],
  nestjs: ['examples', 'nestjs', 'dist', 'main.js'],
  // The Express example inside the --why harness (decision reasons to $VIGIL_SIM_DECISIONS).
  'express-why': ['tools', 'simulate', 'src', 'why-server.mjs'],
};

/** Starts an example app (see examples/) on a free port and resolves its URL once it listens. */
export async function startServer(mode, app = 'express', extraEnv = {}) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const script = APPS[app];
  if (!script) throw new Error(`unknown app "${app}"; use ${Object.keys(APPS).join(', ')}`);
  // Each run starts from a fresh engine: an inherited REDIS_URL (CI sets one) would make
  // the app share, and keep, counters and block lists across runs.
  const { REDIS_URL: _ignored, ...env } = process.env;
  const child = spawn(process.execPath, [join(root, ...script)], {
    cwd: join(root, script[0], script[1]),
    env: { ...env, PORT: '0', VIGIL_MODE: mode, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The app's warnings, kept (the last few KB) to explain a start that failed.
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let buffer = '';
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout) {
    buffer += chunk;
    const line = buffer.split('\n').find((l) => l.includes('listening'));
    if (line) return { url: JSON.parse(line).listening, child };
  }
  if (child.exitCode === null) await once(child, 'exit');
  throw new Error(`the ${app} example (${mode} mode) exited before listening${stderr ? `:\n${stderr.trim()}` : ''}`);
}



/** Runs `fn(url)` against a fresh example app in `mode`, then stops the app. */
export async function withServer(mode, app, env, fn) {
  const { url, child } = await startServer(mode, app, env);
  try {
    return await fn(url);
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await once(child, 'exit');
  }
}

/**
 * Every attack on its own: for each of `attacks`, a fresh app per mode sees the `people`
 * scenarios and that one attack, nothing else. A mix can hide a weak rule (one attack
 * trips site-wide attack mode and the others are caught by it); this cannot. Resolves
 * `{ [attack]: { monitoring, blocking } }` (runs as `simulate` returns them).
 */
export async function simulateEach({ app = 'express', env = {}, attacks, people, modes = ['monitoring', 'blocking'], ...opts }) {
  const out = {};
  for (const attack of attacks) {
    out[attack] = {};
    for (const mode of modes) out[attack][mode] = await withServer(mode, app, env, (url) => simulate(url, { ...opts, scenarios: [...people, attack] }));
  }
  return out;
}
