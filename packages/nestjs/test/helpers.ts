import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { type Decision, MemoryStore, type Provider, type ProviderEvent, type Store, type StoreOp, type Verdict } from '@vigil/core';
import { expect } from 'vitest';

export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Nest's log lines at error level, to prove nothing went wrong behind a good answer. */
export class CapturingLogger implements LoggerService {
  readonly errors: unknown[][] = [];
  log(): void {}
  warn(): void {}
  debug(): void {}
  verbose(): void {}
  fatal(...args: unknown[]): void {
    this.errors.push(args);
  }
  error(...args: unknown[]): void {
    this.errors.push(args);
  }
}

/** What `createApp` can set up besides the module: the ones of Nest's own options the tests use. */
export interface AppOptions {
  /** Nest's `rawBody: true`: `request.rawBody` holds the body as received. */
  rawBody?: boolean;
  /** Trust the loopback proxy: Express's `trust proxy`, Fastify's `trustProxy`. */
  trustProxy?: boolean;
}

/** Compiles a testing module and starts it on one platform, ready for supertest. */
export async function createApp(platform: Platform, metadata: ModuleMetadata, logger: LoggerService | false = false, options: AppOptions = {}): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  // Fastify reports a second write to its own logger ("Reply was already sent"), not Nest's.
  const fastifyLogger = logger instanceof CapturingLogger ? { level: 'warn', stream: { write: (line: string) => void logger.errors.push([line]) } } : false;
  const adapter =
    platform === 'express' ? new ExpressAdapter() : new FastifyAdapter({ logger: fastifyLogger, ...(options.trustProxy ? { trustProxy: '127.0.0.1' } : {}) });
  const app = moduleRef.createNestApplication(adapter, { logger, ...(options.rawBody ? { rawBody: true } : {}) });
  if (platform === 'express' && options.trustProxy) (app as NestExpressApplication).set('trust proxy', 'loopback');
  await app.init();
  if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
  return app;
}


/** Vigil's device cookie (on by default) as a Set-Cookie line, for `toEqual` lists of cookies. */
export const DEVICE_COOKIE = expect.stringMatching(/^vigil_did=[0-9a-f]{32}\.[\w-]+; Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax(; Secure)?$/);

/** The Set-Cookie lines of a supertest response (always an array). */
export function setCookies(res: { headers: Record<string, unknown> }): string[] {
  const value = res.headers['set-cookie'];
  return value === undefined ? [] : ([] as string[]).concat(value as string | string[]);
}

/** A browser's headers (Firefox): what the engine lets through. */
export const FIREFOX = {
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'accept-language': 'en-US,en;q=0.5',
};

/**
 * A provider whose verdict the request chooses through test headers (`x-test-risk`:
 * a number, `hang` or `throw`; `x-test-set`: a Set-Cookie for `responseHeaders`; a name with "cookie" in it would be scrubbed),
 * recording every call. Core is never mocked: this is a real provider.
 */
export function recordingProvider(): Provider & { attempts: ProviderEvent[]; logs: ProviderEvent[]; order: string[] } {
  const attempts: ProviderEvent[] = [];
  const logs: ProviderEvent[] = [];
  const order: string[] = [];
  const decide = (event: ProviderEvent): Promise<Verdict> => {
    attempts.push(event);
    const risk = event.context.headers['X-Test-Risk'];
    if (risk === 'hang') return new Promise(() => {});
    if (risk === 'throw') return Promise.reject(new Error('provider down'));
    const cookie = event.context.headers['X-Test-Set'];
    return Promise.resolve({
      risk: typeof risk === 'string' ? Number(risk) : 0,
      ...(typeof cookie === 'string' ? { responseHeaders: { 'set-cookie': cookie } } : {}),
    });
  };
  return {
    name: 'recording',
    attempts,
    logs,
    order,
    filter: decide,
    risk: decide,
    async log(event) {
      order.push(`log ${event.responseStatus}`);
      logs.push(event);
    },
  };
}

/** What tests compare of a decision (it also holds timings and a request id). */
export function summary(decision: Decision | undefined) {
  if (!decision) return null;
  const { action, wouldAction, wouldBlock, protected: isProtected, event, route, failover, failoverReason, ip } = decision;
  return { action, wouldAction, wouldBlock, protected: isProtected, event, route, failover, failoverReason: failoverReason ?? null, ip: ip ?? null };
}

export async function waitFor(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
