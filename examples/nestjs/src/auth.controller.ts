import { Body, Controller, Get, Header, Headers, Inject, Post, Res, UseInterceptors } from '@nestjs/common';
import { prefersHtml } from '@vigil/core';
import { Protect } from '@vigil/nestjs';
import { type ExampleShared, SHARED, USERS, type UserStore } from './demo.module.js';
import { WouldActionInterceptor } from './would-action.interceptor.js';

// The part of Express's Response a passthrough handler uses.
interface PassthroughResponse {
  status(code: number): unknown;
  type(type: string): unknown;
}

type Form = Record<string, unknown>;

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The page and the JSON API behind its forms. Each POST route is protected with
 * `@Protect()`; the global `VigilGuard` (app.module.ts) decides before the handler runs.
 */
@Controller()
@UseInterceptors(WouldActionInterceptor)
export class AuthController {
  constructor(
    @Inject(SHARED) private readonly shared: ExampleShared,
    @Inject(USERS) private readonly users: UserStore,
  ) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return this.shared.PAGE_HTML;
  }

  @Post('api/login')
  @Protect('$login', { user: { email: 'body.email' } })
  login(@Body() body: Form, @Headers('accept') accept: string | undefined, @Res({ passthrough: true }) res: PassthroughResponse) {
    return this.answer('/api/login', body, accept, res);
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
    const { status, body } = this.shared.handleApi(this.users, path, form);
    res.status(status);
    if (!prefersHtml(accept)) return body;
    // A form post from a browser: a page, not JSON.
    res.type('html');
    const text = body.ok ? 'Done.' : (body.error ?? 'That did not work.');
    return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil demo</title></head><body><p>${escapeHtml(text)}</p><p><a href="/">Back</a></p></body></html>`;
  }
}
