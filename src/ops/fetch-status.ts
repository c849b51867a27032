/**
 * The I/O half of `fleetkit status`: reads units and states from the UnitHost (fleet's API or systemd over
 * D-Bus; this file never asks which), the announcements and container facts from etcd and this host's hosts
 * file, and hands them to the pure {@link buildStatus}. Each source is bounded by the timeout and read on its
 * own: one that cannot be seen is said (a warning naming the endpoint and what to check), the others are
 * still shown. Clients stay open between reads so `--watch` costs one round of requests per refresh.
 */
import { readFile } from 'node:fs/promises';
import type { Etcd3 } from 'etcd3';
import { UsageError, type RemoteError } from '../errors.js';
import { connectEtcd, etcdError, type EtcdOptions } from '../etcd/connect.js';
import { readPrefixes } from '../etcd/watch-prefixes.js';
import type { ContainerFactsRecord } from '../etcd/container-facts.js';
import { factsAtKey, leaseLives, type LeaseLife } from '../etcd/read-facts.js';
import { isFactsKey, prefixDir } from '../etcd/key-layout.js';
import { openUnitHost, type UnitHostOptions } from '../unithost/open-unit-host.js';
import type { HostView, UnitHost } from '../unithost/unit-host.js';
import { serviceNames } from '../render/plan-container.js';
import type { ClusterSpec } from '../cluster/types.js';
import type { StatusInputs, StatusKeyValue, StatusMachineInput, StatusUnit, StatusUnitState } from './status-model.js';
import { briefReason, unreachable, ETCD_CHECK, type SourceEndpoint } from './unreachable.js';

/** Where status reads from. */
export interface StatusSourceOptions {
  readonly spec: ClusterSpec | undefined;
  /** The UnitHost to read units from, and how its failure line names it. */
  readonly host: UnitHostOptions;
  readonly hostEndpoint: SourceEndpoint;
  readonly etcd: EtcdOptions & { readonly prefix: string };
  readonly hostsFile: string | undefined;
  /** This host's machine id (names the one machine of a systemd view). */
  readonly machineId: string | undefined;
  /** Each source (the host, etcd) must answer within this long. */
  readonly timeoutMs: number;
}

/** A source's failure as one line: the endpoint, why, and what to check. */
function sourceFailure(system: 'fleet' | 'systemd' | 'etcd', at: SourceEndpoint, e: unknown, timeoutMs: number): RemoteError {
  const err = e as Error & { code?: string; cause?: NodeJS.ErrnoException };
  if (err?.code === 'ERR_SOURCE_UNREACHABLE') return e as RemoteError;
  const text = `${err?.cause?.code ?? ''} ${err?.message ?? String(e)}`;
  return unreachable(system, at, briefReason(text.trim(), timeoutMs));
}

/** `p`, or a rejection once `ms` have passed (the work goes on until its client is closed). */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Open connections to the UnitHost and etcd. */
export class StatusSources {
  private host: Promise<UnitHost> | undefined;
  private etcdClient: Etcd3 | undefined;

  constructor(readonly options: StatusSourceOptions) {
    if (options.host.kind === 'systemd' && !options.spec) {
      throw new UsageError('status --systemd needs a SPEC', 'without fleet, only cluster.yaml says which units belong to the cluster');
    }
  }

  /** The etcd client (opened on first use), for watches. */
  async etcd(): Promise<Etcd3> {
    // A read in flight outlives the client's close until its deadline: the timeout bounds it.
    this.etcdClient ??= await connectEtcd({ ...this.options.etcd, callTimeoutMs: this.options.timeoutMs });
    return this.etcdClient;
  }

  /**
   * One consistent-enough read of everything, stamped with `now`. A source that cannot be seen becomes a
   * warning; when neither the host nor etcd can be seen there is nothing to show, and the host's line is thrown.
   */
  async read(now: () => Date = () => new Date()): Promise<StatusInputs> {
    const o = this.options;
    const t = o.timeoutMs;
    const system = o.host.kind === 'systemd' ? 'systemd' : 'fleet';
    const [host, etcd, hosts] = await Promise.all([
      within(this.readHost(), t).then((v) => ({ v, error: undefined }), (e: unknown) => {
        this.dropHost();
        return { v: undefined, error: sourceFailure(system, o.hostEndpoint, e, t) };
      }),
      within(this.readEtcd(), t).then((v) => ({ v, error: undefined }), (e: unknown) => {
        if (e instanceof UsageError) throw e; // a bad --etcd is the user's to fix, not a state of the cluster
        return { v: undefined, error: sourceFailure('etcd', { endpoint: o.etcd.endpoints.join(','), check: ETCD_CHECK }, e, t) };
      }),
      this.readHosts(),
    ]);
    // Nothing could be seen: one line, the host's (what runs matters first).
    if (host.error && etcd.error) throw host.error;
    const view = host.v ? this.fromView(host.v) : { units: [], states: [], machines: [] };
    return {
      source: system, now: now(), spec: o.spec, prefix: o.etcd.prefix, ...view,
      unitsError: host.error?.message,
      announcements: etcd.v?.announcements ?? [], announcementsError: etcd.error?.message, facts: etcd.v?.facts ?? [], factsLeases: etcd.v?.factsLeases,
      hosts,
    };
  }

  /** Closes every client. */
  close(): void {
    this.dropHost();
    this.etcdClient?.close();
  }

  private dropHost(): void {
    const h = this.host;
    this.host = undefined;
    h?.then((x) => x.close(), () => undefined);
  }

  private async readHost(): Promise<HostView> {
    this.host ??= openUnitHost(this.options.host);
    const host = await this.host;
    // Sidekicks too: a failed sidekick is why a running container is not announced.
    const names = (this.options.spec?.services ?? []).flatMap((s) => [...serviceNames(s).instances, ...serviceNames(s).discoveryInstances]);
    return host.view(names);
  }

  private fromView(v: HostView): { units: StatusUnit[]; states: StatusUnitState[]; machines: StatusMachineInput[] } {
    // systemd's view is of this one machine, which it does not name.
    const here = this.options.machineId ?? 'local';
    const local = v.machines.length === 0;
    return {
      units: v.units.map((u) => ({ name: u.name, desiredState: u.target, currentState: u.current, machineID: local ? here : u.machine, options: u.options })),
      states: v.states.map((s) => ({
        name: s.name, machineID: local ? here : s.machines[0], loadState: s.loadState, activeState: s.activeState, subState: s.subState,
        ...(s.restarts !== undefined ? { restarts: s.restarts, lastExit: s.exitStatus } : {}),
        activeSince: s.activeSince,
      })),
      machines: local ? [{ id: here, primaryIP: undefined, metadata: {} }] : v.machines.map((m) => ({ id: m.id, primaryIP: m.ip, metadata: m.metadata })),
    };
  }

  private async readEtcd(): Promise<{ announcements: StatusKeyValue[]; facts: ContainerFactsRecord[]; factsLeases: Map<string, LeaseLife> | undefined }> {
    const o = this.options.etcd;
    const client = await this.etcd();
    try {
      const { kvs } = await readPrefixes(client, [prefixDir(o.prefix)]);
      const announcements: StatusKeyValue[] = [];
      const facts: ContainerFactsRecord[] = [];
      const leaseOf = new Map<string, string>();
      for (const kv of kvs) {
        if (!isFactsKey(o.prefix, kv.key)) {
          announcements.push({ key: kv.key, value: kv.value.toString('utf8'), lease: kv.lease });
          continue;
        }
        // A record that does not parse, or names another unit or machine than its key, is no facts (unknown).
        const fact = factsAtKey(o.prefix, kv.key, kv.value.toString('utf8'));
        if ('record' in fact) {
          facts.push(fact.record);
          leaseOf.set(`${fact.record.machine}/${fact.record.unit}`, kv.lease);
        }
      }
      // Whether each record's agent still renews its lease: one LeaseTimeToLive per lease (one per agent and
      // TTL). Not answering leaves the records standing, as before this check.
      const lives = await leaseLives(client, leaseOf.values()).catch(() => undefined);
      const factsLeases = lives && new Map([...leaseOf].flatMap(([k, id]) => (lives.has(id) ? [[k, lives.get(id)!] as const] : [])));
      return { announcements, facts, factsLeases };
    } catch (e) {
      throw etcdError(e, `reading the announcements under ${prefixDir(o.prefix)}`, o.endpoints);
    }
  }

  private async readHosts(): Promise<{ file: string; text: string | undefined } | undefined> {
    const file = this.options.hostsFile;
    if (!file) return undefined;
    return { file, text: await readFile(file, 'utf8').catch(() => undefined) };
  }
}
