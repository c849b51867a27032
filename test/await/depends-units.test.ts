// depends_on on the real systemd 252, dockerd and etcd of the test environment, with the real `fleetkit
// await` (dist/fleetkit.cjs) in the rendered container units, for both targets:
// - the dependent unit is active at once (fleetctl start gives a unit 2 s) while its container is not
//   started, as long as the dependency is not announced; the journal says what it waits for, and
//   status's `waitingFor` says "waiting for db" from the same facts;
// - once the dependency's key is announced, the container starts within a bounded time;
// - a dependency that never comes: a clear journal line at the timeout, exit status 1, no container;
// - `required: false`: after the timeout the container starts anyway, with a line saying so.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart, waitFor } from '../env/parts.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { waitingFor } from '../../src/cluster/dependency-wait.js';
import { TARGET_NAMES } from '../../src/target/targets.js';
import { writeFleetkitShim } from '../env/fleetkit-shim.js';

const [etcd, docker, sd] = await Promise.all([etcdPart(t), dockerPart(t), systemdPart(t)]);
const client = await connectEtcd({ endpoints: etcd.endpoints });
t.teardown(() => client.close());
const dir = mkdtempSync(join(tmpdir(), 'fleetkit-depends-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const fleetkit = writeFleetkitShim(join(dir, 'fleetkit'));

const show = (unit: string, prop: string): Promise<string> => sd.systemctl(['show', '-P', prop, unit]).then((r) => r.stdout.trim());
const running = async (name: string): Promise<boolean> => {
  const r = await docker.docker(['inspect', '-f', '{{.State.Running}}', name]);
  return r.code === 0 && r.stdout.trim() === 'true';
};
const exists = async (name: string): Promise<boolean> => (await docker.docker(['inspect', name])).code === 0;
const journalHas = async (unit: string, re: RegExp): Promise<string | undefined> => (await sd.journalLines(unit)).find((l) => re.test(l));

for (const target of TARGET_NAMES) {
  t.test(`target ${target}`, async (t) => {
    const id = `${target.slice(0, 3)}${process.pid}`;
    const [web, late, opt, db, ghost] = ['web', 'late', 'opt', 'db', 'ghost'].map((s) => `${s}${id}`) as [string, string, string, string, string];
    const prefix = `/fk-depends-${id}`;
    const spec = parseSpec(`name: deps
x-fleetkit:
  target: ${target}
  etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }
  runtime: { fleetkit: { binary: ${fleetkit} } }
  # No hosts watcher runs here to make the cluster's containers' hosts file: the containers keep docker's own.
  hosts: { containers: false }
x-sleeper: &sleeper
  image: ${docker.busyboxImage}
  command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
  stop_grace_period: 2s
services:
  ${db}: { <<: *sleeper, x-announce: true, healthcheck: { test: ["CMD", "true"], interval: 1s } }
  ${ghost}: { <<: *sleeper, x-announce: true }
  ${web}:
    <<: *sleeper
    depends_on: { ${db}: { condition: service_healthy } }
    x-await: { timeout: 60s }
  ${late}:
    <<: *sleeper
    depends_on: [${ghost}]
    x-await: { timeout: 3s }
  ${opt}:
    <<: *sleeper
    depends_on: { ${ghost}: { condition: service_started, required: false } }
    x-await: { timeout: 2s }
`, join(dir, `${target}.yaml`));
    // Only the dependents are loaded: the dependencies' announcements are written here, as their agent would.
    const files = renderCluster(spec).files.filter((f) => [web, late, opt].some((s) => f.name === `${s}@.service`));
    t.equal(files.length, 3);
    for (const f of files) writeFileSync(join(sd.unitDir, f.path), f.text);
    await sd.systemctl(['daemon-reload']);
    const units = [web, late, opt].map((s) => `${s}@1.service`);
    t.teardown(async () => {
      await sd.systemctl(['stop', ...units]);
      for (const f of files) rmSync(join(sd.unitDir, f.path), { force: true });
      await sd.systemctl(['daemon-reload']);
      await client.delete().prefix(`${prefix}/`);
    });
    const key = `${prefix}/deps/${db}/1`;
    const deps = spec.services.find((s) => s.name === web)!.dependsOn!;

    t.test('active while it waits, no container, a line that says what for', async (t) => {
      const started = await sd.systemctl(['start', `${web}@1.service`]);
      t.equal(started.code, 0, started.stderr);
      t.equal(await show(`${web}@1.service`, 'ActiveState'), 'active', 'active at once: the wait runs inside the started unit');
      await waitFor(() => journalHas(`${web}@1.service`, /waiting for/).then(Boolean), { what: 'the waiting line', timeoutMs: 30_000 });
      t.match(await journalHas(`${web}@1.service`, /waiting for/), `waiting for ${db}: not announced yet (${key})`);
      t.notOk(await exists(`${web}-1`), 'the container is not created while the dependency is missing');
      t.equal(await show(`${web}@1.service`, 'ActiveState'), 'active');
      t.equal(waitingFor({ unitActive: true, containerRunning: await running(`${web}-1`), deps, announced: new Set() }), `waiting for ${db}`, 'status derives the same');
    });

    t.test('starts once the dependency is announced', async (t) => {
      const t0 = Date.now();
      await client.put(key).value(JSON.stringify({ ip: '10.1.2.3', hostname: `${db}-1`, host: 'h', machine: '0'.repeat(32), container: `${db}-1`, version: 1, time: new Date().toISOString() }));
      await waitFor(() => running(`${web}-1`), { what: `${web}-1 running`, timeoutMs: 30_000 });
      t.ok(Date.now() - t0 < 30_000, `started ${Date.now() - t0} ms after the announcement`);
      t.match(await journalHas(`${web}@1.service`, /announced after/), `${db} announced after`);
      t.equal(await show(`${web}@1.service`, 'ActiveState'), 'active');
      t.equal(waitingFor({ unitActive: true, containerRunning: true, deps, announced: new Set([key]) }), undefined, 'not waiting any more');
      const stopped = await sd.systemctl(['stop', `${web}@1.service`]);
      t.equal(stopped.code, 0);
      await waitFor(async () => !(await exists(`${web}-1`)), { what: `${web}-1 removed (--rm)`, timeoutMs: 30_000 });
    });

    t.test('a dependency that never comes: the timeout, a clear line, exit status 1, no container', async (t) => {
      await sd.systemctl(['start', `${late}@1.service`]);
      await waitFor(async () => ['failed', 'inactive'].includes(await show(`${late}@1.service`, 'ActiveState')), { what: `${late}@1 ended`, timeoutMs: 30_000 });
      t.equal(await show(`${late}@1.service`, 'ActiveState'), 'failed');
      t.equal(await show(`${late}@1.service`, 'ExecMainStatus'), '1');
      t.match(await journalHas(`${late}@1.service`, /gave up/), new RegExp(`gave up waiting for ${ghost} after 3\\.\\d s: not announced in etcd .*; the container was not started`));
      t.notOk(await exists(`${late}-1`));
    });

    t.test('required: false: the container starts anyway after the timeout', async (t) => {
      await sd.systemctl(['start', `${opt}@1.service`]);
      await waitFor(() => running(`${opt}-1`), { what: `${opt}-1 running`, timeoutMs: 30_000 });
      t.match(await journalHas(`${opt}@1.service`, /required: false/), `${ghost} (required: false) not announced after 2.`);
    });
  });
}
