import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM modules without declarations
import { checkTargets } from '../src/report.mjs';
// @ts-expect-error plain ESM modules without declarations
import { simulate, startServer } from '../src/run.mjs';
// @ts-expect-error plain ESM modules without declarations
import { buildSimulation } from '../src/scenarios.mjs';

const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(
    children.splice(0).map(async (child) => {
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    }),
  );
});

/** The Express example app, as `pnpm simulate --serve` runs it: a real process on a free port. */
async function start(mode: 'monitoring' | 'blocking'): Promise<string> {
  const { url, child } = await startServer(mode, 'express');
  children.push(child);
  return url;
}

describe('simulator', () => {
  it('builds the same traffic for the same seed, and different traffic for another', () => {
    const plan = (seed: number) => {
      const sim = buildSimulation({ seed, scenarios: ['legit', 'stuffing-few-ips'], scale: 0.1, origin: 'http://x' });
      return sim.people.map((p: { email: string; ip: string; browser: { userAgent: string } }) => `${p.email} ${p.ip} ${p.browser.userAgent}`);
    };
    expect(plan(42)).toEqual(plan(42));
    expect(plan(42)).not.toEqual(plan(43));
  });

  it('in blocking mode, a small default mix meets the targets against the Express example over real HTTP', async () => {
    const options = { seed: 11, scenarios: ['legit', 'stuffing-few-ips', 'stuffing-rotating', 'brute-force', 'scripted', 'headless', 'fake-signups'], scale: 0.3, concurrency: 8, thinkMs: 0 };
    const monitoring = await simulate(await start('monitoring'), options);
    const blocking = await simulate(await start('blocking'), options);
    expect(monitoring.errors + blocking.errors).toBe(0);
    // Monitoring never changes an answer, but says what it would have done.
    for (const s of Object.values(monitoring.summary) as { blocked: number; challenged: number }[]) expect(s.blocked + s.challenged).toBe(0);
    expect(monitoring.summary.scripted.wouldBlock).toBe(monitoring.summary.scripted.requests);
    const lines: string[] = checkTargets(blocking.summary, monitoring.summary);
    expect(lines.filter((l) => l.startsWith('❌'))).toEqual([]);
  }, 60_000);
});
