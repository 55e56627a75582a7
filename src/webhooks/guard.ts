import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

// SSRF guard for customer-supplied webhook URLs (SPEC §5). Link-local and cloud metadata
// addresses are refused always; private and loopback ranges only when private targets are denied.

export interface GuardOptions {
  /** False when `WAGATE_WEBHOOK_PRIVATE=deny`: loopback and private ranges are refused too. */
  allowPrivate: boolean;
}

/** Resolves a hostname to every address it has (the shape of `dns.lookup` with `all: true`). */
export type LookupAll = (hostname: string, options: { family?: number; hints?: number }) => Promise<LookupAddress[]>;

/** A refused address; its message is fit to show the customer. */
export class WebhookAddressRefused extends Error {
  readonly code = 'ERR_WEBHOOK_ADDRESS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'WebhookAddressRefused';
  }
}

interface Rule {
  reason: string;
  /** Refused even when private targets are allowed. */
  always: boolean;
  v4?: string[];
  v6?: string[];
}

// First match wins, so the precise metadata addresses come before the ranges that hold them.
const RULES: Rule[] = [
  { reason: 'link-local (metadata)', always: true, v4: ['169.254.169.254/32'] },
  { reason: 'a cloud metadata address', always: true, v4: ['100.100.100.200/32'], v6: ['fd00:ec2::254/128'] },
  { reason: 'link-local', always: true, v4: ['169.254.0.0/16'], v6: ['fe80::/10'] },
  { reason: 'unspecified', always: true, v4: ['0.0.0.0/8'], v6: ['::/128'] },
  { reason: 'multicast', always: true, v4: ['224.0.0.0/4'], v6: ['ff00::/8'] },
  { reason: 'reserved', always: true, v4: ['240.0.0.0/4'] },
  { reason: 'loopback', always: false, v4: ['127.0.0.0/8'], v6: ['::1/128'] },
  {
    reason: 'private',
    always: false,
    v4: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'],
    v6: ['fc00::/7', 'fec0::/10'],
  },
];

const LISTS = RULES.map((rule) => {
  const list = new BlockList();
  for (const cidr of rule.v4 ?? []) addSubnet(list, cidr, 'ipv4');
  for (const cidr of rule.v6 ?? []) addSubnet(list, cidr, 'ipv6');
  return { rule, list };
});

const defaultLookup: LookupAll = (hostname, options) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    );
  });

/** Why a webhook may not connect to this IP address, or null when it may. */
export function checkAddress(ip: string, { allowPrivate }: GuardOptions): string | null {
  const address = ip.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) says nothing about the range
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    // An IPv6 address that carries an IPv4 one reaches that IPv4 host: judge it by that host.
    const embedded = embeddedIPv4(address);
    if (embedded) {
      const reason = checkAddress(embedded, { allowPrivate });
      return reason && `${reason} (carries IPv4 ${embedded})`;
    }
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const { rule, list } of LISTS) {
    if (!list.check(address, type)) continue;
    if (rule.always) return rule.reason;
    if (!allowPrivate) return `${rule.reason} (private targets are denied: WAGATE_WEBHOOK_PRIVATE=deny)`;
  }
  return null;
}

/** Resolves a webhook URL's host (literal IPs as they are) and checks every address; throws WebhookAddressRefused. */
export async function resolveAndCheck(
  url: string | URL,
  opts: GuardOptions,
  lookup: LookupAll = defaultLookup,
): Promise<string[]> {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new WebhookAddressRefused(`webhook url refused: scheme ${parsed.protocol} is not http or https`);
  }
  const host = hostOf(parsed);
  if (isIP(host)) {
    assertAllowed(host, [host], opts);
    return [host];
  }
  const addresses = (await lookup(host, {})).map((a) => a.address);
  assertAllowed(host, addresses, opts);
  return addresses;
}

/** Throws WebhookAddressRefused when a literal-IP URL names a refused address (DNS lookup never runs for those). */
export function checkLiteralHost(url: URL, opts: GuardOptions): void {
  const host = hostOf(url);
  if (isIP(host)) assertAllowed(host, [host], opts);
}

/**
 * A `lookup` for `net.connect` (undici's `connect: { lookup }`): resolves, refuses the connection
 * if ANY address is refused, and hands the socket only addresses it checked, so a DNS answer
 * that changes between a check and the connect (rebinding) cannot slip through.
 */
export function guardedLookup(opts: GuardOptions, lookup: LookupAll = defaultLookup): LookupFunction {
  return (hostname, options, callback) => {
    const { family, hints } = options;
    lookup(hostname, { family: typeof family === 'number' ? family : undefined, hints })
      .then((found) => {
        assertAllowed(hostname, found.map((a) => a.address), opts);
        if (found.length === 0) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
        if (options.all) callback(null, found);
        else callback(null, found[0]!.address, found[0]!.family);
      })
      .catch((err: NodeJS.ErrnoException) => callback(err, '', 0));
  };
}

function assertAllowed(host: string, addresses: string[], opts: GuardOptions): void {
  for (const address of addresses) {
    const reason = checkAddress(address, opts);
    if (reason === null) continue;
    const what = host === address ? `${address} is` : `${host} resolves to ${address}, which is`;
    throw new WebhookAddressRefused(`webhook url refused: ${what} ${reason}`);
  }
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

function addSubnet(list: BlockList, cidr: string, type: 'ipv4' | 'ipv6'): void {
  const [network, prefix] = cidr.split('/') as [string, string];
  list.addSubnet(network, Number(prefix), type);
}

/** The IPv4 address inside an IPv4-mapped, -compatible, NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address. */
function embeddedIPv4(ip: string): string | null {
  const h = hextets(ip);
  if (!h) return null;
  const zeros = (from: number, to: number) => h.slice(from, to).every((x) => x === 0);
  const quad = (hi: number, lo: number) => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
  if (zeros(0, 5) && h[5] === 0xffff) return quad(h[6]!, h[7]!); // ::ffff:a.b.c.d
  if (h[0] === 0x64 && h[1] === 0xff9b && zeros(2, 6)) return quad(h[6]!, h[7]!); // 64:ff9b::a.b.c.d
  if (h[0] === 0x2002) return quad(h[1]!, h[2]!); // 2002:AABB:CCDD::
  // ::a.b.c.d (deprecated); `::` and `::1` are IPv6's own unspecified and loopback addresses.
  if (zeros(0, 6) && h[6]! >> 8 !== 0) return quad(h[6]!, h[7]!);
  return null;
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
