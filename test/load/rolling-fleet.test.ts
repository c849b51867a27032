/**
 * `load --replace` changes running instances one at a time, through the fleet test server whose machine runs
 * the units on the real systemd and dockerd (./fleet-machine.ts), and with `--systemd` on the same systemd.
 * The fleet test server models fleet's agent replacing a running unit that has a sidekick: the old process
 * stays up. So the roll is judged from what really ran, not from fleet's word alone:
 * - the server's state history: never more than one instance down, and each one was down once;
 * - `docker events`: each old container died before its new one started, one instance after the other, and
 *   never fewer than two of three containers ran;
 * - `docker inspect`: every container is a new one with the new environment, started after the replace;
 * - etcd: each announcement was withdrawn before its old container stopped and put again after the new one
 *   started, and never fewer than two were present.
 * A new version that exits at once stops the roll after the first instance: the others keep their old
 * containers. Slow (two minutes or more): real containers start, stop and are announced.
 */
import t, { type Test } from 'tap';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart, waitFor, type DockerPart } from '../env/parts.js';
import { inProcessAgent } from '../announce/fixtures/fixture.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { ensureBundle, ROOT, runProgram } from '../e2e/e2e-cluster.js';
import { runFleetkit } from '../cli/load-io.js';
import { fleetOnSystemd } from './fleet-machine.js';

// Real containers start, stop and are announced, nine times over: about two minutes on a busy machine.
t.setTimeout(420_000);
const etcd = await etcdPart(t);
const sd = await systemdPart(t);
const docker = await dockerPart(t);
await ensureBundle();

const S = `r${process.pid}`; // the service: units S@N.service, containers S-N, unique on the shared systemd
const M = process.pid.toString(16).padStart(32, 'a');
const CLUSTER = 'rolling';
const prefix = `/fk-roll-${process.pid}`;
const dir = await mkdtemp(join(tmpdir(), 'fk-rolling-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await mkdir(join(dir, 'bin'));
// The cluster's agent keeps its registry under the state dir, in a directory of the cluster's own.
await mkdir(join(dir, 'state', 'rolling'), { recursive: true });
await writeFile(join(dir, 'bin/fleetkit'), `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'dist/fleetkit.cjs')} "$@"\n`);
await chmod(join(dir, 'bin/fleetkit'), 0o755);
// The cluster's agent keeps its socket in runtime.stateDir/NAME, where the sidekicks of cluster `rolling` look.
await inProcessAgent(t, etcd, docker, { prefix, stateDir: join(dir, 'state', 'rolling'), machineId: M, containerWaitMs: 1000 });
const INSTANCES = ['1', '2', '3'];
const names = INSTANCES.map((i) => `${S}-${i}`);
const key = (i: string): string => `${prefix}/${CLUSTER}/${S}/${i}`;

/** The spec with `VERSION` in the environment, or a command that exits 1 at once. */
async function writeSpec(version: string, broken = false): Promise<string> {
  const spec = join(dir, 'cluster.yaml');
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
    command: ${broken ? '["sh", "-c", "echo broken; exit 1"]' : '["httpd", "-f", "-p", "8080", "-h", "/www"]'}
    environment: { VERSION: ${version} }
    init: true
    restart: always
    deploy: { replicas: ${INSTANCES.length} }
    x-announce: { port: 8080, ttl: 60s }
    x-systemd:
      # docker stop ends \`docker run\` with 143: a clean stop, not a failure left behind for the next start to inherit.
      Service: { RestartSec: "1", SuccessExitStatus: "143" }
`);
  return spec;
}

/** What docker says of a container: its id, when it started, its environment. */
async function inspect(d: DockerPart, name: string): Promise<{ id: string; startedAt: number; env: string[] }> {
  const r = await d.docker(['inspect', '-f', '{{.Id}} {{.State.StartedAt}} {{json .Config.Env}}', name]);
  const [id = '', started = '', ...env] = r.stdout.trim().split(' ');
  return { id, startedAt: Date.parse(started), env: JSON.parse(env.join(' ') || '[]') as string[] };
}

/** `docker events` of our containers between two moments: `[ms, action, name]`, oldest first. */
async function events(d: DockerPart, since: number, until: number): Promise<[number, string, string][]> {
  const r = await d.docker(['events', '--since', (since / 1000).toFixed(3), '--until', (until / 1000).toFixed(3), '--filter', 'type=container', '--format', '{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}}']);
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split(' ')).filter(([, , n]) => names.includes(n!)).map(([ns, action, n]) => [Number(BigInt(ns!) / 1_000_000n), action!, n!]);
}

/** Announcement puts and deletes under the prefix, as an etcd watch sees them. */
async function watchKeys(t: Test): Promise<{ log: [number, 'put' | 'delete', string][]; present(): Set<string> }> {
  const client = await connectEtcd({ endpoints: etcd.endpoints });
  const present = new Set((await client.getAll().prefix(`${prefix}/${CLUSTER}/`).keys()).map(String));
  const log: [number, 'put' | 'delete', string][] = [];
  const w = await client.watch().prefix(`${prefix}/${CLUSTER}/`).create();
  w.on('put', (kv) => void (log.push([Date.now(), 'put', kv.key.toString()]), present.add(kv.key.toString())));
  w.on('delete', (kv) => void (log.push([Date.now(), 'delete', kv.key.toString()]), present.delete(kv.key.toString())));
  t.teardown(async () => {
    await w.cancel();
    client.close();
  });
  return { log, present: () => present };
}

/** The docker timeline of a roll: never more than one container down, each old one died before its new one started, in order. */
function oneAtATime(t: Test, timeline: readonly [number, string, string][]): void {
  let running = names.length;
  let fewest = running;
  const order: string[] = [];
  for (const [, action, n] of timeline) {
    if (action !== 'die' && action !== 'start') continue;
    running += action === 'start' ? 1 : -1;
    fewest = Math.min(fewest, running);
    order.push(`${action} ${n}`);
  }
  t.equal(fewest, names.length - 1, 'docker events: never more than one container down');
  t.same(order, names.flatMap((n) => [`die ${n}`, `start ${n}`]), 'each old container died before its new one started, one instance after the other');
}

/** The most instances down at once in the server's state history after `from`, and how often each went down. */
function downs(history: ReturnType<Awaited<ReturnType<typeof fleetOnSystemd>>['stateHistory']>, from: number): { most: number; times: Map<string, number> } {
  const units = INSTANCES.map((i) => `${S}@${i}.service`);
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
  return { most, times };
}

const allAnnounced = (present: () => Set<string>) => waitFor(() => INSTANCES.every((i) => present().has(key(i))), { what: 'every instance announced', timeoutMs: 30_000 });

t.test('through fleet: one instance at a time, each really restarted with the new config', async (t) => {
  const server = await fleetOnSystemd(t, sd, { machineId: M, socketPath: join(dir, 'fleet.sock') });
  const env = { FLEETCTL_ENDPOINT: server.endpoint };
  t.teardown(async () => void (await runFleetkit(['destroy', join(dir, 'cluster.yaml')], { env })));
  const keys = await watchKeys(t);
  const first = await runFleetkit(['load', await writeSpec('v1'), '--stable', '1s'], { env });
  t.equal(first.code, 0, `${first.stdout}${first.stderr}`);
  await allAnnounced(keys.present);
  const before = new Map(await Promise.all(names.map(async (n) => [n, await inspect(docker, n)] as const)));
  t.ok([...before.values()].every((c) => c.env.includes('VERSION=v1')), 'v1 runs');

  const t0 = Date.now();
  const since = server.clock();
  const logFrom = keys.log.length;
  const r = await runFleetkit(['load', await writeSpec('v2'), '--replace', '--stable', '1s', '--timeout', '150s'], { env });
  const t1 = Date.now();
  t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  t.match(r.stdout, /^load: 0 created, 4 replaced, \d+ unchanged, 0 failed$/m, 'the template and its three instances');
  t.comment(`rolling replace of ${INSTANCES.length} instances: ${t1 - t0} ms`);

  const { most, times } = downs(server.stateHistory(), since);
  t.equal(most, 1, 'fleet\'s state history: never more than one instance down');
  t.same([...times.values()], [1, 1, 1], 'each instance went down once');

  for (const n of names) {
    const now = await inspect(docker, n);
    t.not(now.id, before.get(n)!.id, `${n} is a new container`);
    t.ok(now.env.includes('VERSION=v2'), `${n} runs the new environment`);
    t.ok(now.startedAt >= t0 - 1000, `${n} started after the replace began`);
  }
  const timeline = await events(docker, t0 - 500, Date.now());
  oneAtATime(t, timeline);

  await allAnnounced(keys.present);
  const changes = keys.log.slice(logFrom).filter(([at]) => at <= t1 + 5000);
  for (const i of INSTANCES) t.comment(`${key(i)}: ${changes.filter(([, , k]) => k === key(i)).map(([at, what]) => `${what} +${at - t0} ms`).join(', ')}`);
  t.comment(`docker: ${timeline.map(([at, a, n]) => `${a} ${n} +${at - t0}`).join(', ')}`);
  for (const i of INSTANCES) {
    const mine = changes.filter(([, , k]) => k === key(i));
    const died = timeline.find(([, a, n]) => a === 'die' && n === `${S}-${i}`)?.[0] ?? 0;
    const started = timeline.find(([, a, n]) => a === 'start' && n === `${S}-${i}`)?.[0] ?? Infinity;
    t.equal(mine[0]?.[1], 'delete', `${S}-${i}: withdrawn first`);
    t.ok((mine[0]?.[0] ?? Infinity) <= died + 100, `${S}-${i}: withdrawn before its old container stopped`);
    t.equal(mine.at(-1)?.[1], 'put', `${S}-${i}: announced at the end`);
    t.ok((mine.at(-1)?.[0] ?? 0) >= started, `${S}-${i}: announced last after its new container started`);
  }
  let present = INSTANCES.length;
  let low = present;
  for (const [, what] of changes) low = Math.min(low, (present += what === 'put' ? 1 : -1));
  t.equal(low, INSTANCES.length - 1, 'never fewer than two instances announced');

  await t.test('a new version that exits at once stops the roll after the first instance', async (t) => {
    const kept = new Map(await Promise.all(names.map(async (n) => [n, await inspect(docker, n)] as const)));
    const bad = await runFleetkit(['load', await writeSpec('v3', true), '--replace', '--stable', '1s', '--timeout', '20s'], { env });
    t.equal(bad.code, 1, bad.stdout);
    t.match(bad.stdout, new RegExp(`^${S}@1\\.service\\s+replaced\\s+(failed|crash-loop|unconfirmed)`, 'm'));
    t.match(bad.stderr, new RegExp(`^${S}@1\\.service: (.*exit status 1|.*crash loop.*|not replaced: .*)`, 'm'), 'the first instance fails: its new container never stays up');
    for (const i of ['2', '3']) {
      t.match(bad.stdout, new RegExp(`^${S}@${i}\\.service\\s+held`, 'm'));
      t.match(bad.stderr, new RegExp(`^${S}@${i}\\.service: left on its old version: the rolling replace stopped when ${S}@1\\.service failed$`, 'm'));
      const c = await inspect(docker, `${S}-${i}`);
      t.equal(c.id, kept.get(`${S}-${i}`)!.id, `${S}-${i} still runs its old container`);
      t.ok(c.env.includes('VERSION=v2'), `${S}-${i} keeps the old config`);
    }
    t.match(bad.stdout, /^load: 0 created, 1 replaced, \d+ unchanged, [12] failed, 4 held$/m, 'the template replaced, the first instance (and its sidekick) failed, two instances and their sidekicks held');
    t.notMatch(bad.stdout, new RegExp(`^${S}@1\\.service\\s+replaced\\s+active`, 'm'), 'a crash-looping new version is never reported active');
    const units = new Map(server.units().map((u) => [u.name, u]));
    t.ok(units.get(`${S}@2.service`)!.options.some((o) => o.value.includes('VERSION=v2')), 'fleet still holds the old definition of the instances not reached');
  });
});

t.test('--systemd: the template file is written first, the running instances restart one at a time', async (t) => {
  const units = join(dir, 'units');
  const gen = await runProgram(process.execPath, [join(ROOT, 'bin/gen-units.cjs'), await writeSpec('v1'), '-o', units]);
  t.equal(gen.code, 0, gen.stderr);
  // Instance paths, as gen-units prints them: each resolves its template beside it.
  const files = async (): Promise<string[]> => INSTANCES.flatMap((i) => [`${S}@${i}.service`, `${S}-discovery@${i}.service`]).map((f) => join(units, f));
  // Unit files name no etcd: --etcd lets the roll see each new container run and be announced.
  const common = ['--systemd', '--user', '--unit-dir', sd.unitDir, '--journal-dir', sd.journalDir, '--stable', '1s', '--etcd', etcd.endpoints.join(','), '--etcd-prefix', prefix];
  const sdEnv = { ...sd.env };
  t.teardown(async () => void (await runFleetkit(['destroy', ...(await files()), ...common], { env: sdEnv })));
  const keys = await watchKeys(t);
  const first = await runFleetkit(['load', ...(await files()), ...common], { env: sdEnv });
  t.equal(first.code, 0, `${first.stdout}${first.stderr}`);
  await allAnnounced(keys.present);
  const before = new Map(await Promise.all(names.map(async (n) => [n, await inspect(docker, n)] as const)));

  t.equal((await runProgram(process.execPath, [join(ROOT, 'bin/gen-units.cjs'), await writeSpec('v2'), '-o', units])).code, 0);
  const t0 = Date.now();
  const r = await runFleetkit(['load', ...(await files()), ...common, '--replace'], { env: sdEnv });
  t.comment(`rolling replace of ${INSTANCES.length} instances on systemd: ${Date.now() - t0} ms`);
  const t1 = Date.now();
  t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  for (const n of names) {
    const now = await inspect(docker, n);
    t.not(now.id, before.get(n)!.id, `${n} is a new container`);
    t.ok(now.env.includes('VERSION=v2'), `${n} runs the new environment`);
  }
  oneAtATime(t, await events(docker, t0 - 500, Date.now()));
});
