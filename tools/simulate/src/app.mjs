import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

/** Demo accounts every instance starts with (documented in the README). */
export const DEMO_ACCOUNTS = [
  { email: 'alice@example.com', password: 'correct horse battery staple' },
  { email: 'bob@example.com', password: 'hunter2-but-longer' },
];

const PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Vigil demo</title></head><body>
<h1>Vigil demo</h1>
<form method="post" action="/api/login"><h2>Log in</h2><input name="email" type="email"><input name="password" type="password"><button>Log in</button></form>
<form method="post" action="/api/register"><h2>Sign up</h2><input name="email" type="email"><input name="password" type="password"><button>Sign up</button></form>
<form method="post" action="/api/password-reset"><h2>Reset password</h2><input name="email" type="email"><button>Reset</button></form>
</body></html>`;

function hashPassword(password, salt = randomBytes(16)) {
  // Low cost parameters: this is a load-test target, not a production credential store.
  return { salt, hash: scryptSync(password, salt, 32, { N: 1024 }) };
}

function checkPassword(user, password) {
  const { hash } = hashPassword(password, user.salt);
  return timingSafeEqual(hash, user.hash);
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) return undefined;
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const type = String(req.headers['content-type'] ?? '');
  try {
    if (type.includes('application/json')) return JSON.parse(text || '{}');
    if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  } catch {
    return {};
  }
  return {};
}

/**
 * The demo app as a plain `(req, res)` handler. Vigil protects the three POST routes;
 * a challenge is a (simulated) CAPTCHA: a request carrying `captcha: "passed"` proceeds.
 */
export function createLoginApp({ mode, createVigil, redisStore, redirectUrl }) {
  const users = new Map();
  for (const { email, password } of DEMO_ACCOUNTS) users.set(email, hashPassword(password));

  const vigil = createVigil({
    mode,
    ...(redirectUrl ? { redirectUrl } : {}),
    routes: [
      { method: 'POST', path: '/api/login', event: '$login', user: { email: 'body.email' } },
      { method: 'POST', path: '/api/register', event: '$registration', user: { email: 'body.email' } },
      { method: 'POST', path: '/api/password-reset', event: '$password_reset_request', user: { email: 'body.email' } },
    ],
    // The simulator speaks for many clients through this loopback hop.
    ip: { trustedProxies: ['127.0.0.1', '::1'] },
    onChallenge: ({ request, proceed, raw }) => {
      if (request.body && request.body.captcha === 'passed') return proceed();
      send(raw.res, 403, { challenge: 'captcha', requestId: raw.decision.requestId });
    },
    ...(redisStore ? { provider: redisStore } : {}),
  });

  function send(res, status, body, headers = {}) {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  async function route(method, path, body, res) {
    if (method === 'GET' && path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return res.end(PAGE);
    }
    if (method !== 'POST') return send(res, 404, { error: 'not found' });
    const email = typeof body?.email === 'string' ? body.email.trim().toLowerCase() : '';
    const password = typeof body?.password === 'string' ? body.password : '';
    if (path === '/api/register') {
      if (!email || password.length < 8) return send(res, 400, { ok: false, error: 'email and a password of 8+ characters' });
      if (users.has(email)) return send(res, 409, { ok: false });
      users.set(email, hashPassword(password));
      return send(res, 201, { ok: true });
    }
    if (path === '/api/login') {
      const user = users.get(email);
      if (user && checkPassword(user, password)) return send(res, 200, { ok: true });
      return send(res, 401, { ok: false });
    }
    if (path === '/api/password-reset') return send(res, 202, { ok: true });
    return send(res, 404, { error: 'not found' });
  }

  async function handler(req, res) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    const info = { method: req.method ?? 'GET', url, path, headers: req.headers, remoteAddress: req.socket.remoteAddress, body };
    const decision = await vigil.protect(info);
    res.setHeader('x-vigil-would-action', decision.wouldAction);
    const rendered = vigil.respond(decision, req.headers.accept);
    if (rendered) {
      res.writeHead(rendered.status, rendered.headers);
      return res.end(rendered.body);
    }
    if (decision.action === 'challenge' && vigil.onChallenge) {
      let proceeded = false;
      vigil.onChallenge({ request: info, decision, proceed: () => (proceeded = true), raw: { req, res, decision } });
      if (!proceeded) return;
    }
    res.on('finish', () => vigil.logOutcome(decision, res.statusCode));
    return route(info.method, path, body, res);
  }

  return { handler, vigil, users };
}
