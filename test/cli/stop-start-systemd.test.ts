/**
 * `fleetkit stop` then `fleetkit start` through `--systemd`, on the real systemd and dockerd, the cases of
 * the fleet version (stop-start-fleet.test.ts): a spec with containers and sidekicks, loaded with the
 * cluster's agent and hosts watcher running as systemd units (this checkout's fleetkit). Each container takes
 * 3 s over SIGTERM. stop must return only when the containers are gone (`docker inspect`, `docker events`),
 * leave the agent and hosts watcher running, and end the stopped units inactive (docker stop ends `docker
 * run` with 143, which the units list in SuccessExitStatus=); a second stop stops nothing; start must not
 * take the state left by the stop as its outcome, and the counts say what happened.
 */
import t from 'tap';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart, waitFor } from '../env/parts.js';
import { ensureBundle, ROOT } from '../e2e/e2e-cluster.js';
import { runFleetkit } from './load-io.js';
import { containerEvents, containerState, isDown, stopTimes } from './docker-check.js';

// Real containers stop (3 s each over SIGTERM) and start again, with the agent and hosts watcher as units.
t.setTimeout(180_000);
const etcd = await etcdPart(t);
const sd = await systemdPart(t);
const docker = await dockerPart(t);
await ensureBundle();

// Names of this run's own: the systemd and dockerd are shared with the other tests of the run.
const CLUSTER = `ss${process.pid}`;
const W = `w${process.pid}`;
const GRACE_MS = 3000;
const prefix = `/fk-ss-${process.pid}`;
const dir = await mkdtemp(join(tmpdir(), 'fk-stopstart-sd-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await mkdir(join(dir, 'bin'));
await mkdir(join(dir, 'hosts'));
await writeFile(join(dir, 'hosts/hosts'), '127.0.0.1 localhost\n');
await writeFile(join(dir, 'bin/fleetkit'), `#!/bin/sh\nexec ${process.execPath} ${join(ROOT, 'dist/fleetkit.cjs')} "$@"\n`);
await chmod(join(dir, 'bin/fleetkit'), 0o755);
const spec = join(dir, 'cluster.yaml');
await writeFile(spec, `name: ${CLUSTER}
x-fleetkit:
  etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }
  runtime:
    docker: /usr/bin/docker
    dockerSocket: ${docker.socketPath}
    fleetkit: { binary: ${join(dir, 'bin/fleetkit')} }
    stateDir: ${join(dir, 'state')}
  hosts: { file: ${join(dir, 'hosts/hosts')}, containers: ${join(dir, 'hosts/containers')} }
services:
  ${W}:
    image: ${docker.httpImage}
    # A process that finishes its work for ${GRACE_MS / 1000} s after SIGTERM, then exits 143: docker stop takes that long.
    command: ["sh", "-c", "trap 'sleep ${GRACE_MS / 1000}; exit 143' TERM; httpd -f -p 8080 -h /www & wait"]
    deploy: { replicas: 2 }
    x-announce: { port: 8080, ttl: 10s }
`);
const common = ['--systemd', '--user', '--unit-dir', sd.unitDir, '--journal-dir', sd.journalDir, '--stable', '0s', '--timeout', '60s'];
const env = { ...sd.env };
const fleetkit = (...args: string[]) => runFleetkit([...args, spec, ...common], { env });
t.teardown(async () => void (await fleetkit('destroy')));

const UNITS = [`${W}@1.service`, `${W}@2.service`, `${W}-discovery@1.service`, `${W}-discovery@2.service`];
const HOST_UNITS = [`fleetkit-agent-${CLUSTER}.service`, `fleetkit-hosts-${CLUSTER}.service`];
const NAMES = [`${W}-1`, `${W}-2`];
const esc = (s: string): string => s.replace(/[@.]/g, '\\$&');

const states = async (units: readonly string[]): Promise<string[]> => Promise.all(units.map(async (u) => (await sd.systemctl(['show', '-p', 'ActiveState', '--value', u])).stdout.trim()));
/** Both containers running (systemd calls a `docker run` unit active once the client runs, before its container does). */
const bothRun = () => waitFor(async () => {
  const all = await Promise.all(NAMES.map((n) => containerState(docker, n)));
  return all.every((c) => c.state === 'running') ? all : undefined;
}, { what: 'both containers running', timeoutMs: 20_000 });

t.test('--systemd: stop waits for the containers, leaves the host units; start counts what it started', async (t) => {
  const load = await fleetkit('load');
  t.equal(load.code, 0, `${load.stdout}${load.stderr}`);
  t.match(load.stdout, /^load: 8 created, 0 replaced, 0 unchanged, 0 failed$/m, 'two templates, two instances with their sidekicks, the agent and the hosts watcher');
  const first = await bothRun();

  const t0 = Date.now();
  const stop = await fleetkit('stop');
  const t1 = Date.now();
  t.equal(stop.code, 0, `${stop.stdout}${stop.stderr}`);
  t.match(stop.stdout, /^stop: 4 stopped, 0 failed$/m, 'the two containers and their sidekicks, nothing else');
  t.notMatch(stop.stdout, /fleetkit-/, 'the host units are not stopped with the spec');
  const down = await Promise.all(NAMES.map(async (n) => (await containerState(docker, n)).state));
  t.ok(down.every(isDown), `docker inspect: when stop returns, both containers are down (${down.join(', ')})`);
  const times = stopTimes(await containerEvents(docker, NAMES, t0 - 100, t1), NAMES);
  for (const n of NAMES) {
    const x = times.get(n);
    t.ok(x && x.die - x.kill >= GRACE_MS - 200, `docker events: ${n} took its ${GRACE_MS} ms over SIGTERM (${x ? x.die - x.kill : '?'} ms) and died before stop returned`);
  }
  t.same(await states(UNITS), UNITS.map(() => 'inactive'), 'every stopped unit inactive, none failed: 143 after a requested stop is clean');
  t.same(await states(HOST_UNITS), ['active', 'active'], 'the agent and hosts watcher keep running');

  const again = await fleetkit('stop');
  t.equal(again.code, 0, `${again.stdout}${again.stderr}`);
  t.match(again.stdout, /^stop: 0 stopped, 0 failed, 4 unchanged$/m, 'a second stop stops nothing and says so');

  const start = await fleetkit('start');
  t.equal(start.code, 0, `${start.stdout}${start.stderr}`);
  t.match(start.stdout, /^start: 0 created, 0 replaced, 4 unchanged, 4 started, 0 failed$/m, 'the four stopped units counted as started, not failed');
  for (const u of UNITS) t.match(start.stdout, new RegExp(`^${esc(u)}\\s+started\\s+active`, 'm'));
  t.same(await states([...UNITS, ...HOST_UNITS]), [...UNITS, ...HOST_UNITS].map(() => 'active'), 'every unit active');
  const now = await bothRun();
  t.ok(now.every((c, i) => c.id !== first[i]!.id), 'new containers, started by start');
});
