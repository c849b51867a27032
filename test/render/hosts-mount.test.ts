/**
 * The cluster's containers' hosts file in rendered units: which containers mount it as /etc/hosts (and which
 * keep docker's own, and why), the watcher's --containers-file, the sidekick's --alias words from the
 * service name and Compose aliases, and the spec problems of hosts.containers and aliases.
 */
import t from 'tap';
import { SpecError } from '../../src/errors.js';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { hostsMountSkipped } from '../../src/render/hosts-mount.js';
import { valuesOf, type UnitFile } from '../../src/unit/model.js';
import { parseExecLine } from '../../src/unit/parse-command-line.js';

const FILE = '/srv/stacks/shop/compose.yaml';
const SPECIFIERS = { i: '1', H: 'host1.example.com', l: 'host1', m: '0'.repeat(32), p: 'p', n: 'n' };

/** A stack in the style of the public WordPress + MySQL compose files, with the keys that decide the mount. */
const STACK = `name: shop
services:
  db:
    image: mysql:8.0
    environment: { MYSQL_DATABASE: wordpress }
    networks:
      back: { aliases: [mysql, database] }
    x-announce: { port: 3306 }
  wordpress:
    image: wordpress:6
    deploy: { replicas: 2 }
    environment: { WORDPRESS_DB_HOST: "db:3306" }
    networks: [back]
    x-announce: { port: 80 }
  rabbit:
    image: rabbitmq:3
    hostname: rabbit
  gateway:
    image: nginx:1.25
    extra_hosts: ["legacy-api:10.0.0.7"]
  exporter:
    image: prom/node-exporter:v1.7.0
    network_mode: host
  pinned:
    image: busybox:1.36
    volumes: ["/srv/hosts:/etc/hosts:ro"]
networks:
  back: {}
`;

function argvOf(files: readonly { path: string; unit: UnitFile }[], name: string, key = 'ExecStart'): string[] {
  const f = files.find((u) => u.path === name);
  if (!f) throw new Error(`no unit ${name}`);
  return parseExecLine(valuesOf(f.unit, 'Service', key)[0]!, { specifiers: SPECIFIERS }).argv;
}
const problemsOf = (text: string): string[] => {
  try {
    parseSpec(text, FILE);
  } catch (e) {
    if (e instanceof SpecError) return e.problems.map((p) => `${p.pos?.line}:${p.pos?.col} ${p.path}: ${p.message}`);
    throw e;
  }
  return [];
};

t.test('bridge containers mount the file; the others keep docker\'s /etc/hosts, each for its reason', async (t) => {
  const spec = parseSpec(STACK, FILE);
  t.equal(spec.hosts.containers, '/run/fleetkit/hosts/shop', 'default: one file per cluster');
  const { files } = renderCluster(spec);
  const mount = '--mount=type=bind,source=/run/fleetkit/hosts/shop,target=/etc/hosts,readonly';
  for (const unit of ['db@.service', 'wordpress@.service']) {
    const argv = argvOf(files, unit);
    t.equal(argv.filter((w) => w === mount).length, 1, `${unit} mounts it once`);
    t.ok(argv.indexOf(mount) < argv.findIndex((w) => w.includes(':') && /^(mysql|wordpress):/.test(w)), 'before the image');
    t.match(valuesOf(files.find((f) => f.path === unit)!.unit, 'Unit', 'After'), ['docker.service', 'fleetkit-hosts-shop.service']);
  }
  for (const unit of ['rabbit@.service', 'gateway@.service', 'exporter@.service', 'pinned@.service']) {
    const argv = argvOf(files, unit);
    t.notOk(argv.some((w) => w.includes('/run/fleetkit/hosts/')), `${unit} does not mount it`);
  }
  const why = Object.fromEntries(spec.services.map((s) => [s.name, hostsMountSkipped(spec.hosts, s)]));
  t.match(why, { db: undefined, wordpress: undefined, rabbit: /hostname/, gateway: /extra_hosts/, exporter: /network_mode: host/, pinned: /its own \/etc\/hosts/ });
  t.ok(argvOf(files, 'pinned@.service').includes('/srv/hosts:/etc/hosts:ro'), 'its own mount stays');
  t.ok(argvOf(files, 'gateway@.service').includes('--add-host=legacy-api:10.0.0.7'), 'extra_hosts stay with docker');

  // The watcher keeps the file; the sidekicks carry the names.
  const hosts = argvOf(files, 'fleetkit-hosts-shop.service');
  t.strictSame(hosts.slice(hosts.indexOf('--containers-file'), hosts.indexOf('--containers-file') + 2), ['--containers-file', '/run/fleetkit/hosts/shop']);
  const aliasesOf = (unit: string): string[] => {
    const a = argvOf(files, unit);
    return a.flatMap((w, i) => (w === '--alias' ? [a[i + 1]!] : []));
  };
  t.strictSame(aliasesOf('db-discovery@.service'), ['db', 'mysql', 'database'], 'the service name, then its aliases');
  t.strictSame(aliasesOf('wordpress-discovery@.service'), ['wordpress']);
});

t.test('switched off, or at a path of its own', async (t) => {
  const off = parseSpec(STACK.replace('name: shop\n', 'name: shop\nx-fleetkit: { hosts: { containers: false } }\n'), FILE);
  t.equal(off.hosts.containers, undefined);
  const { files } = renderCluster(off);
  t.notOk(argvOf(files, 'db@.service').some((w) => w.includes('/etc/hosts')));
  t.notOk(argvOf(files, 'fleetkit-hosts-shop.service').includes('--containers-file'));
  t.strictSame(valuesOf(files.find((f) => f.path === 'db@.service')!.unit, 'Unit', 'After'), ['docker.service']);
  const own = parseSpec(STACK.replace('name: shop\n', 'name: shop\nx-fleetkit: { hosts: { containers: /var/lib/fleetkit/shop.hosts } }\n'), FILE);
  t.ok(argvOf(renderCluster(own).files, 'db@.service').includes('--mount=type=bind,source=/var/lib/fleetkit/shop.hosts,target=/etc/hosts,readonly'));
  // The legacy target's Docker (1.12) has no --mount: -v, read-only.
  const legacy = parseSpec(STACK.replace('name: shop\n', 'name: shop\nx-fleetkit: { target: legacy, runtime: { fleetkit: { image: "fleetkit:0.1.0" } } }\n'), FILE);
  t.ok(argvOf(renderCluster(legacy).files, 'db@.service').includes('/run/fleetkit/hosts/shop:/etc/hosts:ro'));
});

t.test('bad aliases and paths: located, one pass, nothing that could become a second hosts line', async (t) => {
  const problems = problemsOf(`name: shop
x-fleetkit:
  hosts: { file: /etc/hosts, containers: "/run/x,readonly=false" }
services:
  db:
    image: mysql:8.0
    networks:
      back: { aliases: ["db\\n10.0.0.1 bank", "my_db", ok-name] }
networks:
  back: {}
`);
  t.equal(problems.length, 3, problems.join("\n"));
  t.match(problems[0], /^3:42 x-fleetkit\.hosts\.containers: .*--mount list/);
  t.match(problems[1], /^8:25 services\.db\.networks\.back\.aliases\[0\]: alias .* must be a DNS label/);
  t.match(problems[2], /^8:46 services\.db\.networks\.back\.aliases\[1\]: alias "my_db" must be a DNS label/);
  t.match(problemsOf('name: shop\nx-fleetkit: { hosts: { containers: /etc/hosts } }\nservices: { a: { image: "busybox:1" } }\n')[0], /hosts\.containers: the containers' hosts file cannot be hosts\.file/);
});

t.test('x-docker.args that fight the mount: read as docker reads them, the mount left out, a located warning', async (t) => {
  const text = `name: shop
services:
  a: { image: "busybox:1", x-docker: { args: ["--add-host=legacy-api:10.0.0.7"] } }
  b: { image: "busybox:1", x-docker: { args: ["--init", "--add-host", "legacy-api:10.0.0.7"] } }
  c: { image: "busybox:1", x-docker: { args: ["-h", "gw"] } }
  d: { image: "busybox:1", x-docker: { args: ["-ihgw"] } }
  e: { image: "busybox:1", x-docker: { args: ["--hostname=gw"] } }
  f: { image: "busybox:1", x-docker: { args: ["--net=host"] } }
  g: { image: "busybox:1", x-docker: { args: ["--network", "none"] } }
  h: { image: "busybox:1", x-docker: { args: ["-v", "/srv/hosts:/etc/hosts:ro"] } }
  i: { image: "busybox:1", x-docker: { args: ["--mount", "type=bind,src=/srv/hosts,dst=/etc/hosts/,readonly"] } }
  # Not fighting: a network by name, /etc/hosts as a source, flag names as values of other flags.
  j: { image: "busybox:1", x-docker: { args: ["--network=backend", "-v", "/etc/hosts:/host-hosts:ro", "--label", "--hostname", "-e", "-h", "-lnote=-v", "--rm"] } }
`;
  const spec = parseSpec(text, FILE);
  const why = Object.fromEntries(spec.services.map((s) => [s.name, hostsMountSkipped(spec.hosts, s)]));
  t.strictSame(why, {
    a: 'x-docker.args --add-host legacy-api:10.0.0.7: docker writes it into its own /etc/hosts only',
    b: 'x-docker.args --add-host legacy-api:10.0.0.7: docker writes it into its own /etc/hosts only',
    c: 'x-docker.args -h gw: its own name resolves through docker\'s /etc/hosts only',
    d: 'x-docker.args -h gw: its own name resolves through docker\'s /etc/hosts only',
    e: 'x-docker.args --hostname gw: its own name resolves through docker\'s /etc/hosts only',
    f: 'x-docker.args --net host: as network_mode: host',
    g: 'x-docker.args --network none: as network_mode: none',
    h: 'x-docker.args -v /srv/hosts:/etc/hosts:ro: it mounts its own /etc/hosts',
    i: 'x-docker.args --mount type=bind,src=/srv/hosts,dst=/etc/hosts/,readonly: it mounts its own /etc/hosts',
    j: undefined,
  });
  const { files } = renderCluster(spec);
  for (const s of 'abcdefghi') {
    t.notOk(argvOf(files, `${s}@.service`).some((w) => w.includes('/run/fleetkit/hosts/shop')), `${s} does not mount the file (docker would refuse two mounts at /etc/hosts)`);
    t.notOk(valuesOf(files.find((f) => f.path === `${s}@.service`)!.unit, 'Unit', 'Wants').includes('fleetkit-hosts-shop.service'));
  }
  t.ok(argvOf(files, 'j@.service').includes('--mount=type=bind,source=/run/fleetkit/hosts/shop,target=/etc/hosts,readonly'), 'j mounts it');
  const warnings = spec.warnings.map((w) => `${w.pos?.line}:${w.pos?.col} ${w.path}: ${w.message}`);
  t.equal(warnings.length, 9, warnings.join('\n'));
  t.equal(warnings[0], `3:47 services.a.x-docker.args[0]: --add-host legacy-api:10.0.0.7: docker writes it into its own /etc/hosts only, so the cluster's containers' hosts file is not mounted: bare service names and aliases do not resolve in this container`);
  t.match(warnings[1], /^4:57 services\.b\.x-docker\.args\[1\]: --add-host /, 'located at the flag, not its value');
  t.match(warnings[3], /^6:47 services\.d\.x-docker\.args\[0\]: -h gw/);
  t.match(warnings[8], /^11:47 services\.i\.x-docker\.args\[0\]: --mount /);
  t.match(spec.warnings[0], { hint: /extra_hosts, hostname, network_mode, volumes/ });
  // Switched off: nothing is mounted anyway, so nothing to warn about.
  const off = parseSpec(text.replace('name: shop\n', 'name: shop\nx-fleetkit: { hosts: { containers: false } }\n'), FILE);
  t.strictSame(off.warnings, []);
});

t.test('x-docker.args --network container:X is refused as network_mode: container:X is, located, in one pass', async (t) => {
  const problems = problemsOf(`name: shop
services:
  a: { image: "busybox:1", x-docker: { args: ["--network=container:db-1"] } }
  b: { image: "busybox:1", network_mode: "container:db-1", x-docker: { args: ["--rm", "--net", "service:db"] } }
`);
  t.equal(problems.length, 3, problems.join('\n'));
  t.match(problems[0], /^3:47 services\.a\.x-docker\.args\[0\]: --network container:db-1 joins another container's network namespace, which may run on another machine$/);
  t.match(problems[1], /^4:42 services\.b\.network_mode: network_mode: container:db-1 joins another container's network namespace/);
  t.match(problems[2], /^4:87 services\.b\.x-docker\.args\[1\]: --net service:db joins/);
});
