/**
 * How every command reports the error that ended it: one place, shared by fleetkit and gen-units.
 */
import { ExitCode, formatProblem, isFleetkitError, SpecError, type SpecProblem } from '../errors.js';
import { createLogger } from '../log/logger.js';
import type { CliIO } from './io.js';

/**
 * Prints an error the way every command does and returns its exit code. With `json` (the command was asked
 * for --json) the failure is one JSON object on stdout, `{"code", "message", "hint"}` (plus `problems` for a
 * spec), where the reader of the JSON looks. Text goes to stderr with `PREFIX: ` once; under journald
 * (JOURNAL_STREAM names stderr) each line carries `<3>` so journald files it as an error, and nowhere else.
 */
export function reportError(e: unknown, prefix: string, io: CliIO, o: { readonly json?: boolean } = {}): number {
  const known = isFleetkitError(e);
  const err = e as Error;
  if (o.json) {
    const body: Record<string, unknown> = known
      ? { code: e.code, message: e.message, hint: e.hint ?? null }
      : { code: 'ERR_INTERNAL', message: `internal error: ${err?.message ?? String(e)}`, hint: 'this is a bug in fleetkit; please report it' };
    if (e instanceof SpecError && e.problems[0]) {
      // The first problem is the message (its hint the hint); every problem is in `problems`, located.
      const [first, more] = [e.problems[0], e.problems.length - 1];
      body['message'] = `${formatProblem({ ...first, hint: undefined })}${more > 0 ? ` (and ${more} more)` : ''}`;
      body['hint'] = first.hint ?? null;
      const located = (p: SpecProblem) => ({ file: p.file, line: p.pos?.line ?? null, col: p.pos?.col ?? null, path: p.path, message: p.message, hint: p.hint ?? null });
      body['problems'] = e.problems.map(located);
      if (e.warnings.length) body['warnings'] = e.warnings.map(located);
    }
    io.stdout.write(`${JSON.stringify(body)}\n`);
    if (!known) io.stderr.write(`${prefix}: internal error: ${err?.stack ?? String(e)}\n`);
    return known ? e.exitCode : ExitCode.failed;
  }
  const text = known ? e.format() : `internal error: ${err?.stack ?? String(e)}\n  hint: this is a bug in fleetkit; please report it`;
  const log = createLogger({ write: (c: string) => io.stderr.write(c), fd: (io.stderr as { fd?: number }).fd }, { env: io.env });
  for (const line of `${prefix}: ${text}`.split('\n')) log.err(line);
  return known ? e.exitCode : ExitCode.failed;
}
