import { describe, expect, it } from 'vitest';
import { ADDRESS_RANGES, refusedRange } from './ranges.js';

// Every range the guard refuses, row by row: an address inside it, and the row it must meet
// in each mode (null: permitted). Written out by hand, not derived from ADDRESS_RANGES, so a
// row that goes missing or moves to the wrong tier fails here.
type Case = [address: string, whenAllowed: string | null, whenDenied: string | null];

const ALWAYS: Case[] = [
  ['169.254.169.254', '169.254.169.254/32', '169.254.169.254/32'],
  ['fd00:ec2::254', 'fd00:ec2::254/128', 'fd00:ec2::254/128'],
  ['100.100.100.200', '100.100.100.200/32', '100.100.100.200/32'],
  ['168.63.129.16', '168.63.129.16/32', '168.63.129.16/32'],
  ['192.0.0.192', '192.0.0.192/32', '192.0.0.192/32'],
  ['169.254.0.1', '169.254.0.0/16', '169.254.0.0/16'],
  ['169.254.255.254', '169.254.0.0/16', '169.254.0.0/16'],
  ['fe80::1', 'fe80::/10', 'fe80::/10'],
  ['fe80::1%eth0', 'fe80::/10', 'fe80::/10'],
  ['febf:ffff::1', 'fe80::/10', 'fe80::/10'],
  ['0.0.0.0', '0.0.0.0/8', '0.0.0.0/8'],
  ['0.255.255.255', '0.0.0.0/8', '0.0.0.0/8'],
  ['::', '::/128', '::/128'],
  ['192.0.0.1', '192.0.0.0/24', '192.0.0.0/24'],
  ['192.0.0.255', '192.0.0.0/24', '192.0.0.0/24'],
  ['2001::1', '2001::/23', '2001::/23'],
  ['2001:2::1', '2001::/23', '2001::/23'],
  ['2001:1ff:ffff::1', '2001::/23', '2001::/23'],
  ['192.0.2.1', '192.0.2.0/24', '192.0.2.0/24'],
  ['198.51.100.7', '198.51.100.0/24', '198.51.100.0/24'],
  ['203.0.113.255', '203.0.113.0/24', '203.0.113.0/24'],
  ['2001:db8::1', '2001:db8::/32', '2001:db8::/32'],
  ['3fff:fff::1', '3fff::/20', '3fff::/20'],
  ['198.18.0.0', '198.18.0.0/15', '198.18.0.0/15'],
  ['198.19.255.255', '198.18.0.0/15', '198.18.0.0/15'],
  ['192.88.99.1', '192.88.99.0/24', '192.88.99.0/24'],
  ['100::1', '100::/64', '100::/64'],
  ['224.0.0.1', '224.0.0.0/4', '224.0.0.0/4'],
  ['239.255.255.255', '224.0.0.0/4', '224.0.0.0/4'],
  ['ff02::1', 'ff00::/8', 'ff00::/8'],
  ['240.0.0.1', '240.0.0.0/4', '240.0.0.0/4'],
  ['255.255.255.255', '240.0.0.0/4', '240.0.0.0/4'],
];

const PRIVATE: Case[] = [
  ['127.0.0.1', null, '127.0.0.0/8'],
  ['127.255.0.9', null, '127.0.0.0/8'],
  ['::1', null, '::1/128'],
  ['10.1.2.3', null, '10.0.0.0/8'],
  ['172.16.0.1', null, '172.16.0.0/12'],
  ['172.31.255.254', null, '172.16.0.0/12'],
  ['192.168.1.1', null, '192.168.0.0/16'],
  ['100.64.0.1', null, '100.64.0.0/10'],
  ['100.127.255.254', null, '100.64.0.0/10'],
  ['fc00::1', null, 'fc00::/7'],
  ['fd12:3456::1', null, 'fc00::/7'],
  ['fec0::1', null, 'fec0::/10'],
  ['64:ff9b:1:808:8:808:808:808', null, '64:ff9b:1::/48'], // 8.8.8.8 at every RFC 6052 position
];

// IPv6 addresses that carry an IPv4 one are judged by that IPv4 address.
const CARRIED: Case[] = [
  ['::ffff:169.254.169.254', '169.254.169.254/32', '169.254.169.254/32'],
  ['::ffff:a9fe:a9fe', '169.254.169.254/32', '169.254.169.254/32'],
  ['::FFFF:A9FE:A9FE', '169.254.169.254/32', '169.254.169.254/32'],
  ['0:0:0:0:0:ffff:a9fe:a9fe', '169.254.169.254/32', '169.254.169.254/32'],
  ['::ffff:0:169.254.169.254', '169.254.169.254/32', '169.254.169.254/32'], // SIIT
  ['::ffff:0:a83f:8110', '168.63.129.16/32', '168.63.129.16/32'],
  ['::ffff:0:10.0.0.1', null, '10.0.0.0/8'],
  ['64:ff9b::a9fe:a9fe', '169.254.169.254/32', '169.254.169.254/32'],
  ['64:ff9b:1::a9fe:a9fe', '169.254.169.254/32', '169.254.169.254/32'], // local-use NAT64, /96
  ['64:ff9b:1:a9fe:00a9:fe00::', '169.254.169.254/32', '169.254.169.254/32'], // /48
  ['64:ff9b:1:00a9:00fe:a9fe::', '169.254.169.254/32', '169.254.169.254/32'], // /56
  ['64:ff9b:1:0:00a9:fea9:fe00:0', '169.254.169.254/32', '169.254.169.254/32'], // /64
  ['2002:a9fe:a9fe::1', '169.254.169.254/32', '169.254.169.254/32'],
  ['::169.254.169.254', '169.254.169.254/32', '169.254.169.254/32'],
  ['::ffff:198.18.0.1', '198.18.0.0/15', '198.18.0.0/15'],
  ['::ffff:100.64.0.1', null, '100.64.0.0/10'],
  ['::ffff:127.0.0.1', null, '127.0.0.0/8'],
  ['::ffff:10.0.0.1', null, '10.0.0.0/8'],
  ['::ffff:0.0.0.0', '0.0.0.0/8', '0.0.0.0/8'],
];

const PUBLIC: Case[] = [
  ['8.8.8.8', null, null],
  ['::ffff:8.8.8.8', null, null],
  ['64:ff9b::808:808', null, null],
  ['172.32.0.1', null, null],
  ['100.128.0.1', null, null],
  ['169.255.0.1', null, null],
  ['192.0.1.1', null, null],
  ['198.20.0.1', null, null],
  ['223.255.255.255', null, null],
  ['2606:4700:4700::1111', null, null],
  ['2a00:1450:4001::200e', null, null],
  ['2001:200::1', null, null],
];

const CASES = [...ALWAYS, ...PRIVATE, ...CARRIED, ...PUBLIC];

describe('refusedRange', () => {
  it.each(CASES)('%s → %s with private targets allowed, %s when denied', (ip, whenAllowed, whenDenied) => {
    expect(refusedRange(ip, true)?.range.cidr ?? null).toBe(whenAllowed);
    expect(refusedRange(ip, false)?.range.cidr ?? null).toBe(whenDenied);
  });

  it('is tested on every row of the table', () => {
    const tested = new Set(CASES.flatMap(([, a, d]) => [a, d]));
    expect(ADDRESS_RANGES.map((r) => r.cidr).filter((cidr) => !tested.has(cidr))).toEqual([]);
  });

  it('gives every row a reason and a valid CIDR', () => {
    for (const row of ADDRESS_RANGES) {
      expect(row.reason.length, row.cidr).toBeGreaterThan(3);
      expect(row.cidr).toMatch(/^[0-9a-f:.]+\/\d{1,3}$/);
    }
  });

  it('names the IPv4 address an IPv6 one carries', () => {
    expect(refusedRange('::ffff:a9fe:a9fe', true)?.carried).toBe('169.254.169.254');
    expect(refusedRange('169.254.169.254', true)?.carried).toBeUndefined();
  });

  it('throws on something that is not an IP address', () => {
    expect(() => refusedRange('example.com', true)).toThrow('not an IP address');
  });
});
