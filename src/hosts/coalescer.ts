/**
 * Turns a stream of changes into few writes, without making a lone change wait:
 * - a change that finds the writer idle (no write pending or running, the last one ended ≥ `minIntervalMs`
 *   ago) is written at once — on the next turn of the event loop, so the rest of the same etcd watch
 *   response goes with it. Waiting for quiet first would add `quietMs` to every isolated update;
 * - changes that arrive while a write is due or running are coalesced: written once they have been quiet
 *   for `quietMs`, but never later than `maxDelayMs` after the first of them (a continuous stream still
 *   writes);
 * - and never sooner than `minIntervalMs` after the previous write ended (a bounded write rate: a burst
 *   costs one write at its start and one per `minIntervalMs` at most after that).
 * One flush at a time; changes during a flush are written by the next one.
 */

export interface CoalescerOptions {
  readonly quietMs: number;
  readonly maxDelayMs: number;
  readonly minIntervalMs: number;
  /** Does the write. Errors are the callee's to log; they do not stop the coalescer. */
  readonly flush: () => Promise<void>;
}

/** See the module comment. */
export class Coalescer {
  private readonly opts: CoalescerOptions;
  private timer: NodeJS.Timeout | undefined;
  private firstPendingAt: number | undefined;
  /** The pending changes found the writer idle: write them at once. */
  private leading = false;
  /** When the scheduled write is due (performance.now() time). */
  private dueAt = 0;
  private lastChangeAt = 0;
  private lastFlushAt = -Infinity;
  private flushing: Promise<void> | undefined;
  private stopped = false;

  constructor(opts: CoalescerOptions) {
    this.opts = opts;
  }

  /** Notes a change. */
  poke(): void {
    const now = performance.now();
    this.lastChangeAt = now;
    if (this.firstPendingAt === undefined) {
      this.firstPendingAt = now;
      this.leading = !this.flushing && now - this.lastFlushAt >= this.opts.minIntervalMs;
    }
    this.schedule();
  }

  /** True while a change is waiting to be written. */
  get pending(): boolean {
    return this.firstPendingAt !== undefined;
  }

  private schedule(): void {
    if (this.stopped || this.flushing || this.firstPendingAt === undefined) return;
    const { quietMs, maxDelayMs, minIntervalMs } = this.opts;
    const coalesced = Math.min(this.lastChangeAt + quietMs, this.firstPendingAt + maxDelayMs);
    const due = this.leading ? this.firstPendingAt : Math.max(coalesced, this.lastFlushAt + minIntervalMs);
    // A leading write is already due: more changes before it runs go with it, nothing to reschedule.
    if (this.timer && this.leading) return;
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = due;
    this.timer = setTimeout(() => this.run(), Math.max(0, due - performance.now()));
  }

  private run(): void {
    // Node counts a timer from the event loop's cached clock, which can lag the moment it was set: a timer
    // may fire a little early. The minimum interval is a promise, so wait out the rest.
    const early = this.dueAt - performance.now();
    if (early > 0) {
      this.timer = setTimeout(() => this.run(), early);
      return;
    }
    this.timer = undefined;
    if (this.firstPendingAt === undefined) return;
    this.firstPendingAt = undefined;
    this.leading = false;
    this.flushing = this.opts.flush().finally(() => {
      // Counted from the end of a write (its rename), so that renames, not write starts, are spaced by
      // minIntervalMs even when one write's fsync is slower than the next one's.
      this.lastFlushAt = performance.now();
      this.flushing = undefined;
      this.schedule();
    });
  }

  /** Writes what is pending now (no waiting for quiet), then stops scheduling. For a clean exit. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    while (this.flushing) await this.flushing;
    if (this.firstPendingAt !== undefined) {
      this.firstPendingAt = undefined;
      this.leading = false;
      await this.opts.flush();
    }
  }
}
