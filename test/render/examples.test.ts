// The committed units in examples/*/units and the repository's units/ are the render of the example specs:
// this fails (as `gen-units --check` would) when they drift. UPDATE_GOLDEN=1 renders them again (then
// `gen-units SPEC -o DIR` writes the same files).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster, renderFleetkitUnits } from '../../src/render/render.js';
import { matchGoldenDir } from '../support/golden.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

for (const name of ['seed', 'large']) {
  t.test(`examples/${name}/units`, async (t) => {
    const file = `examples/${name}/cluster.yaml`;
    const spec = parseSpec(readFileSync(join(root, file), 'utf8'), file);
    matchGoldenDir(t, join(root, `examples/${name}/units`), renderCluster(spec).files);
  });
}

t.test("units/: fleetkit's own units for the seed example", async (t) => {
  const file = 'examples/seed/cluster.yaml';
  const files = renderFleetkitUnits(parseSpec(readFileSync(join(root, file), 'utf8'), file));
  t.strictSame(files.map((f) => f.name), ['fleetkit-agent-web.service', 'fleetkit-hosts-web.service']);
  matchGoldenDir(t, join(root, 'units'), files);
});
