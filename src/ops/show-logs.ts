/**
 * `fleetkit logs`: reads the matching entries of every journal in the plan, prints them merged by time,
 * then (with `-f`) follows each journal from exactly where its backlog ended (`--after-cursor`), so
 * nothing is shown twice and nothing written in between is lost.
 */
import { readJournal } from '../journal/read-journal.js';
import type { JournalEntry } from '../journal/journal-entry.js';
import type { JournalQuery, SshTarget } from '../journal/journal-command.js';
import { formatLogLine, mergeEntries, type LabelledEntry, type LogOutput } from './log-lines.js';
import type { LogName } from './log-names.js';
import { entryUnit, type LogPlan, type LogSource } from './log-targets.js';

/** What to read, as journalctl's flags say it. */
export interface LogFilter {
  /** The newest N entries over all journals; `all` or undefined for every one (within the times). */
  readonly lines: number | 'all' | undefined;
  readonly since: string | undefined;
  readonly until: string | undefined;
  /** `-p`, already checked. */
  readonly priority: string | undefined;
  readonly reverse: boolean;
}

/** Options of showLogs. */
export interface ShowLogsOptions {
  readonly names: readonly LogName[];
  readonly plan: LogPlan;
  readonly filter: LogFilter;
  readonly user: boolean;
  readonly journalDir: string | undefined;
  readonly follow: boolean;
  readonly output: LogOutput;
  /** Prefix each line with its unit (`web@1 | …`): the request may select several units or machines. */
  readonly labelled: boolean;
  readonly color: boolean;
  readonly ssh: Omit<SshTarget, 'host'>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  /** Receives each output line (without newline). */
  readonly write: (line: string) => void;
}

type Query = Omit<JournalQuery, 'units' | 'user' | 'dir'>;

function reader(o: Pick<ShowLogsOptions, 'user' | 'journalDir' | 'ssh' | 'env' | 'signal'>) {
  return (s: LogSource, q: Query, on: (e: JournalEntry) => void): Promise<void> =>
    readJournal(
      { units: s.units, user: o.user, dir: o.journalDir, ...q },
      { ssh: s.remoteHost === undefined ? undefined : { ...o.ssh, host: s.remoteHost }, env: o.env, signal: o.signal },
      on,
    );
}

/** Prints the logs and resolves with how many entries were printed (with follow, when the signal aborts). */
export async function showLogs(o: ShowLogsOptions): Promise<number> {
  const read = reader(o);
  const withUnit = (entry: JournalEntry, s: LogSource): LabelledEntry => ({ entry, ...entryUnit(entry.units, o.user, o.names, o.plan, s), machine: s.machine });
  let width = 0;
  let shown = 0;
  const print = (e: LabelledEntry): void => {
    width = Math.max(width, e.label.length);
    shown++;
    o.write(formatLogLine(e, { output: o.output, labelWidth: o.labelled ? width : undefined, color: o.color }));
  };
  const { lines, since, until, priority, reverse } = o.filter;

  const followFrom = new Date();
  const backlogs = await Promise.all(
    o.plan.sources.map(async (s) => {
      const got: LabelledEntry[] = [];
      await read(s, { lines, since, until, priority, reverse, follow: false }, (entry) => got.push(withUnit(entry, s)));
      return got;
    }),
  );
  const merged = mergeEntries(backlogs, lines, reverse);
  width = Math.max(0, ...merged.map((e) => e.label.length));
  for (const e of merged) print(e);
  if (!o.follow || o.signal.aborted) return shown;

  // Each journal resumes after its own last entry; one that had none starts from before the backlog was
  // read, so a line written meanwhile is still shown (it cannot have been shown already).
  const seconds = Math.floor(followFrom.getTime() / 1000) - 1;
  await Promise.all(
    o.plan.sources.map((s, i) => {
      const last = backlogs[i]?.[backlogs[i]!.length - 1];
      const from = last?.entry.cursor ? { afterCursor: last.entry.cursor } : { since: `@${seconds}` };
      return read(s, { ...from, lines: 'all', until, priority, follow: true }, (entry) => print(withUnit(entry, s)));
    }),
  );
  return shown;
}

/** True when any journal of the plan holds an entry of the names at all (no time or priority filter). */
export async function anyLogEntry(o: Pick<ShowLogsOptions, 'plan' | 'user' | 'journalDir' | 'ssh' | 'env' | 'signal'>): Promise<boolean> {
  const read = reader(o);
  let found = false;
  await Promise.all(o.plan.sources.map((s) => read(s, { lines: 1, follow: false }, () => (found = true))));
  return found;
}
