// Login traffic against a real server on loopback, for the adapters' end-to-end tests of
// outcome recognition: a brute force on one account and a stuffing run over many, both
// from one address, and a person who mistypes once then logs in. Bounded in count; the
// client is a browser-like script (a browser's headers, no cookies kept), so that what
// stops it is the evidence its failures leave, not its user agent.

/** Where and how to post a login form. */
export interface LoginForm {
  /** The server's origin, e.g. `http://127.0.0.1:3000`. */
  origin: string;
  /** The path the form posts to, e.g. `/login` or `/login/password`. */
  path: string;
  /** The page the form is on (GET before posting, for the person's browser). Default: `path`. */
  page?: string;
  /** Field names. Default: `email` and `password`. */
  fields?: { account?: string; password?: string };
  /** Extra headers on every request (an `x-forwarded-for` when the app trusts loopback). */
  headers?: Record<string, string>;
}

/** What one login attempt got. */
export interface Attempt {
  status: number;
  location: string | undefined;
  /** The Set-Cookie lines of the answer. */
  setCookies: string[];
  /** Vigil answered (a block, a redirect to its `redirectUrl`, or the challenge hand-off), not the app. */
  stopped: boolean;
}

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

/** A cookie jar of one browser: names to values, from the Set-Cookie lines it was sent. */
class Jar {
  readonly #cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /;\s*max-age=0/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string | undefined {
    if (this.#cookies.size === 0) return undefined;
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function browserHeaders(form: LoginForm, navigation: boolean): Record<string, string> {
  const url = new URL(form.origin);
  return {
    'user-agent': FIREFOX,
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': 'en-GB,en;q=0.5',
    'accept-encoding': 'gzip, deflate',
    'sec-fetch-dest': 'document',
    'sec-fetch-mode': 'navigate',
    'sec-fetch-site': navigation ? 'none' : 'same-origin',
    'sec-fetch-user': '?1',
    'upgrade-insecure-requests': '1',
    ...(navigation ? {} : { origin: url.origin, referer: `${url.origin}${form.page ?? form.path}` }),
    ...form.headers,
  };
}

/**
 * Posts one login. `isStopped` tells Vigil's answers from the app's: by default a 403
 * (Vigil's block page) or a 429 (what the tests' challenge hand-off answers).
 */
export async function postLogin(form: LoginForm, account: string, password: string, jar?: Jar, isStopped: (response: Response) => boolean = defaultStopped): Promise<Attempt> {
  const body = new URLSearchParams({ [form.fields?.account ?? 'email']: account, [form.fields?.password ?? 'password']: password });
  const headers: Record<string, string> = { ...browserHeaders(form, false), 'content-type': 'application/x-www-form-urlencoded' };
  const cookie = jar?.header();
  if (cookie !== undefined) headers.cookie = cookie;
  const response = await fetch(`${form.origin}${form.path}`, { method: 'POST', headers, body, redirect: 'manual' });
  jar?.take(response);
  await response.arrayBuffer();
  return { status: response.status, location: response.headers.get('location') ?? undefined, setCookies: response.headers.getSetCookie(), stopped: isStopped(response) };
}

const defaultStopped = (response: Response) => response.status === 403 || response.status === 429;

/** The result of a run: the 1-based attempt Vigil first stopped (undefined: never), and every attempt. */
export interface RunResult {
  stoppedAt: number | undefined;
  attempts: Attempt[];
}

/** Wrong passwords on one account, from one address, until Vigil stops one or `attempts` are spent. */
export async function bruteForce(form: LoginForm, options: { account: string; attempts?: number }): Promise<RunResult> {
  const attempts: Attempt[] = [];
  for (let i = 0; i < (options.attempts ?? 30); i++) {
    const attempt = await postLogin(form, options.account, `guess-${i}-${Math.random().toString(36).slice(2)}`);
    attempts.push(attempt);
    if (attempt.stopped) return { stoppedAt: i + 1, attempts };
  }
  return { stoppedAt: undefined, attempts };
}

/** One leaked password tried on many accounts, from one address, until Vigil stops one. */
export async function stuffing(form: LoginForm, options: { accounts: readonly string[]; password?: string }): Promise<RunResult> {
  const attempts: Attempt[] = [];
  for (let i = 0; i < options.accounts.length; i++) {
    const attempt = await postLogin(form, options.accounts[i] as string, options.password ?? 'Summer2024!');
    attempts.push(attempt);
    if (attempt.stopped) return { stoppedAt: i + 1, attempts };
  }
  return { stoppedAt: undefined, attempts };
}

/**
 * A person in a browser that keeps its cookies: opens the login page, mistypes the
 * password once, then types it right. Returns both attempts.
 */
export async function typoThenLogin(form: LoginForm, options: { account: string; password: string }): Promise<{ typo: Attempt; login: Attempt }> {
  const jar = new Jar();
  const page = await fetch(`${form.origin}${form.page ?? form.path}`, { headers: browserHeaders(form, true), redirect: 'manual' });
  jar.take(page);
  await page.arrayBuffer();
  const typo = await postLogin(form, options.account, `${options.password}x`, jar);
  const login = await postLogin(form, options.account, options.password, jar);
  return { typo, login };
}

/** How many attempts of a run reached the app (Vigil did not answer them itself): each has an outcome to log. */
export function reachedApp(run: RunResult): number {
  return run.attempts.filter((attempt) => !attempt.stopped).length;
}

/**
 * Resolves once `events` (the events a provider was given) holds at least `count`
 * that match `which`, and returns those. Outcomes are logged after the response has
 * gone, so a client can read its answer first; this waits on the condition, not on a
 * fixed delay, and fails with what it saw if the outcomes never come (`limitMs`).
 */
export async function outcomesLogged<E>(events: readonly E[], count: number, which: (event: E) => boolean = () => true, limitMs = 5000): Promise<E[]> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const found = events.filter(which);
    if (found.length >= count) return found;
    if (Date.now() > deadline) throw new Error(`expected ${count} logged outcomes, saw ${found.length} of ${events.length} events`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
