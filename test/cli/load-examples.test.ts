/**
 * The seed example cluster, rendered in memory and loaded into the fleet test server with three simulated
 * machines: placement follows its [X-Fleet] options and a second load sends no PUT.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetServerPart, type FleetServer, type MachineSpec } from '../fleet-server/server.js';
import { runFleetkit } from './load-io.js';

const root = await mkdtemp(join(tmpdir(), 'fk-load-seed-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
const examples = join(import.meta.dirname, '../../examples');
let n = 0;
const id = (i: number): string => i.toString(16).padStart(32, '0');

async function server(t: Test, machines: MachineSpec[]): Promise<FleetServer> {
  return fleetServerPart(t, { socketPath: join(root, `fleet-${n++}.sock`), machines });
}
function healthy(t: Test, s: FleetServer): void {
  t.same(s.bugsTriggered, [], 'no fleetd bug triggered');
  t.notOk(s.units().some((u) => u.poisoned), 'no poisoned unit');
}
const load = (s: FleetServer, ...args: string[]) => runFleetkit(args, { env: { FLEETCTL_ENDPOINT: s.endpoint }, cwd: root });
const puts = (s: FleetServer) => s.requests.filter((r) => r.method === 'PUT').map((r) => decodeURIComponent(r.path.replace('/fleet/v1/units/', '')));
const machineOf = (s: FleetServer, unit: string) => s.units().find((u) => u.name === unit)?.machineID;
const runningOn = (s: FleetServer, unit: string) => s.states().filter((x) => x.name === unit && x.state.activeState === 'active').map((x) => x.machineID).sort();

t.test('the seed example loads onto three machines, one apache per machine, sidekicks beside them', async (t) => {
  const machines = [1, 2, 3].map((i) => ({ id: id(i), primaryIP: `10.0.0.${i}`, metadata: { region: 'east' } }));
  const s = await server(t, machines);
  const r = await load(s, 'load', join(examples, 'seed/cluster.yaml'));
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /load: 8 created, 0 replaced, 0 unchanged, 0 failed/);
  t.not(machineOf(s, 'apache@1.service'), machineOf(s, 'apache@2.service'), 'Conflicts=apache@*.service');
  t.equal(machineOf(s, 'apache-discovery@1.service'), machineOf(s, 'apache@1.service'), 'MachineOf');
  t.equal(machineOf(s, 'apache-discovery@2.service'), machineOf(s, 'apache@2.service'), 'MachineOf');
  t.same(runningOn(s, 'fleetkit-agent.service'), machines.map((m) => m.id), 'the global agent on every machine');
  const templates = s.units().filter((u) => u.name.includes('@.'));
  t.same(templates.map((u) => u.desiredState), ['inactive', 'inactive'], 'templates submitted, never activated');
  const before = puts(s).length;
  const again = await load(s, 'load', join(examples, 'seed/cluster.yaml'));
  t.equal(again.code, 0, again.stderr);
  t.equal(puts(s).length, before, 'a second load sends zero PUTs');
  t.match(again.stdout, /load: 0 created, 0 replaced, 8 unchanged, 0 failed/);
  healthy(t, s);
});
