// A stop of a container unit and its discovery sidekick, in either order, never announces the container
// again, on both targets' units on the real systemd 252, dockerd and etcd, with the real agent
// (dist/fleetkit.cjs). fleet's agent stops the sidekick first and the container unit at a later step; between
// the two the container unit is active with no job of its own. A dependency that starts the sidekick again
// whenever the container unit is active (Upholds=) re-registers the container there, and the agent announces
// it while it is being taken down. The etcd watch runs from before the first stop until after the second; a drop-in
// that counts the sidekick's starts shows whether systemd started it again.
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart, waitFor } from '../env/parts.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { TARGET_NAMES } from '../../src/target/targets.js';
import { writeFleetkitShim } from '../env/fleetkit-shim.js';

const [etcd, docker, sd] = await Promise.all([etcdPart(t), dockerPart(t), systemdPart(t)]);
const client = await connectEtcd({ endpoints: etcd.endpoints });
t.teardown(() => client.close());

const dir = mkdtempSync(join(tmpdir(), 'fleetkit-stop-order-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const fleetkit = writeFleetkitShim(join(dir, 'fleetkit'));

const show = (unit: string, prop: string): Promise<string> => sd.systemctl(['show', '-P', prop, unit]).then((r) => r.stdout.trim());
const WAIT = { timeoutMs: 60_000 } as const;

/** systemd's job queue is empty: every job the stop caused (and any start it led to) has been carried out. */
async function jobsDone(): Promise<void> {
  await waitFor(async () => (await sd.systemctl(['list-jobs', '--no-legend'])).stdout.trim() === '', { what: 'no systemd job pending', ...WAIT });
}

for (const target of TARGET_NAMES) {
  t.test(`target ${target}`, async (t) => {
    const svc = `so${target.slice(0, 3)}${process.pid}`;
    const cluster = `so${target.slice(0, 3)}`;
    const agent = `fleetkit-agent-${cluster}.service`;
    const prefix = `/fk-stop-order-${target}-${process.pid}`;
    const key = `${prefix}/${cluster}/${svc}/1`;
    const stateDir = join(dir, `state-${target}`);
    mkdirSync(stateDir, { recursive: true });
    const spec = parseSpec(`name: ${cluster}
x-fleetkit: { target: ${target}, etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} } }
runtime: { fleetkit: { binary: ${fleetkit} }, stateDir: ${stateDir} }
hosts: { file: ${join(dir, `hosts-${target}`)}, containers: false }
services:
  ${svc}:
    image: ${docker.busyboxImage}
    # PID 1 without --init (legacy): the trap makes docker stop quick.
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    restart: always
    stop_grace_period: 3s
    x-announce: { port: 80, ttl: 10s }
`, 'cluster.yaml');
    const files = renderCluster(spec).files.filter((f) => f.name === agent || f.name.startsWith(svc));
    t.equal(files.length, 3, 'agent, container unit, sidekick');
    for (const f of files) writeFileSync(join(sd.unitDir, f.path), f.text);
    // The test's own eye on the sidekick: one line per start (an instance unit is unloaded once inactive, so
    // systemd's own timestamps of it are gone by the time they are read).
    const starts = join(dir, `starts-${target}`);
    const dropIn = join(sd.unitDir, `${svc}-discovery@.service.d`);
    mkdirSync(dropIn, { recursive: true });
    writeFileSync(join(dropIn, 'count.conf'), `[Service]\nExecStartPre=/bin/sh -c "echo start >> ${starts}"\n`);
    const startCount = (): number => (existsSync(starts) ? readFileSync(starts, 'utf8').split('\n').filter(Boolean).length : 0);
    const container = `${svc}@1.service`;
    const sidekick = `${svc}-discovery@1.service`;
    t.teardown(async () => {
      await sd.systemctl(['stop', sidekick, container, agent]);
      for (const f of files) rmSync(join(sd.unitDir, f.path), { force: true });
      rmSync(dropIn, { recursive: true, force: true });
      await sd.systemctl(['daemon-reload']);
      await sd.systemctl(['reset-failed']);
      await client.delete().prefix(prefix);
    });
    t.equal((await sd.systemctl(['daemon-reload'])).code, 0);
    t.equal((await sd.systemctl(['start', agent])).code, 0, 'agent started');

    /** Starts the pair, waits for the announcement, runs `stops`, and returns what etcd saw of the key meanwhile. */
    async function stopPair(stops: () => Promise<void>): Promise<{ events: string[]; sidekickStarts: number }> {
      t.equal((await sd.systemctl(['start', container, sidekick])).code, 0, 'container unit and sidekick started');
      await waitFor(async () => (await client.get(key).string()) ?? undefined, { what: `${key} announced`, ...WAIT });
      const before = startCount();
      const events: string[] = [];
      const marker = `${prefix}/marker`;
      const watcher = await client.watch().prefix(`${prefix}/`).create();
      let sawMarker: () => void = () => undefined;
      const markerSeen = new Promise<void>((resolve) => (sawMarker = resolve));
      watcher.on('put', (kv) => (kv.key.toString() === marker ? sawMarker() : void (kv.key.toString() === key && events.push('put'))));
      watcher.on('delete', (kv) => void (kv.key.toString() === key && events.push('delete')));
      try {
        await stops();
        await waitFor(async () => (await client.get(key).string()) === null, { what: `${key} withdrawn`, ...WAIT });
        await jobsDone();
        // Every event up to here has been delivered once the watch sees a put made after them.
        await client.put(marker).value('1');
        await markerSeen;
      } finally {
        await watcher.cancel();
      }
      return { events, sidekickStarts: startCount() - before };
    }

    await t.test("fleet's order: the sidekick, then (once systemd is idle) the container unit", async (t) => {
      const seen = await stopPair(async () => {
        t.equal((await sd.systemctl(['stop', sidekick])).code, 0, 'sidekick stopped');
        await jobsDone();
        t.equal(await show(sidekick, 'ActiveState'), 'inactive', 'the sidekick stays stopped while the container unit runs');
        t.equal(await show(container, 'ActiveState'), 'active');
        t.equal((await sd.systemctl(['stop', container])).code, 0, 'container unit stopped');
      });
      t.same(seen.events, ['delete'], 'withdrawn once, never put again after the stop began');
      t.equal(seen.sidekickStarts, 0, 'systemd did not start the sidekick again');
    });

    await t.test('the container unit alone: its stop takes the sidekick down first', async (t) => {
      const seen = await stopPair(async () => {
        t.equal((await sd.systemctl(['stop', container])).code, 0, 'container unit stopped');
        t.equal(await show(sidekick, 'ActiveState'), 'inactive');
      });
      t.same(seen.events, ['delete'], 'withdrawn once, never put again after the stop began');
      t.equal(seen.sidekickStarts, 0);
    });

    await t.test('both in one request, as `systemctl stop SIDEKICK CONTAINER`', async (t) => {
      const seen = await stopPair(async () => {
        t.equal((await sd.systemctl(['stop', sidekick, container])).code, 0, 'both stopped');
      });
      t.same(seen.events, ['delete'], 'withdrawn once, never put again after the stop began');
      t.equal(seen.sidekickStarts, 0);
    });
  });
}
