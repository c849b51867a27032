/**
 * The `--exec` hook: runs after each write, one at a time, never blocking the watcher. If writes happen
 * while it runs, it runs once more when it ends (with the latest change), so a reload is never lost and
 * never stacks up. A hook that fails is logged; one that hangs is killed (its whole process group) after a
 * timeout.
 */
import { isUtf8 } from 'node:buffer';
import { spawn, type ChildProcess } from 'node:child_process';
import { quoteForLog } from './parse-announcement.js';

/** What the hook is told about the write that triggered it (v2 exec-watch's names, plus fleetkit's). */
export interface HookEvent {
  /** `set`, `delete` or `expire` (a key whose lease ended), as `etcdctl exec-watch` named them. */
  readonly action: 'set' | 'delete' | 'expire';
  readonly key: string;
  /** The value's bytes as etcd holds them; refused from the environment when they cannot go there. */
  readonly value: Buffer | string;
  readonly file: string;
  readonly revision: number;
}

export interface HookRunnerOptions {
  readonly argv: readonly string[];
  /** Kill the hook after this long, ms. */
  readonly timeoutMs: number;
  /** Grace between SIGTERM and SIGKILL, ms. Default 2000. */
  readonly killGraceMs?: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** sd-daemon style log (`<3>…`). */
  readonly log: (line: string) => void;
}

/**
 * Linux refuses one environment string longer than MAX_ARG_STRLEN (32 pages: 128 KiB, the "NAME=" and the
 * NUL included) with E2BIG, and the hook would not start at all.
 */
const MAX_ENV_STRING = 128 * 1024;

/**
 * Why `value` cannot be passed as environment variable `name`, or undefined when it can. A NUL cannot be
 * in an environment string at all (spawn throws), a string over MAX_ENV_STRING makes execve fail, and
 * bytes that are not UTF-8 would reach the hook as something other than what etcd holds.
 */
export function envValueProblem(name: string, value: Buffer | string): string | undefined {
  const buf = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (buf.includes(0)) return 'it holds a NUL byte';
  if (name.length + 1 + buf.length + 1 > MAX_ENV_STRING) return `it is ${buf.length} bytes, over the 128 KiB an environment string may hold`;
  if (typeof value !== 'string' && !isUtf8(buf)) return 'it is not valid UTF-8';
  return undefined;
}

/** Runs the hook, coalescing requests that arrive while it runs. */
export class HookRunner {
  private running: Promise<void> | undefined;
  private pending: HookEvent | undefined;
  private readonly opts: HookRunnerOptions;
  /** How many times the hook was started (tests and logs). */
  runs = 0;

  constructor(opts: HookRunnerOptions) {
    this.opts = opts;
  }

  /** Asks for a run with `ev`. Returns at once. */
  request(ev: HookEvent): void {
    this.pending = ev;
    if (!this.running) this.running = this.drain();
  }

  /** Resolves when no run is in progress or pending. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const ev = this.pending;
      this.pending = undefined;
      await this.runOnce(ev);
    }
    this.running = undefined;
  }

  private runOnce(ev: HookEvent): Promise<void> {
    const { argv, timeoutMs, log } = this.opts;
    const grace = this.opts.killGraceMs ?? 2000;
    this.runs++;
    return new Promise((resolve) => {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(this.opts.env)) if (v !== undefined) env[k] = v;
      // Values from etcd are anyone's who can write to the prefix: one that cannot enter an environment is
      // left out (logged, naming the key) and the hook still runs.
      const fromEtcd: [string, Buffer | string][] = [['ETCD_WATCH_KEY', ev.key], ['ETCD_WATCH_VALUE', ev.value]];
      for (const [name, value] of fromEtcd) {
        const problem = envValueProblem(name, value);
        if (problem) log(`<4>hook: ${name} of key ${quoteForLog(ev.key, 200)} left empty: ${problem}`);
        env[name] = problem ? '' : value.toString();
      }
      Object.assign(env, { ETCD_WATCH_ACTION: ev.action, FLEETKIT_HOSTS_FILE: ev.file, FLEETKIT_REVISION: String(ev.revision) });
      const started = Date.now();
      let child: ChildProcess;
      try {
        // Own process group: a timeout kills the hook and whatever it started, not only its first process.
        child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
      } catch (e) {
        // Whatever spawn refuses must not stop the watcher.
        log(`<3>hook ${JSON.stringify(argv[0])} could not start: ${(e as Error).message}`);
        return resolve();
      }
      let killTimer: NodeJS.Timeout | undefined;
      const killGroup = (sig: NodeJS.Signals): void => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          /* already gone */
        }
      };
      const timer = setTimeout(() => {
        log(`<4>hook ${JSON.stringify(argv[0])} still running after ${timeoutMs} ms: killing it`);
        killGroup('SIGTERM');
        killTimer = setTimeout(() => killGroup('SIGKILL'), grace);
      }, timeoutMs);
      const done = (line: string | undefined): void => {
        clearTimeout(timer);
        if (killTimer) clearTimeout(killTimer);
        if (line) log(line);
        resolve();
      };
      child.once('error', (e) => done(`<3>hook ${JSON.stringify(argv[0])} could not start: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      child.once('exit', (code, signal) => {
        const ms = Date.now() - started;
        if (code === 0) done(`<7>hook ran in ${ms} ms (revision ${ev.revision})`);
        else done(`<3>hook ${JSON.stringify(argv[0])} failed after ${ms} ms: ${signal ? `killed by ${signal}` : `exit status ${code}`}`);
      });
    });
  }
}
