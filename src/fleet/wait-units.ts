/**
 * Waits until fleet reports every unit in its target state. One poll is one `GET /units` (plus one
 * `GET /state` when a unit must be running) for all units together, not a request per unit, every 250 ms
 * like fleetctl.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { DesiredState } from './desired-state.js';
import type { FleetClient, FleetUnit, FleetUnitState } from './fleet-client.js';

/** What to wait for, per unit. `absent` waits for a destroyed unit to leave fleet and its machines. */
export interface WaitTarget {
  readonly name: string;
  readonly state: DesiredState | 'absent';
  /** Global units run on every matching machine and have no `machineID`. */
  readonly global: boolean;
  /**
   * The unit hash just submitted: after a replace, machines still report the old unit for a moment, and
   * only states of this hash count.
   */
  readonly hash?: string;
}

/** How one unit ended up. */
export interface WaitResult {
  readonly name: string;
  readonly ok: boolean;
  /** `active`, `failed`, `loaded`, `inactive`, `absent`, `timeout`… as shown to the user. */
  readonly state: string;
  /** Machine ids it runs on (several for a global unit). */
  readonly machines: readonly string[];
  /** Why it is not ok, as a sentence. */
  readonly reason: string | undefined;
}

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Default 250 ms, fleetctl's interval. */
  readonly intervalMs?: number;
  /** Called once per unit as soon as it settles (for progress output). */
  readonly onSettled?: (r: WaitResult) => void;
  readonly signal?: AbortSignal;
}

/** Polls until every target settled or the timeout passed; results in target order. */
export async function waitForUnits(client: FleetClient, targets: readonly WaitTarget[], o: WaitOptions): Promise<WaitResult[]> {
  const results = new Map<string, WaitResult>();
  const deadline = Date.now() + o.timeoutMs;
  const needState = targets.some((t) => t.state === 'launched' || t.state === 'absent');
  let last: { units: Map<string, FleetUnit>; states: Map<string, FleetUnitState[]> } = { units: new Map(), states: new Map() };
  while (results.size < targets.length) {
    let units: FleetUnit[];
    let states: FleetUnitState[];
    try {
      [units, states] = await Promise.all([client.listUnits(), needState ? client.listStates() : Promise.resolve([])]);
    } catch (e) {
      if (o.signal?.aborted) break; // interrupted: report what is known so far
      throw e;
    }
    last = { units: new Map(units.map((u) => [u.name, u])), states: new Map() };
    for (const s of states) {
      const list = last.states.get(s.name);
      if (list) list.push(s);
      else last.states.set(s.name, [s]);
    }
    for (const t of targets) {
      if (results.has(t.name)) continue;
      const r = judge(t, last.units.get(t.name), last.states.get(t.name) ?? []);
      if (r) {
        results.set(t.name, r);
        o.onSettled?.(r);
      }
    }
    if (results.size === targets.length) break;
    if (Date.now() >= deadline || o.signal?.aborted) break;
    await sleep(Math.min(o.intervalMs ?? 250, Math.max(0, deadline - Date.now())));
  }
  return targets.map((t) => {
    const done = results.get(t.name);
    if (done) return done;
    const r = o.signal?.aborted
      ? { name: t.name, ok: false, state: 'interrupted', machines: [], reason: 'interrupted before it settled' }
      : timedOut(t, last.units.get(t.name), last.states.get(t.name) ?? [], o.timeoutMs);
    o.onSettled?.(r);
    return r;
  });
}

/** A settled result, or undefined while the unit is still on its way. */
function judge(t: WaitTarget, unit: FleetUnit | undefined, allStates: readonly FleetUnitState[]): WaitResult | undefined {
  const states = t.hash ? allStates.filter((s) => s.hash === undefined || s.hash === t.hash) : allStates;
  const machines = unit?.machineID ? [unit.machineID] : states.map((s) => s.machineID ?? '').filter(Boolean);
  if (t.state === 'absent') {
    return !unit && states.length === 0 ? { name: t.name, ok: true, state: 'absent', machines: [], reason: undefined } : undefined;
  }
  if (!unit) return { name: t.name, ok: false, state: 'missing', machines: [], reason: 'the unit disappeared from fleet while waiting (destroyed by someone else?)' };
  const failed = states.find((s) => s.systemdActiveState === 'failed');
  if (t.state === 'launched' && failed) {
    return { name: t.name, ok: false, state: 'failed', machines, reason: `systemd reports it failed (${failed.systemdSubState ?? 'failed'}) on machine ${short(failed.machineID)}; see 'fleetkit logs ${t.name}'` };
  }
  if (t.state === 'launched') {
    const running = states.length > 0 && states.every((s) => s.systemdActiveState === 'active');
    const launched = t.global || unit.currentState === 'launched';
    return running && launched ? { name: t.name, ok: true, state: 'active', machines, reason: undefined } : undefined;
  }
  if (t.global) return { name: t.name, ok: true, state: t.state, machines, reason: undefined };
  return unit.currentState === t.state || (t.state === 'inactive' && unit.currentState === undefined)
    ? { name: t.name, ok: true, state: t.state, machines, reason: undefined }
    : undefined;
}

function timedOut(t: WaitTarget, unit: FleetUnit | undefined, states: readonly FleetUnitState[], timeoutMs: number): WaitResult {
  const secs = `${Math.round(timeoutMs / 100) / 10} s`;
  if (!unit && t.state !== 'absent') return { name: t.name, ok: false, state: 'missing', machines: [], reason: 'the unit is not in fleet' };
  if (t.state === 'absent') return { name: t.name, ok: false, state: 'timeout', machines: [], reason: `still reported by its machines after ${secs}` };
  const scheduled = t.global ? states.length > 0 : Boolean(unit?.machineID);
  const now = states.map((s) => `${s.systemdActiveState ?? '?'}/${s.systemdSubState ?? '?'}`).join(', ') || unit?.currentState || 'unknown';
  const reason = scheduled
    ? `not ${t.state === 'launched' ? 'active' : t.state} after ${secs} (now ${now})`
    : `not scheduled after ${secs}: no machine satisfies its [X-Fleet] options (MachineMetadata, Conflicts, MachineOf, MachineID)`;
  return { name: t.name, ok: false, state: scheduled ? 'timeout' : 'unscheduled', machines: unit?.machineID ? [unit.machineID] : [], reason };
}

function short(id: string | undefined): string {
  return id ? id.slice(0, 8) : '?';
}
