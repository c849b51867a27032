/**
 * The D-Bus adapter against the real systemd of the test environment: jobs are awaited through JobRemoved
 * without subscribing to the manager (systemd sends a job's JobRemoved to the client that queued it), for
 * many jobs at once and for a job on a unit that is already active; a bus where no manager owns
 * org.freedesktop.systemd1 fails at connect, in one sentence.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { systemdPart } from '../env/parts.js';
import { SystemdManager } from '../../src/systemd/systemd-manager.js';

const part = await systemdPart(t);
const P = `fkmgr${process.pid}`;
const template = `${P}-sleep@.service`;
await writeFile(join(part.unitDir, template), '[Service]\nExecStart=/bin/sleep 1000\n');
t.teardown(async () => {
  await part.systemctl(['stop', `${P}-sleep@*`]);
  await rm(join(part.unitDir, template), { force: true });
  await part.systemctl(['daemon-reload']);
});

t.test('jobs end through JobRemoved without Subscribe, many at once', async (t) => {
  const mgr = await SystemdManager.connect({ user: true, env: part.env });
  t.teardown(() => mgr.close());
  await mgr.reload();
  const names = Array.from({ length: 30 }, (_, i) => `${P}-sleep@${i + 1}.service`);
  // A JobRemoved that never came would end as 'timeout'.
  t.same(await Promise.all(names.map((n) => mgr.job('StartUnit', n, 15_000))), names.map(() => 'done'));
  const states = await mgr.states(names);
  t.same(names.map((n) => states.get(n)?.activeState), names.map(() => 'active'));
  t.equal(await mgr.job('StartUnit', names[0]!, 15_000), 'done', 'a start of an active unit ends too');
  t.same(await Promise.all(names.map((n) => mgr.job('StopUnit', n, 15_000))), names.map(() => 'done'));
});

t.test('a bus without a systemd manager fails at connect', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'fk-empty-bus-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const daemon = spawn('dbus-daemon', ['--session', '--nofork', '--print-address', `--address=unix:path=${dir}/bus`], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => void daemon.kill());
  const address = await new Promise<string>((resolve, reject) => {
    daemon.once('error', reject);
    createInterface({ input: daemon.stdout! }).once('line', (l) => resolve(l.trim()));
  });
  await t.rejects(SystemdManager.connect({ user: true, env: { DBUS_SESSION_BUS_ADDRESS: address } }), {
    code: 'ERR_SYSTEMD_UNREACHABLE',
    message: 'no systemd manager answers on the user bus',
  });
});
