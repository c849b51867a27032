/**
 * The image form of the rendered units, run for real: the agent's and the hosts watcher's `ExecStart=`
 * (docker run … fleetkit:<version> …, with the mounts the render gives them) and the sidekick's
 * (`docker exec fleetkit-agent-shipc fleetkit announce …`) on a Docker engine of its own (the containers have
 * fixed names, as on a host), against the test etcd. The argvs run as rendered: the engine's socket is not
 * at /var/run/docker.sock here, and the spec says where it is (`runtime.dockerSocket`), as an operator
 * whose engine listens elsewhere would.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEtcd } from '../../src/etcd/connect.js';
import { renderCluster } from '../../src/render/render.js';
import { parseSpec } from '../../src/cluster/load.js';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { IMAGE, ensureImage } from './image-build.js';
import { execArgvs, runArgv, startArgv } from './unit-argv.js';

/** Where fleetkit's agent in the image looks for the engine (its default). */
const CONTAINER_SOCKET = '/var/run/docker.sock';

t.test('agent, sidekick and hosts watcher from the image, as rendered', async (t) => {
  const [etcd, docker] = await Promise.all([etcdPart(t), dockerPart(t, { private: true })]);
  const image = await ensureImage(docker);
  t.equal(image.build.code, 0, `the run's image (${image.how} into the private engine): ${image.build.stderr.trim()}`);
  const dir = mkdtempSync(join(tmpdir(), 'fk-image-units-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'etc'));
  writeFileSync(join(dir, 'etc/hosts'), '127.0.0.1 localhost\n');
  const prefix = `/fk-image-${process.pid}${Date.now().toString(36)}`;
  const dockerCli = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
  const specFile = join(dir, 'cluster.yaml');
  writeFileSync(specFile, [
    'name: shipc',
    `etcd: { endpoints: [${JSON.stringify(etcd.clientUrl)}], prefix: ${prefix} }`,
    'runtime:',
    `  docker: ${dockerCli}`,
    `  dockerSocket: ${docker.socketPath}`,
    `  stateDir: ${dir}/run`,
    `  fleetkit: { image: "${IMAGE}" }`,
    `hosts: { file: ${dir}/etc/hosts, containers: ${dir}/run/hosts/shipc }`,
    'services:',
    '  web:',
    `    image: ${docker.httpImage}`,
    '    x-announce: { port: 8080, ttl: 10s }',
    '',
  ].join('\n'));
  const rendered = renderCluster(parseSpec(readFileSync(specFile, 'utf8'), specFile));
  const env = { DOCKER_HOST: docker.dockerHost };
  const etcdClient = await connectEtcd({ endpoints: etcd.endpoints });
  t.teardown(() => etcdClient.close());

  // The agent, the engine's socket mounted where fleetkit in the container looks for it.
  const [agentRun] = execArgvs(rendered, 'fleetkit-agent-shipc.service', 'ExecStart');
  const agentArgv = agentRun!.argv;
  t.strictSame(agentArgv.slice(1, 6), ['run', '--rm', '--name', 'fleetkit-agent-shipc', '--net=host']);
  const socketMount = agentArgv.indexOf(`${docker.socketPath}:${CONTAINER_SOCKET}`);
  t.ok(socketMount > 0 && agentArgv[socketMount - 1] === '-v', 'the rendered agent mounts runtime.dockerSocket as the container\'s docker socket');
  t.notOk(agentArgv.includes('--docker-host'), 'and needs no --docker-host in the container');
  t.ok(agentArgv.includes(`${dir}/run/shipc:${dir}/run/shipc`), 'and the state dir, at the same path');
  for (const pre of execArgvs(rendered, 'fleetkit-agent-shipc.service', 'ExecStartPre')) {
    t.equal(pre.prefix, '-', 'kill/rm before start may fail');
    await runArgv(pre.argv, env);
  }
  const agent = startArgv(t, agentArgv, env);
  t.teardown(async () => void (await docker.docker(['rm', '-f', 'fleetkit-agent-shipc', 'fleetkit-hosts-shipc', 'web-1'])));
  await waitFor(() => agent.out.join('').includes('agent ready'), { what: 'agent ready in its container', timeoutMs: 30_000 }).catch((e: Error) => {
    throw new Error(`${e.message}; agent output: ${agent.out.join('')}`);
  });

  // The hosts unit's ExecStartPre makes the cluster's containers' hosts file (from the image, through its
  // directory mount) before any container mounts it: docker refuses a missing bind source.
  const prepares = execArgvs(rendered, 'fleetkit-hosts-shipc.service', 'ExecStartPre').filter((p) => p.prefix !== '-');
  t.equal(prepares.length, 1, 'one ExecStartPre that must succeed: --prepare');
  mkdirSync(join(dir, 'run/hosts'), { recursive: true });
  const prepared = await runArgv(prepares[0]!.argv, env);
  t.equal(prepared.code, 0, prepared.out);
  t.match(readFileSync(join(dir, 'run/hosts/shipc'), 'utf8'), /^127\.0\.0\.1\s+localhost/m, 'the containers\' hosts file is made, with docker\'s localhost line');

  // The service's container (its unit's ExecStart, instance 1), then its sidekick.
  const [webRun] = execArgvs(rendered, 'web@.service', 'ExecStart', '1');
  const web = startArgv(t, webRun!.argv, env);
  await waitFor(async () => (await docker.docker(['inspect', '-f', '{{.State.Running}}', 'web-1'])).stdout.trim() === 'true', { what: 'web-1 running', timeoutMs: 30_000 });
  const ip = (await docker.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'web-1'])).stdout.trim();
  t.match(ip, new RegExp(`^${docker.subnet.split('.').slice(0, 3).join('\\.')}\\.`), 'web-1 on the engine\'s bridge');

  const [announce] = execArgvs(rendered, 'web-discovery@.service', 'ExecStart', '1');
  t.strictSame(announce!.argv.slice(1, 5), ['exec', 'fleetkit-agent-shipc', 'fleetkit', 'announce'], 'the sidekick execs into the agent');
  const registered = await runArgv(announce!.argv, env);
  t.equal(registered.code, 0, registered.out);
  t.comment(`sidekick ExecStart (docker exec … announce) took ${registered.ms.toFixed(0)} ms`);
  const key = `${prefix}/shipc/web/1`;
  await waitFor(async () => (await etcdClient.get(key).string()) !== null, { what: `${key} in etcd`, timeoutMs: 15_000 });
  const record = JSON.parse((await etcdClient.get(key).string()) ?? '{}') as { ip?: string; port?: number; hostname?: string; machine?: string };
  t.equal(record.ip, ip, 'announced with its bridge IP (the agent saw the engine through the mounted socket)');
  t.equal(record.port, 8080);
  t.equal(record.hostname, 'web-1');
  t.equal(record.machine, readFileSync('/etc/machine-id', 'utf8').trim(), 'the host\'s machine id (mounted read-only)');

  // The hosts watcher writes the host's file through its directory mount.
  const [hostsRun] = execArgvs(rendered, 'fleetkit-hosts-shipc.service', 'ExecStart');
  t.ok(hostsRun!.argv.includes(`${dir}/etc:/host${dir}/etc`), 'the hosts file\'s directory is mounted');
  const hosts = startArgv(t, hostsRun!.argv, env);
  const line = new RegExp(`^${ip.replaceAll('.', '\\.')}\\s+web-1\\s+web-1\\.shipc$`, 'm');
  await waitFor(() => line.test(readFileSync(join(dir, 'etc/hosts'), 'utf8')), { what: 'web-1 in the hosts file', timeoutMs: 30_000 }).catch((e: Error) => {
    throw new Error(`${e.message}; watcher output: ${hosts.out.join('')}`);
  });
  t.match(readFileSync(join(dir, 'etc/hosts'), 'utf8'), /^127\.0\.0\.1 localhost$/m, 'the rest of the file kept');

  // The sidekick's ExecStop withdraws; the entry leaves etcd and the hosts file.
  const [withdraw] = execArgvs(rendered, 'web-discovery@.service', 'ExecStop', '1');
  const withdrawn = await runArgv(withdraw!.argv, env);
  t.equal(withdrawn.code, 0, withdrawn.out);
  await waitFor(async () => (await etcdClient.get(key).string()) === null, { what: `${key} withdrawn`, timeoutMs: 15_000 });
  await waitFor(() => !line.test(readFileSync(join(dir, 'etc/hosts'), 'utf8')), { what: 'web-1 out of the hosts file', timeoutMs: 15_000 });

  // ExecStop of both fleetkit units: docker stop → SIGTERM → clean exit of the foreground `docker run`.
  for (const [unit, proc] of [['fleetkit-hosts-shipc.service', hosts], ['fleetkit-agent-shipc.service', agent]] as const) {
    const [stop] = execArgvs(rendered, unit, 'ExecStop');
    t.equal((await runArgv(stop!.argv, env)).code, 0, `${unit} ExecStop`);
    t.equal(await proc.exited, 0, `${unit}: the container exits 0 on docker stop`);
  }
  await docker.docker(['stop', '-t', '1', 'web-1']);
  await web.exited;
});
