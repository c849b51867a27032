/**
 * The flow through fleet's API: gen-units, then `fleetkit load` against the project's fleet test server,
 * whose one simulated machine is this host. Its agent does what fleet's agent does on a machine: it writes
 * the normalized unit file fleet gives it (here into the test systemd's unit dir), reloads, starts and stops
 * the unit on the real systemd, and publishes the state systemd reports. Then the containers run, announce
 * and resolve exactly as in the systemd flow, and `fleetkit destroy` through fleet leaves nothing behind.
 */
import type { Test } from 'tap';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetServerPart, type AgentUnit, type FleetServer, type SystemdState } from '../fleet-server/server.js';
import { waitFor, type SystemdPart } from '../env/parts.js';
import { activeSince, ALL_UNITS, bridgeIp, fetchFromClient, leftoverContainers, PAGE, unitProps, unitStates, WEB } from './checks.js';
import { HOSTS_HEAD, prepareCluster } from './e2e-cluster.js';
import { webKey, webRows, type FlowContext } from './flow-context.js';
import { Observer } from './observer.js';

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/** systemd's state of a unit, as fleet's agent publishes it. */
async function systemdState(sd: SystemdPart, unit: string): Promise<SystemdState> {
  const p = await unitProps(sd, unit, ['LoadState', 'ActiveState', 'SubState']);
  return { loadState: p['LoadState'] ?? '', activeState: p['ActiveState'] ?? '', subState: p['SubState'] ?? '' };
}

/** Runs the flow as subtests of `t`. */
export async function runFleetFlow(t: Test, ctx: FlowContext): Promise<void> {
  const { etcd, sd, docker, timings } = ctx;
  const dir = await mkdtemp(join(tmpdir(), 'fk-e2e-fleet-'));
  const c = await prepareCluster(dir, { etcd: etcd.endpoints, prefix: `/fk-e2e-fleet-${process.pid}`, dockerSocket: docker.socketPath });
  const key = (i: string): string => webKey(c, i);
  const obs = await Observer.start(etcd.endpoints, c.prefix, c.hostsFile);

  // The simulated agent of this machine, on the real systemd.
  const launched = new Set<string>();
  // Unloads under way: fleet's state drops a unit before its agent has finished taking it off the machine.
  let unloading = 0;
  const published = new Map<string, string>();
  const retried = new Map<string, number>();
  let server: FleetServer | undefined;
  const agent = {
    async onLoad(unit: AgentUnit): Promise<SystemdState> {
      await writeFile(join(sd.unitDir, unit.name), unit.text);
      await sd.systemctl(['daemon-reload']);
      return systemdState(sd, unit.name);
    },
    async onLaunch(unit: AgentUnit): Promise<SystemdState> {
      // fleet's agent queues the start (StartUnit, no wait) and logs a refusal; its reconciler, which counts
      // a unit as launched only while systemd says active, starts it again later (see `reconcile` below).
      launched.add(unit.name);
      await sd.systemctl(['start', '--no-block', unit.name]);
      retried.set(unit.name, Date.now());
      return systemdState(sd, unit.name);
    },
    async onStop(unit: AgentUnit): Promise<SystemdState> {
      launched.delete(unit.name);
      await sd.systemctl(['stop', unit.name]);
      return systemdState(sd, unit.name);
    },
    async onUnload(unit: AgentUnit): Promise<void> {
      launched.delete(unit.name);
      unloading++;
      try {
        await sd.systemctl(['stop', unit.name]);
        await rm(join(sd.unitDir, unit.name), { force: true });
        await sd.systemctl(['daemon-reload']);
      } finally {
        unloading--;
      }
    },
  };
  // Paced like fleet's agent, which reconciles in the background: every unit of a load is written before
  // any is started (a sidekick's BindsTo= needs its container unit loaded), and requests are answered at once.
  server = await fleetServerPart(t, {
    socketPath: join(dir, 'fleet.sock'),
    machines: [{ id: ctx.machineId, primaryIP: '127.0.0.1' }],
    agent: { ...agent, reconcileMs: 100 },
  });
  // The agent's background work: publish what systemd says as it changes, and start again, at most once a
  // second, a launched unit systemd has not got active (a sidekick whose container unit was not loaded yet
  // when its start was queued is refused by systemd: "Unit web@1.service not found").
  const reconcile = async (name: string): Promise<void> => {
    const s = await systemdState(sd, name);
    if (!launched.has(name)) return;
    const text = JSON.stringify(s);
    if (published.get(name) !== text) {
      published.set(name, text);
      try {
        server?.reportState(name, ctx.machineId, s);
      } catch {
        // unloaded meanwhile
      }
    }
    if ((s.activeState === 'inactive' || s.activeState === 'failed') && Date.now() - (retried.get(name) ?? 0) >= 1000) {
      retried.set(name, Date.now());
      await sd.systemctl(['start', '--no-block', name]);
    }
  };
  let reconciling = false;
  const publisher = setInterval(() => {
    if (reconciling) return;
    reconciling = true;
    void Promise.all([...launched].map(reconcile)).finally(() => (reconciling = false));
  }, 100);
  t.teardown(async () => {
    clearInterval(publisher);
    await obs.close();
    await ctx.scrub(c);
    await rm(dir, { recursive: true, force: true });
  });
  const env = { FLEETCTL_ENDPOINT: server.endpoint };
  const ips = new Map<string, string>();
  let up = false;
  const cluster = (t: Test): boolean => up || (t.fail('not run: step 6a did not bring the cluster up'), false);

  await t.test('6a. gen-units → fleetkit load via fleet: the agent starts every unit on systemd', async (t) => {
    const { r: gen, paths } = await ctx.genUnits(c);
    t.equal(gen.code, 0, gen.stderr);
    const load = await ctx.fleetkit(c, ['load', ...paths, '--timeout', '60s'], env);
    timings.add('fleet: fleetkit load (all 7 units active)', load.ms);
    t.equal(load.code, 0, `load exits 0\n${load.stdout}\n${load.stderr}`);
    t.match(load.stdout, /load: \d+ created, 0 replaced, 0 unchanged, 0 failed/);
    t.comment(`fleetkit load (fleet) output:\n${load.stdout}`);
    t.same(server!.hookErrors, [], 'the agent simulation ran every hook');
    t.same(server!.bugsTriggered, [], 'no fleetd bug triggered');
    const states = await unitStates(sd, ALL_UNITS);
    for (const u of ALL_UNITS) t.match(states[u], /^active\/(running|exited)$/, `${u} active on systemd`);
    for (const u of ALL_UNITS) t.ok(await exists(join(sd.unitDir, u)), `fleet's agent wrote ${u}`);
    try {
      for (const i of WEB) {
        const a = await obs.announced(key(i), () => true, 20_000);
        const h = await obs.hostsMatch(`lists web-${i}`, (e) => e.has(`web-${i}`), 10_000);
        const since = await activeSince(sd, `web@${i}.service`);
        timings.add(`fleet: web@${i} active → announced in etcd`, a.at - since);
        timings.add(`fleet: web@${i} announced → in hosts file`, h.at - a.at);
      }
    } catch (e) {
      t.fail((e as Error).message);
    }
    if (!t.passing()) await ctx.diagnose(t);
    up = t.passing();
  });

  await t.test('6b. announced with bridge IPs, in the hosts file, reachable from the client', async (t) => {
    if (!cluster(t)) return;
    for (const i of WEB) {
      const ip = await bridgeIp(docker, `web-${i}`);
      ips.set(i, ip);
      t.match(obs.record(key(i)), { ip, port: 8080, hostname: `web-${i}`, machine: ctx.machineId }, `web-${i}'s record`);
    }
    t.same(Object.fromEntries(obs.hosts.value), { 'web-1': ips.get('1'), 'web-2': ips.get('2') });
    t.same(await fetchFromClient(docker, 'web-1'), { code: 0, body: PAGE, err: '' }, 'client-1: wget http://web-1:8080/');
  });

  await t.test('6c. fleetkit status via fleet: scheduled, active, announced, in the hosts file', async (t) => {
    if (!cluster(t)) return;
    const { r, model } = await waitFor(async () => {
      const got = await ctx.status(c, ['--machine-id', ctx.machineId], env);
      return got.model.problems === 0 ? got : undefined;
    }, { what: 'status via fleet with no problem flagged', timeoutMs: 10_000 });
    t.equal(r.code, 0, r.stdout);
    const rows = webRows(model);
    for (const i of WEB) {
      t.match(rows.get(i), { desired: 'launched', current: 'launched', machine: { id: ctx.machineId }, active: 'active', announcement: { ip: ips.get(i) }, hosts: true }, `web@${i}`);
    }
    t.match(model.machines, [{ id: ctx.machineId, on: true }]);
    const table = await ctx.fleetkit(c, ['status', c.spec, '--machine-id', ctx.machineId], env);
    t.comment(`fleetkit status (fleet):\n${table.stdout}`);
  });

  await t.test('6d. fleetkit destroy via fleet: no unit, container, key or hosts line left', async (t) => {
    const r = await ctx.fleetkit(c, ['destroy', c.spec], env);
    t.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    t.same(server!.units().map((u) => u.name), [], 'fleet holds no unit');
    // As with fleetctl destroy, fleet answers the DELETEs at once and its agent stops and unloads the units
    // on the machine afterwards: wait for the machine to have done so.
    await waitFor(() => server!.states().length === 0 && launched.size === 0 && unloading === 0, { what: "fleet's agent unloads every unit", timeoutMs: 30_000 }).catch((e: Error) => t.fail(e.message));
    await waitFor(() => obs.keys.size === 0 && obs.hosts.value.size === 0, { what: 'no key and no hosts line', timeoutMs: 2000 }).catch(() => undefined);
    for (const u of ALL_UNITS) t.notOk(await exists(join(sd.unitDir, u)), `${u} removed`);
    for (const u of ALL_UNITS) t.equal((await unitProps(sd, u, ['LoadState']))['LoadState'], 'not-found', `${u} unknown to systemd`);
    t.same(await leftoverContainers(docker), [], 'no container left');
    t.same([...obs.keys.keys()], [], 'no key left in etcd');
    t.same([...obs.hosts.value.keys()], [], 'no hosts line left');
    t.ok((await readFile(c.hostsFile, 'utf8')).startsWith(HOSTS_HEAD), 'the rest of the hosts file is kept');
  });
}
