/**
 * How fleet reads raw `[X-Fleet]` values: multi-value splitting, its four specifiers, and the key table.
 * Shared by the `[X-Fleet]` reader (xfleet.ts) and the checks for ignored values (xfleet-ignored.ts).
 */
import type { UnitFile } from './model.js';
import { splitUnitName } from './names.js';

export const SECTION = 'X-Fleet';
export const knownKeys = ['MachineID', 'MachineOf', 'MachineMetadata', 'Conflicts', 'Global', 'Replaces'] as const;
// Older spellings fleet still maps onto the current keys.
export const deprecatedKeys: Readonly<Record<string, string>> = {
  'X-ConditionMachineID': 'MachineID',
  'X-ConditionMachineBootID': 'MachineID',
  'X-ConditionMachineOf': 'MachineOf',
  'X-ConditionMachineMetadata': 'MachineMetadata',
  'X-Conflicts': 'Conflicts',
};
const truthy = new Set(['true', 'yes', '1', 'on', 't']);
const falsy = new Set(['false', 'no', '0', 'off', 'f']);

/** fleet's `isTruthyValue` (job/job.go): `true|yes|1|on|t` in any case, so `Global=True` is global. */
export function isTruthyValue(value: string): boolean {
  return truthy.has(value.toLowerCase());
}

/** A value fleet reads as false on purpose (the counterpart of {@link isTruthyValue}), not by accident. */
export function isFalsyValue(value: string): boolean {
  return falsy.has(value.toLowerCase());
}

/**
 * Splits one `[X-Fleet]` value as fleet does: only when the whole value starts and ends with `"` is it split
 * at spaces outside quotes (quotes dropped, so `"a"  "b"` gives `a`, ``, `b`); otherwise it is one value.
 */
export function splitFleetValues(value: string): string[] {
  if (!value.startsWith('"') || !value.endsWith('"')) return [value];
  const values: string[] = [];
  let current = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ' ' && !quoted) {
      values.push(current);
      current = '';
    } else current += ch;
  }
  values.push(current);
  return values;
}

/** fleet's specifiers in `[X-Fleet]` values: `%n %N %p %i`, replaced in that order as plain text (`%%` is not special). */
export function expandFleetSpecifiers(value: string, unitName: string): string {
  const { stem, prefix, instance = '', suffix } = splitUnitName(unitName);
  if (suffix === '') return value; // fleet expands nothing for a name without a suffix
  return value.replaceAll('%n', unitName).replaceAll('%N', stem).replaceAll('%p', prefix).replaceAll('%i', instance);
}

/** Every value per key (after multi-value splitting and, when `unitName` is given, specifier expansion). */
export function requirements(unit: Pick<UnitFile, 'options'>, unitName: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const o of unit.options) {
    if (o.section !== SECTION) continue;
    const list = out.get(o.name) ?? [];
    for (const v of splitFleetValues(o.value)) list.push(unitName === undefined ? v : expandFleetSpecifiers(v, unitName));
    out.set(o.name, list);
  }
  return out;
}

