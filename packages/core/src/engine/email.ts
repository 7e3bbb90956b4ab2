import { disposableEmailBlocklist } from 'disposable-email-domains-js';

// Loaded once, at first use, into a Set: lookups never walk the list.
let disposable: Set<string> | undefined;
function disposableDomains(): Set<string> {
  disposable ??= new Set(disposableEmailBlocklist().map((d) => d.toLowerCase()));
  return disposable;
}

/** Loads the disposable-domain list now (at start-up) rather than on the first request. */
export function preloadDisposableDomains(): number {
  return disposableDomains().size;
}

// Practical syntax, not RFC 5322's every corner: one @, a dot-atom-ish local part, a
// domain with at least one dot and a TLD of two or more letters.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** True when `email` looks like a deliverable address. */
export function isValidEmail(email: string): boolean {
  if (email.length > 254) return false;
  const at = email.lastIndexOf('@');
  if (at < 1 || at > 64) return false;
  const local = email.slice(0, at);
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false;
  return EMAIL.test(email);
}

/** True when the address's domain, or a parent domain of it, is a known disposable-mail domain. */
export function isDisposableEmail(email: string): boolean {
  const at = email.lastIndexOf('@');
  if (at < 0) return false;
  let domain = email.slice(at + 1).toLowerCase();
  const domains = disposableDomains();
  for (;;) {
    if (domains.has(domain)) return true;
    const dot = domain.indexOf('.');
    if (dot < 0 || domain.indexOf('.', dot + 1) < 0) return false; // stop at the registrable domain
    domain = domain.slice(dot + 1);
  }
}
