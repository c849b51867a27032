/**
 * `start UNIT…` and `stop UNIT…` by name through fleet's API (the fleet test server with one simulated
 * machine that runs what the units run: host-sim.ts, the real agent, the container's own `docker run` on the
 * run's dockerd, the sidekick's real `fleetkit announce`).
 *
 * fleet's agent launches only what fleet holds `launched`: a sidekick fleet holds `inactive` is on no machine
 * for the container unit's `Wants=` to start, and one it holds `loaded` stays `loaded` to fleet even where
 * systemd starts it (the test server's machines carry out no `Wants=`: here it is not started at all). So a
 * start by name launches the sidekick with its container unit, and a stop by name stops it; both are rows of
 * their own, and both find the etcd of the facts they wait on through the cluster's agent unit. A sidekick that
 * is not on fleet at all (only `web@.service` was submitted) means the container is never announced: start
 * says so at once, naming it, instead of waiting out --timeout.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { announcementKey } from '../../src/etcd/key-layout.js';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { etcdReader } from '../announce/fixtures/fixture.js';
import { simulatedFleet } from '../fleet-server/host-sim.js';
import { fleetLoadScratch, healthy, machineId } from './fleet-load.js';
import { runFleetkit } from './load-io.js';

t.setTimeout(240_000);
const etcd = await etcdPart(t);
const docker = await dockerPart(t);
const client = await etcdReader(t, etcd);
const P = `snf${process.pid}`;
// A service name of this run's own: the containers share the run's dockerd with other tests.
const W = `w${process.pid}`;
const prefix = `/fk-snf-${process.pid}`;
const scratch = await fleetLoadScratch(t, 'start-names-fleet');
const { server } = await simulatedFleet(t, etcd, docker, client, { prefix, socketPath: join(scratch.root, 'fleet.sock'), machines: [{ id: machineId(1), primaryIP: '10.0.0.1' }] });
const spec = join(scratch.root, 'cluster.yaml');
await writeFile(spec, `name: ${P}
x-fleetkit:
  etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }
services:
  ${W}:
    image: local/httpd:latest
    x-announce: { port: 8080, ttl: 10s }
`);
const fk = (...args: string[]) => runFleetkit(args, { env: { FLEETCTL_ENDPOINT: server.endpoint, PATH: process.env['PATH'] }, cwd: scratch.root });
const UNIT = `${W}@1.service`;
const SIDEKICK = `${W}-discovery@1.service`;
const key = announcementKey(prefix, P, W, '1');
const desiredOf = (name: string): string | undefined => server.units().find((u) => u.name === name)?.desiredState;
const esc = (s: string): string => s.replace(/[@.]/g, '\\$&');

t.test('start by name launches the sidekick its container unit wants; stop by name takes it down', async (t) => {
  const load = await fk('load', spec, '--no-start');
  t.equal(load.code, 0, `${load.stdout}${load.stderr}`);
  t.equal(desiredOf(SIDEKICK), 'loaded', 'loaded, not started');
  const agent = await fk('start', `fleetkit-agent-${P}.service`, '--stable', '0s', '--timeout', '30s');
  t.equal(agent.code, 0, `${agent.stdout}${agent.stderr}`);

  const start = await fk('start', UNIT, '--stable', '0s', '--timeout', '40s');
  t.equal(start.code, 0, `${start.stdout}${start.stderr}`);
  t.match(start.stdout, /^start: 0 created, 0 replaced, 0 unchanged, 2 started, 0 failed$/m, 'the sidekick counted in its own row');
  t.match(start.stdout, new RegExp(`^${esc(SIDEKICK)} +started +active`, 'm'));
  t.equal(desiredOf(SIDEKICK), 'launched', 'fleet holds the sidekick launched');
  t.match(JSON.parse((await client.get(key).string()) ?? '{}'), { container: `${W}-1`, port: 8080, machine: machineId(1) }, 'etcd announces the container');

  const stop = await fk('stop', UNIT, '--timeout', '30s');
  t.equal(stop.code, 0, `${stop.stdout}${stop.stderr}`);
  t.match(stop.stdout, /^stop: 2 stopped, 0 failed$/m);
  t.equal(desiredOf(SIDEKICK), 'loaded', 'the sidekick is stopped with it: fleet no longer holds it launched');
  await waitFor(async () => (await client.get(key).string()) === null || undefined, { what: 'the announcement withdrawn', timeoutMs: 15_000 });

  // A stop never raises a target: a sidekick fleet holds only submitted stays so.
  t.equal((await fk('unload', SIDEKICK, '--timeout', '30s')).code, 0);
  const again = await fk('stop', UNIT, '--timeout', '30s');
  t.equal(again.code, 0, `${again.stdout}${again.stderr}`);
  t.notMatch(again.stdout, new RegExp(esc(SIDEKICK)), 'no row for it');
  t.equal(desiredOf(SIDEKICK), 'inactive', 'still inactive, not loaded by a stop');
  healthy(t, server);
});

t.test('a sidekick that is not on fleet: start fails at once, naming it and what to do', async (t) => {
  // As if only web@.service had been submitted (fleetctl submit): neither the instances nor the sidekick's template.
  const gone = await fk('destroy', UNIT, SIDEKICK, `${W}-discovery@.service`, '--timeout', '30s');
  t.equal(gone.code, 0, `${gone.stdout}${gone.stderr}`);
  t.same(server.units().filter((u) => u.name.startsWith(W)).map((u) => u.name), [`${W}@.service`]);

  const t0 = Date.now();
  const start = await fk('start', UNIT, '--stable', '0s', '--timeout', '60s');
  const took = Date.now() - t0;
  t.equal(start.code, 1, `${start.stdout}${start.stderr}`);
  t.match(start.stdout, /^start: 0 created, 0 replaced, 0 unchanged, 0 started, 1 failed$/m);
  t.match(start.stderr, new RegExp(`^${esc(UNIT)}: active, but never announced: its discovery sidekick ${esc(SIDEKICK)} \\(its Wants=\\) is not on fleet at \\S+, nor its template ${esc(`${W}-discovery@.service`)}, so nothing announces its container: load the cluster's spec \\(fleetkit load SPEC --no-start\\) or submit it \\(fleetctl submit ${esc(`${W}-discovery@.service`)}\\)`, 'm'));
  t.ok(took < 30_000, `said at once, not at the 60 s timeout (${took} ms)`);
  t.equal(desiredOf(UNIT), 'launched', 'the container unit itself was started, from its template');
  healthy(t, server);
});
