// Issue 15, in a real browser: during an attack wave a person on a new network, in a
// fresh browser, signs in through the example's own login form. Vigil challenges the
// login; the page solves its proof of work by itself (the person does nothing but wait)
// and re-posts the form; the person lands on their account. On all three examples.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attackWave, HAVE_CHROMIUM, launch, startExample } from './support.js';

const here = dirname(fileURLToPath(import.meta.url));
// In CI the browser is installed by .ci/run: a missing one is a failure, not a skip.
const run = HAVE_CHROMIUM || process.env.CI ? describe : describe.skip;

let browser: Browser;
// Headless Chromium says "HeadlessChrome" in its User-Agent, which the engine rightly
// blocks as automation; the person's browser is the same Chromium with its headful
// User-Agent (and everything else as Chromium sends it: client hints, Sec-Fetch-*).
let userAgent: string;
beforeAll(async () => {
  if (!(HAVE_CHROMIUM || process.env.CI)) return;
  browser = await launch();
  const probe = await browser.newPage();
  userAgent = (await probe.evaluate(() => navigator.userAgent)).replace('HeadlessChrome', 'Chrome');
  await probe.close();
});
afterAll(async () => {
  await browser?.close();
});

/** Solve times the page's widget reported (its payload's `solution.time`), per example. */
const solveTimes: Record<string, number> = {};

run.each([
  ['express', 'localhost'],
  ['fastify', 'localhost'],
  ['nestjs', 'localhost'],
  ['express', 'plain-http intranet'],
] as const)('a person during an attack wave, in Chromium (%s example, %s origin)', (name, where) => {
  it('types into the login form, is challenged, passes without doing anything but wait, and is signed in', async () => {
    const app = await startExample(name);
    // 127.0.0.1 is a secure context (the widget runs); http://intranet.test is not (no
    // WebCrypto: the page's own solver runs).
    const origin = where === 'localhost' ? app.origin : app.origin.replace('127.0.0.1', 'intranet.test');
    try {
      await attackWave(app.origin);
      // A new network (an address the account never used) and a fresh browser (no device cookie).
      const context = await browser.newContext({ userAgent, extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.77' } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        // The challenge answer is a 403 and there is no favicon: Chromium logs both as
        // "Failed to load resource". Anything else (a CSP refusal, a script error) counts.
        if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(String(error)));
      const reposts: string[] = [];
      page.on('request', (request) => {
        const body = request.postData();
        if (request.method() === 'POST' && body?.includes('vigil_challenge=')) reposts.push(body);
      });

      await page.goto(`${origin}/login`);
      await page.fill('input[name=email]', 'alice@example.com');
      await page.fill('input[name=password]', 'correct horse battery staple');
      // The challenge page as it came (the page itself may be gone by the time it is
      // looked at: it solves and re-posts on its own).
      const challenged = page.waitForResponse((r) => r.request().method() === 'POST' && r.status() === 403, { timeout: 15_000 });
      await page.click('button');
      const html = await (await challenged).text();
      expect(html).toContain('<title>Checking your browser</title>');
      expect(html).toContain('id="vigil-challenge-data"');
      // The password is not in the page, whatever the page shows.
      expect(html).not.toContain('correct horse');
      await page.waitForURL('**/account', { timeout: 60_000 });
      expect(await page.evaluate(() => globalThis.isSecureContext)).toBe(where === 'localhost');
      expect(await page.textContent('h1')).toBe('Signed in');
      expect(await page.textContent('p')).toContain('alice@example.com');
      // One re-post: the sealed form and the solution, and nothing typed in clear.
      expect(reposts).toHaveLength(1);
      const fields = new URLSearchParams(reposts[0]);
      expect([...fields.keys()].sort()).toEqual(['vigil_challenge', 'vigil_form']);
      expect(reposts[0]).not.toContain('alice');
      const payload = JSON.parse(Buffer.from(fields.get('vigil_challenge') as string, 'base64').toString());
      solveTimes[`${name}, ${where}`] = payload.solution.time;
      // No CSP violation, no script error.
      expect(problems).toEqual([]);
      await context.close();
    } finally {
      await app.close();
    }
  });
});

run('the challenge page, as a person sees it', () => {
  it('is captured while it works (its worker delayed, so that it stays on screen)', async () => {
    const app = await startExample('express');
    try {
      await attackWave(app.origin);
      const context = await browser.newContext({ userAgent, extraHTTPHeaders: { 'x-forwarded-for': '198.51.100.78' } });
      await context.route('**/_vigil/challenge/pbkdf2.js', async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 3000));
        await route.continue().catch(() => {});
      });
      const page = await context.newPage();
      await page.goto(`${app.origin}/login`);
      await page.fill('input[name=email]', 'alice@example.com');
      await page.fill('input[name=password]', 'correct horse battery staple');
      await Promise.all([page.waitForSelector('altcha-widget', { timeout: 15_000 }), page.click('button')]);
      await page.waitForSelector('text=Verifying', { timeout: 5_000 });
      mkdirSync(join(here, '..', 'screenshots'), { recursive: true });
      await page.screenshot({ path: join(here, '..', 'screenshots', 'challenge-page.png') });
      expect(await page.title()).toBe('Checking your browser');
      await context.close();
    } finally {
      await app.close();
    }
  });
});

afterAll(() => {
  if (Object.keys(solveTimes).length === 0) return;
  mkdirSync(join(here, '..', 'results'), { recursive: true });
  writeFileSync(join(here, '..', 'results', 'solve-times.json'), `${JSON.stringify(solveTimes, null, 2)}\n`);
});
