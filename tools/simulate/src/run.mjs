import { createClient } from './http.mjs';
import { summarize } from './report.mjs';
import { buildSimulation, runPool } from './scenarios.mjs';

/**
 * One full run against `target`: the set-up (the app's existing users register and log
 * in once from their own network), then the chosen scenarios, interleaved.
 */
export async function simulate(target, opts) {
  const client = createClient(target);
  const sim = buildSimulation({ ...opts, origin: target });
  await runPool(sim.setup, opts.concurrency ?? 16, client);
  const started = Date.now();
  await runPool(sim.actors, opts.concurrency ?? 16, client);
  const seconds = (Date.now() - started) / 1000;
  client.close();
  return { summary: summarize(sim.metrics), seconds, errors: client.errors };
}
