/**
 * Finding and reading a cluster file the way `docker compose` finds its project (compose-go `cli/options.go`):
 *
 * - no file given: `compose.yaml`, `compose.yml`, `docker-compose.yml`, `docker-compose.yaml` (compose-go's
 *   order), then fleetkit's own `cluster.yaml`, in the working directory and then each parent until one
 *   holds one; with several in one directory the first wins, with a warning;
 * - `-` reads standard input (the working directory stands for its directory);
 * - variables: the shell's environment over `.env` in the file's directory; `--env-file` (repeatable,
 *   later files override earlier ones) replaces `.env`;
 * - the name: `-p`, then COMPOSE_PROJECT_NAME (shell or `.env`), then `name:`, then the directory's name.
 *
 * Every problem in `.env` files is reported together with the cluster file's own (one SpecError).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { UsageError, type SpecProblem } from '../errors.js';
import { parseDotenv } from './dotenv.js';
import { parseCluster, type ParsedCluster } from './load.js';
import type { ClusterSpec } from './types.js';
import { checkGivenName, normalizeProjectName } from './project-name.js';

/** compose-go's DefaultFileNames, in its order of preference, then fleetkit's former default. */
export const CLUSTER_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml', 'cluster.yaml'] as const;

/** What the commands that read a cluster file are given. */
export interface ClusterFileOptions {
  /** The file as given: a path, `-` for standard input, or undefined to look for the default names. */
  readonly file: string | undefined;
  readonly cwd: string;
  /** The shell's environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `-p/--project-name`. */
  readonly projectName?: string | undefined;
  /** `--env-file` (replaces `.env`). */
  readonly envFiles?: readonly string[] | undefined;
  /** Standard input's text, for `-`. */
  readonly readStdin?: (() => Promise<string>) | undefined;
}

/** A loaded cluster, the file as shown in messages, and every warning (file lookup, `.env`, the file). */
export interface LoadedCluster extends ParsedCluster {
  readonly shown: string;
}

/** Finds, reads and parses the cluster file. Throws UsageError (no file) or SpecError (bad content). */
export async function loadCluster(o: ClusterFileOptions): Promise<LoadedCluster> {
  const warnings: SpecProblem[] = [];
  const found = o.file === undefined ? findClusterFile(o.cwd, warnings) : o.file === '-' ? undefined : { path: resolve(o.cwd, o.file), shown: o.file };
  const shown = found?.shown ?? '<stdin>';
  const dir = found ? dirname(found.path) : o.cwd;
  const text = found ? readText(found.path, found.shown) : await readStdin(o);
  const problems: SpecProblem[] = [];
  const dotenv = readDotenv(o, dir, found?.shown, problems, warnings);
  // The shell wins over .env, as in Compose.
  const env: Record<string, string | undefined> = { ...Object.fromEntries(dotenv), ...o.env };
  const projectName = checkGivenName(o.projectName, '-p/--project-name') ?? checkGivenName(env.COMPOSE_PROJECT_NAME, 'COMPOSE_PROJECT_NAME');
  const parsed = parseCluster(text, shown, {
    env,
    shell: o.env,
    dir,
    projectName,
    directoryName: normalizeProjectName(basename(dir)),
    problems,
    warnings,
  });
  return { ...parsed, shown };
}

/**
 * The first default-named file in `cwd` or the nearest parent that has one, as `docker compose` looks for it;
 * `warnings` gets one line when a directory holds several. Throws UsageError when there is none.
 */
export function findClusterFile(cwd: string, warnings: SpecProblem[]): { path: string; shown: string } {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const candidates = CLUSTER_FILE_NAMES.map((n) => join(dir, n)).filter(isFile);
    const winner = candidates[0];
    if (winner !== undefined) {
      const shown = relative(cwd, winner) || basename(winner);
      if (candidates.length > 1) {
        warnings.push({ file: shown, pos: undefined, path: '', message: `found several cluster files: ${candidates.map((c) => basename(c)).join(', ')}; using ${basename(winner)}`, hint: 'remove the others, or name the file to use' });
      }
      return { path: winner, shown };
    }
    if (dirname(dir) === dir) break;
  }
  throw new UsageError(
    `no ${CLUSTER_FILE_NAMES.join(', ')} in ${cwd} or a parent directory`,
    'name the cluster file (e.g. gen-units path/to/compose.yaml), or give - to read it from standard input',
  );
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readText(path: string, shown: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError(`${shown}: no such file`, 'name an existing cluster file, or run where compose.yaml is');
    if (code === 'EISDIR') throw new UsageError(`${shown}: is a directory`, `give the file inside it, e.g. ${join(shown, 'compose.yaml')}`);
    throw new UsageError(`${shown}: cannot read: ${(e as Error).message}`, 'check the path and its permissions');
  }
}

async function readStdin(o: ClusterFileOptions): Promise<string> {
  if (!o.readStdin) throw new UsageError('"-" reads the cluster file from standard input, which this command cannot read');
  return o.readStdin();
}

/**
 * The variables of `--env-file` files (in order) or of `.env` beside the file, each interpolated from the
 * shell and the files read before it. A missing `--env-file` is an error; a missing `.env` is not.
 */
function readDotenv(o: ClusterFileOptions, dir: string, shownFile: string | undefined, problems: SpecProblem[], warnings: SpecProblem[]): Map<string, string> {
  const explicit = o.envFiles !== undefined && o.envFiles.length > 0;
  const files = explicit ? (o.envFiles ?? []).map((f) => ({ path: resolve(o.cwd, f), shown: f })) : [{ path: join(dir, '.env'), shown: shownFile ? join(dirname(shownFile), '.env') : '.env' }];
  const values = new Map<string, string>();
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f.path, 'utf8');
    } catch (e) {
      if (!explicit && (e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new UsageError(`--env-file ${f.shown}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'name an existing file (it replaces .env)');
    }
    const parsed = parseDotenv(text, (n) => o.env[n] ?? values.get(n));
    for (const pr of parsed.problems) problems.push({ file: f.shown, pos: { line: pr.line, col: 1 }, path: '', message: pr.message, hint: 'write KEY=value lines; quote values with spaces or "#"' });
    for (const u of parsed.unset) warnings.push({ file: f.shown, pos: { line: u.line, col: 1 }, path: '', message: `variable ${u.ref.name} is not set; it becomes an empty string` });
    for (const [k, v] of parsed.values) values.set(k, v);
  }
  return values;
}

/**
 * Reads and parses the cluster file at `path` as the process sees it: variables from its environment and
 * `.env` beside the file (or `o.envFiles`), the name from `o.projectName`, COMPOSE_PROJECT_NAME, `name:` or the
 * directory. The warnings are in `spec.warnings`.
 */
export async function loadSpec(path: string, o: Pick<ClusterFileOptions, 'projectName' | 'envFiles'> = {}): Promise<ClusterSpec> {
  return (await loadCluster({ file: path, cwd: process.cwd(), env: process.env, projectName: o.projectName, envFiles: o.envFiles })).spec;
}
