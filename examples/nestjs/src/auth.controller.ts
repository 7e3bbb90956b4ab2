import { Body, Controller, Get, Header, Headers, Inject, Post, Req, Res, UseInterceptors } from '@nestjs/common';
import { prefersHtml } from '@vigil/core';
import { Protect, VigilService } from '@vigil/nestjs';
import { type ExampleShared, SHARED, USERS, type UserStore } from './demo.module.js';
import { userIdOf } from './users.js';
import { WouldActionInterceptor } from './would-action.interceptor.js';

// The part of Express's Response a passthrough handler uses.
interface PassthroughResponse {
  status(code: number): unknown;
  type(type: string): unknown;
}

type Form = Record<string, unknown>;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

type ApiAnswer = ReturnType<ExampleShared['handleApi']>;

/**
 * The page and the JSON API behind its forms. Each POST route is protected with
 * `@Protect()`; the global `VigilGuard` (app.module.ts) decides before the handler runs.
 * A successful login identifies the account with Vigil: one on the block list (see
 * admin.controller.ts) is refused there, in blocking mode.
 */
@Controller()
@UseInterceptors(WouldActionInterceptor)
export class AuthController {
  constructor(
    @Inject(SHARED) private readonly shared: ExampleShared,
    @Inject(USERS) private readonly users: UserStore,
    @Inject(VigilService) private readonly vigil: VigilService,
  ) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return this.shared.PAGE_HTML;
  }

  @Post('api/login')
  @Protect('$login', { user: { email: 'body.email' } })
  async login(@Req() req: object, @Body() body: Form, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: PassthroughResponse) {
    const result = this.shared.handleApi(this.users, '/api/login', body);
    // The password is right: is the account blocked? In blocking mode a blocked one gets
    // Vigil's block response (a page for browsers, JSON for API clients) from here.
    const id = userIdOf(body.email);
    if (result.status === 200 && id) await this.vigil.identify(req, { id });
    return this.render(result, accept, res);
  }

  @Post('api/register')
  @Protect('$registration', { user: { email: 'body.email' } })
  register(@Body() body: Form, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: PassthroughResponse) {
    return this.answer('/api/register', body, accept, res);
  }

  @Post('api/password-reset')
  @Protect('$password_reset_request', { user: { email: 'body.email' } })
  passwordReset(@Body() body: Form, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: PassthroughResponse) {
    return this.answer('/api/password-reset', body, accept, res);
  }

  private answer(path: string, form: Form, accept: string | undefined, res: PassthroughResponse): object | string {
    return this.render(this.shared.handleApi(this.users, path, form), accept, res);
  }

  private render({ status, body }: ApiAnswer, accept: string | undefined, res: PassthroughResponse): object | string {
    res.status(status);
    if (!prefersHtml(accept)) return body;
    // A form post from a browser: a page, not JSON.
    res.type('html');
    const text = body.ok ? 'Done.' : (body.error ?? 'That did not work.');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil demo</title></head><body><p>${escapeHtml(text)}</p><p><a href="/">Back</a></p></body></html>`;
  }
}
