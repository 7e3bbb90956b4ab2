import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  Headers,
  HttpCode,
  Inject,
  type INestApplication,
  Param,
  Post,
  Req,
  Res,
  UnauthorizedException,
} from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { type DeviceRecord, localProvider, type RequestInfo, VigilUnsupportedError } from '@vigil/core';
import { startFakeCastle } from '@vigil/core/testing';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Protect, SkipVigil, VigilDecision, VigilGuard, type VigilHandle, VigilModule, type VigilModuleOptions, VigilService } from '../src/index.js';
import { RecordingStore } from '@vigil/core/testing';
import { BROWSER_ACCEPT, createApp, FIREFOX, PLATFORMS, setCookies } from './helpers.js';

// Identifiers that must never reach the store as they are.
const EMAIL = 'Alice.Liddell@Wonderland.example';
const USERNAME = 'white_rabbit';
const RAW_IDENTIFIERS = /liddell|wonderland|white_rabbit/i;
const PASSWORD = 'correct horse battery staple';
const USERS = new Map([
  [EMAIL.toLowerCase(), 'u-alice'],
  ['erin@example.org', 'u-erin'],
]);
const DEVICE_SECRET = 'device-cookie-secret-0123456789';
const JSON_ACCEPT = 'application/json';

const userIdOf = (email: unknown) => USERS.get(String(email ?? '').toLowerCase());

// What handlers did: proves that a refused request never went on.
const order: string[] = [];

@Controller()
class AccountController {
  constructor(
    @Inject(VigilService) private readonly vigil: VigilService,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {}

  // Unprotected: the session (here a header) says who the user is.
  @Get('me')
  async me(@Req() req: object, @Headers('x-user-id') id: string) {
    const { blocked, decision } = await this.vigil.identify(req, { id, email: EMAIL, plan: 'pro' });
    order.push(`me ${id}`);
    return { id, blocked, action: decision.action, wouldBlock: decision.wouldBlock, route: decision.route };
  }

  // Unprotected, through the handle the guard put on the request.
  @Get('me/handle')
  async meHandle(@VigilDecision() vigil: VigilHandle, @Headers('x-user-id') id: string) {
    const result = await vigil.identify({ id });
    order.push(`handle ${id}`);
    return { protected: vigil.protected, blocked: result.blocked, handled: result.handled, wouldBlock: result.decision.wouldBlock };
  }

  @Post('login')
  @HttpCode(200)
  @Protect('$login', { user: { id: (req: RequestInfo) => userIdOf((req.body as { email?: unknown })?.email), email: 'body.email', username: 'body.username' } })
  async login(@Req() req: object, @Body() body: { email?: string; password?: string }, @VigilDecision() vigil: VigilHandle, @Res({ passthrough: true }) res: object) {
    const id = userIdOf(body.email);
    if (!id || body.password !== PASSWORD) throw new UnauthorizedException({ ok: false });
    // A blocked user is refused on a protected route too, after the password check.
    await this.vigil.identify(req, { id });
    this.adapterHost.httpAdapter.appendHeader(res, 'set-cookie', `session=${id}; Path=/; HttpOnly`);
    order.push(`login ${id}`);
    return { ok: true, action: vigil.action, protected: vigil.protected, device: vigil.device?.id ?? null };
  }

  // Reports the request's own device — issued by this very response when the request
  // had no cookie — then identifies: the guard and the service share one neutral request.
  @Post('report-me')
  @HttpCode(200)
  @Protect('$profile_update')
  async reportMe(@Req() req: object, @VigilDecision() vigil: VigilHandle) {
    await this.vigil.reportDevice(vigil.device?.id as string, { reason: 'test' });
    const { blocked } = await this.vigil.identify(req, { id: 'u-reporter' });
    return { blocked, device: vigil.device?.id ?? null };
  }

  // The app's own Set-Cookie from Nest's @Header(): Express replaces with it, Fastify appends.
  @Post('decorated')
  @HttpCode(200)
  @Protect('$login')
  @Header('Set-Cookie', 'decorated=1; Path=/')
  decorated() {
    return { ok: true };
  }

  @Post('track/login')
  @HttpCode(204)
  async trackLogin(@Req() req: object, @Body() body: { success: boolean; userId?: string; email?: string; username?: string; userExists?: boolean }) {
    await this.vigil.trackLogin(req, body);
  }

  @Post('track/signup')
  @HttpCode(204)
  async trackSignup(@Req() req: object, @Body() body: { userId?: string; email?: string; username?: string }) {
    await this.vigil.trackSignup(req, body);
  }

  @Post('track/custom')
  @HttpCode(204)
  async trackCustom(@Req() req: object, @Body() body: { name: string; properties?: Record<string, unknown> }) {
    await this.vigil.trackCustom(req, body.name, body.properties);
  }

  // The handle serializes as the decision.
  @Get('decision')
  decision(@VigilDecision() vigil: VigilHandle) {
    return vigil;
  }

  // The request handle's tracking helpers, on an unprotected route.
  @Post('track/handle')
  @HttpCode(204)
  async trackWithHandle(@VigilDecision() vigil: VigilHandle) {
    await vigil.trackCustom('handle_event', { via: 'handle' });
    await vigil.trackLogin({ success: true, userId: 'u-handle' });
  }
}

// The guard never runs here: VigilService works all the same.
@Controller('skipped')
@SkipVigil()
class SkippedController {
  constructor(@Inject(VigilService) private readonly vigil: VigilService) {}

  @Get('me')
  async me(@Req() req: object, @Headers('x-user-id') id: string, @VigilDecision() handle: VigilHandle | undefined) {
    const { blocked } = await this.vigil.identify(req, { id });
    order.push(`skipped ${id}`);
    return { blocked, handle: handle ?? null };
  }
}

@Controller('admin')
@SkipVigil()
class AdminController {
  constructor(@Inject(VigilService) private readonly vigil: VigilService) {}

  @Post('users/:id/block')
  @HttpCode(204)
  block(@Param('id') id: string, @Body() body: { reason?: string; ttl?: number }) {
    return this.vigil.blockUser(id, body);
  }

  @Delete('users/:id/block')
  @HttpCode(204)
  unblock(@Param('id') id: string) {
    return this.vigil.unblockUser(id);
  }

  @Get('blocked')
  blocked() {
    return this.vigil.listBlockedUsers();
  }

  @Get('users/:id/devices')
  devices(@Param('id') id: string) {
    return this.vigil.getDevicesForUser<DeviceRecord[]>(id);
  }

  @Post('devices/:id/report')
  @HttpCode(204)
  async report(@Param('id') id: string, @Body() body: { reason?: string }) {
    await this.vigil.reportDevice(id, body);
  }

  @Post('devices/:id/approve')
  @HttpCode(204)
  async approve(@Param('id') id: string) {
    await this.vigil.approveDevice(id);
  }
}

function appModule(options: VigilModuleOptions) {
  return {
    imports: [VigilModule.forRoot(options)],
    controllers: [AccountController, SkippedController, AdminController],
    providers: [{ provide: APP_GUARD, useClass: VigilGuard }],
  };
}

/** The `name=value` of a Set-Cookie line, and the device id in a Vigil device cookie's value. */
function cookiePair(line: string | undefined): string {
  return (line ?? '').split(';')[0] as string;
}
function deviceIdOf(line: string | undefined): string {
  return (cookiePair(line).split('=')[1] ?? '').split('.')[0] as string;
}

describe.each(PLATFORMS)('user monitoring through VigilService on %s', (platform) => {
  const store = new RecordingStore();
  let blocking: INestApplication;
  let monitoring: INestApplication;

  beforeAll(async () => {
    // One engine store behind both apps: a block issued through one is seen by the other.
    const engine = { store, secret: 'engine-secret-0123456789abcdef' };
    blocking = await createApp(platform, appModule({ mode: 'blocking', provider: localProvider(engine), deviceCookie: { secret: DEVICE_SECRET } }));
    monitoring = await createApp(
      platform,
      appModule({ mode: 'monitoring', provider: localProvider(engine), deviceCookie: { name: 'device', secret: DEVICE_SECRET } }),
      false,
      { trustProxy: true },
    );
  });
  afterAll(async () => {
    await Promise.all([blocking?.close(), monitoring?.close()]);
  });

  const login = (app: INestApplication, ip: string, body: Record<string, unknown>, cookie?: string) => {
    const req = request(app.getHttpServer()).post('/login').set(FIREFOX).set('accept', JSON_ACCEPT).set('x-forwarded-for', ip);
    return (cookie ? req.set('cookie', cookie) : req).send(body);
  };

  it('identify on an unprotected route: blockUser, then 403 JSON for an API client and HTML for a browser; the handler does not go on', async () => {
    const server = blocking.getHttpServer();
    const before = await request(server).get('/me').set('x-user-id', 'u-bob').set('accept', JSON_ACCEPT);
    expect(before.status).toBe(200);
    expect(before.body).toEqual({ id: 'u-bob', blocked: false, action: 'allow', wouldBlock: false, route: 'identify' });

    expect((await request(server).post('/admin/users/u-bob/block').send({ reason: 'fraud ring' })).status).toBe(204);
    order.length = 0;
    const api = await request(server).get('/me').set('x-user-id', 'u-bob').set('accept', JSON_ACCEPT);
    expect(api.status).toBe(403);
    expect(api.headers['content-type']).toMatch(/^application\/json/);
    expect(api.headers['cache-control']).toBe('no-store');
    expect(api.body).toMatchObject({ blocked: true, message: 'Request blocked', requestId: expect.any(String) });
    const browser = await request(server).get('/me').set('x-user-id', 'u-bob').set('accept', BROWSER_ACCEPT);
    expect(browser.status).toBe(403);
    expect(browser.headers['content-type']).toMatch(/^text\/html/);
    expect(browser.text).toContain('<h1>Request blocked</h1>');
    // Through the request handle, and where the guard never runs.
    const handle = await request(server).get('/me/handle').set('x-user-id', 'u-bob').set('accept', JSON_ACCEPT);
    expect([handle.status, handle.body.blocked]).toEqual([403, true]);
    const skipped = await request(server).get('/skipped/me').set('x-user-id', 'u-bob');
    expect([skipped.status, skipped.body.blocked]).toEqual([403, true]);
    expect(order).toEqual([]);

    const other = await request(server).get('/me').set('x-user-id', 'u-carol');
    expect([other.status, other.body.blocked]).toEqual([200, false]);
    const otherSkipped = await request(server).get('/skipped/me').set('x-user-id', 'u-carol');
    expect(otherSkipped.body).toEqual({ blocked: false, handle: null });
    expect(order).toEqual(['me u-carol', 'skipped u-carol']);
  });

  it('identify answers a blocked user with the redirect when redirectUrl is set', async () => {
    const app = await createApp(platform, appModule({ mode: 'blocking', provider: localProvider({ store: new RecordingStore() }), redirectUrl: '/blocked', redirectStatus: 303 }));
    try {
      await app.get(VigilService).blockUser('u-bob');
      const res = await request(app.getHttpServer()).get('/me').set('x-user-id', 'u-bob');
      expect(res.status).toBe(303);
      expect(res.headers.location).toBe('/blocked');
    } finally {
      await app.close();
    }
  });

  it('the handle on request.vigil reads through to the decision, and serializes as it', async () => {
    const res = await request(blocking.getHttpServer()).get('/decision');
    expect(res.body).toMatchObject({ action: 'allow', protected: false, reasons: ['not a protected route'] });
  });

  it('listBlockedUsers lists the block with its reason; unblockUser lifts it', async () => {
    const server = blocking.getHttpServer();
    const listed = await request(server).get('/admin/blocked');
    expect(listed.body).toEqual([{ id: 'u-bob', reason: 'fraud ring', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
    expect((await request(server).delete('/admin/users/u-bob/block')).status).toBe(204);
    expect((await request(server).get('/admin/blocked')).body).toEqual([]);
    const me = await request(server).get('/me').set('x-user-id', 'u-bob');
    expect([me.status, me.body.blocked]).toEqual([200, false]);
  });

  it('in monitoring mode identify says blocked, with wouldBlock, and the handler goes on', async () => {
    await request(blocking.getHttpServer()).post('/admin/users/u-dave/block').send({});
    order.length = 0;
    const me = await request(monitoring.getHttpServer()).get('/me').set('x-user-id', 'u-dave');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ id: 'u-dave', blocked: true, action: 'allow', wouldBlock: true, route: 'identify' });
    const handle = await request(monitoring.getHttpServer()).get('/me/handle').set('x-user-id', 'u-dave');
    expect(handle.body).toEqual({ protected: false, blocked: true, handled: false, wouldBlock: true });
    expect(order).toEqual(['me u-dave', 'handle u-dave']);
    await request(blocking.getHttpServer()).delete('/admin/users/u-dave/block');
  });

  it('identify in a protected handler refuses a blocked user after the guard let the request through', async () => {
    const server = blocking.getHttpServer();
    await request(server).post('/admin/users/u-erin/block').send({ reason: 'chargeback' });
    order.length = 0;
    const refused = await login(blocking, '198.51.100.30', { email: 'erin@example.org', password: PASSWORD });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ blocked: true });
    expect(order).toEqual([]);
    await request(server).delete('/admin/users/u-erin/block');
    const allowed = await login(blocking, '198.51.100.30', { email: 'erin@example.org', password: PASSWORD });
    expect([allowed.status, allowed.body]).toEqual([200, { ok: true, action: 'allow', protected: true, device: expect.stringMatching(/^[0-9a-f]{32}$/) }]);
  });

  it('sets a signed, HttpOnly, SameSite=Lax device cookie on protected responses, next to the app’s own cookie', async () => {
    const first = await login(blocking, '198.51.100.21', { email: EMAIL, username: USERNAME, password: 'wrong' });
    expect(first.status).toBe(401);
    const [device] = setCookies(first);
    expect(device).toMatch(/^vigil_did=[0-9a-f]{32}\.[\w-]+; Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax$/);
    const cookie = cookiePair(device);
    // A known device: no new cookie; the app's session cookie stays.
    const again = await login(blocking, '198.51.100.21', { email: EMAIL, password: PASSWORD }, cookie);
    expect(again.status).toBe(200);
    expect(setCookies(again)).toEqual(['session=u-alice; Path=/; HttpOnly']);
    // A tampered cookie is no device: a new id is issued.
    const value = cookie.split('=')[1] as string;
    const tampered = `vigil_did=${value.slice(0, 3)}${value[3] === 'a' ? 'b' : 'a'}${value.slice(4)}`;
    const retampered = await login(blocking, '198.51.100.21', { email: EMAIL, password: 'wrong' }, tampered);
    const issued = setCookies(retampered);
    expect(issued).toHaveLength(1);
    expect(deviceIdOf(issued[0])).not.toBe(deviceIdOf(device));
    expect(deviceIdOf(issued[0])).not.toBe(deviceIdOf(tampered));
    // So is a forged one.
    const forged = await login(blocking, '198.51.100.21', { email: EMAIL, password: 'wrong' }, 'vigil_did=0123456789abcdef.forged');
    expect(deviceIdOf(setCookies(forged)[0])).toMatch(/^[0-9a-f]{32}$/);
    expect(deviceIdOf(setCookies(forged)[0])).not.toBe('0123456789abcdef');
  });

  it('names the cookie as configured, and marks it Secure when the platform sees HTTPS (trusted X-Forwarded-Proto)', async () => {
    const res = await login(monitoring, '198.51.100.22', { email: EMAIL, password: 'wrong' }).set('x-forwarded-proto', 'https');
    expect(setCookies(res)[0]).toMatch(/^device=[0-9a-f]{32}\.[\w-]+; Path=\/; Max-Age=34560000; HttpOnly; SameSite=Lax; Secure$/);
    const plain = await login(monitoring, '198.51.100.22', { email: EMAIL, password: 'wrong' });
    expect(setCookies(plain)[0]).toMatch(/; SameSite=Lax$/);
  });

  it("keeps the device cookie when a handler's @Header('Set-Cookie') would replace it", async () => {
    const res = await request(blocking.getHttpServer()).post('/decorated').set(FIREFOX).set('accept', JSON_ACCEPT).set('x-forwarded-for', '198.51.100.23').send({});
    expect(res.status).toBe(200);
    const cookies = setCookies(res);
    expect(cookies).toHaveLength(2);
    expect(cookies).toContain('decorated=1; Path=/');
    expect(cookies.find((line) => line.startsWith('vigil_did='))).toMatch(/; HttpOnly; SameSite=Lax$/);
  });

  it('getDevicesForUser after a successful login; approveDevice; reportDevice of the request’s device refuses it', async () => {
    const server = blocking.getHttpServer();
    const first = await login(blocking, '198.51.100.24', { email: EMAIL, password: PASSWORD });
    expect(first.status).toBe(200);
    const deviceCookie = setCookies(first).find((line) => line.startsWith('vigil_did=')) as string;
    // The request's device, on its decision: the id in the cookie this response issued.
    const deviceId = first.body.device as string;
    expect(deviceId).toBe(deviceIdOf(deviceCookie));
    // The outcome is logged after the response: the engine records the device then.
    const devicesOf = async () => (await request(server).get('/admin/users/u-alice/devices')).body as DeviceRecord[];
    let devices: DeviceRecord[] = [];
    for (let i = 0; i < 200 && !devices.some((d) => d.id === deviceId); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 10));
      devices = await devicesOf();
    }
    expect(devices.find((d) => d.id === deviceId)).toEqual({
      id: deviceId,
      firstSeen: expect.any(String),
      lastSeen: expect.any(String),
      ips: ['198.51.100.24'],
      userAgent: FIREFOX['user-agent'],
      approved: false,
      reported: false,
    });

    expect((await request(server).post(`/admin/devices/${deviceId}/approve`)).status).toBe(204);
    expect((await devicesOf()).find((d) => d.id === deviceId)).toMatchObject({ approved: true, reported: false });

    expect((await request(server).post(`/admin/devices/${deviceId}/report`).send({ reason: 'stolen laptop' })).status).toBe(204);
    expect((await devicesOf()).find((d) => d.id === deviceId)).toMatchObject({ approved: false, reported: true });
    const cookie = cookiePair(deviceCookie);
    // Whoever the request claims to be, the reported device is refused where identify runs...
    const me = await request(server).get('/me').set('x-user-id', 'u-zed').set('cookie', cookie).set('accept', JSON_ACCEPT);
    expect(me.status).toBe(403);
    expect(me.body).toMatchObject({ blocked: true });
    // ...and by the guard on protected routes.
    const again = await login(blocking, '198.51.100.24', { email: EMAIL, password: PASSWORD }, cookie);
    expect(again.status).toBe(403);
    // Without the cookie, the same user goes on.
    expect((await request(server).get('/me').set('x-user-id', 'u-zed')).status).toBe(200);

    await request(server).post(`/admin/devices/${deviceId}/approve`);
    expect((await request(server).get('/me').set('x-user-id', 'u-zed').set('cookie', cookie)).status).toBe(200);
  });

  it('a device issued by this response is the request’s device for the helpers too', async () => {
    const res = await request(blocking.getHttpServer()).post('/report-me').set(FIREFOX).set('accept', JSON_ACCEPT).set('x-forwarded-for', '198.51.100.26').send({});
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ blocked: true });
    // The response still gives the client its (now reported) device cookie.
    expect(setCookies(res)[0]).toMatch(/^vigil_did=/);
  });

  it('tracking calls through VigilService and the request handle reach the engine', async () => {
    const server = blocking.getHttpServer();
    const written = store.strings.length;
    const track = (path: string, body: object) => request(server).post(path).set('x-forwarded-for', '198.51.100.25').send(body);
    expect((await track('/track/login', { success: false, email: EMAIL, username: USERNAME, userExists: true })).status).toBe(204);
    expect((await track('/track/signup', { userId: 'u-new', email: `new.${EMAIL}`, username: USERNAME })).status).toBe(204);
    expect((await track('/track/custom', { name: 'export_data', properties: { rows: 10 } })).status).toBe(204);
    expect((await track('/track/handle', {})).status).toBe(204);
    // The failed login counted against the client's IP.
    expect(store.strings.slice(written).some((key) => key.includes(':fail'))).toBe(true);
  });

  it('no raw email or username reaches the store, in any key, member or value', () => {
    // Everything above went through this store: logins with email and username, tracking
    // calls, identify with an email trait, blocks, devices.
    expect(store.strings.length).toBeGreaterThan(20);
    expect(store.strings.some((entry) => entry.startsWith('d:user:u-alice'))).toBe(true);
    const leaked = store.strings.filter((entry) => RAW_IDENTIFIERS.test(entry));
    expect(leaked).toEqual([]);
  });
});

describe.each(PLATFORMS)('tracking through VigilService reaches a remote provider (fake Castle) on %s', (platform) => {
  const SECRET = 'castle-api-secret';
  let castle: Awaited<ReturnType<typeof startFakeCastle>>;
  let app: INestApplication;

  beforeAll(async () => {
    castle = await startFakeCastle(SECRET);
    const { castleProvider } = await import('@vigil/core');
    app = await createApp(platform, appModule({ anonymize: true, provider: castleProvider({ apiSecret: SECRET, baseUrl: castle.url }) }));
  });
  afterAll(async () => {
    await app?.close();
    await castle?.close();
  });

  it('trackLogin, trackSignup, trackCustom and the handle’s helpers post to /v1/log with the request’s context', async () => {
    castle.reset();
    const server = app.getHttpServer();
    const track = (path: string, body: object) => request(server).post(path).set(FIREFOX).set('x-forwarded-for', '198.51.100.40').send(body);
    await track('/track/login', { success: false, email: EMAIL, userExists: false }).set('X-Castle-Request-Token', 'tok-track');
    await track('/track/login', { success: true, userId: 'u-alice', username: USERNAME });
    await track('/track/signup', { userId: 'u-new', email: EMAIL });
    await track('/track/custom', { name: 'export_data', properties: { rows: 10 } });
    await track('/track/handle', {});
    const logs = (await castle.waitForRequests(6)).map((r) => ({ path: r.path, body: r.body as Record<string, unknown> }));
    expect(logs.every((l) => l.path === '/v1/log')).toBe(true);
    expect(logs.map((l) => [l.body.type, l.body.status, l.body.name ?? null])).toEqual([
      ['$login', '$failed', null],
      ['$login', '$succeeded', null],
      ['$registration', '$succeeded', null],
      ['$custom', '$succeeded', 'export_data'],
      ['$custom', '$succeeded', 'handle_event'],
      ['$login', '$succeeded', null],
    ]);
    expect(logs[0]?.body).toMatchObject({
      // The client SDK's token of the request goes with its tracking events too.
      request_token: 'tok-track',
      user: { email: expect.stringMatching(/^[0-9a-f]{32}@wonderland\.example$/) },
      properties: { user_exists: false },
      context: { ip: '198.51.100.40', headers: expect.objectContaining({ 'User-Agent': FIREFOX['user-agent'] }) },
    });
    expect(logs[1]?.body.user).toEqual({ id: 'u-alice', username: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(logs[3]?.body.properties).toEqual({ rows: 10 });
    expect(logs[4]?.body.properties).toEqual({ via: 'handle' });
    expect(logs[5]?.body.user).toEqual({ id: 'u-handle' });
    // anonymize: identifiers left the process hashed.
    expect(castle.requests.map((r) => r.rawBody).join('\n')).not.toMatch(/liddell|white_rabbit/i);
  });

  it('admin operations the provider lacks reject with VigilUnsupportedError', async () => {
    const service = app.get(VigilService);
    await expect(service.blockUser('u-1')).rejects.toBeInstanceOf(VigilUnsupportedError);
    await expect(service.unblockUser('u-1')).rejects.toBeInstanceOf(VigilUnsupportedError);
    await expect(service.listBlockedUsers()).rejects.toBeInstanceOf(VigilUnsupportedError);
  });

  it("Castle's device operations through VigilService", async () => {
    castle.reset();
    castle.devices.set('dev_1', { user_id: 'u-alice' });
    const service = app.get(VigilService);
    expect(await service.getDevicesForUser('u-alice')).toEqual({ total_count: 1, data: [{ token: 'dev_1', user_id: 'u-alice' }] });
    expect(await service.approveDevice('dev_1')).toMatchObject({ device: { token: 'dev_1', approved_at: expect.any(String) } });
    expect(await service.reportDevice('dev_1')).toMatchObject({ device: { token: 'dev_1', escalated_at: expect.any(String) } });
    expect(castle.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/users/u-alice/devices', 'PUT /v1/devices/dev_1/approve', 'PUT /v1/devices/dev_1/report']);
  });
});
