/**
 * Two clusters sharing one fleet of three simulated machines, each machine running what the units run
 * (test/fleet-server/host-sim.ts: a real agent and watch-hosts per machine and cluster, real containers,
 * the sidekicks' real `fleetkit announce`). Each cluster has its own host units (`fleetkit-agent-NAME`,
 * `fleetkit-hosts-NAME`): both run side by side, and destroying one leaves the other every unit,
 * announcement and hosts line. `load --prune` of one cluster removes only its own stale units.
 */
import t, { type Test } from 'tap';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { etcdReader } from '../announce/fixtures/fixture.js';
import { fleetServerPart, type FleetServer } from '../fleet-server/server.js';
import { hostSim } from '../fleet-server/host-sim.js';
import { fleetLoadScratch, healthy, machineId } from './fleet-load.js';

const prefix = `/fk-share-${process.pid}`;
// The run's etcd, where the agents announce: load waits for the announcements there.
let etcdUrl = '';
// No host ports: the simulated machines share one dockerd (see host-sim.ts).
const spec = (name: string, service: string, extra = ''): string => `name: ${name}
x-fleetkit: { etcd: { endpoints: [${etcdUrl}], prefix: ${prefix} } }
services:
  ${service}:
    image: local/httpd:latest
    deploy: { replicas: 2 }
    x-fleet: { conflicts: true }
    x-announce: { port: 8080, ttl: 10s }
${extra}`;
const WORKER = '  worker:\n    image: local/busybox:latest\n    command: ["sleep", "3600"]\n';

const machines = [1, 2, 3].map((i) => ({ id: machineId(i), primaryIP: `10.0.0.${i}`, metadata: { host: `node${i}` } }));

/** The cluster's announcement keys and values in etcd. */
async function announcements(client: Awaited<ReturnType<typeof etcdReader>>, cluster: string): Promise<Record<string, string>> {
  return client.getAll().prefix(`${prefix}/${cluster}/`).strings();
}

/** The entry lines of `cluster`'s block in every machine's hosts file, by machine. */
async function hostsLines(files: string[], cluster: string): Promise<string[][]> {
  return Promise.all(files.map(async (f) => {
    const text = await readFile(f, 'utf8').catch(() => '');
    const block = text.split(`# BEGIN fleetkit ${cluster}\n`)[1]?.split(`# END fleetkit ${cluster}`)[0] ?? '';
    return block.split('\n').filter((l) => l && !l.startsWith('#')).sort();
  }));
}

const unitsOf = (s: FleetServer, cluster: string) => s.units()
  .filter((u) => u.options.some((o) => o.section === 'X-Fleetkit' && o.name === 'Cluster' && o.value === cluster))
  .map((u) => `${u.name} ${u.hash} ${u.desiredState}`).sort();

t.test('two clusters share a fleet: each has its own host units, and destroying one leaves the other whole', async (t: Test) => {
  const etcd = await etcdPart(t);
  etcdUrl = etcd.clientUrl;
  const docker = await dockerPart(t);
  const client = await etcdReader(t, etcd);
  const scratch = await fleetLoadScratch(t, 'share');
  for (const c of ['shop', 'blog']) await mkdir(join(scratch.root, c));
  await writeFile(join(scratch.root, 'shop/cluster.yaml'), spec('shop', 'web', WORKER));
  await writeFile(join(scratch.root, 'blog/cluster.yaml'), spec('blog', 'posts'));
  const sim = await hostSim(t, etcd, docker, client, { prefix });
  const s = await fleetServerPart(t, { socketPath: join(scratch.root, 'fleet.sock'), machines, agent: sim.agent });
  sim.attach(s);
  const hostsFiles = machines.map((m) => sim.hostsFile(m.id));

  const shop = await scratch.load(s, 'load', 'shop/cluster.yaml');
  t.equal(shop.code, 0, `${shop.stdout}${shop.stderr}`);
  t.match(shop.stdout, /^load: 10 created, 0 replaced, 0 unchanged, 0 failed$/m);
  const blog = await scratch.load(s, 'load', 'blog/cluster.yaml');
  t.equal(blog.code, 0, `${blog.stdout}${blog.stderr}`);
  t.match(blog.stdout, /^load: 8 created, 0 replaced, 0 unchanged, 0 failed$/m, 'the second cluster creates its own agent and hosts units, refusing nothing');
  t.match(blog.stdout, /^fleetkit-agent-blog\.service\s+created\s+active/m);

  const entries = (c: string, svc: string): RegExp[] => [1, 2].map((i) => new RegExp(`^\\S+ ${svc}-${i} ${svc}-${i}\\.${c}$`));
  for (const [c, svc] of [['shop', 'web'], ['blog', 'posts']] as const) {
    await waitFor(async () => Object.keys(await announcements(client, c)).length === 2, { what: `${c}: two announcements`, timeoutMs: 20_000 });
    await waitFor(async () => (await hostsLines(hostsFiles, c)).every((lines) => lines.length === 2), { what: `${c}: two lines in every machine's hosts file`, timeoutMs: 20_000 });
    // Whichever container started first has the lower address: match each instance's line, not its place.
    for (const lines of await hostsLines(hostsFiles, c)) entries(c, svc).forEach((re) => t.equal(lines.filter((l) => re.test(l)).length, 1, `${c}: ${re.source}`));
  }
  for (const m of machines) {
    t.same(s.states().filter((x) => x.machineID === m.id && x.name.startsWith('fleetkit-')).map((x) => `${x.name} ${x.state.activeState}`),
      ['fleetkit-agent-blog.service active', 'fleetkit-agent-shop.service active', 'fleetkit-hosts-blog.service active', 'fleetkit-hosts-shop.service active'],
      `machine ${m.id.slice(-1)} runs both clusters' agents and hosts watchers`);
  }
  const shopUnits = unitsOf(s, 'shop');
  const shopKeys = await announcements(client, 'shop');
  const shopLines = await hostsLines(hostsFiles, 'shop');

  // --prune of the second cluster: only its own unit that left the spec goes.
  await writeFile(join(scratch.root, 'blog/cluster.yaml'), spec('blog', 'posts', WORKER.replace('worker', 'cron')));
  t.equal((await scratch.load(s, 'load', 'blog/cluster.yaml')).code, 0);
  await writeFile(join(scratch.root, 'blog/cluster.yaml'), spec('blog', 'posts'));
  const mark = s.requests.length;
  const pruned = await scratch.load(s, 'load', 'blog/cluster.yaml', '--prune');
  t.equal(pruned.code, 0, pruned.stderr);
  t.match(pruned.stdout, /^cron@1\.service\s+pruned\s+absent/m);
  t.match(pruned.stdout, /^load: 0 created, 0 replaced, 8 unchanged, 0 failed, 2 pruned$/m);
  const changed = s.requests.slice(mark).filter((r) => r.method !== 'GET').map((r) => `${r.method} ${decodeURIComponent(r.path.replace(/^.*\/units\//, ''))}`).sort();
  t.same(changed, ['DELETE cron@.service', 'DELETE cron@1.service'], 'the prune deleted blog\'s cron and nothing of shop (shop\'s worker is not blog\'s to prune)');

  // Destroy the second cluster.
  const destroyed = await scratch.load(s, 'destroy', 'blog/cluster.yaml');
  t.equal(destroyed.code, 0, `${destroyed.stdout}${destroyed.stderr}`);
  t.match(destroyed.stdout, /^destroy: 8 destroyed, 0 absent, 0 failed$/m);
  t.notMatch(destroyed.stdout + destroyed.stderr, /shop|fleetkit-agent-shop|web@/, 'destroy names nothing of shop');
  t.same(unitsOf(s, 'blog'), [], 'blog is gone from fleet');
  await waitFor(async () => Object.keys(await announcements(client, 'blog')).length === 0, { what: 'blog withdrawn', timeoutMs: 15_000 });
  await waitFor(async () => (await hostsLines(hostsFiles, 'blog')).every((l) => l.length === 0), { what: 'blog\'s hosts lines gone', timeoutMs: 15_000 });

  t.same(unitsOf(s, 'shop'), shopUnits, 'shop keeps every unit, same hash, same desired state');
  for (const u of s.units()) {
    const on = s.states().filter((x) => x.name === u.name);
    if (u.desiredState === 'launched') t.ok(on.length > 0 && on.every((x) => x.state.activeState === 'active'), `${u.name} still active`);
  }
  t.same(s.states().filter((x) => x.name.startsWith('fleetkit-')).map((x) => x.name).sort(),
    [...machines.map(() => 'fleetkit-agent-shop.service'), ...machines.map(() => 'fleetkit-hosts-shop.service')], 'shop\'s agent and hosts watcher still run on every machine');
  t.same(await announcements(client, 'shop'), shopKeys, 'shop keeps every announcement, unchanged');
  t.same(await hostsLines(hostsFiles, 'shop'), shopLines, 'and every hosts line on every machine');
  t.same(sim.errors, [], 'no sidekick command failed');
  healthy(t, s);
});
