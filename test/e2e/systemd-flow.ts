/**
 * The flow on the local systemd: gen-units, `fleetkit load --systemd --user`, then what the cluster does and
 * shows (announcements, hosts file, name resolution in a container, a crash, a restart, status, logs), and
 * `fleetkit destroy`. Each step is a subtest named by its number in the flow.
 *
 * It runs with fleetkit on the host in either form (`runtime.fleetkit`): the binary, or the image, where
 * the agent and watch-hosts units run `docker run … fleetkit:<version>` and the sidekicks `docker exec
 * fleetkit-agent-e2e fleetkit announce …`. The steps and their checks are the same; step 0 (the image in the
 * engine) and the checks of what the fleetkit units run differ.
 */
import type { Test } from 'tap';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../env/parts.js';
import type { StatusModel } from '../../src/ops/status-model.js';
import { Background } from './background.js';
import { IMAGE, ensureImage } from '../ship/image-build.js';
import { activeSince, ALL_UNITS, bridgeIp, CONTAINERS, execMainMs, fetchFromClient, FLEETKIT_CONTAINERS, FLEETKIT_UNITS, leftoverContainers, PAGE, UNIT_FILES, unitProps, unitStates, WEB } from './checks.js';
import { CLUSTER, HOSTS_HEAD, prepareCluster, type FleetkitForm } from './e2e-cluster.js';
import { webKey, webRows, type FlowContext, type InstanceRow } from './flow-context.js';
import { Observer } from './observer.js';

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/** Runs the flow as subtests of `t`, the hosts running fleetkit in `form`. */
export async function runSystemdFlow(t: Test, ctx: FlowContext, form: FleetkitForm = 'binary'): Promise<void> {
  const { etcd, sd, docker, timings } = ctx;
  // Names the form in the timings and keeps the two runs' keys apart.
  const label = form === 'binary' ? 'systemd' : 'systemd, image';
  const dir = await mkdtemp(join(tmpdir(), `fk-e2e-systemd-${form}-`));
  const c = await prepareCluster(dir, { etcd: etcd.endpoints, prefix: `/fk-e2e-${form}-${process.pid}`, dockerSocket: docker.socketPath, form });
  const sdArgs = ['--systemd', '--user', '--unit-dir', sd.unitDir, '--journal-dir', sd.journalDir];
  const obs = await Observer.start(etcd.endpoints, c.prefix, c.hostsFile);
  t.teardown(async () => {
    await obs.close();
    await ctx.scrub(c);
    await rm(dir, { recursive: true, force: true });
  });
  t.equal(sd.unitDockerHost, docker.dockerHost, 'the units reach the same engine as the test');
  const ips = new Map<string, string>();
  // Steps 2–4 need what step 1 brings up; without it they would only time out one by one.
  let up = false;
  const cluster = (t: Test): boolean => up || (t.fail('not run: step 1 did not bring the cluster up'), false);

  // The image form needs the image in the engine first (on a host: fleetkit-install.service pulls or loads it).
  let image = form === 'binary';
  if (form === 'image') {
    await t.test(`0. ${IMAGE} in the engine (built once per run)`, async (t) => {
      const got = await ensureImage(docker);
      t.equal(got.build.code, 0, `scripts/image.mjs exits 0: ${got.build.stderr.trim()}`);
      timings.add(`${label}: ${IMAGE} into the engine (${got.how})`, got.ms);
      image = t.passing();
    });
  }

  await t.test('1. gen-units → load: instances, sidekicks, agent and watch-hosts active', async (t) => {
    if (!image) return void t.fail(`not run: step 0 did not put ${IMAGE} in the engine`);
    const { r: gen, paths } = await ctx.genUnits(c);
    t.equal(gen.code, 0, gen.stderr);
    t.same(paths.map((p) => p.replace(`${dir}/`, '')).sort(), ALL_UNITS.map((u) => `units/${u}`).sort(), 'gen-units lists every unit to start');
    const started = Date.now();
    const load = await ctx.fleetkit(c, ['load', ...paths, ...sdArgs, '--timeout', '40s']);
    timings.add(`${label}: fleetkit load (all 7 units active)`, load.ms);
    t.equal(load.code, 0, `load exits 0\n${load.stdout}\n${load.stderr}`);
    t.match(load.stdout, /load: 7 created, 0 replaced, 0 unchanged, 0 failed/);
    t.comment(`fleetkit load output:\n${load.stdout}`);
    const states = await unitStates(sd, ALL_UNITS);
    t.same(states, {
      'fleetkit-agent-e2e.service': 'active/running',
      'fleetkit-hosts-e2e.service': 'active/running',
      'web@1.service': 'active/running',
      'web@2.service': 'active/running',
      'client@1.service': 'active/running',
      'web-discovery@1.service': 'active/exited',
      'web-discovery@2.service': 'active/exited',
    }, 'every unit runs (sidekicks are oneshots that stay active)');
    for (const f of FLEETKIT_UNITS) {
      const exec = (await unitProps(sd, f.unit, ['ExecStart']))['ExecStart'] ?? '';
      if (form === 'binary') {
        t.match(exec, `path=${c.fleetkit} `, `${f.unit} runs this checkout's fleetkit`);
      } else {
        t.match(exec, ` --name ${f.container} --net=host `, `${f.unit} runs fleetkit in a container on the host's network`);
        t.match(exec, ` ${IMAGE} ${f.command} `, `${f.unit} runs ${IMAGE} ${f.command}`);
        const running = await docker.docker(['inspect', '-f', '{{.Config.Image}} {{.State.Running}}', f.container]);
        t.equal(running.stdout.trim(), `${IMAGE} true`, `container ${f.container} runs ${IMAGE}`);
      }
    }
    // runtime.dockerSocket reaches the agent: mounted where the image's fleetkit looks, or as --docker-host.
    const agentExec = (await unitProps(sd, FLEETKIT_UNITS[0].unit, ['ExecStart']))['ExecStart'] ?? '';
    const socketArg = form === 'image' ? ` -v ${docker.socketPath}:/var/run/docker.sock ` : ` --docker-host unix://${docker.socketPath} `;
    t.match(agentExec, socketArg, 'the agent is given the engine\'s socket (runtime.dockerSocket)');

    try {
      for (const i of WEB) {
        const a = await obs.announced(webKey(c, i), () => true, 20_000);
        const h = await obs.hostsMatch(`lists web-${i}`, (e) => e.has(`web-${i}`), 10_000);
        const since = await activeSince(sd, `web@${i}.service`);
        timings.add(`${label}: web@${i} active → announced in etcd`, a.at - since);
        timings.add(`${label}: web@${i} announced → in hosts file`, h.at - a.at);
        timings.add(`${label}: web-discovery@${i} ExecStart (announce)`, await execMainMs(sd, `web-discovery@${i}.service`));
        t.ok(a.at >= started, `web-${i} announced by this load`);
        // The agent unit's ExecStartPost waits until the agent in its container answers, so no sidekick's
        // `docker exec fleetkit-agent-e2e …` runs before that container exists (it used to fail once, then retry).
        if (form === 'image') {
          const restarts = (await unitProps(sd, `web-discovery@${i}.service`, ['NRestarts']))['NRestarts'];
          t.equal(restarts, '0', `web-discovery@${i} succeeded at its first start`);
        }
      }
    } catch (e) {
      t.fail((e as Error).message);
    }
    if (!t.passing()) await ctx.diagnose(t);
    up = t.passing();
    // A second load of the same cluster, this time from the spec itself: nothing to do.
    if (!up) return;
    const again = await ctx.fleetkit(c, ['load', c.spec, ...sdArgs, '--json', '--timeout', '20s']);
    t.equal(again.code, 0, again.stderr);
    // From the spec, the three template files count too: 7 units + 3 templates, all unchanged.
    t.same((JSON.parse(again.stdout) as { totals: unknown }).totals, { created: 0, replaced: 0, unchanged: 10, failed: 0 }, 'a second load (from the spec) changes nothing');
  });

  await t.test('2. announced with real bridge IPs, in the hosts file, reachable by name from the client', async (t) => {
    if (!cluster(t)) return;
    for (const i of WEB) {
      const ip = await bridgeIp(docker, `web-${i}`);
      ips.set(i, ip);
      const rec = obs.record(webKey(c, i));
      t.match(rec, { ip, port: 8080, hostname: `web-${i}`, container: `web-${i}`, machine: ctx.machineId, version: 1 }, `web-${i}'s record`);
    }
    t.same(Object.fromEntries(obs.hosts.value), { 'web-1': ips.get('1'), 'web-2': ips.get('2') }, 'the hosts block lists both, with their IPs');
    const text = await readFile(c.hostsFile, 'utf8');
    t.ok(text.startsWith(HOSTS_HEAD), 'the line outside the block is kept');
    t.match(text, `${ips.get('1')} web-1 web-1.${CLUSTER}\n`);
    // The containers' file is written in the same pass, after the host's: wait for it, bounded.
    const bare = `${ips.get('1')}\tweb-1 web-1.${CLUSTER} web\n`;
    const inside = await waitFor(async () => {
      const r = await docker.docker(['exec', 'client-1', 'cat', '/etc/hosts']);
      return r.stdout.includes(bare) ? r.stdout : undefined;
    }, { what: 'client-1 sees web on web-1\'s line of its /etc/hosts', timeoutMs: 10_000 });
    t.equal(inside, await readFile(c.containersFile, 'utf8'), 'the client container sees the containers\' file as its /etc/hosts');
    t.match(inside, `${ips.get('2')}\tweb-2 web-2.${CLUSTER}\n`, 'one line per bare name: web-2 has none');
    t.notMatch(text, /\sweb\s/, 'the host\'s block has no bare name');
    // The bare service name, as Compose's DNS resolves it: the lowest-numbered instance.
    for (const host of ['web', 'web-1', 'web-2', `web-2.${CLUSTER}`]) {
      const got = await fetchFromClient(docker, host);
      t.same(got, { code: 0, body: PAGE, err: '' }, `client-1: wget http://${host}:8080/`);
    }
  });

  await t.test('4a. status after load: every instance active, announced and in the hosts file', async (t) => {
    if (!cluster(t)) return;
    const { r, model } = await ctx.status(c, ['--systemd', '--user']);
    t.equal(r.code, 0, `no problem flagged\n${r.stdout}\n${r.stderr}`);
    t.equal(model.problems, 0);
    const rows = webRows(model);
    for (const i of WEB) {
      t.match(rows.get(i), { unit: `web@${i}.service`, active: 'active', sub: 'running', announcement: { ip: ips.get(i), port: 8080, leased: true, stale: false }, hosts: true, flags: [] }, `web@${i}`);
    }
    const table = await ctx.fleetkit(c, ['status', c.spec, '--systemd', '--user']);
    t.equal(table.code, 0, table.stderr);
    t.comment(`fleetkit status:\n${table.stdout}`);
  });

  await t.test('3a. docker kill web-1: gone from etcd and the hosts file within 1 s, back after Restart=', async (t) => {
    if (!cluster(t)) return;
    const watch = new Background(c.fleetkit, ['status', c.spec, '--systemd', '--user', '--watch', '--json', '--interval', '200ms'], { ...sd.env });
    t.teardown(() => watch.stop());
    await waitFor(() => watch.lines.length > 0, { what: 'status --watch prints its first document', timeoutMs: 10_000 });
    const before = await unitProps(sd, 'web@1.service', ['NRestarts']);
    const killed = Date.now();
    const k = await docker.docker(['kill', 'web-1']);
    t.equal(k.code, 0, k.stderr);
    const gone = await obs.withdrawn(webKey(c, '1'), 5000);
    const hostsGone = await obs.hostsMatch('without web-1', (e) => !e.has('web-1') && e.has('web-2'), 5000);
    t.ok(gone - killed <= 1000, `key gone ${gone - killed} ms after the kill (≤ 1000)`);
    t.ok(hostsGone.at - killed <= 1000, `hosts line gone ${hostsGone.at - killed} ms after the kill (≤ 1000)`);
    timings.add(`${label}: docker kill → gone from etcd`, gone - killed);
    timings.add(`${label}: docker kill → gone from hosts file`, hostsGone.at - killed);
    t.ok(obs.keys.has(webKey(c, '2')), 'web-2 stays announced');

    const back = await obs.announced(webKey(c, '1'), () => true, 30_000);
    const ip = await bridgeIp(docker, 'web-1');
    t.equal(back.value.ip, ip, 'announced again with the new container\'s IP');
    const hostsBack = await obs.hostsMatch('lists web-1 again', (e) => e.get('web-1') === ip, 10_000);
    timings.add(`${label}: docker kill → announced again (Restart=)`, back.at - killed);
    timings.add(`${label}: docker kill → in hosts file again`, hostsBack.at - killed);
    const after = await unitProps(sd, 'web@1.service', ['NRestarts', 'ActiveState']);
    t.equal(Number(after['NRestarts']), Number(before['NRestarts']) + 1, 'systemd restarted the unit (Restart=always)');
    t.equal(after['ActiveState'], 'active');
    t.same(await fetchFromClient(docker, 'web-1'), { code: 0, body: PAGE, err: '' }, 'client-1 reaches web-1 again by name');
    ips.set('1', ip);

    // 4b. status --watch told the truth along the way: web@1 unannounced and out of the hosts file, then back.
    const docs = (): Map<string, InstanceRow>[] => watch.lines.filter((l) => l.at >= killed).map((l) => webRows(JSON.parse(l.line) as StatusModel));
    const down = (): number => docs().findIndex((rows) => rows.get('1')?.announcement === null);
    const up = (): number => docs().findIndex((rows, n) => n > down() && rows.get('1')?.announcement?.ip === ip && rows.get('1')?.hosts === true);
    await waitFor(() => down() >= 0 && up() > down(), { what: 'status --watch shows web@1 gone, then back', timeoutMs: 10_000 }).catch((e: Error) => t.fail(e.message));
    const gap = docs()[down()];
    t.ok(gap, 'status --watch showed web@1 without an announcement…');
    t.ok(up() > down(), '…then announced, with its new IP, and in the hosts file again');
    t.same(gap?.get('1')?.hosts, null, 'not in the hosts file meanwhile');
    // Still active: not announced (and, once the agent's facts show the container gone, that too).
    const gapFlags = (gap?.get('1')?.flags ?? []).map((f) => f.code);
    if (gap?.get('1')?.active === 'active') t.ok(gapFlags.includes('not-announced'), `flagged while it ran unannounced: ${gapFlags.join(', ')}`);
    t.match(gap?.get('2'), { active: 'active', announcement: { ip: ips.get('2') }, hosts: true }, 'web@2 unaffected');
    t.equal(await watch.stop(), 0, 'status --watch ends cleanly on SIGTERM');
  });

  await t.test('3b. systemctl --user restart web@2: withdrawn, then announced again', async (t) => {
    if (!cluster(t)) return;
    const restarted = Date.now();
    const r = await sd.systemctl(['restart', 'web@2.service']);
    t.equal(r.code, 0, r.stderr);
    const gone = await obs.withdrawn(webKey(c, '2'), 15_000);
    t.ok(gone >= restarted, 'the old announcement was withdrawn');
    const back = await obs.announced(webKey(c, '2'), () => true, 30_000);
    const ip = await bridgeIp(docker, 'web-2');
    t.equal(back.value.ip, ip, 'announced with the new container\'s IP');
    const hostsBack = await obs.hostsMatch('lists web-2 again', (e) => e.get('web-2') === ip, 10_000);
    timings.add(`${label}: systemctl restart → gone from etcd`, gone - restarted);
    timings.add(`${label}: systemctl restart → announced again`, back.at - restarted);
    timings.add(`${label}: systemctl restart → in hosts file again`, hostsBack.at - restarted);
    t.same(await unitStates(sd, ['web@2.service', 'web-discovery@2.service']), { 'web@2.service': 'active/running', 'web-discovery@2.service': 'active/exited' });
    t.same(await fetchFromClient(docker, 'web-2'), { code: 0, body: PAGE, err: '' }, 'client-1 reaches web-2 again by name');
    ips.set('2', ip);
    const { r: s, model } = await ctx.status(c, ['--systemd', '--user']);
    t.equal(s.code, 0, `status agrees again\n${s.stdout}`);
    t.match(webRows(model).get('2'), { active: 'active', announcement: { ip }, hosts: true, flags: [] });
  });

  await t.test('4c. fleetkit logs shows what the container printed', async (t) => {
    if (!cluster(t)) return;
    // busybox httpd -v logs each request with the peer's address: make one from the client.
    const clientIp = await bridgeIp(docker, 'client-1');
    t.same(await fetchFromClient(docker, 'web-2'), { code: 0, body: PAGE, err: '' }, 'client-1 asks web-2 for its page');
    // httpd writes the peer as [::ffff:10.1.2.3]:PORT.
    const fromClient = new RegExp(`${clientIp.replaceAll('.', '\\.')}\\]?:\\d+: response:200`);
    const logArgs = ['--systemd', '--user', '--journal-dir', sd.journalDir, '-n', '200', '-o', 'cat'];
    const r = await waitFor(async () => {
      const got = await ctx.fleetkit(c, ['logs', 'web@2', ...logArgs]);
      return fromClient.test(got.stdout) ? got : undefined;
    }, { what: `fleetkit logs web@2 shows a request from client-1 (${clientIp})`, timeoutMs: 10_000 });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, fromClient, 'httpd\'s own log line');
    const merged = await ctx.fleetkit(c, ['logs', 'web', '--systemd', '--user', '--journal-dir', sd.journalDir, '-n', '400']);
    t.equal(merged.code, 0, merged.stderr);
    t.match(merged.stdout, /web@1.*response:200/, 'the service view has web@1\'s lines…');
    t.match(merged.stdout, /web@2.*response:200/, '…and web@2\'s, each marked with its instance');
  });

  await t.test('5. fleetkit destroy: no unit, container, key or hosts line left', async (t) => {
    const r = await ctx.fleetkit(c, ['destroy', c.spec, ...sdArgs]);
    t.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    t.comment(`fleetkit destroy output:\n${r.stdout}`);
    for (const f of UNIT_FILES) t.notOk(await exists(join(sd.unitDir, f)), `${f} removed`);
    for (const u of ALL_UNITS) t.equal((await unitProps(sd, u, ['LoadState']))['LoadState'], 'not-found', `${u} unknown to systemd`);
    // In the image form fleetkit's own containers go too (docker run --rm, stopped by the units' ExecStop).
    t.same(await leftoverContainers(docker, form === 'image' ? [...CONTAINERS, ...FLEETKIT_CONTAINERS] : CONTAINERS), [], 'no container left');
    // The withdrawals ran in the sidekicks' ExecStop, before destroy returned; the watcher's write follows.
    await waitFor(() => obs.keys.size === 0 && obs.hosts.value.size === 0, { what: 'no key and no hosts line', timeoutMs: 2000 }).catch(() => undefined);
    t.same([...obs.keys.keys()], [], 'no key left in etcd');
    t.same([...obs.hosts.value.keys()], [], 'no hosts line left');
    t.ok((await readFile(c.hostsFile, 'utf8')).startsWith(HOSTS_HEAD), 'the rest of the hosts file is kept');
  });
}
