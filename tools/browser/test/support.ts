// What the browser tests share: Debian's Chromium through playwright-core (never a
// browser download), the three example apps started on loopback in blocking mode, and
// an attack wave that turns the engine's site-wide attack mode on.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { postLogin } from '@vigil/core/testing';
import { type Browser, chromium } from 'playwright-core';
// @ts-expect-error: plain ESM shared with solve-times.mjs, no declarations
import { CHROMIUM_ARGS_LIST } from '../args.mjs';

/** Where Debian puts Chromium (`apt-get install -y chromium`; `.ci/run` does it when missing). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** The flags of a headless run on a shared machine: no sandbox (containers), no GPU, nothing phoning home. */
export const CHROMIUM_ARGS: readonly string[] = CHROMIUM_ARGS_LIST;

/**
 * Chromium, with `intranet.test` resolving to loopback: an origin that is not a secure
 * context (plain HTTP, not localhost), as an intranet app on `http://intranet:8080` is.
 */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP intranet.test 127.0.0.1'], headless: true });
}

/** A running example: its origin, and how to stop it. */
export interface RunningApp {
  origin: string;
  close(): Promise<void>;
}

const ENV = { VIGIL_MODE: 'blocking', VIGIL_SECRET: 'browser-test-secret-0123456789abcdef' };

async function listen(handler: Parameters<typeof createServer>[0]): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Starts one example app in blocking mode with its default settings, on a free loopback port. */
export async function startExample(name: 'express' | 'fastify' | 'nestjs'): Promise<RunningApp> {
  if (name === 'express') {
    const { createApp } = (await import('@vigil/example-express/server.mjs')) as unknown as { createApp(env: object): Promise<{ app: Parameters<typeof createServer>[0]; vigil: { close(): Promise<void> } }> };
    const { app, vigil } = await createApp(ENV);
    const server = await listen(app);
    return {
      origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: async () => {
        await new Promise((resolve) => server.close(resolve));
        await vigil.close();
      },
    };
  }
  if (name === 'fastify') {
    const { buildApp } = (await import('@vigil/example-fastify/server.mjs')) as unknown as { buildApp(env: object): Promise<{ listen(o: object): Promise<string>; close(): Promise<void> }> };
    const app = await buildApp(ENV);
    const origin = await app.listen({ port: 0, host: '127.0.0.1' });
    return { origin, close: () => app.close() };
  }
  const { createApp } = (await import('@vigil/example-nestjs/dist/app.js')) as unknown as { createApp(env: object): Promise<{ listen(port: number, host: string): Promise<unknown>; getUrl(): Promise<string>; close(): Promise<void> }> };
  const app = await createApp(ENV);
  await app.listen(0, '127.0.0.1');
  const origin = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  return { origin, close: () => app.close() };
}

/**
 * Credential stuffing from rotating addresses: one failed login on each of `count`
 * accounts, each from an address of its own. Past the engine's thresholds (10
 * unfamiliar failures, half of the unfamiliar logins) attack mode is on: every login
 * that is neither on a familiar device nor on a familiar network is challenged.
 */
export async function attackWave(origin: string, count = 14): Promise<void> {
  for (let i = 0; i < count; i++) {
    await postLogin({ origin, path: '/login', page: '/login', headers: { 'x-forwarded-for': `203.0.113.${10 + i}` } }, `victim${i}@example.org`, 'Summer2024!');
  }
}
