/**
 * fleet v1.0.0's placement rules, in one place: whether a machine can run a unit (the agent's `AbleToRun`:
 * MachineID → MachineMetadata → MachineOf peers → Conflicts → Replaces), how the engine's reconciler places
 * units (unschedule what can no longer run, then each unscheduled unit, in name order, on the least-loaded
 * machine that is able, ties by machine id; global units on every machine whose metadata matches and that
 * holds nothing they conflict with), and the sentence that says why a unit has no machine. Pure: `load`
 * checks a request against GET /machines before it waits, `status` explains a unit fleet has not placed,
 * and `gen-units --machines` counts conflicting instances, all with these rules.
 */
import type { UnitOption } from '../unit/model.js';
import { goPathMatch, parseXFleet, type XFleet } from '../unit/xfleet.js';

/** A machine as GET /machines lists it. */
export interface PlacementMachine {
  readonly id: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A unit as fleet's registry holds it. */
export interface PlacementUnit {
  readonly name: string;
  readonly options: readonly UnitOption[];
  /** fleet's desiredState (`inactive`, `loaded`, `launched`): inactive units are never placed. */
  readonly desiredState: string | undefined;
  /** The machine fleet has scheduled it to; undefined while unscheduled and for global units. */
  readonly machineID: string | undefined;
}

/** fleetctl's short machine id (the first 8 hex digits). */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

/** fleet's machine.HasMetadata: every key (AND) has one of its values (OR) on the machine. */
export function hasMetadata(m: PlacementMachine, meta: ReadonlyMap<string, readonly string[]>): boolean {
  for (const [k, vs] of meta) {
    const v = m.metadata[k];
    if (v === undefined || !vs.includes(v)) return false;
  }
  return true;
}

/** `role=db or role=cache and disk=ssd`: metadata requirements as a user wrote them. */
export function describeMetadata(meta: ReadonlyMap<string, readonly string[]>): string {
  return [...meta].map(([k, vs]) => vs.map((v) => `${k}=${v}`).join(' or ')).join(' and ');
}

/** A unit with its `[X-Fleet]` values read once. */
interface Job {
  readonly name: string;
  readonly x: { readonly conflicts: readonly string[] };
}

/** fleet's AgentState.hasConflict for one pair: a Conflicts= glob of either matches the other's name. */
export function conflictsWith(a: Job, b: Job): boolean {
  if (a.name === b.name) return false;
  return a.x.conflicts.some((p) => goPathMatch(p, b.name)) || b.x.conflicts.some((p) => goPathMatch(p, a.name));
}

interface Entry extends Job {
  readonly x: XFleet;
  readonly live: boolean;
  machineID: string | undefined;
}

/** Where the engine places each unit: non-global units on one machine (or none), global ones on several. */
export interface Placement {
  /** Unit name → machine ids it runs on (empty: not placed). Inactive units are left out. */
  readonly where: ReadonlyMap<string, readonly string[]>;
  /** Why a unit has no machine, for every live unit that has none. */
  readonly unplaced: ReadonlyMap<string, string>;
}

/** The cluster as the engine sees it while it works: units scheduled per machine, globals per machine. */
class Board {
  readonly scheduled = new Map<string, Set<string>>();
  /** The global units, found once: `here` is asked for every unit and machine. */
  readonly #globals: Entry[] = [];
  constructor(readonly machines: readonly PlacementMachine[], readonly entries: ReadonlyMap<string, Entry>) {
    for (const m of machines) this.scheduled.set(m.id, new Set());
    for (const e of entries.values()) if (e.live && !e.x.global && e.machineID && this.scheduled.has(e.machineID)) this.scheduled.get(e.machineID)!.add(e.name);
    for (const e of entries.values()) if (e.x.global) this.#globals.push(e);
  }

  /** Units on `m`: scheduled ones, then the global units that run there. */
  here(m: PlacementMachine): Entry[] {
    const out = [...this.scheduled.get(m.id)!].map((n) => this.entries.get(n)!);
    for (const e of this.#globals) if (this.runsGlobally(e, m)) out.push(e);
    return out;
  }

  runsGlobally(e: Entry, m: PlacementMachine): boolean {
    if (!e.live || !hasMetadata(m, e.x.machineMetadata)) return false;
    return ![...this.scheduled.get(m.id)!].some((n) => conflictsWith(e, this.entries.get(n)!));
  }

  /** fleet's AbleToRun. */
  ableToRun(e: Entry, m: PlacementMachine): boolean {
    if (e.x.machineID !== undefined && e.x.machineID !== m.id) return false;
    if (!hasMetadata(m, e.x.machineMetadata)) return false;
    const mine = this.scheduled.get(m.id)!;
    for (const p of e.x.machineOf) if (p === e.name || !mine.has(p)) return false;
    const here = this.here(m).filter((o) => o.name !== e.name);
    if (here.some((o) => conflictsWith(e, o))) return false;
    // A unit here that replaces this one sends it elsewhere (fleet ignores a mutual Replaces).
    const replaces = (a: Entry, b: Entry): boolean => a.x.replaces.some((p) => goPathMatch(p, b.name));
    return !here.some((o) => replaces(o, e) && !replaces(e, o));
  }
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * One reconcile of fleet's engine over `units` and `machines`, repeated until nothing moves (a unit placed
 * may let a follower be placed): which machine(s) each unit ends on, and why those without one have none.
 */
export function placeUnits(units: readonly PlacementUnit[], machines: readonly PlacementMachine[]): Placement {
  const entries = new Map<string, Entry>();
  for (const u of [...units].sort(byName)) {
    const live = u.desiredState === 'loaded' || u.desiredState === 'launched';
    entries.set(u.name, { name: u.name, x: parseXFleet({ name: u.name, options: u.options }), live, machineID: live ? u.machineID : undefined });
  }
  const sorted = [...machines].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const ids = new Set(sorted.map((m) => m.id));
  for (const e of entries.values()) if (e.x.global || (e.machineID !== undefined && !ids.has(e.machineID))) e.machineID = undefined;
  const board = new Board(sorted, entries);
  for (let round = 0; round <= entries.size; round++) {
    let moved = false;
    for (const e of entries.values()) {
      if (!e.machineID) continue;
      // Checked while still scheduled there, as fleet's engine does: a global unit that conflicts with it
      // does not run on that machine, so it does not push the unit off.
      const m = sorted.find((x) => x.id === e.machineID)!;
      if (board.ableToRun(e, m)) continue;
      board.scheduled.get(m.id)!.delete(e.name);
      e.machineID = undefined;
      moved = true;
    }
    for (const e of entries.values()) {
      if (!e.live || e.x.global || e.machineID) continue;
      const load = (m: PlacementMachine): number => board.scheduled.get(m.id)!.size;
      const m = [...sorted].sort((a, b) => load(a) - load(b)).find((c) => board.ableToRun(e, c));
      if (!m) continue;
      e.machineID = m.id;
      board.scheduled.get(m.id)!.add(e.name);
      moved = true;
    }
    if (!moved) break;
  }
  const where = new Map<string, string[]>();
  const unplaced = new Map<string, string>();
  for (const e of entries.values()) {
    if (!e.live) continue;
    const on = e.x.global ? sorted.filter((m) => board.runsGlobally(e, m)).map((m) => m.id) : e.machineID ? [e.machineID] : [];
    where.set(e.name, on);
    if (!on.length) unplaced.set(e.name, reasonFor(e, board));
  }
  return { where, unplaced };
}

function joinAnd(list: readonly string[]): string {
  return list.length > 1 ? `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}` : list[0] ?? '';
}

/** Why `e` has no machine, told in the order of fleet's filters, from the board as it ended. */
function reasonFor(e: Entry, board: Board): string {
  if (board.machines.length === 0) return 'no machine is online';
  let candidates = [...board.machines];
  if (e.x.machineID !== undefined) {
    candidates = candidates.filter((m) => m.id === e.x.machineID);
    if (candidates.length === 0) return `MachineID ${e.x.machineID} is not an online machine`;
  }
  if (e.x.machineMetadata.size > 0) {
    candidates = candidates.filter((m) => hasMetadata(m, e.x.machineMetadata));
    if (candidates.length === 0) return `no machine has metadata ${describeMetadata(e.x.machineMetadata)}`;
  }
  for (const peer of e.x.machineOf) {
    const target = board.entries.get(peer);
    const on = target?.machineID;
    if (!on) return `MachineOf target ${peer} is not scheduled`;
    if (!candidates.some((m) => m.id === on)) return `MachineOf target ${peer} runs on ${shortId(on)}, which this unit may not use`;
    candidates = candidates.filter((m) => m.id === on);
  }
  const blocked = candidates.map((m) => ({ m, with: board.here(m).filter((o) => conflictsWith(e, o)).map((o) => o.name).sort() }));
  if (blocked.length && blocked.every((b) => b.with.length > 0)) {
    return `conflicts with ${joinAnd(blocked.map((b) => `${b.with.join(', ')} on ${shortId(b.m.id)}`))}: every machine that qualifies has a conflicting unit`;
  }
  return 'not scheduled yet: a machine qualifies, fleet has not placed it';
}

/**
 * Why a unit that fleet has not placed is unplaced, judged from the cluster as it is now (status). Units that
 * run on a machine without being scheduled there (global units, from /state) are `alsoOn`.
 */
export function unplacedReason(unit: PlacementUnit, units: readonly PlacementUnit[], machines: readonly PlacementMachine[], alsoOn: ReadonlyArray<{ readonly name: string; readonly machineID: string }> = []): string {
  const entries = new Map<string, Entry>();
  for (const u of units) entries.set(u.name, { name: u.name, x: parseXFleet({ name: u.name, options: u.options }), live: u.desiredState !== 'inactive', machineID: u.name === unit.name ? undefined : u.machineID });
  entries.set(unit.name, { name: unit.name, x: parseXFleet({ name: unit.name, options: unit.options }), live: true, machineID: undefined });
  const board = new Board(machines, entries);
  // What /state reports on a machine counts as there, whatever the engine would decide.
  for (const s of alsoOn) {
    if (s.name === unit.name || !board.scheduled.has(s.machineID)) continue;
    if (!entries.has(s.name)) entries.set(s.name, { name: s.name, x: parseXFleet({ name: s.name, options: [] }), live: true, machineID: s.machineID });
    if (!entries.get(s.name)!.x.global) board.scheduled.get(s.machineID)!.add(s.name);
  }
  return reasonFor(entries.get(unit.name)!, board);
}
