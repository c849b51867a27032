/**
 * The options of every command that reads a cluster file, as `docker compose` spells them: `-p/--project-name`
 * and `--env-file` (repeatable). The file itself is the command's SPEC argument (`-` for standard input; none:
 * compose.yaml and the other default names, looked up as Compose does).
 */
import type { ClusterSpec } from '../cluster/types.js';
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
