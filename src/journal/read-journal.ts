/**
 * The journal adapter: runs journalctl here, or over SSH on another machine, and streams its entries. The
 * only code in fleetkit that starts journalctl or ssh. Failures become sentences: journalctl missing, ssh
 * unable to connect or log in, journalctl refusing its arguments.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { RemoteError } from '../errors.js';
import { journalctlArgs, sshArgv, type JournalQuery, type SshTarget } from './journal-command.js';
import { parseJournalJson, type JournalEntry } from './journal-entry.js';

/** Options of readJournal. */
export interface ReadJournalOptions {
  /** Run on this machine over SSH; undefined reads the local journal. */
  readonly ssh: SshTarget | undefined;
  /** PATH and the rest of the environment for the child (the CLI's env). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Stops a follow (the child is terminated and the promise resolves). */
  readonly signal: AbortSignal;
}

function lastLines(s: string, n = 3): string {
  return s.trim().split('\n').filter(Boolean).slice(-n).join('; ');
}

/**
 * Reads `query` and calls `onEntry` for each entry in journal order. Resolves when journalctl ends (or the
 * signal aborts); rejects with a RemoteError when it cannot run or fails.
 */
export function readJournal(query: JournalQuery, o: ReadJournalOptions, onEntry: (e: JournalEntry) => void): Promise<void> {
  const args = journalctlArgs(query);
  const [cmd, argv] = o.ssh ? ['ssh', sshArgv(o.ssh, args)] : ['journalctl', args];
  const where = o.ssh ? `${o.ssh.user}@${o.ssh.host}` : 'this host';
  return new Promise<void>((resolve, reject) => {
    if (o.signal.aborted) return resolve();
    const env = Object.fromEntries(Object.entries(o.env).filter((e): e is [string, string] => e[1] !== undefined));
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stderr = '';
    let aborted = false;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      if (stderr.length < 16_384) stderr += c;
    });
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on('line', (line) => {
      const e = parseJournalJson(line);
      if (e) onEntry(e);
    });
    const stop = (): void => {
      aborted = true;
      child.kill('SIGTERM');
    };
    o.signal.addEventListener('abort', stop, { once: true });
    child.on('error', (e: NodeJS.ErrnoException) => {
      o.signal.removeEventListener('abort', stop);
      if (e.code === 'ENOENT') {
        reject(o.ssh
          ? new RemoteError('ssh', 'ERR_SSH_MISSING', `cannot read the journal of ${query.unit} on ${o.ssh.host}: ssh is not installed here (not found on PATH)`,
            { hint: 'install an OpenSSH client, or run fleetkit logs on that machine', exitCode: 1, cause: e })
          : new RemoteError('journal', 'ERR_JOURNALCTL_MISSING', `cannot read the journal of ${query.unit}: journalctl is not installed here (not found on PATH)`,
            { hint: 'install systemd\'s journalctl, or run fleetkit logs on a systemd machine', cause: e }));
      } else {
        reject(new RemoteError('journal', 'ERR_JOURNAL', `cannot run ${cmd} for ${query.unit}: ${e.message}`, { cause: e }));
      }
    });
    child.on('close', (code, signal) => {
      o.signal.removeEventListener('abort', stop);
      if (aborted || code === 0) return resolve();
      const said = lastLines(stderr) || (signal ? `killed by ${signal}` : `exit status ${code}`);
      if (o.ssh && code === 255) {
        return reject(new RemoteError('ssh', 'ERR_SSH', `cannot read the journal of ${query.unit} on ${where}: ssh failed: ${said}`, {
          hint: `check that sshd runs on ${o.ssh.host} and accepts your key for user ${o.ssh.user} (ssh-agent); set --ssh-user and --ssh-option as needed`,
        }));
      }
      if (o.ssh && code === 127) {
        return reject(new RemoteError('journal', 'ERR_JOURNALCTL_MISSING', `cannot read the journal of ${query.unit} on ${where}: journalctl is not installed there`));
      }
      reject(new RemoteError('journal', 'ERR_JOURNAL', `journalctl on ${where} failed for ${query.unit}: ${said}`, {
        hint: 'check the --since value and, with --journal-dir, that the directory holds a journal',
      }));
    });
  });
}
