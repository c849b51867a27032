/**
 * Waits until started units are healthy (`health.ts`), reading their states from the UnitHost, and stops
 * waiting for a unit as soon as its crash loop is certain. Restart counts come from the host when it keeps
 * them (systemd's NRestarts), else from what the agents publish (container facts in etcd), counted from the
 * facts read before the start jobs were sent when the caller has them. A container unit with a discovery
 * sidekick is healthy only once its announcement of the container that runs now is in etcd
 * (`announcement-check.ts`). A facts record its agent no longer keeps up (read-facts.ts factsKeeper, through
 * facts-source.ts keptFactsOf) is no facts; on the machine the unit runs on it keeps the unit from counting
 * as healthy on the host's word alone, and the unit ends `unknown` unless the agent is back before the end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { JournalRef, UnitHost, UnitResult, UnitState } from '../unithost/unit-host.js';
import type { UnitFile } from '../unit/model.js';
import { announcementWants, isPerHost, notAnnouncedOnEach, notAnnouncedYet, OTHER_CLOCK_SLACK_MS, type AnnouncementWant } from './announcement-check.js';
import { judgeHealth, type Verdict } from './health.js';
import { AgentWatch } from './agent-watch.js';
import { clusterOf } from '../unit/cluster-marker.js';
import { agentUnitName } from '../unit/names.js';

/** A container's facts as the agent on its host publishes them. */
export interface ContainerFacts {
  readonly restarts: number;
  readonly lastExit: number | undefined;
  /** The container now (or last) running. */
  readonly containerId?: string;
  /** When it started (ms since the epoch, its machine's clock). */
  readonly startedAt?: number;
  /** The machine whose agent reported it. */
  readonly machine?: string;
  readonly running?: boolean;
  /** Why the agent will not announce the running container (no usable address): its announcement never comes. */
  readonly refused?: string;
  /** The config hashes (`fleetkit.config-hash`) of the containers that run, one per machine; absent when none is known. */
  readonly configHashes?: readonly string[];
}

/** A unit's facts record that its agent no longer keeps up (read-facts.ts factsKeeper): set aside, and why. */
export interface UnkeptFacts {
  readonly machine: string;
  readonly phase: string;
  readonly updatedAt: string;
  readonly why: string;
}

/** What one read of the agents' facts gives the health wait. */
export interface FactsReading {
  /** The facts of the records their agents keep up, by unit. */
  readonly facts: ReadonlyMap<string, ContainerFacts>;
  /** The records set aside because their agents no longer keep them up, by unit. */
  readonly unkept: ReadonlyMap<string, readonly UnkeptFacts[]>;
}

/** The announcements that health needs, and how to read them. */
export interface AnnouncementOptions {
  /** The units of the run (the sidekicks among them name the keys). */
  readonly units: readonly UnitFile[];
  /** The values of those of `keys` that exist; rejects when they cannot be read. */
  readonly read: (keys: readonly string[]) => Promise<ReadonlyMap<string, string>>;
  /** How messages name where they are read: `etcd at http://…`. */
  readonly endpoint: string;
  /** What to check when they cannot be read. */
  readonly check: string;
  /**
   * Why they are not read at all (no etcd is known for them: units named without a spec, no `--etcd`): a unit
   * healthy by its state is then unknown, at once, with this reason, never healthy.
   */
  readonly unchecked?: string;
  /**
   * Units whose announcement nothing will make, by name, with the reason (a start by name of a container unit
   * whose discovery sidekick is not on the host): healthy by its state, such a unit fails at once with it.
   */
  readonly missing?: ReadonlyMap<string, string>;
}

export interface HealthOptions {
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
  /** How long a unit that restarts must stay active to count as healthy. */
  readonly stableMs: number;
  /** Between two reads. Default 250 ms. */
  readonly intervalMs?: number;
  /**
   * Facts the agents publish, by unit name (hosts without a restart count need them), less the records their
   * agents no longer keep up.
   */
  readonly facts?: (names: readonly string[]) => Promise<FactsReading>;
  /**
   * Facts to read before the start jobs are sent (hosts without a restart count: fleet), so that restarts
   * before the wait's first read count; the caller reads them and passes `before`.
   */
  readonly factsBefore?: (names: readonly string[]) => Promise<ReadonlyMap<string, ContainerFacts>>;
  /** The facts as they were before the start jobs, by unit; a unit absent had none. Undefined: not read. */
  readonly before?: ReadonlyMap<string, ContainerFacts>;
  /** Units this run starts anew (not found already active): an announcement from before the run never counts for them. */
  readonly fresh?: ReadonlySet<string>;
  /** Announcements health needs; undefined: none is checked (`--no-announcements`, or nothing to read them from). */
  readonly announcements?: AnnouncementOptions;
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

/** The restart count this run starts from, by the facts before the start: undefined when they were not read. */
function baselineOf(before: ReadonlyMap<string, ContainerFacts> | undefined, name: string, now: ContainerFacts | undefined): number | undefined {
  if (!before) return undefined;
  const b = before.get(name);
  if (!b) return 0;
  // The agent counts every start after a unit's first as a restart: this run's first start is one of them,
  // and shows as another container than the one before.
  return b.restarts + (now?.containerId !== undefined && now.containerId !== b.containerId ? 1 : 0);
}

/**
 * Where the host gives no activation time (fleet), a unit is up only as long as its container: fleet calls it
 * active from the moment `docker run` starts, and a container that exits at once under a busy engine would
 * otherwise look stable between two exits. Not running by the facts: not up yet. Running: up since the later
 * of when this wait first saw it active and the container's start (its machine's clock).
 */
function containerUpSince(seen: number | undefined, f: ContainerFacts, now: number): number | undefined {
  if (f.running !== true) return undefined;
  // A start ahead of this clock (the machine runs fast) tells nothing: when this wait first saw it up stands.
  if (f.startedAt === undefined || f.startedAt > now) return seen ?? now;
  return Math.max(seen ?? f.startedAt, f.startedAt);
}

/**
 * The agent's refusal to announce the container its unit runs now, as one phrase, or undefined. A refusal of a
 * container that started before `since` (this run's start, for a unit started anew) is an old container's.
 */
function refusalOf(f: ContainerFacts | undefined, since: number | undefined): string | undefined {
  if (f?.refused === undefined || f.running !== true) return undefined;
  if (since !== undefined && (f.startedAt === undefined || f.startedAt < since)) return undefined;
  return `the agent${f.machine ? ` on ${f.machine}` : ''} refuses to announce its container: ${f.refused}`;
}

/**
 * The record set aside on the machine the host runs the unit on (the host names none: when no record is left),
 * or undefined: the unit's facts there, if any, are kept up.
 */
function unkeptHere(unkept: readonly UnkeptFacts[] | undefined, state: UnitState, f: ContainerFacts | undefined): UnkeptFacts | undefined {
  if (!unkept?.length) return undefined;
  if (state.machines.length) return unkept.find((u) => state.machines.includes(u.machine));
  return f === undefined ? unkept[0] : undefined;
}

/** Waits for every unit's verdict; results (ok, state, error, journal) for every unit, in order. */
export async function waitHealthy(host: UnitHost, names: readonly string[], o: HealthOptions): Promise<UnitResult[]> {
  const began = Date.now();
  const deadline = began + o.timeoutMs;
  // The start jobs ended just before this wait began; a few seconds of slack covers the jobs' own time.
  const runStart = (o.startedAt ?? began) - 1000;
  const tracks = new Map<string, Track>(names.map((n) => [n, { restartsAtStart: undefined, activeSince: undefined, lastExit: undefined }]));
  const verdicts = new Map<string, { verdict: Verdict; state: UnitState; lastExit: number | undefined }>();
  const wants: ReadonlyMap<string, AnnouncementWant> = o.announcements ? announcementWants(o.announcements.units, names) : new Map();
  // Container units an announcement must follow that are not waited on themselves: their state is read too.
  const waited = new Set(names);
  const alsoRead = [...new Set([...wants.values()].flatMap((w) => (w.containerUnit !== undefined && !waited.has(w.containerUnit) ? [w.containerUnit] : [])))];
  // The cluster's agent announces the containers: while a unit waits for its announcement, the agent on its
  // machine is watched, and one that stays down ends the wait for it (agent-watch.ts).
  const agentOf = new Map((o.announcements?.units ?? []).flatMap((u) => {
    const c = clusterOf(u);
    return c === undefined ? [] : [[u.name, agentUnitName(c)] as const];
  }));
  const agents = new AgentWatch(host);
  for (let round = 0; ; round++) {
    const open = names.filter((n) => !verdicts.has(n));
    if (!open.length) break;
    const final = Date.now() >= deadline || o.signal.aborted;
    const read = [...open, ...alsoRead];
    const states = await host.states(read);
    // Facts only where the host keeps no count (fleet; systemd before 235): systemd's own is first-hand.
    const need = read.filter((n) => states.get(n)?.restarts === undefined);
    const reading = o.facts && need.length ? await o.facts(need).catch(() => undefined) : undefined;
    const facts = reading?.facts ?? new Map<string, ContainerFacts>();
    const now = Date.now();
    const healthy: string[] = [];
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
      // The agents' count is kept across runs: from the facts before the start jobs, every restart of this
      // run counts however late this first read is, and none of a run before.
      const fromBefore = state.restarts === undefined ? baselineOf(o.before, n, f) : undefined;
      const activeNow = state.activeState === 'active' && state.subState !== 'auto-restart';
      if (!activeNow) track.activeSince = undefined;
      else track.activeSince ??= state.activeSince ?? now;
      if (activeNow && state.activeSince !== undefined) track.activeSince = state.activeSince;
      if (activeNow && state.activeSince === undefined && f !== undefined) track.activeSince = containerUpSince(track.activeSince, f, now);
      track.lastExit = state.exitStatus ?? f?.lastExit ?? track.lastExit;
      const lastExit = track.lastExit;
      const fromFacts = state.restarts === undefined && f !== undefined;
      const verdict = judgeHealth({ state, restartsAtStart: fromBefore ?? track.restartsAtStart, restarts, lastExit, activeSince: track.activeSince, now, stableMs: o.stableMs, final, fromFacts });
      // The facts of its machine are a dead agent's last word: without them the host's word alone (fleet:
      // active while `docker run` runs) could pass a container that loops or is gone. Never healthy; unknown
      // when the wait ends, unless the agent is back first (a restarted agent takes its leases over).
      const lost = unkeptHere(reading?.unkept.get(n), state, f);
      if (lost && (verdict.kind === 'healthy' || verdict.kind === 'pending') && activeNow) {
        if (final) verdicts.set(n, { state, lastExit, verdict: { kind: 'unknown', why: `active, but the agent on ${lost.machine.slice(0, 8)} last reported its container ${lost.phase} (at ${lost.updatedAt}) and no longer keeps that record up: ${lost.why} (the agent was killed or stopped, is hung, or cannot reach etcd): whether its container runs is unknown` } });
        continue;
      }
      const missing = o.announcements?.missing?.get(n);
      if (verdict.kind === 'healthy' && missing !== undefined) verdicts.set(n, { state, lastExit, verdict: { kind: 'unannounced', why: `active, but never announced: ${missing}` } });
      else if (verdict.kind === 'healthy' && wants.has(n)) healthy.push(n);
      else if (verdict.kind !== 'pending') verdicts.set(n, { verdict, state, lastExit });
    }
    const unchecked = o.announcements?.unchecked;
    if (healthy.length && unchecked !== undefined) {
      // Healthy by its state, and nothing can tell whether it is announced: unknown, said at once.
      for (const n of healthy) verdicts.set(n, { state: states.get(n)!, lastExit: tracks.get(n)!.lastExit, verdict: { kind: 'unknown', why: `active, but its announcement at ${wants.get(n)!.key} was not checked: ${unchecked}` } });
    } else if (healthy.length) {
      // Healthy by its state: it counts once its announcement of the container that runs now is in etcd.
      const ann = o.announcements!;
      const values = await ann.read(healthy.map((n) => wants.get(n)!.key)).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
      // A container its agent refuses to announce (no usable address) is never announced: said at once, with
      // the agent's reason. Read for the units whose facts this round did not read (the host has a count).
      const unread = values instanceof Error || !o.facts ? [] : [...new Set(healthy.filter((n) => !values.has(wants.get(n)!.key)).map((n) => wants.get(n)!.containerUnit ?? n))].filter((u) => !facts.has(u));
      const refusals = unread.length ? (await o.facts!(unread).catch(() => undefined))?.facts ?? new Map<string, ContainerFacts>() : new Map<string, ContainerFacts>();
      const secs = `${Math.round((Date.now() - began) / 1000)}s`;
      const waiting: Array<{ n: string; agent: string; machine: string | undefined; why: string; state: UnitState; lastExit: number | undefined }> = [];
      for (const n of healthy) {
        const w = wants.get(n)!;
        const state = states.get(n)!;
        const lastExit = tracks.get(n)!.lastExit;
        if (values instanceof Error) {
          if (final) verdicts.set(n, { state, lastExit, verdict: { kind: 'unknown', why: `active, but its announcement at ${w.key} could not be read: ${ann.endpoint}: ${values.message}; ${ann.check} (--no-announcements waits without it)` } });
          continue;
        }
        const cu = w.containerUnit ?? n;
        const f = facts.get(cu);
        const cs = states.get(cu);
        // The container's start: the agent's facts (its machine's clock), else systemd's activation of its unit.
        const at = f?.startedAt ?? cs?.activeSince;
        // The machine is the host's word (fleet's schedule), not an agent's: a unit that moved leaves facts behind.
        const machine = cs?.machines.length === 1 ? cs.machines[0] : undefined;
        const fresh = o.fresh?.has(cu) ?? o.fresh?.has(n) ?? true;
        // A global sidekick's key names the host: each machine the container unit runs on announces its own.
        const why = isPerHost(w)
          ? notAnnouncedOnEach(w, values, cs?.machines ?? [], { runStart, fresh }, (m) => (m === undefined || f?.machine === m ? at : undefined))
          : notAnnouncedYet(w, values.get(w.key), { at, machine, runStart, fresh });
        const refused = why === undefined ? undefined : refusalOf(f ?? refusals.get(cu), fresh ? runStart - OTHER_CLOCK_SLACK_MS : undefined);
        if (why === undefined) verdicts.set(n, { state, lastExit, verdict: { kind: 'healthy' } });
        else if (refused !== undefined) verdicts.set(n, { state, lastExit, verdict: { kind: 'unannounced', why: `active, but never announced in etcd at ${w.key}: ${refused}` } });
        else if (final) verdicts.set(n, { state, lastExit, verdict: { kind: 'unannounced', why: `active, but ${why} after ${secs}` } });
        else {
          const agent = agentOf.get(n) ?? agentOf.get(cu);
          if (agent !== undefined) waiting.push({ n, agent, machine, why, state, lastExit });
        }
      }
      if (waiting.length) {
        await agents.read([...new Set(waiting.map((x) => x.agent))], Date.now());
        for (const x of waiting) {
          const down = agents.down(x.agent, x.machine, Date.now());
          if (down !== undefined) {
            verdicts.set(x.n, { state: x.state, lastExit: x.lastExit, verdict: { kind: 'unannounced', why: `active, but ${x.why}, and nothing will announce it: ${down}; the agent announces the cluster's containers: start it (fleetkit start ${x.agent}) and see fleetkit logs ${x.agent}` } });
          }
        }
      }
    }
    // Every verdict in: no last interval's sleep before the loop finds that out.
    if (final || names.every((n) => verdicts.has(n))) break;
    await sleep(Math.min(o.intervalMs ?? 250, Math.max(0, deadline - Date.now())));
  }
  return Promise.all(names.map(async (name): Promise<UnitResult> => {
    const v = verdicts.get(name);
    if (!v) return { name, ok: false, state: 'unknown', error: `${host.endpoint} did not report its state` };
    if (v.verdict.kind === 'healthy') return { name, ok: true, state: 'active' };
    // Active, but not (or not knowably) announced: the unit's journal says nothing of that.
    if (v.verdict.kind === 'unannounced' || v.verdict.kind === 'unknown') return { name, ok: false, state: v.verdict.kind, error: v.verdict.why };
    const journal = await o.journal(host.journalOf(name, v.state.machines[0]));
    return {
      name, ok: false, state: v.verdict.kind === 'crash-loop' ? 'crash-loop' : v.state.activeState, error: v.verdict.why,
      ...(v.state.result && v.state.result !== 'success' ? { result: v.state.result } : {}), journal,
    };
  }));
}
