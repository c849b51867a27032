/**
 * Checks a unit against a target: every directive systemd reads and every flag of every docker command line,
 * looked up in the feature table. Pure.
 */
import type { UnitFile } from '../unit/model.js';
import { parseExecLine } from '../unit/parse-command-line.js';
import { unwrapAwait } from '../unit/wrapped-command.js';
import { commandRow, directiveRow, flagRow, VALUES, type DockerCommand } from './feature-table.js';
import { dockerHas, formatDocker, type Target } from './targets.js';

/** One directive, value or docker flag a unit uses. */
export interface Feature {
  readonly kind: 'directive' | 'value' | 'docker';
  /** How a message names it: `Upholds=`, `Restart=on-failure with Type=oneshot`, `docker run --pull`. */
  readonly what: string;
  /** The `[section] name` it came from (the Exec line for a docker flag). */
  readonly section: string;
  readonly name: string;
  /** `systemd 249`, `Docker 20.10`; undefined when the table lacks it. */
  readonly needs: string | undefined;
  /** True when the target has it; false when it is newer or unknown. */
  readonly ok: boolean;
  readonly source: string | undefined;
}

/** Command-line settings whose words are checked for docker flags. */
const EXEC = /^Exec(Start|StartPre|StartPost|Stop|StopPost|Reload|Condition)$/;
/** Sections systemd reads in a service unit; `X-` sections (fleet's, fleetkit's) it ignores. */
const SYSTEMD_SECTIONS = new Set(['Unit', 'Service', 'Install']);
/** A value for every specifier, so that command lines parse as systemd would read them. */
const SPECIFIERS = Object.fromEntries('aAbBCdEfgGhHiIjJlLmMnNopPsStTuUvVwWyY'.split('').map((l) => [l, 'x']));

/** Every feature `unit` uses, each judged against `target`. */
export function unitFeatures(unit: UnitFile, target: Target): Feature[] {
  const out: Feature[] = [];
  for (const o of unit.options) {
    if (o.section.startsWith('X-')) continue;
    const row = SYSTEMD_SECTIONS.has(o.section) ? directiveRow(o.section, o.name) : undefined;
    out.push({
      kind: 'directive',
      what: `${o.name}=`,
      section: o.section,
      name: o.name,
      needs: row ? `systemd ${row.since}` : undefined,
      ok: row !== undefined && row.since <= target.systemd,
      source: row?.source,
    });
    if (o.section === 'Service' && EXEC.test(o.name)) out.push(...dockerFeatures(o.section, o.name, o.value, target));
  }
  for (const v of VALUES) {
    const has = (name: string, values: readonly string[]): boolean => unit.options.some((o) => o.section === v.section && o.name === name && values.includes(o.value));
    if (has(v.name, v.values) && (!v.with || has(v.with.name, [v.with.value]))) {
      const value = unit.options.find((o) => o.section === v.section && o.name === v.name && v.values.includes(o.value))!.value;
      out.push({
        kind: 'value',
        what: `${v.name}=${value}${v.with ? ` with ${v.with.name}=${v.with.value}` : ''}`,
        section: v.section,
        name: v.name,
        needs: `systemd ${v.since}`,
        ok: v.since <= target.systemd,
        source: v.source,
      });
    }
  }
  return out;
}

/** The features of `unit` that `target` lacks or that the table does not know. */
export function checkUnit(unit: UnitFile, target: Target): Feature[] {
  return unitFeatures(unit, target).filter((f) => !f.ok);
}

/** One line for a message: `Upholds= needs systemd 249 (systemd.unit(5): …); target legacy has systemd 231`. */
export function describeFinding(f: Feature, target: Target): string {
  if (f.needs === undefined) return `${f.what} is not in fleetkit's table of ${f.kind === 'docker' ? 'docker flags' : 'systemd directives'}, so target ${target.name} cannot be checked for it`;
  const have = f.kind === 'docker' ? `Docker ${formatDocker(target.docker)}` : `systemd ${target.systemd}`;
  return `${f.what} needs ${f.needs}; target ${target.name} has ${have} (${f.source})`;
}

/**
 * The docker features of one command line, when it runs docker: global flags, the subcommand, and the
 * subcommand's flags up to its first argument (for `run`, the image: what follows is the container's
 * command, not docker's).
 */
export function dockerFeatures(section: string, name: string, line: string, target: Target): Feature[] {
  let argv: string[];
  try {
    argv = parseExecLine(line, { specifiers: SPECIFIERS }).argv;
  } catch {
    return [];
  }
  // `fleetkit await … -- docker run …` (depends_on): the docker command follows the wait's `--`.
  argv = [...unwrapAwait(argv)];
  if (!/(^|\/)docker$/.test(argv[0] ?? '')) return [];
  const out: Feature[] = [];
  const judge = (command: DockerCommand | string, flag: string | undefined): boolean => {
    const row = flag === undefined ? commandRow(command) : flagRow(command as DockerCommand, flag);
    out.push({
      kind: 'docker',
      what: flag === undefined ? `docker ${command}` : `docker ${command === 'global' ? '' : `${command} `}${flag}`,
      section,
      name,
      needs: row ? `Docker ${formatDocker(row.since)}` : undefined,
      ok: row !== undefined && dockerHas(target.docker, row.since),
      source: row?.source,
    });
    return row?.value ?? false;
  };
  let i = 1;
  const flags = (command: string): void => {
    while (i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '--') {
      const word = argv[i]!;
      const eq = word.indexOf('=');
      const flag = eq > 0 ? word.slice(0, eq) : word;
      const takesValue = judge(command, flag);
      i += takesValue && eq < 0 ? 2 : 1;
    }
  };
  flags('global');
  const command = argv[i];
  if (command === undefined) return out;
  i++;
  judge(command, undefined);
  flags(command);
  return out;
}
