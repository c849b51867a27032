/**
 * The UnitHost of a fleet cluster: fleet's HTTP API through FleetClient. Definitions are fleet units
 * compared by fleet's unit hash (an instance is a unit of its own, carrying its template's options, as
 * fleetctl submits it); a create or replace is one PUT carrying options and target state; waiting is one
 * `GET /units` + `GET /state` per poll for all units together (`fleet/wait-units.ts`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { RemoteError, isFleetkitError } from '../errors.js';
import { RUNNING_STATES } from '../unit/active-state.js';
import type { FleetClient, FleetUnit, FleetUnitState } from '../fleet/fleet-client.js';
import { instantiate } from '../fleet/instantiate.js';
import { waitForUnits, type WaitResult, type WaitTarget } from '../fleet/wait-units.js';
import type { DesiredUnit } from '../load/desired-unit.js';
import { optionLines } from '../load/plan.js';
import type { PlacementMachine, PlacementUnit } from '../load/placement.js';
import { mapLimit } from '../load/pool.js';
import { clusterOf } from '../unit/cluster-marker.js';
import { fleetHash } from '../unit/hash.js';
import type { UnitFile } from '../unit/model.js';
import { isTemplate, templateOf } from '../unit/names.js';
import { parseXFleet } from '../unit/xfleet.js';
import { hasMetadata } from '../load/placement.js';
import type { BatchOptions, DefinitionRef, HostDefinition, HostView, JournalRef, SubmitItem, TargetItem, TargetState, UnitChange, UnitHost, UnitResult, UnitState } from './unit-host.js';

function message(e: unknown): string {
  return isFleetkitError(e) ? e.message : (e as Error)?.message ?? String(e);
}

const isGlobal = (unit: Pick<UnitFile, 'name' | 'options'>): boolean => parseXFleet(unit).global;
const asTarget = (s: string): TargetState | undefined => (s === 'inactive' || s === 'loaded' || s === 'launched' ? s : undefined);

export class FleetUnitHost implements UnitHost {
  readonly endpoint: string;
  /** What fleet holds, as last listed or as this host has since changed it. */
  private known = new Map<string, FleetUnit>();
  /** The hash of each unit this run submitted: after a replace, only machine states of the new hash count. */
  private readonly submitted = new Map<string, string>();

  constructor(private readonly client: FleetClient, endpointText: string) {
    this.endpoint = `fleet at ${endpointText}`;
  }

  definitionOf(d: DesiredUnit): DefinitionRef {
    return { id: d.unit.name, key: fleetHash(d.unit), lines: optionLines(d.unit) };
  }

  async definitions(): Promise<Map<string, HostDefinition>> {
    this.known = new Map((await this.client.listUnits()).map((u) => [u.name, u]));
    const out = new Map<string, HostDefinition>();
    for (const u of this.known.values()) {
      out.set(u.name, { id: u.name, key: fleetHash(u as unknown as UnitFile), cluster: clusterOf(u), target: asTarget(u.desiredState), lines: optionLines(u), differs: 'differs from the unit in fleet' });
    }
    return out;
  }

  async units(names: readonly string[]): Promise<Map<string, UnitFile>> {
    const wanted = new Set(names);
    const out = new Map<string, UnitFile>();
    // fleet stores an instance as a unit of its own, with its template's options.
    for (const u of await this.client.listUnits()) if (wanted.has(u.name)) out.set(u.name, { name: u.name, options: u.options.map((o) => ({ ...o })) });
    return out;
  }

  async submit(items: readonly SubmitItem[], o: BatchOptions): Promise<UnitResult[]> {
    const results = await mapLimit(items, o.parallel, async ({ desired: d, target }) => {
      await this.client.putUnit(d.unit, target);
      this.known.set(d.unit.name, { name: d.unit.name, options: d.unit.options, desiredState: target, currentState: undefined, machineID: undefined });
      this.submitted.set(d.unit.name, fleetHash(d.unit));
    });
    return results.map((r, i): UnitResult => (r.status === 'fulfilled'
      ? { name: items[i]!.desired.unit.name, ok: true, state: items[i]!.target }
      : { name: items[i]!.desired.unit.name, ok: false, state: undefined, error: message(r.reason) }));
  }

  async setTargets(items: readonly TargetItem[], o: BatchOptions): Promise<UnitResult[]> {
    // What machines report before the request: a state from before it is never its outcome (wait-units.ts).
    const launching = o.wait && items.some((i) => i.target === 'launched');
    const [before, machines] = launching ? await Promise.all([this.client.listStates(), this.client.listMachines()]) : [[], []];
    const results = await mapLimit(items, o.parallel, async ({ name, target }) => {
      const have = this.known.get(name);
      if (have) {
        if (isTemplate(name) && target !== 'inactive') throw new RemoteError('fleet', 'ERR_FLEET_TEMPLATE', `${name} is a template: start its instances (e.g. ${name.replace('@.', '@1.')})`);
        if (have.desiredState !== target) await this.client.setDesiredState(name, target);
        this.known.set(name, { ...have, desiredState: target });
        return;
      }
      // fleet's API never creates an instance from its template: submit it under its own name, as fleetctl does.
      const t = templateOf(name);
      const tmpl = t ? this.known.get(t) : undefined;
      if (target === 'launched' && tmpl) {
        const unit = instantiate(tmpl as unknown as UnitFile, name);
        await this.client.putUnit(unit, target);
        this.known.set(name, { name, options: unit.options, desiredState: target, currentState: undefined, machineID: undefined });
        return;
      }
      throw new RemoteError('fleet', 'ERR_FLEET_NO_SUCH_UNIT', `fleet has no unit ${name}${t ? ` (nor its template ${t})` : ''}`);
    });
    const out = results.map((r, i): UnitResult => (r.status === 'fulfilled'
      ? { name: items[i]!.name, ok: true, state: items[i]!.target }
      : { name: items[i]!.name, ok: false, state: undefined, error: message(r.reason) }));
    const waitFor = out.filter((r) => r.ok).map((r, _i, _a): WaitTarget => {
      const target = items.find((x) => x.name === r.name)!.target;
      const u = this.known.get(r.name);
      const hash = this.submitted.get(r.name);
      const global = u ? isGlobal(u) : false;
      // A state of the definition this run submitted is this run's (a submit with target launched starts the
      // unit at once, and a fast agent reports it failed before this read): only older ones are set aside.
      const old = new Map(before.filter((s) => s.name === r.name && !(hash !== undefined && s.hash === hash)).map((s) => [s.machineID ?? '', `${s.systemdActiveState ?? '?'}/${s.systemdSubState ?? '?'}`]));
      // A global unit must be active on every machine that matches it, not only on those that have reported.
      const meta = u && global ? parseXFleet(u as unknown as UnitFile).machineMetadata : undefined;
      return {
        name: r.name, state: target, global, ...(hash ? { hash } : {}), ...(target === 'launched' ? { before: old } : {}),
        ...(meta && target === 'launched' ? { machines: machines.filter((m) => hasMetadata(m, meta)).map((m) => m.id) } : {}),
      };
    });
    return this.merge(out, await this.wait(waitFor, o));
  }

  async remove(ids: readonly string[], o: BatchOptions): Promise<UnitResult[]> {
    const results = await mapLimit(ids, o.parallel, async (name) => {
      // A unit fleet does not have costs no request.
      const gone = this.known.has(name) ? await this.client.deleteUnit(name) : false;
      this.known.delete(name);
      return gone;
    });
    const out = results.map((r, i): UnitResult => (r.status === 'fulfilled'
      ? { name: ids[i]!, ok: true, state: r.value ? 'destroyed' : 'absent', removed: r.value }
      : { name: ids[i]!, ok: false, state: undefined, error: message(r.reason) }));
    return this.merge(out, await this.wait(out.filter((r) => r.ok && r.removed).map((r) => ({ name: r.name, state: 'absent', global: false })), o));
  }

  private async wait(targets: readonly WaitTarget[], o: BatchOptions): Promise<WaitResult[]> {
    if (!o.wait || !targets.length) return [];
    return waitForUnits(this.client, targets, { timeoutMs: o.timeoutMs, signal: o.signal, onSettled: (r) => o.onSettled?.({ name: r.name, ok: r.ok, state: r.state, ...(r.reason ? { error: r.reason } : {}) }) });
  }

  private merge(out: readonly UnitResult[], waited: readonly WaitResult[]): UnitResult[] {
    const byName = new Map(waited.map((w) => [w.name, w]));
    return out.map((x) => {
      const w = byName.get(x.name);
      return w ? { ...x, state: w.state, ok: x.ok && w.ok, machines: w.machines, ...(w.reason ? { error: w.reason } : {}) } : x;
    });
  }

  async states(names: readonly string[]): Promise<Map<string, UnitState>> {
    const [units, states] = await Promise.all([this.client.listUnits(), this.client.listStates()]);
    const byUnit = new Map(units.map((u) => [u.name, u]));
    const byName = new Map<string, FleetUnitState[]>();
    for (const s of states) byName.set(s.name, [...(byName.get(s.name) ?? []), s]);
    const out = new Map<string, UnitState>();
    for (const name of names) {
      const u = byUnit.get(name);
      const hash = this.submitted.get(name);
      const rows = (byName.get(name) ?? []).filter((s) => !hash || s.hash === undefined || s.hash === hash);
      // Several machines (a global unit): failed if any failed, active only when all are.
      const pick = rows.find((s) => s.systemdActiveState === 'failed') ?? rows.find((s) => s.systemdActiveState !== 'active') ?? rows[0];
      out.set(name, {
        name,
        loadState: u ? pick?.systemdLoadState : 'not-found',
        activeState: pick?.systemdActiveState ?? (u ? 'unknown' : 'inactive'),
        subState: pick?.systemdSubState,
        machines: rows.map((s) => s.machineID ?? '').filter(Boolean),
        restarts: undefined,
        activeSince: undefined,
        result: undefined,
        exitStatus: undefined,
        restartPolicy: u?.options.filter((x) => x.section === 'Service' && x.name === 'Restart').pop()?.value,
        // Every machine's row, not only those of the new hash: a machine still on the old one may run it.
        runningOn: (byName.get(name) ?? []).filter((s) => RUNNING_STATES.has(s.systemdActiveState ?? '')).map((s) => s.machineID ?? ''),
      });
    }
    return out;
  }

  async view(_names: readonly string[]): Promise<HostView> {
    const [units, states, machines] = await Promise.all([this.client.listUnits(), this.client.listStates(), this.client.listMachines()]);
    return {
      units: units.map((u) => ({ name: u.name, target: asTarget(u.desiredState), current: u.currentState, machine: u.machineID, options: u.options })),
      states: states.map((s): UnitState => ({
        name: s.name, loadState: s.systemdLoadState, activeState: s.systemdActiveState ?? 'unknown', subState: s.systemdSubState,
        machines: s.machineID ? [s.machineID] : [],
        // fleet's API keeps no history: restarts and exits come from the agents' container facts.
        restarts: undefined, activeSince: undefined, result: undefined, exitStatus: undefined, restartPolicy: undefined,
      })),
      machines: machines.map((m) => ({ id: m.id, ip: m.primaryIP, metadata: m.metadata })),
    };
  }

  async watch(names: readonly string[], onChange: (c: UnitChange) => void, signal: AbortSignal): Promise<void> {
    const last = new Map<string, string>();
    while (!signal.aborted) {
      const list = names.length ? names : (await this.client.listUnits()).map((u) => u.name);
      for (const [name, s] of await this.states(list)) {
        const k = `${s.activeState}/${s.subState}/${s.machines.join(',')}`;
        if (last.get(name) !== k) {
          last.set(name, k);
          onChange({ name, state: s });
        }
      }
      await sleep(1000, undefined, { signal }).catch(() => undefined);
    }
  }

  async placement(): Promise<{ machines: PlacementMachine[]; units: PlacementUnit[] }> {
    const machines = await this.client.listMachines();
    return { machines, units: [...this.known.values()].map((u) => ({ name: u.name, options: u.options, desiredState: u.desiredState, machineID: u.machineID })) };
  }

  journalOf(name: string, machine?: string): JournalRef {
    return { unit: name, user: false, dir: undefined, machine };
  }

  close(): void {
    this.client.close();
  }
}
