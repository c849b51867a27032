/**
 * What both flows share: the run's real parts, the programs of the flow as an operator runs them (gen-units,
 * fleetkit through the cluster's launcher), `status --json` parsed, the clean-up that leaves the shared
 * parts as they were whatever step failed, and the journal of the cluster's own units for failure reports.
 */
import type { Test } from 'tap';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart, type DockerPart, type EtcdPart, type SystemdPart } from '../env/parts.js';
import type { StatusModel } from '../../src/ops/status-model.js';
import { ALL_UNITS, CONTAINERS, FLEETKIT_CONTAINERS, GLOBAL_UNITS, UNIT_FILES } from './checks.js';
import { CLUSTER, ensureBundle, ROOT, runProgram, type ClusterFiles, type ProgramResult } from './e2e-cluster.js';
import { Observer } from './observer.js';
import { Timings } from './timings.js';

/** One row of `status --json`: an instance. */
export type InstanceRow = StatusModel['services'][number]['instances'][number];

/** The web service's rows by instance number. */
export function webRows(model: StatusModel): Map<string, InstanceRow> {
  const web = model.services.find((s) => s.name === 'web');
  return new Map((web?.instances ?? []).map((i) => [i.instance, i]));
}

/** The announcement key of web instance `i`. */
export function webKey(c: ClusterFiles, i: string): string {
  return `${c.prefix}/${CLUSTER}/web/${i}`;
}

/** The parts and programs of the flow. */
export interface FlowContext {
  readonly etcd: EtcdPart;
  readonly sd: SystemdPart;
  readonly docker: DockerPart;
  readonly timings: Timings;
  /** This host's machine id: the one machine of the cluster. */
  readonly machineId: string;
  /** `fleetkit ARGS…` through the cluster's launcher (the program the units run), in the cluster's dir. */
  fleetkit(c: ClusterFiles, args: readonly string[], env?: Record<string, string>): Promise<ProgramResult>;
  /** `gen-units SPEC -o DIR/units`, and the unit paths it prints (one per unit to start). */
  genUnits(c: ClusterFiles): Promise<{ r: ProgramResult; paths: string[] }>;
  /** `fleetkit status SPEC --json EXTRA…`, parsed; throws with the output when it is not JSON. */
  status(c: ClusterFiles, extra: readonly string[], env?: Record<string, string>): Promise<{ r: ProgramResult; model: StatusModel }>;
  /** Stops and removes every unit, container and key of the cluster, whatever state a failure left. */
  scrub(c: ClusterFiles): Promise<void>;
  /** Puts the journal of the agent, the watcher and a sidekick into the output as comments. */
  diagnose(t: Test): Promise<void>;
}

/** Starts (or joins) the run's etcd, systemd and engine, and makes sure the units' fleetkit is current. */
export async function createFlowContext(t: Test): Promise<FlowContext> {
  const [etcd, sd, docker] = await Promise.all([etcdPart(t), systemdPart(t), dockerPart(t)]);
  await ensureBundle();
  const machineId = (await readFile('/etc/machine-id', 'utf8')).trim();
  // Unit files name no etcd: ETCDCTL_ENDPOINTS tells load where the agent announces, as an operator's shell would.
  const fleetkit: FlowContext['fleetkit'] = (c, args, env = {}) =>
    runProgram(c.fleetkit, args, { env: { ...sd.env, DOCKER_HOST: docker.dockerHost, ETCDCTL_ENDPOINTS: etcd.clientUrl, ...env }, cwd: c.dir });
  return {
    etcd,
    sd,
    docker,
    timings: new Timings(),
    machineId,
    fleetkit,
    async genUnits(c) {
      const r = await runProgram(process.execPath, [join(ROOT, 'bin/gen-units.cjs'), c.spec, '-o', join(c.dir, 'units')], { cwd: c.dir });
      return { r, paths: r.stdout.split('\n').filter(Boolean) };
    },
    async status(c, extra, env = {}) {
      const r = await fleetkit(c, ['status', c.spec, '--json', ...extra], env);
      try {
        return { r, model: JSON.parse(r.stdout) as StatusModel };
      } catch {
        throw new Error(`fleetkit status ${extra.join(' ')} printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }
    },
    async scrub(c) {
      await sd.systemctl(['stop', ...ALL_UNITS]);
      for (const f of new Set([...UNIT_FILES, ...ALL_UNITS])) await rm(join(sd.unitDir, f), { force: true });
      await sd.systemctl(['daemon-reload']);
      await sd.systemctl(['reset-failed', ...ALL_UNITS]);
      await docker.docker(['rm', '-f', ...CONTAINERS, ...FLEETKIT_CONTAINERS]);
      const o = await Observer.start(etcd.endpoints, c.prefix, c.hostsFile);
      await o.client.delete().prefix(`${c.prefix}/`).exec();
      await o.close();
    },
    async diagnose(t) {
      for (const u of [...GLOBAL_UNITS, 'web-discovery@1.service']) {
        t.comment(`last journal lines of ${u}:\n${(await sd.journalLines(u, 25)).join('\n')}`);
      }
    },
  };
}
