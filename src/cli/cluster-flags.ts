/**
 * The options of every command that reads a cluster file, as `docker compose` spells them: `-p/--project-name`
 * and `--env-file` (repeatable). The file itself is the command's SPEC argument (`-` for standard input; none:
 * compose.yaml and the other default names, looked up as Compose does).
 */
import type { ClusterSpec } from '../cluster/types.js';
import { formatProblem } from '../errors.js';
import type { OptionSpec } from './args.js';
import type { CliIO } from './io.js';

/** parseArgs options for the cluster file. */
export const clusterFlagSpec = {
  'project-name': { type: 'string', short: 'p' },
  'env-file': { type: 'string', multiple: true },
} as const satisfies OptionSpec;

/** Help lines for the options above. */
export const CLUSTER_FLAGS_HELP = `  -p, --project-name NAME  the cluster's name (else COMPOSE_PROJECT_NAME, name:, the directory's name)
  --env-file FILE          variables for \${VAR} in the file, instead of .env beside it (repeatable)`;

/** The values parseArgs gives for `clusterFlagSpec`. */
export interface ClusterFlagValues {
  readonly 'project-name'?: string | undefined;
  readonly 'env-file'?: string[] | undefined;
}

/**
 * Loads the cluster file named by `file` (or found); returns the spec and the file's name as shown. The
 * warnings are in `spec.warnings`, which the render reports with its own.
 */
export async function loadClusterFile(file: string | undefined, flags: ClusterFlagValues, io: CliIO): Promise<{ spec: ClusterSpec; shown: string }> {
  const { loadCluster } = await import('../cluster/cluster-file.js');
  const loaded = await loadCluster({ file, cwd: io.cwd, env: io.env, projectName: flags['project-name'], envFiles: flags['env-file'], readStdin: io.readStdin });
  return { spec: loaded.spec, shown: loaded.shown };
}

/** The loader's options for the flags above. */
export function clusterFileFlags(flags: ClusterFlagValues): { projectName: string | undefined; envFiles: string[] | undefined } {
  return { projectName: flags['project-name'], envFiles: flags['env-file'] };
}

/** Writes the spec's warnings (interpolation, deprecated keys, keys that do less than under Compose) as gen-units does. */
export function printSpecWarnings(spec: ClusterSpec, io: Pick<CliIO, 'stderr'>, command: string): void {
  for (const w of spec.warnings) io.stderr.write(`${command}: warning: ${formatProblem(w)}\n`);
}

/**
 * For the commands that read a SPEC but render nothing (status, events, doctor, watch-hosts, cloud-config):
 * loads it as gen-units does, with `-p` and `--env-file`, and prints its warnings, as gen-units does.
 */
export async function readClusterSpec(file: string | undefined, flags: ClusterFlagValues, io: CliIO, command: string): Promise<ClusterSpec> {
  const { spec } = await loadClusterFile(file, flags, io);
  printSpecWarnings(spec, io, command);
  return spec;
}
