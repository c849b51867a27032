// The npm package as installed from its tarball (`npm pack`, then `npm install -g --prefix` offline into a
// clean prefix): `gen-units` cold start on the seed example against bare `node -e 0` (target ≤ 1.5×), and
// the size on disk of the installed prefix, next to today's package (the base revision's package.json and
// lock: fleetkit plus the runtime dependencies npm would install with it, measured from node_modules).
// Runs interleaved; wall median and mean child CPU, as bench/startup.mjs.
// Usage: npm run build && node bench/package.mjs [--runs N] [--base REV]
//   REV default: the revision before the runtime dependencies left package.json.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timeRun } from './child-time.mjs';
import { median } from './stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : fallback);
const runs = Math.max(10, Number(arg('--runs', 20)));
// The last commit that changed the number of `"dependencies": {` in package.json is the one that dropped them.
const dropped = () => execFileSync('git', ['log', '-1', '--format=%h', '-S', '"dependencies": {', '--', 'package.json'], { cwd: root, encoding: 'utf8' }).trim();
const base = arg('--base', undefined) ?? `${dropped()}~1`;

const env = { ...process.env, NODE_OPTIONS: '', npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };



/** Bytes on disk (allocated blocks) under `path`. */
function du(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.blocks * 512;
  return readdirSync(path).reduce((sum, n) => sum + du(join(path, n)), s.blocks * 512);
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;

const tmp = mkdtempSync(join(tmpdir(), 'fleetkit-bench-package-'));
try {
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], { cwd: root, env, stdio: 'ignore' });
  const tarball = join(tmp, readdirSync(tmp).find((n) => n.endsWith('.tgz')));
  const prefix = join(tmp, 'prefix');
  execFileSync('npm', ['install', '-g', '--prefix', prefix, tarball], { cwd: tmp, env, stdio: 'ignore' });
  const seed = join(tmp, 'cluster.yaml');
  copyFileSync(join(root, 'examples/seed/cluster.yaml'), seed);

  const variants = {
    'node -e 0': [process.execPath, ['-e', '0']],
    'installed gen-units seed': [join(prefix, 'bin/gen-units'), [seed, '-o', join(tmp, 'u')]],
    'installed fleetkit --version': [join(prefix, 'bin/fleetkit'), ['--version']],
  };
  const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < 2; i++) for (const [cmd, args] of Object.values(variants)) timeRun(cmd, args, tmp, env);
  for (let i = 0; i < runs; i++) for (const [k, [cmd, args]] of Object.entries(variants)) results[k].push(timeRun(cmd, args, tmp, env));
  const baseWall = median(results['node -e 0'].map((r) => r.wall));
  const baseCpu = mean(results['node -e 0'].map((r) => r.cpu));
  console.log(`installed package start-up, ${runs} runs each, interleaved (node ${process.version}):`);
  console.log(`  ${'variant'.padEnd(30)} ${'wall median'.padStart(12)} ${'× node'.padStart(7)} ${'cpu mean'.padStart(10)} ${'× node'.padStart(7)}`);
  for (const [k, rs] of Object.entries(results)) {
    const w = median(rs.map((r) => r.wall));
    const c = mean(rs.map((r) => r.cpu));
    console.log(`  ${k.padEnd(30)} ${w.toFixed(1).padStart(9)} ms ${(w / baseWall).toFixed(2).padStart(6)}× ${c.toFixed(1).padStart(7)} ms ${(c / baseCpu).toFixed(2).padStart(6)}×`);
  }

  // Today's package: what `npm install -g` of the base revision puts on disk: the same package files plus
  // every non-dev package of its lock file (measured where they are installed, in node_modules).
  const lock = JSON.parse(execFileSync('git', ['show', `${base}:package-lock.json`], { cwd: root, encoding: 'utf8' }));
  const runtime = Object.entries(lock.packages).filter(([p, e]) => p.startsWith('node_modules/') && !e.dev && !e.optional);
  const runtimeBytes = runtime.reduce((sum, [p]) => {
    try {
      return sum + du(join(root, p));
    } catch {
      return sum; // not installed here (another platform's optional package)
    }
  }, 0);
  const installed = du(prefix);
  console.log(`size on disk of the installed prefix (npm install -g --prefix):`);
  console.log(`  now:                ${mb(installed)}, 1 package`);
  console.log(`  ${base.padEnd(19)} ${mb(installed + runtimeBytes)}, ${runtime.length + 1} packages (the same files + ${mb(runtimeBytes)} of runtime dependencies)`);
  console.log(`  tarball:            ${mb(statSync(tarball).size)}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
