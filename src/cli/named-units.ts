/**
 * What `start UNIT…` and `stop UNIT…` read of units named without a spec, from the host that holds them
 * (the pure reading of their text is `src/load/named-units.ts`):
 *
 * - the discovery sidekicks a named container unit wants (`Wants=web-discovery@%i.service`), which go with
 *   it as units of their own. On systemd the `Wants=` alone pulls the sidekick in; fleet's agent runs only
 *   what fleet holds `launched` (a sidekick fleet holds `inactive` is on no machine, and one held `loaded`
 *   is left so by the agent however systemd started it), so the sidekick is moved with its container unit,
 *   as `gen-units | xargs fleetctl start` starts both, and the summary counts it in its own row;
 * - for start, a wanted sidekick the host does not hold at all (neither the instance nor its template: the
 *   user submitted only `web@.service`): the container can never be announced, and the wait says so at once
 *   (`wait-healthy.ts`), naming the sidekick and what to do, instead of waiting out `--timeout`;
 * - for start, the etcd its announcements are read from.
 */
import { instantiate } from '../fleet/instantiate.js';
import type { EtcdOptions } from '../etcd/connect.js';
import { agentArgsOf, sidekicksWanted } from '../load/named-units.js';
import { announcementKeyOf } from '../load/rolling-facts.js';
import type { AnnouncementOptions } from '../load/wait-healthy.js';
import { clusterOf } from '../unit/cluster-marker.js';
import type { UnitFile } from '../unit/model.js';
import { agentUnitName, templateOf } from '../unit/names.js';
import type { UnitHost } from '../unithost/unit-host.js';
import { etcdFlagsOf, etcdOptionsFrom, type EtcdFlagValues } from './etcd-flags.js';

/** The named units, with the sidekicks that go with them. */
export interface NamedUnits {
  /** What the command acts on: the names given, then the sidekicks they want that the host holds (not named themselves). */
  readonly names: readonly string[];
  /** The units of `names` as the host holds them (an instance it has only the template of: that template's options). */
  readonly units: readonly UnitFile[];
  /** start: a named container unit → why nothing will announce it (its sidekick is not on the host at all). */
  readonly missing: ReadonlyMap<string, string>;
}

/**
 * The units `names`, as the host holds them or, for an instance it lacks, as its template gives it (fleet
 * creates such an instance from its template at a start, as fleetctl does; systemd's adapter reads the
 * template's file already). `viaTemplate`: the names the host holds only the template of.
 */
async function heldUnits(host: UnitHost, names: readonly string[]): Promise<{ units: Map<string, UnitFile>; viaTemplate: Set<string> }> {
  const units = await host.units(names);
  const lacking = names.filter((n) => !units.has(n));
  const templates = [...new Set(lacking.map(templateOf).filter((x): x is string => x !== undefined && !names.includes(x)))];
  const byTemplate = templates.length ? await host.units(templates) : new Map<string, UnitFile>();
  const viaTemplate = new Set<string>();
  for (const n of lacking) {
    const tmpl = byTemplate.get(templateOf(n) ?? '');
    if (!tmpl) continue;
    units.set(n, instantiate(tmpl, n));
    viaTemplate.add(n);
  }
  return { units, viaTemplate };
}

/**
 * Reads the named units and the discovery sidekicks they want. A start takes every sidekick the host holds
 * (the instance, or its template to create it from); a stop only the instances the host holds (fleet has
 * nothing to stop of an instance it holds only the template of, and one it holds `inactive` stays so).
 * `systemd`: how the hint for a missing sidekick is worded.
 */
export async function readNamedUnits(host: UnitHost, names: readonly string[], verb: 'start' | 'stop', systemd: boolean): Promise<NamedUnits> {
  const own = await heldUnits(host, names);
  const given = new Set(names);
  const wanted = new Map<string, string>();
  for (const n of names) {
    const u = own.units.get(n);
    for (const s of u ? sidekicksWanted(u) : []) if (!given.has(s) && !wanted.has(s)) wanted.set(s, n);
  }
  const side = wanted.size ? await heldUnits(host, [...wanted.keys()]) : { units: new Map<string, UnitFile>(), viaTemplate: new Set<string>() };
  // A stop never raises a target: a sidekick fleet holds only submitted (`inactive`) stays so.
  const idle = verb === 'stop' && side.units.size ? await host.definitions([...side.units.keys()]) : undefined;
  const taken = [...wanted.keys()].filter((s) => side.units.has(s) && (verb === 'start' || (!side.viaTemplate.has(s) && idle?.get(s)?.target !== 'inactive')));
  const missing = new Map<string, string>();
  if (verb === 'start') {
    for (const [s, n] of wanted) {
      if (side.units.has(s) || missing.has(n)) continue;
      const t = templateOf(s) ?? s;
      const add = systemd ? `add its unit file (${t}) to the unit directory` : `submit it (fleetctl submit ${t})`;
      missing.set(n, `its discovery sidekick ${s} (its Wants=) is not on ${host.endpoint}, nor its template ${t}, so nothing announces its container: load the cluster's spec (fleetkit load SPEC --no-start) or ${add}, then start it again; --no-announcements waits for the units' states only`);
    }
  }
  return {
    names: [...names, ...taken],
    units: [...names.flatMap((n) => own.units.get(n) ?? []), ...taken.map((s) => side.units.get(s)!)],
    missing,
  };
}

/**
 * The etcd the announcements of named units are read from: `--etcd`, else what the cluster's agent unit (by
 * the units' cluster mark) runs with, else `ETCDCTL_ENDPOINTS`. With none of those, `unchecked` says why the
 * announcements cannot be checked, and the units that need one end unknown rather than healthy. A known etcd
 * also gives the wait the agents' container facts.
 */
export async function etcdOfNamed(host: UnitHost, units: readonly UnitFile[], v: EtcdFlagValues & { readonly 'no-announcements'?: boolean | undefined }, env: Readonly<Record<string, string | undefined>>): Promise<{ etcd?: EtcdOptions & { prefix: string }; unchecked?: string }> {
  const clusters = [...new Set(units.map(clusterOf).filter((c): c is string => c !== undefined))];
  const agentName = clusters.length === 1 ? agentUnitName(clusters[0]!) : undefined;
  const agent = agentName === undefined ? undefined : (await host.units([agentName])).get(agentName);
  const agentArgs = agent && agentArgsOf(agent);
  const fromAgent: EtcdFlagValues = agentArgs ? etcdFlagsOf(agentArgs) : {};
  // The command line wins, flag by flag, over what the agent runs with.
  const given = Object.fromEntries(Object.entries(v).filter(([k, x]) => k.startsWith('etcd') && x !== undefined && !(Array.isArray(x) && !x.length))) as EtcdFlagValues;
  const flags: EtcdFlagValues = { ...fromAgent, ...given };
  // Known, it is read for the container facts too (restarts, where the host keeps no count: fleet).
  if (flags.etcd?.length || (env['ETCDCTL_ENDPOINTS'] ?? '').trim()) return { etcd: etcdOptionsFrom(flags, undefined, env) };
  if (v['no-announcements'] || !units.some((u) => announcementKeyOf(u) !== undefined)) return {};
  const why = agentName === undefined ? 'the units carry no one cluster mark to find their agent by' : agent === undefined ? `${agentName} is not on ${host.endpoint}` : `${agentName} names no --etcd`;
  return { unchecked: `no etcd is known for it (${why}); give --etcd URL (the etcd the cluster's agent writes to), or --no-announcements to wait for the units' states only` };
}

/** What the health wait of a start by name checks of announcements; undefined: nothing (none needed, or none can be read). */
export function namedAnnouncements(named: NamedUnits, unchecked: string | undefined, facts: Pick<AnnouncementOptions, 'read' | 'endpoint' | 'check'> | undefined): AnnouncementOptions | undefined {
  const missing = named.missing.size ? { missing: named.missing } : {};
  if (facts) return { units: named.units, read: facts.read, endpoint: facts.endpoint, check: facts.check, ...missing };
  if (unchecked === undefined && !named.missing.size) return undefined;
  // Nothing is read: a unit is unknown (unchecked) or never announced (missing) once its state is healthy.
  return { units: named.units, read: () => Promise.resolve(new Map()), endpoint: 'etcd', check: '', ...(unchecked !== undefined ? { unchecked } : {}), ...missing };
}
