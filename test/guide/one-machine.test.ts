/**
 * README "Your first cluster" → "One machine, no fleet", run as written on the test environment's real
 * etcd, dockerd and a systemd manager of this test's own (fleetkit's agent and hosts units have fixed names,
 * so they must not meet another test's on the run's shared manager): `npm pack` of this checkout, `npm
 * install -g` of the tarball (offline, into a prefix of the test's), the compose.yaml of the guide, `fleetkit
 * load --systemd`, `fleetkit status --systemd` (exit 0) and the grep of the hosts file. The script ends with
 * the example running, announced in etcd and in the hosts file; the test then checks each against the
 * containers' real addresses.
 *
 * Where the test environment is not a user's machine, the script text is adapted (test/support/readme-guide.ts): etcd's
 * address, the install prefix, the state dir and hosts file (temporary), the manager (`--user` with its
 * unit and journal dirs), and `npm pack` of this checkout from another directory, without the build script
 * (`npm test` built dist/ already; a build here would rewrite it under the run's other test files). The
 * image `busybox:1.36` is the run's locally made busybox under that name (there is no registry).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, watch } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { newPartDir, readPartEnv, runCommand, runScript } from '../env/part-runtime.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { adapt, guideBlocks, ROOT } from '../support/readme-guide.js';

const VERSION = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const [etcd, docker] = await Promise.all([etcdPart(t), dockerPart(t)]);
const work = await mkdtemp(join(tmpdir(), 'fk-guide-one-'));
t.teardown(() => rm(work, { recursive: true, force: true }));

// A manager of the test's own, its units reaching the run's engine.
const sd = newPartDir('systemd');
const slice = `${sd.name}.slice`;
await runScript('systemd.sh', ['start', sd.dir, slice, docker.dockerHost]);
const sdEnv = readPartEnv(sd.dir);
const managerEnv = { DBUS_SESSION_BUS_ADDRESS: sdEnv['SYSTEMD_BUS'] ?? '', XDG_RUNTIME_DIR: sdEnv['SYSTEMD_RUNTIME'] ?? '' };
const systemctl = (args: string[]) => runCommand('systemctl', ['--user', ...args], managerEnv);

const CONTAINERS = ['hello-1', 'hello-2'];
t.teardown(async () => {
  await runScript('systemd.sh', ['stop', sd.dir, slice]);
  await docker.docker(['rm', '-f', ...CONTAINERS]);
  await docker.docker(['rmi', 'busybox:1.36']);
  const client = await connectEtcd({ endpoints: etcd.endpoints });
  await client.delete().prefix('/services/hello/').exec();
  client.close();
});

const prefix = join(work, 'prefix');
let env: NodeJS.ProcessEnv = {};
let up = false;

/** Runs a guide script with sh -e -x in `cwd`. */
function sh(script: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('sh', ['-e', '-x', '-c', script], { cwd, env, encoding: 'utf8', timeout: 90_000, maxBuffer: 8 << 20 }, (e, stdout, stderr) =>
      done({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr }));
  });
}
const hostsFile = join(work, 'hosts');
const stateDir = join(work, 'state');

t.test('one machine, no fleet: the guide as written ends with the example running, announced and in the hosts file', async (t) => {
  const blocks = guideBlocks('One machine, no fleet');
  t.equal(blocks.length, 3, 'install, describe, load and check');
  t.match(blocks[0], `npm install -g ./fleetkit-${VERSION}.tgz`, 'the guide installs the tarball npm pack makes of this version');
  const script = adapt(blocks.join('\n'), [
    [/^npm pack$/m, `npm pack ${ROOT}`],
    ['http://127.0.0.1:2379', etcd.clientUrl],
    ['/usr/local/bin/fleetkit', join(prefix, 'bin/fleetkit')],
    ['/run/fleetkit', stateDir],
    ['/etc/hosts', hostsFile],
    ['fleetkit load cluster.yaml --systemd', `fleetkit load cluster.yaml --systemd --user --unit-dir ${sdEnv['SYSTEMD_UNIT_DIR']} --journal-dir ${sdEnv['SYSTEMD_JOURNAL_DIR']}`],
    ['fleetkit status cluster.yaml --systemd', 'fleetkit status cluster.yaml --systemd --user'],
  ]);
  // What a machine has before the guide starts: a hosts file, and busybox:1.36 (pulled, on a real machine).
  await writeFile(hostsFile, '127.0.0.1 localhost\n');
  const tagged = await docker.docker(['tag', docker.busyboxImage, 'busybox:1.36']);
  t.equal(tagged.code, 0, tagged.stderr);

  env = {
    PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`,
    HOME: work,
    ...managerEnv,
    npm_config_prefix: prefix,
    npm_config_cache: join(work, 'npm-cache'),
    npm_config_offline: 'true',
    npm_config_ignore_scripts: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
    NO_COLOR: '1',
  };
  const started = Date.now();
  const r = await sh(script, work);
  t.comment(`the guide took ${Date.now() - started} ms`);
  t.equal(r.code, 0, 'every command of the guide exits 0');
  if (r.code !== 0) t.comment(`the last commands run (the last one failed):\n${r.stderr.split('\n').filter((l) => l.startsWith('+ ')).slice(-3).join('\n')}\n${r.stdout}\n${r.stderr.slice(-3000)}`);
  t.match(r.stdout, /^load: 8 created, 0 replaced, 0 unchanged, 0 failed$/m, 'two templates, two instances, two sidekicks, the agent and the hosts watcher');
  t.match(r.stdout, /^everything agrees$/m, 'status: every instance running, announced and in the hosts file');

  // The world agrees with what the guide printed.
  const ips = new Map<string, string>();
  for (const c of CONTAINERS) {
    const ip = await docker.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', c]);
    t.equal(ip.code, 0, ip.stderr);
    ips.set(c, ip.stdout.trim());
  }
  for (const c of CONTAINERS) t.match(r.stdout, new RegExp(`^${ips.get(c)!.replaceAll('.', '\\.')} ${c} ${c}\\.hello$`, 'm'), `grep shows ${c} at its container's address`);
  const hosts = await readFile(hostsFile, 'utf8');
  t.ok(hosts.startsWith('127.0.0.1 localhost\n'), 'the hosts file keeps its own lines');
  const client = await connectEtcd({ endpoints: etcd.endpoints });
  t.teardown(() => client.close());
  for (const [i, c] of CONTAINERS.entries()) {
    const rec = JSON.parse((await client.get(`/services/hello/hello/${i + 1}`).string()) ?? 'null') as { ip?: string; port?: number } | null;
    t.match(rec, { ip: ips.get(c), port: 8080 }, `etcd: /services/hello/hello/${i + 1} announces ${c}`);
  }
  for (const u of ['hello@1.service', 'hello@2.service', 'fleetkit-agent-hello.service', 'fleetkit-hosts-hello.service']) {
    t.equal((await systemctl(['is-active', u])).stdout.trim(), 'active', `${u} active`);
  }
  up = t.passing();
  // And it serves: the page each instance wrote, fetched at its announced address.
  await waitFor(async () => (await fetch(`http://${ips.get('hello-1')}:8080/`).then((x) => x.text(), () => '')).startsWith('hello from'), { what: 'hello-1 answers', timeoutMs: 5000 })
    .then(() => t.pass('hello-1 answers on its announced address'), (e: Error) => t.fail(e.message));
});

t.test('upgrading fleetkit on the live cluster: no announcement and no hosts line is lost, the leases are kept', async (t) => {
  if (!up) return void t.fail('not run: the one-machine cluster did not come up');
  const [block] = guideBlocks('Upgrading fleetkit on a live cluster');
  t.ok(block, 'the guide has the upgrade commands');
  const script = adapt(block!, [
    ['systemctl restart', 'systemctl --user restart'],
    ['fleetkit status cluster.yaml --systemd', 'fleetkit status cluster.yaml --systemd --user'],
  ]);
  const client = await connectEtcd({ endpoints: etcd.endpoints });
  t.teardown(() => client.close());
  const leases = async (): Promise<string[]> => {
    const r = await client.getAll().prefix('/services/hello/').exec();
    return r.kvs.map((kv) => `${kv.key.toString()} ${kv.lease}`).sort();
  };
  const before = await leases();
  t.equal(before.length, 2, 'both instances announced before');
  // Every change under the prefix while the guide runs, and every version of the hosts file.
  const deletes: string[] = [];
  const watcher = await client.watch().prefix('/services/hello/').create();
  watcher.on('delete', (kv) => deletes.push(kv.key.toString()));
  const lost: string[] = [];
  const check = (): void => {
    const text = readFileSync(hostsFile, 'utf8');
    for (const c of CONTAINERS) if (!new RegExp(` ${c} ${c}\\.hello$`, 'm').test(text)) lost.push(`${c} missing from a version of the hosts file`);
  };
  const fsw = watch(dirname(hostsFile), () => check());
  const pid = async (u: string): Promise<string> => (await systemctl(['show', '-P', 'MainPID', u])).stdout.trim();
  const pids = [await pid('fleetkit-agent-hello.service'), await pid('fleetkit-hosts-hello.service')];
  const r = await sh(script, join(work, 'hello'));
  check();
  fsw.close();
  await watcher.cancel();
  t.equal(r.code, 0, 'every command of the upgrade exits 0');
  if (r.code !== 0) t.comment(`${r.stdout}\n${r.stderr.slice(-3000)}`);
  t.match(r.stdout, /^everything agrees$/m, 'status after the upgrade: everything agrees');
  t.not(await pid('fleetkit-agent-hello.service'), pids[0], 'the agent was restarted (a new process)');
  t.not(await pid('fleetkit-hosts-hello.service'), pids[1], 'the hosts watcher was restarted');
  t.same(deletes, [], 'no announcement was withdrawn, not even for a moment');
  t.same(await leases(), before, 'each key is held by the same lease: the new agent took them over');
  t.same(lost, [], 'every version of the hosts file listed both instances');
});
