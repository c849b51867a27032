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
  /** Standard input's whole text (for `-` as the cluster file); absent where there is none to read. */
  readonly readStdin?: () => Promise<string>;
}

/** A command: argv after the command name → exit code. Only bin/ calls process.exit. */
export type Command = (argv: readonly string[], io: CliIO) => Promise<number>;

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org). */
export function useColor(io: CliIO, stream: OutStream = io.stdout): boolean {
  return Boolean(stream.isTTY) && !io.env['NO_COLOR'] && io.env['TERM'] !== 'dumb';
}

/**
 * A stream whose reader may go away (`fleetkit logs | head -1`): once the pipe is closed (EPIPE), `onClosed`
 * runs once and later writes are dropped, as a reader that left wants nothing more. Any other write error
 * is a real fault and is raised.
 */
export function closablePipe(stream: NodeJS.WriteStream, onClosed: () => void): OutStream {
  let closed = false;
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    if (!closed) {
      closed = true;
      onClosed();
    }
  });
  return {
    write: (chunk: string) => (closed ? false : stream.write(chunk)),
    get isTTY() {
      return stream.isTTY;
    },
  };
}

/**
 * The process's own IO, for bin/. Given its controller, a closed stdout ends the command through the
 * signal, quietly: the reader has what it wanted. Given only a signal, output to a closed pipe is dropped.
 */
export function processIO(control: AbortController | AbortSignal): CliIO {
  const ac = control instanceof AbortController ? control : undefined;
  const stdout = closablePipe(process.stdout, () => ac?.abort());
  const readStdin = async (): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };
  return { stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), signal: ac ? ac.signal : (control as AbortSignal), readStdin };
}
