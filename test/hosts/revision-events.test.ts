/**
 * Many events in one etcd revision, against real etcd: a lease revoke deletes every key on the lease at
 * one revision, `del --prefix` and a txn do the same; each of them must reach the hosts file whole.
 */
import t from 'tap';
import { join } from 'node:path';
import { etcdPart, waitFor } from '../env/parts.js';
import { entriesOf, etcdClient, expectedFromEtcd, readHosts, record, startWatcher, tempDir, uniqueName } from './fixture.js';

t.test('lease revoke, del --prefix and a txn: every key of the revision applied', async (t) => {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const cluster = uniqueName('r');
  const prefix = `/${uniqueName('p')}`;
  const keyPrefix = `${prefix}/${cluster}/`;
  const out = join(tempDir(t), 'hosts');
  await client.put(`${keyPrefix}static/1`).value(record('static-1', '10.9.9.1'));
  const w = await startWatcher(t, etcd.endpoints, { cluster, out, prefix });
  const fileEqualsEtcd = async (what: string): Promise<void> => {
    const expected = entriesOf(await expectedFromEtcd(client, keyPrefix)).join();
    await waitFor(async () => entriesOf(await readHosts(out, cluster)).join() === expected, { what: `${what}: file equals etcd (${expected})` });
  };

  // Five keys on one lease (one agent's containers); revoking it deletes all five at one revision.
  const lease = client.lease(60, { autoKeepAlive: false });
  for (let i = 1; i <= 5; i++) await lease.put(`${keyPrefix}web/${i}`).value(record(`web-${i}`, `10.9.0.${i}`));
  await waitFor(async () => (await readHosts(out, cluster))?.size === 6, { what: 'six entries' });
  const stats0 = w.logs.length;
  await lease.revoke();
  await fileEqualsEtcd('after the revoke');
  t.same(entriesOf(await readHosts(out, cluster)), ['10.9.9.1 static-1'], 'every key of the lease left the file');
  t.ok(w.logs.slice(stats0).some((l) => /wrote .*: 1 entries/.test(l)), 'one write with the survivor');

  // del --prefix: four deletes at one revision.
  for (let i = 1; i <= 4; i++) await client.put(`${keyPrefix}db/${i}`).value(record(`db-${i}`, `10.9.1.${i}`));
  await waitFor(async () => (await readHosts(out, cluster))?.size === 5, { what: 'five entries' });
  await client.delete().prefix(`${keyPrefix}db/`);
  await fileEqualsEtcd('after del --prefix');
  t.same(entriesOf(await readHosts(out, cluster)), ['10.9.9.1 static-1']);

  // A txn: three puts and a delete at one revision.
  await client.if(`${keyPrefix}static/1`, 'Create', '>', 0)
    .then(
      client.put(`${keyPrefix}t/1`).value(record('t-1', '10.9.2.1')),
      client.put(`${keyPrefix}t/2`).value(record('t-2', '10.9.2.2')),
      client.put(`${keyPrefix}t/3`).value(record('t-3', '10.9.2.3')),
      client.delete().key(`${keyPrefix}static/1`),
    )
    .commit();
  await fileEqualsEtcd('after the txn');
  t.same(entriesOf(await readHosts(out, cluster)), ['10.9.2.1 t-1', '10.9.2.2 t-2', '10.9.2.3 t-3']);
});
