/**
 * Machine metadata for cloud-config: `--metadata k=v,…` parsing, and the check that every unit's
 * `MachineMetadata` can be met by at least one machine role (fleet would leave such a unit unscheduled
 * forever, silently).
 */
import { UsageError } from '../errors.js';
import type { ClusterSpec, RoleSpec } from '../cluster/types.js';

/** Metadata keys and values fleet accepts without surprises: no `=`, `,`, quotes or whitespace. */
const TOKEN = /^[A-Za-z0-9_.:/-]+$/;

/** Parses `region=east,disk=ssd` (as fleet's `metadata` setting is written). */
export function parseMetadataPairs(text: string, what = '--metadata'): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const raw of text.split(',')) {
    const pair = raw.trim();
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (eq <= 0 || !value || value.includes('=') || !TOKEN.test(key) || !TOKEN.test(value)) {
      throw new UsageError(`${what}: "${pair}" is not a key=value pair`, 'write it as key=value[,key=value…], e.g. region=east,disk=ssd');
    }
    out.push([key, value]);
  }
  return out;
}

/** Formats metadata the way fleet's `metadata` option reads it. */
export function formatMetadata(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([k, v]) => `${k}=${v}`).join(',');
}

/** True when a machine with `metadata` passes `required` (AND across keys, OR across each key's values). */
export function metadataSatisfies(
  metadata: ReadonlyArray<readonly [string, string]>,
  required: ReadonlyArray<readonly [string, readonly string[]]>,
): boolean {
  const have = new Map(metadata);
  return required.every(([key, values]) => {
    const v = have.get(key);
    return v !== undefined && values.includes(v);
  });
}

/**
 * Warnings for services whose `MachineMetadata` no role satisfies. With no roles in the spec there is
 * nothing to check against, and nothing is said.
 */
export function unsatisfiableServices(spec: Pick<ClusterSpec, 'services' | 'roles'>): string[] {
  if (spec.roles.length === 0) return [];
  const warnings: string[] = [];
  for (const s of spec.services) {
    const required = s.fleet.machineMetadata;
    if (required.length === 0) continue;
    if (!spec.roles.some((r: RoleSpec) => metadataSatisfies(r.metadata, required))) {
      const want = required.map(([k, vs]) => `${k}=${vs.join('|')}`).join(' and ');
      const roles = spec.roles.map((r) => r.name).join(', ');
      warnings.push(`service "${s.name}" needs machine metadata ${want}, which no role (${roles}) has: fleet would never schedule it`);
    }
  }
  return warnings;
}
