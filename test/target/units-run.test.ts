// Both targets' units on the real systemd 252, dockerd and etcd of the test environment, with the real agent
// (dist/fleetkit.cjs): the container is killed, restarted by systemctl, and stopped, and the announcement in
// etcd must come back after each restart and go after the stop. `current` brings its bound sidekick back
// with Wants=; `legacy` (the sidekick Requires= its container unit, no oneshot Restart=, no --pull/--init)
// keeps it up and the agent follows docker's events.
//
// runtime.dockerSocket is checked on the way: the engine listens on a socket of its own (nothing at
// /var/run/docker.sock), the spec names it by another path (a symlink), and a drop-in removes the manager's
// own DOCKER_HOST from these units, so every docker command (kill, rm, run, stop) reaches the engine only
// through the units' Environment=.
import t from 'tap';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

const dir = mkdtempSync(join(tmpdir(), 'fleetkit-targets-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const fleetkit = writeFleetkitShim(join(dir, 'fleetkit'));
// The engine's socket under another name: a unit that fell back to the manager's DOCKER_HOST or to the
// default socket would not be using what the spec says.
const socket = join(dir, 'engine.sock');
symlinkSync(docker.socketPath, socket);

const state = (unit: string): Promise<string> => sd.systemctl(['show', '-P', 'ActiveState', unit]).then((r) => r.stdout.trim());
const mainPid = (unit: string): Promise<string> => sd.systemctl(['show', '-P', 'MainPID', unit]).then((r) => r.stdout.trim());
const WAIT = { timeoutMs: 60_000 } as const;

for (const target of TARGET_NAMES) {
  t.test(`target ${target}: the announcement comes back after every restart`, async (t) => {
    const svc = `tg${target.slice(0, 3)}${process.pid}`;
    const prefix = `/fk-targets-${target}-${process.pid}`;
    const key = `${prefix}/targets/${svc}/1`;
    const stateDir = join(dir, `state-${target}`);
    mkdirSync(stateDir, { recursive: true });
    const spec = parseSpec(`name: targets
x-fleetkit: { target: ${target} }
etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }
runtime: { dockerSocket: ${socket}, fleetkit: { binary: ${fleetkit} }, stateDir: ${stateDir} }
hosts: { file: ${join(dir, `hosts-${target}`)}, containers: ${join(dir, `containers-hosts-${target}`)} }
services:
  ${svc}:
    image: ${docker.busyboxImage}
    # PID 1 without --init (legacy): the trap makes docker stop quick.
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    restart: always
    stop_grace_period: 3s
    x-announce: { port: 80, ttl: 10s }
    x-systemd: { Service: { RestartSec: "1" } }
`, 'cluster.yaml');
    // The containers' hosts file exists before a container mounts it (watch-hosts makes it as it starts).
    writeFileSync(join(dir, `containers-hosts-${target}`), '127.0.0.1\tlocalhost\n');
    const files = renderCluster(spec).files.filter((f) => f.name === 'fleetkit-agent-targets.service' || f.name.startsWith(svc));
    t.equal(files.length, 3, 'agent, container unit, sidekick');
    const text = files.map((f) => f.text).join('\n');
    if (target === 'legacy') t.notMatch(text, /^Upholds=|--pull|--init|^Restart=on-failure/m, 'nothing newer than legacy');
    else t.match(text, new RegExp(`^Wants=${svc}-discovery@%i\\.service$`, 'm'), 'the container unit wants its sidekick (not Upholds=)');
    t.match(text, new RegExp(`^Environment="DOCKER_HOST=unix://${socket}"$`, 'm'), 'the units carry DOCKER_HOST');

    const names = files.map((f) => f.name);
    for (const f of files) {
      writeFileSync(join(sd.unitDir, f.path), f.text);
      // Take the manager's own DOCKER_HOST (the same engine, its real path) away from these units.
      mkdirSync(join(sd.unitDir, `${f.name}.d`), { recursive: true });
      writeFileSync(join(sd.unitDir, `${f.name}.d`, 'no-manager-docker.conf'), `[Service]\nUnsetEnvironment="DOCKER_HOST=${sd.unitDockerHost}"\n`);
    }
    const container = `${svc}@1.service`;
    const sidekick = `${svc}-discovery@1.service`;
    t.teardown(async () => {
      await sd.systemctl(['stop', sidekick, container, 'fleetkit-agent-targets.service']);
      for (const n of names) rmSync(join(sd.unitDir, n), { force: true }), rmSync(join(sd.unitDir, `${n}.d`), { recursive: true, force: true });
      await sd.systemctl(['daemon-reload']);
      await sd.systemctl(['reset-failed']);
      await client.delete().prefix(prefix);
    });
    t.equal((await sd.systemctl(['daemon-reload'])).code, 0);
    const env = (await sd.systemctl(['show', '-P', 'Environment', container])).stdout;
    t.match(env, `DOCKER_HOST=unix://${socket}`, 'systemd reads the unit\'s DOCKER_HOST');

    const announced = async (): Promise<string | undefined> => (await client.get(key).string()) ?? undefined;
    const ipOf = async (): Promise<string | undefined> => {
      const v = await announced();
      return v === undefined ? undefined : (JSON.parse(v) as { ip?: string }).ip;
    };

    t.equal((await sd.systemctl(['start', 'fleetkit-agent-targets.service'])).code, 0, 'agent started');
    t.equal((await sd.systemctl(['start', container, sidekick])).code, 0, 'container unit and sidekick started');
    const first = await waitFor(ipOf, { what: `${key} announced`, ...WAIT });
    t.match(first, /^\d+\.\d+\.\d+\.\d+$/, 'announced with the container\'s address');
    t.equal(await state(sidekick), 'active');

    await t.test('the container is killed: Restart= brings it back, and the announcement with it', async (t) => {
      const pid = await mainPid(container);
      const kill = await docker.docker(['kill', `${svc}-1`]);
      t.equal(kill.code, 0, kill.stderr);
      await waitFor(async () => (await announced()) === undefined, { what: `${key} withdrawn while the container is down`, ...WAIT });
      await waitFor(async () => {
        const now = await mainPid(container);
        return now !== '0' && now !== pid && (await state(container)) === 'active';
      }, { what: 'container unit restarted by Restart=', ...WAIT });
      t.ok(await waitFor(ipOf, { what: `${key} announced again`, ...WAIT }), 'announced again');
      t.equal(await state(sidekick), 'active', 'the sidekick is active');
    });

    await t.test('systemctl restart of the container unit', async (t) => {
      const before = await announced();
      t.equal((await sd.systemctl(['restart', container])).code, 0);
      await waitFor(async () => {
        const now = await announced();
        return now !== undefined && now !== before && (await state(sidekick)) === 'active';
      }, { what: `${key} announced by the restarted container`, ...WAIT });
      t.pass('announced again');
    });

    await t.test('docker restart of the container (systemd sees nothing)', async (t) => {
      const before = await announced();
      const r = await docker.docker(['restart', '-t', '1', `${svc}-1`]);
      t.equal(r.code, 0, r.stderr);
      await waitFor(async () => {
        const now = await announced();
        return now !== undefined && now !== before;
      }, { what: `${key} announced after docker restart`, ...WAIT });
      t.pass('announced again');
    });

    await t.test('stopping the container unit withdraws the announcement and removes the container', async (t) => {
      t.equal((await sd.systemctl(['stop', container])).code, 0);
      await waitFor(async () => (await state(sidekick)) === 'inactive', { what: `${sidekick} stopped`, ...WAIT });
      await waitFor(async () => (await announced()) === undefined, { what: `${key} withdrawn`, ...WAIT });
      const ps = await docker.docker(['ps', '-a', '--filter', `name=^${svc}-1$`, '--format', '{{.Names}}']);
      t.equal(ps.stdout.trim(), '', 'no container left (docker run --rm through DOCKER_HOST)');
      t.notOk(existsSync('/var/run/docker.sock'), 'nothing listens on the default socket');
    });
  });
}

