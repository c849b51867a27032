/**
 * Why fleet has not scheduled a unit, told from its `[X-Fleet]` options and the cluster as fleet's scheduler
 * sees it. The rules are fleet's, in `load/placement.ts`; this adapts status's inputs to them.
 */
import { shortId, unplacedReason } from '../load/placement.js';
import type { StatusMachineInput, StatusUnit, StatusUnitState } from './status-model.js';

export { shortId };

/**
 * A sentence saying why `unit` is not scheduled, e.g. `no machine has metadata disk=ssd`,
 * `conflicts with web@1.service on 11111111 and web@2.service on 22222222: every machine that qualifies has one`,
 * `MachineOf target db@1.service is not scheduled`.
 */
export function unscheduledReason(
  unit: StatusUnit,
  units: readonly StatusUnit[],
  states: readonly StatusUnitState[],
  machines: readonly StatusMachineInput[],
): string {
  const asPlacement = (u: StatusUnit) => ({ name: u.name, options: u.options, desiredState: u.desiredState, machineID: u.machineID });
  return unplacedReason(asPlacement(unit), units.map(asPlacement), machines, states.flatMap((s) => (s.machineID ? [{ name: s.name, machineID: s.machineID }] : [])));
}
