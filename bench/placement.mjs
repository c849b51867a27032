// How long load's placement check (src/load/placement.ts, fleet's engine rules) takes over large clusters:
// N units (half container instances, 50 services, each `Conflicts=` its own instances; half sidekicks with
// `MachineOf=`), one global unit, 10 machines. Instances beyond 10 per service cannot be placed, so the larger
// sizes also time the slow path (every machine tried for every unplaced unit, in every round). Median of 5.
// Usage: node bench/placement.mjs [N…]   (builds the module with esbuild into a temporary file)
import { build } from 'esbuild';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median } from './stats.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'fk-bench-placement-'));
const out = join(dir, 'placement.mjs');
await build({ entryPoints: [join(root, 'src/load/placement.ts')], bundle: true, platform: 'node', format: 'esm', outfile: out, logLevel: 'warning' });
const { placeUnits } = await import(pathToFileURL(out).href);
rmSync(dir, { recursive: true, force: true });

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const machines = Array.from({ length: 10 }, (_, i) => ({ id: (i + 1).toString(16).padStart(32, '0'), metadata: { role: 'worker' } }));
const opt = (name, value) => ({ section: 'X-Fleet', name, value });
for (const n of sizes.length ? sizes : [500, 1000, 2000, 4000]) {
  const units = [{ name: 'fleetkit-agent-c.service', options: [opt('Global', 'true')], desiredState: 'launched', machineID: undefined }];
  for (let i = 0; i < n / 2; i++) {
    const svc = `s${i % 50}`;
    units.push({ name: `${svc}@${i}.service`, options: [opt('Conflicts', `${svc}@*.service`), opt('MachineMetadata', 'role=worker')], desiredState: 'launched', machineID: undefined });
    units.push({ name: `${svc}-discovery@${i}.service`, options: [opt('MachineOf', `${svc}@${i}.service`)], desiredState: 'launched', machineID: undefined });
  }
  const times = [];
  let unplaced = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    unplaced = placeUnits(units, machines).unplaced.size;
    times.push(performance.now() - t0);
  }
  console.log(`${String(units.length).padStart(5)} units, 10 machines: median ${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}), ${unplaced} unplaced`);
}
