/**
 * flannel's etcd v3 layout, read-only: `<prefix>/config` (the network) and `<prefix>/subnets/<key>` (one
 * lease per host, the key naming the subnet, the value naming the host's PublicIP). Parsed strictly: these
 * values decide which announcements reach the hosts file.
 */
import { parseIp, parseSubnet, subnetOf, type IpAddress, type IpSubnet } from '../net/ip-address.js';
import type { Rejection } from '../hosts/parse-announcement.js';

/** flannel's default etcd prefix. */
export const FLANNEL_DEFAULT_PREFIX = '/coreos.com/network';

/** `<prefix>/config`: the network. `prefix` has no trailing slash. */
export function flannelConfigKey(prefix: string): string {
  return `${prefix}/config`;
}

/** `<prefix>/subnets/`: one lease per host below it. */
export function flannelSubnetsPrefix(prefix: string): string {
  return `${prefix}/subnets/`;
}

/** The parts of `<prefix>/config` the watcher uses. */
export interface FlannelConfig {
  readonly network: IpSubnet | undefined;
  readonly ipv6Network: IpSubnet | undefined;
}

/** One host's lease: its subnets (v4 and/or v6) and public addresses. */
export interface FlannelLease {
  readonly key: string;
  readonly subnets: readonly IpSubnet[];
  readonly publicIPs: readonly IpAddress[];
}

/** Parses flannel's config JSON; `Network` (or `IPv6Network` for v6-only) must be a subnet. */
export function parseFlannelConfig(value: Buffer | string): FlannelConfig | Rejection {
  let o: unknown;
  try {
    o = JSON.parse(value.toString());
  } catch (e) {
    return { reject: `flannel config is not JSON (${(e as Error).message})` };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { reject: 'flannel config is not a JSON object' };
  const c = o as Record<string, unknown>;
  const network = typeof c['Network'] === 'string' ? parseSubnet(c['Network']) : undefined;
  const ipv6Network = typeof c['IPv6Network'] === 'string' ? parseSubnet(c['IPv6Network']) : undefined;
  if (c['Network'] !== undefined && !network) return { reject: `flannel config "Network" is not a subnet` };
  if (!network && !ipv6Network) return { reject: 'flannel config has no "Network"' };
  return { network, ipv6Network };
}

/**
 * Parses a lease key's last segment: `10.1.42.0-24`, or dual-stack `10.5.34.0-24&fc00::-64`. Undefined when
 * it is not a subnet key.
 */
export function parseLeaseKey(name: string): IpSubnet[] | undefined {
  const parts = name.split('&');
  if (parts.length > 2) return undefined;
  const out: IpSubnet[] = [];
  for (const p of parts) {
    const dash = p.lastIndexOf('-');
    if (dash <= 0) return undefined;
    const s = subnetOf(p.slice(0, dash), p.slice(dash + 1));
    if (!s) return undefined;
    out.push(s);
  }
  return out;
}

/** Parses a lease (key + value). The value must name at least one PublicIP / PublicIPv6. */
export function parseLease(key: string, value: Buffer | string): FlannelLease | Rejection {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const subnets = parseLeaseKey(name);
  if (!subnets) return { reject: 'lease key is not a subnet such as 10.1.42.0-24' };
  let o: unknown;
  try {
    o = JSON.parse(value.toString());
  } catch (e) {
    return { reject: `lease value is not JSON (${(e as Error).message})` };
  }
  if (typeof o !== 'object' || o === null) return { reject: 'lease value is not a JSON object' };
  const v = o as Record<string, unknown>;
  const publicIPs: IpAddress[] = [];
  for (const f of ['PublicIP', 'PublicIPv6']) {
    if (v[f] === undefined || v[f] === null) continue;
    const ip = typeof v[f] === 'string' ? parseIp(v[f] as string) : undefined;
    if (!ip) return { reject: `lease "${f}" is not an IP address` };
    publicIPs.push(ip);
  }
  if (publicIPs.length === 0) return { reject: 'lease has no PublicIP' };
  return { key, subnets, publicIPs };
}
