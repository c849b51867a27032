/**
 * SystemdManager on a bus that goes away after connecting: calls in flight and later calls fail at once with
 * a systemd error (dbus-next never answers calls on a closed connection, so without the manager's own watch
 * they would wait forever), and close() ends a connection to a bus that never answers.
 */
import t from 'tap';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SystemdManager } from '../../src/systemd/systemd-manager.js';
import { systemdPart } from '../env/parts.js';
import { cuttableProxy } from '../support/reach.js';

const sd = await systemdPart(t);
const dir = await mkdtemp(join(tmpdir(), 'fk-lost-bus-'));

t.test('a bus cut after connecting: the next call fails at once, naming the bus', async (t) => {
  // A proxy in front of the real bus, so the connection can be cut as a restarting bus would cut it.
  const real = sd.env.DBUS_SESSION_BUS_ADDRESS.replace(/^unix:path=/, '');
  const proxySock = join(dir, 'proxy.sock');
  const { cut } = await cuttableProxy(t, real, proxySock);

  const mgr = await SystemdManager.connect({ user: true, env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${proxySock}` }, connectTimeoutMs: 5000 });
  t.teardown(() => mgr.close());
  const before = await mgr.states(['dbus.socket']);
  t.ok(before.has('dbus.socket'), 'answers while the bus is there');
  cut();
  const started = Date.now();
  await t.rejects(mgr.states(['dbus.socket']), new RegExp(`lost the user bus at unix:path=${proxySock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'the call fails instead of waiting forever, naming the bus');
  t.ok(Date.now() - started < 2000, `failed after ${Date.now() - started} ms`);
  t.equal(await mgr.serviceHistory('/org/freedesktop/systemd1/unit/dbus_2eservice'), undefined, 'history reads as unknown, at once');
});

t.test('a bus that accepts and never answers: connect fails at its deadline and closes its socket', async (t) => {
  const silentSock = join(dir, 'silent.sock');
  const sockets = new Set<Socket>();
  const closed: Promise<void>[] = [];
  // A hung bus never closes its side. Half-open is allowed, so ending the client's side alone would leave the
  // socket open on both ends; a byte written back after the client's end fails only if the client closed it.
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.resume();
    s.on('end', () => s.write('x'));
    closed.push(new Promise((resolve) => s.on('close', () => resolve())));
  });
  await new Promise<void>((resolve) => server.listen(silentSock, resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const started = Date.now();
  await t.rejects(SystemdManager.connect({ user: true, env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${silentSock}` }, connectTimeoutMs: 500 }), /no answer on the user bus/);
  t.ok(Date.now() - started < 3000, `failed after ${Date.now() - started} ms`);
  t.equal(closed.length, 1, 'one connection');
  let timer: NodeJS.Timeout | undefined;
  const verdict = await Promise.race([
    closed[0]!.then(() => 'closed'),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('left open'), 3000))),
  ]);
  clearTimeout(timer);
  t.equal(verdict, 'closed', 'the manager closed its socket');
});
