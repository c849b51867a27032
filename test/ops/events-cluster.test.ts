/**
 * `fleetkit events SPEC` follows the cluster's units, not only those the spec had when it started: a unit
 * that carries the cluster's mark (`[X-Fleetkit] Cluster=`), as a service added to the spec and loaded later
 * does, is reported; a unit of another cluster is not. On the real systemd (D-Bus) and the fleet test server.
 */
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetClient } from '../../src/fleet/fleet-client.js';
import { parseFleetEndpoint } from '../../src/fleet/endpoint.js';
import { systemdPart, waitFor } from '../env/parts.js';
import { fleetServerPart } from '../fleet-server/server.js';
import { startFleetkit } from './stream-io.js';

const P = `fkec${process.pid}`;
const CLUSTER = `ec${process.pid}`;
const dir = await mkdtemp(join(tmpdir(), 'fk-events-cluster-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const spec = join(dir, 'cluster.yaml');
await writeFile(spec, `name: ${CLUSTER}\nservices:\n  ${P}-a:\n    image: busybox\n`);
const env = { PATH: process.env['PATH'] };
const esc = (s: string): string => s.replace(/[@.]/g, '\\$&');

t.test('systemd: a unit of the cluster loaded after events started is shown; another cluster\'s is not', async (t) => {
  const sd = await systemdPart(t);
  const later = `${P}-b@1.service`;
  const other = `${P}-c@1.service`;
  await writeFile(join(sd.unitDir, `${P}-b@.service`), `[Service]\nExecStart=/bin/sleep 600\n[X-Fleetkit]\nCluster=${CLUSTER}\n`);
  await writeFile(join(sd.unitDir, `${P}-c@.service`), `[Service]\nExecStart=/bin/sleep 600\n[X-Fleetkit]\nCluster=other${process.pid}\n`);
  await sd.systemctl(['daemon-reload']);
  t.teardown(() => sd.systemctl(['stop', later, other]));
  const run = startFleetkit(['events', spec, '--systemd', '--user', '--no-announcements'], { env: { ...env, ...sd.env } });
  t.teardown(() => run.stop());
  await waitFor(() => run.stderr().includes('fleetkit events: watching'), { what: 'events to be watching', timeoutMs: 15_000 });
  await sd.systemctl(['start', other]);
  await sd.systemctl(['start', later]);
  const line = await run.waitLine(new RegExp(`unit/start INFO ${esc(later)} `));
  t.ok(line, `${later} is reported: ${line.line}`);
  await sd.systemctl(['stop', later]);
  await run.waitLine(new RegExp(`unit/stop \\w+ ${esc(later)} `), { from: line.index + 1 });
  t.notOk(run.lines.some((l) => l.includes(other)), `${other} (another cluster) is not reported`);
});

t.test('fleet: a unit of the cluster submitted after events started is shown; another cluster\'s is not', async (t) => {
  const M = '3'.repeat(32);
  const server = await fleetServerPart(t, { socketPath: join(dir, 'fleet.sock'), machines: [{ id: M, primaryIP: '10.0.0.3' }] });
  const fleet = new FleetClient({ endpoint: parseFleetEndpoint(server.endpoint) });
  t.teardown(() => fleet.close());
  const run = startFleetkit(['events', spec, '--endpoint', server.endpoint, '--interval', '100ms', '--no-announcements'], { env });
  t.teardown(() => run.stop());
  await waitFor(() => run.stderr().includes('fleetkit events: watching'), { what: 'events to be watching', timeoutMs: 15_000 });
  const unit = (name: string, cluster: string) => ({ name, options: [
    { section: 'Service', name: 'ExecStart', value: '/bin/true' }, { section: 'X-Fleet', name: 'MachineID', value: M },
    { section: 'X-Fleetkit', name: 'Cluster', value: cluster },
  ] });
  await fleet.putUnit(unit(`${P}-c@1.service`, `other${process.pid}`), 'launched');
  await fleet.putUnit(unit(`${P}-b@1.service`, CLUSTER), 'launched');
  const created = await run.waitLine(new RegExp(`unit/create INFO ${esc(`${P}-b@1.service`)} `));
  await fleet.deleteUnit(`${P}-b@1.service`);
  await run.waitLine(new RegExp(`unit/delete INFO ${esc(`${P}-b@1.service`)} `), { from: created.index + 1 });
  t.pass('created and destroyed are both reported');
  t.notOk(run.lines.some((l) => l.includes(`${P}-c@1`)), 'the other cluster\'s unit is not reported');
});
