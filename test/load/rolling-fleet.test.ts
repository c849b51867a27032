/**
 * `load --replace` changes running instances one at a time, through the fleet test server whose machine runs
 * the units on the real systemd and dockerd (./fleet-machine.ts). The fleet test server models fleet's agent
 * replacing a running unit that has a sidekick: the old process stays up (the first subtest shows it on the
 * real systemd). So the roll is judged from what really ran, not from fleet's word alone:
 * - the server's state history: never more than one instance down, and each one was down once;
 * - `docker events`: each old container died before its new one started, one instance after the other, and
 *   never fewer than two of three containers ran;
 * - `docker inspect`: every container is a new one with the new command, environment and config hash label,
 *   started after the replace;
 * - etcd: each announcement was withdrawn before its old container stopped and put again after the new one
 *   started, and never fewer than two were present.
 * A new version that exits at once stops the roll after the first instance: the others keep their old
 * containers. The same roll at fleet's real pace is ./rolling-real-pace.test.ts; through `--systemd`,
 * ./rolling-systemd.test.ts. Slow (about a minute): real containers start, stop and are announced.
 */
import t from 'tap';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart, waitFor } from '../env/parts.js';
import { ensureBundle } from '../e2e/e2e-cluster.js';
import { runFleetkit } from '../cli/load-io.js';
import { rawRequest } from '../fleet-server/raw-request.js';
import { fleetOnSystemd } from './fleet-machine.js';
import { announcedThroughout, configHashIn, downs, oneAtATime, rollingKit, runsNewVersion, V2_COMMAND } from './rolling-kit.js';

// Real containers start, stop and are announced, nine times over: a minute or two on a busy machine.
t.setTimeout(420_000);
const etcd = await etcdPart(t);
const sd = await systemdPart(t);
const docker = await dockerPart(t);
await ensureBundle();
const kit = await rollingKit(t, etcd, docker, { tag: 'r', instances: 3 });
const { S, instances: INSTANCES } = kit;

t.test('through fleet: one instance at a time, each really restarted with the new config', async (t) => {
  const server = await fleetOnSystemd(t, sd, { machineId: kit.machineId, socketPath: join(kit.dir, 'fleet.sock') });
  const env = { FLEETCTL_ENDPOINT: server.endpoint };
  t.teardown(async () => void (await runFleetkit(['destroy', join(kit.dir, 'cluster.yaml')], { env })));
  const keys = await kit.watchKeys(t);
  const first = await runFleetkit(['load', await kit.writeSpec({ version: 'v1' }), '--stable', '1s'], { env });
  t.equal(first.code, 0, `${first.stdout}${first.stderr}`);
  await kit.allAnnounced(keys.present);
  const before = await kit.inspectAll();
  t.ok([...before.values()].every((c) => c.env.includes('VERSION=v1')), 'v1 runs');

  await t.test('what fleetctl does, a PUT of the new definition while the unit runs, leaves the old container', async (t) => {
    // The agent simulation on the real systemd models fleet's queued stop: the new file is written and its hash
    // published, the sidekick restarts, and the container of the old version runs on. A roll that only sends
    // new definitions would pass fleet's word and fail every docker check below.
    const unit = server.units().find((u) => u.name === `${S}@1.service`)!;
    const options = unit.options.map((o) => (o.name === 'ExecStart' ? { ...o, value: o.value.replace('VERSION=v1', 'VERSION=v1b') } : o));
    const res = await rawRequest(server, 'unix', { method: 'PUT', path: `/fleet/v1/units/${S}@1.service`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ desiredState: 'launched', options }) });
    t.equal(res.crashed ? 0 : res.status, 201, 'fleet stores the new definition');
    const newHash = server.units().find((u) => u.name === `${S}@1.service`)!.hash;
    await waitFor(() => server.states().some((s) => s.name === `${S}@1.service` && s.hash === newHash && s.state.activeState === 'active'), { what: 'fleet reports the new hash active', timeoutMs: 20_000 });
    await kit.allAnnounced(keys.present);
    const still = await kit.inspect(`${S}-1`);
    t.equal(still.id, before.get(`${S}-1`)!.id, 'the same container runs');
    t.ok(still.env.includes('VERSION=v1') && !still.env.includes('VERSION=v1b'), 'with the old environment');
  });

  const recording = await kit.recordEvents(t);
  const t0 = Date.now();
  const since = server.clock();
  const logFrom = keys.log.length;
  const r = await runFleetkit(['load', await kit.writeSpec({ version: 'v2', command: V2_COMMAND }), '--replace', '--stable', '1s', '--timeout', '150s'], { env });
  const t1 = Date.now();
  t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  t.match(r.stdout, /^load: 0 created, 4 replaced, \d+ unchanged, 0 failed$/m, 'the template and its three instances');
  t.comment(`rolling replace of ${INSTANCES.length} instances: ${t1 - t0} ms`);

  const { most, times } = downs(kit, server.stateHistory(), since);
  t.equal(most, 1, 'fleet\'s state history: never more than one instance down');
  t.same(times, [1, 1, 1], 'each instance went down once');

  // fleet's new definition of each instance names the config hash its container must carry.
  const hashOf = (i: string): string | undefined => configHashIn(server.units().find((u) => u.name === `${S}@${i}.service`)!.options.map((o) => o.value).join('\n'));
  await runsNewVersion(t, kit, before, { version: 'v2', command: V2_COMMAND, t0, hashOf });
  const timeline = await recording.stop();
  oneAtATime(t, kit, timeline);
  await kit.allAnnounced(keys.present);
  const changes = keys.log.slice(logFrom).filter(([at]) => at >= t0 && at <= t1 + 5000);
  t.comment(`docker: ${timeline.map(([at, a, n]) => `${a} ${n} +${at - t0}`).join(', ')}`);
  announcedThroughout(t, kit, changes, timeline);

  await t.test('a new version that exits at once stops the roll after the first instance', async (t) => {
    const kept = await kit.inspectAll();
    // The crash loop ends the wait as soon as it is certain; the timeout only bounds a slow machine (the first
    // instance's stop, docker's stop timeout included, and three restarts, under a loaded CI run).
    const bad = await runFleetkit(['load', await kit.writeSpec({ version: 'v3', broken: true }), '--replace', '--stable', '1s', '--timeout', '60s'], { env });
    t.equal(bad.code, 1, bad.stdout);
    t.match(bad.stdout, new RegExp(`^${S}@1\\.service\\s+replaced\\s+(failed|crash-loop|unconfirmed)`, 'm'));
    t.match(bad.stderr, new RegExp(`^${S}@1\\.service: (.*exit status 1|.*crash loop.*|not replaced: .*)`, 'm'), 'the first instance fails: its new container never stays up');
    for (const i of ['2', '3']) {
      t.match(bad.stdout, new RegExp(`^${S}@${i}\\.service\\s+held`, 'm'));
      t.match(bad.stderr, new RegExp(`^${S}@${i}\\.service: left on its old version: the rolling replace stopped when ${S}@1\\.service failed$`, 'm'));
      const c = await kit.inspect(`${S}-${i}`);
      t.equal(c.id, kept.get(`${S}-${i}`)!.id, `${S}-${i} still runs its old container`);
      t.ok(c.env.includes('VERSION=v2'), `${S}-${i} keeps the old config`);
    }
    t.match(bad.stdout, /^load: 0 created, 1 replaced, \d+ unchanged, [12] failed, 4 held$/m, 'the template replaced, the first instance (and its sidekick) failed, two instances and their sidekicks held');
    t.notMatch(bad.stdout, new RegExp(`^${S}@1\\.service\\s+replaced\\s+active`, 'm'), 'a crash-looping new version is never reported active');
    const units = new Map(server.units().map((u) => [u.name, u]));
    t.ok(units.get(`${S}@2.service`)!.options.some((o) => o.value.includes('VERSION=v2')), 'fleet still holds the old definition of the instances not reached');
  });
});
