/**
 * The names `fleetkit logs` takes, read the way journalctl reads `-u` (journalctl.c add_units,
 * unit_name_mangle with globs allowed): a unit (`web@2.service`), an instance without its suffix (`web@2`,
 * `.service` added), a glob matched against whole unit names (`web@*`, `db-?.service`, kept as given), and
 * fleetkit's own addition, a service (`web`: `web.service` and every instance `web@*.service`). Also the
 * `-p` priorities journalctl accepts. Pure.
 */
import { UsageError } from '../errors.js';

/** One name given to `logs`, as the units it selects. */
export interface LogName {
  readonly text: string;
  /** What journalctl is asked for, one `-u` each. */
  readonly patterns: readonly string[];
  /** Whether the name selects a unit of this name (used against fleet's list and to label entries). */
  readonly matches: (unit: string) => boolean;
  /** The name may select several units (a service or a glob). */
  readonly several: boolean;
}

const SUFFIX = /\.(service|socket|timer|path|target|mount|automount|swap|slice|scope|device)$/;
const GLOB = /[*?[]/;

/**
 * fnmatch(3) with FNM_NOESCAPE, as journalctl matches its globs: `*` any run, `?` one character, `[…]` a
 * class (`!` or `^` negates), a backslash is itself (unit names escape with it). An unclosed `[` is literal.
 */
export function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i + 1;
      if (glob[j] === '!' || glob[j] === '^') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, j);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = j;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** Reads one name; a UsageError names what is wrong with it. */
export function parseLogName(text: string): LogName {
  if (text === '' || text.startsWith('-') || !/^[A-Za-z0-9:_.\\@*?[\]!^-]+$/.test(text)) {
    throw new UsageError(`"${text}" is not a unit, service or glob name`, "e.g. 'fleetkit logs web', 'fleetkit logs web@2', 'fleetkit logs \"web@*\"'");
  }
  if (GLOB.test(text)) {
    const re = globRegExp(text);
    return { text, patterns: [text], matches: (u) => re.test(u), several: true };
  }
  if (SUFFIX.test(text)) return { text, patterns: [text], matches: (u) => u === text, several: false };
  if (text.includes('@')) {
    const unit = `${text}.service`;
    return { text, patterns: [unit], matches: (u) => u === unit, several: false };
  }
  const plain = `${text}.service`;
  const instance = new RegExp(`^${text.replace(/[.\\]/g, '\\$&')}@.+\\.service$`);
  return { text, patterns: [plain, `${text}@*.service`], matches: (u) => u === plain || instance.test(u), several: true };
}

/** syslog's levels, 0 to 7, by the names journalctl takes (syslog-util.c's log_level table). */
export const LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug'] as const;

function level(s: string): number | undefined {
  const i = (LOG_LEVELS as readonly string[]).indexOf(s);
  if (i >= 0) return i;
  return /^[0-7]$/.test(s) ? Number(s) : undefined;
}

/**
 * Checks a `-p` value as journalctl reads it: a level (name or 0–7, meaning that level and everything more
 * important) or a range `FROM..TO` in either order. Returns the levels it selects.
 */
export function parsePriority(value: string): number[] {
  const dots = value.indexOf('..');
  const [from, to] = dots >= 0 ? [level(value.slice(0, dots)), level(value.slice(dots + 2))] : [0, level(value)];
  if (from === undefined || to === undefined) {
    throw new UsageError(`-p "${value}" is not a priority`, `give a level (${LOG_LEVELS.join(', ')}, or 0–7), which includes the more important ones, or a range such as warning..err`);
  }
  const [lo, hi] = from <= to ? [from, to] : [to, from];
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

/** Reads `-n`: a count, or `all`, as journalctl takes it. */
export function parseLines(value: string): number | 'all' {
  if (value === 'all') return 'all';
  if (!/^\d+$/.test(value)) throw new UsageError(`--lines must be a whole number ≥ 0 or "all", not "${value}"`);
  return Number(value);
}
