/**
 * One mailbox provider's documented alias rules: which domains deliver to one mailbox,
 * and which parts of the local part the provider ignores when it delivers.
 */
export interface MailboxProvider {
  /** Who documents these rules, for the reader. */
  name: string;
  /** Domains (lower case) whose addresses share one namespace of mailboxes. */
  domains: readonly string[];
  /** The domain the key is written with, so that every domain of the provider keys alike. */
  canonicalDomain: string;
  /** The sub-address separator: everything from it to the `@` is dropped (`+` at most providers, `-` at Yahoo). */
  tagSeparator?: '+' | '-';
  /** The provider ignores dots in the local part (Gmail only). */
  ignoreDots?: boolean;
  /**
   * The provider delivers `anything@name.<domain>` to `name@<domain>` (Fastmail's
   * subdomain addressing).
   */
  subdomainAddressing?: boolean;
}

/**
 * The providers whose alias rules {@link mailboxKey} applies, as data. Only what each
 * provider documents for its own consumer domains: Gmail's dots and `+` tags (and
 * googlemail.com, the same mailboxes), `+` sub-addresses at Outlook.com, iCloud,
 * Fastmail and Proton, Yahoo's `basename-keyword` disposable addresses. Workspace,
 * Microsoft 365 and other custom domains are left alone: whether dots or tags matter
 * there is the domain owner's setting, which Vigil cannot see.
 *
 * Domains are merged only where one name is one account on all of them: iCloud names
 * are shared by icloud.com, me.com and mac.com; a Proton username holds it on
 * proton.me, protonmail.com, protonmail.ch and pm.me. Hotmail, Outlook and Live are
 * distinct namespaces (`ann@hotmail.com` and `ann@outlook.com` can be two people), so
 * each keeps its own domain.
 */
export const MAILBOX_PROVIDERS: readonly MailboxProvider[] = Object.freeze([
  { name: 'Gmail', domains: ['gmail.com', 'googlemail.com'], canonicalDomain: 'gmail.com', tagSeparator: '+', ignoreDots: true },
  { name: 'Outlook.com', domains: ['outlook.com'], canonicalDomain: 'outlook.com', tagSeparator: '+' },
  { name: 'Outlook.com (Hotmail)', domains: ['hotmail.com'], canonicalDomain: 'hotmail.com', tagSeparator: '+' },
  { name: 'Outlook.com (Live)', domains: ['live.com'], canonicalDomain: 'live.com', tagSeparator: '+' },
  { name: 'iCloud Mail', domains: ['icloud.com', 'me.com', 'mac.com'], canonicalDomain: 'icloud.com', tagSeparator: '+' },
  { name: 'Fastmail', domains: ['fastmail.com'], canonicalDomain: 'fastmail.com', tagSeparator: '+', subdomainAddressing: true },
  { name: 'Fastmail (fm)', domains: ['fastmail.fm'], canonicalDomain: 'fastmail.fm', tagSeparator: '+', subdomainAddressing: true },
  { name: 'Proton Mail', domains: ['proton.me', 'protonmail.com', 'protonmail.ch', 'pm.me'], canonicalDomain: 'proton.me', tagSeparator: '+' },
  { name: 'Yahoo Mail', domains: ['yahoo.com'], canonicalDomain: 'yahoo.com', tagSeparator: '-' },
] satisfies MailboxProvider[]);

const BY_DOMAIN = new Map<string, MailboxProvider>(MAILBOX_PROVIDERS.flatMap((p) => p.domains.map((d) => [d, p] as const)));

// Longer than any deliverable address (RFC 5321: 254): not an address, so no provider
// rule applies, and the cost stays one trim and one lower-casing of the input.
const MAX_ADDRESS = 254;

/**
 * The key of the mailbox an email address delivers to: aliases of one mailbox (Gmail
 * dots and `+tags`, googlemail.com, `+tags` at Outlook.com, iCloud, Fastmail and Proton,
 * Yahoo's `-keyword` addresses, see {@link MAILBOX_PROVIDERS}) give one key.
 *
 * The whole address is trimmed and lower-cased, local part included. RFC 5321 lets a
 * server treat the local part's case as significant, but every provider in the table
 * is case-insensitive, and so in practice is nearly every other: keying `Ann@x` and
 * `ann@x` apart would let a change of case pass for a new person. For an address no
 * rule applies to, the key is exactly that trimmed, lower-cased address (what Vigil
 * keyed accounts by before mailbox keys), so only aliased addresses key differently.
 * Never throws: anything that is not an address comes back trimmed and lower-cased.
 *
 * @example
 * mailboxKey('J.O.Hn.Doe+promo@GoogleMail.com') // 'johndoe@gmail.com'
 * mailboxKey('ann+shop@me.com')                 // 'ann@icloud.com'
 * mailboxKey('Ann.Lee+x@example.com')           // 'ann.lee+x@example.com' (no rule for example.com)
 */
export function mailboxKey(email: string): string {
  if (typeof email !== 'string') return '';
  const address = email.trim().toLowerCase();
  if (address.length > MAX_ADDRESS) return address;
  const at = address.lastIndexOf('@');
  if (at < 1 || at === address.length - 1) return address;
  let local = address.slice(0, at);
  let domain = address.slice(at + 1);
  // A quoted or otherwise unusual local part is not something these providers hand out.
  if (local.includes('"') || local.includes('@')) return address;
  let provider = BY_DOMAIN.get(domain);
  if (provider === undefined) {
    const dot = domain.indexOf('.');
    const parent = dot > 0 ? BY_DOMAIN.get(domain.slice(dot + 1)) : undefined;
    if (parent?.subdomainAddressing !== true) return address;
    // anything@name.fastmail.com is name@fastmail.com.
    provider = parent;
    local = domain.slice(0, dot);
    domain = provider.canonicalDomain;
  }
  if (provider.tagSeparator !== undefined) {
    const tag = local.indexOf(provider.tagSeparator);
    if (tag >= 0) local = local.slice(0, tag);
  }
  if (provider.ignoreDots === true) local = local.replaceAll('.', '');
  // Nothing left ("+x@gmail.com", "...@gmail.com") is no mailbox: keep the input's key.
  if (local === '') return address;
  return `${local}@${provider.canonicalDomain}`;
}
