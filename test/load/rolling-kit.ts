/**
 * What the rolling-replace tests share: a cluster of one announced service on the run's real etcd, dockerd
 * and systemd, with the host agent in process, and the evidence a roll is judged by, taken from the world
 * rather than from fleet's word:
 * - `docker inspect`: container id, start time, command, environment and the `fleetkit.config-hash` label;
 * - `docker events`: the die/start timeline of the service's containers;
 * - an etcd watch on the announcements: every put and delete, and the keys present now.
 */
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart, waitFor, type DockerPart, type EtcdPart, type SystemdPart } from '../env/parts.js';
import { inProcessAgent } from '../announce/fixtures/fixture.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { LABEL_CONFIG_HASH } from '../../src/etcd/container-facts.js';
import { ensureBundle } from '../e2e/e2e-cluster.js';
import type { StateChange } from '../fleet-server/server.js';
import { writeFleetkitShim } from '../env/fleetkit-shim.js';

export const CLUSTER = 'rolling';

/** What docker says of a container. */
export interface Container {
  readonly id: string;
  readonly startedAt: number;
  readonly cmd: readonly string[];
  readonly env: readonly string[];
  readonly configHash: string | undefined;
}

/** A version of the service: its environment's VERSION, its command, or a command that exits 1 at once. */
export interface Version {
  readonly version: string;
  readonly command?: readonly string[];
  readonly broken?: boolean;
}

/** `[ms, action, container]`, oldest first. */
export type Timeline = [number, string, string][];
export type KeyLog = [number, 'put' | 'delete', string][];

export interface RollingKit {
  /** The service: units S@N.service, containers S-N, unique on the run's shared systemd and dockerd. */
  readonly S: string;
  /** The machine id of the simulated fleet machine (and of the in-process agent's facts). */
  readonly machineId: string;
  readonly prefix: string;
  readonly dir: string;
  readonly instances: readonly string[];
  readonly names: readonly string[];
  key(i: string): string;
  writeSpec(v: Version): Promise<string>;
  inspect(name: string): Promise<Container>;
  inspectAll(): Promise<Map<string, Container>>;
  /**
   * Records `docker events` (start and die of the service's containers) from now until `stop()`. Streamed, not
   * asked for afterwards: dockerd keeps only its last 256 events, and the health checks of every container on
   * a shared dockerd push a roll's first events out within a minute.
   */
  recordEvents(t: Test): Promise<{ stop(): Promise<Timeline> }>;
  watchKeys(t: Test): Promise<{ log: KeyLog; present(): Set<string> }>;
  allAnnounced(present: () => Set<string>): Promise<void>;
}

export const V1_COMMAND = ['httpd', '-f', '-p', '8080', '-h', '/www'];
/** A changed command: busybox httpd's -v (verbose) changes nothing the tests read but the command. */
export const V2_COMMAND = ['httpd', '-f', '-v', '-p', '8080', '-h', '/www'];

/** Sets up the scratch dir, the fleetkit wrapper and the cluster's host agent in process. */
export async function rollingKit(t: Test, etcd: EtcdPart, docker: DockerPart, o: { tag: string; instances: number }): Promise<RollingKit> {
  const S = `${o.tag}${process.pid}`;
  const machineId = createHash('md5').update(S).digest('hex'); // 32 hex digits, like fleet's machine ids
  const prefix = `/fk-${o.tag}-${process.pid}`;
  const dir = await mkdtemp(join(tmpdir(), `fk-${o.tag}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'bin'));
  // The cluster's agent keeps its registry and socket in runtime.stateDir/NAME, where the sidekicks look.
  await mkdir(join(dir, 'state', CLUSTER), { recursive: true });
  writeFleetkitShim(join(dir, 'bin/fleetkit'));
  await inProcessAgent(t, etcd, docker, { prefix, stateDir: join(dir, 'state', CLUSTER), machineId, containerWaitMs: 1000 });
  const instances = Array.from({ length: o.instances }, (_, k) => String(k + 1));
  const names = instances.map((i) => `${S}-${i}`);
  const key = (i: string): string => `${prefix}/${CLUSTER}/${S}/${i}`;

  const writeSpec = async (v: Version): Promise<string> => {
    const spec = join(dir, 'cluster.yaml');
    const command = v.broken ? ['sh', '-c', 'echo broken; exit 1'] : (v.command ?? V1_COMMAND);
    await writeFile(spec, `name: ${CLUSTER}
x-fleetkit:
  etcd: { endpoints: [${etcd.endpoints.join(', ')}], prefix: ${prefix} }
  runtime:
    docker: /usr/bin/docker
    dockerSocket: ${docker.socketPath}
    fleetkit: { binary: ${join(dir, 'bin/fleetkit')} }
    stateDir: ${join(dir, 'state')}
  # No hosts watcher runs here to make the cluster's containers' hosts file: the containers keep docker's own.
  hosts: { containers: false }
services:
  ${S}:
    image: ${docker.httpImage}
    command: ${JSON.stringify(command)}
    environment: { VERSION: ${v.version} }
    init: true
    restart: always
    deploy: { replicas: ${instances.length} }
    x-announce: { port: 8080, ttl: 60s }
    x-systemd:
      # docker stop ends \`docker run\` with 143: a clean stop, not a failure left behind for the next start to inherit.
      Service: { RestartSec: "1", SuccessExitStatus: "143" }
`);
    return spec;
  };

  const inspect = async (name: string): Promise<Container> => {
    const r = await docker.docker(['inspect', name]);
    const [c] = JSON.parse(r.stdout || '[]') as { Id: string; State: { StartedAt: string }; Config: { Cmd: string[] | null; Env: string[] | null; Labels: Record<string, string> | null } }[];
    if (!c) throw new Error(`docker inspect ${name}: ${r.stderr.trim()}`);
    return { id: c.Id, startedAt: Date.parse(c.State.StartedAt), cmd: c.Config.Cmd ?? [], env: c.Config.Env ?? [], configHash: c.Config.Labels?.[LABEL_CONFIG_HASH] };
  };

  const recordEvents = async (t: Test): Promise<{ stop(): Promise<Timeline> }> => {
    const filters = ['type=container', 'event=start', 'event=die', ...names.map((n) => `container=${n}`)].flatMap((f) => ['--filter', f]);
    // --since now: what happens between the spawn and its subscription comes from dockerd's buffer, then live.
    const child = spawn('docker', ['events', '--since', (Date.now() / 1000).toFixed(3), ...filters, '--format', '{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}'], { env: { ...process.env, DOCKER_HOST: docker.dockerHost }, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => void (out += c));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    t.teardown(() => void child.kill());
    return {
      async stop() {
        child.kill();
        await exited;
        return out.trim().split('\n').filter(Boolean).map((l) => l.split(' ')).filter(([, , n]) => names.includes(n!)).map(([ns, action, n]) => [Number(BigInt(ns!) / 1_000_000n), action!, n!]);
      },
    };
  };

  const watchKeys = async (t: Test): Promise<{ log: KeyLog; present(): Set<string> }> => {
    const client = await connectEtcd({ endpoints: etcd.endpoints });
    const present = new Set((await client.getAll().prefix(`${prefix}/${CLUSTER}/`).keys()).map(String));
    const log: KeyLog = [];
    const w = await client.watch().prefix(`${prefix}/${CLUSTER}/`).create();
    w.on('put', (kv) => void (log.push([Date.now(), 'put', kv.key.toString()]), present.add(kv.key.toString())));
    w.on('delete', (kv) => void (log.push([Date.now(), 'delete', kv.key.toString()]), present.delete(kv.key.toString())));
    t.teardown(async () => {
      await w.cancel();
      client.close();
    });
    return { log, present: () => present };
  };

  return {
    S, machineId, prefix, dir, instances, names, key, writeSpec, inspect, recordEvents, watchKeys,
    inspectAll: async () => new Map(await Promise.all(names.map(async (n) => [n, await inspect(n)] as const))),
    allAnnounced: async (present) => void await waitFor(() => instances.every((i) => present().has(key(i))), { what: 'every instance announced', timeoutMs: 30_000 }),
  };
}

/** The run's etcd, systemd and dockerd, the bundle the sidekicks run, and a kit on them. */
export async function rollingWorld(t: Test, o: { tag: string; instances: number }): Promise<{ etcd: EtcdPart; sd: SystemdPart; docker: DockerPart; kit: RollingKit }> {
  const etcd = await etcdPart(t);
  const sd = await systemdPart(t);
  const docker = await dockerPart(t);
  await ensureBundle();
  return { etcd, sd, docker, kit: await rollingKit(t, etcd, docker, o) };
}

/**
 * One service of a spec (YAML under `services:`) that the rolling tests change version by version: the http
 * image with `command` and VERSION=`version` in its environment, restarted always, announced; `global` runs it
 * on every machine (`x-fleet: {global: true}`).
 */
export function serviceYaml(name: string, v: { version: string; command: readonly string[]; global?: boolean; ttl?: string }): string {
  return `  ${name}:
    image: local/httpd:latest
    command: ${JSON.stringify(v.command)}
    environment: { VERSION: ${v.version} }
    init: true
    restart: always
${v.global ? '    x-fleet: { global: true }\n' : ''}    x-announce: { port: 8080, ttl: ${v.ttl ?? '10s'} }
    x-systemd: { Service: { RestartSec: "1", SuccessExitStatus: "143" } }
`;
}

/** The `fleetkit.config-hash` a unit's text (or ExecStart value) puts on its container. */
export function configHashIn(text: string): string | undefined {
  return new RegExp(`${LABEL_CONFIG_HASH.replace(/\./g, '\\.')}=([0-9a-f]+)`).exec(text)?.[1];
}

/** The docker timeline of a roll: never more than one container down, each old one died before its new one started, in instance order. */
export function oneAtATime(t: Test, kit: RollingKit, timeline: Timeline): void {
  let running = kit.names.length;
  let fewest = running;
  const order: string[] = [];
  for (const [, action, n] of timeline) {
    if (action !== 'die' && action !== 'start') continue;
    running += action === 'start' ? 1 : -1;
    fewest = Math.min(fewest, running);
    order.push(`${action} ${n}`);
  }
  t.equal(fewest, kit.names.length - 1, 'docker events: never more than one container down');
  t.same(order, kit.names.flatMap((n) => [`die ${n}`, `start ${n}`]), 'each old container died before its new one started, one instance after the other');
}

/** The most instances down at once in the server's state history after `from`, and how often each went down. */
export function downs(kit: RollingKit, history: readonly StateChange[], from: number): { most: number; times: number[] } {
  const units = kit.instances.map((i) => `${kit.S}@${i}.service`);
  const active = new Map(units.map((u) => [u, true]));
  const times = new Map(units.map((u) => [u, 0]));
  let most = 0;
  for (const h of history) {
    if (h.at < from || !active.has(h.name)) continue;
    const now = h.state?.activeState === 'active';
    if (active.get(h.name) && !now) times.set(h.name, times.get(h.name)! + 1);
    active.set(h.name, now);
    most = Math.max(most, [...active.values()].filter((a) => !a).length);
  }
  return { most, times: [...times.values()] };
}

/**
 * The announcements during a roll, against the docker timeline: each instance's was withdrawn before its old
 * container stopped and put again after its new one started, and never more than one was missing.
 */
export function announcedThroughout(t: Test, kit: RollingKit, changes: KeyLog, timeline: Timeline): void {
  for (const i of kit.instances) {
    const mine = changes.filter(([, , k]) => k === kit.key(i));
    const died = timeline.find(([, a, n]) => a === 'die' && n === `${kit.S}-${i}`)?.[0] ?? 0;
    const started = timeline.find(([, a, n]) => a === 'start' && n === `${kit.S}-${i}`)?.[0] ?? Infinity;
    t.equal(mine[0]?.[1], 'delete', `${kit.S}-${i}: withdrawn first`);
    t.ok((mine[0]?.[0] ?? Infinity) <= died + 100, `${kit.S}-${i}: withdrawn before its old container stopped`);
    t.equal(mine.at(-1)?.[1], 'put', `${kit.S}-${i}: announced at the end`);
    t.ok((mine.at(-1)?.[0] ?? 0) >= started, `${kit.S}-${i}: announced last after its new container started`);
  }
  // A put of a key that is there already (a re-announce) adds nothing.
  const present = new Set(kit.instances.map((i) => kit.key(i)));
  let low = present.size;
  for (const [, what, k] of changes) {
    if (!kit.instances.some((i) => kit.key(i) === k)) continue;
    if (what === 'put') present.add(k);
    else present.delete(k);
    low = Math.min(low, present.size);
  }
  t.equal(low, kit.instances.length - 1, `etcd: never fewer than ${kit.instances.length - 1} of ${kit.instances.length} instances announced`);
}

/**
 * Every instance runs the new version: a new container, started after `t0`, with the new command and
 * environment (VERSION=`version`) and the config hash `hashOf(instance)` (the new definition's), not the old one.
 */
export async function runsNewVersion(t: Test, kit: RollingKit, before: ReadonlyMap<string, Container>, v: { version: string; command: readonly string[]; t0: number; hashOf(instance: string): string | undefined }): Promise<void> {
  for (const i of kit.instances) {
    const n = `${kit.S}-${i}`;
    const now = await kit.inspect(n);
    t.not(now.id, before.get(n)!.id, `${n} is a new container`);
    t.ok(now.env.includes(`VERSION=${v.version}`), `${n} runs the new environment`);
    t.same(now.cmd, v.command, `${n} runs the new command`);
    t.equal(now.configHash, v.hashOf(i), `${n} carries the config hash of the new definition`);
    t.not(now.configHash, before.get(n)!.configHash, `${n}: a hash other than the old container's`);
    t.ok(now.startedAt >= v.t0 - 1000, `${n} started after the replace began`);
  }
}
