/**
 * Log lines of `fleetkit logs`: merging the entries of several instances by time, and printing one entry
 * as a `short` line (prefixed with its instance when several are shown) or as a JSON object. Pure.
 */
import { formatShort, safeText, type JournalEntry } from '../journal/journal-entry.js';
import { paint } from './text-table.js';

/** An entry and where it came from. */
export interface LabelledEntry {
  readonly entry: JournalEntry;
  /** The instance label (`web@1`, `mon/3d1219c7`). */
  readonly label: string;
  readonly unit: string;
  /** The machine id, when fleet placed the unit. */
  readonly machine: string | undefined;
}

/** Output formats of `logs -o`, as journalctl names them. */
export const LOG_OUTPUTS = ['short', 'short-iso', 'cat', 'json'] as const;
export type LogOutput = (typeof LOG_OUTPUTS)[number];

/**
 * Merges lists (each already in journal order: oldest first, or newest first with `reverse`) into one list
 * ordered by `__REALTIME_TIMESTAMP`, ties kept in input order; then keeps the newest `lines` when given
 * (the last ones, or with `reverse` the first ones), as journalctl's `-n` does.
 */
export function mergeEntries(lists: readonly (readonly LabelledEntry[])[], lines?: number | 'all', reverse = false): LabelledEntry[] {
  const all = lists.flatMap((l, i) => l.map((e, j) => ({ e, i, j })));
  const dir = reverse ? -1 : 1;
  all.sort((a, b) => dir * (a.e.entry.realtimeUs - b.e.entry.realtimeUs) || a.i - b.i || a.j - b.j);
  const merged = all.map((x) => x.e);
  if (lines === undefined || lines === 'all') return merged;
  return reverse ? merged.slice(0, lines) : merged.slice(Math.max(0, merged.length - lines));
}

/** The `-o json` object of one entry: stable field names, documented in the README. */
export function logEntryJson(e: LabelledEntry): string {
  return JSON.stringify({
    time: new Date(Math.floor(e.entry.realtimeUs / 1000)).toISOString(),
    timestampUs: String(e.entry.realtimeUs),
    instance: e.label,
    unit: e.unit,
    machine: e.machine ?? null,
    hostname: e.entry.hostname ?? null,
    identifier: e.entry.identifier ?? null,
    pid: e.entry.pid ?? null,
    priority: e.entry.priority ?? null,
    message: e.entry.message,
  });
}

/** Options of formatLogLine. */
export interface LogLineOptions {
  readonly output: LogOutput;
  /** Prefix each line with its instance (several instances shown), padded to this width. */
  readonly labelWidth: number | undefined;
  readonly color: boolean;
}

/** One output line (no newline). Errors (priority ≤ 3) red and warnings yellow on a terminal, like journalctl. */
export function formatLogLine(e: LabelledEntry, o: LogLineOptions): string {
  if (o.output === 'json') return logEntryJson(e);
  const body = o.output === 'cat' ? safeText(e.entry.message) : formatShort(e.entry, o.output === 'short-iso');
  const p = e.entry.priority;
  const tinted = paint(body, p !== undefined && p <= 3 ? 'red' : p === 4 ? 'yellow' : undefined, o.color);
  return o.labelWidth === undefined ? tinted : `${paint(e.label.padEnd(o.labelWidth), 'bold', o.color)} | ${tinted}`;
}
