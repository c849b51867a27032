/**
 * The unit commands against fleet: read every unit once, decide per unit from fleet's unit hash, send only
 * what changed (create or replace is one PUT carrying options and desired state), in parallel, then wait for
 * all units with one `GET /units` + `GET /state` per poll.
 */
import { RemoteError, isFleetkitError } from '../errors.js';
import type { DesiredState } from '../fleet/desired-state.js';
import type { FleetClient, FleetUnit } from '../fleet/fleet-client.js';
import { instantiate } from '../fleet/instantiate.js';
import { isTemplate, templateOf } from '../unit/names.js';
import { waitForUnits, type WaitTarget } from '../fleet/wait-units.js';
import { fleetHash } from '../unit/hash.js';
import { parseXFleet } from '../unit/xfleet.js';
import type { UnitFile } from '../unit/model.js';
import { mapLimit } from './unit-pool.js';
import { clusterOf } from '../unit/cluster-marker.js';
import { AGENT_UNIT, HOSTS_UNIT } from '../render/plan-fleetkit.js';
import { diffLines, findStale, foreignMessage, foreignOwner, optionLines, planChanges, type DesiredUnit } from './unit-plan.js';
import type { UnitOutcome, UnitChange } from './unit-report.js';
import type { UnitSelection } from './unit-sources.js';
import type { UnitVerb, UnitRunOptions, UnitRunResult } from './unit-run.js';

function isGlobal(unit: Pick<UnitFile, 'name' | 'options'>): boolean {
  return parseXFleet(unit).global;
}


/** The state a verb puts a unit in. */
function targetOf(verb: UnitVerb, start: boolean): DesiredState {
  if (verb === 'stop') return 'loaded';
  if (verb === 'unload') return 'inactive';
  return start ? 'launched' : 'loaded';
}

function message(e: unknown): string {
  return isFleetkitError(e) ? e.message : (e as Error)?.message ?? String(e);
}

/** Runs a unit command against fleet. */
export async function runFleet(client: FleetClient, sel: UnitSelection, verb: UnitVerb, o: UnitRunOptions): Promise<UnitRunResult> {
  const existing = new Map((await client.listUnits()).map((u) => [u.name, u]));
  // Units named by a spec or unit files are only ours when fleet's copy carries our cluster mark (or none);
  // units named on the command line are the user's explicit choice.
  const ownerOf = (d: DesiredUnit): string | undefined => (sel.kind === 'spec' ? sel.cluster : clusterOf(d.unit));
  const foreign = new Map<string, { owner: string; ours: string | undefined }>();
  if (sel.kind !== 'names') {
    for (const d of sel.desired) {
      const have = existing.get(d.unit.name);
      const owner = foreignOwner(have ? clusterOf(have) : undefined, ownerOf(d));
      if (owner !== undefined) foreign.set(d.unit.name, { owner, ours: ownerOf(d) });
    }
  }
  if (verb === 'destroy') return destroy(client, sel, existing, o, foreign);
  if (sel.kind === 'names') return changeState(client, sel.names, verb, existing, o);
  if (verb === 'stop' || verb === 'unload') {
    const names = sel.desired.filter((d) => d.start).map((d) => d.unit.name);
    const result = await changeState(client, names.filter((n) => !foreign.has(n)), verb, existing, o);
    return { ...result, outcomes: [...keptOutcomes(names, foreign, `${verb} left it alone`), ...result.outcomes] };
  }

  // load / start with definitions: plan by fleet's unit hash.
  const desired = sel.desired;
  if (foreign.size) {
    // Nothing is sent when a unit of another cluster has the same name: a silent replace would take it over.
    const outcomes = desired.map((d): UnitOutcome => {
      const f = foreign.get(d.unit.name);
      return f
        ? { name: d.unit.name, change: 'conflict', state: undefined, ok: false, error: foreignMessage(f.owner, f.ours, 'nothing was changed (rename the service, or give the cluster another name)') }
        : { name: d.unit.name, change: 'skipped', state: undefined, ok: true };
    });
    return { outcomes, stale: [] };
  }
  const key = (u: Pick<UnitFile, 'options' | 'name'>): string => fleetHash(u as UnitFile);
  const plan = planChanges(desired.map((d) => ({ name: d.unit.name, key: key(d.unit) })), new Map([...existing].map(([n, u]) => [n, key(u)])), o.replace);
  const conflicts = plan.filter((p) => p.kind === 'conflict');
  if (conflicts.length) {
    // Nothing is sent when a unit differs without --replace: the user sees every difference first.
    const outcomes = plan.map((p, i): UnitOutcome => p.kind === 'conflict'
      ? { name: p.name, change: 'conflict', state: undefined, ok: false, error: 'differs from the unit in fleet; nothing was changed (use --replace to replace it)', diff: diffLines(optionLines(existing.get(p.name)!), optionLines(desired[i]!.unit)) }
      : { name: p.name, change: p.kind === 'unchanged' ? 'unchanged' : 'skipped', state: undefined, ok: true });
    return { outcomes, stale: [] };
  }
  const wantStart = verb === 'start' || o.start;
  const results = await mapLimit(desired, o.parallel, async (d, i): Promise<UnitOutcome> => {
    const kind = plan[i]!.kind;
    const target: DesiredState = isTemplate(d.unit.name) || !d.start ? 'inactive' : targetOf(verb, wantStart);
    const have = existing.get(d.unit.name);
    if (kind === 'create' || kind === 'replace') {
      await client.putUnit(d.unit, target);
      return { name: d.unit.name, change: kind === 'create' ? 'created' : 'replaced', state: target, ok: true };
    }
    if (target !== 'inactive' && have && have.desiredState !== target) await client.setDesiredState(d.unit.name, target);
    return { name: d.unit.name, change: 'unchanged', state: target, ok: true };
  });
  const outcomes = results.map((r, i): UnitOutcome => r.status === 'fulfilled' ? r.value
    : { name: desired[i]!.unit.name, change: 'none', state: undefined, ok: false, error: message(r.reason) });

  let stale: string[] = [];
  const pruned: UnitOutcome[] = [];
  if (sel.kind === 'spec') {
    stale = findStale([...existing.values()].map((u) => ({ name: u.name, cluster: clusterOf(u) })), sel.cluster, new Set(desired.map((d) => d.unit.name)));
    if (o.prune && stale.length) pruned.push(...(await deleteAll(client, stale, existing, o, 'pruned')));
  }
  const waitFor = outcomes.filter((x) => x.ok && (x.state === 'launched' || x.state === 'loaded'))
    .map((x): WaitTarget => {
      const unit = desired.find((d) => d.unit.name === x.name)!.unit;
      return { name: x.name, state: x.state as DesiredState, global: isGlobal(unit), hash: key(unit) };
    });
  return { outcomes: [...(await settle(client, outcomes, waitFor, o)), ...(await settle(client, pruned, absentTargets(pruned), o))], stale };
}

function absentTargets(outcomes: readonly UnitOutcome[]): WaitTarget[] {
  return outcomes.filter((x) => x.ok && x.change !== 'absent').map((x) => ({ name: x.name, state: 'absent', global: false }));
}

/** start/stop/unload of units already in fleet (instances of a template in fleet are created from it). */
async function changeState(client: FleetClient, names: readonly string[], verb: UnitVerb, existing: ReadonlyMap<string, FleetUnit>, o: UnitRunOptions): Promise<UnitRunResult> {
  const target = targetOf(verb, true);
  const results = await mapLimit(names, o.parallel, async (name): Promise<UnitOutcome> => {
    const have = existing.get(name);
    if (have) {
      if (isTemplate(name) && target !== 'inactive') throw new RemoteError('fleet', 'ERR_FLEET_TEMPLATE', `${name} is a template: start its instances (e.g. ${name.replace('@.', '@1.')})`);
      if (have.desiredState !== target) await client.setDesiredState(name, target);
      return { name, change: 'none', state: target, ok: true };
    }
    const t = templateOf(name);
    const tmpl = t ? existing.get(t) : undefined;
    if (verb === 'start' && tmpl) {
      await client.putUnit(instantiate(tmpl, name), target);
      return { name, change: 'created', state: target, ok: true };
    }
    throw new RemoteError('fleet', 'ERR_FLEET_NO_SUCH_UNIT', `fleet has no unit ${name}${t ? ` (nor its template ${t})` : ''}`);
  });
  const outcomes = results.map((r, i): UnitOutcome => r.status === 'fulfilled' ? r.value
    : { name: names[i]!, change: 'none', state: undefined, ok: false, error: message(r.reason) });
  const waitFor = outcomes.filter((x) => x.ok).map((x): WaitTarget => {
    const u = existing.get(x.name) ?? existing.get(templateOf(x.name) ?? '');
    return { name: x.name, state: target, global: u ? isGlobal(u) : false };
  });
  return { outcomes: await settle(client, outcomes, waitFor, o), stale: [] };
}

/** Rows for units of another cluster that a command left alone. */
function keptOutcomes(names: readonly string[], foreign: ReadonlyMap<string, { owner: string; ours: string | undefined }>, action: string): UnitOutcome[] {
  return names.filter((n) => foreign.has(n)).map((n) => {
    const f = foreign.get(n)!;
    return { name: n, change: 'kept', state: undefined, ok: true, error: foreignMessage(f.owner, f.ours, action) };
  });
}

async function destroy(client: FleetClient, sel: UnitSelection, existing: ReadonlyMap<string, FleetUnit>, o: UnitRunOptions, foreign: ReadonlyMap<string, { owner: string; ours: string | undefined }>): Promise<UnitRunResult> {
  let names: string[];
  const kept = sel.kind === 'names' ? [] : keptOutcomes(sel.desired.map((d) => d.unit.name), foreign, 'destroy left it alone');
  if (sel.kind === 'names') names = [...sel.names];
  else names = sel.desired.map((d: DesiredUnit) => d.unit.name).filter((n) => !foreign.has(n));
  if (sel.kind === 'spec') {
    // Destroying a cluster takes its units that left the spec too.
    const wanted = new Set(names);
    for (const u of existing.values()) if (clusterOf(u) === sel.cluster && !wanted.has(u.name)) names.push(u.name);
  }
  // fleetkit's own units go last: while the containers' units are unloaded, their sidekicks withdraw through
  // the agent and watch-hosts writes the removals. Destroyed in the same batch, fleet may stop those two first
  // and leave keys and hosts lines behind.
  const own = new Set([AGENT_UNIT, HOSTS_UNIT]);
  const phases = [names.filter((n) => !own.has(n)), names.filter((n) => own.has(n))].filter((p) => p.length > 0);
  const outcomes: UnitOutcome[] = [...kept];
  for (const phase of phases) {
    const deleted = await deleteAll(client, phase, existing, o, 'destroyed');
    outcomes.push(...(await settle(client, deleted, absentTargets(deleted), o)));
  }
  return { outcomes, stale: [] };
}

async function deleteAll(client: FleetClient, names: readonly string[], existing: ReadonlyMap<string, FleetUnit>, o: UnitRunOptions, change: UnitChange): Promise<UnitOutcome[]> {
  const results = await mapLimit(names, o.parallel, async (name): Promise<UnitOutcome> => {
    // A unit fleet does not have costs no request.
    const gone = existing.has(name) ? await client.deleteUnit(name) : false;
    return { name, change: gone ? change : 'absent', state: gone ? 'destroyed' : 'absent', ok: true };
  });
  return results.map((r, i): UnitOutcome => r.status === 'fulfilled' ? r.value : { name: names[i]!, change: 'none', state: undefined, ok: false, error: message(r.reason) });
}

/** Waits (unless --no-wait) and merges the final states into the outcomes. */
async function settle(client: FleetClient, outcomes: UnitOutcome[], targets: WaitTarget[], o: UnitRunOptions): Promise<UnitOutcome[]> {
  if (!o.wait || targets.length === 0) return outcomes;
  const progress = o.progress(targets.length, targets[0]!.state === 'absent' ? 'gone' : 'settled');
  const waited = await waitForUnits(client, targets, {
    timeoutMs: o.timeoutMs,
    signal: o.signal,
    onSettled: (r) => progress.settled(r.name, r.state, r.ok, r.reason),
  });
  progress.finish();
  const byName = new Map(waited.map((w) => [w.name, w]));
  return outcomes.map((x) => {
    const w = byName.get(x.name);
    if (!w) return x;
    return { ...x, state: w.state, ok: x.ok && w.ok, machines: w.machines, ...(w.reason ? { error: w.reason } : {}) };
  });
}
