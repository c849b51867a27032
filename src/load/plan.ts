/**
 * The pure half of `load`/`start`/`stop`/`unload`/`destroy`: what the user asked for, compared with the
 * definitions a UnitHost already holds, gives the steps to take: `plan(input) → steps`. No I/O and no host
 * here: `execute.ts` runs the steps on a UnitHost, and `--dry-run` prints them.
 */
import { lineEdits } from '../render/unified-diff.js';
import type { UnitFile } from '../unit/model.js';
import { clusterOf } from '../unit/cluster-marker.js';
import { isHostUnit, isTemplate } from '../unit/names.js';
import type { DefinitionRef, HostDefinition, TargetState } from '../unithost/unit-host.js';
import type { DesiredUnit } from './desired-unit.js';
import { configHashOfUnit } from '../render/config-hash.js';
import { outdatedContainer, outdatedMessage, type OutdatedContainer } from './outdated.js';

/** What happens to one unit. `conflict` = it differs and `--replace` was not given. */
export type ChangeKind = 'create' | 'replace' | 'unchanged' | 'conflict';

/** One decided change. `key` is the fleet hash or the file text, whatever decides "changed". */
export interface PlannedChange {
  readonly name: string;
  readonly kind: ChangeKind;
}

/**
 * Decides per unit: absent → create; same key → unchanged (costs no write); different → replace with
 * `replace`, else conflict.
 */
export function planChanges(
  desired: ReadonlyArray<{ readonly name: string; readonly key: string }>,
  existing: ReadonlyMap<string, string>,
  replace: boolean,
): PlannedChange[] {
  return desired.map(({ name, key }) => {
    const have = existing.get(name);
    if (have === undefined) return { name, kind: 'create' };
    if (have === key) return { name, kind: 'unchanged' };
    return { name, kind: replace ? 'replace' : 'conflict' };
  });
}

/** Units marked for `cluster` that the current render no longer has: reported, and destroyed with --prune. */
export function findStale(existing: ReadonlyArray<{ readonly name: string; readonly cluster: string | undefined }>, cluster: string, wanted: ReadonlySet<string>): string[] {
  return existing.filter((e) => e.cluster === cluster && !wanted.has(e.name)).map((e) => e.name).sort();
}

/**
 * Why a unit on the host is not ours to change: it carries another cluster's mark (or a mark, when ours is a
 * plain unit file without one). Two clusters may both have a service `web`; the second never silently
 * replaces, stops or destroys the first one's unit. undefined when it is ours (or nobody's).
 */
export function foreignOwner(onHost: string | undefined, ours: string | undefined): string | undefined {
  return onHost !== undefined && onHost !== ours ? onHost : undefined;
}

/** The sentence shown for a unit that belongs to another cluster. */
export function foreignMessage(owner: string, ours: string | undefined, action: string): string {
  return `belongs to cluster "${owner}" (its [X-Fleetkit] Cluster= mark)${ours ? `, not to "${ours}"` : ''}; ${action}`;
}

/** Options as lines `[Section] Name=Value`, the form differences are shown in. */
export function optionLines(unit: Pick<UnitFile, 'options'>): string[] {
  return unit.options.map((o) => `[${o.section}] ${o.name}=${o.value}`);
}

/** A line diff (`- old`, `+ new`, unchanged lines left out), from the same edit script as `gen-units --check`. */
export function diffLines(before: readonly string[], after: readonly string[]): string[] {
  return lineEdits(before, after).filter((e) => e.kind !== ' ').map((e) => `${e.kind} ${e.line}`);
}

/** The five verbs (fleetctl's names). */
export type Verb = 'load' | 'start' | 'stop' | 'unload' | 'destroy';

/** One step. Steps run in order: conflicts stop everything; submits, prunes, targets; removes by phase. */
export type Step =
  | { readonly kind: 'conflict'; readonly id: string; readonly differs: string; readonly diff: readonly string[] }
  /** A running container older than its unchanged definition (`outdated.ts`), without --replace: nothing is sent. */
  | { readonly kind: 'outdated'; readonly name: string; readonly id: string; readonly container: OutdatedContainer }
  /** A unit of another cluster with the same name: load refuses everything, stop and destroy leave it alone. */
  | { readonly kind: 'foreign'; readonly id: string; readonly name: string; readonly owner: string; readonly ours: string | undefined }
  | { readonly kind: 'unchanged'; readonly id: string }
  | { readonly kind: 'submit'; readonly id: string; readonly change: 'create' | 'replace'; readonly desired: DesiredUnit; readonly target: TargetState }
  | { readonly kind: 'stale'; readonly id: string }
  | { readonly kind: 'remove'; readonly id: string; readonly why: 'destroy' | 'prune'; readonly phase: number }
  /** `restart`: run it anew (its definition was replaced, or `outdated`: its container is older than it). */
  | { readonly kind: 'target'; readonly name: string; readonly target: TargetState; readonly restart: boolean; readonly outdated?: OutdatedContainer };

/** What a plan is made from. */
export interface PlanInput {
  readonly verb: Verb;
  /** load: start what it loads (false with --no-start). */
  readonly start: boolean;
  readonly replace: boolean;
  readonly prune: boolean;
  /** The cluster of a spec (its units are recognisable by their marker); undefined for files and names. */
  readonly cluster: string | undefined;
  /** Units from a spec or files, each with how the host stores it; undefined when names were given. */
  readonly desired: ReadonlyArray<{ readonly desired: DesiredUnit; readonly def: DefinitionRef }> | undefined;
  /** Unit names given on the command line. */
  readonly names: readonly string[];
  /** What the host holds. */
  readonly current: ReadonlyMap<string, HostDefinition>;
  /** Definitions removed after all others (fleetkit's own agent and hosts units: see `execute.ts`). */
  readonly removeLast: ReadonlySet<string>;
  /**
   * The config hashes of the containers the agents report running, by unit (`facts-source.ts`); a unit absent,
   * or no map, is not judged (no facts is no evidence of an old container).
   */
  readonly running?: ReadonlyMap<string, readonly string[]>;
}

/** The target state a verb puts a started unit in. */
export function targetOf(verb: Verb, start: boolean): TargetState {
  if (verb === 'stop') return 'loaded';
  if (verb === 'unload' || verb === 'destroy') return 'inactive';
  return start || verb === 'start' ? 'launched' : 'loaded';
}

/** The steps for one command. Pure. */
export function plan(input: PlanInput): Step[] {
  const { verb, current } = input;
  // Units named by a spec or unit files are only ours when the host's copy carries our cluster mark (or none);
  // units named on the command line are the user's explicit choice.
  const foreign: Step[] = [];
  const desired = input.desired?.filter((x) => {
    const ours = input.cluster ?? clusterOf(x.desired.unit);
    const owner = foreignOwner(current.get(x.def.id)?.cluster, ours);
    if (owner !== undefined) foreign.push({ kind: 'foreign', id: x.def.id, name: x.desired.unit.name, owner, ours });
    return owner === undefined;
  });
  if (verb === 'destroy') return [...foreign, ...planDestroy({ ...input, desired })];
  if (!desired) return input.names.map((name) => ({ kind: 'target', name, target: targetOf(verb, true), restart: false }));
  const starting = desired.filter((x) => x.desired.start && !isTemplate(x.desired.unit.name));
  if (verb === 'stop' || verb === 'unload') {
    // A stop takes containers and sidekicks down and leaves the cluster's agent and hosts watcher running (the
    // sidekicks withdraw through the agent); host units stop only when named on the command line.
    const stopping = verb === 'stop' ? starting.filter((x) => !isHostUnit(x.desired.unit.name)) : starting;
    return [...foreign, ...stopping.map((x): Step => ({ kind: 'target', name: x.desired.unit.name, target: targetOf(verb, true), restart: false }))];
  }
  // Nothing is sent when a unit of another cluster has the same name: a replace would take it over.
  if (foreign.length) return foreign;
  const start = verb === 'start' || input.start;
  // One step per definition: the instances of a template share the template's file on systemd.
  const byId = new Map<string, { readonly desired: DesiredUnit; readonly def: DefinitionRef }>();
  for (const x of desired) if (!byId.has(x.def.id)) byId.set(x.def.id, x);
  const changes = new Map(planChanges([...byId.values()].map((x) => ({ name: x.def.id, key: x.def.key })), new Map([...current].map(([id, d]) => [id, d.key])), input.replace).map((c) => [c.name, c.kind]));
  // A unit whose definition stays but whose container runs an older config differs as much as a definition
  // does: the same process runs whatever the host holds now.
  const outdated = new Map<string, OutdatedContainer>();
  for (const x of start && input.running ? starting : []) {
    if (changes.get(x.def.id) !== 'unchanged') continue;
    const o = outdatedContainer(configHashOfUnit(x.desired.text, x.desired.file), input.running!.get(x.desired.unit.name));
    if (o) outdated.set(x.desired.unit.name, o);
  }
  const steps: Step[] = [];
  if ([...changes.values()].includes('conflict') || (outdated.size && !input.replace)) {
    // Nothing is sent when a definition differs without --replace: the user sees every difference first.
    for (const [id, x] of byId) {
      const kind = changes.get(id);
      if (kind === 'conflict') steps.push({ kind: 'conflict', id, differs: current.get(id)!.differs, diff: diffLines(current.get(id)!.lines, x.def.lines) });
      else if (kind === 'unchanged') steps.push({ kind: 'unchanged', id });
    }
    if (!input.replace) for (const x of starting) if (outdated.has(x.desired.unit.name)) steps.push({ kind: 'outdated', name: x.desired.unit.name, id: x.def.id, container: outdated.get(x.desired.unit.name)! });
    return steps;
  }
  for (const [id, x] of byId) {
    const kind = changes.get(id)!;
    if (kind === 'unchanged') steps.push({ kind: 'unchanged', id });
    else steps.push({ kind: 'submit', id, change: kind === 'create' ? 'create' : 'replace', desired: x.desired, target: isTemplate(x.desired.unit.name) || !x.desired.start ? 'inactive' : targetOf(verb, start) });
  }
  if (input.cluster !== undefined) {
    const stale = findStale([...current.values()].map((d) => ({ name: d.id, cluster: d.cluster })), input.cluster, new Set(byId.keys()));
    for (const id of stale) steps.push(input.prune ? { kind: 'remove', id, why: 'prune', phase: 0 } : { kind: 'stale', id });
  }
  const want = targetOf(verb, start);
  for (const x of starting) {
    const name = x.desired.unit.name;
    const kind = changes.get(x.def.id);
    // Without a start, only a target the host holds and that differs is moved; a new unit was submitted with it.
    if (!start && (kind !== 'unchanged' || current.get(name)?.target === undefined || current.get(name)?.target === want)) continue;
    const o = outdated.get(name);
    steps.push({ kind: 'target', name, target: want, restart: kind === 'replace' || o !== undefined, ...(o ? { outdated: o } : {}) });
  }
  return steps;
}

function planDestroy(input: PlanInput): Step[] {
  let ids: string[];
  if (!input.desired) ids = [...input.names];
  else {
    ids = [...new Set(input.desired.map((x) => x.def.id))];
    // Destroying a cluster takes its units that left the spec too.
    if (input.cluster !== undefined) {
      const wanted = new Set([...ids, ...(input.desired ?? []).map((x) => x.def.id)]);
      for (const d of input.current.values()) if (d.cluster === input.cluster && !wanted.has(d.id)) ids.push(d.id);
    }
  }
  return ids.map((id) => ({ kind: 'remove', id, why: 'destroy', phase: input.removeLast.has(id) ? 1 : 0 }));
}

/** The plan as lines for `--dry-run`: one step per line, in the order they would run. */
export function describePlan(steps: readonly Step[]): string[] {
  return steps.map((s) => {
    switch (s.kind) {
      case 'foreign': return `foreign  ${s.name} (${foreignMessage(s.owner, s.ours, 'left alone')})`;
      case 'conflict': return `differs  ${s.id} (nothing would be changed without --replace)\n${s.diff.map((d) => `    ${d}`).join('\n')}`;
      case 'outdated': return `differs  ${s.name} (${outdatedMessage(s.container)}; nothing would be changed without --replace)`;
      case 'unchanged': return `keep     ${s.id}`;
      case 'submit': return `${s.change === 'create' ? 'create ' : 'replace'}  ${s.id}`;
      case 'stale': return `stale    ${s.id} (no longer in the spec; --prune removes it)`;
      case 'remove': return `${s.why === 'prune' ? 'prune  ' : 'destroy'}  ${s.id}`;
      case 'target': return `${s.target === 'launched' ? (s.restart ? 'restart' : 'start  ') : s.target === 'loaded' ? 'stop   ' : 'unload '}  ${s.name}${s.outdated ? ` (${outdatedMessage(s.outdated)})` : ''}`;
    }
  });
}
