/**
 * The host's identity for announcement records: host name, machine id (as systemd and fleet know it) and
 * (the host's address on the overlay is src/flannel/public-ip.ts).
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { UsageError } from '../errors.js';
import type { HostIdentity } from './announcer.js';

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
