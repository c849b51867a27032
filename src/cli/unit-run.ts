/**
 * What the unit commands hand to the fleet and systemd runners, and what they get back.
 */
import type { Progress, UnitOutcome } from './unit-report.js';

/** The five verbs (fleetctl's names). */
export type UnitVerb = 'load' | 'start' | 'stop' | 'unload' | 'destroy';

/** Settings every runner reads. */
export interface UnitRunOptions {
  readonly replace: boolean;
  readonly prune: boolean;
  /** load: start what it loads (false with --no-start). */
  readonly start: boolean;
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly parallel: number;
  readonly signal: AbortSignal;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** systemd: the user manager. */
  readonly user: boolean;
  /** systemd: /run instead of /etc. */
  readonly runtime: boolean;
  readonly unitDir: string | undefined;
  /** systemd: read failed units' journal from this directory (`journalctl -D`). */
  readonly journalDir: string | undefined;
  /** systemd: how long a started unit must stay active before it counts as started. */
  readonly settleMs: number;
  /** A progress display for `total` units. */
  progress(total: number, label: string): Progress;
  /** Prints a warning once per distinct text. */
  warn(text: string): void;
}

/** What a runner returns: a row per unit, and the units of the cluster no longer in the spec. */
export interface UnitRunResult {
  readonly outcomes: readonly UnitOutcome[];
  readonly stale: readonly string[];
}
