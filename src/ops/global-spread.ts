/**
 * A global unit in `status`: fleet's `currentState` of a global unit is `inactive` however many machines run
 * it (it has no target machine), so its truth is one /state entry per machine. This works out, with fleet's
 * placement rules, which machines should run each global unit (metadata matches, nothing there it conflicts
 * with), so that a machine that should run it and has published nothing yet (fleet republishes unchanged
 * states only every 24 s) reads `unknown`, never active, and the unit counts as up only when every one of
 * them reports it active. Pure.
 */
import { conflictsWith, hasMetadata, unplacedReason } from '../load/placement.js';
import { parseXFleet } from '../unit/xfleet.js';
import type { GlobalSpread, InstanceStatus, StatusFlag, StatusInputs, StatusUnit } from './status-model.js';

/** Where each global unit of `units` should run, or why it runs nowhere; fleet only (systemd has no placement). */
export interface GlobalPlacement {
  /** Machine ids (sorted) on which fleet runs the unit; absent for a unit fleet does not run (inactive). */
  readonly on: ReadonlyMap<string, readonly string[]>;
  readonly unplaced: ReadonlyMap<string, string>;
}

const live = (u: StatusUnit): boolean => u.desiredState === 'loaded' || u.desiredState === 'launched';

/**
 * The machines each global unit among `inputs.units` runs on, as fleet's agents decide it (`runsGlobally`):
 * every listed machine whose metadata matches and that has no unit scheduled to it that it conflicts with.
 * The scheduled units are fleet's own (their machineID in /units), so nothing is placed anew: one pass over
 * the units, whatever their number.
 */
export function placeGlobals(inputs: StatusInputs, isGlobal: (u: StatusUnit) => boolean): GlobalPlacement | undefined {
  if (inputs.source !== 'fleet' || inputs.unitsError !== undefined) return undefined;
  // fleet never schedules a global unit to one machine: only units without a machineID need reading.
  const globals = inputs.units.filter((u) => live(u) && !u.machineID && isGlobal(u));
  if (!globals.length) return undefined;
  const machines = [...inputs.machines].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  // Only units that name a Conflicts= pattern, and the global units themselves, can be in a conflict.
  const hasConflicts = (u: StatusUnit): boolean => u.options.some((o) => o.section === 'X-Fleet' && o.name === 'Conflicts');
  const scheduled = new Map<string, StatusUnit[]>();
  for (const u of inputs.units) if (live(u) && u.machineID) scheduled.set(u.machineID, [...(scheduled.get(u.machineID) ?? []), u]);
  const job = (u: StatusUnit) => ({ name: u.name, x: parseXFleet({ name: u.name, options: u.options }) });
  const on = new Map<string, string[]>();
  const unplaced = new Map<string, string>();
  for (const g of globals) {
    const gj = job(g);
    const ids = machines.filter((m) => hasMetadata(m, gj.x.machineMetadata)
      && !(scheduled.get(m.id) ?? []).some((o) => (gj.x.conflicts.length > 0 || hasConflicts(o)) && conflictsWith(gj, job(o)))).map((m) => m.id);
    on.set(g.name, ids);
    if (!ids.length) {
      const asPlacement = (u: StatusUnit) => ({ name: u.name, options: u.options, desiredState: u.desiredState, machineID: u.machineID });
      unplaced.set(g.name, unplacedReason(asPlacement(g), inputs.units.map(asPlacement), inputs.machines));
    }
  }
  return { on, unplaced };
}

/** How many of the machines that should run `unit` report it active, failed, or nothing at all yet. */
export function globalSpread(unit: string, expected: readonly string[], rows: readonly InstanceStatus[]): GlobalSpread {
  const mine = rows.filter((r) => r.unit === unit && r.machine && expected.includes(r.machine.id));
  const count = (f: (r: InstanceStatus) => boolean): number => mine.filter(f).length;
  return {
    unit,
    expected: expected.length,
    active: count((r) => r.active === 'active'),
    failed: count((r) => r.active === 'failed'),
    unknown: count((r) => r.active === null),
  };
}

/**
 * The flags of one machine's row of a global unit fleet wants launched: nothing published from a machine
 * that should run it (unknown), or a state other than active there (failed is flagged elsewhere); and, for a
 * unit that runs nowhere, why.
 */
export function globalRowFlags(row: InstanceStatus, unit: StatusUnit | undefined, placement: GlobalPlacement): StatusFlag[] {
  if (!unit || unit.desiredState !== 'launched') return [];
  const expected = placement.on.get(unit.name) ?? [];
  if (!row.machine) {
    const why = placement.unplaced.get(unit.name);
    return why ? [{ code: 'unscheduled', severity: 'ERROR', message: `runs on no machine: ${why}` }] : [];
  }
  if (!expected.includes(row.machine.id)) return [];
  if (row.active === null) {
    return [{ code: 'not-reported', severity: 'WARNING', message: 'this machine should run it but has published no state for it yet (fleet republishes every 24 s): unknown' }];
  }
  if (row.active !== 'active' && row.active !== 'failed' && row.sub !== 'auto-restart') {
    return [{ code: 'not-active', severity: 'WARNING', message: `${row.active}/${row.sub ?? '?'} on a machine that should run it` }];
  }
  return [];
}
