/**
 * The flow's timings: named durations collected while the steps run and printed as one table at the end
 * (as TAP comments, so they show in every run's output without failing anything).
 */

/** Collected durations, in insertion order. */
export class Timings {
  private readonly rows: [string, number][] = [];

  /** Records `ms` under `name`. Returns `ms`. */
  add(name: string, ms: number): number {
    this.rows.push([name, Math.round(ms)]);
    return ms;
  }

  /** One line per duration, names padded to a column. */
  table(title: string): string {
    const width = Math.max(...this.rows.map(([n]) => n.length), 0);
    return [title, ...this.rows.map(([n, ms]) => `  ${n.padEnd(width)}  ${String(ms).padStart(6)} ms`)].join('\n');
  }
}
