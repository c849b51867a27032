/**
 * The random-stream check shared by stream-*.test.ts (one file per write mode: each takes a while).
 * 1,000 announcements added, changed and removed at random against real etcd, with a reader loop in
 * another process reading the file throughout: at the end the file equals etcd, and no read ever saw a
 * partial or malformed file.
 */
import type { Test } from 'tap';
import { join } from 'node:path';
import { etcdPart, waitFor } from '../env/parts.js';
import { entriesOf, etcdClient, expectedFromEtcd, readHosts, record, startReaderLoop, startWatcher, tempDir, uniqueName } from './fixture.js';
import { prng } from '../support/prng.js';

/** The random stream against a watcher writing in `writeMode`, `total` changes. */
export async function randomStream(t: Test, writeMode: 'rename' | 'in-place', total: number): Promise<void> {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const cluster = uniqueName('c');
  const prefix = `/${uniqueName('p')}`;
  const keyPrefix = `${prefix}/${cluster}/`;
  const out = join(tempDir(t), 'hosts');
  const w = await startWatcher(t, etcd.endpoints, { cluster, out, prefix, writeMode });
  await waitFor(() => readHosts(out, cluster), { what: 'the first (empty) write' });
  const reader = startReaderLoop(t, out, cluster);

  // A seeded generator: a failure can be replayed.
  const next = prng(12345);
  const rnd = (n: number): number => Math.floor(next() * n);
  const live = new Set<number>();
  let ops = 0;
  const worker = async (): Promise<void> => {
    while (ops < total) {
      ops++;
      const i = rnd(1000);
      const key = `${keyPrefix}svc${i % 7}/${i}`;
      if (live.has(i) && rnd(3) === 0) {
        live.delete(i);
        await client.delete().key(key);
      } else {
        live.add(i);
        await client.put(key).value(record(`h-${i}`, `10.${rnd(2)}.${i >> 8}.${i & 255}`));
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  const expected = await expectedFromEtcd(client, keyPrefix);
  t.ok(expected.size > 300, `etcd holds ${expected.size} announcements`);
  await waitFor(async () => entriesOf(await readHosts(out, cluster)).join() === entriesOf(expected).join(), { what: 'file equals etcd', timeoutMs: 30_000, intervalMs: 10 });
  const r = await reader.stop();
  t.same(entriesOf(await readHosts(out, cluster)), entriesOf(expected), 'file equals the state in etcd');
  if (writeMode === 'rename') t.equal(r.bad, 0, `no partial or malformed read (${r.firstBad ?? 'none'})`);
  // In place, the one pwrite is not atomic for readers racing it (see src/fs/write-in-place.ts): torn reads are
  // rare, not impossible, so they are reported rather than asserted; the file is still never missing and
  // ends equal to etcd.
  else t.comment(`in-place: ${r.bad} of ${r.reads} reads raced a write (${r.firstBad ?? 'none'})`);
  t.equal(r.missing, 0, 'the file never vanished');
  t.ok(r.reads > 100, `the reader read ${r.reads} times`);
  t.ok(r.sizes.length > 3, `the reader saw the file change (${r.sizes.length} sizes)`);
  const stats = await w.stop();
  t.ok(stats.writes < ops / 4, `writes were coalesced: ${stats.writes} writes for ${ops} changes`);
}
