/**
 * The seed example cluster, rendered in memory and loaded into the fleet test server with three simulated
 * machines: placement follows its [X-Fleet] options and a second load sends no PUT.
 */
import t from 'tap';
import { join } from 'node:path';
import { examplesDir, fleetLoadScratch, healthy, machineId, machineOf, putUnits, runningOn } from './fleet-load.js';

const scratch = await fleetLoadScratch(t, 'load-seed');
const { server } = scratch;
// The test server runs no agent, so nothing is announced: load and start wait for the units' states only.
const load: typeof scratch.load = (s, verb, ...rest) => scratch.load(s, verb!, ...rest, ...(verb === 'load' || verb === 'start' ? ['--no-announcements'] : []));

t.test('the seed example loads onto three machines, one apache per machine, sidekicks beside them', async (t) => {
  const machines = [1, 2, 3].map((i) => ({ id: machineId(i), primaryIP: `10.0.0.${i}`, metadata: { region: 'east' } }));
  const s = await server(t, machines);
  const r = await load(s, 'load', join(examplesDir, 'seed/cluster.yaml'));
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /load: 8 created, 0 replaced, 0 unchanged, 0 failed/);
  t.not(machineOf(s, 'apache@1.service'), machineOf(s, 'apache@2.service'), 'Conflicts=apache@*.service');
  t.equal(machineOf(s, 'apache-discovery@1.service'), machineOf(s, 'apache@1.service'), 'MachineOf');
  t.equal(machineOf(s, 'apache-discovery@2.service'), machineOf(s, 'apache@2.service'), 'MachineOf');
  t.same(runningOn(s, 'fleetkit-agent-web.service'), machines.map((m) => m.id), 'the global agent on every machine');
  const templates = s.units().filter((u) => u.name.includes('@.'));
  t.same(templates.map((u) => u.desiredState), ['inactive', 'inactive'], 'templates submitted, never activated');
  const before = putUnits(s).length;
  const again = await load(s, 'load', join(examplesDir, 'seed/cluster.yaml'));
  t.equal(again.code, 0, again.stderr);
  t.equal(putUnits(s).length, before, 'a second load sends zero PUTs');
  t.match(again.stdout, /load: 0 created, 0 replaced, 8 unchanged, 0 failed/);
  healthy(t, s);
});

t.test('destroying the cluster takes fleetkit\'s own units last, after every unit they serve is gone', async (t) => {
  const machines = [1, 2].map((i) => ({ id: machineId(i), primaryIP: `10.0.0.${i}`, metadata: { region: 'east' } }));
  const s = await server(t, machines);
  t.equal((await load(s, 'load', join(examplesDir, 'seed/cluster.yaml'))).code, 0);
  const r = await load(s, 'destroy', join(examplesDir, 'seed/cluster.yaml'));
  // No agent runs here to report the containers down: destroy says so (unknown, exit 1), and still removes all.
  t.equal(r.code, 1, r.stderr);
  t.match(r.stdout, /^destroy: 6 destroyed, 0 absent, 0 failed, 2 unknown$/m);
  for (const u of ['apache@1.service', 'apache@2.service']) t.match(r.stderr, new RegExp(`^${u.replace(/[@.]/g, '\\$&')}: .*whether its container stopped is unknown$`, 'm'), `${u}: unknown, not destroyed`);
  const deletes = s.requests.filter((q) => q.method === 'DELETE').map((q) => q.path.replace(/^.*\/units\//, ''));
  t.equal(deletes.length, 8, 'every unit destroyed');
  const firstOwn = deletes.findIndex((n) => n.startsWith('fleetkit-'));
  t.same(deletes.slice(firstOwn).sort(), ['fleetkit-agent-web.service', 'fleetkit-hosts-web.service'], 'agent and hosts watcher are the last DELETEs');
  const lastStateRead = s.requests.map((q, i) => ({ q, i })).filter(({ q }) => q.method === 'GET' && q.path.endsWith('/state')).filter(({ i }) => i < s.requests.findIndex((q) => q.method === 'DELETE' && q.path.includes('fleetkit-')));
  t.ok(lastStateRead.length > 0, 'fleet\'s state was read (the other units seen gone) before they were destroyed');
  t.same(s.units(), [], 'nothing left in fleet');
  healthy(t, s);
});
