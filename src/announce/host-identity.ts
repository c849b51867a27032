/**
 * The host's identity for announcement records: host name, machine id (as systemd and fleet know it) and
 * the host's address on the overlay (flannel's PublicIP for this host's subnet, or `--ip`).
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { Etcd3 } from 'etcd3';
import { UsageError } from '../errors.js';
import type { HostIdentity } from './announcer.js';
import { parseCidr, parseIPv4, type FlannelEnv } from './flannel-env.js';

/** Reads the machine id from `--machine-id`, else /etc/machine-id. */
export async function loadHostIdentity(machineId: string | undefined): Promise<HostIdentity> {
  let machine = machineId;
  if (machine === undefined) {
    for (const p of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
      machine = (await readFile(p, 'utf8').catch(() => '')).trim() || undefined;
      if (machine) break;
    }
  }
  if (!machine || !/^[0-9a-f]{32}$/.test(machine)) {
    throw new UsageError(machine ? `machine id "${machine}" is not 32 lowercase hex digits` : 'this host has no /etc/machine-id',
      'pass --machine-id with the id fleet knows this machine by (fleetctl list-machines --full)');
  }
  return { host: hostname(), machine };
}

/** flannel's lease key name for a subnet.env subnet: `10.1.42.1/24` → `10.1.42.0-24`. */
export function flannelLeaseName(env: FlannelEnv): string | undefined {
  const c = parseCidr(env.subnet);
  if (!c) return undefined;
  const b = c.base;
  const len = env.subnet.split('/')[1];
  return `${b >>> 24}.${(b >>> 16) & 255}.${(b >>> 8) & 255}.${b & 255}-${len}`;
}

/** Looks up this host's flannel PublicIP in etcd (flannel ≥0.18 keeps its leases in the v3 keyspace). */
export async function lookupFlannelPublicIP(client: Etcd3, env: FlannelEnv, flannelPrefix = '/coreos.com/network'): Promise<string | undefined> {
  const name = flannelLeaseName(env);
  if (!name) return undefined;
  const text = await client.get(`${flannelPrefix}/subnets/${name}`).string();
  if (!text) return undefined;
  try {
    const ip = (JSON.parse(text) as { PublicIP?: unknown }).PublicIP;
    return typeof ip === 'string' && parseIPv4(ip) !== undefined ? ip : undefined;
  } catch {
    return undefined;
  }
}
