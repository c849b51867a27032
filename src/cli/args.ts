/**
 * Argument parsing for every command: node:util's parseArgs (no dependency), with unknown options and
 * missing values turned into UsageErrors that name the command and point at --help.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * An option that takes a value takes the next word, whatever it starts with, as getopt does
 * (`journalctl --since -1h`): parseArgs refuses a value that starts with `-`, so such a pair is joined
 * into `--name=VALUE` first.
 */
export function attachDashValues(argv: readonly string[], options: OptionSpec): string[] {
  const takesValue = new Set<string>();
  for (const [name, o] of Object.entries(options)) {
    if (o.type !== 'string') continue;
    takesValue.add(`--${name}`);
    if (o.short) takesValue.add(`-${o.short}`);
  }
  const long = (flag: string): string => (flag.startsWith('--') ? flag : `--${Object.entries(options).find(([, o]) => o.short === flag.slice(1))![0]}`);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const next = argv[i + 1];
    if (takesValue.has(a) && next !== undefined && next.startsWith('-') && next !== '--') {
      out.push(`${long(a)}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

/** Other spellings of an option, kept working: `--no-block` is systemctl's name for not waiting. */
const ALIASES: Readonly<Record<string, string>> = { 'no-block': 'no-wait' };

/** Rewrites an alias to its option when the command has that option (and not the alias itself). */
export function resolveAliases(argv: readonly string[], options: OptionSpec): string[] {
  const end = argv.indexOf('--');
  return argv.map((a, i) => {
    if (end >= 0 && i >= end) return a;
    const m = /^--([^=]+)(=.*)?$/.exec(a);
    const target = m ? ALIASES[m[1]!] : undefined;
    return target && options[target] && !options[m![1]!] ? `--${target}${m![2] ?? ''}` : a;
  });
}

/**
 * Parses `argv` for `command`. Positionals are allowed; `--` ends options. The error names no command:
 * the caller's report puts `command:` in front once.
 */
export function parseCommandArgs<T extends OptionSpec>(command: string, argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: attachDashValues(resolveAliases(argv, options), options), options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(msg, `run '${command} --help' for the options`);
  }
}

/** Parses a positive integer option, naming the option in the error. */
export function intOption(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min) throw new UsageError(`--${name} must be a whole number ≥ ${min}, not "${value}"`);
  return Number(value);
}

/** Parses a duration option: `250ms`, `5s`, `2m`, or plain seconds. Returns milliseconds. */
export function durationOption(name: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value);
  if (!m) throw new UsageError(`--${name} must be a duration such as 500ms, 10s or 2m, not "${value}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!);
}
