import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeIdentifier } from './identifiers.js';
import { MAILBOX_PROVIDERS, mailboxKey } from './mailbox.js';

describe('mailboxKey: documented provider aliases', () => {
  it.each([
    // Gmail: dots ignored, +tag dropped, googlemail.com is gmail.com
    ['j.o.hn.doe+7@gmail.com', 'johndoe@gmail.com'],
    ['johndoe@googlemail.com', 'johndoe@gmail.com'],
    ['John.Doe+Promo.2024@GoogleMail.COM', 'johndoe@gmail.com'],
    ['  johndoe@gmail.com ', 'johndoe@gmail.com'],
    // Outlook.com: +tags, each domain its own namespace, dots kept
    ['ann.lee+shop@outlook.com', 'ann.lee@outlook.com'],
    ['ann.lee+shop@hotmail.com', 'ann.lee@hotmail.com'],
    ['ann.lee+shop@live.com', 'ann.lee@live.com'],
    // iCloud: one name on icloud.com, me.com, mac.com; +tags
    ['ann+x@me.com', 'ann@icloud.com'],
    ['Ann@Mac.com', 'ann@icloud.com'],
    ['a.nn+x@icloud.com', 'a.nn@icloud.com'],
    // Fastmail: +tags and subdomain addressing
    ['ann+lists@fastmail.com', 'ann@fastmail.com'],
    ['lists@ann.fastmail.com', 'ann@fastmail.com'],
    ['ann+x@fastmail.fm', 'ann@fastmail.fm'],
    // Proton: one username on every Proton domain; +tags
    ['ann+x@protonmail.com', 'ann@proton.me'],
    ['ann@pm.me', 'ann@proton.me'],
    ['ann@protonmail.ch', 'ann@proton.me'],
    // Yahoo: basename-keyword disposable addresses
    ['annbase-shopping@yahoo.com', 'annbase@yahoo.com'],
    ['ann.lee+x@yahoo.com', 'ann.lee+x@yahoo.com'],
  ])('%s → %s', (input, key) => {
    expect(mailboxKey(input)).toBe(key);
  });

  it('leaves domains without documented rules as they were keyed before (trimmed, lower case)', () => {
    for (const email of ['Ann.Lee+x@Example.com', 'j.o.hn@company.co.uk', 'ann-x@ymail.com', 'ann+x@gmail.com.evil.example', 'x@sub.gmail.com']) {
      expect(mailboxKey(email)).toBe(normalizeIdentifier(email));
    }
  });

  it('keeps inputs that are no mailbox as they are: empty local part after the rules, no @, quoted local parts', () => {
    for (const input of ['+tag@gmail.com', '...@gmail.com', '-x@yahoo.com', 'gmail.com', '@gmail.com', 'ann@', '"a+b"@gmail.com', '', '   ']) {
      expect(mailboxKey(input)).toBe(normalizeIdentifier(input));
    }
  });

  it('the provider table is data: every domain is lower case, listed once, and maps to its canonical domain', () => {
    const seen = new Set<string>();
    for (const provider of MAILBOX_PROVIDERS) {
      expect(provider.domains).toContain(provider.canonicalDomain);
      for (const domain of provider.domains) {
        expect(domain).toBe(domain.toLowerCase());
        expect(seen.has(domain)).toBe(false);
        seen.add(domain);
        expect(mailboxKey(`ann@${domain}`)).toBe(`ann@${provider.canonicalDomain}`);
      }
    }
    expect(Object.isFrozen(MAILBOX_PROVIDERS)).toBe(true);
  });
});

const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789'.split('');
/** A canonical Gmail name: letters and digits, no dots. */
const gmailName = fc.array(fc.constantFrom(...LETTERS), { minLength: 1, maxLength: 12 }).map((c) => c.join(''));
/** A tag: what may follow the separator. */
const tag = fc.array(fc.constantFrom(...LETTERS, '.', '_', '-', '+'), { maxLength: 10 }).map((c) => c.join(''));
/** An alias of `name`@gmail: dots anywhere, any case, either domain, an optional +tag. */
const gmailAlias = (name: string) =>
  fc
    .tuple(
      fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }),
      fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }),
      fc.constantFrom('gmail.com', 'googlemail.com', 'GMail.com', 'GOOGLEMAIL.COM'),
      fc.option(tag, { nil: undefined }),
    )
    .map(([dots, upper, domain, t]) => {
      const local = [...name].map((c, i) => `${upper[i] ? c.toUpperCase() : c}${dots[i] && i < name.length - 1 ? '.' : ''}`).join('');
      return `${local}${t === undefined ? '' : `+${t}`}@${domain}`;
    });

describe('mailboxKey: properties', () => {
  it('is idempotent, on addresses and on garbage', () => {
    fc.assert(
      fc.property(fc.oneof(fc.emailAddress(), fc.string(), fc.string({ unit: 'binary' }), gmailName.chain(gmailAlias)), (input) => {
        const key = mailboxKey(input);
        expect(mailboxKey(key)).toBe(key);
      }),
      { numRuns: 500 },
    );
  });

  it('maps every alias of one Gmail mailbox to one key', () => {
    fc.assert(
      fc.property(
        gmailName.chain((name) => fc.tuple(fc.constant(name), fc.array(gmailAlias(name), { minLength: 2, maxLength: 8 }))),
        ([name, aliases]) => {
          for (const alias of aliases) expect(mailboxKey(alias)).toBe(`${name}@gmail.com`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('maps +tag aliases at every provider with a tag separator to the mailbox of the untagged address', () => {
    const providers = MAILBOX_PROVIDERS.filter((p) => p.tagSeparator !== undefined);
    fc.assert(
      fc.property(gmailName, fc.constantFrom(...providers), fc.nat(), tag, (name, provider, pick, t) => {
        const domain = provider.domains[pick % provider.domains.length] as string;
        expect(mailboxKey(`${name}${provider.tagSeparator}${t}@${domain}`)).toBe(mailboxKey(`${name}@${provider.canonicalDomain}`));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps distinct mailboxes distinct', () => {
    const domains = [...MAILBOX_PROVIDERS.map((p) => p.canonicalDomain), 'example.com', 'company.co.uk'];
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(gmailName, fc.constantFrom(...domains)), { minLength: 2, maxLength: 40, selector: ([n, d]) => `${n}@${d}` }), (mailboxes) => {
        const keys = new Set(mailboxes.map(([name, domain]) => mailboxKey(`${name}@${domain}`)));
        expect(keys.size).toBe(mailboxes.length);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(typeof mailboxKey(input as string)).toBe('string');
      }),
      { numRuns: 500 },
    );
  });

  it('on huge input does one pass and applies no rule (not an address)', () => {
    const huge = `${'a.'.repeat(500_000)}b+tag@gmail.com`;
    expect(mailboxKey(huge)).toBe(huge);
    const manyAts = '@'.repeat(1_000_000);
    expect(mailboxKey(manyAts)).toBe(manyAts);
    // At the limit of a deliverable address the rules still apply.
    const long = `${'a'.repeat(64)}+${'t'.repeat(150)}@gmail.com`;
    expect(long.length).toBeLessThanOrEqual(254);
    expect(mailboxKey(long)).toBe(`${'a'.repeat(64)}@gmail.com`);
  });
});
