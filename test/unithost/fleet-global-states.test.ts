/**
 * The fleet adapter's states of a global unit, which runs on several machines and has one row per machine in
 * fleet's /state: `activeState` folds them for health (active only when every machine is), and `runningOn`
 * names the machines where it may still run, so that `mayRun` (down means: on no machine) does not take one
 * stopped machine for the whole unit. Through the fleet test server with three machines.
 */
import t from 'tap';
import { fleetServerPart } from '../fleet-server/server.js';
import { rawRequest } from '../fleet-server/raw-request.js';
import { machineId } from '../cli/fleet-load.js';
import { fleetEndpointFrom } from '../../src/fleet/endpoint.js';
import { openUnitHost } from '../../src/unithost/open-unit-host.js';
import { mayRun } from '../../src/unithost/unit-host.js';

const machines = [1, 2, 3].map((i) => ({ id: machineId(i), primaryIP: `10.0.0.${i}` }));
const RUNNING = { loadState: 'loaded', activeState: 'active', subState: 'running' };
const DEAD = { loadState: 'loaded', activeState: 'inactive', subState: 'dead' };
const STOPPING = { loadState: 'loaded', activeState: 'deactivating', subState: 'stop-sigterm' };

t.test('a global unit stopped on one machine of three still runs: not down', async (t) => {
  const s = await fleetServerPart(t, { machines, tcp: true });
  const host = await openUnitHost({ kind: 'fleet', endpoint: fleetEndpointFrom(s.endpoint, {}), requestTimeoutMs: 10_000, parallel: 4 });
  t.teardown(() => host.close());
  const options = [{ section: 'Service', name: 'ExecStart', value: '/bin/true' }, { section: 'X-Fleet', name: 'Global', value: 'true' }];
  const res = await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/mon.service', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ desiredState: 'launched', options }) });
  t.equal(res.crashed ? 0 : res.status, 201, 'a global unit, launched: the agents start it on every machine');
  const states = async () => (await host.states(['mon.service'])).get('mon.service')!;
  let st = await states();
  t.equal(st.activeState, 'active', 'active on every machine');
  t.same([...st.runningOn!].sort(), machines.map((m) => m.id));
  t.ok(mayRun(st));

  s.reportState('mon.service', machines[1]!.id, DEAD);
  st = await states();
  t.equal(st.activeState, 'inactive', 'the fold for health: not active, since one machine is not');
  t.same([...st.runningOn!].sort(), [machines[0]!.id, machines[2]!.id], 'the two machines that still run it');
  t.ok(mayRun(st), 'so it is not down');

  s.reportState('mon.service', machines[0]!.id, DEAD);
  s.reportState('mon.service', machines[2]!.id, STOPPING);
  st = await states();
  t.ok(mayRun(st), 'a machine still stopping it: not down');
  s.reportState('mon.service', machines[2]!.id, DEAD);
  st = await states();
  t.same(st.runningOn, [], 'no machine runs it');
  t.notOk(mayRun(st), 'down');
});
