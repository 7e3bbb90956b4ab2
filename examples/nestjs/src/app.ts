import type { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import session from 'express-session';
import passport from 'passport';
import { AppModule } from './app.module.js';
import type { Env } from './demo.module.js';

// Warnings and errors to stderr, nothing else: stdout carries the one "listening" line.
const stderrLogger: LoggerService = {
  log() {},
  warn: (message, ...rest) => console.error('[warn]', message, ...rest),
  error: (message, ...rest) => console.error('[error]', message, ...rest),
};

/** Builds the app from environment variables (not listening yet). */
export async function createApp(env: Env = process.env): Promise<NestExpressApplication> {
  // rawBody: Castle's webhooks are verified against the body's bytes (webhooks.controller.ts).
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(env), { logger: stderrLogger, rawBody: true });
  app.disable('x-powered-by');
  // Express's own req.ip follows the loopback proxy Vigil trusts (vigilOptionsFromEnv).
  app.set('trust proxy', 'loopback');
  // Sessions for the server-rendered sign-in (sign-in.controller.ts): in memory here, a
  // store such as connect-redis in production.
  const shared = await import('@vigil/example-shared');
  app.use(session({ secret: shared.sessionSecretFromEnv(env), resave: false, saveUninitialized: false, cookie: { httpOnly: true, sameSite: 'lax' } }));
  app.use(passport.session());
  return app;
}
