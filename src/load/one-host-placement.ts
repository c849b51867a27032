/**
 * What of fleet's placement one systemd host does not honour (`load --systemd`): systemd does not read
 * `[X-Fleet]`, so every unit runs on this host. Most of the section is then honoured anyway and says
 * nothing worth a warning: `Global=` (fleetkit's agent and hosts units, global services) runs once here,
 * `MachineOf=` (a sidekick beside its container) is met when everything shares one host. What is not met:
 * units that conflict with each other run side by side, and machine metadata, a machine id or `Replaces=`
 * are not checked. Those come from the spec's `x-fleet` (or a unit file's own section), and each gets one
 * line naming the value and the units. Pure; fleet's reading of the values is `unit/xfleet.ts`.
 */
import type { UnitFile } from '../unit/model.js';
import { isTemplate } from '../unit/names.js';
import { goPathMatch, parseXFleet } from '../unit/xfleet.js';
import { describeMetadata, shortId } from './placement.js';

const SHOWN = 4;

/** `a, b and c`, or the first few and how many more. */
function names(list: Iterable<string>): string {
  const all = [...new Set(list)].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const shown = all.length > SHOWN ? [...all.slice(0, SHOWN - 1), `${all.length - SHOWN + 1} more`] : all;
  return shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}` : shown[0] ?? '';
}

/** Adds `units` to the group `key` of `groups`, keeping first-seen order of groups. */
function add(groups: Map<string, Set<string>>, key: string, ...units: string[]): void {
  const g = groups.get(key) ?? new Set<string>();
  for (const u of units) g.add(u);
  groups.set(key, g);
}

/** One warning per `[X-Fleet]` value that one host does not honour for `units` (templates are skipped). */
export function oneHostPlacementWarnings(units: readonly UnitFile[]): string[] {
  const run = units.filter((u) => !isTemplate(u.name)).map((u) => ({ name: u.name, x: parseXFleet(u) }));
  const conflicts = new Map<string, Set<string>>();
  const metadata = new Map<string, Set<string>>();
  const machine = new Map<string, Set<string>>();
  const replaces = new Map<string, Set<string>>();
  for (const u of run) {
    const against = run.filter((o) => o.name !== u.name && u.x.conflicts.some((p) => goPathMatch(p, o.name))).map((o) => o.name);
    if (against.length) add(conflicts, u.x.conflicts.join(' '), u.name, ...against);
    if (u.x.machineMetadata.size) add(metadata, describeMetadata(u.x.machineMetadata), u.name);
    if (u.x.machineID !== undefined) add(machine, u.x.machineID, u.name);
    for (const p of u.x.replaces) {
      const gone = run.filter((o) => o.name !== u.name && goPathMatch(p, o.name)).map((o) => o.name);
      if (gone.length) add(replaces, `${p}\0${u.name}`, ...gone);
    }
  }
  const out: string[] = [];
  const lead = (what: string): string => `[X-Fleet] ${what} is not honoured on one host (systemd does not read [X-Fleet]):`;
  for (const [patterns, set] of conflicts) {
    out.push(`${lead(`Conflicts=${patterns}`)} ${names(set)} run here side by side; fleet would put them on separate machines`);
  }
  for (const [meta, set] of metadata) {
    out.push(`${lead(`MachineMetadata ${meta}`)} ${names(set)} ${set.size > 1 ? 'run' : 'runs'} here unchecked; fleet would run ${set.size > 1 ? 'them' : 'it'} only on a machine with ${meta}`);
  }
  for (const [id, set] of machine) {
    out.push(`${lead(`MachineID=${id}`)} ${names(set)} ${set.size > 1 ? 'run' : 'runs'} here whatever this host's machine id; fleet would run ${set.size > 1 ? 'them' : 'it'} only on machine ${shortId(id)}`);
  }
  for (const [key, set] of replaces) {
    const [pattern, by] = key.split('\0') as [string, string];
    out.push(`${lead(`Replaces=${pattern}`)} ${by} and ${names(set)} run here side by side; fleet would move ${names(set)} off ${by}'s machine`);
  }
  return out;
}
