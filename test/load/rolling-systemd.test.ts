/**
 * `load --systemd --replace` on the real systemd (user manager), dockerd and etcd: the template file both
 * instances share is written first (systemd restarts nothing when a file changes), then the running instances
 * restart one at a time (`--max-unavailable 1`). Judged from the world:
 * - `docker events`: each old container died before its new one started, one instance after the other;
 * - `docker inspect`: new containers with the new command, environment and the config hash label of the new
 *   unit file;
 * - etcd: never fewer than two of three announced.
 * A new version that exits at once stops the roll at the first instance: the others keep their old containers
 * and the summary says which were held. A global service (`x-fleet: {global: true}`) is just a unit on one
 * host: its replace restarts it with its new container the same way (docker inspect, docker events).
 * Slow (about 50 s): real containers start, stop and are announced.
 */
import t from 'tap';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runFleetkit } from '../cli/load-io.js';
import { ROOT, runProgram } from '../e2e/e2e-cluster.js';
import { announcedThroughout, CLUSTER, configHashIn, oneAtATime, rollingWorld, runsNewVersion, serviceYaml, V1_COMMAND, V2_COMMAND } from './rolling-kit.js';
import { systemdRoll } from './rolling-systemd-kit.js';

t.setTimeout(300_000);
const { etcd, sd, docker, kit } = await rollingWorld(t, { tag: 's', instances: 3 });
const { S, instances: INSTANCES } = kit;
const roll = systemdRoll(kit, sd, etcd);
const { dir: units, files, common, env: sdEnv, render } = roll;

t.test('--systemd --replace: the template file is written first, the running instances restart one at a time', async (t) => {
  const { keys, before } = await roll.loadFirst(t, { version: 'v1' });

  await render({ version: 'v2', command: V2_COMMAND });
  const newHash = configHashIn(await readFile(join(units, `${S}@.service`), 'utf8'));
  const recording = await kit.recordEvents(t);
  const t0 = Date.now();
  const logFrom = keys.log.length;
  const r = await runFleetkit(['load', ...files, ...common, '--replace', '--max-unavailable', '1'], { env: sdEnv });
  const t1 = Date.now();
  t.comment(`rolling replace of ${INSTANCES.length} instances on systemd: ${t1 - t0} ms`);
  t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  t.match(r.stdout, /^load: 0 created, 3 replaced, 3 unchanged, 0 failed$/m, 'three instances replaced, their sidekicks restarted with them');
  for (const i of INSTANCES) t.match(r.stdout, new RegExp(`^${S}@${i}\\.service\\s+replaced\\s+active`, 'm'));
  await runsNewVersion(t, kit, before, { version: 'v2', command: V2_COMMAND, t0, hashOf: () => newHash });
  const timeline = await recording.stop();
  oneAtATime(t, kit, timeline);
  await kit.allAnnounced(keys.present);
  announcedThroughout(t, kit, keys.log.slice(logFrom).filter(([at]) => at >= t0 && at <= t1 + 5000), timeline);

  await t.test('a new version that exits at once stops the roll at the first instance; the rest keep their old containers', async (t) => {
    const kept = await kit.inspectAll();
    await render({ version: 'v3', broken: true });
    const during = await kit.recordEvents(t);
    // The sidekick never announces a container that dies, so the roll waits for it until --timeout, and a new
    // version whose `docker run` outlasts --stable on a busy machine is caught by its restarts in that time.
    const bad = await runFleetkit(['load', ...files, ...common, '--replace', '--timeout', '40s'], { env: sdEnv });
    t.equal(bad.code, 1, `${bad.stdout}${bad.stderr}`);
    t.comment(bad.stderr);
    t.match(bad.stdout, new RegExp(`^${S}@1\\.service\\s+replaced\\s+(failed|crash-loop|unconfirmed)`, 'm'));
    t.match(bad.stderr, new RegExp(`^${S}@1\\.service: `, 'm'), 'the first instance\'s failure is told');
    for (const i of ['2', '3']) {
      t.match(bad.stdout, new RegExp(`^${S}@${i}\\.service\\s+held`, 'm'));
      t.match(bad.stderr, new RegExp(`^${S}@${i}\\.service: left on its old version: the rolling replace stopped when ${S}@1\\.service failed`, 'm'));
      const c = await kit.inspect(`${S}-${i}`);
      t.equal(c.id, kept.get(`${S}-${i}`)!.id, `${S}-${i} still runs its old container`);
      t.ok(c.env.includes('VERSION=v2'), `${S}-${i} keeps the old config`);
    }
    t.match(bad.stdout, /^load: 0 created, 0 replaced, \d+ unchanged, [12] failed, 4 held$/m, 'the first instance (and its sidekick) failed, two instances and their sidekicks held');
    t.notMatch(bad.stdout, new RegExp(`^${S}@1\\.service\\s+replaced\\s+active`, 'm'), 'a crash-looping new version is never reported active');
    const touched = new Set((await during.stop()).map(([, , n]) => n));
    t.same([...touched], [`${S}-1`], 'docker events: only the first instance\'s containers stopped or started');
  });
});

t.test('--systemd --replace of a global service: one unit here, restarted with its new container', async (t) => {
  const G = `g${kit.S}`;
  const dir = join(kit.dir, 'units-global');
  await mkdir(dir, { recursive: true });
  const files = [join(dir, `${G}.service`), join(dir, `${G}-discovery.service`)];
  // The kit's cluster (its agent runs in process for it), with one global service.
  const render = async (version: string, command: readonly string[]): Promise<void> => {
    const spec = join(kit.dir, 'global.yaml');
    await writeFile(spec, `name: ${CLUSTER}
x-fleetkit:
  etcd: { endpoints: [${etcd.endpoints.join(', ')}], prefix: ${kit.prefix} }
  runtime: { docker: /usr/bin/docker, dockerSocket: ${docker.socketPath}, fleetkit: { binary: ${join(kit.dir, 'bin/fleetkit')} }, stateDir: ${join(kit.dir, 'state')} }
  hosts: { containers: false }
services:
${serviceYaml(G, { version, command, global: true, ttl: '60s' })}`);
    const gen = await runProgram(process.execPath, [join(ROOT, 'bin/gen-units.cjs'), spec, '-o', dir]);
    if (gen.code !== 0) throw new Error(`gen-units: ${gen.stderr}`);
  };
  t.teardown(async () => void (await runFleetkit(['destroy', ...files, ...common], { env: sdEnv })));
  await render('v1', V1_COMMAND);
  const first = await runFleetkit(['load', ...files, ...common], { env: sdEnv });
  t.equal(first.code, 0, `${first.stdout}${first.stderr}`);
  const before = await kit.inspect(G);

  await render('v2', V2_COMMAND);
  const newHash = configHashIn(await readFile(files[0]!, 'utf8'));
  const t0 = Date.now();
  const r = await runFleetkit(['load', ...files, ...common, '--replace'], { env: sdEnv });
  const t1 = Date.now();
  t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  t.match(r.stdout, new RegExp(`^${G}\\.service\\s+replaced\\s+active`, 'm'));
  t.match(r.stdout, /^load: 0 created, 1 replaced, 1 unchanged, 0 failed$/m, 'the global unit replaced, its sidekick restarted with it');
  const now = await kit.inspect(G);
  t.not(now.id, before.id, 'a new container');
  t.ok(now.env.includes('VERSION=v2'), 'with the new environment');
  t.same(now.cmd, V2_COMMAND, 'and the new command');
  t.equal(now.configHash, newHash, 'carrying the new unit file\'s config hash');
  t.not(now.configHash, before.configHash);
  t.ok(now.startedAt >= t0 - 1000, 'started after the replace began');
  const ev = await docker.docker(['events', '--since', (t0 / 1000).toFixed(3), '--until', (t1 / 1000).toFixed(3), '--filter', 'type=container', '--filter', `container=${G}`, '--filter', 'event=start', '--filter', 'event=die', '--format', '{{.Action}}']);
  t.same(ev.stdout.trim().split('\n'), ['die', 'start'], 'docker events: the old container died, then the new one started');
});
