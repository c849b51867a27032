/**
 * `fleetkit events` when a source cannot be reached, as a real process (so a connection left open would
 * keep it alive and fail the test): against a local listener that accepts and never answers and against a
 * closed port or socket, for fleet, D-Bus and etcd, each exits within its --timeout with one line naming
 * the endpoint and what to check. And a bus lost mid-stream is said once, reconnected, and the change made
 * while it was away is reported when it is back.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, systemdPart } from '../env/parts.js';
import { startFleetkit } from './stream-io.js';
import { cuttableProxy, fleetkitProcess } from '../support/reach.js';

const dir = await mkdtemp(join(tmpdir(), 'fk-reach-'));
const sd = await systemdPart(t);

/** A listener that accepts every connection and never says a word (a hung server). */
async function silent(listen: (s: Server) => void): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => {
    server.once('listening', () => resolve());
    listen(server);
  });
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

const silentPort = await freePort();
await silent((s) => s.listen(silentPort, '127.0.0.1'));
const silentSock = join(dir, 'silent.sock');
await silent((s) => s.listen(silentSock));
const closedPort = await freePort(); // nothing listens there
const missingSock = join(dir, 'nothing-here.sock');

const fleetkit = fleetkitProcess;

const fleetCheck = 'is fleetd running there\\? check --endpoint or FLEETCTL_ENDPOINT';
const etcdCheck = 'is etcd running and reachable there\\? check --etcd, ETCDCTL_ENDPOINTS or etcd.endpoints in the spec';
const busCheck = 'is the user manager running\\? check DBUS_SESSION_BUS_ADDRESS';
// The etcd cases follow the real (shared, possibly busy) bus for units: it gets 3 s to answer, etcd the same.
const cases: { name: string; args: string[]; env?: Record<string, string>; line: RegExp; timeout?: string }[] = [
  { name: 'fleet, silent', args: ['--no-announcements', '--endpoint', `http://127.0.0.1:${silentPort}`], line: new RegExp(`^fleetkit events: fleet at http://127\\.0\\.0\\.1:${silentPort}/?: no answer within 1000 ms; ${fleetCheck}$`) },
  { name: 'fleet, silent unix socket', args: ['--no-announcements', '--endpoint', `unix://${silentSock}`], line: new RegExp(`^fleetkit events: fleet at unix://${silentSock}: no answer within 1000 ms; ${fleetCheck}$`) },
  { name: 'fleet, closed port', args: ['--no-announcements', '--endpoint', `http://127.0.0.1:${closedPort}`], line: new RegExp(`^fleetkit events: fleet at http://127\\.0\\.0\\.1:${closedPort}/?: connection refused; ${fleetCheck}$`) },
  { name: 'D-Bus, silent socket', args: ['--systemd', '--user', '--no-announcements'], env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${silentSock}` }, line: new RegExp(`^fleetkit events: D-Bus at unix:path=${silentSock}: no answer within 1000 ms; ${busCheck}$`) },
  { name: 'D-Bus, no socket', args: ['--systemd', '--user', '--no-announcements'], env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${missingSock}` }, line: new RegExp(`^fleetkit events: D-Bus at unix:path=${missingSock}: no such socket; ${busCheck}$`) },
  { name: 'etcd, silent', args: ['--systemd', '--user', '--etcd', `http://127.0.0.1:${silentPort}`], env: sd.env, timeout: '3s', line: new RegExp(`^fleetkit events: etcd at http://127\\.0\\.0\\.1:${silentPort}: no answer within 3000 ms( \\(.+\\))?; ${etcdCheck}`) },
  { name: 'etcd, closed port', args: ['--systemd', '--user', '--etcd', `http://127.0.0.1:${closedPort}`], env: sd.env, timeout: '3s', line: new RegExp(`^fleetkit events: etcd at http://127\\.0\\.0\\.1:${closedPort}: no answer within 3000 ms( \\(.+\\))?; ${etcdCheck}`) },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const r = await fleetkit(['events', '--timeout', c.timeout ?? '1s', ...c.args], c.env ?? {});
    t.equal(r.killed, false, 'the process ended by itself (no connection left holding it)');
    t.equal(r.code, 1);
    t.equal(r.stdout, '');
    t.equal(r.stderr.split('\n').length, 2, `one line: ${r.stderr}`);
    t.match(r.stderr.trimEnd(), c.line);
  });
}

t.test('a bus lost mid-stream: said once, reconnected, and what changed meanwhile reported', async (t) => {
  // A proxy in front of the real bus, so the connection can be cut as a restarting bus would cut it.
  const real = sd.env.DBUS_SESSION_BUS_ADDRESS.replace(/^unix:path=/, '');
  const proxySock = join(dir, 'proxy.sock');
  const { server: proxy, cut } = await cuttableProxy(t, real, proxySock);
  const unit = `fkre${process.pid}.service`;
  await writeFile(join(sd.unitDir, unit), '[Service]\nExecStart=/bin/sleep 1000\n');
  await sd.systemctl(['daemon-reload']);
  t.teardown(() => sd.systemctl(['stop', unit]));

  const run = startFleetkit(['events', '--systemd', '--user', '--no-announcements'], { env: { PATH: process.env['PATH'], DBUS_SESSION_BUS_ADDRESS: `unix:path=${proxySock}` } });
  t.teardown(() => run.stop());
  const waitErr = async (re: RegExp): Promise<void> => {
    const deadline = Date.now() + 15_000;
    while (!re.test(run.stderr())) {
      if (Date.now() > deadline) throw new Error(`no ${re} on stderr: ${run.stderr()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await waitErr(/watching the user systemd/);
  // Cut every connection; while the proxy refuses new ones, the unit starts.
  proxy.close();
  cut();
  await waitErr(/lost the user bus at unix:path=.*proxy\.sock: the bus closed the connection; reconnecting/);
  const started = await sd.systemctl(['start', unit]);
  t.equal(started.code, 0, started.stderr);
  await rm(proxySock, { force: true });
  await new Promise<void>((resolve) => proxy.listen(proxySock, resolve));
  await waitErr(/the bus at unix:path=.*proxy\.sock answers again/);
  const line = await run.waitLine(new RegExp(`unit/start INFO ${unit.replace('.', '\\.')}`));
  t.match(line.line, /: started \(active\/running(, was inactive)?\)$/, `the start made while the bus was away: ${line.line}`);
  t.equal(run.stderr().match(/lost the user bus/g)?.length, 1, 'the loss is said once');
  t.equal(await run.stop(), 0);
});
