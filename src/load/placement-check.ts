/**
 * `load`/`start` ask, before they wait, whether fleet can place what they are about to send: the units fleet
 * holds, changed as the steps would change them, placed on the machines fleet lists by fleet's own rules
 * (`placement.ts`). A unit that no machine can take would otherwise be waited on until the timeout, since fleet
 * never says so; it is refused at once, with the reason, and nothing is changed.
 */
import type { UnitHost } from '../unithost/unit-host.js';
import type { DesiredUnit } from './desired-unit.js';
import type { UnitOutcome } from './outcome.js';
import type { Step } from './plan.js';
import { placeUnits, type PlacementUnit } from './placement.js';

/** The rows of a refused request, or undefined when every unit it starts or loads can be placed. */
export async function placementRefusal(
  host: UnitHost,
  steps: readonly Step[],
  desired: ReadonlyArray<{ readonly desired: DesiredUnit }> | undefined,
): Promise<UnitOutcome[] | undefined> {
  if (!host.placement) return undefined;
  const asked = new Set<string>();
  for (const s of steps) {
    if (s.kind === 'submit' && s.target !== 'inactive') asked.add(s.desired.unit.name);
    if (s.kind === 'target' && s.target !== 'inactive') asked.add(s.name);
  }
  if (!asked.size) return undefined;
  const view = await host.placement();
  const units = new Map<string, PlacementUnit>(view.units.map((u) => [u.name, u]));
  for (const s of steps) {
    if (s.kind === 'submit') {
      const name = s.desired.unit.name;
      units.set(name, { name, options: s.desired.unit.options, desiredState: s.target, machineID: units.get(name)?.machineID });
    } else if (s.kind === 'target') {
      const have = units.get(s.name) ?? desired?.find((d) => d.desired.unit.name === s.name)?.desired.unit;
      if (have) units.set(s.name, { machineID: undefined, ...have, name: s.name, desiredState: s.target });
    } else if (s.kind === 'remove') units.delete(s.id);
  }
  const { unplaced } = placeUnits([...units.values()], view.machines);
  const refused = [...asked].filter((n) => unplaced.has(n));
  if (!refused.length) return undefined;
  const count = view.machines.length === 1 ? 'the 1 machine' : `the ${view.machines.length} machines`;
  const rowNames = desired ? desired.map((d) => d.desired.unit.name) : [...asked];
  return rowNames.map((name): UnitOutcome => (unplaced.has(name) && asked.has(name)
    ? { name, change: 'none', state: 'unplaceable', ok: false, error: `cannot be placed on ${count} of ${host.endpoint}: ${unplaced.get(name)}; nothing was changed` }
    : { name, change: 'skipped', state: undefined, ok: true }));
}
