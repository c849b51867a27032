/**
 * doctor's etcd checks against real etcd failures: etcd killed, a member without the v2 API fleet needs,
 * TLS with a foreign CA or without a client certificate (certificates made by openssl), auth with a wrong
 * password or without permission on the prefix. What etcd-based checks say when etcd is gone: unknown.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { doctor, makeCert, ownEtcd, tempDir } from './fixture.js';

const run = promisify(execFile);

t.test('etcd killed: etcd fails, the checks that need it are unknown, exit 1', async (t) => {
  const dir = await tempDir(t, 'down');
  const etcd = await ownEtcd(t, dir, { extra: ['--enable-v2=true'] });
  const env = join(dir, 'subnet.env');
  await writeFile(env, 'FLANNEL_NETWORK=10.77.0.0/16\nFLANNEL_SUBNET=10.77.42.1/24\n');
  const args = ['--etcd', etcd.url, '--flannel-env', env, '--json', '--check', 'etcd,etcd-v2,flannel,clock'];
  const up = await doctor(args);
  t.match(up.byCheck.get('etcd'), { status: 'ok' });
  t.match(up.byCheck.get('etcd-v2'), { status: 'ok' });
  t.match(up.byCheck.get('clock'), { status: 'ok' });
  t.match(up.byCheck.get('flannel'), { status: 'fail', message: /has no lease/ }, 'no flanneld here: the lease is missing');

  // Two endpoints, one of them closed: etcd works, but not everywhere, and doctor says which.
  const { freePort } = await import('../env/parts.js');
  const closed = `http://127.0.0.1:${await freePort()}`;
  const half = await doctor(['--etcd', `${etcd.url},${closed}`, '--json', '--check', 'etcd,clock']);
  t.equal(half.code, 1);
  t.match(half.byCheck.get('etcd'), { status: 'fail', message: new RegExp(`^etcd 3\\.\\d+\\.\\d+ answers at ${etcd.url}, but not everywhere: ${closed}: connection refused \\(nothing listens there\\)$`) });
  t.match(half.byCheck.get('clock'), { status: 'ok' }, 'the clock is read from the member that answers');

  await etcd.kill();
  const down = await doctor(args);
  t.equal(down.code, 1);
  t.match(down.byCheck.get('etcd'), { status: 'fail', message: `etcd does not answer: ${etcd.url}: connection refused (nothing listens there)`, hint: /is etcd running there\?/ });
  for (const c of ['etcd-v2', 'flannel', 'clock']) {
    t.match(down.byCheck.get(c), { status: 'unknown', message: 'etcd did not answer (see the etcd check)' }, `${c} is unknown, not ok`);
  }
  const text = await doctor(args.filter((a) => a !== '--json'));
  t.match(text.stdout, /^FAIL +etcd +etcd does not answer: .*\n +hint: is etcd running there\?/m);
  t.match(text.stdout, /^UNKNOWN +clock +etcd did not answer/m);
  t.match(text.stdout, /doctor: 0 ok, 1 failed, 3 unknown, 0 skipped\n$/);
});

t.test('a member without --enable-v2: fleet cannot use it', async (t) => {
  const dir = await tempDir(t, 'nov2');
  const etcd = await ownEtcd(t, dir);
  const r = await doctor(['--etcd', etcd.url, '--json', '--check', 'etcd,etcd-v2']);
  t.equal(r.code, 1);
  t.match(r.byCheck.get('etcd'), { status: 'ok' });
  t.match(r.byCheck.get('etcd-v2'), {
    status: 'fail',
    message: new RegExp(`etcd 3\\.\\d+\\.\\d+ at ${etcd.url} does not serve the v2 API that fleet needs \\(GET /v2/keys/ answered 404\\)`),
    hint: /--enable-v2=true/,
  });
  const noFleet = await doctor(['--etcd', etcd.url, '--json', '--check', 'etcd-v2,fleet', '--systemd']);
  t.equal(noFleet.code, 0, 'a cluster without fleet does not need v2');
  t.match(noFleet.byCheck.get('etcd-v2'), { status: 'skip', message: 'the cluster runs without fleet (--systemd)' });
  t.match(noFleet.byCheck.get('fleet'), { status: 'skip' });
});

t.test('TLS: the cluster\'s files pass; a foreign CA, or no client certificate, fail', async (t) => {
  const dir = await tempDir(t, 'tls');
  const pki = makeCert(dir, 'cluster');
  const other = makeCert(dir, 'other');
  const etcd = await ownEtcd(t, dir, { https: pki, extra: ['--enable-v2=true'] });
  const spec = async (tls: string): Promise<string> => {
    const path = join(dir, `cluster-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(path, `name: tls\nx-fleetkit:\n  etcd: { endpoints: [${etcd.url}], tls: ${tls} }\nservices: { web: { image: local/busybox:latest } }\n`);
    return path;
  };
  const good = await doctor([await spec(`{ ca: ${pki.ca}, cert: ${pki.cert}, key: ${pki.key} }`), '--json', '--check', 'etcd,etcd-v2,clock']);
  t.equal(good.code, 0, good.stdout);
  t.match(good.byCheck.get('etcd'), { status: 'ok', message: /answers at https:\/\/127\.0\.0\.1:\d+ \(TLS on, auth off\)/ });
  t.match(good.byCheck.get('etcd-v2'), { status: 'ok' }, 'the v2 request goes over the same TLS');

  const foreign = await doctor([await spec(`{ ca: ${other.ca}, cert: ${other.cert}, key: ${other.key} }`), '--json', '--check', 'etcd']);
  t.equal(foreign.code, 1);
  t.match(foreign.byCheck.get('etcd'), { status: 'fail', message: `etcd does not answer: ${etcd.url}: its certificate is not signed by the given CA`, hint: /etcd\.tls\.ca must be the CA that signed the members' certificates/ });

  const anonymous = await doctor([await spec(`{ ca: ${pki.ca} }`), '--json', '--check', 'etcd']);
  t.equal(anonymous.code, 1);
  t.match(anonymous.byCheck.get('etcd'), { status: 'fail', message: `etcd does not answer: ${etcd.url}: it refused this client's certificate, or the lack of one (TLS alert "bad certificate")`, hint: /etcd\.tls\.cert\/key a client certificate of that CA/ }, 'etcd asks for a client certificate and gets none');
});

t.test('auth: a wrong password, a user without permission on the prefix', async (t) => {
  const dir = await tempDir(t, 'auth');
  const etcd = await ownEtcd(t, dir, { extra: ['--enable-v2=true'] });
  const ctl = (...args: string[]) => run('etcdctl', ['--endpoints', etcd.url, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
  await ctl('user', 'add', 'root', '--new-user-password=rootpw');
  await ctl('user', 'grant-role', 'root', 'root');
  await ctl('role', 'add', 'other');
  await ctl('role', 'grant-permission', 'other', '--prefix=true', 'readwrite', '/elsewhere/');
  await ctl('user', 'add', 'agent', '--new-user-password=agentpw');
  await ctl('user', 'grant-role', 'agent', 'other');
  await ctl('auth', 'enable');
  const pw = async (name: string, text: string): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, `${text}\n`, { mode: 0o600 });
    return path;
  };
  const args = (user: string, file: string): string[] => ['--etcd', etcd.url, '--etcd-prefix', '/services', '--etcd-user', user, '--etcd-password-file', file, '--json', '--check', 'etcd'];
  const right = await doctor(args('root', await pw('root.pw', 'rootpw')));
  t.match(right.byCheck.get('etcd'), { status: 'ok', message: /auth as root\); \/services is readable/ });
  const wrong = await doctor(args('root', await pw('wrong.pw', 'nope')));
  t.equal(wrong.code, 1);
  t.match(wrong.byCheck.get('etcd'), { status: 'fail', message: /a read of \/services through the v3 API failed: .*authentication failed/, hint: /check etcd\.auth\.user and etcd\.auth\.passwordFile/ });
  const denied = await doctor(args('agent', await pw('agent.pw', 'agentpw')));
  t.match(denied.byCheck.get('etcd'), { status: 'fail', message: /permission denied/, hint: /may read \/services/ });
});
