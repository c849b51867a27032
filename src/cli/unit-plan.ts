/**
 * The pure half of `load`/`start`/`stop`/`unload`/`destroy`: what the user asked for (DesiredUnit), compared
 * with what fleet or systemd already has, gives one change per unit. No I/O here: the fleet and systemd
 * runners feed it what they read and carry out what it decides.
 */
import { lineEdits } from '../render/unified-diff.js';
import type { UnitFile } from '../unit/model.js';

/** One unit to load: its fleet form (full options; instances carry the template's) and its systemd file. */
export interface DesiredUnit {
  /** The fleet unit: name (instance name for instances) and full options. */
  readonly unit: UnitFile;
  /** The file systemd reads: the template's file for an instance (systemd instantiates by itself). */
  readonly file: string;
  /** That file's text. */
  readonly text: string;
  /** In the start set (instances and plain units); false for templates and units only submitted. */
  readonly start: boolean;
}

/** What happens to one unit. `conflict` = it differs and `--replace` was not given. */
export type ChangeKind = 'create' | 'replace' | 'unchanged' | 'conflict';

/** One decided change. `key` is the fleet hash or the file text, whatever decides "changed". */
export interface PlannedChange {
  readonly name: string;
  readonly kind: ChangeKind;
}

/**
 * Decides per unit: absent → create; same key → unchanged (costs no write); different → replace with
 * `replace`, else conflict.
 */
export function planChanges(
  desired: ReadonlyArray<{ readonly name: string; readonly key: string }>,
  existing: ReadonlyMap<string, string>,
  replace: boolean,
): PlannedChange[] {
  return desired.map(({ name, key }) => {
    const have = existing.get(name);
    if (have === undefined) return { name, kind: 'create' };
    if (have === key) return { name, kind: 'unchanged' };
    return { name, kind: replace ? 'replace' : 'conflict' };
  });
}

/** Units marked for `cluster` that the current render no longer has: reported, and destroyed with --prune. */
export function findStale(existing: ReadonlyArray<{ readonly name: string; readonly cluster: string | undefined }>, cluster: string, wanted: ReadonlySet<string>): string[] {
  return existing.filter((e) => e.cluster === cluster && !wanted.has(e.name)).map((e) => e.name).sort();
}

/**
 * Why a unit in fleet is not ours to change: it carries another cluster's mark (or a mark, when ours is a
 * plain unit file without one). Two clusters may both have a service `web`; the second never silently
 * replaces, stops or destroys the first one's unit. undefined when it is ours (or nobody's).
 */
export function foreignOwner(inFleet: string | undefined, ours: string | undefined): string | undefined {
  return inFleet !== undefined && inFleet !== ours ? inFleet : undefined;
}

/** The sentence shown for a unit that belongs to another cluster. */
export function foreignMessage(owner: string, ours: string | undefined, action: string): string {
  return `belongs to cluster "${owner}" (its [X-Fleetkit] Cluster= mark)${ours ? `, not to "${ours}"` : ''}; ${action}`;
}

/** Options as lines `[Section] Name=Value`, the form differences are shown in. */
export function optionLines(unit: Pick<UnitFile, 'options'>): string[] {
  return unit.options.map((o) => `[${o.section}] ${o.name}=${o.value}`);
}

/** A line diff (`- old`, `+ new`, unchanged lines left out), from the same edit script as `gen-units --check`. */
export function diffLines(before: readonly string[], after: readonly string[]): string[] {
  return lineEdits(before, after).filter((e) => e.kind !== ' ').map((e) => `${e.kind} ${e.line}`);
}
