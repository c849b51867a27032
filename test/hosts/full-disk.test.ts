/**
 * A full disk under a real `fleetkit watch-hosts` process, in both write modes: the file stays byte-equal to
 * the last good content while the disk is full, one error is logged, and the new content is written once
 * space is back, by the same process. The file lives on a 64 KiB tmpfs mounted in a private mount namespace
 * of the watcher alone (it goes away with the process: nothing is left mounted); the test reaches it
 * through /proc/PID/root.
 */
import t from 'tap';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { etcdPart, waitFor } from '../env/parts.js';
import { spawnCli } from '../announce/fixtures/cli-process.js';
import { entriesOf, etcdClient, expectedFromEtcd, parseHostsBlock, record, tempDir, uniqueName } from './fixture.js';

/** Fills the file system of `dir` until ENOSPC; returns the filler's path. */
async function fill(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const fh = await open(path, 'w');
  const chunk = Buffer.alloc(1024, 0x78);
  try {
    for (let i = 0; i < 10_000; i++) await fh.write(chunk);
    throw new Error('the tmpfs did not fill up');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    await fh.close();
  }
  return path;
}

for (const mode of ['rename', 'in-place'] as const) {
  t.test(`full disk, ${mode}: old content kept, one error, new content once space is back`, async (t) => {
    const etcd = await etcdPart(t);
    const client = await etcdClient(t, etcd.endpoints);
    const cluster = uniqueName('d');
    const prefix = `/${uniqueName('p')}`;
    const keyPrefix = `${prefix}/${cluster}/`;
    const dir = tempDir(t);
    for (let i = 1; i <= 3; i++) await client.put(`${keyPrefix}a/${i}`).value(record(`a-${i}`, `10.8.0.${i}`));

    const mount = `mount -t tmpfs -o size=64k,mode=0755 fleetkit-full-disk ${dir} && exec "$@"`;
    const w = await spawnCli(t, ['watch-hosts', '--etcd', etcd.clientUrl, '--prefix', prefix, '--cluster', cluster, '--out', join(dir, 'hosts'),
      ...(mode === 'in-place' ? ['--keep-inode'] : [])], ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', mount, 'sh']);
    const pid = w.child.pid!;
    const inside = `/proc/${pid}/root${dir}`;
    const view = join(inside, 'hosts');
    const read = (): Promise<string | undefined> => readFile(view, 'utf8').catch(() => undefined);
    await waitFor(async () => { const s = await read(); return s !== undefined && parseHostsBlock(s, cluster).size === 3; }, { what: `first write (${w.stderr.join('')})`, timeoutMs: 30_000 });
    const before = (await read())!;
    const ino = (await stat(view)).ino;

    const filler = await fill(inside);
    // 100 entries in one txn: the new file (~7 KB) needs more blocks than the old one (one 4 KiB page) has.
    const puts = Array.from({ length: 100 }, (_, i) => client.put(`${keyPrefix}b/${i}`).value(record(`b-${i}-a-longer-name-for-the-test`, `10.8.1.${i}`)));
    await client.if(`${keyPrefix}a/1`, 'Create', '>', 0).then(...puts).commit();
    const errors = (): string[] => w.stderr.join('').split('\n').filter((l) => /cannot write /.test(l));
    await waitFor(() => errors().length > 0, { what: `the write error logged (${w.stderr.join('')})` });
    t.match(errors()[0]!, /^cannot write .*hosts: .*(ENOSPC|no space left)/i, 'the error names the file and the cause');

    // While the disk stays full (the watcher retries every second), every read is the last good file.
    const seen = new Set<string>();
    for (const until = Date.now() + 2500; Date.now() < until;) seen.add((await read()) ?? '<missing>');
    t.same([...seen], [before], 'byte-equal to the last good content while the disk is full');
    t.equal(errors().length, 1, 'one error line for the whole outage');

    await rm(filler);
    const expected = entriesOf(await expectedFromEtcd(client, keyPrefix)).join();
    await waitFor(async () => { const s = await read(); return s !== undefined && entriesOf(parseHostsBlock(s, cluster)).join() === expected; },
      { what: 'the new content once space is back', timeoutMs: 10_000 });
    t.equal(parseHostsBlock((await read())!, cluster).size, 103);
    t.ok(w.stderr.join('').includes('writable again after'), 'the recovery is logged');
    t.equal(errors().length, 1, 'still one error line');
    t.equal(w.child.exitCode, null, 'the same watcher process did it (no restart)');
    if (mode === 'in-place') t.equal((await stat(view)).ino, ino, '--keep-inode kept the inode through it all');
    t.same((await readFile(view, 'utf8')).includes('# END fleetkit'), true);
    w.child.kill('SIGTERM');
    await w.exited;
  });
}
