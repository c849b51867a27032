// Start-up of the shipped forms of fleetkit against Node's own, in the same run (issue: ship).
// Every variant runs ≥10 times, interleaved run by run so machine noise hits all alike. Two figures each:
//   wall — median elapsed time of the child, as a user waits for it;
//   cpu  — mean user+system CPU time of the child (from /proc/self/stat's cutime/cstime, 10 ms ticks, so
//          the mean over runs), which a loaded machine disturbs far less than wall time.
// Variants: the single-file build run directly (the image's entrypoint), through bin/, the single
// executable (SEA, made here into a temp dir), on --version, gen-units of the seed example, and
// `announce --help` (what the sidekick's command costs to load).
// Usage: npm run build && node bench/startup.mjs [--runs N] [--no-sea]
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { timeRun } from './child-time.mjs';
import { median } from './stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runsAt = process.argv.indexOf('--runs');
const runs = Math.max(10, runsAt > 0 ? Number(process.argv[runsAt + 1]) : 15);
const withSea = !process.argv.includes('--no-sea');



const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

const tmp = mkdtempSync(join(tmpdir(), 'fleetkit-bench-startup-'));
try {
  const node = process.execPath;
  const bundle = join(root, 'dist/fleetkit.cjs');
  const seed = join(tmp, 'cluster.yaml');
  copyFileSync(join(root, 'examples/seed/cluster.yaml'), seed);
  const variants = {
    'node -e 0': [node, ['-e', '0']],
    'node dist/fleetkit.cjs --version': [node, [bundle, '--version']],
    'node bin/fleetkit.cjs --version': [node, [join(root, 'bin/fleetkit.cjs'), '--version']],
    'node dist/fleetkit.cjs gen seed': [node, [bundle, 'gen', seed, '-o', join(tmp, 'u1')]],
    'node bin/gen-units.cjs seed': [node, [join(root, 'bin/gen-units.cjs'), seed, '-o', join(tmp, 'u2')]],
    'node dist/fleetkit.cjs announce --help': [node, [bundle, 'announce', '--help']],
  };
  if (withSea) {
    const sea = join(tmp, 'fleetkit');
    const made = spawnSync(node, [join(root, 'scripts/sea.mjs'), '--no-bundle', '--output', sea], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`scripts/sea.mjs failed: ${made.stderr}`);
    Object.assign(variants, {
      'SEA --version': [sea, ['--version']],
      'SEA gen seed': [sea, ['gen', seed, '-o', join(tmp, 'u3')]],
      'SEA announce --help': [sea, ['announce', '--help']],
    });
  }
  const results = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < 2; i++) for (const [cmd, args] of Object.values(variants)) timeRun(cmd, args, tmp); // page cache
  for (let i = 0; i < runs; i++) for (const [k, [cmd, args]] of Object.entries(variants)) results[k].push(timeRun(cmd, args, tmp));
  const base = results['node -e 0'];
  const baseWall = median(base.map((r) => r.wall));
  const baseCpu = mean(base.map((r) => r.cpu));
  console.log(`start-up, ${runs} runs each, interleaved (node ${process.version}):`);
  console.log(`  ${'variant'.padEnd(40)} ${'wall median'.padStart(12)} ${'× node'.padStart(7)} ${'cpu mean'.padStart(10)} ${'× node'.padStart(7)}`);
  for (const [k, rs] of Object.entries(results)) {
    const w = median(rs.map((r) => r.wall));
    const c = mean(rs.map((r) => r.cpu));
    console.log(`  ${k.padEnd(40)} ${w.toFixed(1).padStart(9)} ms ${(w / baseWall).toFixed(2).padStart(6)}× ${c.toFixed(1).padStart(7)} ms ${(c / baseCpu).toFixed(2).padStart(6)}×`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
