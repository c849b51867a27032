// The committed units in examples/*/units and the repository's units/ are the render of the example specs:
// this fails (as `gen-units --check` would) when they drift. UPDATE_GOLDEN=1 renders them again.
import t, { type Test } from 'tap';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/spec/load.js';
import { renderCluster, renderFleetkitUnits, type RenderedUnit } from '../../src/render/render.js';
import { planSync } from '../../src/render/sync-plan.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function checkDir(t: Test, dir: string, files: readonly RenderedUnit[]): void {
  const abs = join(root, dir);
  if (process.env['UPDATE_GOLDEN']) {
    mkdirSync(abs, { recursive: true });
    for (const f of readdirSync(abs)) if (!files.some((r) => r.path === f)) rmSync(join(abs, f));
    for (const f of files) writeFileSync(join(abs, f.path), f.text);
  }
  const onDisk = new Map(existsSync(abs) ? readdirSync(abs).map((f) => [f, readFileSync(join(abs, f), 'utf8')] as const) : []);
  const plan = planSync(files, onDisk);
  t.strictSame(plan.missing.map((f) => f.path), [], `${dir}: no file missing`);
  t.strictSame(plan.changed.map((f) => f.path), [], `${dir}: no file differs (run: gen-units SPEC -o ${dir})`);
  t.strictSame([...onDisk.keys()].filter((f) => !files.some((r) => r.path === f)), [], `${dir}: no other file`);
}

for (const name of ['seed', 'large']) {
  t.test(`examples/${name}/units`, async (t) => {
    const file = `examples/${name}/cluster.yaml`;
    const spec = parseSpec(readFileSync(join(root, file), 'utf8'), file);
    checkDir(t, `examples/${name}/units`, renderCluster(spec).files);
  });
}

t.test("units/: fleetkit's own units for the seed example", async (t) => {
  const file = 'examples/seed/cluster.yaml';
  const files = renderFleetkitUnits(parseSpec(readFileSync(join(root, file), 'utf8'), file));
  t.strictSame(files.map((f) => f.name), ['fleetkit-agent.service', 'fleetkit-hosts.service']);
  checkDir(t, 'units', files);
});
