// The simulated engine places units the way fleetd v1.0.0 does: MachineID, MachineMetadata (AND across keys,
// OR within a key), MachineOf (peer must be there; followers move), Conflicts (globs, both ways), Replaces,
// Global (every matching machine, no machineID), least-loaded with ties by machine id; unschedulable units
// stay without a machineID.
import t from 'tap';
import { rawRequest } from './raw-request.js';
import { fleetServerPart, type FleetServer } from './server.js';

const A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const C = 'cccccccccccccccccccccccccccccccc';
const machines = [
  { id: C, primaryIP: '10.0.0.3', metadata: { region: 'us', disk: 'hdd' } },
  { id: A, primaryIP: '10.0.0.1', metadata: { region: 'eu', disk: 'ssd' } },
  { id: B, primaryIP: '10.0.0.2', metadata: { region: 'us', disk: 'ssd' } },
];

async function launch(s: FleetServer, name: string, xfleet: [string, string][] = [], desiredState = 'launched'): Promise<number> {
  const options = [{ section: 'Service', name: 'ExecStart', value: '/bin/sleep 1' }, ...xfleet.map(([k, v]) => ({ section: 'X-Fleet', name: k, value: v }))];
  const res = await rawRequest(s, 'tcp', { method: 'PUT', path: `/fleet/v1/units/${name}`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ desiredState, options }) });
  return res.crashed ? 0 : res.status;
}
const where = (s: FleetServer, name: string): string | undefined => s.units().find((u) => u.name === name)?.machineID;

t.test('least loaded, ties by machine id', async (t) => {
  const s = await fleetServerPart(t, { machines });
  for (const n of ['u1', 'u2', 'u3', 'u4']) await launch(s, `${n}.service`);
  t.same(['u1', 'u2', 'u3', 'u4'].map((n) => where(s, `${n}.service`)), [A, B, C, A]);
  t.same(s.units().map((u) => u.currentState), ['launched', 'launched', 'launched', 'launched']);
});

t.test('MachineMetadata: AND across keys, OR within a key, malformed pairs ignored', async (t) => {
  const s = await fleetServerPart(t, { machines });
  await launch(s, 'and.service', [['MachineMetadata', 'region=us'], ['MachineMetadata', 'disk=ssd']]);
  await launch(s, 'or.service', [['MachineMetadata', '"disk=hdd" "disk=nvme"']]);
  await launch(s, 'none.service', [['MachineMetadata', 'region=mars']]);
  await launch(s, 'junk.service', [['MachineMetadata', 'region'], ['MachineMetadata', 'a=b=c'], ['MachineMetadata', 'disk=ssd region=eu']]);
  t.equal(where(s, 'and.service'), B);
  t.equal(where(s, 'or.service'), C);
  t.equal(where(s, 'none.service'), undefined, 'unschedulable: no machineID');
  t.equal(s.units().find((u) => u.name === 'none.service')?.currentState, 'inactive');
  // "region", "a=b=c" and "disk=ssd region=eu" (one value, two '=') are all silently ignored: no constraint
  t.equal(where(s, 'junk.service'), A);
});

t.test('Conflicts are globs checked both ways', async (t) => {
  const s = await fleetServerPart(t, { machines: machines.slice(1) });
  await launch(s, 'web1.service', [['Conflicts', 'web*.service']]);
  await launch(s, 'web2.service', [['Conflicts', 'web*.service']]);
  await launch(s, 'web3.service', [['Conflicts', 'web*.service']]);
  t.equal(where(s, 'web1.service'), A);
  t.equal(where(s, 'web2.service'), B);
  t.equal(where(s, 'web3.service'), undefined);
  // only the other side declares the conflict
  await launch(s, 'db.service');
  await launch(s, 'cache.service', [['Conflicts', 'd?.service']]);
  t.not(where(s, 'cache.service'), where(s, 'db.service'));
  // freeing a machine lets the waiting unit in
  await rawRequest(s, 'tcp', { method: 'DELETE', path: '/fleet/v1/units/web1.service' });
  t.equal(where(s, 'web3.service'), A);
});

t.test('MachineOf: peer must be scheduled there, followers move with it', async (t) => {
  const s = await fleetServerPart(t, { machines });
  await launch(s, 'side.service', [['MachineOf', 'main.service']]);
  t.equal(where(s, 'side.service'), undefined, 'no peer yet');
  await launch(s, 'filler.service');
  await launch(s, 'main.service', [['MachineMetadata', 'region=us']]);
  t.equal(where(s, 'main.service'), B);
  t.equal(where(s, 'side.service'), B);
  await s.setMachine(B, { metadata: { region: 'eu', disk: 'ssd' } });
  t.equal(where(s, 'main.service'), C, 'main moved off a machine that no longer matches');
  t.equal(where(s, 'side.service'), C, 'follower moved with it');
  t.same(s.states().filter((x) => x.machineID === B), [], 'nothing left on the old machine');
});

t.test('Replaces moves the replaced unit to another machine', async (t) => {
  const s = await fleetServerPart(t, { machines: machines.slice(1) });
  await launch(s, 'old.service');
  t.equal(where(s, 'old.service'), A);
  await launch(s, 'x.service', [['MachineID', A]]);
  await launch(s, 'new.service', [['Replaces', 'old.service'], ['MachineMetadata', 'region=eu']]);
  t.equal(where(s, 'new.service'), A);
  t.equal(where(s, 'old.service'), B);
});

t.test('Global: every matching machine, no machineID, currentState inactive, one state per machine', async (t) => {
  const s = await fleetServerPart(t, { machines });
  t.equal(await launch(s, 'g.service', [['Global', 'true'], ['MachineMetadata', 'disk=ssd']]), 201);
  t.same(s.states().map((x) => x.machineID), [A, B]);
  const res = await rawRequest(s, 'tcp', { method: 'GET', path: '/fleet/v1/units/g.service' });
  t.notOk(!res.crashed && /machineID/.test(res.body), 'no machineID');
  t.match(!res.crashed && res.body, /"currentState":"inactive"/, 'fleet has no target machine for it, so it lists it inactive');
  await s.setMachine(C, { metadata: { region: 'us', disk: 'ssd' } });
  t.same(s.states().map((x) => x.machineID), [A, B, C]);
  await s.setMachine(A, { online: false });
  t.same(s.states().map((x) => x.machineID), [B, C]);
});

t.test('MachineID pins; templates are never scheduled', async (t) => {
  const s = await fleetServerPart(t, { machines });
  await launch(s, 'pin.service', [['MachineID', C]]);
  t.equal(where(s, 'pin.service'), C);
  t.equal(await launch(s, 'tpl@.service', [], 'inactive'), 201);
  t.equal(where(s, 'tpl@.service'), undefined);
});

t.test('desired states move currentState and /state like an agent', async (t) => {
  const s = await fleetServerPart(t, { machines: machines.slice(1, 2), agent: { manual: true } });
  await launch(s, 'a.service');
  const kinds: string[] = [];
  for (let step = await s.step(); step; step = await s.step()) kinds.push(step.kind);
  t.same(kinds, ['schedule', 'load', 'start', 'publish']);
  t.same(s.states()[0]?.state, { loadState: 'loaded', activeState: 'active', subState: 'running' });
  await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: { 'Content-Type': 'application/json' }, body: '{"desiredState":"loaded"}' });
  await s.settle();
  t.same(s.states()[0]?.state, { loadState: 'loaded', activeState: 'inactive', subState: 'dead' });
  t.equal(s.units()[0]?.currentState, 'loaded');
  await rawRequest(s, 'tcp', { method: 'PUT', path: '/fleet/v1/units/a.service', headers: { 'Content-Type': 'application/json' }, body: '{"desiredState":"inactive"}' });
  await s.settle();
  t.same(s.states(), []);
  t.same([s.units()[0]?.currentState, s.units()[0]?.machineID], ['inactive', undefined]);
});

t.test('agent hooks see the unit text and decide the published state', async (t) => {
  const calls: string[] = [];
  const s = await fleetServerPart(t, {
    machines: machines.slice(1, 2),
    agent: {
      onLoad: (u) => void calls.push(`load ${u.name} ${JSON.stringify(u.text)}`),
      onLaunch: () => ({ loadState: 'loaded', activeState: 'failed', subState: 'failed' }),
      onUnload: (u, m) => void calls.push(`unload ${u.name} ${m.id}`),
    },
  });
  await launch(s, 'h.service');
  t.same(s.states()[0]?.state.activeState, 'failed');
  await rawRequest(s, 'tcp', { method: 'DELETE', path: '/fleet/v1/units/h.service' });
  t.same(calls, ['load h.service "[Service]\\nExecStart=/bin/sleep 1\\n"', `unload h.service ${A}`]);
});
