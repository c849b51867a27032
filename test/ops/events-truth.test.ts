/**
 * The events row of the truth matrix, on the real systemd (D-Bus) and etcd of the test environment: a
 * container-like unit that exits 1 at once under Restart= (a crash loop: never `failed` between restarts,
 * so it must show as deaths, not only as starts), a sidekick that fails, an announcement deleted by hand,
 * and etcd going down and coming back while events runs.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectEtcd } from '../../src/etcd/connect.js';
import { etcdPart, systemdPart } from '../env/parts.js';
import { startFleetkit } from './stream-io.js';

const sd = await systemdPart(t);
const etcd = await etcdPart(t, { private: true });
const P = `fktr${process.pid}`;
const prefix = `/fk-truth-${process.pid}`;
const LOOP = `${P}-loop.service`;
const SIDEKICK = `${P}-web-discovery.service`;
await writeFile(join(sd.unitDir, LOOP), '[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sh -c \'exit 1\'\nRestart=always\nRestartSec=300ms\n');
await writeFile(join(sd.unitDir, SIDEKICK), '[Service]\nExecStart=/bin/sh -c \'echo "cannot reach the agent"; exit 1\'\n');
await sd.systemctl(['daemon-reload']);
t.teardown(() => sd.systemctl(['stop', LOOP, SIDEKICK]));

const run = startFleetkit(['events', '--systemd', '--user', '--etcd', etcd.clientUrl, '--etcd-prefix', prefix], { env: { PATH: process.env['PATH'], ...sd.env } });
t.teardown(() => run.stop());
const stderrHas = async (re: RegExp): Promise<void> => {
  const deadline = Date.now() + 20_000;
  while (!re.test(run.stderr())) {
    if (Date.now() > deadline) throw new Error(`no ${re} on stderr: ${run.stderr()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};
await stderrHas(/watching the user systemd over D-Bus and announcements under/);

t.test('a crash loop shows as deaths, each restart as a start', async (t) => {
  await sd.systemctl(['start', '--no-block', LOOP]);
  const esc = LOOP.replace(/\./g, '\\.');
  const first = await run.waitLine(new RegExp(`unit/die ERROR ${esc} \\[[0-9a-f]{8}\\]: exited, restarting \\(activating/auto-restart`));
  const second = await run.waitLine(new RegExp(`unit/die ERROR ${esc} `), { from: first.index + 1 });
  t.ok(second.index > first.index, 'died again: a loop, not a single failure');
  await sd.systemctl(['stop', LOOP]);
});

t.test('a sidekick that fails is a death', async (t) => {
  await sd.systemctl(['start', SIDEKICK]);
  const line = await run.waitLine(new RegExp(`unit/die ERROR ${SIDEKICK.replace(/\./g, '\\.')} .*: failed \\(failed/failed`));
  t.match(line.line, /^\w{3} \d\d \d\d:\d\d:\d\d\.\d{3} unit\/die ERROR /);
});

t.test('an announcement deleted by hand, and etcd down and back', async (t) => {
  const client = await connectEtcd({ endpoints: etcd.endpoints });
  t.teardown(() => client.close());
  const key = `${prefix}/c/web/1`;
  await client.put(key).value(JSON.stringify({ ip: '10.1.0.5', port: 80, hostname: 'web-1', host: 'h', machine: '1'.repeat(32), container: 'web-1', version: 1, time: new Date().toISOString() }));
  await run.waitLine(/announcement\/create INFO .*c\/web\/1/);
  await client.delete().key(key);
  const gone = await run.waitLine(/announcement\/delete INFO .*c\/web\/1/);
  t.match(gone.line, /withdrawn: was web-1 at 10\.1\.0\.5:80/);

  await etcd.kill();
  await stderrHas(/fleetkit events: lost the etcd watch/);
  await etcd.start();
  // Written while nobody could watch it is still reported once etcd is back.
  await client.put(key).value(JSON.stringify({ ip: '10.1.0.6', port: 80, hostname: 'web-1', host: 'h', machine: '1'.repeat(32), container: 'web-1', version: 1, time: new Date().toISOString() }));
  const back = await run.waitLine(/announcement\/create INFO .*c\/web\/1/, { from: gone.index + 1, timeoutMs: 30_000 });
  t.match(back.line, /announced: web-1 at 10\.1\.0\.6:80/);
  t.notMatch(run.stderr(), /^<\d>/m, 'no priority prefixes on a stderr that is not journald');
});
