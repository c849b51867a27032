/**
 * `fleetkit status` for a global unit, through the fleet test server (which lists a global unit `inactive` in
 * /units wherever it runs, as fleetd v1.0.0 does, and publishes a global unit's state per machine only when
 * that machine's agent republishes): the display counts the machines that should run it, says unknown for
 * one that has published nothing yet, failed where it failed, leaves out machines its MachineMetadata does
 * not match, and exits 0 only once every machine that should run it reports it active. One and three
 * machines; the agents are stepped by hand so "published nothing yet" is a state the test holds, not a race.
 */
import t, { type Test } from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StatusModel } from '../../src/ops/status-model.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { encodeFacts } from '../../src/etcd/container-facts.js';
import { factsKey } from '../../src/etcd/key-layout.js';
import { etcdPart } from '../env/parts.js';
import { fleetServerPart, type FleetServer, type MachineSpec } from '../fleet-server/server.js';
import { runFleetkit } from '../cli/load-io.js';

const M1 = 'a1'.repeat(16);
const M2 = 'b2'.repeat(16);
const M3 = 'c3'.repeat(16);
const EDGE = 'd4'.repeat(16);
const RUNNING = { loadState: 'loaded', activeState: 'active', subState: 'running' };

const etcd = await etcdPart(t);
const client = await connectEtcd({ endpoints: etcd.endpoints });
t.teardown(() => client.close());
const prefix = `/fk-sg-${process.pid}`;
// The agents' lease, renewed every TTL/3 as an agent renews its own (a record on none is kept up by nobody).
const lease = client.lease(60);
t.teardown(() => lease.revoke().catch(() => undefined));
/** What the agent on `machine` publishes once mon's container runs there. */
const publishFacts = async (machine: string): Promise<void> => {
  const now = new Date().toISOString();
  await lease.put(factsKey(prefix, machine, 'mon.service')).value(encodeFacts({ v: 1, unit: 'mon.service', machine, phase: 'running', restarts: 0, startedAt: now, updatedAt: now }));
};
const dir = await mkdtemp(join(tmpdir(), 'fk-status-global-'));
const env = { PATH: process.env['PATH'] };
const hosts = join(dir, 'hosts');
await writeFile(hosts, '127.0.0.1 localhost\n');

async function setUp(t: Test, name: string, machines: MachineSpec[], failOn?: string): Promise<{ server: FleetServer; args: string[] }> {
  const server = await fleetServerPart(t, {
    socketPath: join(dir, `${name}.sock`),
    machines,
    // fleet's pace: a global unit's state waits for the machine's republish; `manual`: the test steps the agents.
    agent: {
      manual: true,
      fleetPace: { timeScale: 1 },
      async onLaunch(unit, m) {
        if (unit.name !== 'mon.service') return;
        if (m.id === failOn) throw new Error('container exited with status 125');
        await publishFacts(m.id);
      },
    },
  });
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `name: ${name}\nx-fleetkit: { etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} } }\nservices:\n` +
    '  mon:\n    image: local/busybox\n    command: ["sleep", "1000"]\n    x-fleet: { global: true, machineMetadata: { role: worker } }\n');
  const loaded = await runFleetkit(['load', file, '--no-wait', '--endpoint', server.endpoint], { env });
  t.equal(loaded.code, 0, loaded.stderr);
  return { server, args: ['status', file, '--endpoint', server.endpoint, '--hosts-file', hosts] };
}

/** Steps the agents until `last`'s agent has started mon.service (its state not yet published), bounded. */
async function stepUntilStarted(server: FleetServer, last: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const tr = await server.step();
    if (!tr) throw new Error('settled before mon.service started on the last machine');
    if (tr.kind === 'start' && tr.unit === 'mon.service' && tr.machineID === last) return;
  }
  throw new Error('no start of mon.service within 200 transitions');
}

/** The output from the first SERVICE on (the first line carries the time). */
const body = (stdout: string): string => stdout.slice(stdout.indexOf('\nSERVICE') + 1);

t.test('three workers and an edge machine: unknown, failed, then all active', async (t) => {
  const { server, args } = await setUp(t, 'g3', [
    { id: M1, primaryIP: '10.0.0.1', metadata: { role: 'worker' } },
    { id: M2, primaryIP: '10.0.0.2', metadata: { role: 'worker' } },
    { id: M3, primaryIP: '10.0.0.3', metadata: { role: 'worker' } },
    { id: EDGE, primaryIP: '10.0.0.4', metadata: { role: 'edge' } },
  ], M2);
  await stepUntilStarted(server, M3);
  t.same(server.states().filter((s) => s.name === 'mon.service').map((s) => [s.machineID, s.state.activeState]), [[M1, 'active'], [M2, 'failed']],
    'M3 runs it and has published nothing yet');
  t.equal(server.units().find((u) => u.name === 'mon.service')?.currentState, 'inactive', 'fleet lists the global unit inactive');

  const text = await runFleetkit(args, { env });
  t.equal(text.code, 1, 'not every worker reports it active');
  t.equal(body(text.stdout), [
    'SERVICE mon (global)',
    'mon.service  global  1/3 machines active (1 failed, 1 unknown)',
    'INSTANCE  MACHINE            DESIRED   CURRENT  ACTIVE   SUB      ANNOUNCED  AGE  HOSTS',
    'mon       a1a1a1a1/10.0.0.1  launched  -        active   running  -          -    -',
    'mon       b2b2b2b2/10.0.0.2  launched  -        failed   failed   -          -    -',
    'mon       c3c3c3c3/10.0.0.3  launched  -        unknown  -        -          -    -',
    '  ! mon.service on b2b2b2b2: failed (systemd failed/failed)',
    '  ! mon.service on c3c3c3c3: this machine should run it but has published no state for it yet (fleet republishes every 24 s): unknown',
    '',
    'SERVICE fleetkit-agent-g3 (global)',
    'fleetkit-agent-g3.service  global  4/4 machines active',
    '',
    'SERVICE fleetkit-hosts-g3 (global)',
    'fleetkit-hosts-g3.service  global  4/4 machines active',
    '',
    'MACHINES',
    'MACHINE   IP        METADATA     ON   UNITS',
    'a1a1a1a1  10.0.0.1  role=worker  yes  3',
    'b2b2b2b2  10.0.0.2  role=worker  yes  3',
    'c3c3c3c3  10.0.0.3  role=worker  yes  2',
    'd4d4d4d4  10.0.0.4  role=edge    yes  2',
    '',
    '2 problems',
    '',
  ].join('\n'));

  const json = await runFleetkit([...args, '--json'], { env });
  t.equal(json.code, 1);
  const mon = (JSON.parse(json.stdout) as StatusModel).services.find((s) => s.name === 'mon')!;
  t.same(mon.spread, { unit: 'mon.service', expected: 3, active: 1, failed: 1, unknown: 1 });
  t.same(mon.instances.map((i) => [i.machine?.id, i.current, i.active, i.flags.map((f) => f.code)]),
    [[M1, null, 'active', []], [M2, null, 'failed', ['failed']], [M3, null, null, ['not-reported']]],
    'fleet\'s inactive is not shown as the state; the edge machine is not expected');

  // M3 republishes: running. M2 still failed.
  await server.settle();
  const settled = await runFleetkit(args, { env });
  t.equal(settled.code, 1, 'one worker failed');
  t.match(settled.stdout, /^mon\.service {2}global {2}2\/3 machines active \(1 failed\)$/m);
  t.match(settled.stdout, /^mon +c3c3c3c3\/10\.0\.0\.3 +launched +- +active +running/m);

  // M3 reports a state that is neither active nor failed: counted as not active, and said.
  server.reportState('mon.service', M3, { loadState: 'loaded', activeState: 'deactivating', subState: 'stop-sigterm' });
  const going = await runFleetkit(args, { env });
  t.equal(going.code, 1);
  t.match(going.stdout, /^mon\.service {2}global {2}1\/3 machines active \(1 failed\)$/m);
  t.match(going.stdout, /^ {2}! mon\.service on c3c3c3c3: deactivating\/stop-sigterm on a machine that should run it$/m);
  server.reportState('mon.service', M3, RUNNING);

  // M2 is mended: every worker reports it active; the per-machine lines go.
  await publishFacts(M2);
  server.reportState('mon.service', M2, RUNNING);
  const up = await runFleetkit(args, { env });
  t.equal(up.code, 0, up.stdout);
  t.match(body(up.stdout), /^SERVICE mon \(global\)\nmon\.service {2}global {2}3\/3 machines active\n\nSERVICE fleetkit-agent-g3/);
  t.match(up.stdout, /everything agrees\n$/);
  t.same((JSON.parse((await runFleetkit([...args, '--json'], { env })).stdout) as StatusModel).services.find((s) => s.name === 'mon')!.spread,
    { unit: 'mon.service', expected: 3, active: 3, failed: 0, unknown: 0 });

  // The edge machine takes the worker role: it should run mon too, and until it publishes it is unknown.
  await server.setMachine(EDGE, { metadata: { role: 'worker' } });
  const grown = await runFleetkit(args, { env });
  t.equal(grown.code, 1, 'a fourth machine that has not reported');
  t.match(grown.stdout, /^mon\.service {2}global {2}3\/4 machines active \(1 unknown\)$/m);
});

t.test('one machine: unknown until it publishes, then active; a machine the metadata leaves out is not counted', async (t) => {
  const { server, args } = await setUp(t, 'g1', [{ id: M1, primaryIP: '10.0.0.1', metadata: { role: 'worker' } }]);
  await stepUntilStarted(server, M1);
  const before = await runFleetkit(args, { env });
  t.equal(before.code, 1, 'started but not reported is not active');
  t.match(before.stdout, /^mon\.service {2}global {2}0\/1 machine active \(1 unknown\)$/m);
  t.match(before.stdout, /^mon +a1a1a1a1\/10\.0\.0\.1 +launched +- +unknown +- /m);
  await server.settle();
  const after = await runFleetkit(args, { env });
  t.equal(after.code, 0, after.stdout);
  t.match(after.stdout, /^mon\.service {2}global {2}1\/1 machine active$/m);

  // The only machine stops matching: mon runs nowhere, and status says why.
  await server.setMachine(M1, { metadata: { role: 'edge' } });
  await server.settle();
  const none = await runFleetkit([...args, '--json'], { env });
  t.equal(none.code, 1);
  const mon = (JSON.parse(none.stdout) as StatusModel).services.find((s) => s.name === 'mon')!;
  t.same(mon.spread, { unit: 'mon.service', expected: 0, active: 0, failed: 0, unknown: 0 });
  t.same(mon.instances.flatMap((i) => i.flags.map((f) => f.message)), ['runs on no machine: no machine has metadata role=worker']);
});
