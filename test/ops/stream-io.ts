/**
 * Runs a long-lived fleetkit command (logs -f, events, status --watch) in-process with output captured line
 * by line, so a test can await a line (no sleeps) and then stop the command through its abort signal.
 */
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';

/** A running command. */
export interface Running {
  /** Every stdout line so far. */
  readonly lines: string[];
  stderr(): string;
  /** Resolves with the first line (`at`: performance.now(), `mono`: CLOCK_MONOTONIC ns when it was written) (from index `from`) matching `re`; rejects after `timeoutMs` or when the command ends first. */
  waitLine(re: RegExp, o?: { from?: number; timeoutMs?: number }): Promise<{ line: string; index: number; at: number; mono: bigint }>;
  /** Aborts the command and resolves with its exit code. */
  stop(): Promise<number>;
  /** Resolves when the command ends on its own. */
  readonly done: Promise<number>;
}

/** Starts `fleetkit ARGV`. `tty` makes stdout a terminal (colour). */
export function startFleetkit(argv: readonly string[], o: { env?: Record<string, string | undefined>; tty?: boolean } = {}): Running {
  const ac = new AbortController();
  const lines: string[] = [];
  const stamps: number[] = [];
  const monos: bigint[] = [];
  let partial = '';
  let err = '';
  let waiters: (() => void)[] = [];
  let ended = false;
  const notify = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const io: CliIO = {
    stdout: {
      write: (c: string) => {
        partial += c;
        const parts = partial.split('\n');
        partial = parts.pop() ?? '';
        const now = performance.now();
        const mono = process.hrtime.bigint();
        for (const p of parts) {
          lines.push(p);
          stamps.push(now);
          monos.push(mono);
        }
        if (parts.length) notify();
        return true;
      },
      isTTY: o.tty ?? false,
    },
    stderr: { write: (c: string) => ((err += c), true), isTTY: false },
    env: o.env ?? { PATH: process.env['PATH'] },
    cwd: process.cwd(),
    signal: ac.signal,
  };
  const done = main(argv, io).finally(() => {
    ended = true;
    notify();
  });
  return {
    lines,
    stderr: () => err,
    done,
    waitLine(re, w = {}) {
      const from = w.from ?? 0;
      const deadline = Date.now() + (w.timeoutMs ?? 15_000);
      return new Promise((resolve, reject) => {
        const check = (): void => {
          for (let i = from; i < lines.length; i++) {
            if (re.test(lines[i]!)) return resolve({ line: lines[i]!, index: i, at: stamps[i]!, mono: monos[i]! });
          }
          if (ended) return reject(new Error(`command ended before a line matched ${re}; stderr: ${err}\nstdout:\n${lines.join('\n')}`));
          if (Date.now() > deadline) return reject(new Error(`no line matched ${re} in time; stderr: ${err}\nstdout:\n${lines.join('\n')}`));
          waiters.push(check);
          setTimeout(() => {
            const i = waiters.indexOf(check);
            if (i >= 0) {
              waiters.splice(i, 1);
              check();
            }
          }, Math.max(0, deadline - Date.now()) + 5);
        };
        check();
      });
    },
    async stop() {
      ac.abort();
      return done;
    },
  };
}
