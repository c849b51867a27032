/**
 * Runs fleetkit commands in-process with captured output, for the load/start/stop/unload/destroy tests.
 */
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';

/** What a command printed and returned. */
export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `fleetkit ARGV` with `env` and `cwd`; output captured (not a TTY). */
export async function runFleetkit(argv: readonly string[], o: { env?: Record<string, string | undefined>; cwd?: string } = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (c: string) => (stdout += c), isTTY: false },
    stderr: { write: (c: string) => (stderr += c), isTTY: false },
    env: o.env ?? {},
    cwd: o.cwd ?? process.cwd(),
    signal: new AbortController().signal,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}
