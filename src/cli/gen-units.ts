/**
 * `gen-units [SPEC] [-o DIR] [--stdout] [--check] [--prune]` (also `fleetkit gen`): renders cluster.yaml into
 * unit files and prints one path per unit to start, so `gen-units cluster.yaml | xargs fleetctl start` works.
 * The render is pure (src/render); this file is the only part that touches the filesystem. Only yaml,
 * zod/mini and the handlebars runtime load on this path.
 */
import { readFileSync } from 'node:fs';
import { syncDirSync, writeFileSafeSync } from '../fs/write-file-safe.js';
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { ExitCode, FleetkitError, isFleetkitError, UsageError } from '../errors.js';
import { renderCluster, type RenderedUnit } from '../render/render.js';
import { planSync } from '../render/sync-plan.js';
import { unifiedDiff } from '../render/unified-diff.js';
import { intOption, parseCommandArgs } from './args.js';
import { machineFitProblems } from '../render/machine-fit.js';
import { targetHelp, targetOption, withTarget } from './target-option.js';
import { CLUSTER_FLAGS_HELP, clusterFlagSpec, loadClusterFile } from './cluster-flags.js';
import type { CliIO, Command } from './io.js';
import { VERSION } from './version.js';

const HELP = `usage: gen-units [SPEC] [-o DIR] [--stdout] [--check] [--prune] [--target NAME] [--machines N] [-p NAME] [--env-file FILE]

Renders SPEC into systemd/fleet unit files in DIR (default ./units) and prints one path per unit to start,
instances included (DIR/web@2.service, which fleetctl resolves from DIR/web@.service):

  gen-units compose.yaml | xargs fleetctl start

SPEC is a Compose file; "-" reads it from standard input; without SPEC, compose.yaml, compose.yml,
docker-compose.yml, docker-compose.yaml or cluster.yaml is looked for here and in the parent directories.
\${VAR} in it is replaced as docker compose does (the shell's environment over .env beside the file).

  -o, --out DIR  where to write the units (default ./units)
  --stdout       print the unit texts instead of writing them, each after a "# ==> NAME <==" line
  --check        write nothing; exit 1 with a diff when DIR differs from the render
  --prune        remove files an earlier render of this cluster wrote that this render no longer produces
                 (files of other clusters in DIR, told apart by their [X-Fleetkit] Cluster= mark, stay)
  --target NAME  the hosts the units are for (default: x-fleetkit.target in SPEC, else current):
${targetHelp()}
  --machines N   the fleet has N machines: refuse (exit 2, nothing written) a spec that cannot be placed on
                 them, such as more mutually conflicting instances than machines, which fleetctl start
                 would wait on forever
${CLUSTER_FLAGS_HELP}
  -h, --help     this text
  --version      the version

Exit codes: 0 done (or --check found no difference), 1 --check found differences or a write failed,
2 bad arguments or a bad spec (FILE:LINE:COL: PATH: MESSAGE).
`;

/** Unit-file suffixes gen-units looks at in DIR (everything else there is ignored). */
const UNIT_FILE = /^[^.].*\.(service|socket|timer|path|target)$/;

export const run: Command = async (argv, io) => {
  const { values, positionals } = parseCommandArgs('gen-units', argv, {
    out: { type: 'string', short: 'o' },
    stdout: { type: 'boolean' },
    check: { type: 'boolean' },
    prune: { type: 'boolean' },
    target: { type: 'string' },
    machines: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
    ...clusterFlagSpec,
  });
  if (values.help) {
    io.stdout.write(HELP);
    return ExitCode.ok;
  }
  if (values.version) {
    io.stdout.write(`gen-units (fleetkit) ${VERSION}\n`);
    return ExitCode.ok;
  }
  if (positionals.length > 1) throw new UsageError(`one spec file at most, got ${positionals.length}`, `run 'gen-units --help'`);
  if (values.stdout && (values.check || values.prune)) throw new UsageError('--stdout cannot be combined with --check or --prune');

  const outArg = values.out ?? 'units';
  const loaded = await loadClusterFile(positionals[0], values, io);
  const specArg = loaded.shown;
  const spec = withTarget(loaded.spec, targetOption(values.target, 'gen-units'));
  const result = renderCluster(spec);
  for (const w of result.warnings) io.stderr.write(`gen-units: warning: ${w}\n`);
  if (values.machines !== undefined) {
    const machines = intOption('machines', values.machines, 1);
    const problems = machineFitProblems(spec, machines);
    if (problems.length) {
      for (const p of problems) io.stderr.write(`gen-units: ${specArg}: ${p}\n`);
      io.stderr.write(`  hint: add machines, lower deploy.replicas, or drop x-fleet.conflicts; nothing was written\n`);
      return ExitCode.usage;
    }
  }

  if (values.stdout) {
    io.stdout.write(result.files.map((f) => `# ==> ${f.name} <==\n${f.text}`).join('\n'));
    return ExitCode.ok;
  }

  const dir = resolveIn(io, outArg);
  const shownDir = `${outArg.replace(/\/+$/, '') || '.'}/`;
  const shown = (name: string): string => shownDir + name;
  const existing = await readUnitDir(dir);
  const plan = planSync(result.files, existing, spec.name);

  if (values.check) {
    let differs = false;
    for (const f of plan.changed) {
      io.stdout.write(unifiedDiff(existing.get(f.path) ?? '', f.text, { from: `a/${shown(f.path)}`, to: `b/${shown(f.path)}` }));
      differs = true;
    }
    for (const f of plan.missing) {
      io.stdout.write(`missing: ${shown(f.path)}\n`);
      differs = true;
    }
    for (const p of plan.stale) {
      io.stdout.write(`stale: ${shown(p)}\n`);
      differs = true;
    }
    if (differs) io.stderr.write(`gen-units: ${shown('')} differs from the render of ${specArg}; run 'gen-units ${specArg} -o ${outArg}'\n`);
    return differs ? ExitCode.failed : ExitCode.ok;
  }

  try {
    await mkdir(dir, { recursive: true });
    // Unchanged files are not rewritten: their mtime stays, and watchers of DIR see only real changes.
    const toWrite = [...plan.missing, ...plan.changed];
    for (const f of toWrite) writeAtomic(dir, f);
    // One directory fsync for the whole batch: each file was fsynced before its rename.
    if (toWrite.length > 0) syncDirSync(dir);
    for (const p of plan.stale) {
      if (values.prune) {
        await unlink(join(dir, p));
        io.stderr.write(`gen-units: removed stale ${shown(p)}\n`);
      } else {
        io.stderr.write(`gen-units: stale: ${shown(p)} (no longer rendered; --prune removes it)\n`);
      }
    }
  } catch (e) {
    throw fsError(e, shown(''));
  }
  io.stdout.write(result.start.map((name) => `${shown(name)}\n`).join(''));
  return ExitCode.ok;
};

/** A filesystem failure as a user-facing error (exit 1) instead of an internal one. */
function fsError(e: unknown, where: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== 'string' || isFleetkitError(e)) return e;
  return new FleetkitError('ERR_UNIT_DIR', `cannot write the units in ${where}: ${err.message}`, {
    hint: 'check that the output directory (-o DIR) is a writable directory',
    cause: e,
  });
}

function resolveIn(io: CliIO, path: string): string {
  return isAbsolute(path) ? path : resolve(io.cwd, path);
}

/**
 * File name → text of the unit files in `dir`; empty when `dir` does not exist yet. The files are read
 * synchronously, like writeAtomic writes them: for thousands of small files a promise and a thread-pool round
 * trip per step cost ten times the reads themselves.
 */
async function readUnitDir(dir: string): Promise<Map<string, string>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw fsError(e, dir);
  }
  const units = names.filter((n) => UNIT_FILE.test(n)).sort();
  return new Map(units.map((n) => [n, readFileSync(join(dir, n), 'utf8')]));
}

/**
 * Writes `f` with the safe writer (temp file, fsync, rename): readers never see half a unit.
 * Synchronous on purpose: thousands of small files go several times faster without a thread-pool round
 * trip per call, and nothing else runs meanwhile.
 */
function writeAtomic(dir: string, f: RenderedUnit): void {
  writeFileSafeSync(join(dir, f.path), f.text, { mode: 0o644, syncDir: false });
}
