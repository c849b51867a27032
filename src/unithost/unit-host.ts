/**
 * UnitHost: the one interface over "where units run". load, start, stop, unload, destroy, status, logs and
 * events use only this; fleet's HTTP API (`fleet-unit-host.ts`) and systemd over D-Bus
 * (`systemd-unit-host.ts`) are its two adapters, and `open-unit-host.ts` is the one place that picks one.
 *
 * The words are fleet's: a unit's target state is `inactive` (known, not loaded), `loaded` (stopped) or
 * `launched` (running). A *definition* is what the host stores: a unit in fleet (instances are units of
 * their own, carrying their template's options), a unit file in systemd's unit directory (an instance has
 * no file: its template's file is its definition). Batch methods take every unit at once so an adapter can
 * send one request per batch (one systemd Reload, one fleet list per poll).
 */
import type { DesiredUnit } from '../load/desired-unit.js';
import type { PlacementMachine, PlacementUnit } from '../load/placement.js';
import type { UnitFile, UnitOption } from '../unit/model.js';
import { RUNNING_STATES } from '../unit/active-state.js';

/** fleet's target states, which systemd's adapter maps to start/stop/disable. */
export type TargetState = 'inactive' | 'loaded' | 'launched';

/** A definition as the host holds it. */
export interface HostDefinition {
  /** fleet: the unit name; systemd: the unit file name (the template's for an instance). */
  readonly id: string;
  /** What decides "changed": fleet's unit hash, or the file's text. */
  readonly key: string;
  /** The cluster marker (`[X-Fleetkit] Cluster=`), which makes units of a cluster recognisable as stale. */
  readonly cluster: string | undefined;
  /** The target state the host holds for it (fleet's desired state); undefined where there is none (a file). */
  readonly target: TargetState | undefined;
  /** The definition as lines, the form differences are shown in. */
  readonly lines: readonly string[];
  /** How a difference from it is said: `differs from the unit in fleet`, `/etc/systemd/system/web@.service differs`. */
  readonly differs: string;
}

/** How a desired unit is stored on this host: its definition's id, the key compared, and its lines. */
export interface DefinitionRef {
  readonly id: string;
  readonly key: string;
  readonly lines: readonly string[];
}

/** What became of one unit or definition in a batch call. */
export interface UnitResult {
  readonly name: string;
  readonly ok: boolean;
  /** The state it ended in, as shown to the user (`active`, `failed`, `loaded`, `inactive`, `absent`, `timeout`…). */
  readonly state: string | undefined;
  /** One sentence, when not ok. */
  readonly error?: string;
  /** systemd's `Result` of a failed service (`exit-code`, `signal`…). */
  readonly result?: string;
  /** Machines it runs on (fleet). */
  readonly machines?: readonly string[];
  /** For removals: whether there was something to remove. */
  readonly removed?: boolean;
  /** Last journal lines, for a unit that failed. */
  readonly journal?: readonly string[];
}

/** A unit's state now, with what the host knows of its history. */
export interface UnitState {
  readonly name: string;
  /** `loaded`, `not-found`… (undefined when the host does not say). */
  readonly loadState: string | undefined;
  /** `active`, `activating`, `failed`, `inactive`, … or `unknown` (not reported yet, e.g. unscheduled). */
  readonly activeState: string;
  /** `running`, `auto-restart`, `exited`, `dead`, … */
  readonly subState: string | undefined;
  readonly machines: readonly string[];
  /** Automatic restarts since the unit was started (systemd's NRestarts); undefined when the host has no count. */
  readonly restarts: number | undefined;
  /** When it last became active (ms since the epoch), when the host says. */
  readonly activeSince: number | undefined;
  /** systemd's `Result` (`success`, `exit-code`, …). */
  readonly result: string | undefined;
  /** The main process's last exit status, when it has exited. */
  readonly exitStatus: number | undefined;
  /** The unit's `Restart=` policy (`no`, `always`, `on-failure`…), when the host says. */
  readonly restartPolicy: string | undefined;
  /**
   * Where the host reports a state per machine (fleet: a global unit runs on several): the machines whose
   * state says its processes may still run. `activeState` folds the machines into one for health (active
   * only when all are), so one inactive machine does not make the unit down: {@link mayRun} reads this.
   */
  readonly runningOn?: readonly string[];
}

/**
 * Whether a unit's processes may still run anywhere: a running state (RUNNING_STATES), or any machine that
 * reports one (`runningOn`). A unit is down only when this is false.
 */
export function mayRun(s: Pick<UnitState, 'activeState' | 'runningOn'>): boolean {
  return s.runningOn !== undefined ? s.runningOn.length > 0 : RUNNING_STATES.has(s.activeState);
}

/** Where a unit's journal lives: `journalctl [--user] [-D dir] [-M machine] -u unit`. */
export interface JournalRef {
  readonly unit: string;
  readonly user: boolean;
  readonly dir: string | undefined;
  /** fleet: the machine the unit ran on (journals are per machine). */
  readonly machine: string | undefined;
}

/** A change seen while watching. */
export interface UnitChange {
  readonly name: string;
  readonly state: UnitState | undefined;
}

/** A unit as the host placed it (what `status` shows beside its state). */
export interface PlacedUnit {
  readonly name: string;
  /** fleet's desired state; undefined on systemd (no desired state). */
  readonly target: TargetState | undefined;
  /** fleet's currentState (`inactive`, `loaded`, `launched`); undefined on systemd. */
  readonly current: string | undefined;
  /** The machine it is scheduled to; undefined while unscheduled, for a global unit, and on systemd. */
  readonly machine: string | undefined;
  /** Its options (fleet: why it is not scheduled; systemd: from the file it loaded, empty when unreadable). */
  readonly options: readonly UnitOption[];
}

/** A machine the host knows (fleet: every machine listed now; systemd: none, the caller knows its own). */
export interface HostMachine {
  readonly id: string;
  readonly ip: string | undefined;
  readonly metadata: Readonly<Record<string, string>>;
}

/** One read of what `status` shows: the units as placed, their state on each machine, the machines. */
export interface HostView {
  readonly units: readonly PlacedUnit[];
  /** One per unit and machine (a global unit has one per machine); `machines` holds that one machine. */
  readonly states: readonly UnitState[];
  readonly machines: readonly HostMachine[];
}

/** Settings of one batch: wait for the outcome (up to `timeoutMs`), in parallel up to `parallel`. */
export interface BatchOptions {
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly parallel: number;
  readonly signal: AbortSignal;
  /** Called once per unit as soon as its outcome is known (progress output). */
  readonly onSettled?: (r: UnitResult) => void;
}

/** One definition to store, and the target state its units should have once stored. */
export interface SubmitItem {
  readonly desired: DesiredUnit;
  readonly target: TargetState;
}

/** One unit to move to a target state. `restart`: its definition was just replaced, run it anew. */
export interface TargetItem {
  readonly name: string;
  readonly target: TargetState;
  readonly restart: boolean;
}

export interface UnitHost {
  /** The endpoint, as messages name it: `fleet at unix:///var/run/fleet.sock`, `systemd (user manager)`. */
  readonly endpoint: string;
  /** How `desired` is stored here. */
  definitionOf(desired: DesiredUnit): DefinitionRef;
  /** The definitions the host holds (those of `ids` only, when given: a host may then skip a full listing). */
  definitions(ids?: readonly string[]): Promise<Map<string, HostDefinition>>;
  /**
   * The units `names` as the host holds them, parsed (an instance carries its template's options, specifiers
   * unresolved): what a command given only unit names reads of their own text. Units the host lacks are left out.
   */
  units(names: readonly string[]): Promise<Map<string, UnitFile>>;
  /** Stores definitions (create or replace). Results by definition id; nothing is started here. */
  submit(items: readonly SubmitItem[], o: BatchOptions): Promise<UnitResult[]>;
  /** Moves units to target states and, with `o.wait`, waits until the host reports them there. */
  setTargets(items: readonly TargetItem[], o: BatchOptions): Promise<UnitResult[]>;
  /** Stops and removes units or definitions (a template's instances with it), waiting with `o.wait`. */
  remove(ids: readonly string[], o: BatchOptions): Promise<UnitResult[]>;
  /**
   * States of units now, one call for all. Units the host does not know come back `inactive`/`not-found`.
   * With `o.history` false, only the active, load and sub states are needed: a host may leave restarts,
   * activation time, result and exit status unread (systemd reads them per unit).
   */
  states(names: readonly string[], o?: { readonly history?: boolean }): Promise<Map<string, UnitState>>;
  /**
   * Everything `status` shows, in one read: fleet lists all its units (`names` only adds nothing it lacks);
   * systemd has no list of a cluster's units, so it reports `names` (those it does not know are left out).
   */
  view(names: readonly string[]): Promise<HostView>;
  /** Calls `onChange` whenever a unit's state changes, until `signal` aborts; names empty = every unit. */
  watch(names: readonly string[], onChange: (c: UnitChange) => void, signal: AbortSignal): Promise<void>;
  /**
   * The machines and the units as a scheduler sees them (fleet: GET /machines and the units last listed by
   * `definitions`), for the placement check; absent where there is nothing to place (systemd: one machine).
   */
  placement?(): Promise<{ readonly machines: readonly PlacementMachine[]; readonly units: readonly PlacementUnit[] }>;
  /** Where the journal of `name` is. */
  journalOf(name: string, machine?: string): JournalRef;
  /** Releases connections. */
  close(): void;
}
