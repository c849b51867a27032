/**
 * The watcher under faults, against real etcd: killed and restarted mid-stream (no lost update, the file
 * never shrinks meanwhile), history compacted past the watcher's revision (full resync), and the etcd
 * behind the same address replaced by another one (revision going backwards: full resync).
 */
import t from 'tap';
import { join } from 'node:path';
import { etcdPart, waitFor } from '../env/parts.js';
import { entriesOf, etcdClient, etcdProxy, expectedFromEtcd, readHosts, record, startReaderLoop, startWatcher, tempDir, uniqueName } from './fixture.js';

t.test('etcd killed mid-stream and restarted: no lost update', async (t) => {
  const etcd = await etcdPart(t, { private: true });
  const client = await etcdClient(t, etcd.endpoints);
  const cluster = 'k';
  const prefix = '/services';
  const keyPrefix = `${prefix}/${cluster}/`;
  const out = join(tempDir(t), 'hosts');
  const w = await startWatcher(t, etcd.endpoints, { cluster, out, prefix });
  await waitFor(() => readHosts(out, cluster), { what: 'first write' });
  const reader = startReaderLoop(t, out, cluster);

  // Only puts, so the number of entries in the file must never go down: an outage that emptied or
  // truncated the file would show as a drop.
  let next = 0;
  let stopWriting = false;
  const writer = (async () => {
    while (!stopWriting) {
      const i = next;
      try {
        await client.put(`${keyPrefix}web/${i}`).value(record(`web-${i}`, `10.2.${i >> 8}.${i & 255}`));
        next++;
      } catch {
        await new Promise((r) => setTimeout(r, 20)); // etcd is down: retry the same key
      }
    }
  })();
  await waitFor(() => next >= 100, { what: '100 puts before the kill', timeoutMs: 60_000 });
  await etcd.kill();
  const atKill = next;
  await new Promise((r) => setTimeout(r, 300)); // an outage with a writer retrying against it
  const during = await readHosts(out, cluster);
  t.ok(during && during.size > 0, `file kept its content during the outage (${during?.size} entries)`);
  await etcd.start();
  await waitFor(() => next >= atKill + 100, { what: '100 puts after the restart', timeoutMs: 60_000 });
  stopWriting = true;
  await writer;
  const expected = await expectedFromEtcd(client, keyPrefix);
  t.equal(expected.size, next, 'every put is in etcd');
  await waitFor(async () => entriesOf(await readHosts(out, cluster)).join() === entriesOf(expected).join(), { what: 'file equals etcd', timeoutMs: 30_000 });
  const r = await reader.stop();
  t.equal(r.bad, 0, `no malformed read (${r.firstBad ?? 'none'})`);
  t.same(r.sizes, [...r.sizes].sort((a, b) => a - b), 'the entry count never went down (no emptied or truncated file)');
  t.ok(w.logs.some((l) => /^<4>lost the etcd watch/.test(l)), 'the outage was logged');
  // Resumed from its revision: no resync, except the one a single-member etcd 3.4 forces when kill -9 loses
  // revisions it had already applied and sent (etcd-io/etcd#14370, fixed in 3.5.5): the watcher must see
  // the revision go backwards and read everything again.
  const resync = w.logs.filter((l) => /full resync/.test(l) && !/full resync: etcd revision went backwards/.test(l));
  t.same(resync, [], 'resumed from its revision, no resync needed');
});

t.test('compaction past the watcher revision: full resync', async (t) => {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const proxy = await etcdProxy(t, etcd.clientUrl);
  const cluster = uniqueName('c');
  const prefix = `/${uniqueName('p')}`;
  const keyPrefix = `${prefix}/${cluster}/`;
  const out = join(tempDir(t), 'hosts');
  for (let i = 0; i < 5; i++) await client.put(`${keyPrefix}a/${i}`).value(record(`a-${i}`, `10.3.0.${i + 1}`));
  const w = await startWatcher(t, [proxy.url], { cluster, out, prefix });
  await waitFor(async () => (await readHosts(out, cluster))?.size === 5, { what: '5 entries' });

  proxy.cut(); // the watcher is cut off; etcd goes on without it
  await client.delete().key(`${keyPrefix}a/0`);
  await client.put(`${keyPrefix}b/1`).value(record('b-1', '10.3.1.1'));
  const put = await client.put(`${keyPrefix}b/2`).value(record('b-2', '10.3.1.2')).exec();
  await client.delete().key(`${keyPrefix}a/1`);
  // Compact everything up to now: the revisions the watcher must resume from are gone.
  await client.kv.compact({ revision: put.header.revision, physical: true });
  proxy.restore();

  const expected = await expectedFromEtcd(client, keyPrefix);
  await waitFor(async () => entriesOf(await readHosts(out, cluster)).join() === entriesOf(expected).join(), { what: `file equals etcd after resync (${w.logs.join(" | ")})`, timeoutMs: 10_000 });
  t.same(entriesOf(await readHosts(out, cluster)), ['10.3.0.3 a-2', '10.3.0.4 a-3', '10.3.0.5 a-4', '10.3.1.1 b-1', '10.3.1.2 b-2']);
  t.ok(w.logs.some((l) => /^<4>full resync: .*compacted/.test(l)), `a compaction resync was logged: ${w.logs.filter((l) => /resync/.test(l)).join(' | ')}`);
  // And it keeps watching after the resync.
  await client.put(`${keyPrefix}c/1`).value(record('c-1', '10.3.2.1'));
  await waitFor(async () => (await readHosts(out, cluster))?.get('c-1') === '10.3.2.1', { what: 'a change after the resync' });
});

t.test('etcd replaced behind the same address (revision goes backwards): full resync', async (t) => {
  const old = await etcdPart(t, { private: true });
  const fresh = await etcdPart(t, { private: true });
  const a = await etcdClient(t, old.endpoints);
  const b = await etcdClient(t, fresh.endpoints);
  const proxy = await etcdProxy(t, old.clientUrl);
  const cluster = 'w';
  const prefix = '/services';
  const out = join(tempDir(t), 'hosts');
  // The old etcd has a long history; the new one a short one.
  for (let i = 0; i < 50; i++) await a.put(`${prefix}/${cluster}/old/1`).value(record('old-1', `10.4.0.${i + 1}`));
  await b.put(`${prefix}/${cluster}/new/1`).value(record('new-1', '10.4.1.1'));
  const w = await startWatcher(t, [proxy.url], { cluster, out, prefix });
  await waitFor(async () => (await readHosts(out, cluster))?.get('old-1') === '10.4.0.50', { what: 'old state written' });

  proxy.cut();
  proxy.retarget(fresh.clientUrl);
  proxy.restore();
  await waitFor(async () => entriesOf(await readHosts(out, cluster)).join() === '10.4.1.1 new-1', { what: 'the new etcd state', timeoutMs: 10_000 });
  t.ok(w.logs.some((l) => /^<4>full resync: etcd (revision|cluster id|raft term)/.test(l)), 'the replacement was detected and logged');
});
