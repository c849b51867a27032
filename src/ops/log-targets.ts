/**
 * Which journals `fleetkit logs NAME` reads: NAME is a unit (`web@2.service`, `web@2`) or a service (`web`,
 * all its instances); each instance is read where it runs, here or over SSH to its machine's IP (from
 * fleet's state, as `fleetctl journal` does). A global unit has one journal per machine.
 */
import { FleetkitError, ExitCode, RemoteError } from '../errors.js';
import type { FleetClient } from '../fleet/fleet-client.js';
import type { SystemdManager } from '../systemd/systemd-manager.js';
import { shortId } from './unscheduled-reason.js';
import { unitParts } from '../unit/names.js';

/** One journal to read. */
export interface LogTarget {
  readonly unit: string;
  /** `web@1`; `mon/3d1219c7` for a global unit on one of several machines. */
  readonly label: string;
  readonly machine: string | undefined;
  /** The machine's IP when it is not this host; undefined reads the local journal. */
  readonly remoteHost: string | undefined;
}

const SUFFIX = /\.(service|socket|timer|path|target|mount|automount|swap|slice|scope|device)$/;

/** `web@2` → `web@2.service` (as fleetctl completes names); a service name (`web`) stays as it is. */
export function normalizeLogName(name: string): { unit: string } | { service: string } {
  if (SUFFIX.test(name)) return { unit: name };
  if (name.includes('@')) return { unit: `${name}.service` };
  return { service: name };
}

function unknown(name: string, where: string): FleetkitError {
  return new FleetkitError('ERR_UNKNOWN_UNIT', `${where} has no unit or service named "${name}"`, {
    hint: "'fleetkit status' lists the units; give a unit (web@2.service, web@2) or a service name (web)",
    exitCode: ExitCode.usage,
  });
}

const label = (unit: string): string => unit.replace(/\.service$/, '');

/** Resolves NAME through fleet. `localId` is this host's machine id. */
export async function fleetLogTargets(fleet: FleetClient, name: string, localId: string | undefined): Promise<LogTarget[]> {
  const [units, states, machines] = await Promise.all([fleet.listUnits(), fleet.listStates(), fleet.listMachines()]);
  const n = normalizeLogName(name);
  const chosen = units
    .filter((u) => !unitParts(u.name).template)
    .filter((u) => ('unit' in n ? u.name === n.unit : unitParts(u.name).service === n.service))
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  if (chosen.length === 0) throw unknown(name, 'fleet');
  const ipOf = new Map(machines.map((m) => [m.id, m.primaryIP]));
  const out: LogTarget[] = [];
  for (const u of chosen) {
    const on = [...new Set([...(u.machineID ? [u.machineID] : []), ...states.filter((s) => s.name === u.name && s.machineID).map((s) => s.machineID!)])].sort();
    if (on.length === 0) {
      if (chosen.length === 1) {
        throw new FleetkitError('ERR_UNIT_UNSCHEDULED', `${u.name} is not scheduled on any machine, so it has no journal yet`, {
          hint: "'fleetkit status' says why it is not scheduled",
        });
      }
      continue;
    }
    for (const id of on) {
      const ip = ipOf.get(id);
      if (id !== localId && !ip) {
        throw new RemoteError('fleet', 'ERR_MACHINE_UNKNOWN', `${u.name} runs on machine ${shortId(id)}, which fleet does not list (offline?): no address to reach its journal`);
      }
      if (ip !== undefined && !/^[0-9A-Za-z.:-]+$/.test(ip)) {
        throw new RemoteError('fleet', 'ERR_MACHINE_ADDRESS', `fleet lists machine ${shortId(id)} with the address ${JSON.stringify(ip)}, which is not a host name or IP`);
      }
      out.push({ unit: u.name, label: on.length > 1 ? `${label(u.name)}/${shortId(id)}` : label(u.name), machine: id, remoteHost: id === localId ? undefined : ip });
    }
  }
  return out;
}

/** Resolves NAME through the local systemd (no fleet): every target is local. */
export async function systemdLogTargets(manager: SystemdManager, name: string): Promise<LogTarget[]> {
  const n = normalizeLogName(name);
  if ('unit' in n) {
    const s = (await manager.states([n.unit])).get(n.unit);
    if (!s || s.loadState === 'not-found') throw unknown(name, `the ${manager.scope} systemd`);
    return [{ unit: n.unit, label: label(n.unit), machine: undefined, remoteHost: undefined }];
  }
  const found = await manager.unitsMatching([`${n.service}@*.service`, `${n.service}.service`]);
  const units = found.map((s) => s.name).filter((u) => !unitParts(u).template && unitParts(u).service === n.service);
  if (units.length === 0) throw unknown(name, `the ${manager.scope} systemd`);
  return [...new Set(units)]
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((unit) => ({ unit, label: label(unit), machine: undefined, remoteHost: undefined }));
}
