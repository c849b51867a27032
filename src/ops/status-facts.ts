/**
 * Which container facts `status` may rely on, and when their absence is itself a problem. fleet's API keeps
 * no restart count and no exit status: on fleet they exist only as the facts each machine's agent publishes
 * in etcd (src/etcd/container-facts.ts). A container unit with no facts from its machine cannot be judged:
 * it may be crash-looping or healthy, so status says unknown (and exits non-zero), never healthy. Pure.
 *
 * What is decided here:
 * - Facts are expected of a unit whose container carries the `fleetkit.unit` label (the agent follows
 *   labelled containers only): its unit's ExecStart has the label, or, when the host shows no ExecStart
 *   (systemd's view), the service is in the spec, whose units always carry it. A plain unit (no container,
 *   or a unit rendered before the label) expects none and stays judged on its state alone.
 * - A record the agent wrote before the unit's current start (systemd says when that was) is about an earlier
 *   container, not evidence about this one: it is left out, as if absent. fleet says no start time; there a
 *   record is left out while fleet reports the machine's agent unit not active (killed, or stopped without
 *   revoking its lease, its keys outlive it until the lease expires), else it stands until the lease drops it.
 * - systemd's own NRestarts is a restart count: with it, missing facts are not a problem (the facts only back it up).
 */
import { LABEL_UNIT, type ContainerFactsRecord } from '../etcd/container-facts.js';
import { outdatedContainer, outdatedMessage } from '../load/outdated.js';
import { configHashOfOptions } from '../render/config-hash.js';
import { agentUnitName } from '../unit/names.js';
import { shortId } from './unscheduled-reason.js';
import type { StatusInputs, StatusUnit } from './status-model.js';

/**
 * How long a unit may be active (when its host says since when) before the agent must have published the
 * facts of its current container: docker takes a moment to start it and the agent coalesces writes (250 ms).
 */
export const FACTS_GRACE_MS = 10_000;

/** The facts of one unit on one machine: the usable record, or the one left out and why. */
export interface UnitFacts {
  readonly record: ContainerFactsRecord | undefined;
  readonly stale: ContainerFactsRecord | undefined;
  /** Why `stale` was left out: written before the unit's start, or its agent is not running. */
  readonly staleWhy?: 'before-start' | 'agent-down';
}

/** The facts an agent published for a unit on a machine. */
export type FactsOf = (machine: string, unit: string) => UnitFacts;

/**
 * Indexes the inputs' facts by machine and unit, leaving out records older than the unit's current start and
 * records of a machine whose agent unit (the spec's cluster's) the host reports, not active.
 */
export function factsIndex(inputs: StatusInputs): FactsOf {
  const byKey = new Map((inputs.facts ?? []).map((f) => [`${f.machine}/${f.unit}`, f]));
  const since = new Map(inputs.states.filter((s) => s.activeSince !== undefined).map((s) => [`${s.machineID}/${s.name}`, s.activeSince!]));
  const agent = inputs.spec ? agentUnitName(inputs.spec.name) : undefined;
  const agentDown = new Set(inputs.states.filter((s) => s.name === agent && s.machineID && s.activeState !== 'active').map((s) => s.machineID!));
  return (machine, unit) => {
    const f = byKey.get(`${machine}/${unit}`);
    const start = since.get(`${machine}/${unit}`);
    if (f && start !== undefined && Date.parse(f.updatedAt) < start) return { record: undefined, stale: f, staleWhy: 'before-start' };
    if (f && agentDown.has(machine)) return { record: undefined, stale: f, staleWhy: 'agent-down' };
    return { record: f, stale: undefined };
  };
}

const LABELLED = new RegExp(`--label[= ]${LABEL_UNIT.replace(/\./g, '\\.')}=`);

/** Whether the agent publishes facts for this unit: its container carries the `fleetkit.unit` label. */
export function expectsFacts(u: StatusUnit | undefined, inSpec: boolean): boolean {
  const exec = (u?.options ?? []).filter((o) => o.section === 'Service' && o.name === 'ExecStart');
  return exec.length > 0 ? exec.some((o) => LABELLED.test(o.value)) : inSpec;
}

/**
 * Whether a running unit that expects facts and has none is to be flagged now: not while etcd could not be
 * read (that is said once, as a warning), and not within the grace after a start the host dates.
 */
export function factsOverdue(inputs: StatusInputs, machine: string, unit: string): boolean {
  if (inputs.announcementsError !== undefined) return false;
  const since = inputs.states.find((s) => s.name === unit && s.machineID === machine)?.activeSince;
  return since === undefined || inputs.now.getTime() - since >= FACTS_GRACE_MS;
}

/**
 * The sentence for a unit without usable facts: the machine, what its agent unit is doing there when the host
 * shows it, and what to check.
 */
export function factsUnknownMessage(inputs: StatusInputs, machine: { readonly id: string; readonly ip: string | null }, cluster: string | null, known: UnitFacts | undefined): string {
  const stale = known?.stale;
  const where = `${shortId(machine.id)}${machine.ip ? `/${machine.ip}` : ''}`;
  const agent = cluster ? agentUnitName(cluster) : 'fleetkit-agent';
  const s = cluster ? inputs.states.find((x) => x.name === agent && x.machineID === machine.id) : undefined;
  const seen = !stale
    ? 'published no container facts for it'
    : known?.staleWhy === 'agent-down'
      ? `is not running: its last record (from ${stale.updatedAt}) is no longer kept up`
      : `published nothing since the unit's current start (its last record is from ${stale.updatedAt})`;
  let state = '';
  if (inputs.source === 'fleet' && cluster && inputs.unitsError === undefined) {
    state = !s ? `; ${agent} is not loaded there` : s.activeState !== 'active' ? `; ${agent} is ${s.activeState}/${s.subState ?? '?'} there` : `; ${agent} is active there`;
  }
  return `facts unknown: the agent on ${where} ${seen}, so restarts and exits cannot be seen${state} (check ${agent} on that machine and that it reaches etcd)`;
}

/**
 * What to say of a unit whose container, as its agent reports it running, carries another config hash than
 * the unit as its host holds it: the same sentence as load's (`load/outdated.ts`). Undefined when they agree,
 * or when either hash is unknown (no label on the container, a unit that runs no container).
 */
export function oldConfigMessage(u: StatusUnit | undefined, record: ContainerFactsRecord | undefined): string | undefined {
  if (record?.phase !== 'running' || !record.configHash) return undefined;
  const old = outdatedContainer(configHashOfOptions(u?.options ?? []), [record.configHash]);
  return old && `${outdatedMessage(old)}: it was not restarted since its unit changed (fleetkit load --replace restarts it)`;
}
