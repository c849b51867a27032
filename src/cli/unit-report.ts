/**
 * What the unit commands print: a progress bar on a terminal (a plain line per unit otherwise), then a
 * summary table (created / replaced / unchanged / failed …) or, with `--json`, one JSON document.
 */
import type { CliIO, OutStream } from './io.js';
import type { UnitOutcome } from '../load/outcome.js';

export type { UnitChange, UnitOutcome } from '../load/outcome.js';

/** What a row without a definition change counts as, per verb. */
const DONE: Record<string, string> = { load: 'loaded', start: 'started', stop: 'stopped', unload: 'unloaded', destroy: 'destroyed' };

/** The counts every verb always shows, in order. */
const SHOWN: Record<string, readonly string[]> = {
  load: ['created', 'replaced', 'unchanged', 'failed'],
  start: ['created', 'replaced', 'unchanged', 'started', 'failed'],
  stop: ['stopped', 'failed'],
  unload: ['unloaded', 'failed'],
  destroy: ['destroyed', 'absent', 'failed'],
};

/** Counts shown on the last line, and in `--json`: per change, plus `failed`. */
export function totalsOf(outcomes: readonly UnitOutcome[], verb: string): Record<string, number> {
  const t: Record<string, number> = {};
  for (const k of SHOWN[verb] ?? SHOWN['load']!) t[k] = 0;
  for (const o of outcomes) {
    if (!o.ok) {
      // A unit cut short by SIGINT/SIGTERM did not fail: it is counted apart so the summary stays true.
      // A unit whose outcome nobody could see (a stop with no container facts) is unknown, not stopped or failed.
      const key = o.state === 'interrupted' || o.error?.startsWith('interrupted') ? 'interrupted' : o.state === 'unknown' ? 'unknown' : 'failed';
      t[key] = (t[key] ?? 0) + 1;
      continue;
    }
    const key = o.change === 'none' ? DONE[verb] ?? 'done' : o.change;
    t[key] = (t[key] ?? 0) + 1;
  }
  return t;
}

/** Progress while waiting: a redrawn bar on a TTY, else one line per unit as it settles; nothing when quiet. */
export class Progress {
  private done = 0;
  private readonly mode: 'bar' | 'lines' | 'quiet';

  constructor(private readonly out: OutStream, private readonly total: number, private readonly label: string, quiet: boolean) {
    this.mode = quiet ? 'quiet' : out.isTTY ? 'bar' : 'lines';
  }

  /** One unit settled. */
  settled(name: string, state: string, ok: boolean, detail?: string): void {
    this.done++;
    if (this.mode === 'bar') {
      const width = 30;
      const filled = Math.round((this.done / Math.max(1, this.total)) * width);
      this.out.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${this.done}/${this.total} ${this.label}`);
      if (this.done === this.total) this.out.write('\n');
    } else if (this.mode === 'lines') {
      this.out.write(`${name} ${ok ? state : `${state}${detail ? `: ${detail}` : ''}`}\n`);
    }
  }

  /** Ends the bar's line if it is still open. */
  finish(): void {
    if (this.mode === 'bar' && this.done < this.total && this.done > 0) this.out.write('\n');
  }
}

/** Prints the summary (or JSON) and returns whether everything went well. */
export function printSummary(io: CliIO, outcomes: readonly UnitOutcome[], o: { json: boolean; verb: string; stale?: readonly string[]; pruned: boolean }): boolean {
  const ok = outcomes.every((x) => x.ok);
  const totals = totalsOf(outcomes, o.verb);
  if (o.json) {
    io.stdout.write(`${JSON.stringify({ ok, totals, units: outcomes, stale: o.stale ?? [] }, null, 2)}\n`);
    return ok;
  }
  // Unchanged units that ended where they should are counted, not listed: a second load of 1,000 units
  // should say so in one line.
  const rows = outcomes.filter((x) => !(x.ok && (x.change === 'unchanged' || x.change === 'none') && outcomes.length > 20));
  if (rows.length) {
    const header = ['UNIT', 'CHANGE', 'STATE', 'MACHINE'];
    const table = rows.map((x) => [x.name, x.change === 'none' ? '-' : x.change, x.state ?? '-', (x.machines ?? []).map((m) => m.slice(0, 8)).join(',') || '-']);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
    io.stdout.write(`${line(header)}\n${table.map(line).join('\n')}\n`);
  }
  for (const x of outcomes) {
    if (x.ok && x.change !== 'conflict' && x.change !== 'kept' && x.change !== 'held') continue;
    if (x.error) io.stderr.write(`${x.name}: ${x.error}${x.result ? ` (result: ${x.result})` : ''}\n`);
    for (const d of x.diff ?? []) io.stderr.write(`    ${d}\n`);
    if (x.journal?.length) io.stderr.write(`  last journal lines of ${x.name}:\n${x.journal.map((l) => `    ${l}`).join('\n')}\n`);
  }
  if (o.stale?.length) {
    io.stderr.write(o.pruned
      ? `pruned ${o.stale.length} unit(s) no longer in the spec: ${o.stale.join(', ')}\n`
      : `${o.stale.length} unit(s) of this cluster are no longer in the spec: ${o.stale.join(', ')}\n  hint: add --prune to destroy them\n`);
  }
  const parts = Object.entries(totals).map(([k, v]) => `${v} ${k}`);
  io.stdout.write(`${o.verb}: ${parts.join(', ')}\n`);
  return ok;
}
