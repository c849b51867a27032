/**
 * Compose's everyday service keys → the `docker run` words and unit lines they mean, and the keys that are
 * refused or warned about, each in one located line.
 */
import t from 'tap';
import { SpecError } from '../../src/errors.js';
import { parseSpec } from '../../src/cluster/load.js';
import { dockerRunArgs } from '../../src/render/docker-run-args.js';
import { renderCluster } from '../../src/render/render.js';
import { valuesOf } from '../../src/unit/model.js';

const FILE = '/srv/stacks/shop/compose.yaml';
const spec = (body: string, top = '') => parseSpec(`name: shop\n${top}services:\n  a:\n    image: nginx:1.25\n${body}`, FILE);
/** The run words between the container name and the image. */
const flagsOf = (body: string, top = '') => {
  const s = spec(body, top).services[0]!;
  const a = dockerRunArgs(s, 'a-1');
  return a.slice(4, a.indexOf('nginx:1.25'));
};
const problemsOf = (body: string, top = '') => {
  try {
    spec(body, top);
  } catch (e) {
    if (e instanceof SpecError) return e.problems.map((p) => `${p.pos?.line}:${p.pos?.col} ${p.path}: ${p.message}`);
    throw e;
  }
  return [];
};

t.test('one-flag keys become their flags, one word each', async (t) => {
  t.strictSame(flagsOf([
    '    init: true', '    platform: linux/arm64/v8', '    pull_policy: always', '    domainname: example.com',
    '    expose: [3306, "53/udp"]', '    stop_signal: SIGQUIT', '    cap_add: [NET_ADMIN]', '    cap_drop: [ALL]',
    '    privileged: true', '    security_opt: ["no-new-privileges:true"]', '    read_only: true', '    tmpfs: /run',
    '    devices: ["/dev/fuse"]', '    sysctls: { net.core.somaxconn: 1024 }', '    ulimits: { nofile: { soft: 20000, hard: 40000 }, nproc: 65535 }',
    '    extra_hosts: ["host.docker.internal:host-gateway", "v6=::1"]', '    dns: 10.0.0.2', '    dns_search: [example.com]',
    '    group_add: [mail, 1000]', '    pid: host', '    ipc: shareable', '    logging: { driver: json-file, options: { max-size: 10m, max-file: 3 } }',
    '    shm_size: 256m', '    mem_limit: 1gb', '    memswap_limit: -1', '    cpus: 0.5', '    pids_limit: 100', '    cpu_shares: 512',
    '    x-docker: { args: ["--gpus", "all"] }', '',
  ].join('\n')), [
    '--pull=always', '--init', '--platform=linux/arm64/v8', '--domainname=example.com', '--expose=3306', '--expose=53/udp',
    '--tmpfs=/run', '--stop-signal=SIGQUIT', '--cap-add=NET_ADMIN', '--cap-drop=ALL', '--privileged', '--security-opt=no-new-privileges:true',
    '--read-only', '--device=/dev/fuse', '--sysctl=net.core.somaxconn=1024', '--ulimit=nofile=20000:40000', '--ulimit=nproc=65535:65535',
    '--add-host=host.docker.internal:host-gateway', '--add-host=v6:::1', '--dns=10.0.0.2', '--dns-search=example.com', '--group-add=mail',
    '--group-add=1000', '--pid=host', '--ipc=shareable', '--log-driver=json-file', '--log-opt=max-size=10m', '--log-opt=max-file=3',
    '--shm-size=268435456', '--memory=1073741824', '--memory-swap=-1', '--pids-limit=100', '--cpus=0.5', '--cpu-shares=512', '--gpus', 'all',
  ]);
  t.strictSame(flagsOf(''), ['--pull=missing'], 'Compose defaults: no --init, pull only a missing image');
  t.strictSame(flagsOf('    deploy: { resources: { limits: { cpus: "0.25", memory: 512M, pids: 50 }, reservations: { memory: 128m } } }\n'),
    ['--pull=missing', '--memory=536870912', '--memory-reservation=134217728', '--pids-limit=50', '--cpus=0.25']);
  t.strictSame(flagsOf('    network_mode: host\n'), ['--pull=missing', '--network=host']);
  t.strictSame(flagsOf('    environment: { discovery.type: single-node }\n'), ['--pull=missing', '-e', 'discovery.type=single-node'], 'dotted names, as docker takes them');
});

t.test('paths: relative ones resolve against the file\'s directory; secrets and configs mount read-only', async (t) => {
  const top = 'secrets: { db_pw: { file: ./secrets/db.txt } }\nconfigs: { nginx: { file: /etc/shop/nginx.conf } }\nvolumes: { data: { name: shop_data }, ext: { external: true } }\n';
  const args = flagsOf([
    '    volumes: ["./html:/usr/share/nginx/html:ro", "../shared:/shared", "data:/data", "ext:/ext", { type: tmpfs, target: /cache, tmpfs: { size: 64m, mode: 1777 } }]',
    '    secrets: [db_pw, { source: db_pw, target: /etc/pw }]',
    '    configs: [{ source: nginx, target: /etc/nginx/nginx.conf }, nginx]', '',
  ].join('\n'), top);
  t.strictSame(args.filter((w, i) => args[i - 1] === '-v' || w.startsWith('--tmpfs')), [
    '/srv/stacks/shop/html:/usr/share/nginx/html:ro', '/srv/stacks/shared:/shared', 'shop_data:/data', 'ext:/ext',
    '/srv/stacks/shop/secrets/db.txt:/run/secrets/db_pw:ro', '/srv/stacks/shop/secrets/db.txt:/etc/pw:ro',
    '/etc/shop/nginx.conf:/etc/nginx/nginx.conf:ro', '/etc/shop/nginx.conf:/nginx:ro',
    '--tmpfs=/cache:size=67108864,mode=1777',
  ]);
  const unit = renderCluster(spec('    volumes: ["ext:/ext"]\n', top)).files.find((f) => f.name === 'a@.service')!.unit;
  t.strictSame(valuesOf(unit, 'Service', 'ExecStartPre').at(-1), '/usr/bin/docker volume inspect --format={{.Name}} ext', 'an external volume must exist before the container starts');
});

t.test('create_host_path: false mounts with --mount, which fails on a missing source where -v would make it', async (t) => {
  const args = flagsOf([
    '    volumes:',
    '      - { type: bind, source: ./conf, target: /etc/app, read_only: true, bind: { create_host_path: false } }',
    '      - { type: bind, source: "/srv/a,b", target: /data, bind: { create_host_path: false, propagation: rslave } }',
    '      - { type: bind, source: ./logs, target: /logs, bind: { create_host_path: true } }',
    '      - { type: bind, source: ./cache, target: /cache }', '',
  ].join('\n'));
  t.strictSame(args.filter((w, i) => args[i - 1] === '-v' || w.startsWith('--mount=')), [
    '--mount=type=bind,source=/srv/stacks/shop/conf,target=/etc/app,readonly',
    '--mount=type=bind,"source=/srv/a,b",target=/data,bind-propagation=rslave',
    '/srv/stacks/shop/logs:/logs',
    '/srv/stacks/shop/cache:/cache',
  ], 'a comma in a path is quoted as docker reads --mount (CSV); create_host_path: true and the default stay -v');
  t.strictSame(problemsOf('    volumes: [{ type: bind, source: /srv/x, target: /x, bind: { create_host_path: false, selinux: z } }]\n'), [
    '5:90 services.a.volumes[0].bind.selinux: create_host_path: false is rendered as docker run --mount, which cannot relabel for SELinux',
  ]);
});

t.test('extension fields below the top level are ignored, as Compose ignores them; fleetkit\'s own are kept', async (t) => {
  const top = [
    'networks: { proxy: { x-owner: infra } }', 'volumes: { data: { x-backup: daily } }',
    'secrets: { pw: { file: /etc/pw, x-rotate: 90d } }', 'configs: { conf: { file: /etc/app.conf, x-format: ini } }', '',
  ].join('\n');
  const s = spec(['    x-casaos: { title: App }', '    x-labels: &l { tier: web }', '    labels: *l', '    x-anounce: true',
    '    x-announce: { port: 80 }', '    networks: [proxy]', '    volumes: [data:/data]', '    secrets: [pw]', '    configs: [conf]', ''].join('\n'), top);
  const a = s.services[0]!;
  t.strictSame(a.labels, [['tier', 'web']], 'an anchor in a service\'s x- field still works');
  t.equal(a.announce?.port, 80, 'x-announce is read');
  t.strictSame(s.warnings.map((w) => `${w.pos?.line}:${w.pos?.col} ${w.path}: ${w.message} (${w.hint})`), [
    '12:5 services.a.x-anounce: "x-anounce" is ignored as an extension field (did you mean "x-announce"?)',
  ], 'a near miss of fleetkit\'s own key is a warning; other extension fields say nothing');
});

t.test('external: { name } (Compose 3.x) is read as external: true with name:, with a warning', async (t) => {
  const top = 'networks: { proxy: { external: { name: traefik_proxy } } }\nvolumes: { data: { external: { name: shared } } }\n';
  const s = spec('    networks: [proxy]\n    volumes: [data:/data]\n', top);
  const unit = renderCluster(s).files.find((f) => f.name === 'a@.service')!.unit;
  t.strictSame(valuesOf(unit, 'Service', 'ExecStartPre').at(-1), '/usr/bin/docker volume inspect --format={{.Name}} shared', 'the external volume by its name');
  t.match(valuesOf(unit, 'Service', 'ExecStart')[0], / -v shared:\/data /);
  t.strictSame(s.warnings.map((w) => `${w.pos?.line}:${w.pos?.col} ${w.path}`), ['2:22 networks.proxy.external', '3:20 volumes.data.external']);
  t.strictSame(problemsOf('    volumes: [data:/data]\n', 'volumes: { data: { name: a, external: { name: b } } }\n'),
    ['2:47 volumes.data.external.name: external.name "b" differs from name "a"']);
});

t.test('a top-level volume with driver: local (docker\'s default) is accepted; another driver is refused', async (t) => {
  t.strictSame(flagsOf('    volumes: [data:/data]\n', 'volumes: { data: { driver: local } }\n'), ['--pull=missing', '-v', 'data:/data']);
  t.strictSame(problemsOf('    volumes: [data:/data]\n', 'volumes: { data: { driver: flocker } }\n'),
    ['2:20 volumes.data.driver: unsupported Compose key "driver": volume drivers other than docker\'s default (local) are set per service']);
});

t.test('an unsupported key deep in a service leaves out that key only: its siblings are still checked', async (t) => {
  t.strictSame(problemsOf('    networks: { back: { aliases: [api.internal], ipv4_address: 172.20.0.5 } }\n', 'networks: { back: {} }\n').map((l) => l.split(': ')[0]), [
    '6:35 services.a.networks.back.aliases[0]',
    '6:50 services.a.networks.back.ipv4_address',
  ], 'the alias beside a refused address is checked in the same run');
  t.strictSame(problemsOf('    ports: [{ target: 80, published: 8080, mode: ingress, x: 1 }, "80a"]\n').map((l) => l.split(': ')[0]), [
    '5:59 services.a.ports[0].x',
  ], 'inside a list the whole key is left out, so no later check names a shifted entry');
});

t.test('one container port on a published range: docker takes the first free port of the range, as under Compose', async (t) => {
  t.strictSame(flagsOf('    ports: ["8080-8090:80", "127.0.0.1:5000-5010:5000/udp", { target: 443, published: "9443-9445" }, "7000-7001:7000-7001"]\n'), [
    '--pull=missing', '-p', '8080-8090:80', '-p', '127.0.0.1:5000-5010:5000/udp', '-p', '9443-9445:443', '-p', '7000-7001:7000-7001',
  ]);
});

t.test('restart counts: on-failure:N and restart_policy keep the count as a start limit', async (t) => {
  const unitOf = (body: string) => renderCluster(spec(body)).files.find((f) => f.name === 'a@.service')!.unit;
  const u = unitOf('    restart: on-failure:3\n');
  t.strictSame([valuesOf(u, 'Service', 'Restart'), valuesOf(u, 'Unit', 'StartLimitIntervalSec'), valuesOf(u, 'Unit', 'StartLimitBurst')], [['on-failure'], ['infinity'], ['4']], 'the first start and 3 restarts');
  const p = unitOf('    deploy: { restart_policy: { condition: any, delay: 20s, max_attempts: 2 } }\n');
  t.strictSame([valuesOf(p, 'Service', 'Restart'), valuesOf(p, 'Service', 'RestartSec'), valuesOf(p, 'Unit', 'StartLimitBurst')], [['always'], ['20'], ['3']]);
  t.strictSame(valuesOf(unitOf('    restart: on-failure:0\n'), 'Unit', 'StartLimitBurst'), [], 'on-failure:0 is no limit, as in docker');
});

t.test('container_name names the container; refused with more than one instance', async (t) => {
  const s = spec('    container_name: shop-db\n');
  const unit = renderCluster(s).files.find((f) => f.name === 'a@.service')!.unit;
  t.strictSame(valuesOf(unit, 'Service', 'ExecStop'), ['/usr/bin/docker stop -t 10 shop-db']);
  t.strictSame(problemsOf('    container_name: shop-db\n    deploy: { replicas: 2 }\n'), ['5:21 services.a.container_name: container_name names one container, but the service has 2 instances']);
});

t.test('warnings: build beside image, tty and stdin_open', async (t) => {
  const s = spec('    build: .\n    tty: true\n    stdin_open: true\n');
  t.strictSame(s.warnings.map((w) => `${w.pos?.line}:${w.pos?.col} ${w.message}`), [
    '5:5 fleetkit runs the image nginx:1.25 and does not build it',
    '6:5 there is no terminal under systemd (docker run -t would fail there): the container runs without -t',
    '7:5 there is no stdin under systemd: the container runs without -i',
  ]);
  t.notOk(dockerRunArgs(s.services[0]!, 'a-1').some((w) => w === '-t' || w === '-i' || w === '--tty'), 'no terminal flags');
  t.match(renderCluster(s).warnings[0], /^\/srv\/stacks\/shop\/compose\.yaml:5:5: services\.a\.build: fleetkit runs the image/);
});

t.test('refused in one located line each, all in one pass', async (t) => {
  t.strictSame(problemsOf([
    '    network_mode: "service:b"',
    '    pid: "container:x"',
    '    networks: { front: { aliases: [web_1] } }',
    '    secrets: [nope]',
    '    volumes: [undeclared:/data]',
    '    pull_policy: build',
    '    ports: [{ target: 80, published: 8080, mode: ingress }]',
    '    healthcheck: { test: [CMD], interval: 1s }', '',
  ].join('\n'), 'networks: { front: {} }\nsecrets: { env: { environment: PW } }\n').map((l) => l.split(': ')[0]), [
    '3:19 secrets.env.environment',
    '7:19 services.a.network_mode',
    '8:10 services.a.pid',
    '9:36 services.a.networks.front.aliases[0]',
    '10:15 services.a.secrets[0]',
    '11:15 services.a.volumes[0]',
    '12:18 services.a.pull_policy',
    '13:50 services.a.ports[0].mode',
    '14:26 services.a.healthcheck.test',
  ], 'schema problems and the problems of the rest of the service, in one pass');
  t.strictSame(problemsOf([
    '    network_mode: "service:b"',
    '    pid: "container:x"',
    '    secrets: [nope]',
    '    volumes: [undeclared:/data]',
    '    pull_policy: build',
    '    ports: [{ target: 80, published: 8080, mode: ingress }]', '',
  ].join('\n')), [
    '5:19 services.a.network_mode: network_mode: service:b joins another container\'s network namespace, which may run on another machine',
    '6:10 services.a.pid: pid: container:x shares a namespace with another container, which may run on another machine',
    '7:15 services.a.secrets[0]: secret "nope" is not declared under the top-level secrets: with a file',
    '8:15 services.a.volumes[0]: volume "undeclared" is not declared under the top-level volumes:',
    '9:18 services.a.pull_policy: pull_policy: fleetkit does not build images',
    '10:50 services.a.ports[0].mode: mode: ingress: fleet has no routing mesh; a port is published on the machine its container runs on',
  ]);
});
