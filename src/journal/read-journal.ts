/**
 * The journal adapter: runs journalctl here, or over SSH on another machine, and streams its entries. The
 * only code in fleetkit that starts journalctl or ssh. Failures become sentences: journalctl missing, ssh
 * unable to connect or log in, journalctl refusing its arguments.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ExitCode, FleetkitError, RemoteError } from '../errors.js';
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
 * What journalctl says when the query itself is wrong (journalctl.c's parse_argv): a usage error of the
 * command that passed it on, with the value named.
 */
function refusedQuery(stderr: string): FleetkitError | undefined {
  const time = /^Failed to parse timestamp: (.*)$/m.exec(stderr);
  if (time) {
    return new FleetkitError('ERR_USAGE', `"${time[1]}" is not a time journalctl understands`, {
      hint: 'give a time as systemd.time(7) reads it: "2024-05-01 10:00", -1h, "1 hour ago", today, yesterday, @1716000000',
      exitCode: ExitCode.usage,
    });
  }
  if (/^--since= must be before --until=/m.test(stderr)) {
    return new FleetkitError('ERR_USAGE', '--since is after --until: no entry can be in between', { exitCode: ExitCode.usage });
  }
  return undefined;
}

/**
 * Reads `query` and calls `onEntry` for each entry in journal order. Resolves when journalctl ends (or the
 * signal aborts), also when a glob matches no unit the journal has seen (journalctl then refuses with
 * ENODATA: for a reader that is simply no entries); rejects with a RemoteError when it cannot run or
 * fails, and with a usage error when journalctl refuses a time.
 */
export function readJournal(query: JournalQuery, o: ReadJournalOptions, onEntry: (e: JournalEntry) => void): Promise<void> {
  const args = journalctlArgs(query);
  const [cmd, argv] = o.ssh ? ['ssh', sshArgv(o.ssh, args)] : ['journalctl', args];
  const where = o.ssh ? `${o.ssh.user}@${o.ssh.host}` : 'this host';
  const what = query.units.join(', ');
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
          ? new RemoteError('ssh', 'ERR_SSH_MISSING', `cannot read the journal of ${what} on ${o.ssh.host}: ssh is not installed here (not found on PATH)`,
            { hint: 'install an OpenSSH client, or run fleetkit logs on that machine', exitCode: 1, cause: e })
          : new RemoteError('journal', 'ERR_JOURNALCTL_MISSING', `cannot read the journal of ${what}: journalctl is not installed here (not found on PATH)`,
            { hint: 'install systemd\'s journalctl, or run fleetkit logs on a systemd machine', cause: e }));
      } else {
        reject(new RemoteError('journal', 'ERR_JOURNAL', `cannot run ${cmd} for ${what}: ${e.message}`, { cause: e }));
      }
    });
    child.on('close', (code, signal) => {
      o.signal.removeEventListener('abort', stop);
      if (aborted || code === 0) return resolve();
      if (/^Failed to add filter for units: No data available$/m.test(stderr)) return resolve();
      const refused = refusedQuery(stderr);
      if (refused) return reject(refused);
      const said = lastLines(stderr) || (signal ? `killed by ${signal}` : `exit status ${code}`);
      if (o.ssh && code === 255) {
        return reject(new RemoteError('ssh', 'ERR_SSH', `cannot read the journal of ${what} on ${where}: ssh failed: ${said}`, {
          hint: `check that sshd runs on ${o.ssh.host} and accepts your key for user ${o.ssh.user} (ssh-agent); set --ssh-user and --ssh-option as needed`,
        }));
      }
      if (o.ssh && code === 127) {
        return reject(new RemoteError('journal', 'ERR_JOURNALCTL_MISSING', `cannot read the journal of ${what} on ${where}: journalctl is not installed there`));
      }
      reject(new RemoteError('journal', 'ERR_JOURNAL', `journalctl on ${where} failed for ${what}: ${said}`, {
        hint: 'with --journal-dir, check that the directory holds a journal',
      }));
    });
  });
}
