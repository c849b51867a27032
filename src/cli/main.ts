/**
 * fleetkit's command dispatcher. Each command lives in its own file and is imported only when it runs, so
 * `gen-units` never pays for etcd, dbus or docker clients.
 */
import { ExitCode, isFleetkitError } from '../errors.js';
import type { CliIO, Command } from './io.js';

type Loader = () => Promise<{ run: Command }>;

/** Command name → module. Names follow fleetctl's verbs where fleetctl has one. */
const commands: Record<string, { load: Loader; summary: string }> = {
  gen: { load: () => import('./gen-units.js'), summary: 'render units from cluster.yaml (same as gen-units)' },
  load: { load: () => import('./load.js'), summary: 'submit units to fleet (or systemd) and start them' },
  start: { load: () => import('./start.js'), summary: 'start units' },
  stop: { load: () => import('./stop.js'), summary: 'stop units' },
  unload: { load: () => import('./unload.js'), summary: 'unload units (fleet: inactive)' },
  destroy: { load: () => import('./destroy.js'), summary: 'stop and remove units' },
  announce: { load: () => import('./announce.js'), summary: 'register a container with the host agent (sidekick)' },
  agent: { load: () => import('./agent.js'), summary: 'per-host announce agent (global unit)' },
  'watch-hosts': { load: () => import('./watch-hosts.js'), summary: 'keep a hosts file in step with etcd' },
  'cloud-config': { load: () => import('./cloud-config.js'), summary: 'CoreOS cloud-config or Butane for a machine' },
  status: { load: () => import('./status.js'), summary: 'what runs where, and what is announced' },
  logs: { load: () => import('./logs.js'), summary: 'journal lines of a unit or service' },
  events: { load: () => import('./events.js'), summary: 'one stream of unit, announcement and machine changes' },
};

/** The package version, kept in one place. */
export const VERSION = '0.1.0';

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((k) => k.length));
  const lines = Object.entries(commands).map(([k, c]) => `  ${k.padEnd(width)}  ${c.summary}`);
  return `usage: fleetkit COMMAND [ARGS…]\n\ncommands:\n${lines.join('\n')}\n\n'fleetkit COMMAND --help' for a command's options.\n`;
}

/**
 * Runs `fleetkit ARGV` and returns the exit code. Errors with a user-facing message print that message
 * (never a stack); anything else is a bug and prints its stack.
 */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(usage());
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  if (name === '--version' || name === 'version') {
    io.stdout.write(`fleetkit ${VERSION}\n`);
    return ExitCode.ok;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`fleetkit: unknown command "${name}"\n  hint: run 'fleetkit --help' for the list\n`);
    return ExitCode.usage;
  }
  try {
    const mod = await command.load();
    return await mod.run(rest, io);
  } catch (e) {
    return reportError(e, `fleetkit ${name}`, io);
  }
}

/** Prints an error the way every command does and returns its exit code. */
export function reportError(e: unknown, prefix: string, io: CliIO): number {
  if (isFleetkitError(e)) {
    io.stderr.write(`${prefix}: ${e.format()}\n`);
    return e.exitCode;
  }
  const err = e as Error;
  io.stderr.write(`${prefix}: internal error: ${err?.stack ?? String(e)}\n  hint: this is a bug in fleetkit; please report it\n`);
  return ExitCode.failed;
}
