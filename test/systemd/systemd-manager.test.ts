/**
 * The D-Bus adapter against the real systemd of the test environment: jobs are awaited through JobRemoved
 * without subscribing to the manager (systemd sends a job's JobRemoved to the client that queued it), for
 * many jobs at once and for a job on a unit that is already active; a bus where no manager owns
 * org.freedesktop.systemd1 fails at connect, in one sentence. A service's history reads what `systemctl show`
 * says, both for a running service that never restarted (three properties read) and for the others (all).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { systemdPart } from '../env/parts.js';
import { waitFor } from '../env/wait-for.js';
import { SystemdManager } from '../../src/systemd/systemd-manager.js';

const part = await systemdPart(t);
const P = `fkmgr${process.pid}`;
const template = `${P}-sleep@.service`;
await writeFile(join(part.unitDir, template), '[Service]\nExecStart=/bin/sleep 1000\n');
// Exits 3 at once, restarted every 100 ms without end; and a oneshot that exited 0 and stays active.
const looping = `${P}-loop.service`;
const oneshot = `${P}-oneshot.service`;
// Runs 0.4 s, exits 1, is restarted 100 ms later: mostly seen active/running, between automatic restarts.
const slowLoop = `${P}-slowloop.service`;
await writeFile(join(part.unitDir, looping), '[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sh -c "exit 3"\nRestart=always\nRestartSec=100ms\n');
await writeFile(join(part.unitDir, slowLoop), '[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=/bin/sh -c "sleep 0.4; exit 1"\nRestart=always\nRestartSec=100ms\n');
await writeFile(join(part.unitDir, oneshot), '[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n');
t.teardown(async () => {
  await part.systemctl(['stop', `${P}-sleep@*`, looping, oneshot, slowLoop]);
  for (const f of [template, looping, oneshot, slowLoop]) await rm(join(part.unitDir, f), { force: true });
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

t.test("a service's history is what systemctl show says, read in full unless it runs and never restarted", async (t) => {
  const mgr = await SystemdManager.connect({ user: true, env: part.env });
  t.teardown(() => mgr.close());
  await mgr.reload();
  const show = async (unit: string): Promise<Record<string, string>> =>
    Object.fromEntries((await part.systemctl(['show', '-p', 'NRestarts,Restart,Result,ExecMainCode,ExecMainStatus,ActiveEnterTimestampMonotonic', unit])).stdout
      .trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const history = async (unit: string) => {
    const s = (await mgr.states([unit])).get(unit)!;
    return { state: s, history: await mgr.serviceHistory(s.path, s) };
  };

  const sleeper = `${P}-sleep@history.service`;
  const before = Date.now();
  t.equal(await mgr.job('StartUnit', sleeper, 15_000), 'done');
  const running = await history(sleeper);
  t.same([running.state.activeState, running.state.subState], ['active', 'running']);
  t.match(running.history, { nRestarts: 0, restart: 'no', result: 'success', exitStatus: undefined }, 'a running service that never restarted');
  t.ok(running.history!.activeSince! >= before - 1000 && running.history!.activeSince! <= Date.now(), 'active since its start');
  t.match(await show(sleeper), { NRestarts: '0', Result: 'success', ExecMainCode: '0' }, 'as systemctl show says');

  t.equal(await mgr.job('StartUnit', oneshot, 15_000), 'done');
  const exited = await history(oneshot);
  t.same([exited.state.activeState, exited.state.subState], ['active', 'exited'], 'active, its main process gone');
  t.match(exited.history, { nRestarts: 0, restart: 'no', result: 'success', exitStatus: 0 }, 'its exit status is read: it is not a running main process');

  await mgr.job('StartUnit', looping, 15_000);
  // Restarted at least three times: systemd's own count, read until it gets there.
  await waitFor(async () => Number((await show(looping))['NRestarts']) >= 3, { what: `${looping} restarted 3 times`, timeoutMs: 20_000 });
  const loop = await history(looping);
  const said = await show(looping);
  t.equal(loop.history!.restart, 'always');
  t.ok(loop.history!.nRestarts! >= 3, `restarts counted (${loop.history!.nRestarts}; systemctl show: ${said['NRestarts']})`);
  t.equal(loop.history!.exitStatus, 3, 'its last exit status');
  t.equal(loop.history!.result, 'exit-code');
  await mgr.job('StopUnit', looping, 15_000);
});

t.test('a service seen running between automatic restarts has restarted: its count is read, not taken for an older run', async (t) => {
  const mgr = await SystemdManager.connect({ user: true, env: part.env });
  t.teardown(() => mgr.close());
  await mgr.reload();
  await mgr.job('StartUnit', slowLoop, 15_000);
  t.teardown(() => mgr.job('StopUnit', slowLoop, 15_000));
  // A read that sees it running after 3 automatic restarts, and the same run still after the read (the
  // history's activation time is the one systemctl shows afterwards): reads that straddle an exit are redone.
  const seen = await waitFor(async () => {
    const s = (await mgr.states([slowLoop])).get(slowLoop)!;
    if (s.activeState !== 'active' || s.subState !== 'running') return undefined;
    const h = await mgr.serviceHistory(s.path, s);
    const shown = (await part.systemctl(['show', '-p', 'NRestarts,ActiveEnterTimestampMonotonic,SubState', slowLoop])).stdout;
    const raw = Number(/NRestarts=(\d+)/.exec(shown)?.[1]);
    return raw >= 3 && /SubState=running/.test(shown) ? { h, raw } : undefined;
  }, { what: `${slowLoop} running after 3 restarts`, timeoutMs: 20_000, intervalMs: 30 });
  t.ok(seen.h!.nRestarts! >= 3, `restarts counted while it runs (${seen.h!.nRestarts}; NRestarts=${seen.raw})`);
  t.equal(seen.h!.restart, 'always');
  t.equal(seen.h!.exitStatus, undefined, 'a main process that runs has no exit status yet (systemd stamps ExecMain* per process)');
});
