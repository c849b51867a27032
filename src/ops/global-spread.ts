/**
 * A global unit in `status`: fleet's `currentState` of a global unit is `inactive` however many machines run
 * it (it has no target machine), so its truth is one /state entry per machine. This works out, with fleet's
 * placement rules, which machines should run each global unit (metadata matches, nothing there it conflicts
 * with), so that a machine that should run it and has published nothing yet (fleet republishes unchanged
 * states only every 24 s) reads `unknown`, never active, and the unit counts as up only when every one of
 * them reports it active. Pure.
 */
import { placeUnits } from '../load/placement.js';
import type { GlobalSpread, InstanceStatus, StatusFlag, StatusInputs, StatusUnit } from './status-model.js';

/** Where each global unit of `units` should run, or why it runs nowhere; fleet only (systemd has no placement). */
export interface GlobalPlacement {
  /** Machine ids (sorted) on which fleet runs the unit; absent for a unit fleet does not run (inactive). */
  readonly on: ReadonlyMap<string, readonly string[]>;
  readonly unplaced: ReadonlyMap<string, string>;
}

/** Places the global units among `inputs.units` on `inputs.machines`, as fleet's engine and agents do. */
export function placeGlobals(inputs: StatusInputs, isGlobal: (u: StatusUnit) => boolean): GlobalPlacement | undefined {
  if (inputs.source !== 'fleet' || inputs.unitsError !== undefined || !inputs.units.some(isGlobal)) return undefined;
  const p = placeUnits(inputs.units.map((u) => ({ name: u.name, options: u.options, desiredState: u.desiredState, machineID: u.machineID })), inputs.machines);
  return { on: p.where, unplaced: p.unplaced };
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
