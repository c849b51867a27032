// The units inside the generated cloud-config and Butane pass `systemd-analyze verify`, drop-ins applied.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { planMachine, type MachineOptions } from '../../src/cloud-config/plan.js';
import { verifyUnits } from '../support/systemd-verify.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

const cases: Array<[string, Omit<MachineOptions, 'fleetkitUnits'>]> = [
  ['examples/seed/cluster.yaml', { target: 'container-linux' }],
  ['examples/seed/cluster.yaml', { target: 'fcos' }],
  ['examples/large/cluster.yaml', { target: 'container-linux', role: 'etcd', hostname: 'etcd1', initialCluster: 'etcd1=https://10.0.0.11:2380' }],
  ['examples/large/cluster.yaml', { target: 'fcos', role: 'etcd', hostname: 'etcd1', ip: '10.0.0.11', discovery: 'https://discovery.etcd.io/x' }],
  ['examples/large/cluster.yaml', { target: 'fcos', role: 'web' }],
  ['test/cloud-config/fixtures/fleet-release.yaml', { target: 'container-linux', role: 'web' }],
  ['test/cloud-config/fixtures/fleet-release.yaml', { target: 'fcos', role: 'web', ip: '10.0.0.21' }],
];

for (const [file, options] of cases) {
  t.test(`${file} ${options.target} ${options.role ?? ''}`, async (t) => {
    const spec = parseSpec(readFileSync(root + file, 'utf8'), file);
    const fleetkitUnits = renderCluster(spec).files.filter((f) => f.name.startsWith('fleetkit-')).map((f) => [f.name, f.text] as const);
    const plan = planMachine(spec, { ...options, fleetkitUnits });
    const files = plan.units.flatMap((u) => [
      ...(u.contents === undefined ? [] : [{ path: u.name, text: u.contents }]),
      ...u.dropIns.map((d) => ({ path: `${u.name}.d/${d.name}`, text: d.contents })),
    ]);
    t.ok(files.length >= 3, 'units and drop-ins to check');
    const r = verifyUnits(t, files);
    t.equal(r.output, '', 'no error and no warning');
    t.equal(r.code, 0);
  });
}
