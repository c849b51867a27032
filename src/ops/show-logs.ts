/**
 * `fleetkit logs`: reads the last lines of every target journal, prints them merged by time, then (with
 * `-f`) follows each journal from exactly where its backlog ended (`--after-cursor`), so nothing is shown
 * twice and nothing written in between is lost.
 */
import { readJournal } from '../journal/read-journal.js';
import type { JournalEntry } from '../journal/journal-entry.js';
import type { SshTarget } from '../journal/journal-command.js';
import { formatLogLine, mergeEntries, type LabelledEntry, type LogOutput } from './log-lines.js';
import type { LogTarget } from './log-targets.js';

/** Options of showLogs. */
export interface ShowLogsOptions {
  readonly targets: readonly LogTarget[];
  readonly user: boolean;
  readonly journalDir: string | undefined;
  /** Last N lines over all targets; undefined for all (within --since). */
  readonly lines: number | undefined;
  readonly since: string | undefined;
  readonly follow: boolean;
  readonly output: LogOutput;
  readonly color: boolean;
  readonly ssh: Omit<SshTarget, 'host'>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  /** Receives each output line (without newline). */
  readonly write: (line: string) => void;
}

/** Prints the logs; resolves when done (or, with follow, when the signal aborts). */
export async function showLogs(o: ShowLogsOptions): Promise<void> {
  const several = o.targets.length > 1;
  const labelWidth = several ? Math.max(...o.targets.map((t) => t.label.length)) : undefined;
  const print = (e: LabelledEntry): void => o.write(formatLogLine(e, { output: o.output, labelWidth, color: o.color }));
  const read = (t: LogTarget, q: { lines?: number | undefined; since?: string | undefined; afterCursor?: string | undefined; follow: boolean }, on: (e: JournalEntry) => void): Promise<void> =>
    readJournal(
      { unit: t.unit, user: o.user, dir: o.journalDir, ...q },
      { ssh: t.remoteHost === undefined ? undefined : { ...o.ssh, host: t.remoteHost }, env: o.env, signal: o.signal },
      on,
    );

  const followFrom = new Date();
  const backlogs = await Promise.all(
    o.targets.map(async (t) => {
      const got: LabelledEntry[] = [];
      await read(t, { lines: o.lines, since: o.since, follow: false }, (entry) => got.push({ entry, label: t.label, unit: t.unit, machine: t.machine }));
      return got;
    }),
  );
  for (const e of mergeEntries(backlogs, o.lines)) print(e);
  if (!o.follow || o.signal.aborted) return;

  // Each journal resumes after its own last entry; one that had none starts from before the backlog was
  // read, so a line written meanwhile is still shown (it cannot have been shown already).
  const seconds = Math.floor(followFrom.getTime() / 1000) - 1;
  await Promise.all(
    o.targets.map((t, i) => {
      const last = backlogs[i]?.[backlogs[i]!.length - 1];
      const from = last?.entry.cursor ? { afterCursor: last.entry.cursor } : { since: `@${seconds}` };
      return read(t, { ...from, follow: true }, (entry) => print({ entry, label: t.label, unit: t.unit, machine: t.machine }));
    }),
  );
}
