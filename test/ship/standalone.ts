/**
 * The single-file build on its own: dist/fleetkit.cjs copied alone into a fresh directory that has no
 * node_modules in it or above it, run with a plain `node` (no loader, no NODE_PATH), as on a host.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestLike } from '../env/parts.js';
import { startArgv, type Started } from './unit-argv.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** package.json's version: the image tag and what `--version` prints. */
export const VERSION: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;

/** What a finished run printed. */
export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A long-running child (agent) with its output so far. */
/** A CLI process started by `start`. */
export type RunningCli = Started;

/** The copied bundle and ways to run it. */
export interface Standalone {
  /** The directory holding fleetkit.cjs and nothing else the tests did not put there. */
  readonly dir: string;
  readonly bundle: string;
  /** `node fleetkit.cjs ARGS` in `dir`; `probe` also records which built-in modules were loaded. */
  run(args: readonly string[], options?: { readonly env?: Record<string, string>; readonly probe?: boolean }): Promise<RunResult & { readonly builtins: string[] }>;
  /** Starts `node fleetkit.cjs ARGS` in `dir`; killed when `t` ends if still running. */
  start(t: TestLike, args: readonly string[]): RunningCli;
}

/** Every ancestor of `dir` (itself included) that holds a node_modules directory. */
function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) found.push(join(d, 'node_modules'));
    if (dirname(d) === d) return found;
  }
}

// The environment of every run: no NODE_PATH or NODE_OPTIONS (tap sets loaders there) to find modules by.
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_PATH;
  delete env.NODE_OPTIONS;
  return env;
}

// Requires the bundle like bin/ does and, at exit, writes the built-in modules the process loaded: how a
// test sees that a command never evaluated etcd3/gRPC (http2) or dockerode (http).
const PROBE = `process.on('exit', () => require('node:fs').writeFileSync(process.env.FLEETKIT_PROBE_OUT,
  JSON.stringify(process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)))));
require('./fleetkit.cjs').runProcess(process.argv.slice(2));
`;

/** Copies dist/fleetkit.cjs (built by `npm run build`) alone into a temp dir removed when `t` ends. */
export function standaloneBundle(t: TestLike): Standalone {
  const built = join(ROOT, 'dist/fleetkit.cjs');
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
  const dir = mkdtempSync(join(tmpdir(), 'fk-standalone-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stray = nodeModulesAbove(dir);
  if (stray.length) throw new Error(`the standalone dir ${dir} would see ${stray.join(', ')}; set TMPDIR elsewhere`);
  const bundle = join(dir, 'fleetkit.cjs');
  copyFileSync(built, bundle);
  writeFileSync(join(dir, 'probe.cjs'), PROBE);

  const start = (t: TestLike, args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): RunningCli =>
    startArgv(t, [process.execPath, ...args], env, { cwd: dir, onlyEnv: true });

  return {
    dir,
    bundle,
    async run(args, options = {}) {
      const probeOut = join(dir, `probe-${Math.random().toString(36).slice(2)}.json`);
      const env = cleanEnv({ ...options.env, FLEETKIT_PROBE_OUT: probeOut });
      const child = spawn(process.execPath, [options.probe ? 'probe.cjs' : 'fleetkit.cjs', ...args], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      let builtins: string[] = [];
      if (options.probe) {
        builtins = JSON.parse(readFileSync(probeOut, 'utf8')) as string[];
        rmSync(probeOut);
      }
      return { code, stdout, stderr, builtins };
    },
    start: (t, args) => start(t, ['fleetkit.cjs', ...args]),
  };
}
