// Every rendered unit of the examples and of the golden cases passes `systemd-analyze verify` (systemd 252),
// with no warning at all. verify checks that executables exist, so each spec's units are verified in a fake
// root (`--root`) holding the units, systemd's own unit directory, and a stand-in for every executable the
// units name (/usr/bin/docker, /opt/bin/fleetkit, …): the committed text is verified as it is.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster, type RenderedUnit } from '../../src/render/render.js';
import { verifyUnits as verify } from '../support/systemd-verify.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const specs = [
  'examples/seed/cluster.yaml',
  'examples/large/cluster.yaml',
  ...readdirSync(join(root, 'test/render/cases')).filter((f) => f.endsWith('.yaml')).map((f) => `test/render/cases/${f}`),
];

t.test('the harness catches what verify reports', async (t) => {
  const bad = verify(t, [{ path: 'bad@.service', text: '[Service]\nExecStart=/usr/bin/docker run x\nRestartt=always\n' }]);
  t.match(bad.output, "Unknown key 'Restartt'", 'a warning is seen');
});

for (const spec of specs) {
  t.test(spec, async (t) => {
    const result = renderCluster(parseSpec(readFileSync(join(root, spec), 'utf8'), spec));
    const files: RenderedUnit[] = [...result.files];
    const r = verify(t, files);
    t.equal(r.output, '', 'no error and no warning');
    t.equal(r.code, 0, `systemd-analyze verify of ${files.map((f) => f.name).join(', ')}`);
  });
}
