/**
 * Shared by this package's tests (never exported): the real Redis to test against,
 * unique key prefixes and their clean-up, a TCP proxy that can refuse, stall and cut
 * connections, and a realistic login request for the engine.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { RequestInfo } from '@vigil/core';
import { Redis } from 'ioredis';

/** The Redis the tests run against; CI provides it at REDIS_URL. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let prefixes = 0;
/** A key prefix no other test run (or parallel test file) uses. */
export function uniquePrefix(name: string): string {
  return `vigil-test:${name}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}:${prefixes++}:`;
}

/** An admin connection for tests: plain ioredis defaults. */
export function adminClient(): Redis {
  const client = new Redis(REDIS_URL, { connectionName: 'vigil-test-admin', lazyConnect: false });
  client.on('error', () => undefined);
  return client;
}

/** Deletes every key under `prefix` (SCAN + DEL), so that test runs leave nothing behind. */
export async function deleteKeys(admin: Redis, prefix: string): Promise<number> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await admin.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** A TCP port with nothing listening on it, checked by connecting to it. */
export async function closedPort(): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    if (refused) return port;
  }
  throw new Error('no closed port found');
}

/**
 * A TCP proxy in front of the test Redis: `listen(port)` starts forwarding, `stall()`
 * holds every byte back (a Redis that stopped answering, as TCP sees it: nothing is
 * lost, it is late) until `stall(false)`, `cut()` drops every live connection,
 * `close()` stops listening.
 */
export class RedisProxy {
  readonly #sockets = new Set<Socket>();
  readonly #held: [Socket, Buffer][] = [];
  #server: Server | undefined;
  #stalled = false;

  async listen(port: number): Promise<void> {
    const target = new URL(REDIS_URL);
    this.#server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('error', () => undefined);
        socket.on('close', () => {
          this.#sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
      }
      const forward = (to: Socket) => (data: Buffer) => {
        if (this.#stalled) this.#held.push([to, data]);
        else to.write(data);
      };
      client.on('data', forward(upstream));
      upstream.on('data', forward(client));
    });
    await new Promise<void>((resolve, reject) => {
      this.#server?.once('error', reject);
      this.#server?.listen(port, '127.0.0.1', () => resolve());
    });
  }

  stall(stalled = true): void {
    this.#stalled = stalled;
    if (stalled) return;
    for (const [to, data] of this.#held.splice(0)) if (!to.destroyed) to.write(data);
  }

  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * MONITOR on a raw connection of its own (ioredis' monitor() can trip over lines that
 * arrive with its OK): records the command names each client address sends.
 */
export async function monitorCommands(): Promise<{ commandsFrom(addr: string): string[]; stop(): void }> {
  const target = new URL(REDIS_URL);
  const socket = connect(Number(target.port || 6379), target.hostname);
  socket.on('error', () => undefined);
  const seen: { addr: string; command: string }[] = [];
  let buffered = '';
  let ready: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  socket.on('data', (data) => {
    buffered += data.toString('utf8');
    const lines = buffered.split('\r\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '+OK') ready();
      const match = /^\+[\d.]+ \[\d+ (\S+)\] "([^"]+)"/.exec(line);
      if (match) seen.push({ addr: match[1] as string, command: (match[2] as string).toLowerCase() });
    }
  });
  const auth = target.password ? `AUTH ${target.username ? `${decodeURIComponent(target.username)} ` : ''}${decodeURIComponent(target.password)}\r\n` : '';
  socket.write(`${auth}MONITOR\r\n`);
  await started;
  return { commandsFrom: (addr) => seen.filter((s) => s.addr === addr).map((s) => s.command), stop: () => socket.destroy() };
}

/** What a real Chrome sends with a login form post: nothing for the User-Agent rules to flag. */
export const BROWSER_HEADERS = {
  host: 'shop.example',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language': 'en-GB,en;q=0.9',
  'accept-encoding': 'gzip, deflate, br',
  'content-type': 'application/x-www-form-urlencoded',
  'sec-fetch-site': 'same-origin',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
};

/** A login attempt from `ip` on the account `email`. */
export function loginRequest(ip: string, email: string): RequestInfo {
  return { method: 'POST', url: '/login', path: '/login', headers: BROWSER_HEADERS, remoteAddress: ip, body: { email, password: 'hunter2' } };
}

/** The login route every engine test protects. */
export const LOGIN_ROUTES = [{ method: 'POST', path: '/login', event: '$login' as const, user: { email: 'body.email' } }];

/** A secret shared by every instance of a test fleet. */
export const SECRET = 'vigil-test-secret-0123456789abcdef';

/** A logger that records what it is given. */
export function recordingLogger() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), codes: (level: string) => lines.filter((l) => l.level === level).map((l) => l.obj.code) };
}
