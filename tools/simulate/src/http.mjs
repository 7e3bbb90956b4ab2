import { Agent, request as httpRequest } from 'node:http';

/**
 * A browser's cookie jar for one device, for the one origin the simulator talks to:
 * keeps `name=value` from `Set-Cookie`, forgets a cookie on `Max-Age=0` (or negative) or
 * an `Expires` in the past, and lets it lapse when its Max-Age / Expires runs out. Path,
 * Domain, Secure and SameSite are not modelled (one origin, every route under `/`; a
 * browser also keeps `Secure` cookies from `http://localhost`). `now` is injectable for tests.
 */
export function createJar({ now = Date.now } = {}) {
  /** name → { value, expires (ms epoch) | undefined } */
  const cookies = new Map();
  const live = () => {
    const t = now();
    for (const [name, c] of cookies) if (c.expires !== undefined && c.expires <= t) cookies.delete(name);
    return cookies;
  };
  return {
    /** Takes one `Set-Cookie` value or a list of them (as Node gives them). */
    store(setCookie) {
      if (setCookie === undefined) return;
      for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
        const [pair, ...attributes] = String(line).split(';');
        const eq = pair.indexOf('=');
        if (eq <= 0) continue;
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        let expires;
        let maxAgeSeen = false;
        for (const attribute of attributes) {
          const [key, ...rest] = attribute.split('=');
          const k = key.trim().toLowerCase();
          const v = rest.join('=').trim();
          if (k === 'max-age' && /^-?\d+$/.test(v)) {
            // Max-Age wins over Expires (RFC 6265 §5.3).
            maxAgeSeen = true;
            expires = now() + Number(v) * 1000;
          } else if (k === 'expires' && !maxAgeSeen) {
            const t = Date.parse(v);
            if (!Number.isNaN(t)) expires = t;
          }
        }
        if (expires !== undefined && expires <= now()) cookies.delete(name);
        else cookies.set(name, { value, expires });
      }
    },
    /** The `Cookie` request header, or undefined when the jar is empty. */
    header() {
      const list = [...live()].map(([name, c]) => `${name}=${c.value}`);
      return list.length ? list.join('; ') : undefined;
    },
    get: (name) => live().get(name)?.value,
    has: (name) => live().has(name),
    get size() {
      return live().size;
    },
  };
}

/**
 * Posts to the target through a keep-alive agent, speaking for a client by
 * `X-Forwarded-For` (the target trusts this loopback hop). With a `jar`, the request
 * carries its cookies and the response's `Set-Cookie` goes into it (a browser, or an
 * attack tool that keeps cookies); without one nothing is kept. Resolves with the
 * status, the parsed body and Vigil's classification of the answer; never rejects.
 * `tagRequests` (the --why harness only) names the population in `X-Sim-Population`,
 * which the harness strips before the app sees the request.
 */
export function createClient(target, { timeoutMs = 10_000, tagRequests = false } = {}) {
  const base = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let errors = 0;

  function post(path, body, { headers, ip, jar, tag }) {
    const form = String(headers['content-type'] ?? '').includes('x-www-form-urlencoded');
    const payload = form ? new URLSearchParams(body).toString() : JSON.stringify(body);
    const allHeaders = { ...headers, 'content-length': Buffer.byteLength(payload), 'x-forwarded-for': ip, cookie: jar?.header(), 'x-sim-population': tagRequests ? tag : undefined };
    for (const key of Object.keys(allHeaders)) if (allHeaders[key] === undefined) delete allHeaders[key];
    return new Promise((resolve) => {
      const req = httpRequest({ agent, hostname: base.hostname, port: base.port, path, method: 'POST', headers: allHeaders, timeout: timeoutMs }, (res) => {
        jar?.store(res.headers['set-cookie']);
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const outcome = classify(res.statusCode, json, res.headers, text);
          // Vigil's own challenge answer carries no would-action header: it is a challenge.
          const would = res.headers['x-vigil-would-action'] ?? (outcome === 'challenged' ? 'challenge' : undefined);
          resolve({ status: res.statusCode, body: json, location: res.headers.location, outcome, would, page: outcome === 'challenged' && json === undefined ? text : undefined });
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve({ status: 0, body: undefined, outcome: 'error', would: undefined });
      });
      req.end(payload);
    });
  }

  return {
    post,
    close: () => agent.destroy(),
    get errors() {
      return errors;
    },
  };
}

/**
 * The example apps' own redirects: the server-rendered sign-in answers 302 to
 * `/account` (signed in) or back to `/login?error=1` (wrong password).
 */
const APP_REDIRECT = /^\/(?:account|login)(?:[?#]|$)/;

/**
 * blocked | challenged | allowed, from Vigil's contract: a challenge is 403 JSON
 * `{ challenge }` for API clients, or 403 HTML with the built-in challenge page for browsers;
 * a redirect is Vigil's (`VIGIL_REDIRECT_URL`) unless it is one of the app's own.
 */
export function classify(status, json, headers, text = '') {
  if (status === 403 && json && json.challenge) return 'challenged';
  if (status === 403 && !json && /id="vigil-challenge-data"/.test(text)) return 'challenged';
  if (status === 403 && (!json || json.blocked)) return 'blocked';
  if (status >= 300 && status < 400 && headers?.location && !APP_REDIRECT.test(headers.location)) return 'blocked';
  if (status === 0) return 'error';
  return 'allowed';
}

/**
 * The login paths of the example apps: browsers posting a form sign in through the
 * server-rendered `/login` (Passport, sessions), everything else through the JSON API.
 */
export function loginPathFor(headers) {
  return String(headers?.['content-type'] ?? '').includes('x-www-form-urlencoded') ? '/login' : '/api/login';
}

/** Whether a login response signed the client in: the API's 200, or the form's 302 to `/account`. */
export function signedIn(res) {
  return res.status === 200 || (res.status === 302 && typeof res.location === 'string' && /^\/account(?:[?#]|$)/.test(res.location));
}

/** Whether a login response is the app's "wrong password": the API's 401, or the form sent back to `/login`. */
export function wrongPassword(res) {
  return res.status === 401 || (res.status === 302 && typeof res.location === 'string' && /^\/login(?:[?#]|$)/.test(res.location));
}
