import { request as httpRequest, Agent } from 'node:http';

/**
 * Posts to the target through a keep-alive agent, speaking for a client by
 * `X-Forwarded-For` (the target trusts this loopback hop). Resolves with the status,
 * the parsed body and Vigil's classification of the answer; never rejects.
 */
export function createClient(target, { timeoutMs = 10_000 } = {}) {
  const base = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let errors = 0;

  function post(path, body, { headers, ip }) {
    const form = String(headers['content-type'] ?? '').includes('x-www-form-urlencoded');
    const payload = form ? new URLSearchParams(body).toString() : JSON.stringify(body);
    const allHeaders = { ...headers, 'content-length': Buffer.byteLength(payload), 'x-forwarded-for': ip };
    for (const key of Object.keys(allHeaders)) if (allHeaders[key] === undefined) delete allHeaders[key];
    return new Promise((resolve) => {
      const req = httpRequest({ agent, hostname: base.hostname, port: base.port, path, method: 'POST', headers: allHeaders, timeout: timeoutMs }, (res) => {
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
          resolve({ status: res.statusCode, body: json, outcome: classify(res.statusCode, json, res.headers, text), would: res.headers['x-vigil-would-action'] });
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

  return { post, close: () => agent.destroy(), get errors() { return errors; } };
}

/**
 * blocked | challenged | allowed, from the example apps' contract: a challenge is 403
 * JSON `{ challenge }` for API clients, or 403 HTML with the CAPTCHA form for browsers.
 */
export function classify(status, json, headers, text = '') {
  if (status === 403 && json && json.challenge) return 'challenged';
  if (status === 403 && !json && /name="captcha"/.test(text)) return 'challenged';
  if (status === 403 && (!json || json.blocked)) return 'blocked';
  if (status >= 300 && status < 400 && headers?.location) return 'blocked';
  if (status === 0) return 'error';
  return 'allowed';
}
