/**
 * The `--exec` hook: runs after each write, one at a time, never blocking the watcher. If writes happen
 * while it runs, it runs once more when it ends (with the latest change), so a reload is never lost and
 * never stacks up. A hook that fails is logged; one that hangs is killed (its whole process group) after a
 * timeout.
 */
import { spawn } from 'node:child_process';

/** What the hook is told about the write that triggered it (v2 exec-watch's names, plus fleetkit's). */
export interface HookEvent {
  /** `set`, `delete` or `expire` (a key whose lease ended), as `etcdctl exec-watch` named them. */
  readonly action: 'set' | 'delete' | 'expire';
  readonly key: string;
  readonly value: string;
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
      Object.assign(env, {
        ETCD_WATCH_ACTION: ev.action,
        ETCD_WATCH_KEY: ev.key,
        ETCD_WATCH_VALUE: ev.value,
        FLEETKIT_HOSTS_FILE: ev.file,
        FLEETKIT_REVISION: String(ev.revision),
      });
      const started = Date.now();
      // Own process group: a timeout kills the hook and whatever it started, not only its first process.
      const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
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
