// Every rendered unit closes with the cluster marker, so loaders find the units of a cluster that left the
// spec, and gen-units output is byte for byte what `fleetkit load` submits.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { clusterOf } from '../../src/unit/cluster-marker.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

for (const [file, cluster] of [['examples/seed/cluster.yaml', 'web'], ['examples/large/cluster.yaml', 'shop']] as const) {
  t.test(file, async (t) => {
    const { files } = renderCluster(parseSpec(readFileSync(root + file, 'utf8'), file));
    t.ok(files.length >= 4);
    for (const f of files) {
      t.equal(clusterOf(f.unit), cluster, `${f.name} carries Cluster=${cluster}`);
      t.equal(f.unit.options.at(-1)?.section, 'X-Fleetkit', `${f.name}: the marker is the last section`);
      t.match(f.text, new RegExp(`\\n\\[X-Fleetkit\\]\\nCluster=${cluster}\\n$`), `${f.name}: text ends with the marker`);
    }
  });
}
