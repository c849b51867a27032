/**
 * Runs the commands of rendered units the way systemd would: the `ExecStart=` value parsed by systemd's
 * rules (src/unit/parse-command-line.ts) with the specifiers of one instance, then spawned as argv.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { RenderResult } from '../../src/render/render.js';
import { parseExecLine } from '../../src/unit/parse-command-line.js';
import type { TestLike } from '../env/parts.js';

/** The specifiers systemd would give `unit` (instance `i` for a template). */
export function specifiersOf(unit: string, i = ''): Record<string, string> {
  const prefix = unit.replace(/@.*$/, '').replace(/\.service$/, '');
  return {
    i,
    I: i,
    p: prefix,
    P: prefix,
    n: i ? unit.replace('@.', `@${i}.`) : unit,
    N: (i ? unit.replace('@.', `@${i}.`) : unit).replace(/\.service$/, ''),
    H: hostname(),
    m: readFileSync('/etc/machine-id', 'utf8').trim(),
  };
}

/** Every `NAME=` command of `unit` in `rendered`, parsed to argv (prefix characters apart). */
export function execArgvs(rendered: RenderResult, unit: string, name: 'ExecStart' | 'ExecStartPre' | 'ExecStop', instance = ''): Array<{ prefix: string; argv: string[] }> {
  const file = rendered.files.find((f) => f.name === unit);
  if (!file) throw new Error(`no unit ${unit} in the render (${rendered.files.map((f) => f.name).join(', ')})`);
  return file.unit.options
    .filter((o) => o.section === 'Service' && o.name === name)
    .map((o) => parseExecLine(o.value, { specifiers: specifiersOf(unit, instance) }));
}

/** A finished command. */
export interface Finished {
  readonly code: number | null;
  readonly out: string;
  readonly ms: number;
}

/** Runs argv to completion with `env` added. */
export async function runArgv(argv: readonly string[], env: Record<string, string>): Promise<Finished> {
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, out, ms: performance.now() - started };
}

/** A started long-running command (a service's main process). */
export interface Started {
  readonly child: ChildProcess;
  readonly out: string[];
  readonly exited: Promise<number | string>;
}

/**
 * Starts argv in the background, its output collected; killed when `t` ends if still running. `env` is
 * added to this process's environment, unless `o.onlyEnv` makes it the whole environment.
 */
export function startArgv(t: TestLike, argv: readonly string[], env: NodeJS.ProcessEnv, o: { cwd?: string; onlyEnv?: boolean } = {}): Started {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: o.cwd, env: o.onlyEnv ? env : { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (s: string) => out.push(s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => out.push(s));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, out, exited };
}
