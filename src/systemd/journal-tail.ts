/**
 * The last journal lines of one unit, through journalctl (the journal's own reader), for failure reports.
 */
import { execFile } from 'node:child_process';

export interface JournalTailOptions {
  /** A user unit (`--user-unit`) rather than a system unit (`-u`). */
  readonly user: boolean;
  /** Read this journal directory (`-D`) instead of the machine's journal. */
  readonly dir: string | undefined;
  /** Lines to return. Default 10. */
  readonly lines?: number;
}

/** Up to `lines` journal lines of `unit`, oldest first; [] when journalctl is missing or finds nothing. */
export function journalTail(unit: string, o: JournalTailOptions): Promise<string[]> {
  const args = [
    ...(o.dir ? ['-D', o.dir] : []),
    o.user ? '--user-unit' : '-u', unit,
    '-n', String(o.lines ?? 10), '--no-pager', '-o', 'cat', '-q',
  ];
  return new Promise((resolve) => {
    execFile('journalctl', args, { timeout: 5000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err && !stdout) return resolve([]);
      resolve(stdout.split('\n').filter((l) => l.trim() !== ''));
    });
  });
}
