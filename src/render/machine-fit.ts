/**
 * Whether a spec can be placed on a given number of machines, as far as the spec alone tells: instances of a
 * service that conflict with each other (`Conflicts=` matching their own names) need one machine each, and
 * fleet never says so — `fleetctl start` just waits forever for the instance it cannot place. Pure; gen-units
 * asks it when told the machine count (`--machines N`).
 */
import type { ClusterSpec } from '../cluster/types.js';
import { conflictsWith } from '../load/placement.js';
import { serviceNames } from './plan-container.js';

/** One sentence per service that cannot fit on `machines` machines (fleet's conflict rule: `load/placement.ts`). */
export function machineFitProblems(spec: ClusterSpec, machines: number): string[] {
  const out: string[] = [];
  for (const service of spec.services) {
    if (service.fleet.global) continue;
    const instances = serviceNames(service).instances;
    // Instances of one service share their Conflicts= patterns; fleet's rule decides which pairs conflict.
    const x = { conflicts: service.fleet.conflicts };
    const conflicting = instances.filter((a) => instances.some((b) => conflictsWith({ name: a, x }, { name: b, x })));
    if (conflicting.length > machines) {
      out.push(`${service.name} has ${conflicting.length} conflicting instances: it needs at least ${conflicting.length} machines, and ${machines === 1 ? 'there is 1' : `there are ${machines}`}`);
    } else if (service.fleet.machineID !== undefined && conflicting.length > 1) {
      out.push(`${service.name} has ${conflicting.length} conflicting instances pinned to one machine (machine-id): at most one can run`);
    }
  }
  return out;
}
