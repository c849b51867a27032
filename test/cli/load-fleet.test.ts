/**
 * `fleetkit load|start|stop|unload|destroy` against the fleet test server with several simulated machines,
 * from unit files: scheduling follows [X-Fleet], a second load sends no PUT, a change replaces exactly the
 * changed units, and refusals and dropped connections give clear messages and a non-zero exit — never a
 * poisoned unit.
 */
import t, { type Test } from 'tap';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetServerPart, type FleetServer, type MachineSpec } from '../fleet-server/server.js';
import { runFleetkit } from './load-io.js';

const M1 = '1'.repeat(32);
const M2 = '2'.repeat(32);
const M3 = '3'.repeat(32);
const machines: MachineSpec[] = [
  { id: M1, primaryIP: '10.0.0.1', metadata: { disk: 'ssd', role: 'worker' } },
  { id: M2, primaryIP: '10.0.0.2', metadata: { disk: 'hdd', role: 'worker' } },
  { id: M3, primaryIP: '10.0.0.3', metadata: { disk: 'hdd', role: 'edge' } },
];

const root = await mkdtemp(join(tmpdir(), 'fk-load-fleet-'));
t.teardown(() => rm(root, { recursive: true, force: true }));
let n = 0;

/** A fresh server and a directory of unit files. */
async function fixture(t: Test): Promise<{ server: FleetServer; dir: string; files: string[]; load: (...args: string[]) => ReturnType<typeof runFleetkit> }> {
  const dir = await mkdtemp(join(root, 'units-'));
  await writeFile(join(dir, 'web@.service'), '[Unit]\nDescription=web %i\n\n[Service]\nExecStart=/bin/sleep 1000\n\n[X-Fleet]\nConflicts=web@*.service\n');
  await writeFile(join(dir, 'db.service'), '[Service]\nExecStart=/bin/sleep 1001\n\n[X-Fleet]\nMachineMetadata=disk=ssd\n');
  await writeFile(join(dir, 'mon.service'), '[Service]\nExecStart=/bin/sleep 1002\n\n[X-Fleet]\nGlobal=true\nMachineMetadata=role=worker\n');
  const server = await fleetServerPart(t, { socketPath: join(root, `fleet-${n++}.sock`), machines });
  const files = ['web@1.service', 'web@2.service', 'web@3.service', 'db.service', 'mon.service'].map((f) => join(dir, f));
  const load = (...args: string[]) => runFleetkit(args, { env: { FLEETCTL_ENDPOINT: server.endpoint }, cwd: dir });
  return { server, dir, files, load };
}

/** fleetd's bugs were never triggered and nothing is poisoned. */
function healthy(t: Test, server: FleetServer): void {
  t.same(server.bugsTriggered, [], 'no fleetd bug triggered');
  t.notOk(server.units().some((u) => u.poisoned), 'no poisoned unit');
}

const puts = (server: FleetServer) => server.requests.filter((r) => r.method === 'PUT');

t.test('load schedules by [X-Fleet] and waits until every unit is active', async (t) => {
  const { server, files, load } = await fixture(t);
  const r = await load('load', ...files);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /load: 5 created, 0 replaced, 0 unchanged, 0 failed/);
  const units = new Map(server.units().map((u) => [u.name, u]));
  const webMachines = ['web@1.service', 'web@2.service', 'web@3.service'].map((w) => units.get(w)!.machineID);
  t.equal(new Set(webMachines).size, 3, 'Conflicts: one web per machine');
  t.equal(units.get('db.service')!.machineID, M1, 'MachineMetadata disk=ssd');
  const mon = server.states().filter((s) => s.name === 'mon.service').map((s) => s.machineID).sort();
  t.same(mon, [M1, M2], 'Global on the role=worker machines only');
  t.ok(server.states().filter((s) => s.name !== 'mon.service').every((s) => s.state.activeState === 'active'));
  t.notOk(units.has('web@.service') && units.get('web@.service')!.desiredState !== 'inactive', 'a template stays inactive');
  t.equal(puts(server).length, 5, 'one PUT per unit: options and desired state together');
  t.match(r.stderr, /^web@1.service active$/m, 'a plain line per unit without a terminal');
  healthy(t, server);
});

t.test('a second load sends no PUT; a change is refused without --replace and replaces exactly its units with it', async (t) => {
  const { server, dir, files, load } = await fixture(t);
  t.equal((await load('load', ...files)).code, 0);
  const first = puts(server).length;
  const again = await load('load', ...files, '--json');
  t.equal(again.code, 0, again.stderr);
  t.equal(puts(server).length, first, 'zero PUTs');
  t.same(JSON.parse(again.stdout).totals, { created: 0, replaced: 0, unchanged: 5, failed: 0 });

  await writeFile(join(dir, 'web@.service'), '[Unit]\nDescription=web %i\n\n[Service]\nExecStart=/bin/sleep 2000\n\n[X-Fleet]\nConflicts=web@*.service\n');
  const refused = await load('load', ...files);
  t.equal(refused.code, 1);
  t.equal(puts(server).length, first, 'nothing sent when a unit differs');
  t.match(refused.stderr, /web@1.service: differs from the unit in fleet; nothing was changed \(use --replace to replace it\)/);
  t.match(refused.stderr, /- \[Service\] ExecStart=\/bin\/sleep 1000\n\s+\+ \[Service\] ExecStart=\/bin\/sleep 2000/);

  const replaced = await load('load', ...files, '--replace');
  t.equal(replaced.code, 0, replaced.stderr);
  t.match(replaced.stdout, /3 replaced, 2 unchanged/);
  // One instance at a time: stopped (desiredState loaded), then its new version sent launched.
  const sent = puts(server).slice(first).map((r) => { const b = JSON.parse(r.body) as { desiredState: string; options?: unknown[] }; return `${r.path.split('/').pop()} ${b.options ? 'new' : ''}${b.desiredState}`; });
  t.same(sent, [1, 2, 3].flatMap((i) => [`web@${i}.service loaded`, `web@${i}.service newlaunched`]));
  t.ok(server.units().filter((u) => u.name.startsWith('web@')).every((u) => u.options.some((o) => o.value === '/bin/sleep 2000')));
  t.ok(server.states().every((s) => s.state.activeState === 'active'));
  healthy(t, server);
});

t.test('stop, unload and destroy move units the way fleetctl does', async (t) => {
  const { server, files, load } = await fixture(t);
  t.equal((await load('load', ...files)).code, 0);
  const stop = await load('stop', 'web@1.service', 'db');
  t.equal(stop.code, 0, stop.stderr);
  const units = () => new Map(server.units().map((u) => [u.name, u]));
  t.equal(units().get('web@1.service')!.desiredState, 'loaded');
  t.equal(units().get('db.service')!.currentState, 'loaded', 'a bare name gets .service like fleetctl');
  t.equal((await load('unload', 'web@1.service')).code, 0);
  t.equal(units().get('web@1.service')!.currentState, 'inactive');
  const started = await load('start', 'web@1.service', 'web@4.service');
  t.equal(started.code, 1, 'web@4 cannot run: three machines, Conflicts');
  t.match(started.stderr, /web@4.service: cannot be placed on the 3 machines of fleet at .*: conflicts with web@1.service on \w{8}, web@2.service on \w{8} and web@3.service on \w{8}: every machine that qualifies has a conflicting unit; nothing was changed/);
  t.equal(units().get('web@1.service')!.desiredState, 'inactive', 'nothing was changed');
  t.equal((await load('start', 'web@1.service', 'web@4.service', '--no-block')).code, 0, 'without a wait there is no judgement: fleet keeps web@4 until a machine can take it');
  t.same(units().get('web@4.service')!.options, units().get('web@1.service')!.options, 'the instance carries the full options of the template beside it');
  const gone = await load('destroy', 'web@1.service', 'web@2.service', 'web@3.service', 'web@4.service', 'db', 'mon', 'nothere', '--timeout', '5s');
  t.equal(gone.code, 0, gone.stderr);
  t.same(server.units().map((u) => u.name), [], 'nothing left in fleet');
  t.same(server.states(), [], 'nothing left on the machines');
  t.equal(server.requests.filter((r) => r.method === 'DELETE').length, 6, 'no DELETE for a unit fleet does not have');
  t.match(gone.stdout, /nothere.service\s+absent/);
  healthy(t, server);
});

for (const fault of [
  { name: '409', inject: { status: 409, body: { error: { code: 409, message: 'must provide DesiredState to update existing unit' } } }, message: /fleet refused db.service: must provide DesiredState to update existing unit \(409\)/ },
  { name: '415', inject: { status: 415, body: { error: { code: 415, message: 'only acceptable Content-Type is application/json' } } }, message: /fleet refused db.service: only acceptable Content-Type is application\/json \(415\)/ },
  { name: '500', inject: { status: 500 }, message: /fleet failed on db.service: internal error with no message \(500\)/ },
  { name: 'closed connection', inject: { closeConnection: true, times: 2 }, message: /fleet closed the connection without answering PUT db.service/ },
] as const) {
  t.test(`an injected ${fault.name} on one PUT: a clear message, exit 1, the rest loaded, nothing poisoned`, async (t) => {
    const { server, files, load } = await fixture(t);
    server.inject({ method: 'PUT', path: '/fleet/v1/units/db.service', ...fault.inject });
    const r = await load('load', ...files);
    t.equal(r.code, 1);
    t.match(r.stderr, fault.message);
    t.match(r.stdout, /load: 4 created, 0 replaced, 0 unchanged, 1 failed/);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const retry = await load('load', ...files);
    t.equal(retry.code, 0, 'a second run completes the load');
    t.match(retry.stdout, /load: 1 created, 0 replaced, 4 unchanged, 0 failed/);
    healthy(t, server);
  });
}

t.test('an unreachable fleet is one sentence, exit 1', async (t) => {
  const r = await runFleetkit(['load', join(root, 'x.service'), '--endpoint', `unix://${root}/none.sock`], { cwd: root });
  t.equal(r.code, 2, 'a missing unit file is a usage error');
  t.match(r.stderr, /cannot find unit file/);
  await writeFile(join(root, 'x.service'), '[Service]\nExecStart=/bin/true\n');
  const r2 = await runFleetkit(['load', join(root, 'x.service'), '--endpoint', `unix://${root}/none.sock`], { cwd: root });
  t.equal(r2.code, 1);
  t.match(r2.stderr, `cannot reach fleet at unix://${root}/none.sock: no such socket`);
});
