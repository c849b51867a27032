/**
 * fleet's `[X-Fleet]` section: how fleet v1.0.0 reads it (multi-value lines, its four specifiers, first/last
 * value rules, metadata AND/OR), the combinations its API refuses (with its exact messages), the values it
 * silently ignores or misreads, and rendering a {@link FleetPlacement} into options fleet reads as meant.
 */
import { UnitError } from '../errors.js';
import type { FleetPlacement } from '../cluster/types.js';
import type { UnitFile, UnitOption } from './model.js';
import { goQuote } from './go-text.js';
import { goPathMatch } from './go-path-match.js';
import { deprecatedKeys, isTruthyValue, requirements, SECTION } from './xfleet-values.js';

export { goPathMatch, isBadGoPattern } from './go-path-match.js';
export { expandFleetSpecifiers, isTruthyValue, splitFleetValues } from './xfleet-values.js';
export { xfleetIgnored } from './xfleet-ignored.js';

/** What fleet's scheduler reads from a unit's `[X-Fleet]` section. */
export interface XFleet {
  /** First MachineID value only. */
  readonly machineID: string | undefined;
  /** Peers: units that must already run on the chosen machine. */
  readonly machineOf: string[];
  /** key → allowed values (OR); every key must match (AND). Malformed pairs are left out, as fleet does. */
  readonly machineMetadata: Map<string, string[]>;
  readonly conflicts: string[];
  /** Last Global value wins; true is `true|yes|1|on|t` in any case (fleet lower-cases it). */
  readonly global: boolean;
  readonly replaces: string[];
}

/** Current key → its older spellings, in the order of `deprecatedKeys` (built once; `read` runs per unit). */
const olderSpellings = new Map<string, string[]>();
for (const [old, now] of Object.entries(deprecatedKeys)) olderSpellings.set(now, [...(olderSpellings.get(now) ?? []), old]);

function read(req: Map<string, string[]>): XFleet {
  // Values under the older spellings first, then under the key itself.
  const get = (key: string): string[] => {
    const out: string[] = [];
    for (const old of olderSpellings.get(key) ?? []) out.push(...(req.get(old) ?? []));
    out.push(...(req.get(key) ?? []));
    return out;
  };
  const modern = req.get('MachineID') ?? [];
  const ids = modern.length > 0 ? modern : get('MachineID');
  const machineMetadata = new Map<string, string[]>();
  for (const pair of get('MachineMetadata')) {
    const kv = pair.split('=');
    const [k = '', v = ''] = kv;
    if (kv.length !== 2 || k === '' || v === '') continue;
    const vals = machineMetadata.get(k) ?? [];
    if (!vals.includes(v)) vals.push(v);
    machineMetadata.set(k, vals);
  }
  const globals = req.get('Global') ?? [];
  const last = globals[globals.length - 1];
  return {
    machineID: ids[0],
    machineOf: get('MachineOf'),
    machineMetadata,
    // fleet v1.0.0 splits Conflicts values at whitespace.
    conflicts: get('Conflicts').flatMap((c) => c.split(/\s+/).filter((p) => p !== '')),
    global: last !== undefined && isTruthyValue(last),
    replaces: req.get('Replaces') ?? [],
  };
}

/**
 * The unit's `[X-Fleet]` requirements as fleet's scheduler sees them, specifiers expanded with the unit's name.
 * The one reader of these values: `global` here is fleet's `Unit.IsGlobal()`.
 */
export function parseXFleet(unit: UnitFile): XFleet {
  return read(requirements(unit, unit.name));
}

/**
 * The message fleet's API answers (400) for a unit whose `[X-Fleet]` options cannot be satisfied, or
 * undefined. Same checks in the same order as fleet; like fleet's API, specifiers are not expanded here.
 * Where fleet walks a Go map (several matching pairs), pairs are taken in file order.
 */
export function xfleetRejection(unit: Pick<UnitFile, 'options'>): string | undefined {
  const x = read(requirements(unit, undefined));
  const uniq = (a: string[]): string[] => [...new Set(a)];
  const peers = uniq(x.machineOf);
  const conflicts = uniq(x.conflicts);
  const replaces = uniq(x.replaces);
  for (const peer of peers) {
    for (const c of conflicts) if (goPathMatch(c, peer)) return `unresolvable requirements: peer ${goQuote(peer)} matches conflict ${goQuote(c)}`;
    for (const r of replaces) if (goPathMatch(r, peer)) return `unresolvable requirements: peer ${goQuote(peer)} matches replace ${goQuote(r)}`;
  }
  const target = x.machineID !== undefined;
  const [hasPeers, hasConflicts, hasReplaces] = [peers.length > 0, conflicts.length > 0, replaces.length > 0];
  if (target && hasPeers) return 'MachineID cannot be used with Peers';
  if (target && hasConflicts) return 'MachineID cannot be used with Conflicts';
  if (target && x.global) return 'MachineID cannot be used with Global';
  if (target && hasReplaces) return 'MachineID cannot be used with Replaces';
  if (x.global && hasPeers) return 'Global cannot be used with Peers';
  if (x.global && hasReplaces) return 'Global cannot be used with Replaces';
  if (hasConflicts && hasReplaces) return 'Conflicts cannot be used with Replaces';
  return undefined;
}

function checkValue(key: string, value: string): string {
  const fail = (why: string): never => {
    throw new UnitError('ERR_UNIT_XFLEET', `[X-Fleet] ${key}: ${JSON.stringify(value)} ${why}`, {
      hint: 'fleet could not read this value as written',
    });
  };
  if (value === '') fail('is empty');
  if (/[\x00-\x1f\x7f]/.test(value)) fail('contains a newline or control character');
  if (value.includes('"')) fail('contains a double quote, which fleet strips from multi-value lines');
  if (value.trim() !== value) fail('has surrounding whitespace, which fleet drops');
  return value;
}

/**
 * A placement → `[X-Fleet]` options, in this order: one `Conflicts=` per pattern, one `MachineOf=` per unit,
 * one `MachineMetadata=` per key (several values quoted as fleet splits them:
 * `MachineMetadata="disk=ssd" "disk=hdd"`), `Global=true`, `MachineID=`, `Replaces=`. Throws
 * `ERR_UNIT_XFLEET` for a value fleet could not read back (empty, a quote, a newline); semantic problems are
 * left to {@link xfleetRejection} and {@link xfleetIgnored} on the result.
 */
export function renderXFleet(p: FleetPlacement): UnitOption[] {
  const opt = (name: string, value: string): UnitOption => ({ section: SECTION, name, value });
  const out: UnitOption[] = [];
  for (const c of p.conflicts) out.push(opt('Conflicts', checkValue('Conflicts', c)));
  for (const m of p.machineOf) out.push(opt('MachineOf', checkValue('MachineOf', m)));
  for (const [key, values] of p.machineMetadata) {
    const pairs = values.map((v) => checkValue('MachineMetadata', `${key}=${v}`));
    if (pairs.length === 0) continue;
    out.push(opt('MachineMetadata', pairs.length === 1 ? (pairs[0] ?? '') : pairs.map((s) => `"${s}"`).join(' ')));
  }
  if (p.global) out.push(opt('Global', 'true'));
  if (p.machineID !== undefined) out.push(opt('MachineID', checkValue('MachineID', p.machineID)));
  if (p.replaces !== undefined) out.push(opt('Replaces', checkValue('Replaces', p.replaces)));
  return out;
}
