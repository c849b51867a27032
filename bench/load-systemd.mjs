// Bench: 200 units started over D-Bus on a real systemd (the test environment's `systemd --user` with its
// own bus and journald), compared in the same run with a `systemctl --user start` loop, one process per unit.
//   node bench/load-systemd.mjs [UNITS=200]
// Both sides start the same kind of unit (/bin/sleep) from files already in place, after a Reload; each side
// waits for its units to be active (fleetkit: JobRemoved per job, then one ListUnitsByNames, then its
// settle re-check). fleetkit runs as `fleetkit start --systemd --user` in-process; the loop runs systemctl
// (which blocks until each job is done, the same guarantee). Target: fleetkit ≥ 5x faster.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { importBundled } from './load-bundle.mjs';

const UNITS = Number(process.argv[2] ?? 200);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);
const { main } = await importBundled(["export { main } from './src/cli/main.ts';"]);

const base = await mkdtemp(join(tmpdir(), 'fk-load-bench-systemd-'));
const slice = `fkbench${process.pid}.slice`;
const script = join(root, 'test/env/systemd.sh');
execFileSync('bash', [script, 'start', base, slice], { stdio: ['ignore', 'ignore', 'inherit'] });
const envText = (await import('node:fs')).readFileSync(join(base, 'part.env'), 'utf8');
const part = Object.fromEntries(envText.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: part.SYSTEMD_BUS, XDG_RUNTIME_DIR: part.SYSTEMD_RUNTIME };
const unitDir = part.SYSTEMD_UNIT_DIR;
const systemctl = (...args) => run('systemctl', ['--user', ...args], { env });

async function fleetkit(verb, names, extra = []) {
  let out = '';
  const io = { stdout: { write: (c) => (out += c) }, stderr: { write: (c) => (out += c) }, env, cwd: base, signal: new AbortController().signal };
  const t0 = performance.now();
  const code = await main([verb, ...names, '--systemd', '--user', '--unit-dir', unitDir, '--parallel', '64', ...extra], io);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`fleetkit ${verb} exited ${code}:\n${out.slice(-2000)}`);
  return ms;
}

try {
  await writeFile(join(unitDir, 'fkb@.service'), '[Service]\nExecStart=/bin/sleep 1000\n');
  await writeFile(join(unitDir, 'sctl@.service'), '[Service]\nExecStart=/bin/sleep 1000\n');
  await systemctl('daemon-reload');
  const ours = Array.from({ length: UNITS }, (_, i) => `fkb@${i + 1}.service`);
  const theirs = Array.from({ length: UNITS }, (_, i) => `sctl@${i + 1}.service`);

  const t0 = performance.now();
  for (const u of theirs) await systemctl('start', u);
  const loopMs = performance.now() - t0;

  const withSettle = await fleetkit('start', ours);
  const active = (await systemctl('list-units', '--state=active', '--no-legend', '--plain', 'fkb@*')).stdout.trim().split('\n').length;
  await fleetkit('stop', ours);
  const noSettle = await fleetkit('start', ours, ['--settle', '0']);
  const stopMs = await fleetkit('stop', ours);

  const f = (ms) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`systemd 252 (systemd --user, own D-Bus), ${UNITS} units of /bin/sleep`);
  console.log(`systemctl --user start loop, one process per unit: ${f(loopMs)}  (${(loopMs / UNITS).toFixed(1)} ms per unit)`);
  console.log(`fleetkit start --systemd (--parallel 64):          ${f(withSettle)}  (includes its 250 ms settle re-check; ${active} active)`);
  console.log(`fleetkit start --systemd --settle 0:               ${f(noSettle)}`);
  console.log(`fleetkit stop --systemd:                           ${f(stopMs)}`);
  console.log(`speed-up: ${(loopMs / withSettle).toFixed(1)}x with the settle, ${(loopMs / noSettle).toFixed(1)}x without; target ≥ 5x: ${loopMs / withSettle >= 5 ? 'met' : 'NOT met'}`);
  process.exitCode = loopMs / withSettle >= 5 && active === UNITS ? 0 : 1;
} finally {
  execFileSync('bash', [script, 'stop', base, slice], { stdio: ['ignore', 'ignore', 'inherit'] });
}
