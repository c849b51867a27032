/**
 * What reaches the file, against real etcd: only records inside their host's flannel lease (leases
 * expiring and coming back), and never a hostile value (each one logged with its key).
 */
import t from 'tap';
import { join } from 'node:path';
import { etcdPart, waitFor } from '../env/parts.js';
import { entriesOf, etcdClient, readHosts, record, startWatcher, tempDir, uniqueName } from './fixture.js';

t.test('flannel leases added and expired: entries follow them', async (t) => {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const cluster = uniqueName('f');
  const prefix = `/${uniqueName('p')}`;
  const flannel = `/${uniqueName('coreos')}/network`;
  const out = join(tempDir(t), 'hosts');
  const k = (s: string): string => `${prefix}/${cluster}/${s}`;
  await client.put(k('web/1')).value(record('web-1', '10.1.42.5', { hostIP: '192.168.50.14' }));
  await client.put(k('web/2')).value(record('web-2', '10.1.7.9', { hostIP: '192.168.50.15' }));
  await client.put(k('web/3')).value(record('web-3', '10.1.99.9', { hostIP: '192.168.50.14' })); // not in its host's subnet
  await client.put(k('db/1')).value(record('db-1', 'fc00::5', { hostIP: 'fd00::15' }));
  const w = await startWatcher(t, etcd.endpoints, { cluster, out, prefix, layout: { announcements: `${prefix}/${cluster}/`, flannel } });
  const names = async (): Promise<string> => [...((await readHosts(out, cluster))?.keys() ?? [])].sort().join(',');
  await waitFor(async () => (await names()) === 'db-1,web-1,web-2,web-3', { what: 'no flannel config yet: every record counts' });

  await client.put(`${flannel}/config`).value('{"Network":"10.1.0.0/16","SubnetLen":24,"Backend":{"Type":"vxlan"}}');
  await waitFor(async () => (await names()) === '', { what: 'config but no leases: nothing counts' });
  const short = client.lease(2, { autoKeepAlive: false });
  await short.put(`${flannel}/subnets/10.1.42.0-24`).value('{"PublicIP":"192.168.50.14","PublicIPv6":null,"BackendType":"vxlan"}');
  await client.put(`${flannel}/subnets/10.1.7.0-24&fc00::-64`).value('{"PublicIP":"192.168.50.15","PublicIPv6":"fd00::15","BackendType":"vxlan"}');
  await waitFor(async () => (await names()) === 'db-1,web-1,web-2', { what: 'leases: entries inside their host subnet (dual-stack too)' });
  t.ok(w.logs.some((l) => l.includes(JSON.stringify(k('web/3'))) && /outside the subnet leased to 192\.168\.50\.14/.test(l)), 'the record outside its subnet is logged with its key');

  // The short lease expires on its own (no keepalive): web-1's entry goes.
  await waitFor(async () => (await names()) === 'db-1,web-2', { what: 'lease expired: its entries go', timeoutMs: 8000 });
  t.ok(w.logs.some((l) => l.includes(JSON.stringify(k('web/1'))) && /no flannel lease for host 192\.168\.50\.14/.test(l)), 'the record of the host without a lease is logged');
  await client.put(`${flannel}/subnets/10.1.42.0-24`).value('{"PublicIP":"192.168.50.14","BackendType":"vxlan"}');
  await waitFor(async () => (await names()) === 'db-1,web-1,web-2', { what: 'lease back: entries come back' });
});

t.test('hostile values never reach the file, and each is logged with its key', async (t) => {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const cluster = uniqueName('h');
  const prefix = `/${uniqueName('p')}`;
  const out = join(tempDir(t), 'hosts');
  const w = await startWatcher(t, etcd.endpoints, { cluster, out, prefix });
  await waitFor(() => readHosts(out, cluster), { what: 'first write' });
  const k = (s: string): string => `${prefix}/${cluster}/${s}`;
  const hostile: Array<[string, string | Buffer, RegExp]> = [
    ['json', '{"ip": "10.9.0.1", "hostname": ', /not JSON/],
    ['ip', record('evil-ip', '10.9.0.1 6.6.6.6'), /"ip"/],
    ['ip6', record('evil-ip6', 'fc00::1::2'), /"ip"/],
    ['space', record('evil one', '10.9.0.2'), /"hostname"/],
    ['newline', record('evil\n10.9.9.9 bank', '10.9.0.3'), /"hostname"/],
    ['hash', record('evil#x', '10.9.0.4'), /"hostname"/],
    ['big', Buffer.concat([Buffer.from(record('evil-big', '10.9.0.5').slice(0, -1)), Buffer.from(`,"pad":"${'x'.repeat(1 << 20)}"}`)]), /bytes, more than/],
  ];
  for (const [name, value] of hostile) await client.put(k(`x/${name}`)).value(value);
  await client.put(k('a/1')).value(record('dup-1', '10.9.1.1'));
  await client.put(k('b/1')).value(record('dup-1', '10.9.1.2')); // same hostname, higher key: loses
  await client.put(k('c/1')).value(record('good-1', '10.9.2.1'));
  await waitFor(async () => (await readHosts(out, cluster))?.has('good-1'), { what: 'the good record' });
  const text = (await import('node:fs')).readFileSync(out, 'utf8');
  t.same(entriesOf(await readHosts(out, cluster)), ['10.9.1.1 dup-1', '10.9.2.1 good-1'], 'only the good records; lowest key wins the duplicate');
  t.notMatch(text, /evil|6\.6\.6\.6|bank|10\.9\.0\./, 'nothing of a hostile value is in the file');
  for (const [name, , re] of hostile) {
    const line = w.logs.find((l) => l.startsWith(`<4>ignoring ${JSON.stringify(k(`x/${name}`))}:`));
    t.ok(line, `${name}: logged with its key`);
    t.match(line, re, `${name}: the reason`);
  }
  t.ok(w.logs.some((l) => l.startsWith(`<4>ignoring ${JSON.stringify(k('b/1'))}: duplicate hostname "dup-1"`)), 'the losing duplicate is logged');
  t.notOk(w.logs.some((l) => /\n/.test(l)), 'no log line carries a newline from a value');
  // The winner goes: the other holder of the name takes its place.
  await client.delete().key(k('a/1'));
  await waitFor(async () => (await readHosts(out, cluster))?.get('dup-1') === '10.9.1.2', { what: 'the duplicate takes over' });
});
