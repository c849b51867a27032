/**
 * `fleetkit status` when fleet or D-Bus cannot be reached, as a real process (so a connection left open
 * would keep it alive and fail the test): a local listener that accepts and never answers, one that accepts
 * and closes at once, and a missing socket. With etcd unreachable too there is nothing to show: one line
 * naming the endpoint and what to check, within --timeout. With etcd reachable, its announcements are shown
 * and the unreachable source is named as what could not be seen.
 */
import t from 'tap';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEtcd } from '../../src/etcd/connect.js';
import { announcementKey } from '../../src/etcd/key-layout.js';
import { etcdPart, freePort } from '../env/parts.js';
import { fleetkitProcess } from '../support/reach.js';

const dir = await mkdtemp(join(tmpdir(), 'fk-status-reach-'));
const etcd = await etcdPart(t);

/** A listener on `path`; `onConn` decides what becomes of each connection. */
async function listener(path: string, onConn: (s: Socket) => void): Promise<void> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    onConn(s);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

const silentSock = join(dir, 'silent.sock');
await listener(silentSock, () => undefined); // accepts, never says a word
const closingSock = join(dir, 'closing.sock');
await listener(closingSock, (s) => s.destroy()); // accepts, closes at once
const missingSock = join(dir, 'nothing-here.sock');
const closedPort = await freePort(); // nothing listens there

const P = `sr${process.pid}`;
const prefix = `/fk-sr-${process.pid}`;
const spec = join(dir, 'cluster.yaml');
await writeFile(spec, `name: ${P}\nservices:\n  web:\n    image: local/busybox:latest\n    x-announce: { port: 80 }\n`);

const fleetkit = fleetkitProcess;

const busCheck = 'is the user manager running\\? check DBUS_SESSION_BUS_ADDRESS';
const fleetCheck = 'is fleetd running there\\? check --endpoint or FLEETCTL_ENDPOINT';
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const noEtcd = ['--etcd', `http://127.0.0.1:${closedPort}`];
const cases: { name: string; args: string[]; env?: Record<string, string>; reason: string; line: (why: string) => RegExp }[] = [
  { name: 'D-Bus, silent socket', args: [spec, '--systemd', '--user'], env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${silentSock}` }, reason: 'no answer within 3000 ms',
    line: (why) => new RegExp(`^fleetkit status: D-Bus at unix:path=${esc(silentSock)}: ${why}; ${busCheck}$`) },
  { name: 'D-Bus, a socket closed at once', args: [spec, '--systemd', '--user'], env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${closingSock}` }, reason: 'the connection was closed without an answer',
    line: (why) => new RegExp(`^fleetkit status: D-Bus at unix:path=${esc(closingSock)}: ${why}; ${busCheck}$`) },
  { name: 'D-Bus, no socket', args: [spec, '--systemd', '--user'], env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${missingSock}` }, reason: 'no such socket',
    line: (why) => new RegExp(`^fleetkit status: D-Bus at unix:path=${esc(missingSock)}: ${why}; ${busCheck}$`) },
  { name: 'fleet, silent socket', args: ['--endpoint', `unix://${silentSock}`], reason: 'no answer within 3000 ms',
    line: (why) => new RegExp(`^fleetkit status: fleet at unix://${esc(silentSock)}: ${why}; ${fleetCheck}$`) },
  { name: 'fleet, a socket closed at once', args: ['--endpoint', `unix://${closingSock}`], reason: 'the connection was closed without an answer',
    line: (why) => new RegExp(`^fleetkit status: fleet at unix://${esc(closingSock)}: .*${why}.*; ${fleetCheck}$`) },
];

for (const c of cases) {
  t.test(`${c.name}, etcd unreachable too: one line within --timeout`, async (t) => {
    const r = await fleetkit(['status', ...c.args, ...noEtcd, '--timeout', '3s'], c.env ?? {});
    t.equal(r.killed, false, 'the process ended by itself (no connection left holding it)');
    t.equal(r.code, 1);
    t.equal(r.stdout, '');
    t.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    t.match(r.stderr.trimEnd(), c.line(c.reason));
    // Node's start and the bundle's load come on top of the timeout; a socket left open would hold it 20 s.
    t.ok(r.ms < 12_000, `ended after ${r.ms} ms`);
  });
}

t.test('D-Bus silent, etcd reachable: the announcement is shown, the bus named as what could not be seen', async (t) => {
  const client = await connectEtcd({ endpoints: etcd.endpoints });
  t.teardown(() => client.close());
  await client.put(announcementKey(prefix, P, 'web', '1')).value(JSON.stringify({ ip: '10.9.0.1', port: 80, hostname: 'web-1', host: 'h', machine: 'f'.repeat(32), container: 'web-1', version: 1, time: new Date().toISOString() }));
  const withEtcd = join(dir, 'with-etcd.yaml');
  await writeFile(withEtcd, `name: ${P}\nx-fleetkit:\n  etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }\nservices:\n  web:\n    image: local/busybox:latest\n    x-announce: { port: 80 }\n`);
  const hosts = join(dir, 'hosts');
  await writeFile(hosts, `127.0.0.1 localhost\n# BEGIN fleetkit ${P}\n10.9.0.1 web-1 web-1.${P}\n# END fleetkit ${P}\n`);
  const r = await fleetkit(['status', withEtcd, '--systemd', '--user', '--hosts-file', hosts, '--machine-id', 'f'.repeat(32), '--timeout', '3s'],
    { DBUS_SESSION_BUS_ADDRESS: `unix:path=${silentSock}` });
  t.equal(r.killed, false, 'the process ended by itself');
  t.equal(r.code, 1);
  t.equal(r.stderr, '', r.stdout);
  t.match(r.stdout, /^web@1 +- +- +- +- +- +10\.9\.0\.1:80 +\d+s +yes$/m, 'the announcement and its hosts line');
  t.match(r.stdout, new RegExp(`^warning: units unknown: D-Bus at unix:path=${esc(silentSock)}: no answer within 3000 ms; ${busCheck}$`, 'm'));
  t.match(r.stdout, /\n1 part could not be seen\n$/);
});
