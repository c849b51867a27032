/**
 * load / stop / destroy against the real systemd of the test environment (a `systemd --user` manager with
 * its own D-Bus and journald): units are written, started and verified; a failing unit is reported with its
 * journal lines; destroy leaves nothing behind; D-Bus errors read as sentences.
 */
import t from 'tap';
import { mkdtemp, readFile, stat, writeFile, access, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemdPart } from '../env/parts.js';
import { runFleetkit } from './load-io.js';

const part = await systemdPart(t);
const env = { ...part.env };
const P = `fk4t${process.pid}`;
const common = ['--systemd', '--user', '--unit-dir', part.unitDir, '--journal-dir', part.journalDir, '--timeout', '20s'];

const src = await mkdtemp(join(tmpdir(), 'fk-load-systemd-'));
t.teardown(() => rm(src, { recursive: true, force: true }));
const template = `${P}-sleep@.service`;
await writeFile(join(src, template), `[Unit]\nDescription=sleeper %i\n\n[Service]\nExecStart=/bin/sleep 1000\n\n[X-Fleet]\nConflicts=${P}-sleep@*.service\n`);
await writeFile(join(src, `${P}-plain.service`), `[Unit]\nDescription=plain\n\n[Service]\nExecStart=/bin/sleep 1001\n\n[Install]\nWantedBy=default.target\n`);
await writeFile(join(src, `${P}-boom.service`), `[Service]\nExecStart=/bin/sh -c "echo boom-${P}; exit 3"\n`);
const units = [`${P}-sleep@1.service`, `${P}-sleep@2.service`, `${P}-plain.service`];
const files = units.map((u) => join(src, u));

async function isActive(unit: string): Promise<string> {
  return (await part.systemctl(['is-active', unit])).stdout.trim();
}
async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

t.test('load writes, enables and starts units; [X-Fleet] is warned about once', async (t) => {
  const r = await runFleetkit(['load', ...files, ...common], { env });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr.match(/warning: \[X-Fleet\]/g)?.length, 1, 'one warning for three units');
  for (const u of units) t.equal(await isActive(u), 'active', `${u} runs`);
  t.ok(await exists(join(part.unitDir, template)), 'the template is written, not the instances');
  t.notOk(await exists(join(part.unitDir, `${P}-sleep@1.service`)));
  t.equal((await part.systemctl(['show', '-p', 'UnitFileState', '--value', `${P}-plain.service`])).stdout.trim(), 'enabled', '[Install] honoured');
  t.match(r.stdout, /load: 3 created, 0 replaced, 0 unchanged, 0 failed/);
});

t.test('a second load writes nothing and starts nothing new', async (t) => {
  const before = (await stat(join(part.unitDir, template))).mtimeMs;
  const pid = (await part.systemctl(['show', '-p', 'MainPID', '--value', `${P}-sleep@1.service`])).stdout.trim();
  const r = await runFleetkit(['load', ...files, ...common, '--json'], { env });
  t.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { totals: Record<string, number>; units: { name: string; change: string; state: string }[] };
  t.same(doc.totals, { created: 0, replaced: 0, unchanged: 3, failed: 0 });
  t.ok(doc.units.every((u) => u.state === 'active'));
  t.equal((await stat(join(part.unitDir, template))).mtimeMs, before, 'file not rewritten');
  t.equal((await part.systemctl(['show', '-p', 'MainPID', '--value', `${P}-sleep@1.service`])).stdout.trim(), pid, 'not restarted');
});

t.test('a changed unit is listed and refused without --replace, restarted with it', async (t) => {
  const changed = `[Unit]\nDescription=sleeper %i\n\n[Service]\nExecStart=/bin/sleep 2000\n`;
  await writeFile(join(src, template), changed);
  const pid = (await part.systemctl(['show', '-p', 'MainPID', '--value', `${P}-sleep@2.service`])).stdout.trim();
  const refused = await runFleetkit(['load', ...files, ...common], { env });
  t.equal(refused.code, 1);
  t.match(refused.stderr, /differs; nothing was changed \(use --replace/);
  t.match(refused.stderr, /- ExecStart=\/bin\/sleep 1000/);
  t.match(refused.stderr, /\+ ExecStart=\/bin\/sleep 2000/);
  t.not(await readFile(join(part.unitDir, template), 'utf8'), changed, 'nothing written');

  const r = await runFleetkit(['load', ...files, ...common, '--replace'], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /2 replaced, 1 unchanged/);
  t.equal(await readFile(join(part.unitDir, template), 'utf8'), changed);
  t.not((await part.systemctl(['show', '-p', 'MainPID', '--value', `${P}-sleep@2.service`])).stdout.trim(), pid, 'restarted');
  t.equal(await isActive(`${P}-sleep@2.service`), 'active');
});

t.test('a unit whose command fails is reported failed with its journal lines', async (t) => {
  // A Type=simple unit is active as soon as it is forked; its failure shows within the settle time. A
  // generous settle keeps this deterministic on a loaded machine.
  const r = await runFleetkit(['load', join(src, `${P}-boom.service`), ...common, '--settle', '2s'], { env });
  t.equal(r.code, 1);
  t.match(r.stdout, new RegExp(`${P}-boom.service\\s+created\\s+failed`));
  t.match(r.stderr, /did not start/);
  t.match(r.stderr, /result: exit-code/);
  // systemd's own lines about the unit; the service's stdout (boom-…) may still be in flight in journald.
  t.match(r.stderr, new RegExp(`last journal lines of ${P}-boom.service:\\n(.*\\n)*\\s+${P}-boom.service: Main process exited, code=exited, status=3/`));
  t.match(r.stderr, new RegExp(`\\s+${P}-boom.service: Failed with result 'exit-code'`));
  t.match(r.stdout, /1 failed/);
});

t.test('stop, then destroy, leave no running unit and no file', async (t) => {
  const stopped = await runFleetkit(['stop', ...units, ...common], { env });
  t.equal(stopped.code, 0, stopped.stderr);
  for (const u of units) t.equal(await isActive(u), 'inactive');
  const r = await runFleetkit(['destroy', ...units, `${P}-boom.service`, `${P}-never.service`, ...common], { env });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`${P}-never.service\\s+absent`), 'a unit that never existed is absent, not an error');
  t.match(r.stdout, /destroy: 4 destroyed, 1 absent, 0 failed/);
  for (const f of [template, `${P}-plain.service`, `${P}-boom.service`]) t.notOk(await exists(join(part.unitDir, f)), `${f} removed`);
  for (const u of [...units, `${P}-boom.service`]) {
    const load = (await part.systemctl(['show', '-p', 'LoadState', '--value', u])).stdout.trim();
    t.equal(load, 'not-found', `${u} unknown to systemd`);
  }
  t.notOk(await exists(join(part.unitDir, 'default.target.wants', `${P}-plain.service`)), 'disabled');
});

t.test('NoSuchUnit reads as a plain sentence', async (t) => {
  const r = await runFleetkit(['stop', `${P}-nope.service`, ...common], { env });
  t.equal(r.code, 1);
  t.match(r.stderr, `systemd has no unit ${P}-nope.service: it is not loaded and no unit file of that name was found`);
  t.notMatch(r.stderr, /org\.freedesktop/);
});

t.test('an unreachable bus is one sentence with a hint', async (t) => {
  const r = await runFleetkit(['start', 'x.service', ...common], { env: { DBUS_SESSION_BUS_ADDRESS: `unix:path=${src}/no-bus` } });
  t.equal(r.code, 1);
  t.match(r.stderr, /cannot connect to the user bus at unix:path=.*no-bus/);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack');
});
