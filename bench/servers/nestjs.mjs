// Nest 11 on its Express platform. Decorators are applied as functions: this file runs
// as plain JavaScript, without a compiler.
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { VigilGuard, VigilModule } from '@vigil/nestjs';
import { exitOnTerm, ready, vigilOptions } from './common.mjs';

const variant = process.argv[2] ?? 'bare';

class LoginController {
  login() {
    return { ok: true };
  }
}
Controller('api')(LoginController);
const descriptor = Object.getOwnPropertyDescriptor(LoginController.prototype, 'login');
Post('login')(LoginController.prototype, 'login', descriptor);
HttpCode(200)(LoginController.prototype, 'login', descriptor);
Body()(LoginController.prototype, 'login', 0);

const imports = [];
const providers = [];
if (variant === 'peer') {
  // Configured never to block: the cost of counting, not of refusing.
  imports.push(ThrottlerModule.forRoot([{ ttl: 60_000, limit: 1_000_000_000 }]));
  providers.push({ provide: APP_GUARD, useClass: ThrottlerGuard });
} else if (variant.startsWith('vigil')) {
  imports.push(VigilModule.forRoot(await vigilOptions(variant)));
  providers.push({ provide: APP_GUARD, useClass: VigilGuard });
}
class AppModule {}
Module({ imports, controllers: [LoginController], providers })(AppModule);

const app = await NestFactory.create(AppModule, { logger: ['error'] });
await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
ready(app.getHttpServer().address().port);
exitOnTerm();
