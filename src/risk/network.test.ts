import { describe, expect, it } from 'vitest';
import { NetworkList, networkListOf, networkOf, normalizeIp } from './network.ts';

describe('networkOf', () => {
  it('gives the /24 of IPv4 and the /64 of IPv6', () => {
    expect(networkOf('203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(networkOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(networkOf('2001:DB8:A::')).toBe('2001:db8:a:0::/64');
    expect(networkOf('::1')).toBe('0:0:0:0::/64');
    expect(networkOf('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(networkOf('nonsense')).toBeUndefined();
  });

  it('normalises IPv4-mapped IPv6', () => {
    expect(normalizeIp('::FFFF:10.0.0.1')).toBe('10.0.0.1');
  });
});

describe('NetworkList', () => {
  it('matches CIDR ranges and single addresses of both families', () => {
    const list = new NetworkList(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);
    expect(list.has('10.200.3.4')).toBe(true);
    expect(list.has('::ffff:10.1.1.1')).toBe(true);
    expect(list.has('2001:db8:ffff::1')).toBe(true);
    expect(list.has('192.0.2.7')).toBe(true);
    expect(list.has('192.0.2.8')).toBe(false);
    expect(list.has('11.0.0.1')).toBe(false);
    expect(list.has('not-an-ip')).toBe(false);
    expect(new NetworkList([]).has('10.0.0.1')).toBe(false);
  });
});

describe('networkListOf', () => {
  it('builds one list per array, and a new array (a replaced policy) gets its own', () => {
    const trusted = ['10.0.0.0/8'];
    const list = networkListOf(trusted);
    expect(networkListOf(trusted)).toBe(list);
    expect(list.has('10.1.2.3')).toBe(true);
    const replaced = ['192.0.2.0/24'];
    expect(networkListOf(replaced)).not.toBe(list);
    expect(networkListOf(replaced).has('10.1.2.3')).toBe(false);
    expect(() => networkListOf(['not-a-network'])).toThrow(/not an IP network/);
  });
});
