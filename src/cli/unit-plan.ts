/**
 * The pure half of `load`/`start`/`stop`/`unload`/`destroy`: what the user asked for (DesiredUnit), compared
 * with what fleet or systemd already has, gives one change per unit. No I/O here: the fleet and systemd
 * runners feed it what they read and carry out what it decides.
 */
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

/** Options as lines `[Section] Name=Value`, the form differences are shown in. */
export function optionLines(unit: Pick<UnitFile, 'options'>): string[] {
  return unit.options.map((o) => `[${o.section}] ${o.name}=${o.value}`);
}

/**
 * A line diff (`- old`, `+ new`, unchanged lines left out), from the longest common subsequence. Units are
 * small (tens of lines), so the quadratic table costs nothing.
 */
export function diffLines(before: readonly string[], after: readonly string[]): string[] {
  const n = before.length;
  const m = after.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = before[i] === after[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      i++;
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      out.push(`- ${before[i++]}`);
    } else {
      out.push(`+ ${after[j++]}`);
    }
  }
  return out;
}
