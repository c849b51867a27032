/**
 * Which journals `fleetkit logs NAME…` reads. Each name selects units (see log-names); fleet says where
 * each of them runs, and each machine's journal is read once for all of its units, here or over SSH to the
 * machine's IP (as `fleetctl journal` does). A global unit has one journal per machine. A name fleet does
 * not list (a destroyed unit, or a unit fleet never ran) is read from this host's journal, which still
 * holds the lines of units long gone; without fleet (`--systemd`) every journal is local.
 */
import { RemoteError } from '../errors.js';
import type { FleetClient } from '../fleet/fleet-client.js';
import type { LogName } from './log-names.js';
import { shortId } from './unscheduled-reason.js';
import { unitParts } from '../unit/names.js';

/** One journal to read, and the units (or globs) to ask it for. */
export interface LogSource {
  readonly units: readonly string[];
  /** The machine id, when fleet placed the units (or this host's, for its own journal). */
  readonly machine: string | undefined;
  /** The machine's IP when it is not this host; undefined reads the local journal. */
  readonly remoteHost: string | undefined;
}

/** The journals to read, and how to label their entries. */
export interface LogPlan {
  readonly sources: readonly LogSource[];
  /** Units read from several machines (global units): their label names the machine too. */
  readonly onSeveralMachines: ReadonlySet<string>;
  /** Names fleet does not list, read from this host's journal only. */
  readonly unlisted: readonly string[];
}

/** Without fleet: one local journal, every name as journalctl takes it. */
export function localLogPlan(names: readonly LogName[]): LogPlan {
  return { sources: [{ units: [...new Set(names.flatMap((n) => n.patterns))], machine: undefined, remoteHost: undefined }], onSeveralMachines: new Set(), unlisted: [] };
}

/** Resolves the names through fleet. `localId` is this host's machine id. */
export async function fleetLogPlan(fleet: FleetClient, names: readonly LogName[], localId: string | undefined): Promise<LogPlan> {
  const [units, states, machines] = await Promise.all([fleet.listUnits(), fleet.listStates(), fleet.listMachines()]);
  const ipOf = new Map(machines.map((m) => [m.id, m.primaryIP]));
  const byMachine = new Map<string, Set<string>>(); // machine id ('' for this host) → units or globs
  const add = (machine: string, unit: string): void => {
    const set = byMachine.get(machine) ?? new Set<string>();
    set.add(unit);
    byMachine.set(machine, set);
  };
  const onSeveralMachines = new Set<string>();
  const unlisted: string[] = [];
  for (const n of names) {
    const chosen = units.filter((u) => !unitParts(u.name).template && n.matches(u.name));
    if (chosen.length === 0) {
      unlisted.push(n.text);
      for (const p of n.patterns) add(localId ?? '', p);
      continue;
    }
    for (const u of chosen) {
      const on = [...new Set([...(u.machineID ? [u.machineID] : []), ...states.filter((s) => s.name === u.name && s.machineID).map((s) => s.machineID!)])].sort();
      // Not scheduled now: whatever it wrote when it last ran here is in this host's journal.
      if (on.length === 0) add(localId ?? '', u.name);
      if (on.length > 1) onSeveralMachines.add(u.name);
      for (const id of on) add(id, u.name);
    }
  }
  const sources: LogSource[] = [];
  for (const [id, set] of [...byMachine].sort(([a], [b]) => a.localeCompare(b))) {
    const local = id === '' || id === localId;
    const ip = ipOf.get(id);
    if (!local && !ip) {
      throw new RemoteError('fleet', 'ERR_MACHINE_UNKNOWN', `${[...set].join(', ')} ran on machine ${shortId(id)}, which fleet does not list (offline?): no address to reach its journal`, {
        hint: "'fleetkit status' shows the machines fleet knows; run fleetkit logs on that machine to read its journal",
      });
    }
    if (!local && !/^[0-9A-Za-z.:-]+$/.test(ip!)) {
      throw new RemoteError('fleet', 'ERR_MACHINE_ADDRESS', `fleet lists machine ${shortId(id)} with the address ${JSON.stringify(ip)}, which is not a host name or IP`);
    }
    sources.push({ units: [...set], machine: id === '' ? undefined : id, remoteHost: local ? undefined : ip });
  }
  // Two spellings of this host (its id, and '' when it is unknown) never both occur: localId is fixed.
  return { sources, onSeveralMachines, unlisted };
}

/**
 * The unit an entry read from `source` is about, as the names select it, and its label: `web@1`, with the
 * machine when the unit runs on several (`mon/3d1219c7`). `user` picks the user-unit fields.
 */
export function entryUnit(
  units: { readonly system: readonly string[]; readonly user: readonly string[] } | undefined,
  user: boolean,
  names: readonly LogName[],
  plan: LogPlan,
  source: LogSource,
): { unit: string; label: string } {
  const candidates = (user ? units?.user : units?.system) ?? [];
  const unit = candidates.find((u) => names.some((n) => n.matches(u))) ?? candidates[0] ?? 'unknown';
  const label = unit.replace(/\.service$/, '');
  return { unit, label: plan.onSeveralMachines.has(unit) && source.machine ? `${label}/${shortId(source.machine)}` : label };
}
