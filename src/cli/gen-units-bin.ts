/**
 * Process entry of `bin/gen-units.cjs`, built as its own small bundle (`dist/gen-units.cjs`) that holds only
 * the render path: yaml, zod/mini, the handlebars runtime and precompiled templates. The all-commands bundle
 * is ~1.5 MB, and parsing it alone costs more than Node's own start-up; this one is a few hundred KB.
 */
import { run } from './gen-units.js';
import { processIO } from './io.js';
import { reportError } from './report-error.js';

/** Runs `gen-units ARGV` and sets the exit code (stdout drains before the process exits). */
export function runGenUnits(argv: readonly string[]): void {
  const io = processIO(new AbortController());
  run(argv, io).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.exitCode = reportError(e, 'gen-units', io);
    },
  );
}
