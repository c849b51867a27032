// gen-units performance, measured against Node itself in the same run (issue 2's targets):
//  (a) cold start of `node bin/gen-units.cjs examples/seed/cluster.yaml -o TMP` vs `node -e 0`, ≥10 runs each,
//      interleaved, medians and ratio (target ≤ 1.5×), and a breakdown of what loading costs;
//  (b) 1,000 services × 10 replicas with sidekicks: load + render + write in a child process, wall time
//      (target ≤ 2 s) and peak RSS from the child's own process.resourceUsage() (target ≤ 300 MB);
//  (c) the same 10,000 instances with every value a ${VAR} (from the shell, .env and defaults): the same
//      targets, (b) as its baseline, and the units must be identical to (b)'s.
// The wall time of (b) suffers from other load on the machine; its CPU time (user + system) much less, so
// both are printed (and the load average, to read them by).
// Usage: npm run build && node bench/gen-units.mjs [--runs N] [--scale-only]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin/gen-units.cjs');
const bundle = join(root, 'dist/fleetkit.cjs');
const genBundle = join(root, 'dist/gen-units.cjs');

// Child mode: run gen-units in this process and report its own wall time and peak RSS on fd 3.
if (process.argv[2] === '--child') {
  const started = performance.now();
  process.on('exit', () => {
    const u = process.resourceUsage();
    const cpuMs = (u.userCPUTime + u.systemCPUTime) / 1000;
    const report = { ms: performance.now() - started, cpuMs, maxRssKB: u.maxRSS, exitCode: process.exitCode ?? 0 };
    writeFileSync(3, JSON.stringify(report));
  });
  // Exactly what bin/gen-units.cjs does (code cache included), with this process's arguments.
  process.argv = [process.argv[0], bin, ...process.argv.slice(3)];
  (await import('node:module')).createRequire(import.meta.url)(bin);
} else {
  await main();
}


function timeRun(args, options = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], ...options });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

async function main() {
  const runsArg = process.argv.indexOf('--runs');
  const runs = Math.max(10, runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15);
  const tmp = mkdtempSync(join(tmpdir(), 'fleetkit-bench-gen-'));
  try {
    console.log(`load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')} on ${(await import('node:os')).cpus().length} CPUs`);
    if (!process.argv.includes('--scale-only')) coldStart(runs, tmp);
    scale(tmp);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function coldStart(runs, tmp) {
  // (a) cold start. Variants interleaved run by run so machine noise hits them alike.
  const variants = {
    'node -e 0': ['-e', '0'],
    'gen-units --help (load, code cache)': [bin, '--help'],
    'require(dist/gen-units.cjs), no cache': ['-e', `require(${JSON.stringify(genBundle)})`],
    'require(dist/fleetkit.cjs) only': ['-e', `require(${JSON.stringify(bundle)})`],
    'fleetkit --version': [join(root, 'bin/fleetkit.cjs'), '--version'],
    'gen-units seed -o TMP': [bin, 'examples/seed/cluster.yaml', '-o', join(tmp, 'seed')],
    "require('handlebars') (full compiler)": ['-e', "require('handlebars')"],
    "require('handlebars/runtime')": ['-e', "require('handlebars/runtime')"],
  };
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < 2; i++) for (const args of Object.values(variants)) timeRun(args); // warm the page cache
  for (let i = 0; i < runs; i++) for (const [k, args] of Object.entries(variants)) times[k].push(timeRun(args));
  const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const nodeMs = med['node -e 0'];
  console.log(`(a) cold start, median of ${runs} runs each (ms), same run:`);
  for (const [k, v] of Object.entries(med)) console.log(`    ${k.padEnd(40)} ${v.toFixed(1).padStart(7)}   ${(v / nodeMs).toFixed(2)}× node`);
  const ratio = med['gen-units seed -o TMP'] / nodeMs;
  console.log(`    gen-units / node = ${ratio.toFixed(2)}× (target ≤ 1.50×) ${ratio <= 1.5 ? 'PASS' : 'FAIL'}`);
  console.log('    breakdown of gen-units over node:');
  const help = med['gen-units --help (load, code cache)'];
  console.log(`      loading dist/gen-units.cjs with its code cache (yaml, zod/mini, templates) ${(help - nodeMs).toFixed(1)} ms`);
  console.log(`      running it: read spec, validate, render, write  ${(med['gen-units seed -o TMP'] - help).toFixed(1)} ms`);
  console.log(`      (loading it without the code cache would cost ${(med['require(dist/gen-units.cjs), no cache'] - nodeMs).toFixed(1)} ms)`);
  console.log(`      (the all-commands dist/fleetkit.cjs would cost ${(med['require(dist/fleetkit.cjs) only'] - nodeMs).toFixed(1)} ms to load)`);
  console.log(`      (what precompiling saves: full handlebars costs ${(med["require('handlebars') (full compiler)"] - nodeMs).toFixed(1)} ms, its runtime ${(med["require('handlebars/runtime')"] - nodeMs).toFixed(1)} ms)`);

}

/** The scale spec: 1,000 services × 10 replicas, each with a sidekick; `v(name, literal)` writes a value. */
function scaleSpec(v) {
  const lines = ['name: big', 'services:'];
  for (let i = 0; i < 1000; i++) {
    lines.push(
      `  svc${i}:`,
      `    image: ${v('REGISTRY', 'registry.example.com')}/team/svc${i}:${v('VERSION', '1.0')}.${i}`,
      `    command: ["/app/server", "--port", "${v('PORT', '8080')}", "--name", "svc${i}"]`,
      `    ports: ["${v('PORT', '8080')}"]`,
      `    environment: { MODE: "${v('MODE', 'production')}", SERVICE: svc${i}, RATIO: "${v('RATIO', '50%')}", DSN: "${v('DB_URL', 'postgres://db-1/app?sslmode=disable')}" }`,
      '    restart: always',
      `    deploy: { replicas: "${v('REPLICAS', '10')}" }`,
      '    healthcheck: { test: ["CMD", "wget", "-q", "http://localhost:8080/"], interval: 10s }',
      '    x-fleet: { conflicts: true }',
      '    x-announce: { port: 8080 }',
    );
  }
  return `${lines.join('\n')}\n`;
}

function scale(tmp) {
  // (b) scale: 1,000 services × 10 replicas, each with a sidekick; (c) the same file written with ${VAR}
  // references (values from the environment, defaults and `.env`) to time interpolation against (b).
  const child = (label, spec, out, extra = [], env = process.env) => {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', spec, '-o', out, ...extra], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
    const report = JSON.parse(r.output[3].toString());
    if (r.status !== 0 || report.exitCode !== 0) throw new Error(`gen-units failed: ${r.stderr}`);
    const starts = extra.length ? '-' : r.stdout.toString().trim().split('\n').length;
    const files = readdirSync(out).length;
    const ok = report.ms <= 2000 && report.maxRssKB <= 300 * 1024;
    console.log(
      `    ${label.padEnd(26)} ${report.ms.toFixed(0).padStart(5)} ms wall, ${report.cpuMs.toFixed(0).padStart(5)} ms CPU   peak RSS ${(report.maxRssKB / 1024).toFixed(0).padStart(4)} MB   ` +
        `${files} files, ${starts} units to start   (targets ≤ 2000 ms, ≤ 300 MB) ${ok ? 'PASS' : 'FAIL'}`,
    );
    return report.ms;
  };
  const spec = join(tmp, 'big.yaml');
  writeFileSync(spec, scaleSpec((_name, literal) => literal));
  const out = join(tmp, 'big-units');
  console.log('(b) 1,000 services × 10 replicas with sidekicks (spec load + render + write, in a child process):');
  const plain = child('first render (all written)', spec, out);
  child('again (nothing changed)', spec, out);
  child('--stdout (no file written)', spec, out, ['--stdout']);

  // (c) Every value above that can be a variable is one: from the shell, from .env beside the file, or a default.
  const dir = join(tmp, 'interpolated');
  mkdirSync(dir, { recursive: true });
  const ispec = join(dir, 'big.yaml'); // the name every unit's header carries, as in (b)
  const fromDotenv = new Set(['VERSION', 'RATIO', 'REPLICAS']);
  writeFileSync(ispec, scaleSpec((name, literal) => (name === 'MODE' ? `\${MODE:-${literal}}` : `\${${name}}`)));
  writeFileSync(join(dir, '.env'), 'VERSION=1.0\nRATIO="50%"\nREPLICAS=10\n');
  const env = { ...process.env, REGISTRY: 'registry.example.com', PORT: '8080', DB_URL: 'postgres://db-1/app?sslmode=disable' };
  for (const k of fromDotenv) delete env[k];
  delete env.MODE;
  console.log('(c) the same 10,000 instances, every value a ${VAR} (shell, .env, defaults):');
  const interpolated = child('first render (all written)', ispec, join(tmp, 'interp-units'), [], env);
  child('--stdout (no file written)', ispec, join(tmp, 'interp-units'), ['--stdout'], env);
  const same = readdirSync(out).every((f) => readFileSync(join(out, f), 'utf8') === readFileSync(join(tmp, 'interp-units', f), 'utf8'));
  console.log(`    interpolated render ${interpolated.toFixed(0)} ms vs plain ${plain.toFixed(0)} ms (${(interpolated / plain).toFixed(2)}×); units identical to (b): ${same ? 'yes' : 'NO'}`);
  if (!same) process.exitCode = 1;
}
