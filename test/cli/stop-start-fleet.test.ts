/**
 * `fleetkit stop` then `fleetkit start` through the fleet test server at fleet's own pace (5 s reconcile,
 * scaled by 0.1), on one and on three machines, with the two things a real fleet does that used to fool
 * them: fleet says `loaded` while systemd still reports the stop under way (`containerStopMs`), and a stopped
 * `docker run` unit without `SuccessExitStatus=143` is left `failed` (fleetkit's units now say it, so theirs end
 * inactive). stop must wait until the units are really down and leave the cluster's agent and hosts watcher
 * running; start must not take the failed state from before as its outcome; the counts say what happened.
 */
import t, { type Test } from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fleetServerPart, type FleetServer } from '../fleet-server/server.js';
import { fleetLoadScratch, healthy, machineId } from './fleet-load.js';

const SPEC = `name: shop
services:
  web:
    image: local/httpd:latest
    deploy: { replicas: 2 }
    x-announce: { port: 8080 }
`;

const CONTAINERS = ['web@1.service', 'web@2.service', 'web-discovery@1.service', 'web-discovery@2.service'];
const HOST_UNITS = ['fleetkit-agent-shop.service', 'fleetkit-hosts-shop.service'];

const statesOf = (s: FleetServer, names: readonly string[]): string[] => s.states().filter((x) => names.includes(x.name)).map((x) => `${x.name} ${x.state.activeState}`);

for (const count of [1, 3]) {
  t.test(`stop then start on ${count} machine(s): both tell the truth`, async (t: Test) => {
    const scratch = await fleetLoadScratch(t, `stopstart${count}`);
    await writeFile(join(scratch.root, 'cluster.yaml'), SPEC);
    const machines = Array.from({ length: count }, (_, i) => ({ id: machineId(i + 1), primaryIP: `10.0.0.${i + 1}` }));
    const s = await fleetServerPart(t, { socketPath: join(scratch.root, 'fleet.sock'), machines, agent: { fleetPace: { timeScale: 0.1, containerStopMs: 5_000 } } });
    // The test server runs no agent, so nothing is announced: load and start wait for the units' states only.
    const run = (...args: string[]) => scratch.load(s, ...args, '--stable', '0s', '--timeout', '30s', ...(args[0] === 'stop' ? [] : ['--no-announcements']));

    const load = await run('load', 'cluster.yaml');
    t.equal(load.code, 0, `${load.stdout}${load.stderr}`);
    t.match(load.stdout, /^load: 8 created, 0 replaced, 0 unchanged, 0 failed$/m);

    const stop = await run('stop', 'cluster.yaml');
    t.equal(stop.code, 0, `${stop.stdout}${stop.stderr}`);
    t.match(stop.stdout, /^stop: 4 stopped, 0 failed$/m, 'the four container and sidekick units, nothing else');
    t.notMatch(stop.stdout, /fleetkit-/, 'the host units are not stopped with the spec');
    t.same(statesOf(s, CONTAINERS).filter((x) => /deactivating|active$/.test(x) && !/inactive$/.test(x)), [], 'when stop returns, no unit is still stopping or running');
    t.same(s.units().filter((u) => CONTAINERS.includes(u.name)).map((u) => u.desiredState), CONTAINERS.map(() => 'loaded'));
    t.ok(statesOf(s, ['web@1.service', 'web@2.service']).every((x) => x.endsWith(' inactive')), 'a requested stop is clean: the units say SuccessExitStatus=143, so docker run\'s 143 leaves them inactive, not failed');
    t.same(s.units().filter((u) => HOST_UNITS.includes(u.name)).map((u) => u.desiredState), ['launched', 'launched'], 'agent and hosts watcher keep running');
    t.ok(statesOf(s, HOST_UNITS).every((x) => x.endsWith(' active')), 'and are active on every machine');

    const again = await run('stop', 'cluster.yaml');
    t.equal(again.code, 0);
    t.match(again.stdout, /^stop: 0 stopped, 0 failed, 4 unchanged$/m, 'a second stop stops nothing and says so');

    const start = await run('start', 'cluster.yaml');
    t.equal(start.code, 0, `${start.stdout}${start.stderr}`);
    t.match(start.stdout, /^start: 0 created, 0 replaced, 4 unchanged, 4 started, 0 failed$/m, 'the four stopped units counted as started, not failed');
    for (const u of CONTAINERS) t.match(start.stdout, new RegExp(`^${u.replace(/[@.]/g, '\\$&')}\\s+started\\s+active`, 'm'));
    t.ok(statesOf(s, CONTAINERS).every((x) => x.endsWith(' active')), 'every unit active in fleet\'s state');
    healthy(t, s);
  });
}
