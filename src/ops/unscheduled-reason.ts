/**
 * Why fleet has not scheduled a unit, told from its `[X-Fleet]` options and the cluster as fleet's scheduler
 * sees it: the same filters in the same order (MachineID → metadata → peers → conflicts). Pure.
 */
import { goPathMatch, parseXFleet } from '../unit/xfleet.js';
import type { StatusMachineInput, StatusUnit, StatusUnitState } from './status-model.js';

/** fleetctl's short machine id (the first 8 hex digits). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

function describeMetadata(meta: ReadonlyMap<string, readonly string[]>): string {
  return [...meta].map(([k, vs]) => vs.map((v) => `${k}=${v}`).join(' or ')).join(' and ');
}

function hasMetadata(m: StatusMachineInput, meta: ReadonlyMap<string, readonly string[]>): boolean {
  for (const [k, vs] of meta) {
    const v = m.metadata[k];
    if (v === undefined || !vs.includes(v)) return false;
  }
  return true;
}

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
  if (machines.length === 0) return 'no machine is online';
  const x = parseXFleet({ name: unit.name, options: unit.options });
  let candidates = [...machines];
  if (x.machineID !== undefined) {
    candidates = candidates.filter((m) => m.id === x.machineID);
    if (candidates.length === 0) return `MachineID ${x.machineID} is not an online machine`;
  }
  if (x.machineMetadata.size > 0) {
    candidates = candidates.filter((m) => hasMetadata(m, x.machineMetadata));
    if (candidates.length === 0) return `no machine has metadata ${describeMetadata(x.machineMetadata)}`;
  }
  const byName = new Map(units.map((u) => [u.name, u]));
  for (const peer of x.machineOf) {
    const target = byName.get(peer);
    if (!target?.machineID) return `MachineOf target ${peer} is not scheduled`;
    if (!candidates.some((m) => m.id === target.machineID)) {
      return `MachineOf target ${peer} runs on ${shortId(target.machineID)}, which this unit may not use`;
    }
    candidates = candidates.filter((m) => m.id === target.machineID);
  }
  // Units on each machine: scheduled ones, plus global units reported there.
  const conflictsOn = (m: StatusMachineInput): string[] => {
    const here = new Set<string>();
    for (const u of units) if (u.machineID === m.id) here.add(u.name);
    for (const s of states) if (s.machineID === m.id) here.add(s.name);
    here.delete(unit.name);
    return [...here].sort().filter((other) => {
      if (x.conflicts.some((p) => goPathMatch(p, other))) return true;
      const o = byName.get(other);
      return o ? parseXFleet({ name: o.name, options: o.options }).conflicts.some((p) => goPathMatch(p, unit.name)) : false;
    });
  };
  const blocked = candidates.map((m) => ({ m, with: conflictsOn(m) }));
  if (blocked.every((b) => b.with.length > 0)) {
    const list = blocked.map((b) => `${b.with.join(', ')} on ${shortId(b.m.id)}`);
    const joined = list.length > 1 ? `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}` : list[0];
    return `conflicts with ${joined}: every machine that qualifies has a conflicting unit`;
  }
  return 'not scheduled yet: a machine qualifies, fleet has not placed it';
}
