/**
 * Flannel: the agent announces a container's address only when it lies on this host's flannel subnet
 * (from a real subnet.env file), refuses it with a `<3>` line otherwise, and announces host-network
 * containers with the host's address.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { etcdReader, inProcessAgent, runHttpContainer, tempDir, uniqueName } from './fixtures/fixture.js';
import { readHosts, startWatcher } from '../hosts/fixture.js';

t.test('subnet.env decides which addresses may be announced', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const dir = await tempDir(t, 'flannel');
  const name = uniqueName('fl');
  await runHttpContainer(t, docker, name);
  const ip = (await docker.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name])).stdout.trim();
  const [a, b, c] = ip.split('.');

  // A subnet that does not hold the container's address: refused, nothing announced.
  const wrong = join(dir, 'wrong.env');
  await writeFile(wrong, 'FLANNEL_NETWORK=10.99.0.0/16\nFLANNEL_SUBNET=10.99.42.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n');
  const refusing = await inProcessAgent(t, etcd, docker, { flannelEnv: wrong });
  const key1 = `${refusing.prefix}/c/fl/1`;
  await refusing.agent.register({ key: key1, container: name, ttl: 10 });
  await waitFor(() => refusing.agent.stateOf(key1) === 'refused', { what: 'refused', timeoutMs: 15_000 });
  const line = refusing.lines.find((l) => l.startsWith('<3>refusing to announce'));
  t.match(line, `<3>refusing to announce ${key1}: container ${name}: its address ${ip} is outside this host's flannel subnet 10.99.42.1/24`);
  t.equal(await reader.get(key1).string(), null, 'nothing announced');

  // The container's own subnet: announced with that address.
  const right = join(dir, 'right.env');
  await writeFile(right, `FLANNEL_NETWORK=${a}.${b}.0.0/16\nFLANNEL_SUBNET=${a}.${b}.${c}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
  const ok = await inProcessAgent(t, etcd, docker, { flannelEnv: right });
  const key2 = `${ok.prefix}/c/fl/1`;
  await ok.agent.register({ key: key2, container: name, ttl: 10 });
  const value = await waitFor(() => reader.get(key2).string(), { what: 'announced on the flannel subnet', timeoutMs: 15_000 });
  t.equal(JSON.parse(value).ip, ip);
  t.notOk(ok.lines.some((l) => l.startsWith('<3>')), 'no error lines');
});

t.test('host-network containers announce the host address', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const name = uniqueName('hostnet');
  const r = await docker.docker(['run', '-d', '--init', '--network', 'host', '--name', name, docker.busyboxImage, 'sleep', '300']);
  t.equal(r.code, 0, r.stderr);
  t.teardown(async () => void (await docker.docker(['rm', '-f', name])));
  const { agent, prefix } = await inProcessAgent(t, etcd, docker, { ip: '192.0.2.10' });
  const key = `${prefix}/c/h/1`;
  await agent.register({ key, container: name, port: 9000, ttl: 10 });
  const value = JSON.parse(await waitFor(() => reader.get(key).string(), { what: 'host-network announcement', timeoutMs: 10_000 }));
  t.match(value, { ip: '192.0.2.10', hostIP: '192.0.2.10', port: 9000, hostname: name.replace(/[^A-Za-z0-9-]/g, '') });
});

t.test('a non-default flannel.prefix: the agent finds its lease there, and the watcher checks against it', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const dir = await tempDir(t, 'flannel-prefix');
  const name = uniqueName('fp');
  await runHttpContainer(t, docker, name);
  const ip = (await docker.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name])).stdout.trim();
  const [a, b, c] = ip.split('.');
  // flanneld -etcd-prefix=/<unique>/network: config and this host's lease live there, not under /coreos.com.
  const flannelPrefix = `/${uniqueName('net')}/network`;
  await reader.put(`${flannelPrefix}/config`).value(JSON.stringify({ Network: `${a}.${b}.0.0/16`, Backend: { Type: 'vxlan' } }));
  await reader.put(`${flannelPrefix}/subnets/${a}.${b}.${c}.0-24`).value(JSON.stringify({ PublicIP: '192.0.2.77', BackendType: 'vxlan' }));
  const env = join(dir, 'subnet.env');
  await writeFile(env, `FLANNEL_NETWORK=${a}.${b}.0.0/16\nFLANNEL_SUBNET=${a}.${b}.${c}.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`);
  const { agent, prefix } = await inProcessAgent(t, etcd, docker, { flannelEnv: env, flannelPrefix });
  const key = `${prefix}/fp/web/1`;
  await agent.register({ key, container: name, port: 8080, ttl: 10, hostname: 'web-1' });
  const value = JSON.parse(await waitFor(() => reader.get(key).string(), { what: 'announced', timeoutMs: 15_000 }));
  t.match(value, { ip, hostIP: '192.0.2.77' }, 'hostIP is the PublicIP of the lease under the non-default prefix');

  // The watcher, told the same prefix, finds that lease and writes the entry.
  const out = join(dir, 'hosts');
  const w = await startWatcher(t, etcd.endpoints, { cluster: 'fp', out, prefix, layout: { announcements: `${prefix}/fp/`, flannel: flannelPrefix } });
  await waitFor(async () => (await readHosts(out, 'fp'))?.get('web-1') === ip, { what: `the entry in the hosts file (${w.logs.join(' | ')})` });
});
