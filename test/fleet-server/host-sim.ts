/**
 * Simulated fleet machines that run what fleetkit's units run, for the fleet test server's agent hooks:
 *
 * - `fleetkit-agent-CLUSTER.service`: a real fleetkit agent (in process) on the run's etcd and dockerd, with
 *   the machine's id and a state directory of its own per machine and cluster;
 * - `fleetkit-hosts-CLUSTER.service`: a real `watch-hosts` (in process) writing the machine's own hosts file;
 * - a container unit: its own `docker run` (image, command, fleetkit's labels, so the agent publishes its
 *   facts) on the run's dockerd, under systemd's Restart= loop, reporting the states systemd would
 *   (host-service.ts): a crash-looping container shows `activating/auto-restart` in /state, as on fleet;
 * - a sidekick: its rendered ExecStart/ExecStop (`fleetkit announce …`), specifiers expanded as systemd would,
 *   run in process against the machine's agent for its cluster.
 *
 * A container unit's stop (ExecStop=docker stop) goes to dockerd while the agent carries on: fleet's word
 * (`loaded`, and systemd's end state at the next reconcile) comes before the container is down, as on a real
 * fleet, where a container may take seconds over SIGTERM. Only the agents' container facts follow the
 * container itself.
 *
 * What the machines share and real machines don't: the one dockerd. So the specs run here publish no host
 * ports (the seed's port 80 would be taken twice) and no global service runs a container (two machines
 * would start the same container name, and each machine's agent would report the others' containers as its
 * own). Everything else is per machine: identity, agent socket and registry, hosts file. This is the
 * feasible choice on a 2-core CI runner: a network namespace and a dockerd per simulated machine would cost
 * seconds of start-up and ~100 MB each. A test of a global container unit gives each machine an engine of its
 * own (`dockers`, private engines): its containers, its agent and its `docker events` are then that machine's.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import type { Test } from 'tap';
import { announceCli, inProcessAgent } from '../announce/fixtures/fixture.js';
import type { DockerPart, EtcdPart } from '../env/parts.js';
import { clusterDir } from '../../src/etcd/key-layout.js';
import { watchHosts } from '../../src/hosts/watch-hosts.js';
import { parseCommandLine } from '../../src/unit/parse-command-line.js';
import { fleetServerPart, type AgentSimulation, type AgentUnit, type FleetServer, type MachineSpec, type MachineView, type SystemdState } from './server.js';
import { serviceSettings, startService } from './host-service.js';
import { stoppedState } from './cluster.js';

const RUNNING: SystemdState = { loadState: 'loaded', activeState: 'active', subState: 'running' };
const EXITED: SystemdState = { loadState: 'loaded', activeState: 'active', subState: 'exited' };
const STARTING: SystemdState = { loadState: 'loaded', activeState: 'activating', subState: 'start' };
const FAILED: SystemdState = { loadState: 'loaded', activeState: 'failed', subState: 'failed' };
const DEAD: SystemdState = { loadState: 'loaded', activeState: 'inactive', subState: 'dead' };

export interface HostSim {
  /** The hooks to give the fleet test server (`agent`), with `reconcileMs`. */
  readonly agent: AgentSimulation;
  /** Tells the simulation which server to report later states to. */
  attach(server: FleetServer): void;
  /** The hosts file of a machine. */
  hostsFile(machineId: string): string;
  /** Containers started (by name), for assertions. */
  readonly containers: ReadonlySet<string>;
  /** Sidekick commands that failed: `unit machine: output`. */
  readonly errors: string[];
  /** What a container unit's containers printed, by unit (the lines journald would hold). */
  output(unit: string): readonly string[];
  /** Waits for running sidekick commands, then stops everything still running. */
  close(): Promise<void>;
}

const option = (u: AgentUnit, section: string, name: string): string | undefined => u.options.filter((o) => o.section === section && o.name === name).at(-1)?.value;

/** `argv` of an Exec line with systemd's specifiers expanded for `unit` on `machine`. */
function execArgv(unit: AgentUnit, machine: MachineView, line: string): string[] {
  const at = unit.name.indexOf('@');
  const instance = at >= 0 ? unit.name.slice(at + 1, unit.name.lastIndexOf('.')) : '';
  const host = machine.metadata['host'] ?? `node-${machine.id.slice(0, 6)}`;
  const prefix = unit.name.split('@')[0]!.replace(/\.service$/, '');
  return parseCommandLine(line, { specifiers: { i: instance, I: instance, n: unit.name, N: unit.name.replace(/\.service$/, ''), p: prefix, P: prefix, H: host, l: host, m: machine.id } });
}

/** Starts the simulation; everything stops when `t` ends. */
export async function hostSim(t: Test, etcd: EtcdPart, docker: DockerPart, etcdClient: Etcd3, o: { prefix: string; reconcileMs?: number; dockers?: ReadonlyMap<string, DockerPart> }): Promise<HostSim> {
  /** The engine of a machine: its own when `dockers` names one, else the shared one. */
  const dockerOf = (machine: string): DockerPart => o.dockers?.get(machine) ?? docker;
  const root = await mkdtemp(join(tmpdir(), 'fk-hostsim-'));
  const running = new Map<string, () => Promise<void>>();
  /** Container stops still under way, by unit and machine: a start of the same unit waits for its stop. */
  const stopping = new Map<string, Promise<void>>();
  const pending = new Set<Promise<unknown>>();
  const containers = new Set<string>();
  const errors: string[] = [];
  const outputs = new Map<string, string[]>();
  let server: FleetServer | undefined;
  const key = (u: string, m: string): string => `${u} ${m}`;
  const stateDir = (m: string, cluster: string): string => join(root, m, 'state', cluster);
  const hostsFile = (m: string): string => join(root, m, 'hosts');
  const report = (name: string, m: string, s: SystemdState): void => {
    try {
      server?.reportState(name, m, s);
    } catch {
      // unloaded meanwhile
    }
  };
  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => undefined);
    return p;
  };

  /** A sidekick's Exec line, run in process with the machine's state directory. */
  const announce = async (unit: AgentUnit, machine: MachineView, line: string): Promise<number> => {
    const argv = execArgv(unit, machine, line);
    const args = argv.slice(1).map((a, k, all) => (all[k - 1] === '--state-dir' ? stateDir(machine.id, a.split('/').at(-1)!) : a));
    const r = await announceCli(args.slice(1));
    if (r.code !== 0) errors.push(`${unit.name} ${machine.id.slice(0, 8)}: ${r.err.trim()}`);
    return r.code;
  };

  const stop = async (unit: AgentUnit, machine: MachineView): Promise<void> => {
    const k = key(unit.name, machine.id);
    const s = running.get(k);
    running.delete(k);
    if (s) await track(s());
  };

  const launch = async (unit: AgentUnit, machine: MachineView): Promise<SystemdState> => {
    const k = key(unit.name, machine.id);
    await stopping.get(k);
    const host = /^fleetkit-(agent|hosts)-(.+)\.service$/.exec(unit.name);
    await mkdir(join(root, machine.id), { recursive: true });
    if (host?.[1] === 'agent') {
      const { agent } = await inProcessAgent(t, etcd, dockerOf(machine.id), { prefix: o.prefix, machineId: machine.id, stateDir: stateDir(machine.id, host[2]!), containerWaitMs: 1000 });
      running.set(k, () => agent.close());
      return RUNNING;
    }
    if (host?.[1] === 'hosts') {
      const ac = new AbortController();
      const done = watchHosts(etcdClient, {
        cluster: host[2]!, out: hostsFile(machine.id), layout: { announcements: clusterDir(o.prefix, host[2]!), flannel: undefined },
        writeMode: 'rename', quietMs: 10, maxDelayMs: 100, hook: undefined, env: {}, signal: ac.signal, log: () => undefined,
        machineNames: [`node-${machine.id.slice(0, 6)}`], systemHostsFile: join(root, 'no-system-hosts'),
      });
      running.set(k, async () => {
        ac.abort();
        await done.catch(() => undefined);
      });
      return RUNNING;
    }
    const execStart = option(unit, 'Service', 'ExecStart') ?? '';
    if (/-discovery(@[^.]*)?\.service$/.test(unit.name)) {
      const execStop = option(unit, 'Service', 'ExecStop');
      void track(announce(unit, machine, execStart)).then((code) => report(unit.name, machine.id, code === 0 ? EXITED : FAILED));
      running.set(k, async () => {
        if (execStop) await announce(unit, machine, execStop);
      });
      return STARTING;
    }
    const argv = execArgv(unit, machine, execStart);
    const name = argv[argv.indexOf('--name') + 1];
    if (!argv.includes('--name') || !name) return FAILED;
    // The unit's own container (image, command, labels) under systemd's Restart= loop: see host-service.ts.
    const { service, first } = await startService(dockerOf(machine.id), argv, name, serviceSettings(unit.options), (s) => report(unit.name, machine.id, s));
    containers.add(name);
    outputs.set(unit.name, service.output);
    running.set(k, async () => {
      await service.stop();
      containers.delete(name);
    });
    return first;
  };

  /** A container unit's stop goes to dockerd in the background: fleet's state does not wait for it. */
  const stopContainer = (unit: AgentUnit, machine: MachineView): SystemdState => {
    const k = key(unit.name, machine.id);
    const done = track(stop(unit, machine)).finally(() => {
      if (stopping.get(k) === done) stopping.delete(k);
    });
    stopping.set(k, done);
    return stoppedState(unit.options);
  };
  const isContainer = (unit: AgentUnit): boolean => !/^fleetkit-(agent|hosts)-/.test(unit.name) && !/-discovery(@[^.]*)?\.service$/.test(unit.name);

  const agent: AgentSimulation = {
    reconcileMs: o.reconcileMs ?? 50,
    onLaunch: (unit, machine) => launch(unit, machine),
    onStop: async (unit, machine) => {
      if (isContainer(unit)) return stopContainer(unit, machine);
      await stop(unit, machine);
      return DEAD;
    },
    onUnload: (unit, machine) => stop(unit, machine),
  };
  const close = async (): Promise<void> => {
    while (pending.size) await Promise.allSettled([...pending]);
    // The units first, side by side (each container's stop is its own), then the machines' agents and hosts
    // watchers, which the sidekicks' withdrawals still talk to.
    const all = [...running];
    running.clear();
    const isHost = ([k]: [string, unknown]): boolean => /^fleetkit-(agent|hosts)-/.test(k);
    await Promise.all(all.filter((e) => !isHost(e)).map(([, s]) => s().catch(() => undefined)));
    await Promise.all(all.filter(isHost).map(([, s]) => s().catch(() => undefined)));
    await rm(root, { recursive: true, force: true });
  };
  t.teardown(close);
  return { agent, attach: (s) => void (server = s), hostsFile, containers, errors, output: (u) => outputs.get(u) ?? [], close };
}

/** A fleet test server on `socketPath` whose `machines` run what the units run (this simulation), both stopped when `t` ends. */
export async function simulatedFleet(t: Test, etcd: EtcdPart, docker: DockerPart, etcdClient: Etcd3, o: { prefix: string; socketPath: string; machines: readonly MachineSpec[] }): Promise<{ sim: HostSim; server: FleetServer }> {
  const sim = await hostSim(t, etcd, docker, etcdClient, { prefix: o.prefix });
  const server = await fleetServerPart(t, { socketPath: o.socketPath, machines: o.machines, agent: sim.agent });
  sim.attach(server);
  return { sim, server };
}
