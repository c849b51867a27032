/**
 * The CLI's view of the process: streams, environment and working directory. Commands receive it instead of
 * touching `process`, so tests run them in-process with captured output.
 */

/** Where a command writes. `isTTY` decides colour and progress bars. */
export interface OutStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean | undefined;
}

export interface CliIO {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM: long-running commands (agent, watch-hosts, --watch, -f) stop cleanly. */
  readonly signal: AbortSignal;
}

/** A command: argv after the command name → exit code. Only bin/ calls process.exit. */
export type Command = (argv: readonly string[], io: CliIO) => Promise<number>;

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export function useColor(io: CliIO, stream: OutStream = io.stdout): boolean {
  return Boolean(stream.isTTY) && !io.env['NO_COLOR'] && io.env['TERM'] !== 'dumb';
}

/** The process's own IO, for bin/. */
export function processIO(signal: AbortSignal): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal };
}
