// Bench: how long `fleetkit load --systemd` takes to declare a crash loop, on a real systemd (the test
// environment's `systemd --user` with its own D-Bus and journald, test/env/systemd.sh).
//   node bench/crash-loop.mjs [RUNS=5]
// The unit's ExecStart prints one line and exits 1 at once; Restart=always, RestartSec left at systemd's
// default (100 ms). Timed: the built CLI (bin/fleetkit.cjs load UNIT --systemd --user) as a process, from
// spawn to exit; exit 1 is expected and checked, and so are the crash-loop line and the journal lines it
// prints (systemd's "Main process exited, code=exited, status=1/FAILURE"). Each run uses a fresh unit name.
// Floor, same run, alternating with fleetkit: the same unit (own name) started by `systemctl --user start`,
// timed until systemd's NRestarts reaches 3 — watched with `systemctl --user show -p NRestarts` every 20 ms,
// at most 30 s. fleetkit declares the loop at its 3rd restart, so the floor is what systemd itself takes.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median } from './stats.mjs';

const RUNS = Number(process.argv[2] ?? 5);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin/fleetkit.cjs');
const run = promisify(execFile);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const base = mkdtempSync(join(tmpdir(), 'fk-crash-bench-'));
const slice = `fkcrash${process.pid}.slice`;
const script = join(root, 'test/env/systemd.sh');
execFileSync('bash', [script, 'start', base, slice], { stdio: ['ignore', 'ignore', 'inherit'] });
const part = Object.fromEntries(readFileSync(join(base, 'part.env'), 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: part.SYSTEMD_BUS, XDG_RUNTIME_DIR: part.SYSTEMD_RUNTIME };
const systemctl = (...args) => run('systemctl', ['--user', ...args], { env });
const unitText = (name) => `[Unit]\nDescription=crash loop bench ${name}\n\n[Service]\nExecStart=/bin/sh -c 'echo ${name} starting; exit 1'\nRestart=always\n`;

async function fleetkit(r) {
  const name = `fkcrash-r${r}.service`;
  const file = join(base, name);
  writeFileSync(file, unitText(name));
  const t0 = performance.now();
  const res = await run(process.execPath, [cli, 'load', file, '--systemd', '--user', '--unit-dir', part.SYSTEMD_UNIT_DIR, '--journal-dir', part.SYSTEMD_JOURNAL_DIR, '--timeout', '30s'], { env, cwd: base }).catch((e) => e);
  const ms = performance.now() - t0;
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  const problems = [];
  if (res.code !== 1) problems.push(`exit ${res.code ?? 0}, expected 1`);
  if (!new RegExp(`${name.replace('.', '\\.')}: crash loop`).test(out)) problems.push('no "crash loop" line');
  if (!new RegExp(`last journal lines of ${name.replace('.', '\\.')}`).test(out) || !/Main process exited, code=exited, status=1\/FAILURE/.test(out)) problems.push('no journal lines');
  if (problems.length) throw new Error(`fleetkit load of ${name}: ${problems.join('; ')}:\n${out.slice(-2000)}`);
  await systemctl('stop', name).catch(() => undefined);
  await systemctl('reset-failed', name).catch(() => undefined);
  return { ms, line: out.split('\n').find((l) => l.includes('crash loop')) };
}

async function floor(r) {
  const name = `sdcrash-r${r}.service`;
  writeFileSync(join(part.SYSTEMD_UNIT_DIR, name), unitText(name));
  await systemctl('daemon-reload');
  const t0 = performance.now();
  await systemctl('start', '--no-block', name);
  for (let i = 0; i < 1500 && performance.now() - t0 < 30_000; i++) {
    const n = Number((await systemctl('show', '-p', 'NRestarts', '--value', name)).stdout.trim());
    if (n >= 3) {
      const ms = performance.now() - t0;
      await systemctl('stop', name).catch(() => undefined);
      await systemctl('reset-failed', name).catch(() => undefined);
      return ms;
    }
    await sleep(20);
  }
  throw new Error(`${name}: NRestarts did not reach 3 within 30 s`);
}

try {
  console.log(`load average before: ${load()}`);
  const rows = [];
  for (let r = 1; r <= RUNS; r++) {
    const row = {};
    // Alternate which side goes first, so a load that drifts during a run favours neither.
    const sides = [async () => Object.assign(row, await fleetkit(r)), async () => { row.floor = await floor(r); }];
    for (const side of r % 2 ? sides : sides.reverse()) await side();
    row.load = load();
    rows.push(row);
  }
  const f = (ms) => `${(ms / 1000).toFixed(2)} s`;
  console.log('systemd 252 (systemd --user, own D-Bus and journald); unit: ExecStart exits 1 at once, Restart=always, RestartSec default (100 ms)');
  rows.forEach((x, i) => console.log(`run ${i + 1}: fleetkit load declares the crash loop in ${f(x.ms)}; systemd reaches NRestarts=3 in ${f(x.floor)}; load average ${x.load}`));
  console.log(`fleetkit says: ${rows.at(-1).line.trim()}`);
  const m = median(rows.map((x) => x.ms));
  const fl = median(rows.map((x) => x.floor));
  console.log(`median: fleetkit load --systemd (bin/fleetkit.cjs, process, exit 1, journal lines printed) ${f(m)}; floor (systemctl start → NRestarts=3, polled every 20 ms) ${f(fl)}; ${(m / fl).toFixed(2)}x`);
} finally {
  execFileSync('bash', [script, 'stop', base, slice], { stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(base, { recursive: true, force: true });
}
