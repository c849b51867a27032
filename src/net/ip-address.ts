/**
 * IP addresses and subnets, parsed strictly. Values come from etcd, which anyone with write access to the
 * prefix can fill: only canonical dotted quads and well-formed IPv6 text pass, so nothing odd (leading
 * zeros read as octal by some resolvers, zone ids, embedded spaces) can reach a hosts file.
 */

/** A parsed address: its family and its value as a 32- or 128-bit integer. */
export interface IpAddress {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** A parsed subnet: network address (host bits zero) and prefix length. */
export interface IpSubnet {
  readonly family: 4 | 6;
  readonly network: bigint;
  readonly prefixLen: number;
}

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function parseV4(text: string): bigint | undefined {
  if (!V4.test(text)) return undefined;
  return text.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function parseV6(text: string): bigint | undefined {
  if (text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let head = text;
  let tailV4: bigint | undefined;
  // An embedded IPv4 tail (::ffff:10.1.2.3) counts as the last two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): string[] | undefined => (s === '' ? [] : s.split(':'));
  const left = groupsOf(halves[0]!);
  const right = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!left || !right) return undefined;
  const all = [...left, ...right];
  if (all.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  if (halves.length === 1 ? all.length !== 8 : all.length > 7) return undefined;
  const groups = [...left, ...Array<string>(8 - all.length).fill('0'), ...right];
  let value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

/** Parses an IPv4 or IPv6 address; undefined when it is not one (no zone ids, no leading zeros in v4). */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseV6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** Parses `ADDR/LEN`; the address is masked to its network. Undefined when malformed. */
export function parseSubnet(text: string): IpSubnet | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  return subnetOf(text.slice(0, slash), text.slice(slash + 1));
}

/** Builds a subnet from an address and a prefix length given as text (flannel keys split them with `-`). */
export function subnetOf(addr: string, len: string): IpSubnet | undefined {
  const ip = parseIp(addr);
  if (!ip || !/^\d{1,3}$/.test(len)) return undefined;
  const prefixLen = Number(len);
  const bits = ip.family === 4 ? 32 : 128;
  if (prefixLen > bits) return undefined;
  const hostBits = BigInt(bits - prefixLen);
  const network = (ip.value >> hostBits) << hostBits;
  return { family: ip.family, network, prefixLen };
}

/** True when `ip` lies in `subnet` (same family, same network bits). */
export function ipInSubnet(ip: IpAddress, subnet: IpSubnet): boolean {
  if (ip.family !== subnet.family) return false;
  const hostBits = BigInt((ip.family === 4 ? 32 : 128) - subnet.prefixLen);
  return ip.value >> hostBits === subnet.network >> hostBits;
}

/** A string equal for equal addresses whatever their spelling (`fc00::1`, `fc00:0::1`): a map key. */
export function ipKey(ip: IpAddress): string {
  return `${ip.family}:${ip.value}`;
}

/** An address as text: a dotted quad, or IPv6 in RFC 5952's form (lower case, longest zero run as `::`). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) {
    const n = Number(ip.value);
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(16 * (7 - i))) & 0xffffn));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

/** True when the address text `ip` lies inside the subnet text `cidr` (`10.1.42.1/24`); false when either is malformed. */
export function cidrContains(cidr: string, ip: string): boolean {
  const s = parseSubnet(cidr);
  const a = parseIp(ip);
  return s !== undefined && a !== undefined && ipInSubnet(a, s);
}
