/**
 * Where a watch stands, exactly: the revision of the last event applied and how many events of that
 * revision were applied. One etcd revision can hold many events (a lease revoke or expiry deletes every key
 * on the lease at one revision, so does `del --prefix`, so does a txn), so a revision alone cannot say
 * where to resume: a reconnect in the middle of a revision's events must apply the rest of them, and only
 * them. Pure, so the split case is tested with a scripted event stream.
 *
 * Resuming: the watch is restarted from the cursor's revision itself (not the next one) whenever some of
 * that revision's events may still be missing; the replayed events of that revision that were already
 * applied are counted off and skipped. Events are in order within a revision (etcd sends them in the
 * order the txn applied them), and a replay of the same revision has the same events in the same order.
 */

/** The part of a watch event the cursor needs. */
export interface CursorEvent {
  /** The event's revision (`kv.mod_revision`; for a delete, the revision of the delete). */
  readonly revision: number;
}

export class WatchCursor {
  /** The revision of the last event applied (or of the snapshot the watch started after). */
  private rev: number;
  /** Events of `rev` applied so far; undefined when `rev` is known to be complete (a snapshot). */
  private applied: number | undefined;
  /** Index of the next event of `rev` in the stream being read (counts replayed ones too). */
  private seen = 0;

  /** A cursor just after a full read at `revision`: every event of it is included. */
  constructor(revision: number) {
    this.rev = revision;
    this.applied = undefined;
  }

  /** The last revision with an applied event (or the snapshot's). */
  get revision(): number {
    return this.rev;
  }

  /** The revision a (re)started watch must start from so that nothing is skipped. */
  get resumeFrom(): number {
    return this.applied === undefined ? this.rev + 1 : this.rev;
  }

  /**
   * The watch is (re)starting from `resumeFrom`: count the replayed events of the cursor's revision from
   * zero again. Call it on every (re)connect, before the first response of the new stream.
   */
  restart(): void {
    this.seen = 0;
  }

  /**
   * Filters one response's events: returns those not applied yet, in order, and moves the cursor past
   * them. Events of older revisions (a replay) and the already-applied events of the cursor's revision are
   * dropped.
   */
  accept<E extends CursorEvent>(events: readonly E[]): E[] {
    const fresh: E[] = [];
    for (const ev of events) {
      if (ev.revision < this.rev) continue;
      if (ev.revision === this.rev) {
        // Whole revision already in the snapshot, or this one was applied before the reconnect.
        if (this.applied === undefined) continue;
        const index = this.seen++;
        if (index < this.applied) continue;
        this.applied = index + 1;
        fresh.push(ev);
        continue;
      }
      this.rev = ev.revision;
      this.applied = 1;
      this.seen = 1;
      fresh.push(ev);
    }
    return fresh;
  }
}
