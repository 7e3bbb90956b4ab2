import { type ArgumentsHost, Catch, Controller, type ExceptionFilter, type ExecutionContext, Get, Header, Inject, Injectable, Post, Query, Redirect, Req, Res, UnauthorizedException, UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import { AuthGuard, PassportSerializer, PassportStrategy } from '@nestjs/passport';
import { Protect } from '@vigil/nestjs';
import { Strategy } from 'passport-local';
import { type ExampleShared, SHARED, USERS, type UserStore } from './demo.module.js';
import { userIdOf } from './users.js';
import { WouldActionInterceptor } from './would-action.interceptor.js';

interface SignedInUser {
  id: string;
  email: string;
}

/** passport-local over the demo user database (@nestjs/passport's strategy class). */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy) {
  constructor(@Inject(USERS) private readonly users: UserStore) {
    super({ usernameField: 'email' });
  }

  validate(email: string, password: string): SignedInUser {
    const id = userIdOf(email);
    if (id === undefined || !this.users.login(email, password)) throw new UnauthorizedException();
    return { id, email: email.trim().toLowerCase() };
  }
}

/** What the session keeps of the user: the whole (small) record. */
@Injectable()
export class SessionSerializer extends PassportSerializer {
  serializeUser(user: SignedInUser, done: (err: null, payload: string) => void): void {
    done(null, JSON.stringify(user));
  }
  deserializeUser(payload: string, done: (err: null, user: SignedInUser) => void): void {
    done(null, JSON.parse(payload));
  }
}

/** AuthGuard('local'), then the user signed in to the session (Nest's session recipe). */
@Injectable()
export class SessionLoginGuard extends AuthGuard('local') {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const result = (await super.canActivate(context)) as boolean;
    await super.logIn(context.switchToHttp().getRequest());
    return result;
  }
}

/** A wrong password on the form: back to it, with an error. */
@Catch(UnauthorizedException)
export class BackToForm implements ExceptionFilter {
  catch(_error: UnauthorizedException, host: ArgumentsHost): void {
    host.switchToHttp().getResponse<{ redirect(status: number, url: string): void }>().redirect(302, '/login?error=1');
  }
}

/**
 * The server-rendered sign-in: `@nestjs/passport` with sessions, answering 302 both
 * ways. Vigil needs no outcome option for it: back to the form (`/login?error=1`) is a
 * failed login, a user signed in on the request (`req.user`, set by the guard after the
 * global VigilGuard decided) a success.
 */
@Controller()
@UseInterceptors(WouldActionInterceptor)
export class SignInController {
  constructor(@Inject(SHARED) private readonly shared: ExampleShared) {}

  @Get('login')
  @Header('content-type', 'text/html; charset=utf-8')
  page(@Query('error') error: string | undefined): string {
    return this.shared.loginPage(error !== undefined);
  }

  @Post('login')
  @Protect('$login', { user: { email: 'body.email' } })
  @UseGuards(SessionLoginGuard)
  @UseFilters(BackToForm)
  @Redirect('/account', 302)
  signIn(): void {}

  @Get('account')
  account(@Req() req: { user?: SignedInUser }, @Res({ passthrough: true }) res: { redirect(url: string): void; type(type: string): unknown }): string | undefined {
    const page = this.shared.accountPage(req.user);
    if (page === undefined) {
      res.redirect('/login');
      return undefined;
    }
    res.type('html');
    return page;
  }
}
