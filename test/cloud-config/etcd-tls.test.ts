// TLS that fits together: a cluster whose etcd.endpoints are https gets etcd members that serve clients and
// peers over TLS with the spec's files. The generated member settings run on real etcd with a CA and a
// certificate this test makes (openssl); fleetkit's own client connects with the same files, flannel's config
// command (etcdctl, same CA) writes through it, and a client without a certificate of that CA is refused.
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '../env/parts.js';
import { parseSpec } from '../../src/cluster/load.js';
import { planMachine } from '../../src/cloud-config/plan.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { parseUnit } from '../../src/unit/parse.js';
import { parseExecLine } from '../../src/unit/parse-command-line.js';
import { valuesOf } from '../../src/unit/model.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetkit-etcd-tls-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function openssl(...args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** A CA and a certificate for 127.0.0.1 usable by servers and clients (etcd members and fleet share one). */
const EXT = 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n';
function makeCert(name: string): { ca: string; cert: string; key: string } {
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name} CA`, '-keyout', `${name}-ca-key.pem`, '-out', `${name}-ca.pem`);
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name} member`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), EXT);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.pem`, '-CAkey', `${name}-ca-key.pem`, '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
  return { ca: join(dir, `${name}-ca.pem`), cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) };
}

t.test('the generated https member on real etcd, reached with the spec\'s files', async (t) => {
  const pki = makeCert('cluster');
  const other = makeCert('other');
  const [client, peer] = [await freePort(), await freePort()];
  const url = `https://127.0.0.1:${client}`;
  const spec = parseSpec(`name: tls
etcd: { endpoints: [${url}], tls: { ca: ${pki.ca}, cert: ${pki.cert}, key: ${pki.key} } }
flannel: { network: 10.8.0.0/16 }
roles: { etcd: { etcd: true } }
services: { web: { image: local/busybox:latest } }
`, 'cluster.yaml');
  t.throws(() => planMachine(spec, { target: 'container-linux', role: 'etcd', etcdName: 'm1', initialCluster: `m1=http://127.0.0.1:${peer}`, fleetkitUnits: [] }),
    { message: /--initial-cluster must use https:\/\/ peer URLs/ }, 'plain-http peers are refused for an https cluster');
  const plan = planMachine(spec, { target: 'container-linux', role: 'etcd', etcdName: 'm1', initialCluster: `m1=https://127.0.0.1:${peer}`, ip: '127.0.0.1', fleetkitUnits: [] });
  const dropIn = plan.units.find((u) => u.name === 'etcd-member.service')!.dropIns[0]!;
  const env = Object.fromEntries(valuesOf(parseUnit('20-fleetkit.conf', dropIn.contents), 'Service', 'Environment').map((line) => {
    const text = line.startsWith('"') ? (JSON.parse(line) as string) : line;
    return [text.slice(0, text.indexOf('=')), text.slice(text.indexOf('=') + 1)];
  }));
  t.equal(env['ETCD_CERT_FILE'], pki.cert);
  t.equal(env['ETCD_PEER_TRUSTED_CA_FILE'], pki.ca);
  delete env['ETCD_IMAGE_TAG'];
  // Only the addresses move (loopback, free ports) and the data dir; the TLS settings run as generated.
  Object.assign(env, {
    ETCD_DATA_DIR: join(dir, 'data'),
    ETCD_LISTEN_CLIENT_URLS: url,
    ETCD_ADVERTISE_CLIENT_URLS: url,
    ETCD_LISTEN_PEER_URLS: `https://127.0.0.1:${peer}`,
    ETCD_INITIAL_ADVERTISE_PEER_URLS: `https://127.0.0.1:${peer}`,
  });
  t.match(env['ETCD_LISTEN_CLIENT_URLS'], /^https:/);
  const etcd = spawn('/usr/bin/etcd', [], { env: { PATH: process.env['PATH'], ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  etcd.stderr.on('data', (d: Buffer) => void (log = (log + d.toString()).slice(-4000)));
  t.teardown(() => void etcd.kill('SIGKILL'));
  t.teardown(() => (t.passing() ? undefined : t.comment(log)));

  // fleetkit's client, with the spec's files.
  const ok = await connectEtcd({ endpoints: [url], tls: spec.etcd.tls });
  t.teardown(() => ok.close());
  await waitFor(async () => ok.put('/fk-tls/probe').value('1').then(() => true, () => false), { what: 'fleetkit\'s client writes over TLS', timeoutMs: 30_000 });
  t.equal(await ok.get('/fk-tls/probe').string(), '1', 'read back over TLS');

  // flannel's config, written by the generated command with the same CA and certificate.
  const flannel = plan.units.find((u) => u.name === 'flanneld.service')!.dropIns[0]!;
  const [pre] = valuesOf(parseUnit('50-network-config.conf', flannel.contents), 'Service', 'ExecStartPre');
  const argv = parseExecLine(pre!).argv;
  const put = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  t.equal(put.status, 0, put.stderr);
  t.match(await ok.get('/coreos.com/network/config').string(), /"Network":"10\.8\.0\.0\/16"/);

  // A client of another CA, or with no certificate, is refused.
  const stranger = await connectEtcd({ endpoints: [url], tls: other, callTimeoutMs: 3000 });
  t.teardown(() => stranger.close());
  await t.rejects(stranger.get('/fk-tls/probe').string(), 'a certificate of another CA is refused');
  const anonymous = await connectEtcd({ endpoints: [url], tls: { ca: pki.ca }, callTimeoutMs: 3000 });
  t.teardown(() => anonymous.close());
  await t.rejects(anonymous.get('/fk-tls/probe').string(), 'a client without a certificate is refused (client cert auth)');
});
