import { BlockList, isIP } from 'node:net';

// The address ranges an outbound connection may not reach (SPEC §5), one row per range with
// its reason. Sources: the IANA IPv4 and IPv6 Special-Purpose Address Registries, and the
// host-service addresses of the cloud platforms. First match wins, so a precise address comes
// before the range that holds it.

/** `always`: refused in every mode; `private`: refused when `WAGATE_WEBHOOK_PRIVATE=deny`. */
export type RangeTier = 'always' | 'private';

/** One refused range: the CIDR, when it is refused, and why (a noun phrase: "X is <reason>"). */
export interface AddressRange {
  cidr: string;
  tier: RangeTier;
  reason: string;
}

export const ADDRESS_RANGES: readonly AddressRange[] = [
  // Host services answer any machine of the platform that asks, often with its credentials.
  { cidr: '169.254.169.254/32', tier: 'always', reason: 'the cloud metadata service (AWS, GCP, Azure, OpenStack)' },
  { cidr: 'fd00:ec2::254/128', tier: 'always', reason: "AWS's IPv6 metadata service" },
  { cidr: '100.100.100.200/32', tier: 'always', reason: "Alibaba Cloud's metadata service" },
  { cidr: '168.63.129.16/32', tier: 'always', reason: "Azure's host service (WireServer)" },
  { cidr: '192.0.0.192/32', tier: 'always', reason: "Oracle Cloud's metadata service" },
  // Special-purpose ranges that are never a customer's server.
  { cidr: '169.254.0.0/16', tier: 'always', reason: 'link-local' },
  { cidr: 'fe80::/10', tier: 'always', reason: 'link-local' },
  { cidr: '0.0.0.0/8', tier: 'always', reason: '"this network" (0.0.0.0/8)' },
  { cidr: '::/128', tier: 'always', reason: 'the unspecified address' },
  { cidr: '192.0.0.0/24', tier: 'always', reason: 'IETF protocol assignments' },
  { cidr: '2001::/23', tier: 'always', reason: 'IETF protocol assignments (Teredo, benchmarking, ORCHID)' },
  { cidr: '192.0.2.0/24', tier: 'always', reason: 'documentation (TEST-NET-1)' },
  { cidr: '198.51.100.0/24', tier: 'always', reason: 'documentation (TEST-NET-2)' },
  { cidr: '203.0.113.0/24', tier: 'always', reason: 'documentation (TEST-NET-3)' },
  { cidr: '2001:db8::/32', tier: 'always', reason: 'documentation' },
  { cidr: '3fff::/20', tier: 'always', reason: 'documentation' },
  { cidr: '198.18.0.0/15', tier: 'always', reason: 'benchmarking' },
  { cidr: '192.88.99.0/24', tier: 'always', reason: 'the deprecated 6to4 relay anycast' },
  { cidr: '100::/64', tier: 'always', reason: 'discard-only' },
  { cidr: '224.0.0.0/4', tier: 'always', reason: 'multicast' },
  { cidr: 'ff00::/8', tier: 'always', reason: 'multicast' },
  { cidr: '240.0.0.0/4', tier: 'always', reason: 'reserved (240.0.0.0/4, with the broadcast address)' },
  // The operator's own network: fine for one business on its own server, not for a shared one.
  { cidr: '127.0.0.0/8', tier: 'private', reason: 'loopback' },
  { cidr: '::1/128', tier: 'private', reason: 'loopback' },
  { cidr: '10.0.0.0/8', tier: 'private', reason: 'private' },
  { cidr: '172.16.0.0/12', tier: 'private', reason: 'private' },
  { cidr: '192.168.0.0/16', tier: 'private', reason: 'private' },
  { cidr: '100.64.0.0/10', tier: 'private', reason: 'carrier-grade NAT (shared address space)' },
  { cidr: 'fc00::/7', tier: 'private', reason: 'unique-local (private)' },
  { cidr: 'fec0::/10', tier: 'private', reason: 'site-local (private, deprecated)' },
  { cidr: '64:ff9b:1::/48', tier: 'private', reason: 'local-use NAT64 (a translator inside the network)' },
];

/** What a range check found: the row, and the IPv4 address it was judged by if the IP carried one. */
export interface RangeMatch {
  range: AddressRange;
  carried?: string;
}

const LISTS = ADDRESS_RANGES.map((range) => {
  const [network, prefix] = range.cidr.split('/') as [string, string];
  const list = new BlockList();
  list.addSubnet(network, Number(prefix), isIP(network) === 4 ? 'ipv4' : 'ipv6');
  return { range, list };
});

/**
 * The row an IP address falls in that applies in this mode, or null when none does. An IPv6
 * address that carries an IPv4 one reaches that IPv4 host, so it is judged by that host first.
 */
export function refusedRange(ip: string, allowPrivate: boolean): RangeMatch | null {
  const address = withoutZone(ip);
  const family = isIP(address);
  if (family === 0) throw new Error(`not an IP address: ${ip}`);
  if (family === 6) {
    for (const carried of carriedIPv4(address)) {
      const match = refusedRange(carried, allowPrivate);
      if (match) return { range: match.range, carried };
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const row = LISTS.find(({ range, list }) => (allowPrivate ? range.tier === 'always' : true) && list.check(address, type));
  return row ? { range: row.range } : null;
}

/** `fe80::1%eth0` → `fe80::1`: a zone id says nothing about the range. */
export function withoutZone(ip: string): string {
  return ip.replace(/%.*$/, '');
}

/** The IPv4 address an IPv4-mapped (`::ffff:a.b.c.d`) IPv6 address stands for, or the address itself. */
export function unmapped(ip: string): string {
  const address = withoutZone(ip);
  const h = isIP(address) === 6 ? hextets(address) : null;
  return h && h.slice(0, 5).every((x) => x === 0) && h[5] === 0xffff ? quad(h[6]!, h[7]!) : address;
}

/**
 * Every IPv4 address an IPv6 one may carry: IPv4-mapped, SIIT-translated (`::ffff:0:a.b.c.d`),
 * NAT64 (64:ff9b::/96; local-use 64:ff9b:1::/48 at each RFC 6052 prefix length, as the
 * operator's choice is unknown: a refused address at any of them refuses), 6to4 (2002::/16) and IPv4-compatible (`::a.b.c.d`).
 */
function carriedIPv4(ip: string): string[] {
  const h = hextets(ip);
  if (!h) return [];
  const zeros = (from: number, to: number) => h.slice(from, to).every((x) => x === 0);
  const bytes = h.flatMap((x) => [x >> 8, x & 0xff]);
  const at = (...i: number[]) => i.map((n) => bytes[n]).join('.');
  if (zeros(0, 5) && h[5] === 0xffff) return [quad(h[6]!, h[7]!)];
  if (zeros(0, 4) && h[4] === 0xffff && h[5] === 0) return [quad(h[6]!, h[7]!)];
  if (h[0] === 0x64 && h[1] === 0xff9b && zeros(2, 6)) return [quad(h[6]!, h[7]!)];
  if (h[0] === 0x64 && h[1] === 0xff9b && h[2] === 1) {
    // The positions the address is not at read as mostly zeros: 0.0.0.0/8 says "not here".
    return [at(6, 7, 9, 10), at(7, 9, 10, 11), at(9, 10, 11, 12), at(12, 13, 14, 15)].filter((v4) => !v4.startsWith('0.'));
  }
  if (h[0] === 0x2002) return [quad(h[1]!, h[2]!)];
  // `::` and `::1` are IPv6's own unspecified and loopback addresses, not IPv4-compatible ones.
  if (zeros(0, 6) && h[6]! >> 8 !== 0) return [quad(h[6]!, h[7]!)];
  return [];
}

function quad(hi: number, lo: number): string {
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

/** The eight 16-bit groups of an IPv6 address (already known to be valid). */
function hextets(ip: string): number[] | null {
  let text = ip.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string) => (s ? s.split(':').map((x) => parseInt(x, 16)) : []);
  const left = parse(head);
  const right = parse(tail ?? '');
  const fill = tail === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  const groups = [...left, ...fill, ...right];
  return groups.length === 8 ? groups : null;
}
