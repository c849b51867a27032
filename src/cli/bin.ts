/**
 * Process entry points used by bin/ (through the bundle). The only place that calls process.exit.
 */
import { processIO } from './io.js';
import { main } from './main.js';

/** Runs fleetkit with `argv` (without node and script) and exits with its code. */
export function runProcess(argv: readonly string[]): void {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  main(argv, processIO(ac.signal)).then(
    (code) => {
      // Let pending stdout writes drain before exiting (a pipe into xargs must see every line).
      process.exitCode = code;
      if (!ac.signal.aborted) {
        process.removeListener('SIGTERM', stop);
        process.removeListener('SIGINT', stop);
      }
    },
    (e: unknown) => {
      process.stderr.write(`fleetkit: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
