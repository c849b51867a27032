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
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerPart, etcdPart, systemdPart, waitFor } from '../env/parts.js';
import { ensureBundle } from '../e2e/e2e-cluster.js';
import { systemdClusterHead } from './systemd-cluster.js';
import { runFleetkit } from './load-io.js';
import { containerEvents, containerState, isDown, stopTimes } from './docker-check.js';
import { etcdReader } from '../announce/fixtures/fixture.js';
import { readContainerFacts } from '../../src/etcd/read-facts.js';
import type { StatusModel } from '../../src/ops/status-model.js';
import { fleetServerPart } from '../fleet-server/server.js';

// Real containers stop (3 s each over SIGTERM) and start again, with the agent and hosts watcher as units.
t.setTimeout(180_000);
const etcd = await etcdPart(t);
const sd = await systemdPart(t);
const docker = await dockerPart(t);
const client = await etcdReader(t, etcd);
await ensureBundle();

// Names of this run's own: the systemd and dockerd are shared with the other tests of the run.
const CLUSTER = `ss${process.pid}`;
const W = `w${process.pid}`;
const GRACE_MS = 3000;
const prefix = `/fk-ss-${process.pid}`;
const dir = await mkdtemp(join(tmpdir(), 'fk-stopstart-sd-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const spec = join(dir, 'cluster.yaml');
await writeFile(spec, `${await systemdClusterHead(dir, { name: CLUSTER, prefix, etcd, docker })}  ${W}:
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

/** The phases the agents' facts give the two container units now, by unit. */
const phases = async (): Promise<string[]> => {
  const facts = await readContainerFacts(client, prefix, UNITS.slice(0, 2));
  return UNITS.slice(0, 2).map((u) => (facts.get(u) ?? []).map((r) => r.phase).join(',') || 'none');
};
const AGENT = HOST_UNITS[0]!;

t.test('--systemd: unload takes the agent down only once it has seen the containers down', async (t) => {
  const load = await fleetkit('load');
  t.equal(load.code, 0, `${load.stdout}${load.stderr}`);
  await bothRun();
  await waitFor(async () => (await phases()).every((p) => p === 'running') || undefined, { what: 'the agent reports both containers running', timeoutMs: 20_000 });

  const unload = await fleetkit('unload');
  t.equal(unload.code, 0, `${unload.stdout}${unload.stderr}`);
  t.match(unload.stdout, /^unload: 6 unloaded, 0 failed$/m, 'the containers, their sidekicks, the agent and the hosts watcher');
  const down = await Promise.all(NAMES.map(async (n) => (await containerState(docker, n)).state));
  t.ok(down.every(isDown), `docker inspect: when unload returns, both containers are down (${down.join(', ')})`);
  // The agent keeps its leases on SIGTERM: what it last wrote stays. It must have seen the containers go first.
  const seen = await phases();
  t.ok(seen.every((p) => p === 'exited' || p === 'absent'), `the agent's last word on both containers is that they are down (${seen.join('; ')})`);
  t.same(await states(HOST_UNITS), ['inactive', 'inactive'], 'the agent and hosts watcher are unloaded too, last');
});

/** The machine whose agent the next test kills. */
let killedOn = '';

t.test('--systemd: stop after the agent was killed (SIGKILL) says unknown as soon as its lease lapses, not after the timeout', async (t) => {
  const load = await fleetkit('load');
  t.equal(load.code, 0, `${load.stdout}${load.stderr}`);
  await bothRun();
  await waitFor(async () => (await phases()).every((p) => p === 'running') || undefined, { what: 'the agent reports both containers running', timeoutMs: 20_000 });
  const machine = (await readContainerFacts(client, prefix, [UNITS[0]!])).get(UNITS[0]!)![0]!.machine;
  killedOn = machine;

  // SIGKILL: no lease revoked, the records stay (60 s TTL) saying `running`; the agent is kept from restarting.
  const pid = (await sd.systemctl(['show', '-p', 'MainPID', '--value', AGENT])).stdout.trim();
  t.not(pid, '0', 'the agent runs');
  await sd.systemctl(['kill', '-s', 'SIGKILL', '--kill-who=main', AGENT]);
  await sd.systemctl(['stop', AGENT]);
  const killed = (await sd.systemctl(['show', '-p', 'ExecMainStatus', '-p', 'ActiveState', AGENT])).stdout;
  t.match(killed, /ExecMainStatus=9/, `the agent died of SIGKILL (${killed.trim()})`);
  t.match(killed, /ActiveState=(inactive|failed)/, 'and is not restarted');

  const t0 = Date.now();
  const stop = await runFleetkit(['stop', spec, ...common.slice(0, -1), '40s'], { env });
  const took = Date.now() - t0;
  t.equal(stop.code, 1, `exit 1\n${stop.stdout}${stop.stderr}`);
  t.match(stop.stdout, / 2 unknown$/m, 'both containers unknown');
  for (const u of UNITS.slice(0, 2)) {
    t.match(stop.stdout, new RegExp(`^${esc(u)}\\s+stopped\\s+unknown`, 'm'), `${u}: unknown, neither stopped nor timed out`);
    t.match(stop.stderr, new RegExp(`^${esc(u)}: the agent on ${machine.slice(0, 8)} last reported its container running \\(at [^)]+\\) and no longer keeps that record up: its etcd lease \\(TTL 60 s\\) has not been renewed for \\d+ s \\(the agent was killed or stopped, is hung, or cannot reach etcd at ${etcd.clientUrl.replace(/[.]/g, '\\.')} \\(prefix ${prefix}\\)\\): whether its container stopped is unknown$`, 'm'), `${u}: says why`);
  }
  t.notMatch(stop.stderr, /still runs|after 40 s/, 'no timeout');
  // A renewal every 20 s (TTL/3), a margin of 5 s, a check a second, the containers' 3 s stop: well within 40 s.
  t.ok(took < 32_000, `stop answered within the lease's renewal period and margin, not the 40 s timeout (${took} ms)`);
  t.same(await phases(), ['running', 'running'], 'the killed agent\'s records still stood when stop answered: it did not wait for them to expire');
  const down = await Promise.all(NAMES.map(async (n) => (await containerState(docker, n)).state));
  t.ok(down.every(isDown), `(docker itself says the containers are down: ${down.join(', ')}; the facts could not)`);
});

t.test('the killed agent\'s records, while they stand: load\'s wait never calls a unit healthy on them, status names them', async (t) => {
  // Right after the test above: the records still say `running` (their lease expires 60 s after the agent's
  // last renewal; stop answered about 25 s after it), and nobody renews them.
  t.same(await phases(), ['running', 'running'], 'the killed agent\'s records still stand');
  // fleet's view of this machine, which says what fleet would say while its word on the agent lags behind: the
  // agent unit and the container units active (the test server publishes active/running after a start).
  const fleet = await fleetServerPart(t, { socketPath: join(dir, 'fleet.sock'), machines: [{ id: killedOn, primaryIP: '127.0.0.1', metadata: {} }] });
  const onFleet = (endpoint: string, ...args: string[]) => runFleetkit([...args, spec, '--endpoint', endpoint], { env: { PATH: process.env['PATH'] } });
  const [c1, c2] = UNITS as [string, string];
  const lapse = `no longer keeps that record up: its etcd lease \\(TTL 60 s\\) has not been renewed for \\d+ s`;

  // No x-announce check (the announcements went with the agent): only the facts could vouch for the containers.
  const start = await onFleet(fleet.endpoint, 'start', '--stable', '0s', '--timeout', '6s', '--no-announcements');
  t.comment(`$ fleetkit start cluster.yaml --endpoint … --stable 0s --timeout 6s --no-announcements\n${start.stdout}${start.stderr}`);
  t.equal(start.code, 1, `exit 1\n${start.stdout}${start.stderr}`);
  for (const u of [c1, c2]) {
    t.match(start.stdout, new RegExp(`^${esc(u)}\\s+\\S+\\s+unknown`, 'm'), `${u}: unknown, not healthy on a dead agent's "running"`);
    t.match(start.stderr, new RegExp(`^${esc(u)}: active, but the agent on ${killedOn.slice(0, 8)} last reported its container running \\(at [^)]+\\) and ${lapse} \\(the agent was killed or stopped, is hung, or cannot reach etcd\\): whether its container runs is unknown$`, 'm'), `${u}: says why`);
  }
  t.same(fleet.states().filter((s) => s.name === AGENT).map((s) => s.state.activeState), ['active'], 'fleet calls the agent unit active all along');

  const json = async (endpoint: string) => {
    const r = await onFleet(endpoint, 'status', '--json');
    const m = JSON.parse(r.stdout) as StatusModel;
    return { code: r.code, flags: m.services.flatMap((s) => s.instances.flatMap((i) => i.flags.filter((f) => f.code === 'facts-unknown').map((f) => `${i.unit}: ${f.message}`))), model: m };
  };
  const seen = await json(fleet.endpoint);
  t.comment(`status (fleet): exit ${seen.code}\n${seen.flags.join('\n')}`);
  t.equal(seen.code, 1, 'status exits 1');
  for (const u of [c1, c2]) {
    t.match(seen.flags.find((f) => f.startsWith(`${u}:`)), new RegExp(`^${esc(u)}: facts unknown: the agent on ${killedOn.slice(0, 8)}/127\\.0\\.0\\.1 no longer keeps its last record \\(running, from [^)]+\\) up: its etcd lease \\(TTL 60 s\\) has not been renewed for \\d+ s, so restarts and exits cannot be seen; ${esc(AGENT)} is active there `),
      `${u}: fleet says the agent unit is active; its lease says nobody keeps the record up`);
  }
  t.equal(seen.model.services.find((s) => s.name === W)?.instances[0]?.restarts, undefined, 'no restart count from a dead agent');

  // fleet unreachable: etcd is all status sees, and the stale records are what it can say of the containers.
  const only = await json(`unix://${join(dir, 'no-fleet.sock')}`);
  t.comment(`status (etcd only): exit ${only.code}\n${only.flags.join('\n')}`);
  t.equal(only.code, 1, 'status exits 1');
  t.match(only.model.warnings.join('\n'), /units unknown: fleet at unix:/);
  for (const u of [c1, c2]) {
    t.match(only.flags.find((f) => f.startsWith(`${u}:`)), new RegExp(`^${esc(u)}: facts unknown: the agent on ${killedOn.slice(0, 8)} last reported its container running \\(at [^)]+\\) and ${lapse}, so whether it runs is unknown`),
      `${u}: named from etcd alone`);
  }
  t.same(await phases(), ['running', 'running'], '(the records still stood throughout)');
});
