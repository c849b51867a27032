/**
 * load waits for health on the real systemd: a crash loop fails at once with its exit status and journal
 * lines (not after the timeout), a unit that fails once and then stays up passes, and --dry-run changes
 * nothing.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemdPart } from '../env/parts.js';
import { runFleetkit } from '../cli/load-io.js';

const part = await systemdPart(t);
const env = { ...part.env };
const P = `fkh${process.pid}`;
const common = ['--systemd', '--user', '--unit-dir', part.unitDir, '--journal-dir', part.journalDir];
const src = await mkdtemp(join(tmpdir(), 'fk-health-'));
t.teardown(() => rm(src, { recursive: true, force: true }));

t.test('a crash loop fails the unit as soon as it is certain, with exit status and journal lines', async (t) => {
  const name = `${P}-loop.service`;
  await writeFile(join(src, name), `[Service]\nExecStart=/bin/sh -c "echo loop-${P} starting; exit 1"\nRestart=always\nRestartSec=200ms\n`);
  const started = Date.now();
  const r = await runFleetkit(['load', join(src, name), ...common, '--timeout', '60s'], { env });
  const took = Date.now() - started;
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stdout, new RegExp(`${name}\\s+created\\s+crash-loop`));
  // Three restarts make the loop certain; a slow first read (a loaded machine) may already see more, up to
  // systemd's start limit (5), and the verdict names what it saw.
  const seen = /crash loop: restarted (\d+) times while waiting \(last exit status 1\)/.exec(r.stderr);
  t.ok(seen && Number(seen[1]) >= 3 && Number(seen[1]) <= 5, `the crash loop is declared with its restart count: ${seen?.[0] ?? r.stderr}`);
  t.match(r.stderr, new RegExp(`last journal lines of ${name}:`));
  t.match(r.stderr, /status=1\/FAILURE|loop-.* starting/);
  t.ok(took < 30_000, `declared before the timeout (${took} ms)`);
  await runFleetkit(['destroy', name, ...common], { env });
});

t.test('a unit that fails once and then stays up passes', async (t) => {
  const name = `${P}-once.service`;
  const flag = join(src, 'once-flag');
  await writeFile(join(src, name), `[Service]\nExecStart=/bin/sh -c "if [ -e ${flag} ]; then exec sleep 1000; fi; touch ${flag}; exit 1"\nRestart=always\nRestartSec=200ms\n`);
  const r = await runFleetkit(['load', join(src, name), ...common, '--timeout', '30s', '--stable', '1s'], { env });
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, new RegExp(`${name}\\s+created\\s+active`));
  t.equal((await part.systemctl(['is-active', name])).stdout.trim(), 'active');
  t.equal((await part.systemctl(['show', '-p', 'NRestarts', '--value', name])).stdout.trim(), '1', 'it did fail once');
  await runFleetkit(['destroy', name, ...common], { env });
});

t.test('--dry-run prints the plan and changes nothing', async (t) => {
  const name = `${P}-dry.service`;
  await writeFile(join(src, name), '[Service]\nExecStart=/bin/sleep 1000\n');
  const r = await runFleetkit(['load', join(src, name), ...common, '--dry-run'], { env });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `systemd (user manager): load would\n  create   ${name}\n  start    ${name}\n`);
  t.rejects(access(join(part.unitDir, name)), 'no file written');
  t.equal((await part.systemctl(['is-active', name])).stdout.trim(), 'inactive');
  const stop = await runFleetkit(['stop', name, ...common, '--dry-run'], { env });
  t.equal(stop.stdout, `systemd (user manager): stop would\n  stop     ${name}\n`);
  const destroy = await runFleetkit(['destroy', name, ...common, '--dry-run'], { env });
  t.equal(destroy.stdout, `systemd (user manager): destroy would\n  destroy  ${name}\n`);
});
