/**
 * The last journal lines of one local unit, for failure reports (`last journal lines of web.service:`).
 * Goes through readJournal, the one place fleetkit starts journalctl.
 */
import { readJournal } from './read-journal.js';

/** Options of journalTail. */
export interface JournalTailOptions {
  /** A user unit (`--user-unit`) rather than a system unit (`-u`). */
  readonly user: boolean;
  /** Read this journal directory (`-D`) instead of the machine's journal. */
  readonly dir: string | undefined;
  /** Lines to return. Default 10. */
  readonly lines?: number;
  /** PATH and the rest of the environment for journalctl (the CLI's env). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * Up to `lines` journal entries of `unit`, oldest first, one line per message line (as `journalctl -o cat`
 * prints them); [] when journalctl is missing or finds nothing. Never rejects and gives up after five
 * seconds: it decorates a failure report, it must not replace it.
 */
export async function journalTail(unit: string, o: JournalTailOptions): Promise<string[]> {
  const out: string[] = [];
  const query = { units: [unit], user: o.user, dir: o.dir, lines: o.lines ?? 10, follow: false };
  try {
    await readJournal(query, { ssh: undefined, env: o.env, signal: AbortSignal.timeout(5000) }, (e) => {
      for (const line of e.message.split('\n')) if (line.trim() !== '') out.push(line);
    });
  } catch {
    // Missing journalctl or a journal it cannot read: keep what arrived, as before the error.
  }
  return out;
}
