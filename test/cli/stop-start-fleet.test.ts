/**
 * `fleetkit stop` then `fleetkit start` through the fleet test server at fleet's own pace (5 s reconcile,
 * scaled by 0.1), on one and on three machines, each machine running what the units run (host-sim.ts: a real
 * agent per machine, real containers on the run's dockerd, the sidekicks' real `fleetkit announce`).
 *
 * What a real fleet does that used to fool them:
 * - fleet says `loaded`, and publishes systemd's end state, while `docker stop` is still waiting for the
 *   container: here each container takes 3 s over SIGTERM. stop must return only once the container is gone,
 *   as the agents' facts in etcd say, checked with `docker inspect` and `docker events`;
 * - a stopped `docker run` unit without `SuccessExitStatus=143` is left `failed` (fleetkit's units say it, so
 *   theirs end inactive), and start must not take a state from before as its outcome.
 * stop leaves the cluster's agent and hosts watcher running, and the counts say what happened. With the agent
 * gone (and its facts expired), stop does not claim the containers stopped: they are unknown, exit 1.
 */
import t, { type Test } from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { etcdReader } from '../announce/fixtures/fixture.js';
import { factsDir } from '../../src/etcd/key-layout.js';
import { fleetServerPart, type FleetServer } from '../fleet-server/server.js';
import { hostSim } from '../fleet-server/host-sim.js';
import { fleetLoadScratch, healthy, machineId } from './fleet-load.js';
import { containerEvents, containerState, isDown, stopTimes } from './docker-check.js';

// Real containers stop (3 s each over SIGTERM) and start again, on one and on three machines.
t.setTimeout(240_000);
const etcd = await etcdPart(t);
const docker = await dockerPart(t);
const client = await etcdReader(t, etcd);

const GRACE_MS = 3000;
// A service name of this run's own: the containers share the run's dockerd with other tests.
const W = `web${process.pid}`;
const CONTAINERS = [`${W}@1.service`, `${W}@2.service`, `${W}-discovery@1.service`, `${W}-discovery@2.service`];
const esc = (s: string): string => s.replace(/[@.?()]/g, '\\$&');
const HOST_UNITS = ['fleetkit-agent-shop.service', 'fleetkit-hosts-shop.service'];

const statesOf = (s: FleetServer, names: readonly string[]): string[] => s.states().filter((x) => names.includes(x.name)).map((x) => `${x.name} ${x.state.activeState}`);

async function cluster(t: Test, count: number) {
  const prefix = `/fk-stopstart-${process.pid}-${count}`;
  const scratch = await fleetLoadScratch(t, `stopstart${count}`);
  // No host ports: the simulated machines share one dockerd (see host-sim.ts).
  await writeFile(join(scratch.root, 'cluster.yaml'), `name: shop
x-fleetkit: { etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} } }
services:
  ${W}:
    image: local/httpd:latest
    # A process that finishes its work for ${GRACE_MS / 1000} s after SIGTERM, then exits 143: docker stop takes that long.
    command: ["sh", "-c", "trap 'sleep ${GRACE_MS / 1000}; exit 143' TERM; httpd -f -p 8080 -h /www & wait"]
    deploy: { replicas: 2 }
    x-fleet: { conflicts: ${count > 1} }
    x-announce: { port: 8080, ttl: 10s }
`);
  const machines = Array.from({ length: count }, (_, i) => ({ id: machineId(i + 1), primaryIP: `10.0.0.${i + 1}`, metadata: { host: `node${i + 1}` } }));
  const sim = await hostSim(t, etcd, docker, client, { prefix });
  const s = await fleetServerPart(t, { socketPath: join(scratch.root, 'fleet.sock'), machines, recordStates: true, agent: { ...sim.agent, fleetPace: { timeScale: 0.1, containerStopMs: 5_000 } } });
  sim.attach(s);
  const run = (...args: string[]) => scratch.load(s, ...args, '--stable', '0s', '--timeout', '30s');
  return { s, sim, run, prefix, machines };
}

for (const count of [1, 3]) {
  t.test(`stop then start on ${count} machine(s): both tell the truth`, async (t: Test) => {
    const { s, sim, run } = await cluster(t, count);
    const names = [`${W}-1`, `${W}-2`];

    const load = await run('load', 'cluster.yaml');
    t.equal(load.code, 0, `${load.stdout}${load.stderr}`);
    t.match(load.stdout, /^load: 8 created, 0 replaced, 0 unchanged, 0 failed$/m);
    // The machine reports a `docker run` unit active once the client runs, before its container does.
    const bothRun = () => waitFor(async () => {
      const all = await Promise.all(names.map((n) => containerState(docker, n)));
      return all.every((c) => c.state === 'running') ? all : undefined;
    }, { what: 'both containers running', timeoutMs: 20_000 });
    const first = await bothRun();

    const t0 = Date.now();
    const stop = await run('stop', 'cluster.yaml');
    const t1 = Date.now();
    t.equal(stop.code, 0, `${stop.stdout}${stop.stderr}`);
    t.match(stop.stdout, /^stop: 4 stopped, 0 failed$/m, 'the four container and sidekick units, nothing else');
    t.notMatch(stop.stdout, /fleetkit-/, 'the host units are not stopped with the spec');
    const down = await Promise.all(names.map(async (n) => (await containerState(docker, n)).state));
    t.ok(down.every(isDown), `docker inspect: when stop returns, both containers are down (${down.join(', ')})`);
    const times = stopTimes(await containerEvents(docker, names, t0 - 100, t1), names);
    for (const n of names) {
      const x = times.get(n);
      t.ok(x, `docker events: ${n} was stopped by this stop (kill, then die)`);
      if (!x) continue;
      t.ok(x.die - x.kill >= GRACE_MS - 200, `${n} took its ${GRACE_MS} ms over SIGTERM (${x.die - x.kill} ms)`);
      t.ok(x.die <= t1, `${n} died before stop returned`);
      // fleet's word came first: the server published the unit stopped while its container still ran.
      const unit = `${W}@${n.slice(-1)}.service`;
      const clockToEpoch = Date.now() - s.clock();
      const said = s.stateHistory().find((h) => h.name === unit && h.state?.activeState === 'inactive' && h.at + clockToEpoch >= t0);
      t.ok(said && said.at + clockToEpoch < x.die, `fleet published ${unit} inactive before its container died`);
    }
    t.same(s.units().filter((u) => CONTAINERS.includes(u.name)).map((u) => u.desiredState), CONTAINERS.map(() => 'loaded'));
    t.ok(statesOf(s, CONTAINERS.slice(0, 2)).every((x) => x.endsWith(' inactive')), 'a requested stop is clean: the units say SuccessExitStatus=143, so docker run\'s 143 leaves them inactive, not failed');
    t.same(s.units().filter((u) => HOST_UNITS.includes(u.name)).map((u) => u.desiredState), ['launched', 'launched'], 'agent and hosts watcher keep running');
    t.ok(statesOf(s, HOST_UNITS).every((x) => x.endsWith(' active')), 'and are active on every machine');

    const again = await run('stop', 'cluster.yaml');
    t.equal(again.code, 0, `${again.stdout}${again.stderr}`);
    t.match(again.stdout, /^stop: 0 stopped, 0 failed, 4 unchanged$/m, 'a second stop stops nothing and says so');

    const start = await run('start', 'cluster.yaml');
    t.equal(start.code, 0, `${start.stdout}${start.stderr}`);
    t.match(start.stdout, /^start: 0 created, 0 replaced, 4 unchanged, 4 started, 0 failed$/m, 'the four stopped units counted as started, not failed');
    for (const u of CONTAINERS) t.match(start.stdout, new RegExp(`^${esc(u)}\\s+started\\s+active`, 'm'));
    t.ok(statesOf(s, CONTAINERS).every((x) => x.endsWith(' active')), 'every unit active in fleet\'s state');
    const now = await bothRun();
    t.ok(now.every((c, i) => c.id !== first[i]!.id), 'new containers, started by start');
    t.same(sim.errors, [], 'no sidekick command failed');
    healthy(t, s);
  });
}

t.test('stop with the agent gone: the containers are unknown, not stopped (exit 1)', async (t: Test) => {
  const { s, run, prefix, machines } = await cluster(t, 1);
  const load = await run('load', 'cluster.yaml');
  t.equal(load.code, 0, `${load.stdout}${load.stderr}`);
  // The agent stops, and its facts expire with its lease (deleted here rather than waited for).
  const agentDown = await run('stop', 'fleetkit-agent-shop.service');
  t.equal(agentDown.code, 0, `${agentDown.stdout}${agentDown.stderr}`);
  await client.delete().prefix(factsDir(prefix)).exec();

  const stop = await run('stop', 'cluster.yaml');
  t.equal(stop.code, 1, `no facts: exit 1\n${stop.stdout}${stop.stderr}`);
  t.match(stop.stdout, /^stop: 2 stopped, 0 failed, 2 unknown$/m, 'the sidekicks stopped (they run no container); the two containers are unknown');
  for (const u of CONTAINERS.slice(0, 2)) {
    t.match(stop.stdout, new RegExp(`^${esc(u)}\\s+stopped\\s+unknown`, 'm'), `${u}: unknown, not stopped`);
    t.match(stop.stderr, `${u}: no agent reports its container on ${machines[0]!.id.slice(0, 8)} in etcd at ${etcd.clientUrl} (prefix ${prefix}) (is the cluster's fleetkit agent running there?): whether it stopped is unknown`);
  }
  t.notMatch(stop.stdout, /^stop: 4 stopped/m);
  t.same(s.units().filter((u) => CONTAINERS.includes(u.name)).map((u) => u.desiredState), CONTAINERS.map(() => 'loaded'), 'the stop itself was carried out');
  healthy(t, s);
});

t.test('unload and destroy wait until the containers are down, and take the agent down last', async (t: Test) => {
  const { s, run, prefix } = await cluster(t, 1);
  const names = [`${W}-1`, `${W}-2`];
  const load = await run('load', 'cluster.yaml');
  t.equal(load.code, 0, `${load.stdout}${load.stderr}`);
  const bothRun = () => waitFor(async () => {
    const all = await Promise.all(names.map((n) => containerState(docker, n)));
    return all.every((c) => c.state === 'running') ? all : undefined;
  }, { what: 'both containers running', timeoutMs: 20_000 });
  await bothRun();

  // fleet forgets an unloaded or destroyed unit at once; its container takes 3 s over SIGTERM. The destroy names
  // the two container units (their agent stays: a spec's destroy removes it after them, which takes a while).
  const steps = [
    { verb: 'unload', args: ['cluster.yaml'], count: /^unload: 6 unloaded, 0 failed$/m },
    { verb: 'destroy', args: [`${W}@1.service`, `${W}@2.service`, '--etcd', etcd.clientUrl, '--etcd-prefix', prefix], count: /^destroy: 2 destroyed, 0 absent, 0 failed$/m },
  ] as const;
  for (const { verb, args, count } of steps) {
    const t0 = Date.now();
    const r = await run(verb, ...args);
    const t1 = Date.now();
    t.equal(r.code, 0, `${verb}: exit 0\n${r.stdout}${r.stderr}`);
    t.match(r.stdout, count, `${verb}: the true count`);
    const down = await Promise.all(names.map(async (n) => (await containerState(docker, n)).state));
    t.ok(down.every(isDown), `${verb}: docker inspect: when it returns, both containers are down (${down.join(', ')})`);
    const times = stopTimes(await containerEvents(docker, names, t0 - 100, t1), names);
    for (const n of names) t.ok(times.get(n) && times.get(n)!.die <= t1, `${verb}: docker events: ${n} was stopped by it and died before it returned`);
    if (verb === 'unload') {
      t.same(s.units().filter((u) => [...CONTAINERS, ...HOST_UNITS].includes(u.name)).map((u) => u.desiredState), [...CONTAINERS, ...HOST_UNITS].map(() => 'inactive'), 'every unit unloaded, the agent and hosts watcher too');
      const start = await run('start', 'cluster.yaml');
      t.equal(start.code, 0, `${start.stdout}${start.stderr}`);
      await bothRun();
    }
  }
  const rest = await run('destroy', 'cluster.yaml', '--no-block');
  t.equal(rest.code, 0, `${rest.stdout}${rest.stderr}`);
  t.match(rest.stdout, /^destroy: 6 destroyed, 2 absent, 0 failed$/m, 'the rest of the cluster; the two destroyed before are absent');
  t.match(rest.stderr, /^not waited \(--no-block\): the host took the request; the containers may run until their stop timeout \(fleetkit status shows when they are down\)$/m, '--no-block says what it did not wait for');
  t.same(s.units().map((u) => u.name).filter((n) => n.includes(W) || HOST_UNITS.includes(n)), [], 'destroy removed every unit');
  healthy(t, s);
});
