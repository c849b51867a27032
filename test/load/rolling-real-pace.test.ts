/**
 * The rolling replace at fleet's real pace (time scale 1), the one test that does not scale fleet's clock:
 * the simulated machine's agent reconciles every 5 s, unloads at most one unit per reconcile, and reads
 * systemd once a second as fleet's unit state generator does (agent/reconcile.go, unit/generator.go; the
 * pace seen on a real fleet v1.0.0 is in reference/fleet.md). Two instances with their sidekicks run on the
 * real systemd, dockerd and etcd through the agent simulation (./fleet-machine.ts), and the roll is judged as
 * the fast test judges it (./rolling-fleet.test.ts):
 * - never more than one instance down, from `docker events`, from the announcements in etcd and from the
 *   server's state history;
 * - every instance ends running the new config: a new container with the new command, environment and the
 *   config hash label of fleet's new definition (`docker inspect`);
 * - load's summary is true: the template and both instances replaced, nothing failed.
 * Slow (about a minute): each step of the roll waits for a real 5 s reconcile.
 */
import t from 'tap';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart } from '../env/parts.js';
import { ensureBundle } from '../e2e/e2e-cluster.js';
import { runFleetkit } from '../cli/load-io.js';
import { AGENT_RECONCILE_MS } from '../fleet-server/server.js';
import { fleetOnSystemd } from './fleet-machine.js';
import { announcedThroughout, configHashIn, downs, oneAtATime, rollingKit, runsNewVersion, V2_COMMAND } from './rolling-kit.js';

t.setTimeout(300_000);
const etcd = await etcdPart(t);
const sd = await systemdPart(t);
const docker = await dockerPart(t);
await ensureBundle();
const kit = await rollingKit(t, etcd, docker, { tag: 'p', instances: 2 });
const { S, instances: INSTANCES } = kit;

t.test('at fleet\'s real pace: one instance at a time, each really restarted with the new config', async (t) => {
  const server = await fleetOnSystemd(t, sd, { machineId: kit.machineId, socketPath: join(kit.dir, 'fleet.sock'), timeScale: 1 });
  const env = { FLEETCTL_ENDPOINT: server.endpoint };
  // Waiting for fleet to unload four units at one per reconcile would add 20 s and test nothing here.
  t.teardown(async () => void (await runFleetkit(['destroy', join(kit.dir, 'cluster.yaml'), '--no-block'], { env })));
  const keys = await kit.watchKeys(t);
  const l0 = Date.now();
  const first = await runFleetkit(['load', await kit.writeSpec({ version: 'v1' }), '--stable', '1s', '--timeout', '60s'], { env });
  t.equal(first.code, 0, `${first.stdout}${first.stderr}`);
  t.comment(`first load of ${INSTANCES.length} instances at real pace: ${Date.now() - l0} ms`);
  await kit.allAnnounced(keys.present);
  const before = await kit.inspectAll();

  const recording = await kit.recordEvents(t);
  const t0 = Date.now();
  const since = server.clock();
  const logFrom = keys.log.length;
  const r = await runFleetkit(['load', await kit.writeSpec({ version: 'v2', command: V2_COMMAND }), '--replace', '--stable', '1s', '--timeout', '120s'], { env });
  const t1 = Date.now();
  t.comment(`rolling replace of ${INSTANCES.length} instances at real pace: ${t1 - t0} ms`);
  t.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  t.match(r.stdout, /^load: 0 created, 3 replaced, \d+ unchanged, 0 failed$/m, 'the template and its two instances replaced, nothing failed');
  for (const i of INSTANCES) t.match(r.stdout, new RegExp(`^${S}@${i}\\.service\\s+replaced\\s+active`, 'm'));
  // Each instance takes three reconciles that cannot share one: its stop, its new version's unload, load and
  // start, then its sidekick's start (sent once the unit runs). Six in all, five full intervals apart at least:
  // a lower bound, so a busy machine cannot break it, while a scaled or immediate agent would.
  t.ok(t1 - t0 >= (3 * INSTANCES.length - 1) * AGENT_RECONCILE_MS * 0.95, `the roll waited for fleet's reconciles (${t1 - t0} ms)`);

  const { most, times } = downs(kit, server.stateHistory(), since);
  t.equal(most, 1, 'fleet\'s state history: never more than one instance down');
  t.same(times, [1, 1], 'each instance went down once');
  // fleet's new definition of each instance names the config hash its container must carry.
  const hashOf = (i: string): string | undefined => configHashIn(server.units().find((u) => u.name === `${S}@${i}.service`)!.options.map((o) => o.value).join('\n'));
  await runsNewVersion(t, kit, before, { version: 'v2', command: V2_COMMAND, t0, hashOf });
  const timeline = await recording.stop();
  t.comment(`docker: ${timeline.map(([at, a, n]) => `${a} ${n} +${at - t0}`).join(', ')}`);
  oneAtATime(t, kit, timeline);
  await kit.allAnnounced(keys.present);
  announcedThroughout(t, kit, keys.log.slice(logFrom).filter(([at]) => at >= t0 && at <= t1 + 5000), timeline);
});
