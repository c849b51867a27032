/**
 * Runs a plan on a UnitHost: submits, prunes, moves target states, removes (fleetkit's own units last), then
 * waits for health (`wait-healthy.ts`) and reports one outcome per unit. The host is an interface: nothing
 * here knows whether it is fleet or systemd.
 */
import { isFleetkitError } from '../errors.js';
import { RUNNING_STATES } from '../unit/active-state.js';
import { isHostUnit, isTemplate, templateOf } from '../unit/names.js';
import type { BatchOptions, TargetItem, UnitHost, UnitResult, UnitState } from '../unithost/unit-host.js';
import type { DesiredUnit } from './desired-unit.js';
import type { UnitChange, UnitOutcome } from './outcome.js';
import { foreignMessage, type Step, type Verb } from './plan.js';
import { outdatedMessage } from './outdated.js';
import { placementRefusal } from './placement-check.js';
import { roll, splitRolling } from './rolling.js';
import type { ReplaceEvidence } from './rolling-facts.js';
import { waitContainersDown, type StopFacts } from './stop-facts.js';
import { waitHealthy, type HealthOptions } from './wait-healthy.js';
import { failureExits, type FailureExit } from './failure-facts.js';

/** A progress display: one call per unit as it settles. */
export interface ProgressSink {
  settled(name: string, state: string, ok: boolean, error?: string): void;
  finish(): void;
}

export interface ExecuteOptions {
  readonly verb: Verb;
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly parallel: number;
  readonly signal: AbortSignal;
  /** The desired units, in the order rows are shown (load/start/stop/unload of a spec or files). */
  readonly desired: ReadonlyArray<{ readonly desired: DesiredUnit; readonly id: string }> | undefined;
  readonly health: Omit<HealthOptions, 'timeoutMs' | 'signal'>;
  /** Running units whose definition is replaced change this many at a time (`rolling.ts`); 0 or absent: all at once. */
  readonly maxUnavailable?: number;
  /** The agents' container facts, for a rolling replace to see each new container run. */
  readonly evidence?: ReplaceEvidence;
  /** The agents' container facts, for a stop to wait until each container is really down (`stop-facts.ts`). */
  readonly stopFacts?: StopFacts;
  /** A progress display for `total` units. */
  progress(total: number, label: string): ProgressSink;
}

/** What a run returns: a row per unit, and the definitions of the cluster no longer in the spec. */
export interface ExecuteResult {
  readonly outcomes: readonly UnitOutcome[];
  readonly stale: readonly string[];
}

function message(e: unknown): string {
  return isFleetkitError(e) ? e.message : (e as Error)?.message ?? String(e);
}

const CHANGE: Record<string, UnitChange> = { create: 'created', replace: 'replaced' };

/** Runs `steps` on `host`. */
export async function execute(host: UnitHost, steps: readonly Step[], o: ExecuteOptions): Promise<ExecuteResult> {
  const batch = (label: string, total: number): BatchOptions & { done(): void } => {
    const progress = o.wait && total > 0 ? o.progress(total, label) : undefined;
    return {
      wait: o.wait, timeoutMs: o.timeoutMs, parallel: o.parallel, signal: o.signal,
      onSettled: (r) => progress?.settled(r.name, r.state ?? '', r.ok, r.error),
      done: () => progress?.finish(),
    };
  };
  const stale = steps.flatMap((s) => (s.kind === 'stale' ? [s.id] : []));
  const foreign = steps.flatMap((s) => (s.kind === 'foreign' ? [s] : []));
  if (foreign.length && (o.verb === 'load' || o.verb === 'start')) {
    const byName = new Map(foreign.map((f) => [f.name, f]));
    const rows = (o.desired ?? []).map(({ desired: d }): UnitOutcome => {
      const f = byName.get(d.unit.name);
      return f
        ? { name: d.unit.name, change: 'conflict', state: undefined, ok: false, error: foreignMessage(f.owner, f.ours, 'nothing was changed (rename the service, or give the cluster another name)') }
        : { name: d.unit.name, change: 'skipped', state: undefined, ok: true };
    });
    return { outcomes: rows, stale };
  }
  const kept = foreign.map((f): UnitOutcome => ({ name: f.name, change: 'kept', state: undefined, ok: true, error: foreignMessage(f.owner, f.ours, `${o.verb} left it alone`) }));
  const conflicts = new Map(steps.flatMap((s) => (s.kind === 'conflict' ? [[s.id, s] as const] : [])));
  const outdated = new Map(steps.flatMap((s) => (s.kind === 'outdated' ? [[s.name, s] as const] : [])));
  if (conflicts.size || outdated.size) {
    const rows = (o.desired ?? []).map(({ desired: d, id }): UnitOutcome => {
      const c = conflicts.get(id);
      const old = outdated.get(d.unit.name);
      if (c) return { name: d.unit.name, change: 'conflict', state: undefined, ok: false, error: `${c.differs}; nothing was changed (use --replace to replace it)`, diff: c.diff };
      if (old) return { name: d.unit.name, change: 'conflict', state: undefined, ok: false, error: `${outdatedMessage(old.container)}: it was not restarted since its unit changed; nothing was changed (use --replace to restart it)` };
      return { name: d.unit.name, change: steps.some((st) => st.kind === 'unchanged' && st.id === id) ? 'unchanged' : 'skipped', state: undefined, ok: true };
    });
    return { outcomes: rows, stale };
  }

  // A unit no machine can take is refused before anything is sent, instead of being waited on until the timeout.
  const unplaceable = o.wait && (o.verb === 'load' || o.verb === 'start') ? await placementRefusal(host, steps, o.desired) : undefined;
  if (unplaceable) return { outcomes: unplaceable, stale };
  if (o.maxUnavailable && o.desired) {
    const { rest, groups } = splitRolling(steps, o.desired);
    if (groups.length) {
      // Everything else first (new units, shared files), then the running units one batch at a time.
      const first = await execute(host, rest, { ...o, maxUnavailable: 0 });
      const progress = o.progress(groups.reduce((n, g) => n + g.members.length, 0), 'replaced');
      const rolled = new Map((await roll(host, groups, { ...o, maxUnavailable: o.maxUnavailable, ...(o.evidence ? { evidence: o.evidence } : {}), onSettled: (r) => progress.settled(r.name, r.state ?? '', r.ok, r.error) })).map((r) => [r.name, r]));
      progress.finish();
      return { outcomes: first.outcomes.map((r) => rolled.get(r.name) ?? r), stale: first.stale };
    }
  }

  // 1. Definitions. Units whose definition stays are moved first, without waiting: they were named before the
  // new ones and must not lose a free machine to them (fleet schedules in the order requests arrive).
  const submits = steps.flatMap((s) => (s.kind === 'submit' ? [s] : []));
  const targets: TargetItem[] = steps.flatMap((s) => (s.kind === 'target' ? [{ name: s.name, target: s.target, restart: s.restart }] : []));
  const defOf = new Map((o.desired ?? []).map((x) => [x.desired.unit.name, x.id]));
  const submitted = new Set(submits.map((s) => s.id));
  // Units whose definition stays: what they were before says whether this run moved them ("started",
  // "stopped") or found them where they should be ("unchanged").
  const staying = targets.filter((t) => !submitted.has(defOf.get(t.name) ?? t.name));
  const before = staying.length ? await host.states(staying.map((t) => t.name), { history: false }).catch(() => new Map<string, UnitState>()) : new Map<string, UnitState>();
  const moved = new Map(staying.flatMap((t): Array<[string, UnitChange]> => {
    const was = before.get(t.name)?.activeState;
    if (was === undefined) return [];
    if (t.target === 'launched') return [[t.name, was === 'active' ? 'unchanged' : 'started']];
    if (t.target === 'loaded') return [[t.name, RUNNING_STATES.has(was) ? 'stopped' : 'unchanged']];
    return [];
  }));
  const early = submits.length ? targets.filter((t) => !submitted.has(defOf.get(t.name) ?? '')) : [];
  if (early.length) await host.setTargets(early, { ...batch('', 0), wait: false });
  const change = new Map<string, UnitChange>(steps.flatMap((s) => (s.kind === 'unchanged' ? [[s.id, 'unchanged' as UnitChange] as const] : [])));
  const failedDefs = new Map<string, string>();
  if (submits.length) {
    for (const r of await host.submit(submits.map((s) => ({ desired: s.desired, target: s.target })), { ...batch('', 0), wait: false })) {
      if (!r.ok) failedDefs.set(r.name, r.error ?? 'could not be submitted');
    }
    for (const s of submits) change.set(s.id, CHANGE[s.change]!);
  }

  // 2. Prunes (units of the cluster that left the spec), then destroys by phase.
  const extra: UnitOutcome[] = [];
  const removes = steps.flatMap((s) => (s.kind === 'remove' ? [s] : []));
  const removeStarted = Date.now();
  for (const phase of [...new Set(removes.map((r) => r.phase))].sort()) {
    const group = removes.filter((r) => r.phase === phase);
    // The units whose containers go with these definitions (an instance's definition on systemd is its
    // template's file), and whether each was up: read before they go.
    const downs = o.wait && o.stopFacts ? unitsOfDefinitions(group.map((r) => r.id), o.desired).filter((n) => o.stopFacts!.runsContainer(n)) : [];
    const was = downs.length ? await host.states(downs, { history: false }).catch(() => new Map<string, UnitState>()) : new Map<string, UnitState>();
    const b = batch('gone', group.length);
    const results = await host.remove(group.map((r) => r.id), b);
    b.done();
    const rows = results.map((r, i): UnitOutcome => {
      const why = group[i]!.why;
      const gone: UnitChange = r.removed ? (why === 'prune' ? 'pruned' : 'destroyed') : 'absent';
      return { name: r.name, change: r.ok ? gone : 'none', state: r.state, ok: r.ok, ...(r.error ? { error: r.error } : {}) };
    });
    // The host says a unit is gone while its container may run on for its stop timeout: the agents' facts say
    // when it is down, before the next phase takes the agent itself away.
    const removed = new Set(results.filter((r) => r.ok && r.removed).map((r) => r.name));
    const waited = downs.filter((n) => removed.has(n) || removed.has(templateOf(n) ?? ''));
    if (waited.length) {
      const left = Math.max(0, o.timeoutMs - (Date.now() - removeStarted));
      const units = waited.map((n) => ({ name: n, wasUp: wasUp(was.get(n)?.activeState) }));
      for (const r of await waitContainersDown(host, units, o.stopFacts!, { timeoutMs: left, signal: o.signal })) {
        const i = rows.findIndex((x) => x.name === r.name);
        const down: UnitOutcome = { name: r.name, change: i >= 0 ? rows[i]!.change : 'destroyed', state: r.state, ok: false, ...(r.error ? { error: r.error } : {}) };
        if (i >= 0) rows[i] = down;
        else rows.push(down);
      }
    }
    extra.push(...rows);
  }

  // 3. Target states, then health.
  const runnable = targets.filter((t) => !failedDefs.has(defOf.get(t.name) ?? ''));
  const byName = new Map<string, UnitResult>();
  if (runnable.length) {
    const label = runnable[0]!.target === 'launched' ? 'started' : 'stopped';
    const launching = runnable.filter((t) => t.target === 'launched').map((t) => t.name);
    // The agents' facts before the start jobs (a host that keeps no restart count): every restart of this run
    // counts, however late the wait's first read comes.
    const factsBefore = o.wait && launching.length && o.health.factsBefore ? await o.health.factsBefore(launching).catch(() => undefined) : undefined;
    const startedAt = Date.now();
    // fleet says a unit stopped (or unloaded) before its container has: a container unit is down once its agent
    // says so. A unit found down before the request was not taken down by it.
    const waitDown = async (items: readonly TargetItem[]): Promise<void> => {
      const stopping = items.filter((t) => t.target !== 'launched' && byName.get(t.name)?.ok).map((t) => ({ name: t.name, wasUp: moved.has(t.name) ? moved.get(t.name) !== 'unchanged' : wasUp(before.get(t.name)?.activeState) }));
      if (!o.wait || !o.stopFacts || !stopping.length) return;
      const left = Math.max(0, o.timeoutMs - (Date.now() - startedAt));
      for (const r of await waitContainersDown(host, stopping, o.stopFacts, { timeoutMs: left, signal: o.signal })) byName.set(r.name, { ...byName.get(r.name)!, ...r });
    };
    // An unload takes the cluster's agent and hosts watcher down last, once the agents have seen the other
    // units' containers down (the agent is what reports them; the sidekicks withdraw through it).
    const last = runnable.filter((t) => t.target === 'inactive' && isHostUnit(t.name));
    const first = runnable.filter((t) => !last.includes(t));
    const b = batch(label, runnable.length);
    const results = await host.setTargets(first, b);
    for (const r of results) byName.set(r.name, r);
    if (last.length) {
      await waitDown(first);
      results.push(...await host.setTargets(last, b));
      for (const r of results) byName.set(r.name, r);
    }
    b.done();
    // A unit that failed at once is reported with its journal lines, as a crash loop is below; where the host
    // gives no exit status (fleet), with the one its agent saw.
    const failedAtOnce = results.filter((r) => !r.ok && r.state !== undefined);
    const failedNames = failedAtOnce.filter((r) => r.state === 'failed').map((r) => r.name);
    const exits = o.wait && factsBefore && o.health.facts && failedNames.length
      ? await failureExits(failedNames, o.health.facts, factsBefore, o.signal)
      : new Map<string, FailureExit>();
    await Promise.all(failedAtOnce.map(async (r) => {
      const exit = exits.get(r.name);
      const error = exit ? `${r.error ?? 'failed'}; its container exited with status ${exit.status}${exit.machine ? ` (the agent on ${exit.machine.slice(0, 8)})` : ''}` : r.error;
      byName.set(r.name, { ...r, ...(error !== undefined ? { error } : {}), journal: await o.health.journal(host.journalOf(r.name, r.machines?.[0])) });
    }));
    const started = runnable.filter((t) => t.target === 'launched' && byName.get(t.name)?.ok).map((t) => t.name);
    if (o.wait && started.length) {
      // A unit found active is not started anew: its announcement may be older than this run and still count.
      const fresh = new Set(started.filter((n) => moved.get(n) !== 'unchanged'));
      for (const r of await waitHealthy(host, started, { ...o.health, startedAt, ...(factsBefore ? { before: factsBefore } : {}), fresh, timeoutMs: o.timeoutMs, signal: o.signal })) byName.set(r.name, { ...byName.get(r.name)!, ...r });
    }
    if (!last.length) await waitDown(first);
  }

  const row = (name: string, id: string | undefined): UnitOutcome => {
    const failed = id === undefined ? undefined : failedDefs.get(id);
    const defChange: UnitChange = id === undefined ? 'none' : change.get(id) ?? 'none';
    const ch: UnitChange = (defChange === 'unchanged' || defChange === 'none') && moved.has(name) ? moved.get(name)! : defChange;
    if (failed) return { name, change: 'none', state: undefined, ok: false, error: failed };
    const r = byName.get(name);
    if (!r) return { name, change: ch, state: undefined, ok: true };
    return {
      name, change: ch, state: r.state, ok: r.ok,
      ...(r.machines?.length ? { machines: r.machines } : {}),
      ...(r.error ? { error: r.error } : {}),
      ...(r.result ? { result: r.result } : {}),
      ...(r.journal?.length ? { journal: r.journal } : {}),
    };
  };
  if (o.verb === 'destroy') return { outcomes: [...kept, ...extra], stale };
  const rows = o.desired && (o.verb === 'load' || o.verb === 'start') ? o.desired.map((x) => row(x.desired.unit.name, x.id)) : targets.map((t) => row(t.name, undefined));
  return { outcomes: [...kept, ...rows, ...extra], stale };
}

/** Whether a unit in `state` before a request was up: running, or not said (a unit fleet has not reported yet). */
function wasUp(state: string | undefined): boolean {
  return state === undefined || state === 'unknown' || RUNNING_STATES.has(state);
}

/**
 * The units whose containers go with removed definitions: each removed unit, and the desired instances whose
 * definition is a removed template's file (systemd). A template named alone on the command line has no
 * instances known here: fleet lists its instances as units of their own (named with it), systemd does not.
 */
function unitsOfDefinitions(ids: readonly string[], desired: ExecuteOptions['desired']): string[] {
  const gone = new Set(ids);
  const out = new Set(ids.filter((id) => !isTemplate(id)));
  for (const x of desired ?? []) if (gone.has(x.id) && !isTemplate(x.desired.unit.name)) out.add(x.desired.unit.name);
  return [...out];
}

export { message as errorMessage };
