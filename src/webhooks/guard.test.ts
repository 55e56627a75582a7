import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { checkAddress, guardedLookup, resolveAndCheck, WebhookAddressRefused, type LookupAll } from './guard.js';

const deny = { allowPrivate: false };
const allow = { allowPrivate: true };

// [address, reason fragment when refused with private allowed, when refused with private denied]
// null means the address is permitted in that mode.
const CASES: Array<[string, string | null, string | null]> = [
  // refused always: link-local and metadata
  ['169.254.169.254', 'link-local (metadata)', 'link-local (metadata)'],
  ['169.254.1.1', 'link-local', 'link-local'],
  ['100.100.100.200', 'cloud metadata', 'cloud metadata'],
  ['fd00:ec2::254', 'cloud metadata', 'cloud metadata'],
  ['fe80::1', 'link-local', 'link-local'],
  ['fe80::1%eth0', 'link-local', 'link-local'],
  ['febf:ffff::1', 'link-local', 'link-local'],
  // IPv4-mapped and other IPv6 forms that carry an IPv4 address
  ['::ffff:169.254.169.254', 'link-local (metadata)', 'link-local (metadata)'],
  ['::ffff:a9fe:a9fe', 'link-local (metadata)', 'link-local (metadata)'],
  ['::FFFF:A9FE:A9FE', 'link-local (metadata)', 'link-local (metadata)'],
  ['0:0:0:0:0:ffff:a9fe:a9fe', 'link-local (metadata)', 'link-local (metadata)'],
  ['64:ff9b::a9fe:a9fe', 'link-local (metadata)', 'link-local (metadata)'],
  ['2002:a9fe:a9fe::1', 'link-local (metadata)', 'link-local (metadata)'],
  ['::169.254.169.254', 'link-local (metadata)', 'link-local (metadata)'],
  ['::ffff:127.0.0.1', null, 'loopback'],
  ['::ffff:10.0.0.1', null, 'private'],
  ['::ffff:8.8.8.8', null, null],
  // unspecified, multicast, reserved: refused always
  ['0.0.0.0', 'unspecified', 'unspecified'],
  ['0.1.2.3', 'unspecified', 'unspecified'],
  ['::', 'unspecified', 'unspecified'],
  ['::ffff:0.0.0.0', 'unspecified', 'unspecified'],
  ['224.0.0.1', 'multicast', 'multicast'],
  ['ff02::1', 'multicast', 'multicast'],
  ['255.255.255.255', 'reserved', 'reserved'],
  // loopback and private: refused only when private targets are denied
  ['127.0.0.1', null, 'loopback'],
  ['127.255.0.9', null, 'loopback'],
  ['::1', null, 'loopback'],
  ['10.1.2.3', null, 'private'],
  ['172.16.0.1', null, 'private'],
  ['172.31.255.254', null, 'private'],
  ['192.168.1.1', null, 'private'],
  ['100.64.0.1', null, 'private'],
  ['100.127.255.254', null, 'private'],
  ['fc00::1', null, 'private'],
  ['fd12:3456::1', null, 'private'],
  // public: always permitted
  ['8.8.8.8', null, null],
  ['172.32.0.1', null, null],
  ['100.128.0.1', null, null],
  ['169.255.0.1', null, null],
  ['2606:4700:4700::1111', null, null],
  ['2a00:1450:4001::200e', null, null],
];

describe('checkAddress', () => {
  it.each(CASES)('%s: with private allowed → %s; denied → %s', (ip, whenAllowed, whenDenied) => {
    const allowed = checkAddress(ip, allow);
    const denied = checkAddress(ip, deny);
    if (whenAllowed === null) expect(allowed).toBeNull();
    else expect(allowed).toContain(whenAllowed);
    if (whenDenied === null) expect(denied).toBeNull();
    else expect(denied).toContain(whenDenied);
  });

  it('names the IPv4 address an IPv6 one carries', () => {
    expect(checkAddress('::ffff:a9fe:a9fe', allow)).toBe('link-local (metadata) (carries IPv4 169.254.169.254)');
  });

  it('refuses something that is not an IP address', () => {
    expect(checkAddress('example.com', allow)).toBe('not an IP address');
  });
});

const fakeDns = (table: Record<string, string[]>): LookupAll => async (hostname) => {
  const addresses = table[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

describe('resolveAndCheck', () => {
  it('refuses a literal metadata IP without asking DNS', async () => {
    const lookup: LookupAll = () => Promise.reject(new Error('DNS must not be asked'));
    await expect(resolveAndCheck('http://169.254.169.254/latest/meta-data', allow, lookup)).rejects.toThrow(
      'webhook url refused: 169.254.169.254 is link-local (metadata)',
    );
  });

  it('refuses a bracketed literal IPv6 URL', async () => {
    await expect(resolveAndCheck('http://[::ffff:a9fe:a9fe]/', allow)).rejects.toBeInstanceOf(WebhookAddressRefused);
  });

  it.each(['http://2130706433/', 'http://0x7f.1/', 'http://[::ffff:127.0.0.1]/', 'http://[0:0:0:0:0:0:0:1]/'])(
    'sees through the spelling of the literal loopback URL %s',
    async (url) => {
      await expect(resolveAndCheck(url, deny, fakeDns({}))).rejects.toThrow(/is loopback/);
    },
  );

  it('refuses a hostname that resolves to a link-local address', async () => {
    const lookup = fakeDns({ 'hooks.example': ['169.254.169.254'] });
    await expect(resolveAndCheck('https://hooks.example/in', allow, lookup)).rejects.toThrow(
      'webhook url refused: hooks.example resolves to 169.254.169.254, which is link-local (metadata)',
    );
  });

  it('refuses a hostname when any one of its addresses is refused', async () => {
    const lookup = fakeDns({ 'mixed.example': ['93.184.216.34', '10.0.0.5'] });
    await expect(resolveAndCheck('https://mixed.example/', deny, lookup)).rejects.toThrow(/10\.0\.0\.5, which is private/);
  });

  it('answers every address of a permitted hostname', async () => {
    const lookup = fakeDns({ 'ok.example': ['93.184.216.34', '2606:2800:220:1::1'] });
    await expect(resolveAndCheck('https://ok.example/', deny, lookup)).resolves.toEqual([
      '93.184.216.34',
      '2606:2800:220:1::1',
    ]);
  });

  it('refuses a scheme other than http and https', async () => {
    await expect(resolveAndCheck('file:///etc/passwd', allow)).rejects.toThrow(/scheme file:/);
  });
});

describe('guardedLookup', () => {
  const call = (
    fn: ReturnType<typeof guardedLookup>,
    hostname: string,
    all: boolean,
  ): Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }> =>
    new Promise((resolve) => fn(hostname, { all }, (err, address, family) => resolve({ err, address, family })));

  it('hands net.connect a checked address', async () => {
    const fn = guardedLookup(allow, fakeDns({ 'hooks.example': ['127.0.0.1'] }));
    expect(await call(fn, 'hooks.example', false)).toEqual({ err: null, address: '127.0.0.1', family: 4 });
  });

  it('answers the list form when net.connect asks for all addresses', async () => {
    const fn = guardedLookup(allow, fakeDns({ 'hooks.example': ['127.0.0.1', '::1'] }));
    const { err, address } = await call(fn, 'hooks.example', true);
    expect(err).toBeNull();
    expect(address).toEqual([
      { address: '127.0.0.1', family: 4 },
      { address: '::1', family: 6 },
    ]);
  });

  it('fails the connection when an address is refused', async () => {
    const fn = guardedLookup(deny, fakeDns({ 'rebind.example': ['127.0.0.1'] }));
    const { err } = await call(fn, 'rebind.example', false);
    expect(err).toBeInstanceOf(WebhookAddressRefused);
    expect(err?.message).toBe(
      'webhook url refused: rebind.example resolves to 127.0.0.1, which is loopback (private targets are denied: WAGATE_WEBHOOK_PRIVATE=deny)',
    );
  });

  it('passes DNS failures through', async () => {
    const { err } = await call(guardedLookup(allow, fakeDns({})), 'nowhere.example', false);
    expect(err?.code).toBe('ENOTFOUND');
  });

  it('uses the system resolver by default', async () => {
    const expected = await new Promise<string>((resolve) => dnsLookup('localhost', (_e, a) => resolve(a)));
    const { err, address } = await call(guardedLookup(allow), 'localhost', true);
    expect(err).toBeNull();
    expect((address as LookupAddress[]).map((a) => a.address)).toContain(expected);
  });
});
