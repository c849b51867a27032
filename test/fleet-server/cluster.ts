/**
 * The fleet registry, engine and agents of the test server, as one in-memory model. Its observable
 * behaviour follows fleetd v1.0.0: the engine schedules one unit at a time on the least-loaded machine
 * (scheduled non-global units, ties by machine id) that passes MachineID → metadata → peers → conflicts →
 * replaces; each agent loads, starts, stops and unloads what is scheduled to it; `currentState` is derived
 * like fleet's determineJobState (inactive without a target or a published unit state, launched while the
 * agent heartbeats, loaded otherwise). Work happens in single transitions so tests can step through it.
 */
import { goPathMatch } from './go-text.js';
import { expandNameSpecifiers, hashOptions, readRequirements, serializeOptions, unitNameInfo, type FleetOption, type Requirements } from './unit-file.js';

/** A simulated machine as GET /machines shows it. */
export interface MachineSpec {
  readonly id: string;
  readonly primaryIP: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** systemd's view of a unit, as published in /state. */
export interface SystemdState {
  readonly loadState: string;
  readonly activeState: string;
  readonly subState: string;
}

/** What an agent hook is told about the unit it acts on. */
export interface AgentUnit {
  readonly name: string;
  readonly hash: string;
  readonly options: readonly FleetOption[];
  /** The normalized unit text fleet's agent writes to /run/fleet/units/NAME. */
  readonly text: string;
}

/** A machine as hooks and snapshots see it. */
export interface MachineView {
  readonly id: string;
  readonly primaryIP: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly online: boolean;
}

type HookResult = SystemdState | void | Promise<SystemdState | void>;

/**
 * The agent simulation. Hooks run when an agent acts; the state a hook returns is what the agent publishes
 * (defaults: after load loaded/inactive/dead, after launch active/running, after stop loaded/inactive/dead).
 * A hook that throws publishes loaded/failed/failed. `reconcileMs` paces the work (0: immediate, done before
 * the HTTP answer); `manual` leaves every transition to `server.step()` / `server.settle()`.
 */
export interface AgentSimulation {
  readonly reconcileMs?: number;
  readonly manual?: boolean;
  /**
   * fleet's own paces, times `timeScale` (1 = real time; 0.01 makes 5 s into 50 ms): an agent reconciles
   * every 5 s, taking in one reconcile the task list fleet queues for a unit (a changed unit is unloaded,
   * loaded and started; agent/reconcile.go), carries out at most one unload per machine per reconcile (about one unit per 5 s, as seen on a
   * real fleet), and publishes a global unit's state only when it republishes, every 24 s from a phase of its
   * own, so machines are missing from /state for a while after a submit. Overrides `reconcileMs`.
   */
  readonly fleetPace?: {
    readonly timeScale: number;
    /**
     * How long a stopped unit's container takes to stop (ms at time scale 1; default 0): fleet says `loaded`
     * at once, while systemd's state stays `deactivating` until `docker stop` has ended the container (5–9 s
     * were seen on a real fleet).
     */
    readonly containerStopMs?: number;
  };
  onLoad?(unit: AgentUnit, machine: MachineView): HookResult;
  onLaunch?(unit: AgentUnit, machine: MachineView): HookResult;
  onStop?(unit: AgentUnit, machine: MachineView): HookResult;
  onUnload?(unit: AgentUnit, machine: MachineView): void | Promise<void>;
}

/** The desired states fleet accepts; anything else stored on an existing unit poisons it. */
export const JOB_STATES: readonly string[] = ['inactive', 'loaded', 'launched'];

/** A unit in the registry. */
export interface UnitRecord {
  readonly name: string;
  readonly options: readonly FleetOption[];
  readonly hash: string;
  readonly reqs: Requirements;
  readonly isTemplate: boolean;
  desiredState: string;
  machineID: string | undefined;
}

interface AgentRecord {
  unit: UnitRecord;
  /** When the agent last acted on it (the clock of `Cluster.pace`), for the republish schedule. */
  changedAt: number;
  launched: boolean;
  state: SystemdState | undefined;
  pending: SystemdState | undefined;
  /** Under fleet's pace: the clock time before which `pending` (the end of a stop) is not published. */
  dueAt?: number;
}

interface Machine {
  readonly id: string;
  readonly primaryIP: string;
  metadata: Record<string, string>;
  online: boolean;
}

/** One atomic change the engine or an agent makes. */
export type Transition =
  | { readonly kind: 'unschedule'; readonly unit: string; readonly machineID: string }
  | { readonly kind: 'schedule'; readonly unit: string; readonly machineID: string; readonly displaces: readonly string[] }
  | { readonly kind: 'load' | 'start' | 'publish' | 'stop' | 'unload'; readonly unit: string; readonly machineID: string }
  /**
   * New options for a unit that runs while a unit bound to it (BindsTo= and After=, a sidekick) runs too: the
   * agent's stop of the old version waits behind the sidekick's stop, and the start of the new version
   * replaces that waiting stop job, so the new file is in place and its hash published while the old process
   * runs on. Only the bound units restart.
   */
  | { readonly kind: 'replace'; readonly unit: string; readonly machineID: string; readonly restarts: readonly string[] };

/** A pace that lets the clock decide some transitions (see AgentSimulation.fleetPace). */
export interface ClusterPace {
  readonly timeScale: number;
  now(): number;
}

/** fleet's agent republishes unchanged unit states this often (ms at time scale 1). */
export const REPUBLISH_MS = 24_000;

const LOADED: SystemdState = { loadState: 'loaded', activeState: 'inactive', subState: 'dead' };
const RUNNING: SystemdState = { loadState: 'loaded', activeState: 'active', subState: 'running' };
const FAILED: SystemdState = { loadState: 'loaded', activeState: 'failed', subState: 'failed' };
const DEACTIVATING: SystemdState = { loadState: 'loaded', activeState: 'deactivating', subState: 'stop-sigterm' };

/** Whether a stored desiredState is one fleet can read back (else the unit is poisoned). */
export function isPoisoned(u: UnitRecord): boolean {
  return !JOB_STATES.includes(u.desiredState);
}

/** The in-memory cluster: registry, engine and agents. */
export class Cluster {
  readonly units = new Map<string, UnitRecord>();
  private readonly machines = new Map<string, Machine>();
  /** Agent records by unit name, then machine id. */
  private readonly agents = new Map<string, Map<string, AgentRecord>>();
  /** Non-global scheduled units by machine id: the scheduler's load and the agents' work lists. */
  private readonly byMachine = new Map<string, Set<string>>();
  // Work bookkeeping, so that 1,000 units do not cost a full scan per transition.
  private readonly recheck = new Set<string>();
  private readonly toSchedule = new Set<string>();
  private readonly agentWork = new Set<string>();
  private readonly failedAt = new Map<string, number>();
  private epoch = 0;
  /** Errors thrown by agent hooks, oldest first. */
  readonly hookErrors: { unit: string; machineID: string; error: unknown }[] = [];

  constructor(machines: readonly MachineSpec[], private readonly agent: AgentSimulation, private readonly pace?: ClusterPace) {
    for (const m of machines) {
      this.machines.set(m.id, { id: m.id, primaryIP: m.primaryIP, metadata: { ...(m.metadata ?? {}) }, online: true });
      this.byMachine.set(m.id, new Set());
    }
  }

  /** Creates or replaces a unit (fleet's CreateUnit). */
  putUnit(name: string, options: readonly FleetOption[], desiredState: string): void {
    const prev = this.units.get(name);
    this.units.set(name, {
      name,
      options: options.map((o) => ({ section: o.section, name: o.name, value: o.value })),
      hash: hashOptions(options),
      reqs: readRequirements(name, options),
      isTemplate: unitNameInfo(name).isTemplate,
      desiredState,
      machineID: prev?.machineID,
    });
    this.touch(name);
  }

  /** Stores a desiredState as fleet's SetUnitTargetState does: unchecked. */
  setDesired(name: string, desiredState: string): void {
    const u = this.units.get(name);
    if (!u) return;
    u.desiredState = desiredState;
    this.touch(name);
  }

  /** Removes a unit (DELETE). */
  deleteUnit(name: string): void {
    const u = this.units.get(name);
    if (!u) return;
    this.setTarget(u, undefined);
    this.units.delete(name);
    this.touch(name);
  }

  private touch(name: string): void {
    this.epoch++;
    this.recheck.add(name);
    this.toSchedule.add(name);
    this.agentWork.add(name);
  }

  private touchAll(): void {
    this.epoch++;
    for (const name of this.units.keys()) this.touch(name);
    for (const name of this.agents.keys()) this.agentWork.add(name);
  }

  private setTarget(u: UnitRecord, machineID: string | undefined): void {
    if (u.machineID === machineID) return;
    if (u.machineID) this.byMachine.get(u.machineID)?.delete(u.name);
    u.machineID = machineID;
    if (machineID && !u.reqs.global) this.byMachine.get(machineID)?.add(u.name);
    this.epoch++;
    this.agentWork.add(u.name);
    this.toSchedule.add(u.name);
    // Followers (MachineOf) and global units on the machines involved may have to move or stop.
    for (const o of this.units.values()) {
      if (o.reqs.peers.includes(u.name)) this.recheck.add(o.name);
      if (o.reqs.global) this.agentWork.add(o.name);
    }
  }

  /** Machines sorted by id (online ones only unless `all`). */
  machineViews(all = false): MachineView[] {
    return [...this.machines.values()]
      .filter((m) => all || m.online)
      .sort((a, b) => cmp(a.id, b.id))
      .map((m) => ({ id: m.id, primaryIP: m.primaryIP, metadata: { ...m.metadata }, online: m.online }));
  }

  /** Changes a machine's liveness or metadata (metadata replaces the whole map). */
  setMachine(id: string, change: { online?: boolean; metadata?: Record<string, string> }): void {
    const m = this.machines.get(id);
    if (!m) throw new Error(`no simulated machine ${id}`);
    if (change.online !== undefined) m.online = change.online;
    if (change.metadata !== undefined) m.metadata = { ...change.metadata };
    this.touchAll();
  }

  /** PATCH /machines: set or delete one metadata key; unknown machines are ignored like fleet's registry. */
  setMetadata(id: string, key: string, value: string | undefined): void {
    const m = this.machines.get(id);
    if (!m) return;
    if (value === undefined) delete m.metadata[key];
    else m.metadata[key] = value;
    this.touchAll();
  }

  /**
   * fleet's determineJobState: `inactive` without a target machine or a published unit state. A global unit
   * never has a target machine, so fleet lists it `inactive` however many machines run it (its truth is the
   * per-machine entries of /state).
   */
  currentState(u: UnitRecord): string {
    if (u.reqs.global || !u.machineID) return 'inactive';
    const rec = this.agents.get(u.name)?.get(u.machineID);
    if (!rec || !rec.state) return 'inactive';
    return rec.launched ? 'launched' : 'loaded';
  }

  /** Published unit states, sorted by unit name then machine id. */
  states(): { name: string; machineID: string; hash: string; state: SystemdState }[] {
    const out: { name: string; machineID: string; hash: string; state: SystemdState }[] = [];
    for (const [name, recs] of this.agents) {
      for (const [machineID, rec] of recs) if (rec.state) out.push({ name, machineID, hash: rec.unit.hash, state: rec.state });
    }
    return out.sort((a, b) => cmp(a.name, b.name) || cmp(a.machineID, b.machineID));
  }

  /** Publishes a unit state from outside (a hook's later observation); null removes it. */
  reportState(name: string, machineID: string, state: SystemdState | null): void {
    const rec = this.agents.get(name)?.get(machineID);
    if (!rec) throw new Error(`unit ${name} is not loaded on ${machineID}`);
    rec.state = state ?? undefined;
    rec.pending = undefined;
  }

  /**
   * Whether the engine places the unit. fleet's reconciler schedules every job whose target state is not
   * inactive, templates included (the API lets a template be created `launched`, only a later PUT is
   * refused); an agent then fails to start a template (systemd: no instance name) and publishes no state.
   */
  private live(u: UnitRecord): boolean {
    return !isPoisoned(u) && u.desiredState !== 'inactive';
  }

  private scheduledOn(machineID: string): UnitRecord[] {
    const out: UnitRecord[] = [];
    for (const name of this.byMachine.get(machineID) ?? []) {
      const u = this.units.get(name);
      if (u && !isPoisoned(u)) out.push(u);
    }
    return out;
  }

  private runsGlobally(u: UnitRecord, m: Machine): boolean {
    return m.online && this.live(u) && hasMetadata(m, u.reqs) && !this.conflicts(u, this.scheduledOn(m.id));
  }

  private globalsOn(m: Machine): UnitRecord[] {
    return [...this.units.values()].filter((u) => u.reqs.global && this.runsGlobally(u, m));
  }

  private conflicts(u: UnitRecord, others: readonly UnitRecord[]): boolean {
    for (const o of others) {
      if (o.name === u.name) continue;
      if (u.reqs.conflicts.some((p) => goPathMatch(p, o.name))) return true;
      if (o.reqs.conflicts.some((p) => goPathMatch(p, u.name))) return true;
    }
    return false;
  }

  /** fleet's AgentState.AbleToRun: false, or the units this one would displace (Replaces). */
  private ableToRun(u: UnitRecord, m: Machine): false | string[] {
    if (u.reqs.machineID !== undefined && u.reqs.machineID !== m.id) return false;
    if (!hasMetadata(m, u.reqs)) return false;
    const scheduled = this.scheduledOn(m.id).filter((o) => o.name !== u.name);
    for (const p of u.reqs.peers) if (!scheduled.some((o) => o.name === p)) return false;
    const here = [...scheduled, ...this.globalsOn(m)];
    if (this.conflicts(u, here)) return false;
    // A unit that replaces this one already runs here: this one must go elsewhere.
    if (here.some((o) => o.reqs.replaces.some((p) => goPathMatch(p, u.name)))) return false;
    return scheduled.filter((o) => u.reqs.replaces.some((p) => goPathMatch(p, o.name))).map((o) => o.name);
  }

  /**
   * The next transition, engine work first, or null when nothing is pending. `allow` holds back transitions
   * the caller's pace does not permit yet; they stay pending.
   */
  nextTransition(allow: (t: Transition) => boolean = () => true): Transition | null {
    for (const name of [...this.recheck].sort(cmp)) {
      const u = this.units.get(name);
      this.recheck.delete(name);
      if (!u || u.reqs.global || !u.machineID) continue;
      const m = this.machines.get(u.machineID);
      if (isPoisoned(u) || u.desiredState === 'inactive' || !m || !m.online || this.ableToRun(u, m) === false) {
        this.recheck.add(name);
        const t: Transition = { kind: 'unschedule', unit: u.name, machineID: u.machineID };
        if (allow(t)) return t;
      }
    }
    for (const name of [...this.toSchedule].sort(cmp)) {
      const u = this.units.get(name);
      if (!u || u.reqs.global || u.machineID || !this.live(u)) {
        this.toSchedule.delete(name);
        continue;
      }
      if (this.failedAt.get(name) === this.epoch) continue;
      const candidates = [...this.machines.values()]
        .filter((m) => m.online)
        .sort((a, b) => (this.byMachine.get(a.id)?.size ?? 0) - (this.byMachine.get(b.id)?.size ?? 0) || cmp(a.id, b.id));
      let placed: Transition | undefined;
      for (const m of candidates) {
        const able = this.ableToRun(u, m);
        if (able !== false) {
          placed = { kind: 'schedule', unit: u.name, machineID: m.id, displaces: able };
          break;
        }
      }
      if (!placed) this.failedAt.set(name, this.epoch); // unschedulable until something changes
      else if (allow(placed)) return placed;
    }
    return this.nextAgentTransition(allow);
  }

  private nextAgentTransition(allow: (t: Transition) => boolean): Transition | null {
    for (const name of [...this.agentWork].sort(cmp)) {
      const { next, held } = this.agentTransitionFor(name, allow);
      if (next) return next;
      if (!held) this.agentWork.delete(name);
    }
    return null;
  }

  private agentTransitionFor(name: string, allow: (t: Transition) => boolean): { next?: Transition; held: boolean } {
    const u = this.units.get(name);
    const wanted = new Set<string>();
    if (u && this.live(u) && !u.isTemplate) {
      if (u.reqs.global) {
        for (const m of this.machines.values()) if (this.runsGlobally(u, m)) wanted.add(m.id);
      } else if (u.machineID && this.machines.get(u.machineID)?.online) {
        wanted.add(u.machineID);
      }
    }
    const recs = this.agents.get(name) ?? new Map<string, AgentRecord>();
    let held = false;
    for (const machineID of [...new Set([...wanted, ...recs.keys()])].sort(cmp)) {
      const t = this.agentStep(u, name, machineID, wanted.has(machineID), recs.get(machineID));
      if (!t) continue;
      if (allow(t)) return { next: t, held };
      held = true;
    }
    return { held };
  }

  private agentStep(u: UnitRecord | undefined, name: string, machineID: string, wanted: boolean, rec: AgentRecord | undefined): Transition | null {
    if (rec && u && wanted && rec.unit.hash !== u.hash && rec.launched && u.desiredState === 'launched') {
      const bound = this.boundRunning(name, machineID);
      if (bound.length > 0) return { kind: 'replace', unit: name, machineID, restarts: bound };
    }
    if (rec && (!wanted || !u || rec.unit.hash !== u.hash)) return { kind: 'unload', unit: name, machineID };
    if (!u || !wanted) return null;
    if (!rec) return { kind: 'load', unit: name, machineID };
    if (u.desiredState === 'launched' && !rec.launched) return { kind: 'start', unit: name, machineID };
    if (rec.pending) return { kind: 'publish', unit: name, machineID };
    if (u.desiredState === 'loaded' && rec.launched) return { kind: 'stop', unit: name, machineID };
    return null;
  }

  /** Units running on `machineID` that are bound to `name` and ordered after it (a sidekick): their stop comes first. */
  private boundRunning(name: string, machineID: string): string[] {
    const out: string[] = [];
    for (const [other, recs] of this.agents) {
      const rec = recs.get(machineID);
      if (other === name || !rec?.launched) continue;
      const unitOpts = rec.unit.options.filter((o) => o.section === 'Unit');
      // systemd expands specifiers in these names: a sidekick instance says BindsTo=web@%i.service.
      const names = (key: string): string[] => unitOpts.filter((o) => o.name === key).flatMap((o) => expandNameSpecifiers(other, o.value).split(/\s+/));
      const bound = ['BindsTo', 'Requires', 'PartOf'].some((k) => names(k).includes(name));
      if (bound && names('After').includes(name)) out.push(other);
    }
    return out.sort(cmp);
  }

  /**
   * Whether the pace lets the agent publish now. Without `fleetPace` always; with it, a global unit's state
   * waits for the machine's next republish (every 24 s from a phase derived from its id).
   */
  publishDue(t: Transition): boolean {
    if (!this.pace || t.kind !== 'publish') return true;
    const rec = this.agents.get(t.unit)?.get(t.machineID);
    if (rec?.dueAt !== undefined && this.pace.now() < rec.dueAt) return false;
    if (!rec || !rec.unit.reqs.global) return true;
    const period = REPUBLISH_MS * this.pace.timeScale;
    const phase = (parseInt(t.machineID.slice(-6), 16) || 0) % REPUBLISH_MS * this.pace.timeScale;
    const round = (at: number): number => Math.floor((at - phase) / period);
    return round(this.pace.now()) > round(rec.changedAt);
  }

  /** Applies one transition, running the agent hooks it implies. */
  async apply(t: Transition): Promise<void> {
    const machine = this.machineViews(true).find((m) => m.id === t.machineID);
    const u = this.units.get(t.unit);
    this.agentWork.add(t.unit);
    if (t.kind === 'unschedule' || t.kind === 'schedule') {
      if (u) this.setTarget(u, t.kind === 'schedule' ? t.machineID : undefined);
      if (t.kind === 'schedule') {
        for (const name of t.displaces) {
          const d = this.units.get(name);
          if (d) this.setTarget(d, undefined);
        }
      }
      return;
    }
    let recs = this.agents.get(t.unit);
    const now = this.pace?.now() ?? 0;
    if (t.kind === 'unload') {
      const rec = recs?.get(t.machineID);
      recs?.delete(t.machineID);
      if (recs && recs.size === 0) this.agents.delete(t.unit);
      if (rec && machine) await this.hook(rec.unit, machine, 'onUnload');
      return;
    }
    if (!u || !machine) return;
    // A global unit's state waits for the republish under fleet's pace; other units' states are published at once.
    const delayed = Boolean(this.pace) && u.reqs.global;
    if (t.kind === 'load') {
      const rec: AgentRecord = { unit: u, changedAt: now, launched: false, state: undefined, pending: undefined };
      if (!recs) this.agents.set(t.unit, (recs = new Map()));
      recs.set(t.machineID, rec);
      const loaded = (await this.hook(u, machine, 'onLoad')) ?? LOADED;
      if (delayed) rec.pending = loaded;
      else rec.state = loaded;
      return;
    }
    const rec = recs?.get(t.machineID);
    if (!rec) return;
    rec.changedAt = now;
    if (t.kind === 'replace') {
      // The new file is written and linked; the running process is left alone.
      rec.unit = u;
      await this.hook(u, machine, 'onLoad');
      for (const name of t.restarts) {
        const bound = this.agents.get(name)?.get(t.machineID);
        if (!bound) continue;
        await this.hook(bound.unit, machine, 'onStop');
        bound.state = (await this.hook(bound.unit, machine, 'onLaunch')) ?? RUNNING;
        bound.changedAt = now;
      }
    } else if (t.kind === 'start') {
      rec.launched = true;
      rec.dueAt = undefined;
      rec.pending = (await this.hook(u, machine, 'onLaunch')) ?? RUNNING;
    } else if (t.kind === 'publish') {
      rec.state = rec.pending;
      rec.pending = undefined;
      rec.dueAt = undefined;
    } else {
      rec.launched = false;
      rec.pending = undefined;
      const stopped = (await this.hook(u, machine, 'onStop')) ?? stoppedState(u.options);
      if (this.pace || (this.agent.reconcileMs ?? 0) > 0) {
        // fleet's currentState is `loaded` from here on, but systemd reports the stop job under way until the
        // container has stopped; the end state is published at a later reconcile.
        rec.state = DEACTIVATING;
        rec.pending = stopped;
        if (this.pace) rec.dueAt = now + (this.agent.fleetPace?.containerStopMs ?? 0) * this.pace.timeScale;
      } else rec.state = stopped;
    }
  }

  private async hook(u: UnitRecord, m: MachineView, which: 'onLoad' | 'onLaunch' | 'onStop' | 'onUnload'): Promise<SystemdState | undefined> {
    const fn = this.agent[which];
    if (!fn) return undefined;
    const view: AgentUnit = { name: u.name, hash: u.hash, options: u.options, text: serializeOptions(u.options) };
    try {
      return (await fn.call(this.agent, view, m)) ?? undefined;
    } catch (error) {
      this.hookErrors.push({ unit: u.name, machineID: m.id, error });
      return which === 'onUnload' ? undefined : FAILED;
    }
  }
}

/**
 * What systemd reports after a stop. A unit whose main process is `docker run` in the foreground ends
 * `failed`: `docker stop` (or the SIGTERM systemd sends) makes the container exit 143, docker run passes that
 * status on, and systemd counts a non-zero exit as failure unless SuccessExitStatus= lists it. Anything else
 * ends inactive/dead.
 */
export function stoppedState(options: readonly FleetOption[]): SystemdState {
  const service = options.filter((o) => o.section === 'Service');
  const execStart = service.filter((o) => o.name === 'ExecStart').at(-1)?.value ?? '';
  const words = execStart.replace(/^[-@+!:]+/, '').trim().split(/\s+/);
  const isDockerRun = (words[0] ?? '').split('/').at(-1) === 'docker' && words.slice(1).includes('run');
  const clean = service.filter((o) => o.name === 'SuccessExitStatus').flatMap((o) => o.value.split(/\s+/)).includes('143');
  return isDockerRun && !clean ? FAILED : LOADED;
}

function hasMetadata(m: Machine | MachineView, reqs: Requirements): boolean {
  for (const [key, values] of reqs.metadata) {
    const local = m.metadata[key];
    if (local === undefined || !values.has(local)) return false;
  }
  return true;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
