/**
 * Good specs → normalized ClusterSpec values, pinned: defaults, Compose shorthands, extensions, and the
 * values that are accepted on purpose (newlines, `%` and `$` in env values and argv: the renderer quotes them).
 */
import t from 'tap';
import { ExitCode, UsageError } from '../../src/errors.js';
import { parseSpec } from '../../src/cluster/load.js';
import { loadSpec } from '../../src/cluster/cluster-file.js';

const one = (body: string, top = '') => {
  const spec = parseSpec(`name: web\n${top}services:\n  a:\n    image: nginx\n${body}`, 'cluster.yaml');
  return spec.services[0]!;
};

t.test('the seed example', async (t) => {
  const spec = await loadSpec('examples/seed/cluster.yaml');
  t.equal(spec.name, 'web');
  t.same(spec.etcd, { endpoints: ['http://127.0.0.1:2379'], prefix: '/services', tls: undefined, auth: undefined });
  t.same(spec.flannel, { network: '10.1.0.0/16', subnetLen: 24, backend: 'vxlan', prefix: '/coreos.com/network' });
  t.same(spec.runtime, { docker: '/usr/bin/docker', stateDir: '/run/fleetkit', fleetkit: { kind: 'image', image: `${process.env['FLEETKIT_REGISTRY'] || 'registry.example.com'}/fleetkit:0.1.0` } });
  t.same(spec.hosts, { file: '/etc/hosts', exec: undefined, keepInode: false, containers: '/run/fleetkit/hosts/web' });
  const [first] = spec.services;
  const { run, containerName, externalVolumes, ...apache } = first!;
  t.same([run.init, run.pull, run.network, containerName, externalVolumes], [false, 'missing', undefined, undefined, []], 'Compose defaults: no --init, pull when missing');
  t.same(apache, {
    name: 'apache', image: 'coreos/apache', command: ['/usr/sbin/apache2ctl', '-D', 'FOREGROUND'], entrypoint: undefined,
    environment: [], ports: [{ hostIp: undefined, host: 80, container: 80, count: 1, protocol: 'tcp' }],
    volumes: [], volumeDriver: undefined, labels: [], restart: 'always', replicas: 2, healthcheck: undefined,
    stopGracePeriod: undefined, user: undefined, workingDir: undefined, hostname: undefined, aliases: [],
    fleet: { conflicts: ['apache@*.service'], machineOf: [], machineMetadata: [], global: false, machineID: undefined, replaces: undefined },
    announce: { port: 80, ttl: 60, hostname: 'apache-%i', key: '/services/web/apache/%i' },
    systemd: [],
  });
  t.same(spec.roles, []);
});

t.test('the large example', async (t) => {
  const spec = await loadSpec('examples/large/cluster.yaml');
  t.same(spec.services.map((s) => [s.name, s.replicas, s.fleet.global]), [['web', 4, false], ['db', 1, false], ['node-exporter', 1, true]]);
  const [web, db, agent] = spec.services;
  t.same(web!.fleet.conflicts, ['web@*.service']);
  t.same(web!.fleet.machineMetadata, [['role', ['web']]]);
  t.same(web!.environment[0], ['TZ', 'UTC'], 'merge key from a top-level x- anchor');
  t.same(web!.healthcheck, { test: ['CMD', 'curl', '-fsS', 'http://localhost:8000/healthz'], interval: 10, timeout: 3, retries: 3, startPeriod: 20 });
  t.equal(db!.volumeDriver, 'flocker');
  t.same(db!.volumes, [{ source: 'shop-pgdata', target: '/var/lib/postgresql/data', options: [] }]);
  t.same(db!.fleet.machineMetadata, [['role', ['db']], ['disk', ['ssd']]], 'x-fleet metadata, then placement constraints');
  t.equal(db!.restart, 'on-failure');
  t.equal(db!.restartMaxRetries, 5);
  t.equal(db!.stopGracePeriod, 60);
  t.same(db!.healthcheck?.test, ['CMD-SHELL', 'pg_isready -U postgres']);
  t.same(db!.systemd, [['Service', 'TimeoutStartSec', '5min']]);
  t.same(agent!.announce, { port: 9100, ttl: 60, hostname: 'node-exporter-%l', key: '/services/shop/node-exporter/%H' });
  t.same(agent!.volumes, [{ source: '/', target: '/host', options: ['ro', 'rslave'] }]);
  t.same(spec.runtime.fleetkit, { kind: 'image', image: `${process.env['FLEETKIT_REGISTRY'] || 'registry.example.com'}/fleetkit:0.1.0` });
  t.same(spec.roles, [
    { name: 'etcd', metadata: [['role', 'etcd'], ['region', 'east']], etcdMember: true },
    { name: 'web', metadata: [['role', 'web'], ['region', 'east']], etcdMember: false },
    { name: 'db', metadata: [['role', 'db'], ['region', 'east'], ['disk', 'ssd']], etcdMember: false },
  ]);
});

t.test('port short and long syntax', async (t) => {
  const s = one('    ports: ["80", 8443, "8080:80", "127.0.0.1:5353:53/udp", "9000-9002:9000-9002", "[::1]:2222:22", {target: 53, published: 1053, protocol: udp, host_ip: 10.0.0.1}]\n');
  t.same(s.ports, [
    { hostIp: undefined, host: undefined, container: 80, count: 1, protocol: 'tcp' },
    { hostIp: undefined, host: undefined, container: 8443, count: 1, protocol: 'tcp' },
    { hostIp: undefined, host: 8080, container: 80, count: 1, protocol: 'tcp' },
    { hostIp: '127.0.0.1', host: 5353, container: 53, count: 1, protocol: 'udp' },
    { hostIp: undefined, host: 9000, container: 9000, count: 3, protocol: 'tcp' },
    { hostIp: '::1', host: 2222, container: 22, count: 1, protocol: 'tcp' },
    { hostIp: '10.0.0.1', host: 1053, container: 53, count: 1, protocol: 'udp' },
  ]);
});

t.test('volumes, environment, labels, command strings', async (t) => {
  const s = one(
    [
      '    volumes: ["/data", "/srv/a:/a:ro,z", {type: bind, source: /etc/x, target: /x, read_only: true}, {type: volume, source: v1, target: /v}]',
      '    environment: ["A=1", "B", "C=x=y", "D="]',
      '    labels: ["tier=web", "flag"]',
      `    command: sh -c 'echo "a b"' x\\ y "q\\"uote"`,
      '    entrypoint: ["/bin/tini", "--"]',
      '    scale: 3',
      '    user: 1000',
      '    working_dir: /app',
      '    hostname: api.internal',
      '    restart: unless-stopped',
      '    healthcheck: { disable: true }',
      '',
    ].join('\n'),
    'volumes: { v1: {} }\n',
  );
  t.same(s.volumes, [
    { source: undefined, target: '/data', options: [] },
    { source: '/srv/a', target: '/a', options: ['ro', 'z'] },
    { source: '/etc/x', target: '/x', options: ['ro'] },
    { source: 'v1', target: '/v', options: [] },
  ]);
  t.same(s.environment, [['A', '1'], ['B', undefined], ['C', 'x=y'], ['D', '']], 'B passes through from the host');
  t.same(s.labels, [['tier', 'web'], ['flag', '']]);
  t.same(s.command, ['sh', '-c', 'echo "a b"', 'x y', 'q"uote']);
  t.same(s.entrypoint, ['/bin/tini', '--']);
  t.equal(s.replicas, 3);
  t.equal(s.user, '1000');
  t.equal(s.restart, 'unless-stopped');
  t.equal(s.restartMaxRetries, undefined);
  t.same(s.healthcheck?.test, ['NONE']);
});

t.test('durations round up to whole seconds', async (t) => {
  const s = one('    stop_grace_period: 1m30s\n    healthcheck: { test: ["CMD", "true"], interval: 500ms, timeout: 1.5s, start_period: 0s }\n');
  t.equal(s.stopGracePeriod, 90);
  t.same([s.healthcheck?.interval, s.healthcheck?.timeout, s.healthcheck?.startPeriod], [1, 2, 0]);
});

t.test('x-fleet and x-announce defaults', async (t) => {
  const s = one('    x-fleet: { machineOf: [db@%i.service], machineMetadata: { disk: [ssd, nvme], zone: 1 } }\n    x-announce: true\n', 'etcd: { prefix: /svc/ }\n');
  t.same(s.fleet.machineOf, ['db@%i.service']);
  t.same(s.fleet.machineMetadata, [['disk', ['ssd', 'nvme']], ['zone', ['1']]]);
  t.same(s.announce, { port: undefined, ttl: 60, hostname: 'a-%i', key: '/svc/web/a/%i' }, 'prefix loses its trailing slash');
  const off = one('    x-announce: false\n');
  t.equal(off.announce, undefined);
  const g = one('    deploy: { mode: global }\n    x-fleet: { machineMetadata: { role: edge } }\n');
  t.equal(g.fleet.global, true, 'deploy.mode: global is x-fleet.global');
});

t.test('values accepted on purpose: the renderer quotes them', async (t) => {
  const s = one(
    '    environment: { CERT: "line1\\nline2", PCT: "100%", DOLLAR: "$$HOME and $$$$", SPEC: "%i" }\n' +
      '    command: ["sh", "-c", "echo $$HOME; date +%s\\necho next"]\n' +
      '    labels: { note: "50% off $5" }\n' +
      '    x-systemd: { Service: { Environment: ["A=%i", "B=$$$$x"] }, Unit: { After: flanneld.service } }\n',
  );
  t.same(s.environment, [['CERT', 'line1\nline2'], ['PCT', '100%'], ['DOLLAR', '$HOME and $$'], ['SPEC', '%i']], 'kept literally');
  t.same(s.command, ['sh', '-c', 'echo $HOME; date +%s\necho next']);
  t.same(s.labels, [['note', '50% off $5']]);
  t.same(s.systemd, [['Service', 'Environment', 'A=%i'], ['Service', 'Environment', 'B=$$x'], ['Unit', 'After', 'flanneld.service']], 'x-systemd is systemd syntax: written verbatim');
});

t.test('top-level sections with their defaults and options', async (t) => {
  const spec = parseSpec(
    [
      'name: c1',
      'version: "3.8"',
      'x-base: &b { image: nginx }',
      'etcd: { endpoints: https://e1:2379, auth: { user: fk, passwordFile: /etc/fk/pw } }',
      'flannel: { network: 10.5.0.0/16, backend: host-gw }',
      'runtime: { docker: /usr/local/bin/docker, fleetkit: { binary: /usr/bin/fleetkit, url: "https://x/fk", sha256: ' + 'a'.repeat(64) + ' } }',
      'hosts: { file: /run/hosts, exec: [/usr/bin/systemctl, reload, dnsmasq], keepInode: true }',
      'volumes: { data: {} }',
      'services:',
      '  a: { <<: *b }',
      '',
    ].join('\n'),
    'c.yaml',
  );
  t.same(spec.etcd.endpoints, ['https://e1:2379']);
  t.same(spec.etcd.auth, { user: 'fk', passwordFile: '/etc/fk/pw' });
  t.same(spec.flannel, { network: '10.5.0.0/16', subnetLen: 24, backend: 'host-gw', prefix: '/coreos.com/network' });
  t.same(spec.runtime.fleetkit, { kind: 'binary', path: '/usr/bin/fleetkit', url: 'https://x/fk', sha256: 'a'.repeat(64) });
  t.same(spec.hosts, { file: '/run/hosts', exec: ['/usr/bin/systemctl', 'reload', 'dnsmasq'], keepInode: true, containers: '/run/fleetkit/hosts/c1' });
  t.equal(spec.services[0]!.image, 'nginx');
  t.equal(spec.file, 'c.yaml');
});

t.test('loadSpec: a missing file is a usage error with a hint', async (t) => {
  const err = await loadSpec('/nonexistent/cluster.yaml').catch((e: unknown) => e);
  t.ok(err instanceof UsageError);
  t.equal((err as UsageError).exitCode, ExitCode.usage);
  t.equal((err as UsageError).message, '/nonexistent/cluster.yaml: no such file');
  t.match((err as UsageError).hint, /name an existing cluster file/);
});
