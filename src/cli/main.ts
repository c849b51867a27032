/**
 * fleetkit's command dispatcher. Each command lives in its own file and is imported only when it runs, so
 * `gen-units` never pays for etcd, dbus or docker clients.
 */
import { ExitCode } from '../errors.js';
import { commands } from './commands.js';
import type { CliIO } from './io.js';
import { reportError } from './report-error.js';
import { VERSION } from './version.js';

export { reportError } from './report-error.js';
export { VERSION } from './version.js';

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const lines = Object.entries(commands).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`);
  return `usage: fleetkit COMMAND [ARGS…]\n\ncommands:\n${lines.join('\n')}\n  ${'completion'.padEnd(width)}  bash, zsh or fish completion script\n\n'fleetkit help COMMAND' or 'fleetkit COMMAND --help' for a command's options.\n`;
}

/** True when ARGS (before `--`) ask for JSON and the command has --json: failures are JSON then too. */
function wantsJson(name: string, args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return Boolean(commands[name]?.json) && (end < 0 ? args : args.slice(0, end)).includes('--json');
}

/**
 * Runs `fleetkit ARGV` and returns the exit code. Errors with a user-facing message print that message
 * (never a stack); anything else is a bug and prints its stack.
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined) {
    if (rest[0] !== 'completion' && !commands[rest[0]]) return unknownCommand(rest[0], io);
    return main([rest[0], '--help'], io);
  }
  if (name === 'completion') {
    try {
      const { run } = await import('./completion.js');
      return await run(rest, io);
    } catch (e) {
      return reportError(e, 'fleetkit completion', io);
    }
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version' || name === 'version') {
    io.stdout.write(`fleetkit ${VERSION}\n`);
    return ExitCode.ok;
  }
  const command = commands[name];
  if (!command) return unknownCommand(name, io);
  try {
    const mod = await command.load();
    return await mod.run(rest, io);
  } catch (e) {
    return reportError(e, `fleetkit ${name}`, io, { json: wantsJson(name, rest) });
  }
}

function unknownCommand(name: string, io: CliIO): number {
  io.stderr.write(`fleetkit: unknown command "${name}"\n  hint: run 'fleetkit --help' for the list\n`);
  return ExitCode.usage;
}
