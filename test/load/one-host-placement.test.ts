/**
 * What `load --systemd` says about `[X-Fleet]`: only the placement one host does not honour. Specs without
 * `x-fleet` still render the section (Global= on the agent and hosts units, MachineOf= on sidekicks), and
 * on one host that is met; the examples' one-host spec must load without a word about it. Conflicting
 * instances, machine metadata, a machine id and Replaces= are not met, and each is named with its units.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resolveSelection } from '../../src/load/selection.js';
import { oneHostPlacementWarnings } from '../../src/load/one-host-placement.js';
import { parseUnit } from '../../src/unit/parse.js';
import type { UnitFile } from '../../src/unit/model.js';

const ROOT = resolve(import.meta.dirname, '../..');

async function unitsOf(spec: string): Promise<UnitFile[]> {
  const sel = await resolveSelection([spec], ROOT, 'files');
  if (sel.kind !== 'spec') throw new Error('not a spec');
  return sel.desired.map((d) => d.unit);
}

/** `text` as a cluster.yaml in a directory of its own, removed after the test. */
async function specFile(t: Test, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fk-one-host-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'cluster.yaml'), text);
  return join(dir, 'cluster.yaml');
}

const hasXFleet = (u: UnitFile): boolean => u.options.some((o) => o.section === 'X-Fleet');

t.test('no x-fleet in the spec: nothing to say, though every unit carries [X-Fleet]', async (t) => {
  // The one-host example, and a spec in the style of a Compose file with a global service and a dependency.
  const own = await specFile(t, `name: shop
services:
  web:
    image: nginx:1.27
    deploy: { replicas: 3 }
    depends_on: [db]
    x-announce: { port: 80 }
  db:
    image: mariadb:11
    x-announce: { port: 3306 }
  node-exporter:
    image: prom/node-exporter:v1.8.2
    network_mode: host
    deploy: { mode: global }
    x-announce: { port: 9100 }
`);
  for (const spec of [join(ROOT, 'examples/e2e/cluster.yaml'), own]) {
    const units = await unitsOf(spec);
    const marked = units.filter(hasXFleet).map((u) => u.name);
    t.ok(marked.length >= 3, `${spec}: the agent, the hosts unit and the sidekicks carry [X-Fleet] (${marked.join(', ')})`);
    t.same(oneHostPlacementWarnings(units), [], `${spec}: no warning`);
  }
});

t.test('the seed example: its two conflicting apache instances run side by side on one host', async (t) => {
  t.same(oneHostPlacementWarnings(await unitsOf(join(ROOT, 'examples/seed/cluster.yaml'))), [
    '[X-Fleet] Conflicts=apache@*.service is not honoured on one host (systemd does not read [X-Fleet]): apache@1.service and apache@2.service run here side by side; fleet would put them on separate machines',
  ]);
});

t.test('placement by metadata and machine id: named with the units, a single conflicting instance is fine', async (t) => {
  const spec = await specFile(t, `name: shop
services:
  web:
    image: nginx:1.27
    deploy:
      replicas: 2
      placement:
        constraints: ["node.labels.role == web"]
    x-announce: { port: 80 }
  db:
    image: postgres:16
    x-fleet:
      machineID: 4f2a6b0e8c1d4e5f9a0b1c2d3e4f5a6b
  queue:
    image: redis:7
    x-fleet: { conflicts: true }
`);
  t.same(oneHostPlacementWarnings(await unitsOf(spec)), [
    '[X-Fleet] MachineMetadata role=web is not honoured on one host (systemd does not read [X-Fleet]): web@1.service and web@2.service run here unchecked; fleet would run them only on a machine with role=web',
    "[X-Fleet] MachineID=4f2a6b0e8c1d4e5f9a0b1c2d3e4f5a6b is not honoured on one host (systemd does not read [X-Fleet]): db@1.service runs here whatever this host's machine id; fleet would run it only on machine 4f2a6b0e",
  ]);
});

t.test('unit files: Conflicts= between services, Replaces= of a unit in the same run, long lists cut', async (t) => {
  const unit = (name: string, xfleet: string): UnitFile => parseUnit(name, `[Service]\nExecStart=/bin/true\n\n[X-Fleet]\n${xfleet}\n`);
  const units = [
    unit('cache.service', 'Conflicts=db@*.service'),
    unit('db@1.service', 'MachineOf=cache.service'),
    unit('db@2.service', ''),
    unit('proxy-v2.service', 'Replaces=proxy-v1.service'),
    unit('proxy-v1.service', ''),
    unit('old.service', 'Replaces=gone.service'),
    ...[1, 2, 3, 4, 5, 6].map((i) => unit(`w@${i}.service`, 'Conflicts=w@*.service')),
    unit('w@.service', 'Conflicts=w@*.service'),
  ];
  t.same(oneHostPlacementWarnings(units), [
    '[X-Fleet] Conflicts=db@*.service is not honoured on one host (systemd does not read [X-Fleet]): cache.service, db@1.service and db@2.service run here side by side; fleet would put them on separate machines',
    '[X-Fleet] Conflicts=w@*.service is not honoured on one host (systemd does not read [X-Fleet]): w@1.service, w@2.service, w@3.service and 3 more run here side by side; fleet would put them on separate machines',
    "[X-Fleet] Replaces=proxy-v1.service is not honoured on one host (systemd does not read [X-Fleet]): proxy-v2.service and proxy-v1.service run here side by side; fleet would move proxy-v1.service off proxy-v2.service's machine",
  ], 'MachineOf= is met on one host; a Replaces= of a unit not in this run says nothing; the template is not a unit that runs');
});
