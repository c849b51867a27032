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
 *   container, not evidence about this one: it is left out, as if absent.
 * - A record its agent no longer keeps up is left out too, by the one rule stop's and load's waits apply
 *   (read-facts.ts factsKeeper): its lease is not renewed, as etcd's own clock shows (a killed agent, one
 *   stopped without revoking, a hung one or one cut off from etcd, whatever the host says of its unit), or the
 *   host reports the machine's agent unit not active (fleet shows it; at once, before the lease says so). Its
 *   keys would otherwise stand, saying what the agent saw last, until the lease expires.
 * - With the units unknown (only etcd could be read), such a record is still worth a flag: it is the one
 *   thing etcd says of that container, and it says that the agent there is gone.
 * - systemd's own NRestarts is a restart count: with it, missing facts are not a problem (the facts only back it up).
 */
import { LABEL_UNIT, type ContainerFactsRecord } from '../etcd/container-facts.js';
import { outdatedContainer, outdatedMessage } from '../load/outdated.js';
import { configHashOfOptions } from '../render/config-hash.js';
import { agentUnitName } from '../unit/names.js';
import { factsKeeper, type FactsKeeper } from '../etcd/read-facts.js';
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
  /** Why `stale` was left out: written before the unit's start, or its agent no longer keeps it up. */
  readonly staleWhy?: 'before-start' | 'not-kept';
  /** With `not-kept`: the agent's word (read-facts.ts factsKeeper). */
  readonly keeper?: FactsKeeper;
}

/** The facts an agent published for a unit on a machine. */
export type FactsOf = (machine: string, unit: string) => UnitFacts;

/**
 * Indexes the inputs' facts by machine and unit, leaving out records older than the unit's current start and
 * records their agents no longer keep up (the lease not renewed, or the host reporting the machine's agent
 * unit, the spec's cluster's, not active).
 */
export function factsIndex(inputs: StatusInputs): FactsOf {
  const byKey = new Map((inputs.facts ?? []).map((f) => [`${f.machine}/${f.unit}`, f]));
  const since = new Map(inputs.states.filter((s) => s.activeSince !== undefined).map((s) => [`${s.machineID}/${s.name}`, s.activeSince!]));
  const agent = inputs.spec ? agentUnitName(inputs.spec.name) : undefined;
  const agentOn = new Map(inputs.states.filter((s) => s.name === agent && s.machineID).map((s) => [s.machineID!, s]));
  return (machine, unit) => {
    const key = `${machine}/${unit}`;
    const f = byKey.get(key);
    const start = since.get(key);
    if (f && start !== undefined && Date.parse(f.updatedAt) < start) return { record: undefined, stale: f, staleWhy: 'before-start' };
    const a = agentOn.get(machine);
    const keeper = f && factsKeeper({ lease: inputs.factsLeases?.get(key), agent: a && { unit: a.name, activeState: a.activeState, subState: a.subState } });
    if (f && keeper && !keeper.kept) return { record: undefined, stale: f, staleWhy: 'not-kept', keeper };
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
    : known?.staleWhy === 'not-kept'
      ? known.keeper?.agentDown
        ? `is not running: its last record (from ${stale.updatedAt}) is no longer kept up`
        : `no longer keeps its last record (${stale.phase}, from ${stale.updatedAt}) up: ${known.keeper?.why ?? '?'}`
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

/**
 * With the units unknown (only etcd could be read): the sentence for each record of `unit` (on `machine`, when
 * known) that its agent no longer keeps up. What it said is the agent's last word, and the agent is gone.
 */
export function unkeptFactsMessages(inputs: StatusInputs, factsOf: FactsOf, unit: string, machine: string | undefined, cluster: string | null): string[] {
  const agent = cluster ? agentUnitName(cluster) : 'fleetkit-agent';
  return (inputs.facts ?? []).filter((f) => f.unit === unit && (machine === undefined || f.machine === machine)).flatMap((f) => {
    const known = factsOf(f.machine, f.unit);
    if (known.staleWhy !== 'not-kept') return [];
    return [`facts unknown: the agent on ${shortId(f.machine)} last reported its container ${f.phase} (at ${f.updatedAt}) and no longer keeps that record up: ${known.keeper?.why ?? '?'}, so whether it runs is unknown (check ${agent} on that machine and that it reaches etcd)`];
  });
}
