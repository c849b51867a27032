/**
 * This host's address on the overlay: the PublicIP of its own flannel lease, found from subnet.env's subnet
 * under flannel's etcd prefix (which a cluster may set: `flannel.prefix`, flanneld's `-etcd-prefix`).
 */
import type { Etcd3 } from 'etcd3';
import { isRejection } from '../hosts/parse-announcement.js';
import { FLANNEL_DEFAULT_PREFIX, flannelSubnetsPrefix, parseLease } from './flannel-etcd.js';
import { formatIp, parseSubnet } from '../net/ip-address.js';
import type { FlannelEnv } from './subnet-env.js';

/** flannel's lease key name for a subnet.env subnet: `10.1.42.1/24` → `10.1.42.0-24`. */
export function flannelLeaseName(env: FlannelEnv): string | undefined {
  const s = parseSubnet(env.subnet);
  if (s?.family !== 4) return undefined;
  return `${formatIp({ family: 4, value: s.network })}-${s.prefixLen}`;
}

/** Looks up this host's flannel PublicIP in etcd (flannel ≥0.18 keeps its leases in the v3 keyspace). */
export async function lookupFlannelPublicIP(client: Etcd3, env: FlannelEnv, flannelPrefix = FLANNEL_DEFAULT_PREFIX): Promise<string | undefined> {
  const name = flannelLeaseName(env);
  if (!name) return undefined;
  const key = `${flannelSubnetsPrefix(flannelPrefix)}${name}`;
  const value = await client.get(key).buffer();
  if (!value) return undefined;
  // The watcher's own lease parser: what the agent announces is what the watcher will check it against.
  const lease = parseLease(key, value);
  if (isRejection(lease)) return undefined;
  const v4 = lease.publicIPs.find((ip) => ip.family === 4);
  if (!v4) return undefined;
  return formatIp(v4);
}
