/**
 * Healthy means healthy: one judgement of a started unit, used by load/start while they wait and by status.
 * Pure: it sees states the caller read, never the host.
 *
 * - A unit is healthy when it is active and not restarting. A unit without `Restart=` (policy `no`, or a host
 *   that does not say) is healthy on its own state: active is final.
 * - A container whose agent publishes facts (fleet) can restart under a unit that stays active, whatever the
 *   unit's policy: its facts' restart count is judged, and it must stay up for `stableMs` like a unit that restarts.
 * - A unit that restarts must stay active for `stableMs` (since systemd's ActiveEnterTimestamp, or since the
 *   caller first saw it active) before it counts: a container that fails once and then stays up (waiting for
 *   its database) passes.
 * - A crash loop is certain when the unit restarted 3 times within the wait, or is in `auto-restart` when the
 *   wait ends; the caller stops waiting at once.
 */
import type { UnitState } from '../unithost/unit-host.js';

/** Restarts within one wait that make a crash loop certain. */
export const CRASH_LOOP_RESTARTS = 3;

export type Verdict =
  | { readonly kind: 'healthy' }
  | { readonly kind: 'pending'; readonly why: string }
  | { readonly kind: 'crash-loop'; readonly why: string }
  | { readonly kind: 'failed'; readonly why: string }
  /** Active, but its announcement was not in etcd (or not of the container that runs now) when the wait ended. */
  | { readonly kind: 'unannounced'; readonly why: string }
  /** Active, but what health also needs (its announcement) could not be read: neither healthy nor failed. */
  | { readonly kind: 'unknown'; readonly why: string };

export interface HealthInput {
  readonly state: UnitState;
  /** Restarts when the wait began (NRestarts, or the agent's count). */
  readonly restartsAtStart: number;
  /** Restarts now, from the best source (the host's count, else the agent's facts); undefined if unknown. */
  readonly restarts: number | undefined;
  /** The last exit status known (host or agent). */
  readonly lastExit: number | undefined;
  /** Since when (ms) the unit is known to be continuously active, or undefined. */
  readonly activeSince: number | undefined;
  readonly now: number;
  readonly stableMs: number;
  /** The restart count comes from the container's facts (the host keeps none): the container may restart. */
  readonly fromFacts?: boolean;
  /** The wait has ended (timeout): pending becomes a verdict. */
  readonly final: boolean;
}

function exitText(i: HealthInput): string {
  if (i.lastExit !== undefined) return `last exit status ${i.lastExit}`;
  return i.state.result && i.state.result !== 'success' ? `result ${i.state.result}` : 'exit status unknown';
}

/** The verdict on one unit now. */
export function judgeHealth(i: HealthInput): Verdict {
  const s = i.state;
  const restarted = i.restarts === undefined ? 0 : i.restarts - i.restartsAtStart;
  if (restarted >= CRASH_LOOP_RESTARTS) {
    return { kind: 'crash-loop', why: `crash loop: restarted ${restarted} times while waiting (${exitText(i)})` };
  }
  if (s.activeState === 'failed') return { kind: 'failed', why: `failed (${exitText(i)})` };
  const restarting = s.subState === 'auto-restart';
  if (s.activeState === 'active' && !restarting) {
    const restarts = i.fromFacts === true || (s.restartPolicy !== undefined && s.restartPolicy !== 'no');
    if (!restarts && restarted === 0) return { kind: 'healthy' };
    if (i.activeSince !== undefined && i.now - i.activeSince >= i.stableMs) return { kind: 'healthy' };
    if (i.final) return restarted > 0 ? { kind: 'crash-loop', why: `restarted ${restarted} times and not yet stable when the wait ended (${exitText(i)})` } : { kind: 'healthy' };
    return { kind: 'pending', why: 'active, not yet stable' };
  }
  if (restarting && i.final) {
    return { kind: 'crash-loop', why: `crash loop: restarting when the wait ended${restarted ? `, after ${restarted} restart(s)` : ''} (${exitText(i)})` };
  }
  if (i.final) return { kind: 'failed', why: `not active when the wait ended (now ${s.activeState}/${s.subState ?? '?'})` };
  return { kind: 'pending', why: `${s.activeState}/${s.subState ?? '?'}` };
}
