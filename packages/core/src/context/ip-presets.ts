/**
 * A known edge in front of the app (a CDN), kept as data: the ranges it connects from
 * and the single-value header it writes the client's address into.
 */
export interface IpPreset {
  /** What the edge is, for error messages and docs. */
  readonly description: string;
  /** The edge's published address ranges (CIDR), IPv4 then IPv6: trusted proxies. */
  readonly ranges: readonly string[];
  /**
   * A header the edge overwrites with the address of its own peer on every request.
   * Believed only when the socket peer is inside `ranges`: from anyone else it is
   * whatever the client wrote.
   */
  readonly header?: string;
  /** Where `ranges` are published. */
  readonly source: readonly string[];
  /** When `ranges` were taken from `source`; edges add ranges rarely, but they do. */
  readonly asOf: string;
}

/**
 * Presets for common edges, for `ip: { preset: 'cloudflare' }` — or spread the ranges
 * into your own list: `ip: { trustedProxies: [...IP_PRESETS.cloudflare.ranges, '203.0.113.0/24'] }`.
 *
 * Behind a load balancer that connects from private addresses (AWS ALB, GCP internal
 * load balancers, a Kubernetes ingress) no preset is needed: private ranges are trusted
 * by default.
 *
 * @example
 * createVigil({ ip: { preset: 'cloudflare' } })
 * // CF-Connecting-IP is read from Cloudflare's edges only, then X-Forwarded-For
 */
export const IP_PRESETS = Object.freeze({
  cloudflare: Object.freeze<IpPreset>({
    description: 'Cloudflare (proxied DNS records)',
    ranges: Object.freeze([
      '173.245.48.0/20',
      '103.21.244.0/22',
      '103.22.200.0/22',
      '103.31.4.0/22',
      '141.101.64.0/18',
      '108.162.192.0/18',
      '190.93.240.0/20',
      '188.114.96.0/20',
      '197.234.240.0/22',
      '198.41.128.0/17',
      '162.158.0.0/15',
      '104.16.0.0/13',
      '104.24.0.0/14',
      '172.64.0.0/13',
      '131.0.72.0/22',
      '2400:cb00::/32',
      '2606:4700::/32',
      '2803:f800::/32',
      '2405:b500::/32',
      '2405:8100::/32',
      '2a06:98c0::/29',
      '2c0f:f248::/32',
    ]),
    header: 'CF-Connecting-IP',
    source: Object.freeze(['https://www.cloudflare.com/ips-v4', 'https://www.cloudflare.com/ips-v6']),
    // Taken without network access from the list as published in 2024/2025 and
    // cross-checked against copies of it in public repositories on 2026-12-01.
    asOf: 'as published 2024/2025, checked 2026-12-01',
  }),
});

/** The name of a preset in {@link IP_PRESETS}. */
export type IpPresetName = keyof typeof IP_PRESETS;
