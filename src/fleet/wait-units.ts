/**
 * Waits until fleet reports every unit in its target state. One poll is one `GET /units` (plus one
 * `GET /state` when a unit must be running) for all units together, not a request per unit, every 250 ms
 * like fleetctl.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RUNNING_STATES } from '../unit/active-state.js';
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
  /**
   * What each machine reported before the request (`machineID` → `active/sub` text), read just before it was
   * sent. A state from before the request is never its outcome: after a stop, fleet keeps publishing the
   * `failed` state the stopped `docker run` left until its agent has started the unit again, so a failure
   * counts only once that machine's state has changed since.
   */
  readonly before?: ReadonlyMap<string, string>;
  /**
   * For a global unit: the machines that match it (online, with its metadata). It counts as active only when
   * each of them reports it active; fleet publishes a global unit's state late and republishes it every 24 s.
   */
  readonly machines?: readonly string[];
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
  // A stop is judged by systemd's state too: fleet says `loaded` before the process has stopped.
  const needState = targets.some((t) => t.state === 'launched' || t.state === 'absent' || t.state === 'loaded');
  let last: { units: Map<string, FleetUnit>; states: Map<string, FleetUnitState[]> } = { units: new Map(), states: new Map() };
  // Per target, the machines whose state is still the one from before the request.
  const stale = new Map(targets.map((t) => [t.name, new Map(t.before ?? [])]));
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
      const old = stale.get(t.name)!;
      for (const s of last.states.get(t.name) ?? []) if (old.get(s.machineID ?? '') !== stateText(s)) old.delete(s.machineID ?? '');
      const r = judge(t, last.units.get(t.name), last.states.get(t.name) ?? [], old);
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
      : timedOut(t, last.units.get(t.name), last.states.get(t.name) ?? [], o.timeoutMs, stale.get(t.name)!);
    o.onSettled?.(r);
    return r;
  });
}

/** `active/running`: how a machine's state is compared with the one from before the request. */
function stateText(s: FleetUnitState): string {
  return `${s.systemdActiveState ?? '?'}/${s.systemdSubState ?? '?'}`;
}

/** A settled result, or undefined while the unit is still on its way. `old`: machines still showing their state from before. */
function judge(t: WaitTarget, unit: FleetUnit | undefined, allStates: readonly FleetUnitState[], old: ReadonlyMap<string, string>): WaitResult | undefined {
  const states = t.hash ? allStates.filter((s) => s.hash === undefined || s.hash === t.hash) : allStates;
  const machines = unit?.machineID ? [unit.machineID] : states.map((s) => s.machineID ?? '').filter(Boolean);
  if (t.state === 'absent') {
    return !unit && states.length === 0 ? { name: t.name, ok: true, state: 'absent', machines: [], reason: undefined } : undefined;
  }
  if (!unit) return { name: t.name, ok: false, state: 'missing', machines: [], reason: 'the unit disappeared from fleet while waiting (destroyed by someone else?)' };
  if (t.state === 'launched') {
    const fresh = states.filter((s) => !old.has(s.machineID ?? ''));
    const failed = fresh.find((s) => s.systemdActiveState === 'failed');
    if (failed) {
      return { name: t.name, ok: false, state: 'failed', machines, reason: `systemd reports it failed (${failed.systemdSubState ?? 'failed'}) on machine ${short(failed.machineID)}; see 'fleetkit logs ${t.name}'` };
    }
    // A global unit: every machine that matches it, when known; else every machine that has reported it.
    const expected = t.global && t.machines ? t.machines : undefined;
    const reporting = new Set(states.filter((s) => s.systemdActiveState === 'active').map((s) => s.machineID ?? ''));
    const running = expected
      ? expected.length > 0 && expected.every((m) => reporting.has(m))
      : states.length > 0 && states.every((s) => s.systemdActiveState === 'active');
    const launched = t.global || unit.currentState === 'launched';
    return running && launched ? { name: t.name, ok: true, state: 'active', machines: expected ? [...expected] : machines, reason: undefined } : undefined;
  }
  // A stop (or unload) is done when fleet says so and no machine reports the process up any more: fleet says
  // `loaded` as soon as its agent has asked systemd to stop, seconds before the container has stopped.
  if (states.some((s) => RUNNING_STATES.has(s.systemdActiveState ?? ''))) return undefined;
  const down = states.some((s) => s.systemdActiveState === 'failed') ? 'failed' : undefined;
  if (t.global) return { name: t.name, ok: true, state: down ?? t.state, machines, reason: undefined };
  return unit.currentState === t.state || (t.state === 'inactive' && unit.currentState === undefined)
    ? { name: t.name, ok: true, state: t.state, machines, reason: undefined }
    : undefined;
}

function timedOut(t: WaitTarget, unit: FleetUnit | undefined, states: readonly FleetUnitState[], timeoutMs: number, old: ReadonlyMap<string, string>): WaitResult {
  const secs = `${Math.round(timeoutMs / 100) / 10} s`;
  if (!unit && t.state !== 'absent') return { name: t.name, ok: false, state: 'missing', machines: [], reason: 'the unit is not in fleet' };
  if (t.state === 'absent') return { name: t.name, ok: false, state: 'timeout', machines: [], reason: `still reported by its machines after ${secs}` };
  const scheduled = t.global ? states.length > 0 : Boolean(unit?.machineID);
  if (t.state === 'launched' && states.length > 0 && states.every((s) => old.has(s.machineID ?? '') && s.systemdActiveState === 'failed')) {
    return { name: t.name, ok: false, state: 'failed', machines: unit?.machineID ? [unit.machineID] : [], reason: `still failed from before after ${secs}: fleet's agent never reported it starting` };
  }
  if (t.global && t.machines && t.state === 'launched') {
    const active = new Set(states.filter((s) => s.systemdActiveState === 'active').map((s) => s.machineID ?? ''));
    const missing = t.machines.filter((m) => !active.has(m));
    if (missing.length) {
      const what = missing.map((m) => `${short(m)} ${states.find((s) => s.machineID === m) ? stateText(states.find((s) => s.machineID === m)!) : 'no state published'}`).join(', ');
      return { name: t.name, ok: false, state: 'timeout', machines: [...active], reason: `active on ${active.size} of ${t.machines.length} machines after ${secs} (not on ${what})` };
    }
  }
  const now = states.map(stateText).join(', ') || unit?.currentState || 'unknown';
  const reason = scheduled
    ? `not ${t.state === 'launched' ? 'active' : t.state} after ${secs} (now ${now})`
    : `not scheduled after ${secs}: no machine satisfies its [X-Fleet] options (MachineMetadata, Conflicts, MachineOf, MachineID)`;
  return { name: t.name, ok: false, state: scheduled ? 'timeout' : 'unscheduled', machines: unit?.machineID ? [unit.machineID] : [], reason };
}

function short(id: string | undefined): string {
  return id ? id.slice(0, 8) : '?';
}
