/**
 * dist/fleetkit.cjs alone, in a directory without node_modules, run by a plain `node`: the commands a host
 * runs work, print what the sources print, and the heavy clients load only for the commands that use them
 * (etcd3's gRPC definitions are inlined, dockerode's optional native parts are absent on purpose).
 */
import t from 'tap';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Etcd3 } from 'etcd3';
import { connectEtcd } from '../../src/etcd/connect.js';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { inTreeCli } from './in-tree.js';
import { ROOT, VERSION, standaloneBundle } from './standalone.js';

const cli = standaloneBundle(t);
const seed = join(cli.dir, 'cluster.yaml');
copyFileSync(join(ROOT, 'examples/seed/cluster.yaml'), seed);

// Built-in modules that only the heavy clients load: http2 (gRPC, for etcd3) and http (docker-modem).
const HEAVY = ['http2', 'http'];

t.test('the premise: nothing but the bundle is there to load', async (t) => {
  const pkgs = ['etcd3', 'dockerode', 'handlebars', '@grpc/grpc-js', 'yaml', 'zod'];
  const probe = `for (const p of ${JSON.stringify(pkgs)}) { try { require.resolve(p); console.log(p) } catch {} }`;
  const found = spawnSync(process.execPath, ['-e', probe], { cwd: cli.dir, env: { PATH: process.env.PATH }, encoding: 'utf8' });
  t.equal(found.status, 0, found.stderr);
  t.equal(found.stdout, '', `none of ${pkgs.join(', ')} resolves from ${cli.dir}`);
});

t.test('--version: the package version, nothing heavy loaded', async (t) => {
  const r = await cli.run(['--version'], { probe: true });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `fleetkit ${VERSION}\n`);
  t.equal(r.stdout, (await inTreeCli(['--version'], cli.dir)).stdout);
  for (const m of HEAVY) t.notOk(r.builtins.includes(m), `--version does not load ${m}`);
});

t.test('the host commands answer --help exactly as the sources do', async (t) => {
  const commands = ['announce', 'agent', 'watch-hosts', 'cloud-config', 'gen'];
  const runs = await Promise.all(commands.map((c) => cli.run([c, '--help'], { probe: true })));
  for (const [i, command] of commands.entries()) {
    const r = runs[i]!;
    const ref = await inTreeCli([command, '--help'], cli.dir);
    t.equal(r.code, 0, `${command} --help: ${r.stderr}`);
    t.equal(r.stdout, ref.stdout, `${command} --help`);
    t.match(r.stdout, /^usage: /);
    for (const m of HEAVY) t.notOk(r.builtins.includes(m), `${command} --help does not load ${m}`);
  }
});

t.test('gen-units on the seed example: the in-tree render, file for file', async (t) => {
  const r = await cli.run(['gen', 'cluster.yaml', '-o', 'units'], { probe: true });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  const expected = renderCluster(parseSpec(readFileSync(seed, 'utf8'), seed));
  t.strictSame(readdirSync(join(cli.dir, 'units')).sort(), expected.files.map((f) => f.path).sort(), 'the same files');
  for (const f of expected.files) t.equal(readFileSync(join(cli.dir, 'units', f.path), 'utf8'), f.text, f.path);
  t.strictSame(r.stdout.trim().split('\n'), expected.start.map((u) => `units/${u}`), 'units to start, instances included');
  for (const m of HEAVY) t.notOk(r.builtins.includes(m), `gen does not load ${m}`);
  const stdout = await cli.run(['gen', 'cluster.yaml', '--stdout']);
  t.equal(stdout.stdout, (await inTreeCli(['gen', 'cluster.yaml', '--stdout'], cli.dir)).stdout, '--stdout as the sources print it');
});

t.test('a bad spec: exit 2 and the located message, no stack', async (t) => {
  writeFileSync(join(cli.dir, 'bad.yaml'), 'name: x\nservices:\n  web:\n    image: nginx\n    ports: ["99999:80"]\n');
  const r = await cli.run(['gen', 'bad.yaml', '--stdout']);
  t.equal(r.code, 2);
  t.equal(r.stderr, (await inTreeCli(['gen', 'bad.yaml', '--stdout'], cli.dir)).stderr);
  t.match(r.stderr, 'bad.yaml:5:');
  t.notMatch(r.stderr, /\n\s+at /);
});

t.test('cloud-config and Butane of the seed example, as the sources write them', async (t) => {
  const formats = ['cloud-config', 'butane'];
  const argsOf = (format: string): string[] => ['cloud-config', 'cluster.yaml', '--format', format, '--hostname', 'core-1'];
  const runs = await Promise.all(formats.map((f) => cli.run(argsOf(f))));
  for (const [i, format] of formats.entries()) {
    const args = argsOf(format);
    const r = runs[i]!;
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stdout, (await inTreeCli(args, cli.dir)).stdout, format);
    t.match(r.stdout, 'fleetkit-agent-web.service');
  }
});

t.test('agent, announce and watch-hosts from the bundle on the real etcd and dockerd', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const etcdClient: Etcd3 = await connectEtcd({ endpoints: etcd.endpoints });
  t.teardown(() => etcdClient.close());
  const id = `${process.pid}${Date.now().toString(36)}`;
  const prefix = `/fk-ship-${id}`;
  const name = `fk-ship-web-${id}`;
  const key = `${prefix}/c/web/1`;
  const stateDir = join(cli.dir, 'state');
  mkdirSync(stateDir);

  const run = await docker.docker(['run', '-d', '--init', '--name', name, docker.httpImage]);
  t.equal(run.code, 0, `docker run ${name}: ${run.stderr}`);
  t.teardown(async () => void (await docker.docker(['rm', '-f', name])));
  const ip = (await docker.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name])).stdout.trim();
  t.match(ip, /^\d+\.\d+\.\d+\.\d+$/);

  const agent = cli.start(t, ['agent', '--revoke-on-exit', '--etcd', etcd.clientUrl, '--etcd-prefix', prefix, '--state-dir', stateDir,
    '--docker-host', docker.dockerHost, '--flannel-env', join(stateDir, 'none.env'), '--machine-id', '0123456789abcdef0123456789abcdef']);
  await waitFor(() => agent.out.join('').includes('agent ready'), { what: 'bundle agent ready', timeoutMs: 15_000 }).catch((e: Error) => {
    throw new Error(`${e.message}; agent output: ${agent.out.join('')}`);
  });

  const announced = await cli.run(['announce', '--key', key, '--container', name, '--port', '8080', '--ttl', '10s', '--hostname', 'web-1', '--state-dir', stateDir], { probe: true });
  t.equal(announced.code, 0, announced.stderr);
  t.notOk(announced.builtins.includes('http2'), 'the sidekick call never loads the etcd client');
  await waitFor(async () => (await etcdClient.get(key).string()) !== null, { what: 'announcement in etcd', timeoutMs: 15_000 });
  t.equal(JSON.parse((await etcdClient.get(key).string()) ?? '{}').ip, ip, 'the container\'s bridge IP, read by dockerode in the bundle');

  const hosts = join(cli.dir, 'hosts');
  writeFileSync(hosts, '127.0.0.1 localhost\n');
  const watched = await cli.run(['watch-hosts', '--once', '--etcd', etcd.clientUrl, '--prefix', prefix, '--cluster', 'c', '--out', hosts]);
  t.equal(watched.code, 0, watched.stderr);
  const text = readFileSync(hosts, 'utf8');
  t.match(text, /^127\.0\.0\.1 localhost$/m, 'the rest of the file kept');
  t.match(text, new RegExp(`^${ip.replaceAll('.', '\\.')}\\s+web-1\\s+web-1\\.c$`, 'm'), 'the entry from etcd');

  agent.child.kill('SIGTERM');
  t.equal(await agent.exited, 0, 'agent exits 0 on SIGTERM');
  t.equal(await etcdClient.get(key).string(), null, 'its lease revoked on the way out');
});
