/**
 * This host's machine id (what fleet and systemd know it by): decides whether a unit's journal is read here
 * or over SSH, and names the one machine of `--systemd` views.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';

/** `--machine-id` when given (checked), else /etc/machine-id, else /var/lib/dbus/machine-id; undefined if none. */
export async function localMachineId(flag: string | undefined): Promise<string | undefined> {
  if (flag !== undefined) {
    if (!/^[0-9a-f]{32}$/.test(flag)) {
      throw new UsageError(`--machine-id "${flag}" is not 32 lower-case hex digits`, 'copy it from /etc/machine-id or fleetctl list-machines --full');
    }
    return flag;
  }
  for (const p of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    const id = (await readFile(p, 'utf8').catch(() => '')).trim();
    if (/^[0-9a-f]{32}$/.test(id)) return id;
  }
  return undefined;
}
