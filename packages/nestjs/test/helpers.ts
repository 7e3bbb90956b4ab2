import type { INestApplication, LoggerService, ModuleMetadata } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Decision, Provider, ProviderEvent, Verdict } from '@vigil/core';

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

/** Compiles a testing module and starts it on one platform, ready for supertest. */
export async function createApp(platform: Platform, metadata: ModuleMetadata, logger: LoggerService | false = false): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  // Fastify reports a second write to its own logger ("Reply was already sent"), not Nest's.
  const fastifyLogger = logger instanceof CapturingLogger ? { level: 'warn', stream: { write: (line: string) => void logger.errors.push([line]) } } : false;
  const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter({ logger: fastifyLogger });
  const app = moduleRef.createNestApplication(adapter, { logger });
  await app.init();
  if (platform === 'fastify') await app.getHttpAdapter().getInstance().ready();
  return app;
}

/**
 * A provider whose verdict the request chooses through test headers (`x-test-risk`:
 * a number, `hang` or `throw`; `x-test-cookie`: a Set-Cookie for `responseHeaders`),
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
    const cookie = event.context.headers['X-Test-Cookie'];
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
