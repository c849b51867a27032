/**
 * Waits until started units are healthy (`health.ts`), reading their states from the UnitHost, and stops
 * waiting for a unit as soon as its crash loop is certain. Restart counts come from the host when it keeps
 * them (systemd's NRestarts), else from what the agents publish (container facts in etcd).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JournalRef, UnitHost, UnitResult, UnitState } from '../unithost/unit-host.js';
import { judgeHealth, type Verdict } from './health.js';

/** A container's facts as the agent on its host publishes them. */
export interface ContainerFacts {
  readonly restarts: number;
  readonly lastExit: number | undefined;
}

export interface HealthOptions {
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** How long a unit that restarts must stay active to count as healthy. */
  readonly stableMs: number;
  /** Between two reads. Default 250 ms. */
  readonly intervalMs?: number;
  /** Facts the agents publish, by unit name (hosts without a restart count need them). */
  readonly facts?: (names: readonly string[]) => Promise<ReadonlyMap<string, ContainerFacts>>;
  /** When the start jobs were sent (ms); default: when the wait begins. */
  readonly startedAt?: number;
  /** The last journal lines of a unit, for a failure report. */
  readonly journal: (ref: JournalRef) => Promise<readonly string[]>;
}

interface Track {
  restartsAtStart: number | undefined;
  activeSince: number | undefined;
  /** The last exit status seen: a unit already started again no longer reports the one before. */
  lastExit: number | undefined;
}

/** Waits for every unit's verdict; results (ok, state, error, journal) for every unit, in order. */
export async function waitHealthy(host: UnitHost, names: readonly string[], o: HealthOptions): Promise<UnitResult[]> {
  const deadline = Date.now() + o.timeoutMs;
  // The start jobs ended just before this wait began; a few seconds of slack covers the jobs' own time.
  const runStart = (o.startedAt ?? Date.now()) - 1000;
  const tracks = new Map<string, Track>(names.map((n) => [n, { restartsAtStart: undefined, activeSince: undefined, lastExit: undefined }]));
  const verdicts = new Map<string, { verdict: Verdict; state: UnitState; lastExit: number | undefined }>();
  for (let round = 0; ; round++) {
    const open = names.filter((n) => !verdicts.has(n));
    if (!open.length) break;
    const final = Date.now() >= deadline || o.signal.aborted;
    const states = await host.states(open);
    // Facts only where the host keeps no count (fleet; systemd before 235): systemd's own is first-hand.
    const need = open.filter((n) => states.get(n)?.restarts === undefined);
    const facts = o.facts && need.length ? await o.facts(need).catch(() => new Map<string, ContainerFacts>()) : new Map<string, ContainerFacts>();
    const now = Date.now();
    for (const n of open) {
      const state = states.get(n);
      if (!state) continue;
      const f = facts.get(n);
      const restarts = state.restarts ?? f?.restarts;
      const track = tracks.get(n)!;
      // systemd resets NRestarts when a job starts a unit: a unit that (re)started during this run counts from
      // 0, so restarts before the first read are not lost; one that was already up counts from now.
      const startedNow = state.activeState !== 'active' || (state.activeSince !== undefined && state.activeSince >= runStart);
      track.restartsAtStart ??= state.restarts !== undefined && startedNow ? 0 : restarts ?? 0;
      const activeNow = state.activeState === 'active' && state.subState !== 'auto-restart';
      if (!activeNow) track.activeSince = undefined;
      else track.activeSince ??= state.activeSince ?? now;
      if (activeNow && state.activeSince !== undefined) track.activeSince = state.activeSince;
      track.lastExit = state.exitStatus ?? f?.lastExit ?? track.lastExit;
      const lastExit = track.lastExit;
      const fromFacts = state.restarts === undefined && f !== undefined;
      const verdict = judgeHealth({ state, restartsAtStart: track.restartsAtStart, restarts, lastExit, activeSince: track.activeSince, now, stableMs: o.stableMs, final, fromFacts });
      if (verdict.kind !== 'pending') verdicts.set(n, { verdict, state, lastExit });
    }
    if (final) break;
    await sleep(Math.min(o.intervalMs ?? 250, Math.max(0, deadline - Date.now())));
  }
  return Promise.all(names.map(async (name): Promise<UnitResult> => {
    const v = verdicts.get(name);
    if (!v) return { name, ok: false, state: 'unknown', error: `${host.endpoint} did not report its state` };
    if (v.verdict.kind === 'healthy') return { name, ok: true, state: 'active' };
    const journal = await o.journal(host.journalOf(name, v.state.machines[0]));
    return {
      name, ok: false, state: v.verdict.kind === 'crash-loop' ? 'crash-loop' : v.state.activeState, error: v.verdict.why,
      ...(v.state.result && v.state.result !== 'success' ? { result: v.state.result } : {}), journal,
    };
  }));
}
