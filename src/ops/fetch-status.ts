/**
 * The I/O half of `fleetkit status`: reads units and states from fleet (or systemd over D-Bus), the
 * announcements from etcd and this host's hosts file, and hands them to the pure {@link buildStatus}.
 * Clients stay open between reads so `--watch` costs one round of requests per refresh.
 */
import { readFile } from 'node:fs/promises';
import type { Etcd3 } from 'etcd3';
import { UsageError } from '../errors.js';
import { connectEtcd, etcdError, type EtcdOptions } from '../etcd/connect.js';
import { readPrefixes } from '../etcd/watch-prefixes.js';
import type { FleetClient } from '../fleet/fleet-client.js';
import type { FleetEndpoint } from '../fleet/endpoint.js';
import type { SystemdManager } from '../systemd/systemd-manager.js';
import { serviceNames } from '../render/plan-container.js';
import type { ClusterSpec } from '../cluster/types.js';
import type { StatusInputs, StatusKeyValue, StatusMachineInput, StatusUnit, StatusUnitState } from './status-model.js';
import { prefixDir } from '../etcd/key-layout.js';

/** Where status reads from. */
export interface StatusSourceOptions {
  readonly spec: ClusterSpec | undefined;
  /** fleet's endpoint; ignored with `systemd`. */
  readonly endpoint: FleetEndpoint;
  /** Read the local systemd over D-Bus instead of fleet. */
  readonly systemd: { readonly user: boolean } | undefined;
  readonly etcd: EtcdOptions & { readonly prefix: string };
  readonly hostsFile: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** This host's machine id (for --systemd rows). */
  readonly machineId: string | undefined;
}

/** Open connections to fleet or systemd, and etcd. */
export class StatusSources {
  private fleet: FleetClient | undefined;
  private manager: SystemdManager | undefined;
  private etcdClient: Etcd3 | undefined;

  constructor(readonly options: StatusSourceOptions) {
    if (options.systemd && !options.spec) {
      throw new UsageError('status --systemd needs a SPEC', 'without fleet, only cluster.yaml says which units belong to the cluster');
    }
  }

  /** The etcd client (opened on first use), for watches. */
  async etcd(): Promise<Etcd3> {
    this.etcdClient ??= await connectEtcd(this.options.etcd);
    return this.etcdClient;
  }

  /** One consistent-enough read of everything, stamped with `now`. */
  async read(now: () => Date = () => new Date()): Promise<StatusInputs> {
    const o = this.options;
    // An unreachable etcd does not hide what runs: the units are shown, announcements marked unknown.
    const [scheduler, announcements, hosts] = await Promise.all([
      o.systemd ? this.readSystemd(o.systemd.user) : this.readFleet(),
      this.readAnnouncements().then((kvs) => ({ kvs, error: undefined }), (e: unknown) => {
        if (e instanceof UsageError) throw e; // a bad --etcd is the user's to fix, not a state of the cluster
        return { kvs: [], error: (e as Error).message };
      }),
      this.readHosts(),
    ]);
    return {
      source: o.systemd ? 'systemd' : 'fleet', now: now(), spec: o.spec, prefix: o.etcd.prefix, ...scheduler,
      announcements: announcements.kvs, announcementsError: announcements.error, hosts,
    };
  }

  /** Closes every client. */
  close(): void {
    this.fleet?.close();
    this.manager?.close();
    this.etcdClient?.close();
  }

  private async readFleet(): Promise<{ units: StatusUnit[]; states: StatusUnitState[]; machines: StatusMachineInput[] }> {
    if (!this.fleet) {
      const { FleetClient } = await import('../fleet/fleet-client.js');
      this.fleet = new FleetClient({ endpoint: this.options.endpoint, timeoutMs: 5000 });
    }
    const [units, states, machines] = await Promise.all([this.fleet.listUnits(), this.fleet.listStates(), this.fleet.listMachines()]);
    return {
      units: units.map((u) => ({ name: u.name, desiredState: u.desiredState, currentState: u.currentState, machineID: u.machineID, options: u.options })),
      states: states.map((s) => ({ name: s.name, machineID: s.machineID, loadState: s.systemdLoadState, activeState: s.systemdActiveState, subState: s.systemdSubState })),
      machines: machines.map((m) => ({ id: m.id, primaryIP: m.primaryIP, metadata: m.metadata })),
    };
  }

  private async readSystemd(user: boolean): Promise<{ units: StatusUnit[]; states: StatusUnitState[]; machines: StatusMachineInput[] }> {
    if (!this.manager) {
      const { SystemdManager } = await import('../systemd/systemd-manager.js');
      this.manager = await SystemdManager.connect({ user, env: this.options.env });
    }
    // Sidekicks too: a failed sidekick is why a running container is not announced.
    const names = (this.options.spec?.services ?? []).flatMap((s) => [...serviceNames(s).instances, ...serviceNames(s).discoveryInstances]);
    const found = await this.manager.states(names);
    const manager = this.manager;
    const history = new Map(await Promise.all([...found.values()].filter((s) => s.loadState !== 'not-found' && s.activeState !== 'inactive').map(async (s) => [s.name, await manager.serviceHistory(s.path)] as const)));
    const id = this.options.machineId ?? 'local';
    const units: StatusUnit[] = [];
    const states: StatusUnitState[] = [];
    for (const name of names) {
      const s = found.get(name);
      if (!s || s.loadState === 'not-found') {
        states.push({ name, machineID: id, loadState: 'not-found', activeState: s?.activeState, subState: s?.subState });
        continue;
      }
      units.push({ name, desiredState: undefined, currentState: undefined, machineID: id, options: [] });
      const h = history.get(name);
      states.push({ name, machineID: id, loadState: s.loadState, activeState: s.activeState, subState: s.subState, restarts: h?.nRestarts, lastExit: h?.exitStatus, activeSince: s.activeState === 'active' ? h?.activeSince : undefined });
    }
    return { units, states, machines: [{ id, primaryIP: undefined, metadata: {} }] };
  }

  private async readAnnouncements(): Promise<StatusKeyValue[]> {
    const o = this.options.etcd;
    const client = await this.etcd();
    try {
      const { kvs } = await readPrefixes(client, [prefixDir(o.prefix)]);
      return kvs.map((kv) => ({ key: kv.key, value: kv.value.toString('utf8'), lease: kv.lease }));
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
