// The cluster's containers' hosts file as the rendered container unit mounts it, on the real systemd 252,
// dockerd and etcd of the test environment, with the real CLI (dist/fleetkit.cjs), for both targets
// (`legacy` mounts with `-v FILE:/etc/hosts:ro`, `current` with `--mount`):
// - first the hazard itself, on this dockerd: `-v` of a missing file makes a directory there (and the start
//   fails, a directory cannot be mounted over a file), `--mount` fails and makes nothing;
// - a container unit started with no hosts unit loaded and no file (fleet can start a unit before it loads
//   the global hosts unit on that machine): its ExecStartPre makes the file, the container runs with it
//   mounted read-only as /etc/hosts, and the watcher's later write reaches the container (same inode);
// - a directory left by an earlier bad start: the unit fails before docker runs, the journal names the
//   directory and what to do, and the directory is left alone; once removed, the unit starts;
// - with the hosts unit loaded, starting a container unit starts it too (Wants=), and a restart or stop of
//   the hosts unit leaves the container running (not Requires=).
import t from 'tap';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart, waitFor } from '../env/parts.js';
import { runCommand } from '../env/part-runtime.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { TARGET_NAMES } from '../../src/target/targets.js';
import { writeFleetkitShim } from '../env/fleetkit-shim.js';

const [etcd, docker, sd] = await Promise.all([etcdPart(t), dockerPart(t), systemdPart(t)]);
const client = await connectEtcd({ endpoints: etcd.endpoints });
t.teardown(() => client.close());
const dir = mkdtempSync(join(tmpdir(), 'fleetkit-hosts-mount-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const fleetkit = writeFleetkitShim(join(dir, 'fleetkit'));

const show = (unit: string, prop: string): Promise<string> => sd.systemctl(['show', '-P', prop, unit]).then((r) => r.stdout.trim());
const inspect = async (name: string, format: string): Promise<string | undefined> => {
  const r = await docker.docker(['inspect', '-f', format, name]);
  return r.code === 0 ? r.stdout.trim() : undefined;
};
const running = async (name: string): Promise<boolean> => (await inspect(name, '{{.State.Running}}')) === 'true';
const insideHosts = async (name: string): Promise<string> => (await docker.docker(['exec', name, 'cat', '/etc/hosts'])).stdout;

t.test('the hazard on this dockerd: -v of a missing file makes a directory (and fails), --mount refuses', async (t) => {
  const missing = join(dir, 'hazard', 'hosts');
  const v = await docker.docker(['run', '--rm', '-v', `${missing}:/etc/hosts:ro`, docker.busyboxImage, 'true']);
  t.not(v.code, 0, 'a directory cannot be mounted over the image\'s /etc/hosts file');
  t.match(v.stderr, 'not a directory');
  t.ok(statSync(missing).isDirectory(), 'docker made a directory where the file should be, and left it');
  const other = join(dir, 'hazard', 'hosts2');
  const m = await docker.docker(['run', '--rm', `--mount=type=bind,source=${other},target=/etc/hosts,readonly`, docker.busyboxImage, 'true']);
  t.not(m.code, 0);
  t.match(m.stderr, 'bind source path does not exist');
  t.notOk(existsSync(other), '--mount makes nothing');
});

for (const target of TARGET_NAMES) {
  t.test(`target ${target}`, async (t) => {
    const id = `${target.slice(0, 3)}${process.pid}`;
    const cluster = `hm${id}`;
    const svc = `w${id}`;
    const prefix = `/fk-hosts-mount-${id}`;
    const file = join(dir, target, 'run', 'containers');
    const spec = parseSpec(`name: ${cluster}
x-fleetkit:
  target: ${target}
  etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }
  runtime: { fleetkit: { binary: ${fleetkit} } }
  hosts: { file: ${join(dir, target, 'hosts')}, containers: ${file} }
services:
  ${svc}:
    image: ${docker.busyboxImage}
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    stop_grace_period: 2s
`, join(dir, `${target}.yaml`));
    const { files } = renderCluster(spec);
    const unit = `${svc}@1.service`;
    const hostsUnit = `fleetkit-hosts-${cluster}.service`;
    const container = `${svc}-1`;
    const install = async (names: readonly string[]): Promise<void> => {
      for (const f of files.filter((f) => names.includes(f.name))) writeFileSync(join(sd.unitDir, f.path), f.text);
      t.equal((await sd.systemctl(['daemon-reload'])).code, 0);
    };
    t.teardown(async () => {
      await sd.systemctl(['stop', unit, hostsUnit]);
      for (const f of files) rmSync(join(sd.unitDir, f.path), { force: true });
      await sd.systemctl(['daemon-reload']);
      await client.delete().prefix(`${prefix}/`);
    });
    const stopUnit = async (): Promise<void> => {
      await sd.systemctl(['stop', unit]);
      await waitFor(async () => (await inspect(container, '{{.Id}}')) === undefined, { what: `${container} removed (--rm)`, timeoutMs: 30_000 });
    };
    const announce = async (i: number, ip: string): Promise<void> => {
      await client.put(`${prefix}/${cluster}/db/${i}`).value(JSON.stringify({ ip, hostname: `db-${i}`, host: 'h', machine: '0'.repeat(32), container: `db-${i}`, version: 1, time: new Date().toISOString() }));
    };

    t.test('no hosts unit loaded, no file: the unit makes it, the container mounts it, the watcher writes it', async (t) => {
      await install([`${svc}@.service`]);
      t.equal(await show(hostsUnit, 'LoadState'), 'not-found', 'the hosts unit is not there (Wants= of it is ignored)');
      t.notOk(existsSync(file), 'no file, not even its directory');
      const started = await sd.systemctl(['start', unit]);
      t.equal(started.code, 0, started.stderr);
      await waitFor(() => running(container), { what: `${container} running`, timeoutMs: 30_000 });
      t.ok(lstatSync(file).isFile(), 'a regular file, not a directory');
      t.match(readFileSync(file, 'utf8'), /^127\.0\.0\.1\s+localhost/m, 'the base lines');
      const mounts = JSON.parse((await inspect(container, '{{json .Mounts}}'))!) as Array<{ Source: string; Destination: string; RW: boolean; Type: string }>;
      t.match(mounts, [{ Type: 'bind', Source: file, Destination: '/etc/hosts', RW: false }], 'mounted read-only as /etc/hosts');
      t.equal(await insideHosts(container), readFileSync(file, 'utf8'), 'the container reads the file');

      // The watcher, started later, writes the same file in place: the running container sees the entry.
      await announce(1, '10.1.2.3');
      const once = await runCommand(fleetkit, ['watch-hosts', '--etcd', etcd.clientUrl, '--prefix', prefix, '--cluster', cluster, '--out', join(dir, target, 'hosts'), '--containers-file', file, '--once']);
      t.equal(once.code, 0, once.stderr);
      t.match(readFileSync(file, 'utf8'), new RegExp(`^10\\.1\\.2\\.3\\s+db-1 db-1\\.${cluster}`, 'm'));
      t.equal(await insideHosts(container), readFileSync(file, 'utf8'), 'the container sees the watcher\'s write');
      await stopUnit();
    });

    t.test('a directory left by an earlier -v: a clear failure before docker runs, the directory kept', async (t) => {
      rmSync(file);
      mkdirSync(file);
      writeFileSync(join(dir, target, 'marker'), '');
      const started = await sd.systemctl(['start', unit]);
      t.not(started.code, 0, 'the start fails');
      t.equal(await show(unit, 'ActiveState'), 'failed');
      await waitFor(async () => (await sd.journalLines(unit)).some((l) => l.includes('is a directory')), { what: 'the journal line', timeoutMs: 30_000 });
      const line = (await sd.journalLines(unit)).join('\n');
      t.match(line, `${file} is a directory, not the cluster's containers' hosts file`);
      t.match(line, `rmdir ${file}`, 'and what to do');
      t.equal(await inspect(container, '{{.Id}}'), undefined, 'docker was not run');
      t.ok(statSync(file).isDirectory(), 'fleetkit removes no directory');
      rmdirSync(file);
      await sd.systemctl(['reset-failed', unit]);
      t.equal((await sd.systemctl(['start', unit])).code, 0);
      await waitFor(() => running(container), { what: `${container} running`, timeoutMs: 30_000 });
      t.ok(lstatSync(file).isFile(), 'made again as a file');
      await stopUnit();
    });

    t.test('with the hosts unit loaded: the container unit starts it (Wants=); its restart and stop leave the container', async (t) => {
      await install([hostsUnit]);
      t.equal(await show(hostsUnit, 'ActiveState'), 'inactive');
      t.equal((await sd.systemctl(['start', unit])).code, 0);
      await waitFor(() => running(container), { what: `${container} running`, timeoutMs: 30_000 });
      t.equal(await show(hostsUnit, 'ActiveState'), 'active', 'the watcher runs');
      // Live: a new announcement reaches the running container through the watcher.
      await announce(2, '10.1.2.4');
      await waitFor(async () => /^10\.1\.2\.4\s+db-2/m.test(await insideHosts(container)), { what: 'db-2 in the container\'s /etc/hosts', timeoutMs: 30_000 });
      const before = await inspect(container, '{{.Id}}');
      const pid = await show(unit, 'MainPID');
      t.equal((await sd.systemctl(['restart', hostsUnit])).code, 0);
      t.equal((await sd.systemctl(['stop', hostsUnit])).code, 0);
      t.equal(await show(unit, 'ActiveState'), 'active', 'the container unit stays active');
      t.equal(await show(unit, 'MainPID'), pid, 'not restarted');
      t.equal(await inspect(container, '{{.Id}}'), before, 'the same container');
      t.ok(await running(container));
      await stopUnit();
    });
  });
}
