/**
 * fleetkit's CLI run in this process from the TypeScript sources (templates compiled at run time, every
 * package from node_modules): the reference the built artefacts must match byte for byte.
 */
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';

/** Runs `fleetkit ARGS` from the sources with `cwd`; returns its exit code and output. */
export async function inTreeCli(args: readonly string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: {},
    cwd,
    signal: new AbortController().signal,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
