import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import { buildConnector } from 'undici';
import { refusedRange, unmapped, withoutZone } from './ranges.js';

// The SSRF guard for every address the gateway dials on a customer's behalf (SPEC §5): webhooks,
// `webhook_test`, and later media URLs and proxies. Two entry points, both needed:
// - `checkOutboundUrl` when a URL is saved or before it is used, so the customer hears why;
// - `guardedLookup` / `guardedConnector` at every connection, so a DNS answer that changed since
//   (rebinding) cannot slip through: the socket only ever gets addresses that were checked.

/** Where the gateway listens (as `server.address()` answers it). */
export interface Endpoint {
  address: string;
  port: number;
}

/** What the guard judges by; built once by the gateway and shared by every outbound feature. */
export interface OutboundGuard {
  /** False when `WAGATE_WEBHOOK_PRIVATE=deny`: loopback and private ranges are refused too. */
  allowPrivate: boolean;
  /** The gateway's own listen endpoints (empty before it listens): refused in every mode. */
  ownEndpoints?: () => readonly Endpoint[];
  /** Name resolution; the system resolver by default, a test resolver in tests. */
  lookup?: LookupAll;
}

/** Resolves a hostname to every address it has (the shape of `dns.lookup` with `all: true`). */
export type LookupAll = (hostname: string, options: { family?: number; hints?: number }) => Promise<LookupAddress[]>;

/** A refused outbound address; its message is fit to show the customer. */
export class AddressRefused extends Error {
  readonly code = 'ERR_ADDRESS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'AddressRefused';
  }
}

const HTTP_SCHEMES = ['http:', 'https:'];
const DEFAULT_PORTS: Record<string, number> = { 'http:': 80, 'https:': 443, 'socks5:': 1080, 'socks5h:': 1080 };
const DENIED = 'private targets are denied: WAGATE_WEBHOOK_PRIVATE=deny';

const systemLookup: LookupAll = (hostname, options) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** Why the gateway may not connect to this IP address and port, or null when it may. */
export function checkAddress(ip: string, port: number, guard: OutboundGuard): string | null {
  if (isIP(withoutZone(ip)) === 0) return 'not an IP address';
  const match = refusedRange(ip, guard.allowPrivate);
  if (match) {
    const carried = match.carried ? `, carrying IPv4 ${match.carried}` : '';
    const mode = match.range.tier === 'private' ? `; ${DENIED}` : '';
    return `${match.range.reason} (${match.range.cidr}${carried}${mode})`;
  }
  if (isOwnEndpoint(ip, port, guard.ownEndpoints?.() ?? [])) return `the gateway's own listen address (port ${port})`;
  return null;
}

/**
 * Checks an outbound URL: its scheme, then every address its host has (a literal IP as it is,
 * a name as resolved now) at its port. Answers the addresses; throws AddressRefused, and
 * lets a DNS failure through as it is (a name that does not resolve yet is the caller's call).
 */
export async function checkOutboundUrl(url: string | URL, guard: OutboundGuard, schemes: readonly string[] = HTTP_SCHEMES): Promise<string[]> {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (!schemes.includes(parsed.protocol)) {
    throw new AddressRefused(`url refused: scheme ${parsed.protocol} is not ${schemes.map((s) => s.replace(/:$/, '')).join(' or ')}`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = portOf(parsed);
  const addresses = isIP(host) ? [host] : (await (guard.lookup ?? systemLookup)(host, {})).map((a) => a.address);
  assertAllowed(host, port, addresses, guard);
  return addresses;
}

/**
 * A `lookup` for `net.connect` / `tls.connect` to `port`: resolves, refuses the connection if
 * ANY address is refused, and hands the socket only the addresses it checked. (Node skips
 * `lookup` for a literal IP: check those with `checkAddress` first, as `guardedConnector` does.)
 */
export function guardedLookup(guard: OutboundGuard, port: number): LookupFunction {
  const lookup = guard.lookup ?? systemLookup;
  return (hostname, options, callback) => {
    const { family, hints } = options;
    lookup(hostname, { family: typeof family === 'number' ? family : undefined, hints })
      .then((found) => {
        assertAllowed(hostname, port, found.map((a) => a.address), guard);
        if (found.length === 0) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
        if (options.all) callback(null, found);
        else callback(null, found[0]!.address, found[0]!.family);
      })
      .catch((err: NodeJS.ErrnoException) => callback(err, '', 0));
  };
}

/** An undici `connect` option whose every connection is checked: literal IPs here, names by `guardedLookup`. */
export function guardedConnector(guard: OutboundGuard, options: buildConnector.BuildOptions = {}): buildConnector.connector {
  // The lookup must know the port, so one connector per port (each keeps its TLS sessions).
  const byPort = new Map<number, buildConnector.connector>();
  return (opts, callback) => {
    const port = Number(opts.port) || DEFAULT_PORTS[opts.protocol] || 0;
    try {
      if (isIP(opts.hostname)) assertAllowed(opts.hostname, port, [opts.hostname], guard);
    } catch (err) {
      callback(err as Error, null);
      return;
    }
    let connect = byPort.get(port);
    if (!connect) {
      connect = buildConnector({ ...options, lookup: guardedLookup(guard, port) } as buildConnector.BuildOptions);
      byPort.set(port, connect);
    }
    connect(opts, callback);
  };
}

function assertAllowed(host: string, port: number, addresses: string[], guard: OutboundGuard): void {
  for (const address of addresses) {
    const reason = checkAddress(address, port, guard);
    if (reason === null) continue;
    const what = host === address ? `${address} is` : `${host} resolves to ${address}, which is`;
    throw new AddressRefused(`url refused: ${what} ${reason}`);
  }
}

function portOf(url: URL): number {
  return url.port ? Number(url.port) : (DEFAULT_PORTS[url.protocol] ?? 0);
}

/** Whether `ip:port` reaches the gateway: its exact listen address, or any local one when it listens on all. */
function isOwnEndpoint(ip: string, port: number, endpoints: readonly Endpoint[]): boolean {
  const listening = endpoints.filter((e) => e.port === port);
  if (listening.length === 0) return false;
  const own = new BlockList();
  for (const { address } of listening) {
    const bound = unmapped(address);
    if (bound === '0.0.0.0' || bound === '::') addLocalAddresses(own);
    else own.addAddress(bound, isIP(bound) === 4 ? 'ipv4' : 'ipv6');
  }
  const target = unmapped(ip);
  return own.check(target, isIP(target) === 4 ? 'ipv4' : 'ipv6');
}

/** Every address of this host: loopback (all of 127/8 answers locally) and each interface's. */
function addLocalAddresses(list: BlockList): void {
  list.addSubnet('127.0.0.0', 8, 'ipv4');
  list.addAddress('::1', 'ipv6');
  list.addAddress('0.0.0.0', 'ipv4');
  list.addAddress('::', 'ipv6');
  for (const entries of Object.values(networkInterfaces())) {
    for (const { address, family } of entries ?? []) list.addAddress(withoutZone(address), family === 'IPv4' ? 'ipv4' : 'ipv6');
  }
}
