/**
 * What the operations commands that read a whole cluster (status, events) share: their common flags
 * (etcd, where units are read — fleet's API or the local systemd — and this machine) and the checks and
 * optional SPEC that come first in both.
 */
import { UsageError } from '../errors.js';
import type { ClusterSpec } from '../cluster/types.js';
import type { OptionSpec } from './args.js';
import { etcdFlagSpec } from './etcd-flags.js';
import { clusterFlagSpec, readClusterSpec, type ClusterFlagValues } from './cluster-flags.js';
import type { CliIO } from './io.js';

/** parseArgs options shared by status and events; each command adds its own. */
export const opsFlagSpec = {
  ...etcdFlagSpec,
  ...clusterFlagSpec,
  json: { type: 'boolean' },
  systemd: { type: 'boolean' },
  user: { type: 'boolean' },
  interval: { type: 'string' },
  endpoint: { type: 'string' },
  'machine-id': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  // load's flags for where unit files and journals live: parsed only to be refused with a reason (below).
  'unit-dir': { type: 'string' },
  runtime: { type: 'boolean' },
  'journal-dir': { type: 'string' },
} as const satisfies OptionSpec;

/**
 * Why status and events refuse load's `--systemd` file flags, which a user may pass along with the rest of
 * load's command line: they ask the manager for the cluster's units by name, wherever the files are, and
 * read no journal. Not listed in their help, so completion does not offer them either.
 */
const LOAD_ONLY: Readonly<Record<'unit-dir' | 'runtime' | 'journal-dir', (command: string, from: string) => string>> = {
  'unit-dir': (command, from) => `${command} asks ${from} for the cluster's units by name, wherever their files are (--unit-dir tells load where to write them)`,
  runtime: (command, from) => `${command} asks ${from} for the cluster's units by name, wherever their files are (--runtime tells load to write them under /run)`,
  'journal-dir': (command) => `${command} reads no journal (fleetkit logs --journal-dir DIR does)`,
};

/**
 * Checks the positionals and `--user`, then loads the optional SPEC. `verb` says what `--user` does with
 * the user manager (`reads`, `follows`) in the hint. The spec loader is imported only when a SPEC is given.
 */
export async function opsSpecFrom(
  command: 'status' | 'events',
  positionals: readonly string[],
  flags: { readonly systemd?: boolean | undefined; readonly user?: boolean | undefined; readonly 'unit-dir'?: string | undefined; readonly runtime?: boolean | undefined; readonly 'journal-dir'?: string | undefined } & ClusterFlagValues,
  verb: string,
  io: CliIO,
): Promise<ClusterSpec | undefined> {
  if (positionals.length > 1) throw new UsageError(`${command} takes at most one SPEC file, got ${positionals.length} arguments`);
  if (flags.user && !flags.systemd) throw new UsageError('--user needs --systemd', `fleet runs system units; --user ${verb} your user manager over D-Bus`);
  for (const [flag, why] of Object.entries(LOAD_ONLY) as Array<[keyof typeof LOAD_ONLY, (c: string, f: string) => string]>) {
    if (flags[flag] !== undefined) throw new UsageError(`--${flag} is not an option of ${command}: ${why(command, flags.systemd ? 'systemd' : 'fleet')}`);
  }
  if (positionals[0] === undefined) return undefined;
  return readClusterSpec(positionals[0], flags, io, `fleetkit ${command}`);
}
