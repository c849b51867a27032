/**
 * A long-running fleetkit process of the flow (`status --watch --json`), its stdout collected line by line
 * with the moment each line arrived, stopped with SIGTERM as an operator's Ctrl-C would.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** A line of output and when it arrived (ms since the epoch). */
export interface TimedLine {
  readonly at: number;
  readonly line: string;
}

/** A running program with its output so far. */
export class Background {
  readonly lines: TimedLine[] = [];
  stderr = '';
  private readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(file: string, args: readonly string[], env: Record<string, string>) {
    this.child = spawn(file, [...args], { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) this.lines.push({ at: Date.now(), line });
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  /** Sends SIGTERM and waits for the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}
