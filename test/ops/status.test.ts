/**
 * `fleetkit status` against the fleet test server (three machines, simulated agents) and the real etcd of
 * the test environment: a running and announced instance, a failed one, one that Conflicts keeps from
 * being scheduled (with the reason), and a stale announcement written straight into etcd. Then
 * `status --systemd --user` against the real systemd for a small set of units.
 */
import t from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEtcd } from '../../src/etcd/connect.js';
import type { StatusModel } from '../../src/ops/status-model.js';
import { encodeFacts } from '../../src/etcd/container-facts.js';
import { factsKey } from '../../src/etcd/key-layout.js';
import { etcdPart, freePort, systemdPart, waitFor } from '../env/parts.js';
import { fleetServerPart, type MachineSpec } from '../fleet-server/server.js';
import { runFleetkit } from '../cli/load-io.js';
import { startFleetkit } from './stream-io.js';

const M1 = 'a1'.repeat(16);
const M2 = 'b2'.repeat(16);
const M3 = 'c3'.repeat(16);
const machines: MachineSpec[] = [
  { id: M1, primaryIP: '10.0.0.1', metadata: { role: 'worker' } },
  { id: M2, primaryIP: '10.0.0.2', metadata: { role: 'worker' } },
  { id: M3, primaryIP: '10.0.0.3', metadata: { role: 'edge' } },
];

const etcd = await etcdPart(t);
const client = await connectEtcd({ endpoints: etcd.endpoints });
t.teardown(() => client.close());
const prefix = `/fk-status-${process.pid}`;
const dir = await mkdtemp(join(tmpdir(), 'fk-status-'));
const env = { PATH: process.env['PATH'] };

function spec(services: string): string {
  return `name: ops\netcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }\nservices:\n${services}`;
}

const record = (o: { ip: string; hostname: string; machine: string; time: string; container: string }): string =>
  JSON.stringify({ ip: o.ip, port: 80, hostname: o.hostname, host: 'h', machine: o.machine, container: o.container, version: 1, time: o.time });

t.test('status joins fleet, etcd and the hosts file, and flags every disagreement', async (t) => {
  const server = await fleetServerPart(t, {
    socketPath: join(dir, 'fleet.sock'),
    machines,
    agent: {
      onLaunch(unit) {
        if (unit.name === 'web@2.service') throw new Error('container exited with status 125');
      },
    },
  });
  const file = join(dir, 'cluster.yaml');
  await writeFile(file, spec(
    '  web:\n    image: local/httpd\n    ports: ["80:80"]\n    deploy: { replicas: 3 }\n' +
    '    x-fleet: { conflicts: true, machineMetadata: { role: worker } }\n    x-announce: { port: 80, ttl: 30s }\n' +
    '  cache:\n    image: local/busybox\n    ports: ["80"]\n    x-announce: { port: 80, ttl: 10s }\n',
  ));
  const loaded = await runFleetkit(['load', file, '--no-wait', '--endpoint', server.endpoint], { env });
  t.equal(loaded.code, 0, loaded.stderr);
  const where = new Map(server.units().map((u) => [u.name, u.machineID]));
  const m1 = where.get('web@1.service')!;
  const m2 = where.get('web@2.service')!;
  const mc = where.get('cache@1.service')!;
  t.ok(m1 && m2 && mc, 'web@1, web@2 and cache@1 are scheduled');
  t.equal(where.get('web@3.service'), undefined, 'web@3 is not: two worker machines, Conflicts');

  const lease = client.lease(30);
  t.teardown(() => lease.revoke().catch(() => undefined));
  const now = new Date().toISOString();
  await lease.put(`${prefix}/ops/web/1`).value(record({ ip: '10.1.1.1', hostname: 'web-1', machine: m1, time: now, container: 'web-1' }));
  await lease.put(`${prefix}/ops/web/2`).value(record({ ip: '10.1.2.1', hostname: 'web-2', machine: m2, time: now, container: 'web-2' }));
  // What the agents on m1 and mc publish of their containers (web@2 failed: its agent saw nothing run).
  for (const [unit, machine] of [['web@1.service', m1], ['cache@1.service', mc]] as const) {
    await lease.put(factsKey(prefix, machine, unit)).value(encodeFacts({ v: 1, unit, machine, phase: 'running', restarts: 0, startedAt: now, updatedAt: now }));
  }
  const old = new Date(Date.now() - 300_000).toISOString();
  await client.put(`${prefix}/ops/cache/1`).value(record({ ip: '10.1.3.1', hostname: 'cache-1', machine: mc, time: old, container: 'cache-1' }));
  t.teardown(() => client.delete().prefix(`${prefix}/`).then(() => undefined));
  const hosts = join(dir, 'hosts');
  await writeFile(hosts, '127.0.0.1 localhost\n# BEGIN fleetkit ops\n# Managed by fleetkit\n10.1.1.1 web-1 web-1.ops\n10.1.2.1 web-2 web-2.ops\n# END fleetkit ops\n');

  const args = ['status', file, '--endpoint', server.endpoint, '--hosts-file', hosts];
  const r = await runFleetkit([...args, '--json'], { env });
  t.equal(r.code, 1, 'exit 1: something is flagged');
  const model = JSON.parse(r.stdout) as StatusModel;
  const web = model.services.find((s) => s.name === 'web')!;
  const row = (svc: string, unit: string) => model.services.find((s) => s.name === svc)!.instances.find((i) => i.unit === unit)!;

  const w1 = row('web', 'web@1.service');
  t.match(w1, { machine: { id: m1 }, desired: 'launched', current: 'launched', active: 'active', sub: 'running', hosts: true });
  t.match(w1.announcement, { ip: '10.1.1.1', port: 80, hostname: 'web-1', leased: true, stale: false });
  t.match(w1, { restarts: 0, lastExit: null }, 'fleet keeps no restart count: the agent\'s facts give it');
  t.ok(w1.announcement!.ageSeconds! <= 5, 'fresh');
  t.same(w1.flags, [], 'running and announced: no flag');

  const w2 = row('web', 'web@2.service');
  t.match(w2, { active: 'failed', sub: 'failed', machine: { id: m2 } });
  t.same(w2.flags.map((f) => [f.code, f.severity]), [['failed', 'ERROR'], ['not-running', 'WARNING']]);
  t.match(w2.flags[1]!.message, 'announced as 10.1.2.1 but not running');

  const w3 = row('web', 'web@3.service');
  t.equal(w3.machine, null);
  t.equal(w3.flags.length, 1);
  const [a, b] = [m1, m2].sort();
  const unitOn = (m: string) => (m === m1 ? 'web@1.service' : 'web@2.service');
  t.equal(w3.flags[0]!.code, 'unscheduled');
  t.equal(w3.flags[0]!.message,
    `never scheduled: conflicts with ${unitOn(a!)} on ${a!.slice(0, 8)} and ${unitOn(b!)} on ${b!.slice(0, 8)}: every machine that qualifies has a conflicting unit`);
  t.equal(web.ttl, 30);

  const c1 = row('cache', 'cache@1.service');
  t.match(c1, { active: 'active', hosts: false });
  t.match(c1.announcement, { ip: '10.1.3.1', leased: false, stale: true });
  t.ok(c1.announcement!.ageSeconds! >= 300);
  t.same(c1.flags.map((f) => f.code), ['stale', 'not-in-hosts']);
  t.match(c1.flags[0]!.message, /^announcement is 5m\d*s? old, older than its TTL of 10s, and no lease will remove it$/);

  t.same(model.machines.map((m) => [m.id, m.ip, m.on]), [[M1, '10.0.0.1', true], [M2, '10.0.0.2', true], [M3, '10.0.0.3', true]]);
  t.same(model.machines.find((m) => m.id === M3)!.metadata, { role: 'edge' });
  t.ok(model.machines.every((m) => m.units >= 1), 'unit counts include fleetkit\'s global units');
  t.ok(model.services.some((s) => s.name === 'fleetkit-agent-ops' && s.global && s.instances.length === 3), 'the global agent on each machine');
  t.notOk(model.services.some((s) => s.name.endsWith('-discovery')), 'sidekicks are shown through their service');

  const text = await runFleetkit(args, { env });
  t.equal(text.code, 1);
  t.match(text.stdout, /^SERVICE web, announced with TTL 30s$/m);
  t.match(text.stdout, new RegExp(`^web@1 +${m1.slice(0, 8)}/10\\.0\\.0\\.\\d +launched +launched +active +running +10\\.1\\.1\\.1:80 +\\d+s +yes$`, 'm'));
  t.match(text.stdout, /^ {2}! web@3\.service: never scheduled: conflicts with/m);
  t.match(text.stdout, /^ {2}! cache@1\.service: announcement is 5m/m);
  t.notMatch(text.stdout, /\x1b\[/, 'no colour when piped');

  // Machine M3 goes away: it is shown as not on, and its unit as moved or gone.
  await server.setMachine(M3, { online: false });
  const after = JSON.parse((await runFleetkit([...args, '--json'], { env })).stdout) as StatusModel;
  t.notOk(after.machines.some((m) => m.id === M3 && m.on), 'an offline machine is not on');
});

t.test('no fleet endpoint: what etcd holds is still shown, and fleet named as what could not be seen', async (t) => {
  await client.put(`${prefix}/ops/web/1`).value(record({ ip: '10.1.1.1', hostname: 'web-1', machine: M1, time: new Date().toISOString(), container: 'web-1' }));
  t.teardown(() => client.delete().prefix(`${prefix}/`).then(() => undefined));
  const r = await runFleetkit(['status', '--etcd', etcd.clientUrl, '--etcd-prefix', prefix, '--hosts-file', join(dir, 'none')], { env });
  t.equal(r.code, 1);
  t.equal(r.stderr, '');
  t.match(r.stdout, /^web@1 +- +- +- +- +- +10\.1\.1\.1:80 /m, 'the announcement is shown');
  t.match(r.stdout, 'warning: units unknown: fleet at unix:///var/run/fleet.sock: no such socket; is fleetd running there? check --endpoint or FLEETCTL_ENDPOINT\n');
  t.match(r.stdout, /\n1 part could not be seen\n$/);
  t.notMatch(r.stdout, /everything agrees/);
  // Neither fleet nor etcd: nothing to show, one line naming fleet.
  const none = await runFleetkit(['status', '--etcd', `http://127.0.0.1:${await freePort()}`], { env: { ...env, FLEETCTL_ENDPOINT: `unix://${dir}/nothing.sock` } });
  t.equal(none.code, 1);
  t.equal(none.stdout, '');
  t.equal(none.stderr, `fleetkit status: fleet at unix://${dir}/nothing.sock: no such socket; is fleetd running there? check --endpoint or FLEETCTL_ENDPOINT\n`);
});

t.test('status --systemd --user reads the real systemd over D-Bus', async (t) => {
  const sd = await systemdPart(t);
  const P = `fkst${process.pid}`;
  await writeFile(join(sd.unitDir, `${P}@.service`), '[Service]\nExecStart=/bin/sleep 1000\n');
  await writeFile(join(sd.unitDir, `${P}-bad@.service`), '[Service]\nExecStart=/bin/sh -c "exit 3"\n');
  t.teardown(async () => {
    await sd.systemctl(['stop', `${P}@1.service`, `${P}@2.service`]);
    await sd.systemctl(['reset-failed', `${P}-bad@1.service`]);
  });
  t.equal((await sd.systemctl(['daemon-reload'])).code, 0);
  t.equal((await sd.systemctl(['start', `${P}@1.service`])).code, 0);
  await sd.systemctl(['start', `${P}-bad@1.service`]);
  await waitFor(async () => (await sd.systemctl(['is-failed', `${P}-bad@1.service`])).stdout.trim() === 'failed', { what: `${P}-bad@1 failed` });
  const file = join(dir, 'local.yaml');
  await writeFile(file, spec(
    `  ${P}:\n    image: x\n    deploy: { replicas: 2 }\n    x-announce: { port: 80, ttl: 30s }\n` +
    `  ${P}-bad:\n    image: x\n  ${P}-none:\n    image: x\n`,
  ));
  const lease = client.lease(30);
  t.teardown(() => lease.revoke().catch(() => undefined));
  await lease.put(`${prefix}/ops/${P}/1`).value(record({ ip: '10.2.0.1', hostname: `${P}-1`, machine: 'f'.repeat(32), time: new Date().toISOString(), container: `${P}-1` }));

  const r = await runFleetkit(['status', file, '--systemd', '--user', '--json', '--hosts-file', join(dir, 'absent'), '--machine-id', 'f'.repeat(32)], { env: { ...env, ...sd.env } });
  t.equal(r.code, 1, r.stderr);
  const model = JSON.parse(r.stdout) as StatusModel;
  t.equal(model.source, 'systemd');
  const rows = model.services.flatMap((s) => s.instances.map((i) => [i.unit, i.desired, i.active, i.sub, i.announcement?.ip ?? null, i.flags.map((f) => f.code)]));
  t.same(rows, [
    [`${P}@1.service`, null, 'active', 'running', '10.2.0.1', []],
    [`${P}@2.service`, null, 'inactive', 'dead', null, []],
    [`${P}-bad@1.service`, null, 'failed', 'failed', null, ['failed']],
    [`${P}-none@1.service`, null, 'inactive', 'dead', null, ['not-loaded']],
  ]);
  t.same(model.machines, [{ id: 'f'.repeat(32), ip: null, metadata: {}, on: true, units: 3 }]);

  await sd.systemctl(['stop', `${P}@1.service`]);
  const stopped = JSON.parse((await runFleetkit(['status', file, '--systemd', '--user', '--json', '--hosts-file', join(dir, 'absent')], { env: { ...env, ...sd.env } })).stdout) as StatusModel;
  const s1 = stopped.services[0]!.instances[0]!;
  t.match(s1, { unit: `${P}@1.service`, active: 'inactive' });
  t.same(s1.flags.map((f) => f.code), ['not-running'], 'still announced after its unit stopped');
});

t.test('--watch re-renders when an announcement changes; colour only on a terminal without NO_COLOR', async (t) => {
  const server = await fleetServerPart(t, { socketPath: join(dir, 'watch.sock'), machines });
  const file = join(dir, 'watch.yaml');
  const watchPrefix = `${prefix}-w`;
  await writeFile(file, `name: ops\netcd: { endpoints: [${etcd.clientUrl}], prefix: ${watchPrefix} }\nservices:\n  api:\n    image: x\n    x-announce: { port: 80 }\n`);
  t.teardown(() => client.delete().prefix(`${watchPrefix}/`).then(() => undefined));
  const args = ['status', file, '--endpoint', server.endpoint, '--hosts-file', join(dir, 'absent')];
  const run = startFleetkit([...args, '--watch', '--json', '--interval', '200ms'], { env });
  t.teardown(() => run.stop());
  const first = await run.waitLine(/^\{/);
  t.equal((JSON.parse(first.line) as StatusModel).services[0]!.instances[0]!.announcement, null);
  await client.put(`${watchPrefix}/ops/api/1`).value(record({ ip: '10.7.0.1', hostname: 'api-1', machine: M1, time: new Date().toISOString(), container: 'api-1' }));
  const next = await run.waitLine(/10\.7\.0\.1/, { from: first.index + 1 });
  const model = JSON.parse(next.line) as StatusModel;
  t.match(model.services[0]!.instances[0]!, { unit: 'api@1.service', announcement: { ip: '10.7.0.1' } });
  t.same(model.services[0]!.instances[0]!.flags.map((f) => f.code), ['not-loaded', 'not-running']);
  t.equal(await run.stop(), 0, 'ends cleanly when interrupted');

  const tty = startFleetkit(args, { env, tty: true });
  await tty.done;
  t.match(tty.lines.join('\n'), /\x1b\[1mSERVICE api\x1b\[0m/, 'colour on a terminal');
  const noColor = startFleetkit(args, { env: { ...env, NO_COLOR: '1' }, tty: true });
  await noColor.done;
  t.notMatch(noColor.lines.join('\n'), /\x1b\[/, 'none with NO_COLOR');
});

t.test('etcd unreachable: the units are still shown, announcements marked unknown', async (t) => {
  const server = await fleetServerPart(t, { socketPath: join(dir, 'noetcd.sock'), machines });
  const file = join(dir, 'noetcd.yaml');
  await writeFile(file, 'name: ops\netcd: { endpoints: [http://127.0.0.1:9] }\nservices:\n  api:\n    image: x\n    x-announce: { port: 80 }\n');
  t.equal((await runFleetkit(['load', file, '--no-wait', '--endpoint', server.endpoint], { env })).code, 0);
  const started = Date.now();
  const r = await runFleetkit(['status', file, '--endpoint', server.endpoint, '--hosts-file', join(dir, 'absent')], { env });
  t.comment(`status with etcd down took ${Date.now() - started} ms`);
  t.equal(r.code, 1);
  t.match(r.stdout, /^api@1 +\S+ +launched +launched +active +running +- +- +-$/m, 'the unit is shown');
  t.match(r.stdout, /^warning: announcements unknown: etcd at http:\/\/127\.0\.0\.1:9: connection refused; is etcd running and reachable there\? check --etcd/m);
  t.notMatch(r.stdout, /not announced/, 'unknown is not "not announced"');
  const bad = await runFleetkit(['status', file, '--endpoint', server.endpoint, '--etcd', 'localhost'], { env });
  t.equal(bad.code, 2);
  t.match(bad.stderr, 'etcd endpoint "localhost" is not a URL of the form http(s)://host:port');
});
