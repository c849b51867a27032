// Bench: 200 units started over D-Bus on a real systemd (the test environment's `systemd --user` with its
// own bus and journald), compared in the same run with a `systemctl --user start` loop, one process per unit.
//   node bench/load-systemd.mjs [UNITS=200] [ROUNDS=3]
// Both sides start the same kind of unit (/bin/sleep) from files already in place, after one daemon-reload;
// every round uses fresh instance names on both sides, so each side loads its units from disk. Each side
// waits for its units to be active: the loop runs systemctl, which blocks until each job is done; fleetkit
// runs as `fleetkit start --systemd --user` in-process and waits for JobRemoved per job, then one
// ListUnitsByNames, then its health wait (a unit without Restart= is healthy once active; these are such units,
// so no settle time is added by default; `--settle 0` is kept as a second row for comparison).
// The floor is systemd's own pace: all StartUnit calls sent at once on one connection, timed to the last
// JobRemoved, no CLI around them. fleetkit's default should stay within 1.2x of it.
// The machine is shared (2 cores, other test runs): rounds alternate which side goes first, each round's
// ratio compares measurements taken seconds apart, and the verdict is the median ratio. Target: ≥ 5x.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { importBundled } from './load-bundle.mjs';
import { median } from './stats.mjs';

const UNITS = Number(process.argv[2] ?? 200);
const ROUNDS = Number(process.argv[3] ?? 3);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = promisify(execFile);
const { main, SystemdManager } = await importBundled([
  "export { main } from './src/cli/main.ts';",
  "export { SystemdManager } from './src/systemd/systemd-manager.ts';",
]);

const base = await mkdtemp(join(tmpdir(), 'fk-load-bench-systemd-'));
const slice = `fkbench${process.pid}.slice`;
const script = join(root, 'test/env/systemd.sh');
execFileSync('bash', [script, 'start', base, slice], { stdio: ['ignore', 'ignore', 'inherit'] });
const envText = readFileSync(join(base, 'part.env'), 'utf8');
const part = Object.fromEntries(envText.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: part.SYSTEMD_BUS, XDG_RUNTIME_DIR: part.SYSTEMD_RUNTIME };
const unitDir = part.SYSTEMD_UNIT_DIR;
const systemctl = (...args) => run('systemctl', ['--user', ...args], { env });
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function fleetkit(verb, names, extra = []) {
  let out = '';
  const io = { stdout: { write: (c) => (out += c) }, stderr: { write: (c) => (out += c) }, env, cwd: base, signal: new AbortController().signal };
  const t0 = performance.now();
  const code = await main([verb, ...names, '--systemd', '--user', '--unit-dir', unitDir, '--parallel', '64', ...extra], io);
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`fleetkit ${verb} exited ${code}:\n${out.slice(-2000)}`);
  return ms;
}

async function loop(names) {
  const t0 = performance.now();
  for (const u of names) await systemctl('start', u);
  return performance.now() - t0;
}

/** systemd's pace with nothing around it: every StartUnit at once, until the last JobRemoved. */
async function floor(names) {
  const mgr = await SystemdManager.connect({ user: true, env });
  try {
    const t0 = performance.now();
    const results = await Promise.all(names.map((n) => mgr.job('StartUnit', n, 60_000)));
    const ms = performance.now() - t0;
    if (results.some((r) => r !== 'done')) throw new Error(`floor: jobs ended ${[...new Set(results)].join(', ')}`);
    return ms;
  } finally {
    mgr.close();
  }
}

const activeCount = async (pattern) =>
  (await systemctl('list-units', '--state=active', '--no-legend', '--plain', pattern)).stdout.trim().split('\n').filter(Boolean).length;

const rounds = [];
try {
  for (const t of ['fkb', 'sctl', 'flr']) await writeFile(join(unitDir, `${t}@.service`), '[Service]\nExecStart=/bin/sleep 1000\n');
  await systemctl('daemon-reload');
  console.log(`load average before: ${load()}`);
  for (let r = 1; r <= ROUNDS; r++) {
    const names = (t) => Array.from({ length: UNITS }, (_, i) => `${t}@r${r}-${i + 1}.service`);
    const row = {};
    const loopSide = async () => {
      row.loop = await loop(names('sctl'));
      await systemctl('stop', 'sctl@*');
    };
    const fleetkitSide = async () => {
      row.settle = await fleetkit('start', names('fkb'));
      row.active = await activeCount('fkb@*');
      row.stop = await fleetkit('stop', names('fkb'));
      row.noSettle = await fleetkit('start', names('fkb'), ['--settle', '0']);
      await fleetkit('stop', names('fkb'));
    };
    // Alternate which side runs first, so a load that drifts during a round favours neither.
    for (const side of r % 2 ? [loopSide, fleetkitSide] : [fleetkitSide, loopSide]) await side();
    row.floor = await floor(names('flr'));
    await systemctl('stop', 'flr@*');
    row.load = load();
    rounds.push(row);
  }

  const f = (ms) => `${(ms / 1000).toFixed(2)} s`;
  console.log(`systemd 252 (systemd --user, own D-Bus), ${UNITS} units of /bin/sleep, ${ROUNDS} rounds`);
  rounds.forEach((x, i) => {
    console.log(`round ${i + 1}: loop ${f(x.loop)}; fleetkit ${f(x.settle)} (${x.active} active), --settle 0 ${f(x.noSettle)}, stop ${f(x.stop)}; floor ${f(x.floor)}; ` +
      `${(x.loop / x.settle).toFixed(1)}x / ${(x.loop / x.noSettle).toFixed(1)}x; load average ${x.load}`);
  });
  const m = (k) => median(rounds.map((x) => x[k]));
  const ratio = median(rounds.map((x) => x.loop / x.settle));
  const ratio0 = median(rounds.map((x) => x.loop / x.noSettle));
  console.log('medians:');
  console.log(`systemctl --user start loop, one process per unit: ${f(m('loop'))}  (${(m('loop') / UNITS).toFixed(1)} ms per unit)`);
  console.log(`fleetkit start --systemd (--parallel 64):          ${f(m('settle'))}  (waits for health; ${(m('settle') / m('floor')).toFixed(2)}x the floor)`);
  console.log(`fleetkit start --systemd --settle 0:               ${f(m('noSettle'))}`);
  console.log(`fleetkit stop --systemd:                           ${f(m('stop'))}`);
  console.log(`floor: ${UNITS} StartUnit at once, to the last JobRemoved: ${f(m('floor'))}  (${(m('loop') / m('floor')).toFixed(1)}x the loop)`);
  console.log(`speed-up (median of rounds): ${ratio.toFixed(1)}x with the settle, ${ratio0.toFixed(1)}x without; target ≥ 5x: ${ratio >= 5 ? 'met' : 'NOT met'}`);
  process.exitCode = ratio >= 5 && rounds.every((x) => x.active === UNITS) ? 0 : 1;
} finally {
  execFileSync('bash', [script, 'stop', base, slice], { stdio: ['ignore', 'ignore', 'inherit'] });
}
