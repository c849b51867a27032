/**
 * The large example cluster, rendered in memory and loaded into the fleet test server with
 * several simulated machines: placement follows its [X-Fleet] options, a second load sends no PUT, a
 * change to one service replaces exactly its units, and units that left the spec are reported and pruned.
 */
import t from 'tap';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { examplesDir, fleetLoadScratch, healthy, machineId, machineOf, putUnits, runningOn } from './fleet-load.js';

const scratch = await fleetLoadScratch(t, 'load-large');
const { root, server } = scratch;
// The test server runs no agent, so nothing is announced: load and start wait for the units' states only.
const load: typeof scratch.load = (s, verb, ...rest) => scratch.load(s, verb!, ...rest, ...(verb === 'load' || verb === 'start' ? ['--no-announcements'] : []));

t.test('the large example: metadata, conflicts, global units; one changed service replaces only its units; prune', async (t) => {
  const web = [1, 2, 3, 4].map((i) => ({ id: machineId(i), primaryIP: `10.0.1.${i}`, metadata: { role: 'web', region: 'east' } }));
  const db = [{ id: machineId(5), primaryIP: '10.0.2.1', metadata: { role: 'db', region: 'east', disk: 'hdd' } }, { id: machineId(6), primaryIP: '10.0.2.2', metadata: { role: 'db', region: 'east', disk: 'ssd' } }];
  const etcd = [{ id: machineId(7), primaryIP: '10.0.3.1', metadata: { role: 'etcd', region: 'east' } }];
  const machines = [...web, ...db, ...etcd];
  const s = await server(t, machines);
  const spec = join(root, 'large.yaml');
  const original = await readFile(join(examplesDir, 'large/cluster.yaml'), 'utf8');
  await writeFile(spec, original);
  // Its env_file entries are read at render time, relative to the cluster file.
  for (const f of ['web.env', 'db.env']) await copyFile(join(examplesDir, 'large', f), join(root, f));

  const r = await load(s, 'load', spec, '--parallel', '4');
  t.equal(r.code, 0, r.stderr);
  const webAt = [1, 2, 3, 4].map((i) => machineOf(s, `web@${i}.service`));
  t.same([...webAt].sort(), web.map((m) => m.id), 'four web instances on the four role=web machines, one each');
  t.equal(machineOf(s, 'db@1.service'), machineId(6), 'db on the role=db machine with disk=ssd');
  t.equal(machineOf(s, 'db-discovery@1.service'), machineId(6), 'its sidekick beside it');
  t.same(runningOn(s, 'node-exporter.service'), machines.map((m) => m.id), 'global: every machine');
  healthy(t, s);

  // One service changes: only its units are sent again.
  const before = putUnits(s).length;
  await writeFile(spec, original.replace('POSTGRES_DB: shop', 'POSTGRES_DB: shop2'));
  const refused = await load(s, 'load', spec);
  t.equal(refused.code, 1);
  t.equal(putUnits(s).length, before, 'nothing sent without --replace');
  t.match(refused.stderr, /db@1.service: differs from the unit in fleet/);
  const replaced = await load(s, 'load', spec, '--replace', '--json');
  t.equal(replaced.code, 0, replaced.stderr);
  t.same(putUnits(s).slice(before).sort(), ['db-discovery@1.service', 'db-discovery@1.service', 'db@.service', 'db@1.service', 'db@1.service'], 'the db units: the running instance stopped with its sidekick, then its new version and the sidekick started');
  const doc = JSON.parse(replaced.stdout) as { units: { name: string; change: string }[] };
  t.same(doc.units.filter((u) => u.change === 'replaced').map((u) => u.name).sort(), ['db@.service', 'db@1.service']);
  t.ok(s.units().find((u) => u.name === 'db@1.service')!.options.some((o) => o.value.includes('POSTGRES_DB=shop2')));
  t.same(runningOn(s, 'db@1.service'), [machineId(6)]);

  // A service leaves the spec: reported, then pruned.
  await writeFile(spec, original.replace('POSTGRES_DB: shop', 'POSTGRES_DB: shop2').replace(/\n  node-exporter:\n(    .*\n|\n)*?(?=\nvolumes:)/, '\n'));
  const stale = await load(s, 'load', spec);
  t.equal(stale.code, 0, stale.stderr);
  t.match(stale.stderr, /2 unit\(s\) of this cluster are no longer in the spec: node-exporter-discovery.service, node-exporter.service\n  hint: add --prune/);
  t.ok(s.units().some((u) => u.name === 'node-exporter.service'), 'not removed without --prune');
  const pruned = await load(s, 'load', spec, '--prune');
  t.equal(pruned.code, 0, pruned.stderr);
  t.notOk(s.units().some((u) => u.name.startsWith('node-exporter')), 'pruned from fleet');
  t.same(s.states().filter((x) => x.name.startsWith('node-exporter')), [], 'and from the machines');
  healthy(t, s);
});
