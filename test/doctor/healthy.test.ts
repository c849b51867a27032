/**
 * A healthy host: every check ok and exit 0, in text and in --json (one object per check, the same fields
 * in the same order every time). Then the real faults that leave etcd itself alone: the agent killed -9
 * (a stale socket), fleet's socket closed, no subnet.env, a subnet with no lease, a lease with no TTL, a
 * legacy lease looked for in the v2 keyspace, fleet behind TLS with and without a client certificate.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connectEtcd } from '../../src/etcd/connect.js';
import { CHECK_NAMES } from '../../src/doctor/doctor.js';
import { doctor, healthyHost, LEASE, makeCert } from './fixture.js';

t.test('a healthy host: every check ok, exit 0', async (t) => {
  const host = await healthyHost(t);
  const text = await doctor([host.spec, ...host.flags]);
  t.equal(text.code, 0, text.stdout + text.stderr);
  const lines = text.stdout.trimEnd().split('\n');
  t.same(lines.map((l) => l.split(/\s+/).slice(0, 2).join(' ')), [...CHECK_NAMES.map((n) => `ok ${n}`), 'doctor: 10'], 'one ok line per check, in order, then the summary');
  t.match(lines.at(-1), /^doctor: 10 ok, 0 failed, 0 unknown, 0 skipped$/);
  t.match(text.stdout, /ok +etcd +etcd 3\.\d+\.\d+ answers at http:\/\/127\.0\.0\.1:\d+ \(TLS off, auth off\)/);
  t.match(text.stdout, /ok +flannel +subnet 10\.77\.42\.0\/24 \(.*subnet\.env\) is leased in etcd \(v3 \/fk-doctor-.*\/network\/subnets\/10\.77\.42\.0-24\)/);
  t.match(text.stdout, /ok +docker +Docker CLI 20\.10, engine 20\.10\.\d+\S* \(≥ 20\.10, target current\)/);
  t.match(text.stdout, /ok +agent +the agent answers on .*agent\.sock \(0 registrations\)/);
  t.match(text.stdout, /ok +clock +in step with etcd's/);

  const json = await doctor([host.spec, ...host.flags, '--json']);
  t.equal(json.code, 0);
  const lines2 = json.stdout.trimEnd().split('\n');
  t.equal(lines2.length, CHECK_NAMES.length, 'one line per check, no summary');
  for (const line of lines2) {
    const o = JSON.parse(line) as Record<string, unknown>;
    t.same(Object.keys(o), ['check', 'status', 'message', 'hint', 'ms'], `stable fields: ${line}`);
    t.equal(o['status'], 'ok');
    t.equal(o['hint'], null);
    t.type(o['ms'], 'number');
  }
  t.same(lines2.map((l) => (JSON.parse(l) as { check: string }).check), [...CHECK_NAMES]);

  const only = await doctor([host.spec, ...host.flags, '--json', '--check', 'flannel', '--check', 'clock']);
  t.same([...only.byCheck.keys()], ['flannel', 'clock'], '--check reports only the checks asked for (etcd, which they need, runs unseen)');
  t.equal(only.code, 0);

  const bad = await doctor([host.spec, '--check', 'clocks']);
  t.equal(bad.code, 2, 'an unknown check is bad usage');
  t.match(bad.stderr, /unknown --check clocks/);
});

t.test('the agent killed -9: its stale socket refuses', async (t) => {
  const host = await healthyHost(t, { agent: false });
  // A socket file with no listener behind it, as an agent killed -9 leaves it: a process that listens on
  // the agent's socket, killed -9.
  await mkdir(host.stateDir, { recursive: true });
  const sock = join(host.stateDir, 'agent.sock');
  const child = spawn(process.execPath, ['-e', `require('net').createServer(()=>{}).listen(${JSON.stringify(sock)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => child.stdout.once('data', r));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const r = await doctor([host.spec, ...host.flags, '--json', '--check', 'agent']);
  t.equal(r.code, 1);
  const a = r.byCheck.get('agent')!;
  t.equal(a.status, 'fail');
  t.match(a.message, /no fleetkit agent answers on .*agent\.sock \(ECONNREFUSED\)/);
  t.match(a.hint, /systemctl start fleetkit-agent-CLUSTER\.service/);
});

t.test('fleet\'s socket gone, flannel without subnet.env, without a lease, with a lease that never expires', async (t) => {
  const host = await healthyHost(t, { agent: false });
  const fleetSock = host.flags[1]!.replace(/^unix:\/\//, '');
  await rm(fleetSock);
  let r = await doctor([host.spec, ...host.flags, '--json', '--check', 'fleet,flannel']);
  t.equal(r.byCheck.get('fleet')!.status, 'fail');
  t.match(r.byCheck.get('fleet')!.message, /cannot reach fleet at unix:\/\/.*fleet\.sock: no such socket/);
  t.equal(r.byCheck.get('flannel')!.status, 'ok');
  t.equal(r.code, 1);

  const missing = join(host.dir, 'no-subnet.env');
  r = await doctor([host.spec, '--endpoint', host.flags[1]!, '--flannel-env', missing, '--json', '--check', 'flannel']);
  t.equal(r.code, 1);
  t.match(r.byCheck.get('flannel'), { status: 'fail', message: `${missing} does not exist: flanneld holds no subnet on this host`, hint: /start flanneld/ });

  // subnet.env names a subnet no one leases.
  const other = join(host.dir, 'other.env');
  await writeFile(other, 'FLANNEL_NETWORK=10.77.0.0/16\nFLANNEL_SUBNET=10.77.9.1/24\n');
  r = await doctor([host.spec, '--flannel-env', other, '--json', '--check', 'flannel']);
  t.match(r.byCheck.get('flannel'), { status: 'fail', message: /the subnet 10\.77\.9\.0\/24 in .*other\.env has no lease in etcd \(v3 .*\/subnets\/10\.77\.9\.0-24\)/ });

  // A network other than the cluster's.
  const wrongNet = join(host.dir, 'wrong-net.env');
  await writeFile(wrongNet, 'FLANNEL_NETWORK=10.99.0.0/16\nFLANNEL_SUBNET=10.99.1.1/24\n');
  r = await doctor([host.spec, '--flannel-env', wrongNet, '--json', '--check', 'flannel']);
  t.match(r.byCheck.get('flannel'), { status: 'fail', message: /names the network 10\.99\.0\.0\/16, but the cluster's flannel\.network is 10\.77\.0\.0\/16/ });

  // A lease key written by hand, with no TTL: flanneld never writes one.
  const client = await connectEtcd({ endpoints: [host.etcdUrl] });
  t.teardown(() => client.close());
  await client.put(`${host.flannelPrefix}/subnets/10.77.9.0-24`).value(LEASE);
  r = await doctor([host.spec, '--flannel-env', other, '--json', '--check', 'flannel']);
  t.match(r.byCheck.get('flannel'), { status: 'fail', message: /has no TTL/ });
});

t.test('legacy flannel keeps its lease in the v2 keyspace: a v3 lease does not count', async (t) => {
  const host = await healthyHost(t, { agent: false });
  const legacy = await host.specWith({ target: 'legacy' });
  const key = `${host.flannelPrefix}/subnets/10.77.42.0-24`;
  let r = await doctor([legacy, ...host.flags, '--json', '--check', 'flannel']);
  t.match(r.byCheck.get('flannel'), { status: 'fail', message: new RegExp(`has no lease in etcd \\(v2 ${key}\\)`) }, 'the fixture\'s lease is v3: invisible to the flanneld of Container Linux');
  // What flanneld 0.x does: a v2 set with a TTL.
  const put = await fetch(`${host.etcdUrl}/v2/keys${key}`, { method: 'PUT', body: new URLSearchParams({ value: LEASE, ttl: '60' }) });
  t.equal(put.status, 201, await put.text());
  t.teardown(() => fetch(`${host.etcdUrl}/v2/keys${key}`, { method: 'DELETE' }).then(() => undefined, () => undefined));
  r = await doctor([legacy, ...host.flags, '--json', '--check', 'flannel']);
  t.match(r.byCheck.get('flannel'), { status: 'ok', message: `subnet 10.77.42.0/24 (${host.subnetEnv}) is leased in etcd (v2 ${key})` });
});

t.test('fleet over https: fleetctl\'s TLS files pass, no client certificate fails', async (t) => {
  const host = await healthyHost(t, { agent: false });
  const pki = makeCert(host.dir, 'fleet');
  const fleetSock = host.flags[1]!.replace(/^unix:\/\//, '');
  // A TLS front that asks for a client certificate of the CA, before fleet's socket.
  const front = createHttpsServer({ key: await readFile(pki.key), cert: await readFile(pki.cert), ca: await readFile(pki.ca), requestCert: true, rejectUnauthorized: true }, (req, res) => {
    const up = request({ socketPath: fleetSock, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => front.close(() => r())));
  const url = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
  let r = await doctor(['--endpoint', url, '--ca-file', pki.ca, '--cert-file', pki.cert, '--key-file', pki.key, '--json', '--check', 'fleet']);
  t.match(r.byCheck.get('fleet'), { status: 'ok', message: `fleet answers at ${url} (1 machine)` });
  r = await doctor(['--endpoint', url, '--json', '--check', 'fleet'], { FLEETCTL_CA_FILE: pki.ca });
  t.equal(r.code, 1);
  t.match(r.byCheck.get('fleet'), { status: 'fail', message: new RegExp(`TLS with fleet at ${url}`) }, 'no client certificate: refused');
});
