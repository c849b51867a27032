/**
 * The rolling replace of `load --replace`: units whose definition changed and that run are changed a few at a
 * time (`--max-unavailable`, default 1). Each one is stopped and waited on until it is down, then its new
 * definition is started and waited on until healthy, before the next one; at the first failure the roll
 * stops and the rest keep running their old version.
 *
 * Why stop first: fleet's agent, told to replace a running unit whose sidekick is bound to it, queues the
 * stop behind the sidekick's and lets the start of the new version replace that waiting stop, so the old
 * process runs on under the new hash. A unit that is already down has nothing to keep, so its start is the
 * new version. A changed unit and its followers (`MachineOf=`, the sidekick) go down and up together.
 *
 * `splitRolling` is pure (steps in, steps out); `roll` runs the groups on a UnitHost.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mayRun, type BatchOptions, type UnitHost, type UnitResult } from '../unithost/unit-host.js';
import { configHashOfUnit } from '../render/config-hash.js';
import { valuesOf } from '../unit/model.js';
import { isTemplate } from '../unit/names.js';
import { expandFleetSpecifiers, parseXFleet } from '../unit/xfleet.js';
import type { DesiredUnit } from './desired-unit.js';
import type { UnitOutcome } from './outcome.js';
import type { Step } from './plan.js';
import { announcedAgain, confirmNew, healthySnapshot, stillHealthy } from './rolling-checks.js';
import { announcementKeyOf, type ReplaceEvidence } from './rolling-facts.js';
import { factsOfRecords, keptFactsOf } from './facts-source.js';
import { KeptRecords } from './kept-records.js';
import { waitHealthy, type ContainerFacts, type HealthOptions } from './wait-healthy.js';

type Submit = Extract<Step, { kind: 'submit' }>;

/** Units that go down and up together: a unit and its followers, with the definitions only they use. */
export interface RollGroup {
  readonly main: string;
  readonly members: readonly string[];
  /** Definitions submitted while the group is down (fleet: one per unit). */
  readonly defs: readonly Submit[];
  /** The members whose definition changed, or whose container is older than it (the others are followers restarted with them). */
  readonly changed: ReadonlySet<string>;
  /** Of `changed`, those whose definition stays: only their container is old (`outdated.ts`). */
  readonly restarted: ReadonlySet<string>;
  /** The new configuration hash of each member that runs a container. */
  readonly hashes: ReadonlyMap<string, string>;
  /** The announcement key of each member that announces (a sidekick). */
  readonly keys: ReadonlyMap<string, string>;
  /** The members that run on every machine that matches them (`Global=`): each machine must run the new container. */
  readonly global: ReadonlySet<string>;
}

/** The steps left for the ordinary run, and the groups to roll (definitions they share go first). */
export interface RollingSplit {
  readonly rest: readonly Step[];
  readonly groups: readonly RollGroup[];
}

/**
 * Takes the running units whose definition is replaced (target steps with `restart`) out of `steps` and
 * groups each with its followers. A global unit is a group of its own, with the global units bound to it
 * (its sidekick: `BindsTo=`, fleet has no `MachineOf=` for a unit on every machine). fleet keeps no target
 * state per machine, so such a group goes down on every machine at once, and comes back on each before the
 * next group; replaced by a PUT while it runs, fleet's agent would keep the old process on every machine. A
 * definition several groups share (systemd: the template's file) stays in `rest` and is written first;
 * systemd does not restart what runs when its file changes.
 */
export function splitRolling(steps: readonly Step[], desired: ReadonlyArray<{ readonly desired: DesiredUnit; readonly id: string }>): RollingSplit {
  const byName = new Map(desired.map((d) => [d.desired.unit.name, d]));
  const rolled = new Set(steps.flatMap((s) => (s.kind === 'target' && s.target === 'launched' && s.restart && !isTemplate(s.name) ? [s.name] : [])));
  if (!rolled.size) return { rest: steps, groups: [] };
  const started = new Set(steps.flatMap((s) => (s.kind === 'target' && s.target === 'launched' ? [s.name] : [])));
  const outdated = new Set(steps.flatMap((s) => (s.kind === 'target' && s.outdated ? [s.name] : [])));
  // A follower's group is that of the unit it follows, when that one is started by this run too: the unit
  // of its MachineOf=, or for a global unit, the global unit it is bound to (BindsTo=, as systemd reads it).
  const leader = (name: string): string => {
    const d = byName.get(name)?.desired;
    if (!d) return name;
    const x = parseXFleet(d.unit);
    const of = x.global ? boundTo(d).find((b) => started.has(b) && globalUnit(byName.get(b)?.desired)) : x.machineOf.find((m) => started.has(m));
    return of ?? name;
  };
  // A unit whose follower alone changed stays up. A changed unit takes its followers down with it, changed
  // or not: fleet's agent starts again every launched unit systemd reports inactive, and the start of a
  // sidekick (BindsTo=) would pull its unit back up from the old file before the new one is sent.
  const groups = new Map<string, Set<string>>();
  for (const name of rolled) {
    const main = leader(name);
    if (!groups.has(main)) groups.set(main, new Set());
    groups.get(main)!.add(name);
  }
  for (const name of started) {
    const main = leader(name);
    if (main !== name && groups.get(main)?.has(main)) groups.get(main)!.add(name);
  }
  const members = new Set([...groups.values()].flatMap((g) => [...g]));
  const users = new Map<string, number>();
  for (const name of members) {
    const id = byName.get(name)?.id ?? name;
    users.set(id, (users.get(id) ?? 0) + 1);
  }
  const own = (s: Submit): boolean => users.get(s.id) === 1 && members.has(s.desired.unit.name);
  const rest = steps.filter((s) => !(s.kind === 'submit' && own(s)) && !(s.kind === 'target' && members.has(s.name)));
  const out: RollGroup[] = [...groups].map(([main, set]) => {
    const list = [...set].sort((a, b) => (a === main ? -1 : b === main ? 1 : compareNames(a, b)));
    const hashes = new Map(list.flatMap((n) => {
      const d = byName.get(n)?.desired;
      const h = d ? configHashOfUnit(d.text, d.file) : undefined;
      return h ? [[n, h] as const] : [];
    }));
    const keys = new Map(list.flatMap((n) => {
      const d = byName.get(n)?.desired;
      const k = d ? announcementKeyOf(d.unit) : undefined;
      return k ? [[n, k] as const] : [];
    }));
    return { main, members: list, defs: steps.filter((s): s is Submit => s.kind === 'submit' && own(s) && set.has(s.desired.unit.name)), changed: new Set(list.filter((n) => rolled.has(n))), restarted: new Set(list.filter((n) => outdated.has(n))), hashes, keys, global: new Set(list.filter((n) => globalUnit(byName.get(n)?.desired))) };
  });
  return { rest, groups: out.sort((a, b) => compareNames(a.main, b.main)) };
}

function globalUnit(d: DesiredUnit | undefined): boolean {
  return d ? parseXFleet(d.unit).global : false;
}

/** The units `d` is bound to (`BindsTo=`, with the name specifiers systemd and fleet both expand there). */
function boundTo(d: DesiredUnit): string[] {
  return valuesOf(d.unit, 'Unit', 'BindsTo').flatMap((v) => v.split(/\s+/)).filter(Boolean).map((n) => expandFleetSpecifiers(n, d.unit.name));
}

/** `web@2` before `web@10`. */
function compareNames(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export interface RollOptions {
  readonly maxUnavailable: number;
  readonly timeoutMs: number;
  readonly parallel: number;
  readonly signal: AbortSignal;
  readonly health: Omit<HealthOptions, 'timeoutMs' | 'signal' | 'startedAt'>;
  /** Called once per unit as it settles (progress). */
  readonly onSettled?: (r: UnitResult) => void;
  /**
   * The agents' container facts: with them, a unit counts as replaced only once its new container runs
   * (`rolling-facts.ts`). Without them (unit files: no etcd is known), healthy is all that is checked.
   */
  readonly evidence?: ReplaceEvidence;
}

/**
 * Waits until the host reports none of `names` running (a global unit: on no machine); the names still
 * running when time is up.
 */
async function waitDown(host: UnitHost, names: readonly string[], deadline: number, signal: AbortSignal): Promise<string[]> {
  for (;;) {
    const states = await host.states(names, { history: false });
    const up = names.filter((n) => mayRun(states.get(n) ?? { activeState: 'unknown' }));
    if (!up.length || Date.now() >= deadline || signal.aborted) return up;
    await sleep(Math.min(250, Math.max(0, deadline - Date.now())));
  }
}

/**
 * Rolls `groups` on `host`, `maxUnavailable` groups at a time: stop and wait until down, submit the new
 * definitions, start and wait until healthy. One row per member of every group; after a failure, the groups
 * not yet touched are rows with change `held` (still running their old version).
 */
export async function roll(host: UnitHost, groups: readonly RollGroup[], o: RollOptions): Promise<UnitOutcome[]> {
  const rows = new Map<string, UnitOutcome>();
  const batchOf = (wait: boolean): BatchOptions => ({ wait, timeoutMs: o.timeoutMs, parallel: o.parallel, signal: o.signal });
  let failedAt: string | undefined;
  for (let i = 0; i < groups.length && failedAt === undefined; i += o.maxUnavailable) {
    const batch = groups.slice(i, i + o.maxUnavailable);
    const names = batch.flatMap((g) => g.members);
    // A unit whose definition stayed was restarted (its container was old), not replaced.
    const changeOf = (name: string): UnitOutcome['change'] => (batch.some((g) => g.restarted.has(name)) ? 'restarted' : batch.some((g) => g.changed.has(name)) ? 'replaced' : 'unchanged');
    const fail = (name: string, state: string | undefined, error: string, extra: Partial<UnitOutcome> = {}): void => {
      rows.set(name, { name, change: changeOf(name) === 'restarted' ? 'restarted' : 'replaced', state, ok: false, error, ...extra });
      failedAt ??= name;
    };
    const deadline = Date.now() + o.timeoutMs;
    const hashes = new Map(batch.flatMap((g) => [...g.hashes]));
    // The containers that run now: the new one must be another.
    // What the agents report before the stop: the containers that run now (the new one must be another) and
    // the announcements that exist. Only what an agent reported before is asked for again after: a cluster
    // whose agents publish no facts, or an etcd that does not answer within a few seconds, leaves healthy as
    // the only test, as without --etcd.
    const before = new Map<string, Set<string>>();
    const keys = new Map<string, string>();
    let revision: bigint | undefined;
    if (o.evidence) {
      const ev = o.evidence;
      const wanted = new Map(batch.flatMap((g) => [...g.keys]));
      const [facts, seen, rev] = await Promise.all([
        bounded(ev.facts([...hashes.keys()]), new Map<string, never[]>()),
        bounded(ev.announced([...wanted.values()]), new Map<string, bigint>()),
        bounded(ev.revision(), undefined),
      ]);
      for (const n of hashes.keys()) {
        const ids = (facts.get(n) ?? []).flatMap((r) => (r.containerId ? [r.containerId] : []));
        if (ids.length) before.set(n, new Set(ids));
      }
      for (const [n, k] of wanted) if (seen.has(k) && rev !== undefined) keys.set(n, k);
      revision = rev;
    }
    const stopped = await host.setTargets(names.map((name) => ({ name, target: 'loaded' as const, restart: false })), batchOf(true));
    for (const r of stopped) if (!r.ok) fail(r.name, r.state, `could not be stopped for its replacement: ${r.error ?? r.state}; it may still run the old version`);
    if (failedAt === undefined) {
      const up = await waitDown(host, names, deadline, o.signal);
      for (const n of up) fail(n, 'active', 'still running after its stop: the old version was not replaced');
    }
    if (failedAt !== undefined) {
      // Nothing new was sent: the units of this batch that did stop are started again on their old version.
      const back = names.filter((n) => !rows.has(n));
      for (const r of back.length ? await host.setTargets(back.map((name) => ({ name, target: 'launched' as const, restart: false })), batchOf(true)) : []) {
        rows.set(r.name, r.ok
          ? { name: r.name, change: 'held', state: r.state, ok: true, error: `started again on its old version: ${failedAt} could not be stopped` }
          : { name: r.name, change: 'none', state: r.state, ok: false, error: `stopped for its replacement and not started again: ${r.error ?? r.state}` });
      }
      break;
    }
    const defs = batch.flatMap((g) => g.defs);
    if (defs.length) {
      for (const r of await host.submit(defs.map((d) => ({ desired: d.desired, target: 'launched' as const })), batchOf(false))) {
        if (!r.ok) fail(r.name, undefined, `its new definition was not stored: ${r.error ?? 'refused'}; it is stopped`);
      }
      if (failedAt !== undefined) break;
    }
    const startedAt = Date.now();
    // The units first, then their followers: a sidekick started before its unit's new file is in place is
    // refused by systemd (BindsTo= a unit it cannot find).
    const mains = new Set(batch.map((g) => g.main));
    const started: UnitResult[] = [];
    for (const wave of [names.filter((n) => mains.has(n)), names.filter((n) => !mains.has(n))]) {
      if (wave.length) started.push(...(await host.setTargets(wave.map((name) => ({ name, target: 'launched' as const, restart: false })), batchOf(true))));
    }
    const ok = started.filter((r) => r.ok).map((r) => r.name);
    for (const r of started) if (!r.ok) fail(r.name, r.state, r.error ?? 'did not start');
    // fleet keeps no restart count: the agents' facts tell a crash loop from a unit that stays up.
    const facts = o.evidence ? restartFacts(o.evidence) : o.health.facts;
    const healthy = ok.length ? await waitHealthy(host, ok, { ...o.health, ...(facts ? { facts } : {}), startedAt, timeoutMs: Math.max(1000, deadline - Date.now()), signal: o.signal }) : [];
    // The machines each unit was started on (fleet: a global unit's every machine), for its row.
    const on = new Map(started.map((r) => [r.name, r.machines] as const));
    for (const r of healthy) {
      const machines = r.machines?.length ? r.machines : on.get(r.name);
      if (r.ok) rows.set(r.name, { name: r.name, change: changeOf(r.name), state: r.state, ok: true, ...(machines?.length ? { machines } : {}) });
      else fail(r.name, r.state, r.error ?? 'not healthy', { ...(r.result ? { result: r.result } : {}), ...(r.journal?.length ? { journal: r.journal } : {}) });
    }
    if (o.evidence) {
      // A global unit's machines: those its start waited on (fleet: every machine that matches it).
      const machines = new Map(started.flatMap((r) => (batch.some((g) => g.global.has(r.name)) && r.machines?.length ? [[r.name, r.machines] as const] : [])));
      for (const [n, why] of await confirmNew(o.evidence, healthy.filter((r) => r.ok && before.has(r.name)).map((r) => r.name), hashes, before, startedAt, deadline, o.signal, machines)) {
        fail(n, 'unconfirmed', `not replaced: ${why}`);
      }
    }
    // Judged once more after the announcement wait, from what the host says then: a new version whose container
    // dies at once looks healthy when `docker run` itself takes longer than --stable (a busy machine), and the
    // restarts since show it; its missing announcement is only a consequence.
    const judged = [...hashes.keys()].filter((n) => rows.get(n)?.ok);
    const snapshot = await healthySnapshot(host, judged, o.evidence);
    // Healthy includes announced: the next instance goes down only once this one is found again.
    const announcing = [...keys].filter(([n]) => rows.get(n)?.ok);
    const unannounced = o.evidence && announcing.length ? await announcedAgain(o.evidence, announcing, revision, deadline, o.signal) : [];
    for (const [n, why] of await stillHealthy(host, judged, snapshot, o.evidence, { ...o.health, ...(facts ? { facts } : {}), startedAt, signal: o.signal })) fail(n, 'crash-loop', why);
    for (const [n, key] of unannounced) fail(n, 'unannounced', `not announced again at ${key} after its restart`);
    for (const n of names) o.onSettled?.({ name: n, ok: rows.get(n)?.ok ?? false, state: rows.get(n)?.state });
  }
  for (const g of groups) {
    for (const name of g.members) {
      if (rows.has(name)) continue;
      rows.set(name, { name, change: 'held', state: undefined, ok: true, error: `left on its old version: the rolling replace stopped when ${failedAt} failed` });
    }
  }
  return groups.flatMap((g) => g.members.map((n) => rows.get(n)!));
}

/** `p`, or `fallback` when it fails or takes longer than 5 s (an etcd that does not answer). */
async function bounded<T, F>(p: Promise<T>, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<F>((resolve) => (timer = setTimeout(() => resolve(fallback), 5000)));
  try {
    return await Promise.race([p.catch(() => fallback), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The agents' facts as the health wait reads them (facts-source.ts), from the replace's evidence. */
function restartFacts(evidence: ReplaceEvidence): NonNullable<HealthOptions['facts']> {
  const keepers = new KeptRecords((rs) => evidence.keepers(rs));
  return async (names) => keptFactsOf(await evidence.facts(names), keepers);
}
