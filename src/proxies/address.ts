import { isIP } from 'node:net';
import { AddressRefused, checkOutboundUrl, type OutboundGuard } from '../webhooks/guard.js';

// Proxy hosts go through the gateway's one SSRF guard (webhooks/guard.ts): a channel's own proxy
// setting under WAGATE_WEBHOOK_PRIVATE, a pool proxy (set by the admin) with private addresses
// allowed. Link-local, metadata and the gateway's own address are refused for both.

/** Schemes a channel's own `proxy` setting may use (Whapi's: socks5). */
export const CHANNEL_PROXY_SCHEMES = ['socks5:', 'socks5h:'] as const;

/** A refused or malformed proxy URL; its message is fit to show whoever set it. */
export class ProxyRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxyRefused';
  }
}

/** The URL's shape: a scheme of `schemes`, a host and a port; no path. Answers the problem or null. */
export function proxyUrlProblem(raw: string, schemes: readonly string[]): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not a valid URL';
  }
  if (!schemes.includes(url.protocol)) return `must be a ${schemes.map((s) => s.replace(/:$/, '://')).join(', ')} URL`;
  if (!url.hostname || !url.port) return 'must name a host and a port (scheme://user:pass@host:port)';
  if (url.pathname.replace(/^\/$/, '') || url.search || url.hash) return 'must not have a path, query or fragment';
  return null;
}

/**
 * Checks a proxy URL: its shape, then (through the guard) every address its host resolves to
 * now. Answers the URL with the host replaced by the first checked address, so the connection
 * that follows dials exactly what was checked (a DNS answer that changes in between cannot slip
 * through). Throws ProxyRefused; a name that does not resolve throws the lookup's error.
 */
export async function checkProxyUrl(raw: string, guard: OutboundGuard, schemes: readonly string[]): Promise<string> {
  const problem = proxyUrlProblem(raw, schemes);
  if (problem) throw new ProxyRefused(problem);
  let addresses: string[];
  try {
    addresses = await checkOutboundUrl(raw, guard, schemes);
  } catch (err) {
    if (err instanceof AddressRefused) throw new ProxyRefused(err.message.replace(/^url refused/, 'proxy refused'));
    throw err;
  }
  const first = addresses[0];
  if (!first) throw new ProxyRefused(`${new URL(raw).hostname} has no address`);
  const url = new URL(raw);
  url.hostname = isIP(first) === 6 ? `[${first}]` : first;
  return url.toString().replace(/\/$/, '');
}

/** The URL with its password, if any, as `***` (for listings). */
export function redactedProxyUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(invalid)';
  }
}
