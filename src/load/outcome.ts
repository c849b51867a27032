/**
 * What a unit command reports per unit: the change to its definition and the state it ended in.
 */

/** What happened to a unit's definition. */
export type UnitChange = 'created' | 'replaced' | 'unchanged' | 'conflict' | 'stale' | 'pruned' | 'destroyed' | 'absent' | 'none'
  /** The definition stayed, and this run moved the unit: it was not running (or was) before. */
  | 'started' | 'stopped'
  /** Not sent, because another unit of the request was refused (nothing is sent then). */
  | 'skipped'
  /** Left alone: it belongs to another cluster. */
  | 'kept'
  /** Still runs its old version: a rolling replace stopped before it (see `rolling.ts`). */
  | 'held'
  /** Its definition stayed and its container, older than it, was replaced by one of its config (`outdated.ts`). */
  | 'restarted';

/** One row of the summary. */
export interface UnitOutcome {
  readonly name: string;
  readonly change: UnitChange;
  /** The state it ended in (`active`, `loaded`, `inactive`, `failed`, `timeout`…); undefined when not waited for. */
  readonly state: string | undefined;
  readonly ok: boolean;
  readonly machines?: readonly string[];
  /** Why it failed, one sentence. */
  readonly error?: string;
  /** systemd's `Result` of a failed service. */
  readonly result?: string;
  /** Last journal lines of a failed unit. */
  readonly journal?: readonly string[];
  /** Option lines that differ (`- old`, `+ new`) for a conflict. */
  readonly diff?: readonly string[];
}
