import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { createServer, isIPv6, type AddressInfo, type Server } from 'node:net';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressRefused, checkAddress, checkOutboundUrl, guardedConnector, guardedLookup, type LookupAll, type OutboundGuard } from './guard.js';
import { ADDRESS_RANGES, type AddressRange } from './ranges.js';

const allow: OutboundGuard = { allowPrivate: true };
const deny: OutboundGuard = { allowPrivate: false };

/** A test resolver: names answer what the table says, anything else is ENOTFOUND. No packet leaves. */
const fakeDns = (table: Record<string, string[]>): LookupAll => async (hostname) => {
  const addresses = table[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: isIPv6(address) ? 6 : 4 }));
};

/** An address inside a row: the address itself for a single one, else the network's first host. */
function inside({ cidr }: AddressRange): string {
  const [network, prefix] = cidr.split('/') as [string, string];
  if (prefix === '32' || prefix === '128') return network;
  if (isIPv6(network)) return network.endsWith('::') ? `${network}1` : network;
  const octets = network.split('.').map(Number);
  octets[3]! += 1;
  return octets.join('.');
}

const literal = (ip: string) => `http://${isIPv6(ip) ? `[${ip}]` : ip}:8080/hook`;

describe('checkOutboundUrl over every row of the range table', () => {
  const rows = ADDRESS_RANGES.map((row) => [row.cidr, row] as const);

  it.each(rows)('%s: refused in its modes, as a literal URL and as a resolved name', async (_cidr, row) => {
    const ip = inside(row);
    const lookup = fakeDns({ 'hooks.example': [ip] });
    const noDns: LookupAll = () => Promise.reject(new Error('DNS must not be asked for a literal IP'));
    for (const guard of [allow, deny]) {
      const refused = row.tier === 'always' || !guard.allowPrivate;
      const byLiteral = checkOutboundUrl(literal(ip), { ...guard, lookup: noDns });
      const byName = checkOutboundUrl('https://hooks.example/in', { ...guard, lookup });
      if (refused) {
        await expect(byLiteral).rejects.toThrow(`url refused: ${ip} is ${row.reason} (${row.cidr}`);
        await expect(byName).rejects.toThrow(`url refused: hooks.example resolves to ${ip}, which is ${row.reason} (${row.cidr}`);
      } else {
        await expect(byLiteral).resolves.toEqual([ip]);
        await expect(byName).resolves.toEqual([ip]);
      }
    }
  });

  it('says why a private range is refused only under deny', async () => {
    await expect(checkOutboundUrl('http://10.0.0.1/', deny)).rejects.toThrow(
      'url refused: 10.0.0.1 is private (10.0.0.0/8; private targets are denied: WAGATE_WEBHOOK_PRIVATE=deny)',
    );
  });

  it('names the IPv4 address a mapped IPv6 one carries', async () => {
    await expect(checkOutboundUrl('http://[::ffff:a9fe:a9fe]/', allow)).rejects.toThrow('(169.254.169.254/32, carrying IPv4 169.254.169.254)');
  });

  it.each(['http://2130706433/', 'http://0x7f.1/', 'http://[::ffff:127.0.0.1]/', 'http://[0:0:0:0:0:0:0:1]/'])(
    'sees through the spelling of the literal loopback URL %s',
    async (url) => {
      await expect(checkOutboundUrl(url, { ...deny, lookup: fakeDns({}) })).rejects.toThrow(/is loopback/);
    },
  );

  it('refuses a name when any one of its addresses is refused', async () => {
    const lookup = fakeDns({ 'mixed.example': ['93.184.216.34', '198.18.0.5'] });
    await expect(checkOutboundUrl('https://mixed.example/', { ...allow, lookup })).rejects.toThrow(/198\.18\.0\.5, which is benchmarking/);
  });

  it('answers every address of a permitted name', async () => {
    const lookup = fakeDns({ 'ok.example': ['93.184.216.34', '2606:2800:220:1::1'] });
    await expect(checkOutboundUrl('https://ok.example/', { ...deny, lookup })).resolves.toEqual(['93.184.216.34', '2606:2800:220:1::1']);
  });

  it('lets a DNS failure through for the caller to judge', async () => {
    await expect(checkOutboundUrl('https://nowhere.example/', { ...allow, lookup: fakeDns({}) })).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('refuses a scheme other than the ones the caller accepts', async () => {
    await expect(checkOutboundUrl('file:///etc/passwd', allow)).rejects.toThrow('url refused: scheme file: is not http or https');
    await expect(checkOutboundUrl('socks5://10.0.0.1:1080', deny, ['socks5:', 'socks5h:'])).rejects.toThrow(/10\.0\.0\.1 is private/);
  });
});

describe("the gateway's own listen address", () => {
  const own = (address: string, port: number): OutboundGuard => ({ allowPrivate: true, ownEndpoints: () => [{ address, port }] });

  it.each([
    ['127.0.0.1', 8080, '127.0.0.1', 8080, true],
    ['127.0.0.1', 8080, '::ffff:127.0.0.1', 8080, true],
    ['127.0.0.1', 8080, '127.0.0.1', 8081, false],
    ['127.0.0.1', 8080, '127.0.0.2', 8080, false], // nothing of ours answers there
    ['0.0.0.0', 8080, '127.0.0.2', 8080, true], // listening on all: every local address is ours
    ['::', 8080, '127.0.0.1', 8080, true],
    ['::', 8080, '::1', 8080, true],
    ['0.0.0.0', 8080, '93.184.216.34', 8080, false],
    ['::1', 80, '::1', 80, true],
  ] as const)('listening on %s:%i, %s:%i is its own: %s', (address, port, ip, target, expected) => {
    const reason = checkAddress(ip, target, own(address, port));
    expect(reason).toBe(expected ? `the gateway's own listen address (port ${target})` : null);
  });

  it('counts the default port of the scheme', async () => {
    await expect(checkOutboundUrl('http://127.0.0.1/x', own('127.0.0.1', 80))).rejects.toThrow("127.0.0.1 is the gateway's own listen address (port 80)");
    await expect(checkOutboundUrl('https://127.0.0.1/x', own('127.0.0.1', 80))).resolves.toEqual(['127.0.0.1']);
  });

  it('refuses a name that resolves to it', async () => {
    const guard = { ...own('127.0.0.1', 9000), lookup: fakeDns({ 'me.example': ['127.0.0.1'] }) };
    await expect(checkOutboundUrl('http://me.example:9000/', guard)).rejects.toThrow("me.example resolves to 127.0.0.1, which is the gateway's own listen address (port 9000)");
  });

  it('knows nothing of its own before it listens', () => {
    expect(checkAddress('127.0.0.1', 8080, { allowPrivate: true, ownEndpoints: () => [] })).toBeNull();
  });
});

describe('guardedLookup', () => {
  const call = (fn: ReturnType<typeof guardedLookup>, hostname: string, all: boolean): Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> =>
    new Promise((resolve) => fn(hostname, { all }, (err, address, family) => resolve({ err, address, family })));

  it('hands net.connect a checked address', async () => {
    const fn = guardedLookup({ ...allow, lookup: fakeDns({ 'hooks.example': ['127.0.0.1'] }) }, 80);
    expect(await call(fn, 'hooks.example', false)).toEqual({ err: null, address: '127.0.0.1', family: 4 });
  });

  it('answers the list form when net.connect asks for all addresses', async () => {
    const fn = guardedLookup({ ...allow, lookup: fakeDns({ 'hooks.example': ['127.0.0.1', '::1'] }) }, 80);
    const { err, address } = await call(fn, 'hooks.example', true);
    expect(err).toBeNull();
    expect(address).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
  });

  it('fails the connection when an address is refused at connect time (rebinding)', async () => {
    const { err } = await call(guardedLookup({ ...deny, lookup: fakeDns({ 'rebind.example': ['127.0.0.1'] }) }, 80), 'rebind.example', false);
    expect(err).toBeInstanceOf(AddressRefused);
    expect(err?.message).toBe(
      'url refused: rebind.example resolves to 127.0.0.1, which is loopback (127.0.0.0/8; private targets are denied: WAGATE_WEBHOOK_PRIVATE=deny)',
    );
  });

  it('judges the port it was made for', async () => {
    const guard: OutboundGuard = { ...allow, ownEndpoints: () => [{ address: '127.0.0.1', port: 9000 }], lookup: fakeDns({ 'me.example': ['127.0.0.1'] }) };
    expect((await call(guardedLookup(guard, 9000), 'me.example', false)).err).toBeInstanceOf(AddressRefused);
    expect((await call(guardedLookup(guard, 9001), 'me.example', false)).err).toBeNull();
  });

  it('passes DNS failures through', async () => {
    const { err } = await call(guardedLookup({ ...allow, lookup: fakeDns({}) }, 80), 'nowhere.example', false);
    expect(err?.code).toBe('ENOTFOUND');
  });

  it('uses the system resolver by default', async () => {
    const expected = await new Promise<string>((resolve) => dnsLookup('localhost', (_e, a) => resolve(a)));
    const { err, address } = await call(guardedLookup(allow, 80), 'localhost', true);
    expect(err).toBeNull();
    expect((address as LookupAddress[]).map((a) => a.address)).toContain(expected);
  });
});

describe('guardedConnector', () => {
  let server: Server | null = null;
  let agent: Agent | null = null;
  afterEach(async () => {
    await agent?.close();
    await new Promise((r) => (server ? server.close(r) : r(null)));
    server = agent = null;
  });

  /** A loopback listener that counts connections and answers every request 200. */
  async function listener(): Promise<{ port: number; connections: () => number }> {
    let connections = 0;
    server = createServer((socket) => {
      connections += 1;
      socket.on('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { port: (server.address() as AddressInfo).port, connections: () => connections };
  }

  it('refuses a literal IP without connecting (net.connect never asks lookup for those)', async () => {
    const l = await listener();
    agent = new Agent({ connect: guardedConnector(deny) });
    await expect(request(`http://127.0.0.1:${l.port}/`, { dispatcher: agent })).rejects.toThrow('url refused: 127.0.0.1 is loopback');
    expect(l.connections()).toBe(0);
  });

  it('refuses a name resolving to the listener when it is the gateway itself, and connects when it is not', async () => {
    const l = await listener();
    const lookup = fakeDns({ 'me.example': ['127.0.0.1'] });
    agent = new Agent({ connect: guardedConnector({ ...allow, lookup, ownEndpoints: () => [{ address: '127.0.0.1', port: l.port }] }) });
    await expect(request(`http://me.example:${l.port}/`, { dispatcher: agent })).rejects.toThrow("gateway's own listen address");
    expect(l.connections()).toBe(0);
    await agent.close();
    agent = new Agent({ connect: guardedConnector({ ...allow, lookup }) });
    const res = await request(`http://me.example:${l.port}/`, { dispatcher: agent });
    await res.body.dump();
    expect(res.statusCode).toBe(200);
    expect(l.connections()).toBe(1);
  });
});
