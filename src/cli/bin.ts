/**
 * Process entry points used by bin/ (through the bundle). The only place that calls process.exit.
 */
import { processIO } from './io.js';
import { main } from './main.js';

/** Runs fleetkit with `argv` (without node and script) and exits with its code. */
export function runProcess(argv: readonly string[]): void {
  const ac = new AbortController();
  let caught: 'SIGINT' | 'SIGTERM' | undefined;
  const stop = (sig: 'SIGINT' | 'SIGTERM'): void => {
    caught ??= sig;
    ac.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  main(argv, processIO(ac)).then(
    (code) => {
      // Let pending stdout writes drain before exiting (a pipe into xargs must see every line).
      // A command cut short by a signal exits 128+N like a shell reports it (130 SIGINT, 143 SIGTERM); one
      // that finished cleanly on the signal (agent, watch-hosts, -f) keeps its 0.
      process.exitCode = caught && code !== 0 ? 128 + (caught === 'SIGINT' ? 2 : 15) : code;
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
