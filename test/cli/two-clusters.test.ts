/**
 * Two clusters on one fleet, both with a service `web`: the second cluster's load (with or without
 * --replace), stop and destroy never touch the first one's units, told apart by their [X-Fleetkit] Cluster=
 * mark; a refused load says which cluster owns what and sends nothing. gen-units --prune in a shared
 * directory removes only its own cluster's files; `fleetkit-*` service names are refused.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fleetLoadScratch, healthy, machineId } from './fleet-load.js';
import { runFleetkit } from './load-io.js';

const SHOP = `name: shop
services:
  web:
    image: local/httpd:latest
    deploy: { replicas: 2 }
    x-fleet: { conflicts: true }
    x-announce: { port: 80 }
  db:
    image: local/busybox:latest
`;
const BLOG = `name: blog
services:
  web:
    image: local/nginx:latest
    deploy: { replicas: 2 }
`;

const machines = [1, 2, 3].map((i) => ({ id: machineId(i), primaryIP: `10.0.0.${i}` }));

t.test('a second cluster with a service of the same name never takes over the first one\'s units', async (t) => {
  const scratch = await fleetLoadScratch(t, 'two-clusters');
  await mkdir(join(scratch.root, 'shop'));
  await mkdir(join(scratch.root, 'blog'));
  await writeFile(join(scratch.root, 'shop/cluster.yaml'), SHOP);
  await writeFile(join(scratch.root, 'blog/cluster.yaml'), BLOG);
  const s = await scratch.server(t, machines);

  // The test server runs no agent, so nothing is announced: the units' states are what load waits for.
  const shop = await scratch.load(s, 'load', 'shop/cluster.yaml', '--no-announcements');
  t.equal(shop.code, 0, shop.stderr);
  const before = s.units().map((u) => `${u.name} ${u.hash} ${u.desiredState}`);
  const running = s.states().filter((x) => x.state.activeState === 'active').length;
  t.ok(running >= 6, `the shop cluster runs (${running} active states)`);
  const puts = (): number => s.requests.filter((r) => r.method === 'PUT' || r.method === 'DELETE').length;
  const sent = puts();

  for (const extra of [[], ['--replace']]) {
    const blog = await scratch.load(s, 'load', 'blog/cluster.yaml', ...extra);
    t.equal(blog.code, 1, `load ${extra.join(' ')} is refused`);
    t.match(blog.stderr, /web@1\.service: belongs to cluster "shop" \(its \[X-Fleetkit\] Cluster= mark\), not to "blog"; nothing was changed/);
    t.notMatch(blog.stderr, /fleetkit-(agent|hosts)-/, 'the host units are per cluster: blog\'s own are not in the way');
    t.match(blog.stdout, /^fleetkit-agent-blog\.service\s+skipped\s+-/m, 'blog\'s own agent is not sent either');
    t.match(blog.stdout, /^load: 0 created, 0 replaced, 0 unchanged, 3 failed, 2 skipped$/m, 'the summary says nothing was loaded: the three web units belong to shop, the other two were not sent');
    t.notMatch(blog.stdout, /loaded/, 'no unit counted as loaded');
  }
  t.equal(puts(), sent, 'nothing was sent for the refused loads');

  const stop = await scratch.load(s, 'stop', 'blog/cluster.yaml');
  t.match(stop.stderr, /web@1\.service: belongs to cluster "shop" .*; stop left it alone/);
  const destroy = await scratch.load(s, 'destroy', 'blog/cluster.yaml');
  t.equal(destroy.code, 0, destroy.stderr);
  t.match(destroy.stderr, /web@2\.service: belongs to cluster "shop" .*; destroy left it alone/);
  t.same(s.units().map((u) => `${u.name} ${u.hash} ${u.desiredState}`), before, 'shop keeps every unit, unchanged and launched');
  t.equal(s.states().filter((x) => x.state.activeState === 'active').length, running, 'and every one still runs');
  healthy(t, s);
});

t.test('gen-units --prune in a shared directory removes only its own cluster\'s files', async (t) => {
  const scratch = await fleetLoadScratch(t, 'two-gen');
  await writeFile(join(scratch.root, 'shop.yaml'), SHOP);
  await writeFile(join(scratch.root, 'blog.yaml'), BLOG.replace('web:', 'posts:'));
  const gen = (...args: string[]) => runFleetkit(['gen', ...args], { cwd: scratch.root });
  t.equal((await gen('shop.yaml')).code, 0);
  t.ok(existsSync(join(scratch.root, 'units/db@.service')));
  const blog = await gen('blog.yaml', '--prune');
  t.equal(blog.code, 0, blog.stderr);
  t.notMatch(blog.stderr, /removed/, 'nothing removed');
  for (const f of ['db@.service', 'web@.service', 'web-discovery@.service', 'posts@.service']) t.ok(existsSync(join(scratch.root, 'units', f)), `${f} is still there`);
  await writeFile(join(scratch.root, 'shop.yaml'), SHOP.replace(/ {2}db:\n.*\n/, ''));
  const pruned = await gen('shop.yaml', '--prune');
  t.match(pruned.stderr, /removed stale units\/db@\.service/, 'its own stale file goes');
  t.ok(existsSync(join(scratch.root, 'units/posts@.service')), 'the other cluster\'s file stays');
});

t.test('fleetkit-* service names are reserved', async (t) => {
  const scratch = await fleetLoadScratch(t, 'reserved');
  await writeFile(join(scratch.root, 'cluster.yaml'), 'name: x\nservices:\n  fleetkit-agent:\n    image: local/busybox:latest\n');
  const r = await runFleetkit(['gen', 'cluster.yaml'], { cwd: scratch.root });
  t.equal(r.code, 2);
  t.match(r.stderr, /cluster\.yaml:3:3: services\.fleetkit-agent: service name "fleetkit-agent" is reserved: fleetkit-\* units are fleetkit's own \(agent, hosts\)/);
});
