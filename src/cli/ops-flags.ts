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
} as const satisfies OptionSpec;

/**
 * Checks the positionals and `--user`, then loads the optional SPEC. `verb` says what `--user` does with
 * the user manager (`reads`, `follows`) in the hint. The spec loader is imported only when a SPEC is given.
 */
export async function opsSpecFrom(
  command: 'status' | 'events',
  positionals: readonly string[],
  flags: { readonly systemd?: boolean | undefined; readonly user?: boolean | undefined } & ClusterFlagValues,
  verb: string,
  io: CliIO,
): Promise<ClusterSpec | undefined> {
  if (positionals.length > 1) throw new UsageError(`${command} takes at most one SPEC file, got ${positionals.length} arguments`);
  if (flags.user && !flags.systemd) throw new UsageError('--user needs --systemd', `fleet runs system units; --user ${verb} your user manager over D-Bus`);
  if (positionals[0] === undefined) return undefined;
  return readClusterSpec(positionals[0], flags, io, `fleetkit ${command}`);
}
