/**
 * IP address helpers for risk signals: the network a sign-in comes from (IPv4 /24, IPv6 /64, the usual
 * allocation to one customer) and CIDR lists (deny lists, trusted networks) on node:net's BlockList.
 * Pure, no I/O.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

export type IpFamily = 'ipv4' | 'ipv6';

/** `::ffff:192.0.2.1` → `192.0.2.1`; anything else unchanged (lower-cased). */
export function normalizeIp(ip: string): string {
  const lower = ip.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  return mapped?.[1] ?? lower;
}

export function ipFamily(ip: string): IpFamily | undefined {
  if (isIPv4(ip)) return 'ipv4';
  if (isIPv6(ip)) return 'ipv6';
  return undefined;
}

/** The eight 16-bit groups of an IPv6 address (embedded IPv4 tails included). */
function ipv6Groups(ip: string): number[] {
  let text = ip.split('%')[0] ?? ip;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const zeros = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array.from({ length: zeros }, () => 0), ...right];
}

/**
 * The sign-in's network: `203.0.113.0/24` for IPv4, `2001:db8:1:2::/64` for IPv6; undefined when `ip`
 * is not an address.
 */
export function networkOf(ip: string): string | undefined {
  const address = normalizeIp(ip);
  const family = ipFamily(address);
  if (family === 'ipv4') {
    const [a, b, c] = address.split('.');
    return `${a}.${b}.${c}.0/24`;
  }
  if (family === 'ipv6') {
    const groups = ipv6Groups(address).slice(0, 4).map((g) => g.toString(16));
    return `${groups.join(':')}::/64`;
  }
  return undefined;
}

/** A set of CIDR ranges (`10.0.0.0/8`, `2001:db8::/32`) or single addresses. */
export class NetworkList {
  readonly #list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address = '', prefix] = cidr.split('/');
      const family = ipFamily(address);
      if (!family) throw new TypeError(`not an IP network: ${cidr}`);
      if (prefix === undefined) this.#list.addAddress(address, family);
      else this.#list.addSubnet(address, Number(prefix), family);
    }
    this.size = cidrs.length;
  }

  has(ip: string): boolean {
    if (this.size === 0) return false;
    const address = normalizeIp(ip);
    const family = ipFamily(address);
    return family !== undefined && this.#list.check(address, family);
  }
}

const lists = new WeakMap<readonly string[], NetworkList>();

/**
 * The NetworkList of `cidrs`, built once per array: a policy's lists are read on every sign-in and live as
 * long as the cached policy document that holds them (never mutated: policies are replaced whole).
 */
export function networkListOf(cidrs: readonly string[]): NetworkList {
  let list = lists.get(cidrs);
  if (!list) {
    list = new NetworkList(cidrs);
    lists.set(cidrs, list);
  }
  return list;
}
