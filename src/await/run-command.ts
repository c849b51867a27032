/**
 * Runs the command `fleetkit await` guards (`docker run …`) as the unit's own process would run: stdio
 * inherited (its output goes to the unit's journal as before), signals passed on, and its exit status
 * returned as a shell reports it. Node 20 has no exec(), so the waiting process stays as the command's parent.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

const FORWARD = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** Runs `argv` (no shell); resolves with its exit code, or 128 + N when signal N ended it. */
export function runCommand(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env });
    const handlers = FORWARD.map((sig) => {
      const h = (): void => void child.kill(sig);
      process.on(sig, h);
      return [sig, h] as const;
    });
    const done = (): void => handlers.forEach(([sig, h]) => process.removeListener(sig, h));
    child.once('error', (e) => {
      done();
      reject(e);
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}
