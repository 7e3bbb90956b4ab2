import { describe, expect, it } from 'vitest';
import { isLocalhostHost, requestOriginIsPotentiallyTrustworthy } from './secure-origin.js';

describe('isLocalhostHost (W3C Secure Contexts, "potentially trustworthy origin", steps 4-5)', () => {
  it.each([
    'localhost',
    'localhost:3000',
    'LOCALHOST',
    'localhost.',
    'localhost.:8080',
    'app.localhost',
    'a.b.localhost:8080',
    'app.localhost.',
    '127.0.0.1',
    '127.0.0.1:8080',
    '127.1.2.3',
    '127.255.255.255:1',
    '[::1]',
    '[::1]:3000',
    '[0:0:0:0:0:0:0:1]:3000',
  ])('%s → loopback or localhost', (host) => {
    expect(isLocalhostHost(host)).toBe(true);
  });

  it.each([
    'intranet:8080',
    'intranet',
    '192.168.1.5',
    '192.168.1.5:8080',
    '10.0.0.1',
    '128.0.0.1',
    '127.0.0.1.nip.io',
    'localhost.example.com',
    'notlocalhost',
    'mylocalhost:80',
    '127.0.0.256',
    '127.0.0',
    '[::2]',
    '[::ffff:127.0.0.1]',
    '::1',
    '',
    'localhost:3000:1',
  ])('%s → not', (host) => {
    expect(isLocalhostHost(host)).toBe(false);
  });
});

describe('requestOriginIsPotentiallyTrustworthy', () => {
  it('HTTPS, as the framework sees it, is trustworthy whatever the host', () => {
    expect(requestOriginIsPotentiallyTrustworthy('https', { Host: 'intranet:8080' })).toBe(true);
    expect(requestOriginIsPotentiallyTrustworthy('https', {})).toBe(true);
  });

  it('plain HTTP is trustworthy only on a localhost or loopback Host', () => {
    expect(requestOriginIsPotentiallyTrustworthy('http', { Host: 'intranet:8080' })).toBe(false);
    expect(requestOriginIsPotentiallyTrustworthy('http', { Host: '192.168.1.5' })).toBe(false);
    expect(requestOriginIsPotentiallyTrustworthy('http', { Host: 'localhost:3000' })).toBe(true);
    expect(requestOriginIsPotentiallyTrustworthy('http', { Host: '127.0.0.1:3000' })).toBe(true);
    expect(requestOriginIsPotentiallyTrustworthy('http', { Host: 'shop.localhost' })).toBe(true);
  });

  it('the framework protocol wins over what Origin or Referer claim', () => {
    expect(requestOriginIsPotentiallyTrustworthy('http', { Host: 'intranet', Origin: 'https://intranet' })).toBe(false);
    expect(requestOriginIsPotentiallyTrustworthy('https', { Host: 'intranet', Origin: 'http://intranet' })).toBe(true);
  });

  it('a scrubbed or missing Host on plain HTTP is not trustworthy (nothing says it is)', () => {
    expect(requestOriginIsPotentiallyTrustworthy('http', { Host: true })).toBe(false);
    expect(requestOriginIsPotentiallyTrustworthy('http', {})).toBe(false);
  });

  it('without a protocol, the scheme of a same-host Origin (else Referer) decides', () => {
    expect(requestOriginIsPotentiallyTrustworthy(undefined, { Host: 'app.example.com', Origin: 'https://app.example.com' })).toBe(true);
    expect(requestOriginIsPotentiallyTrustworthy(undefined, { Host: 'app.example.com', Referer: 'https://app.example.com/login' })).toBe(true);
    expect(requestOriginIsPotentiallyTrustworthy(undefined, { Host: 'intranet:8080', Origin: 'http://intranet:8080' })).toBe(false);
    // A form posted from an HTTPS site to this HTTP one: the target is not secure.
    expect(requestOriginIsPotentiallyTrustworthy(undefined, { Host: 'intranet:8080', Origin: 'https://portal.example.com' })).toBe(false);
    expect(requestOriginIsPotentiallyTrustworthy(undefined, { Host: 'intranet:8080', Origin: 'null' })).toBe(false);
    expect(requestOriginIsPotentiallyTrustworthy(undefined, { Host: 'intranet:8080' })).toBe(false);
    expect(requestOriginIsPotentiallyTrustworthy(undefined, { Host: 'localhost:3000' })).toBe(true);
  });

  it('never throws on odd input', () => {
    for (const value of ['', 'https://', '::::', 'https://[', '%', 'x'.repeat(5000)]) {
      expect(() => requestOriginIsPotentiallyTrustworthy(undefined, { Host: value, Origin: value, Referer: value })).not.toThrow();
    }
  });
});
