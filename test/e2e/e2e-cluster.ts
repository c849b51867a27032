/**
 * The end-to-end cluster: examples/e2e/cluster.yaml pointed at this run's etcd and engine, a temporary state
 * dir and hosts file, and fleetkit on the hosts either as a launcher for this checkout's build or as its
 * image, plus the programs the flow runs (gen-units and fleetkit as real processes, as an operator and the
 * rendered units run them).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { IMAGE } from '../ship/image-build.js';

/** The checkout's root. */
export const ROOT = resolve(import.meta.dirname, '../..');
/** The spec the flow starts from. */
export const EXAMPLE = join(ROOT, 'examples/e2e/cluster.yaml');
/** The cluster name in the example (hosts entries are `web-1 web-1.e2e`). */
export const CLUSTER = 'e2e';

/** What a program printed and how it ended, and how long it took. */
export interface ProgramResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `file args…` to its end; a non-zero exit is a result, not an error. */
export function runProgram(file: string, args: readonly string[], o: { env?: Record<string, string>; cwd?: string } = {}): Promise<ProgramResult> {
  const started = performance.now();
  return new Promise((done) => {
    execFile(file, [...args], { env: { ...process.env, NO_COLOR: '1', ...o.env }, cwd: o.cwd, maxBuffer: 16 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      done({ code, stdout, stderr: stderr || (err && code === 127 ? err.message : ''), ms: Math.round(performance.now() - started) });
    });
  });
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/**
 * The single-file build the units run. `npm test` builds it first; a file run alone with `npx tap` may find
 * it older than the sources, and then builds it, so the flow never runs yesterday's fleetkit.
 */
export async function ensureBundle(): Promise<void> {
  const built = await Promise.all(['dist/fleetkit.cjs', 'dist/gen-units.cjs'].map((f) => stat(join(ROOT, f)).then((s) => s.mtimeMs, () => 0)));
  const sources = Math.max(await newestMtime(join(ROOT, 'src')), await newestMtime(join(ROOT, 'templates')));
  if (Math.min(...built) >= sources) return;
  const r = await runProgram(process.execPath, [join(ROOT, 'scripts/bundle.mjs')]);
  if (r.code !== 0) throw new Error(`node scripts/bundle.mjs failed (exit ${r.code}):\n${r.stderr}`);
}

/**
 * How the hosts run fleetkit (`runtime.fleetkit`): `binary`, this checkout's launcher; `image`, the image
 * `npm run image` builds (IMAGE), which the engine must already hold.
 */
export type FleetkitForm = 'binary' | 'image';

/** Paths of one cluster on this machine. */
export interface ClusterFiles {
  /** The rewritten cluster.yaml. */
  readonly spec: string;
  /** Its directory: gen-units writes `units/` here. */
  readonly dir: string;
  /**
   * `#!/bin/sh` launcher of this checkout's fleetkit: the operator's CLI (load, status, destroy) in both
   * forms, and `runtime.fleetkit.binary` in the binary form.
   */
  readonly fleetkit: string;
  /** The hosts file watch-hosts keeps (a block for the host). */
  readonly hostsFile: string;
  /** The cluster's containers' hosts file watch-hosts keeps, which the containers mount as /etc/hosts. */
  readonly containersFile: string;
  /** The agent's registry and socket (`runtime.stateDir`). */
  readonly stateDir: string;
  /** The announcement prefix, unique to this cluster: `<prefix>/e2e/web/1`. */
  readonly prefix: string;
}

/** The line the hosts file starts with, outside fleetkit's block: it must survive every write. */
export const HOSTS_HEAD = '127.0.0.1 localhost\n';

/** Where the cluster's parts are and how its hosts run fleetkit. */
export interface ClusterOptions {
  readonly etcd: readonly string[];
  readonly prefix: string;
  /** The engine's API socket (`runtime.dockerSocket`: the test engine does not listen on the default). */
  readonly dockerSocket: string;
  /** @default 'binary' */
  readonly form?: FleetkitForm;
}

/**
 * Writes `dir/cluster.yaml`: the example with etcd, the prefix, the engine's socket, fleetkit's form, the
 * state dir, the hosts file and the containers' hosts file moved to `dir`. Everything else is the
 * example as committed.
 */
export async function prepareCluster(dir: string, o: ClusterOptions): Promise<ClusterFiles> {
  const files: ClusterFiles = {
    spec: join(dir, 'cluster.yaml'),
    dir,
    fleetkit: join(dir, 'bin/fleetkit'),
    hostsFile: join(dir, 'hosts/hosts'),
    containersFile: join(dir, 'hosts/containers'),
    stateDir: join(dir, 'state'),
    prefix: o.prefix,
  };
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'hosts'), { recursive: true });
  // As /etc/hosts on a host, the file exists before anything mounts it (docker would make a directory).
  await writeFile(files.hostsFile, HOSTS_HEAD);
  await writeFile(files.fleetkit, `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'dist/fleetkit.cjs')} "$@"\n`);
  await chmod(files.fleetkit, 0o755);

  const doc = parseDocument(await readFile(EXAMPLE, 'utf8'));
  doc.setIn(['x-fleetkit', 'etcd', 'endpoints'], [...o.etcd]);
  doc.setIn(['x-fleetkit', 'etcd', 'prefix'], o.prefix);
  // As an operator would say it: every unit that runs docker gets it as DOCKER_HOST, fleetkit's agent as
  // --docker-host (or mounted, in the image form).
  doc.setIn(['x-fleetkit', 'runtime', 'dockerSocket'], o.dockerSocket);
  doc.setIn(['x-fleetkit', 'runtime', 'fleetkit'], doc.createNode(o.form === 'image' ? { image: IMAGE } : { binary: files.fleetkit }));
  doc.setIn(['x-fleetkit', 'runtime', 'stateDir'], files.stateDir);
  doc.setIn(['x-fleetkit', 'hosts', 'file'], files.hostsFile);
  doc.setIn(['x-fleetkit', 'hosts', 'containers'], files.containersFile);
  await writeFile(files.spec, doc.toString());
  return files;
}

/** The `IP NAME NAME.CLUSTER` lines of fleetkit's block in a hosts text, by hostname. */
export function hostsEntries(text: string, cluster = CLUSTER): Map<string, string> {
  const out = new Map<string, string>();
  const begin = text.indexOf(`# BEGIN fleetkit ${cluster}\n`);
  const end = text.indexOf(`# END fleetkit ${cluster}`);
  if (begin < 0 || end < begin) return out;
  for (const line of text.slice(begin, end).split('\n')) {
    const m = /^(\S+) (\S+) (\S+)$/.exec(line);
    if (m && m[3] === `${m[2]}.${cluster}`) out.set(m[2]!, m[1]!);
  }
  return out;
}
