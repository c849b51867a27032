/**
 * doctor's host checks against real failures: a Docker engine stopped (its socket gone), silent listeners in
 * place of etcd, dockerd, fleet and the agent (each check ends at --timeout and names what was silent), a
 * hosts file on a read-only mount, a symlink, a missing directory; and with shims only where a real
 * failure cannot be had here: an old systemd or docker (PATH shims printing their `--version` as those
 * releases did), an old engine (a socket answering /version as Docker 17.09 does), and a skewed clock
 * (libfaketime, Debian's `faketime`, under the real bundle).
 */
import t from 'tap';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { dockerPart, etcdPart } from '../env/parts.js';
import { doctor, doctorProcess, tempDir } from './fixture.js';

/** A listener that accepts and never answers; closed (with its connections) when `t` ends. */
async function silent(t: { teardown(fn: () => unknown): void }, where: string | 0): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => void sockets.add(s));
  await new Promise<void>((r) => server.listen(where === 0 ? { port: 0, host: '127.0.0.1' } : where, r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const a = server.address();
  return typeof a === 'string' ? a : `127.0.0.1:${a!.port}`;
}

/** An executable script `name` in `dir` that prints `text`. */
async function shim(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\nprintf '%s\\n' '${text.replace(/'/g, '')}'\n`);
  await chmod(path, 0o755);
  return path;
}

t.test('an old systemd and an old docker (PATH shims), an old engine (a socket answering as 17.09)', async (t) => {
  const docker = await dockerPart(t);
  const dir = await tempDir(t, 'shims');
  // systemctl --version of Container Linux 1235 (systemd 231); docker --version of Docker 1.11 and 17.09.
  await shim(dir, 'systemctl', 'systemd 231\n+PAM +AUDIT +SELINUX +IMA -APPARMOR +SMACK -SYSVINIT +UTMP +LIBCRYPTSETUP +GCRYPT -GNUTLS -ACL +XZ -LZ4 +SECCOMP +BLKID -ELFUTILS +KMOD -IDN');
  const docker111 = await shim(dir, 'docker-1.11', 'Docker version 1.11.2, build b9f10c9');
  const docker1709 = await shim(dir, 'docker-17.09', 'Docker version 17.09.1-ce, build 19e2cf6');
  const env = { PATH: `${dir}:${process.env['PATH']}` };
  const base = ['--json', '--docker-host', docker.dockerHost, '--check', 'systemd,docker'];

  let r = await doctor(base, env);
  t.equal(r.code, 1);
  t.match(r.byCheck.get('systemd'), { status: 'fail', message: 'systemd 231 is older than 252, which target current needs', hint: /upgrade the host's OS/ });
  t.match(r.byCheck.get('docker'), { status: 'ok' }, 'the real docker CLI and engine, 20.10');

  r = await doctor([...base, '--target', 'legacy', '--docker', docker111], env);
  t.match(r.byCheck.get('systemd'), { status: 'ok', message: 'systemd 231 (≥ 231, target legacy)' });
  t.match(r.byCheck.get('docker'), { status: 'fail', message: `the docker CLI ${docker111} is 1.11, older than 1.12, which target legacy needs` });

  r = await doctor([...base, '--docker', docker1709], env);
  t.match(r.byCheck.get('docker'), { status: 'fail', message: `the docker CLI ${docker1709} is 17.09, older than 20.10, which target current needs` });

  // A legacy cluster whose x-systemd asks for Upholds= (systemd 249): 231 is not enough for its units.
  const spec = join(dir, 'cluster.yaml');
  await writeFile(spec, `name: old
x-fleetkit: { target: legacy }
services:
  web:
    image: local/busybox:latest
    x-systemd: { Unit: { Upholds: [other.service] } }
`);
  r = await doctor([spec, ...base], env);
  t.match(r.byCheck.get('systemd'), { status: 'fail', message: 'systemd 231 is older than 249, which Upholds= in web@.service needs' });

  // An engine that answers its API as Docker 17.09 does.
  const sock = join(dir, 'old-engine.sock');
  const old = createHttpServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(req.url === '/version' ? JSON.stringify({ Version: '17.09.1-ce', ApiVersion: '1.32', MinAPIVersion: '1.12' }) : '{}');
  });
  await new Promise<void>((ok) => old.listen(sock, ok));
  t.teardown(() => void old.close());
  r = await doctor(['--json', '--docker-host', `unix://${sock}`, '--check', 'docker,docker-socket']);
  t.match(r.byCheck.get('docker-socket'), { status: 'ok', message: `the Docker engine 17.09.1-ce answers on unix://${sock}` });
  t.match(r.byCheck.get('docker'), { status: 'fail', message: 'the Docker engine is 17.09.1-ce, older than 20.10, which target current needs' });
});

t.test('a Docker engine stopped: its socket is gone', async (t) => {
  const engine = await dockerPart(t, { private: true });
  const args = ['--json', '--docker-host', engine.dockerHost, '--check', 'docker-socket,docker'];
  const up = await doctor(args);
  t.equal(up.code, 0, up.stdout);
  await engine.stop();
  const r = await doctor(args);
  t.equal(r.code, 1);
  t.match(r.byCheck.get('docker-socket'), { status: 'fail', message: `the Docker engine at ${engine.dockerHost}: no such socket`, hint: /is dockerd running\?/ });
  t.match(r.byCheck.get('docker'), { status: 'unknown', message: /the engine's version is unknown: its socket does not answer/ });
  // DOCKER_HOST is where doctor looks when neither the spec nor --docker-host says.
  const viaEnv = await doctor(['--json', '--check', 'docker-socket'], { DOCKER_HOST: engine.dockerHost });
  t.match(viaEnv.byCheck.get('docker-socket'), { status: 'fail', message: new RegExp(`at ${engine.dockerHost}:`) });
});

t.test('silent listeners in place of etcd, dockerd, fleet and the agent: each check ends at --timeout', async (t) => {
  const dir = await tempDir(t, 'silent');
  const etcd = await silent(t, 0);
  const fleet = await silent(t, 0);
  const dockerSock = await silent(t, join(dir, 'docker.sock'));
  await mkdir(join(dir, 'state'));
  await silent(t, join(dir, 'state', 'agent.sock'));
  const r = await doctor(['--json', '--timeout', '1s', '--etcd', `http://${etcd}`, '--endpoint', `http://${fleet}`, '--docker-host', `unix://${dockerSock}`,
    '--state-dir', join(dir, 'state'), '--check', 'etcd,clock,fleet,docker-socket,agent']);
  t.equal(r.code, 1);
  t.match(r.byCheck.get('etcd'), { status: 'fail', message: `etcd does not answer: http://${etcd}: no answer within 1000 ms` });
  t.match(r.byCheck.get('clock'), { status: 'unknown', message: 'etcd did not answer (see the etcd check)' });
  t.match(r.byCheck.get('fleet'), { status: 'fail', message: /fleet .*did not answer .*within 1000 ms/ });
  t.match(r.byCheck.get('docker-socket'), { status: 'fail', message: `the Docker engine at unix://${dockerSock}: no answer within 1000 ms` });
  t.match(r.byCheck.get('agent'), { status: 'fail', message: /the fleetkit agent at .*agent\.sock did not answer within 1 s/ });
  for (const c of ['etcd', 'fleet', 'docker-socket', 'agent']) {
    const ms = r.byCheck.get(c)!.ms;
    t.ok(ms >= 900, `${c} waited for its deadline (${ms} ms)`);
  }
});

t.test('the hosts file: a read-only mount, a symlink, a missing directory, in place', async (t) => {
  const dir = await tempDir(t, 'hosts');
  const ro = join(dir, 'ro');
  await mkdir(ro);
  // A tmpfs with the hosts file on it, then made read-only, in a mount namespace of doctor's alone.
  const mount = `mount -t tmpfs -o size=64k fleetkit-doctor ${ro} && echo '127.0.0.1 localhost' > ${ro}/hosts && mount -o remount,ro ${ro} && exec "$@"`;
  const wrap = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', mount, 'sh'];
  let r = await doctorProcess(['--json', '--check', 'hosts-file', '--hosts-file', join(ro, 'hosts')], wrap);
  t.equal(r.code, 1, r.stderr);
  t.match(r.byCheck.get('hosts-file'), { status: 'fail', message: `${ro}/hosts cannot be replaced: its directory ${ro}: read-only file system (EROFS)`, hint: /make .* writable/ });
  r = await doctorProcess(['--json', '--check', 'hosts-file', '--hosts-file', join(ro, 'hosts'), '--keep-inode'], wrap);
  t.match(r.byCheck.get('hosts-file'), { status: 'fail', message: `${ro}/hosts cannot be written in place: read-only file system (EROFS)` });

  // A hosts file bind-mounted read-only over another (as Docker mounts a container's /etc/hosts): the
  // writer cannot rename over a mount point and writes in place, which the read-only mount refuses.
  const bound = join(dir, 'bound-hosts');
  await writeFile(bound, '127.0.0.1 localhost\n');
  await writeFile(join(dir, 'source-hosts'), '127.0.0.1 localhost\n');
  const bind = `mount --bind ${dir}/source-hosts ${bound} && mount -o remount,ro,bind ${bound} && exec "$@"`;
  r = await doctorProcess(['--json', '--check', 'hosts-file', '--hosts-file', bound], ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', bind, 'sh']);
  t.match(r.byCheck.get('hosts-file'), { status: 'fail', message: `${bound} cannot be written in place: read-only file system (EROFS)` }, r.stderr);
  r = await doctor(['--json', '--check', 'hosts-file', '--hosts-file', bound]);
  t.match(r.byCheck.get('hosts-file'), { status: 'ok', message: /can be replaced/ }, 'outside that namespace it is a plain file');

  await writeFile(join(dir, 'real-hosts'), '127.0.0.1 localhost\n');
  await symlink(join(dir, 'real-hosts'), join(dir, 'hosts'));
  r = await doctor(['--json', '--check', 'hosts-file', '--hosts-file', join(dir, 'hosts')]);
  t.match(r.byCheck.get('hosts-file'), { status: 'fail', message: `${dir}/hosts is a symbolic link, and watch-hosts does not write through a link` });
  r = await doctor(['--json', '--check', 'hosts-file', '--hosts-file', join(dir, 'nowhere', 'hosts')]);
  t.match(r.byCheck.get('hosts-file'), { status: 'fail', message: `the directory ${dir}/nowhere of the hosts file: does not exist (ENOENT)` });
  r = await doctor(['--json', '--check', 'hosts-file', '--hosts-file', join(dir, 'real-hosts'), '--keep-inode']);
  t.match(r.byCheck.get('hosts-file'), { status: 'ok', message: `${dir}/real-hosts is writable in place (hosts.keepInode)` });
});

t.test('a skewed clock (faketime): 30 s ahead and 5 s behind fail, in step passes', async (t) => {
  const etcd = await etcdPart(t);
  const args = ['--json', '--etcd', etcd.clientUrl, '--check', 'clock'];
  let r = await doctorProcess(args, ['faketime', '-f', '+30s']);
  t.equal(r.code, 1, r.stderr);
  t.match(r.byCheck.get('clock'), { status: 'fail', message: new RegExp(`^this host's clock is (29\\.9\\d*|30(\\.0\\d*)?) s ± \\d+ ms ahead of etcd's \\(${etcd.clientUrl}\\); more than 1 s$`), hint: /chrony|timesyncd/ });
  r = await doctorProcess(args, ['faketime', '-f', '-5s']);
  t.match(r.byCheck.get('clock'), { status: 'fail', message: /clock is (4\.9\d*|5(\.0\d*)?) s ± \d+ ms behind etcd's/ });
  r = await doctorProcess([...args, '--max-clock-skew', '10s'], ['faketime', '-f', '-5s']);
  t.match(r.byCheck.get('clock'), { status: 'ok', message: /behind by (4\.9\d*|5(\.0\d*)?) s ± \d+ ms, within 10 s/ }, '--max-clock-skew sets the threshold');
  r = await doctorProcess(args);
  t.match(r.byCheck.get('clock'), { status: 'ok' });
});
