/**
 * A real container with the hosts file bind-mounted as its /etc/hosts sees its peers appear and vanish
 * (the watcher keeps the inode: --keep-inode). Beside it, the reason for that mode: a container that
 * bind-mounts a file replaced by rename keeps seeing the old content.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { etcdClient, readHosts, record, startWatcher, tempDir, uniqueName } from './fixture.js';

t.test('a container reading its bind-mounted /etc/hosts', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const dir = tempDir(t);
  const cluster = uniqueName('d');
  const prefix = `/${uniqueName('p')}`;
  const kept = join(dir, 'kept-hosts');
  const renamed = join(dir, 'renamed-hosts');
  for (const f of [kept, renamed]) writeFileSync(f, '127.0.0.1 localhost\n');
  await startWatcher(t, etcd.endpoints, { cluster, out: kept, prefix, writeMode: 'in-place' });
  await startWatcher(t, etcd.endpoints, { cluster, out: renamed, prefix, writeMode: 'rename' });
  await waitFor(async () => (await readHosts(kept, cluster)) && (await readHosts(renamed, cluster)), { what: 'both files written' });

  const names: string[] = [];
  for (const [tag, file] of [['kept', kept], ['renamed', renamed]] as const) {
    const name = uniqueName(`fk-hosts-${tag}-`);
    t.teardown(() => docker.docker(['rm', '-f', name]));
    const run = await docker.docker(['run', '-d', '--init', '--name', name, '-v', `${file}:/etc/hosts:ro`, docker.busyboxImage, 'sleep', '300']);
    t.equal(run.code, 0, `docker run (${tag} file)`);
    names.push(name);
  }
  const [inPlace, stale] = names as [string, string];
  const hostsIn = async (name: string): Promise<string> => {
    const r = await docker.docker(['exec', name, 'cat', '/etc/hosts']);
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  const line = `10.8.0.1 peer-1 peer-1.${cluster}`;

  await client.put(`${prefix}/${cluster}/peer/1`).value(record('peer-1', '10.8.0.1'));
  await waitFor(async () => (await hostsIn(inPlace)).includes(`\n${line}\n`), { what: 'the peer in the container' });
  t.ok((await hostsIn(inPlace)).startsWith('127.0.0.1 localhost\n# BEGIN fleetkit '), 'the rest of its /etc/hosts is kept');
  await waitFor(async () => (await readHosts(renamed, cluster))?.has('peer-1'), { what: 'the renamed file on the host updated' });
  t.notMatch(await hostsIn(stale), /peer-1/, 'a rename leaves the bind-mounted copy stale (why --keep-inode exists)');

  await client.delete().key(`${prefix}/${cluster}/peer/1`);
  await waitFor(async () => !(await hostsIn(inPlace)).includes('peer-1'), { what: 'the peer gone from the container' });
  await client.put(`${prefix}/${cluster}/peer/2`).value(record('peer-2', '10.8.0.2'));
  await waitFor(async () => (await hostsIn(inPlace)).includes(`\n10.8.0.2 peer-2 peer-2.${cluster}\n`), { what: 'another peer appears' });
});
