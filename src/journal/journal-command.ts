/**
 * The journalctl command line for some units' journal, run here or on another machine over SSH the way
 * `fleetctl journal` does (`ssh USER@IP journalctl --unit U --no-pager …`). Pure: argv only.
 */

/** What to read from a journal: the entries of some units, as journalctl selects them. */
export interface JournalQuery {
  /**
   * Unit names or globs, each one `-u` (`--user-unit`). journalctl expands a glob against the units its
   * journal has seen, so a destroyed unit's lines are still found.
   */
  readonly units: readonly string[];
  /** User units (`--user-unit`) rather than system units (`-u`). */
  readonly user: boolean;
  /** Read this journal directory (`-D`) instead of the machine's journal. */
  readonly dir?: string | undefined;
  /** The last N entries (`-n`); `all` for every one. */
  readonly lines?: number | 'all' | undefined;
  /** `--since` as journalctl reads it (`2024-05-01 10:00`, `-1h`, `yesterday`, `@1716000000`). */
  readonly since?: string | undefined;
  /** `--until`, read the same way. */
  readonly until?: string | undefined;
  /** `-p` as journalctl reads it (`err`, `3`, `warning..err`). */
  readonly priority?: string | undefined;
  /** Newest first (`-r`). */
  readonly reverse?: boolean | undefined;
  /** Resume after this entry (`--after-cursor`): a follow that neither repeats nor skips. */
  readonly afterCursor?: string | undefined;
  readonly follow: boolean;
}

/** Where to run journalctl: here, or over SSH. */
export interface SshTarget {
  readonly host: string;
  /** Default `core`, as fleetctl. */
  readonly user: string;
  /** `-o` options, e.g. `Port=2222`, `StrictHostKeyChecking=no`. */
  readonly options: readonly string[];
}

/** journalctl's arguments, always with `-o json` (fleetkit formats and merges the entries itself). */
export function journalctlArgs(q: JournalQuery): string[] {
  const a: string[] = [];
  if (q.dir) a.push('-D', q.dir);
  for (const u of q.units) a.push(q.user ? '--user-unit' : '-u', u);
  a.push('--no-pager', '-q', '-o', 'json');
  if (q.lines !== undefined) a.push('-n', String(q.lines));
  if (q.priority !== undefined) a.push('-p', q.priority);
  if (q.since !== undefined) a.push('--since', q.since);
  if (q.until !== undefined) a.push('--until', q.until);
  if (q.reverse) a.push('-r');
  if (q.afterCursor !== undefined) a.push('--after-cursor', q.afterCursor);
  if (q.follow) a.push('-f');
  return a;
}

/** Quotes one word for a POSIX shell: the remote side of ssh runs its command line through one. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * ssh's argv for running `journalctl ARGS` on `target`. fleetkit's defaults are `BatchMode=yes` (never
 * prompt: nobody is there to answer), `ConnectTimeout=5` and keep-alives. ssh keeps the first value it sees
 * for an option, so the user's `-o` options come first and override them. `--` before the host keeps a
 * host string from ever being read as an option.
 */
export function sshArgv(target: SshTarget, journalArgs: readonly string[]): string[] {
  const argv: string[] = [];
  for (const o of target.options) argv.push('-o', o);
  argv.push('-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-o', 'ServerAliveInterval=10');
  argv.push('-l', target.user, '--', target.host, ['journalctl', ...journalArgs].map(shellQuote).join(' '));
  return argv;
}
