/**
 * `watch-hosts --prepare` (prepareContainersFile), which the hosts unit and every container unit that mounts
 * the cluster's containers' hosts file run before anything mounts it: it makes a regular file where nothing
 * is, leaves an existing one (filling an empty one), keeps one inode when many run at once, and refuses,
 * naming it, a directory (what `docker run -v` leaves where the file was missing) or a link, removing nothing.
 * The watcher itself names such a directory, and writes the file once it is gone.
 */
import t from 'tap';
import { lstatSync, mkdirSync, readFileSync, rmdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { containersFileProblem, prepareContainersFile } from '../../src/hosts/watch-hosts.js';
import { etcdPart, waitFor } from '../env/parts.js';
import { etcdClient, record, startWatcher, tempDir, uniqueName } from './fixture.js';

t.test('a file where nothing is; an existing one left; an empty one filled', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'run', 'fleetkit', 'hosts', 'shop');
  t.equal(await prepareContainersFile(file, 'shop'), true, 'made, with its directories');
  const base = readFileSync(file, 'utf8');
  t.match(base, /^127\.0\.0\.1\tlocalhost$/m);
  t.ok(lstatSync(file).isFile());
  writeFileSync(file, '# the watcher\'s last write\n10.0.0.1 db-1 db-1.shop db\n');
  const ino = statSync(file).ino;
  t.equal(await prepareContainersFile(file, 'shop'), false, 'left as it is');
  t.equal(readFileSync(file, 'utf8'), '# the watcher\'s last write\n10.0.0.1 db-1 db-1.shop db\n');
  writeFileSync(file, '');
  t.equal(await prepareContainersFile(file, 'shop'), true, 'an empty file gets the base lines');
  t.equal(readFileSync(file, 'utf8'), base);
  t.equal(statSync(file).ino, ino, 'in place: a container that mounts it already sees them');
});

t.test('units starting together: one inode for all', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'hosts', 'shop');
  const made = await Promise.all(Array.from({ length: 12 }, () => prepareContainersFile(file, 'shop')));
  t.equal(made.filter(Boolean).length, 1, 'one made it, the others found it');
  t.ok(lstatSync(file).isFile());
});

t.test('a directory or a link is refused, named, and left alone', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'shop');
  mkdirSync(file);
  await t.rejects(prepareContainersFile(file, 'shop'), {
    code: 'ERR_HOSTS_DIRECTORY',
    message: `${file} is a directory, not the cluster's containers' hosts file (docker run -v makes a directory where the file it mounts is missing)`,
    hint: `stop the containers that mount it, check that it is empty and remove it (rmdir ${file}); the next start makes the file`,
  });
  t.ok(statSync(file).isDirectory(), 'kept');
  const link = join(dir, 'linked');
  symlinkSync(join(dir, 'elsewhere'), link);
  await t.rejects(prepareContainersFile(link, 'shop'), { code: 'ERR_NOT_A_FILE', message: /is a symbolic link/ });
  t.ok(lstatSync(link).isSymbolicLink(), 'kept');
  t.equal(await containersFileProblem(join(dir, 'missing')), undefined, 'nothing there is no problem');
});

t.test('the watcher names a directory at the containers\' file, and writes the file once it is removed', async (t) => {
  const etcd = await etcdPart(t);
  const client = await etcdClient(t, etcd.endpoints);
  const dir = tempDir(t);
  const cluster = uniqueName('c');
  const prefix = `/${uniqueName('p')}`;
  const out = join(dir, 'hosts');
  const file = join(dir, 'containers');
  writeFileSync(out, '127.0.0.1 localhost\n');
  mkdirSync(file);
  const { logs: lines } = await startWatcher(t, etcd.endpoints, { cluster, out, prefix, containersFile: file });
  await client.put(`${prefix}/${cluster}/db/1`).value(record('db-1', '10.8.0.1'));
  await waitFor(async () => lines.some((l) => l.includes(`cannot write ${file}: ${file} is a directory`)), { what: 'the line naming the directory' });
  t.match(lines.find((l) => l.includes(`cannot write ${file}`)), `(stop the containers that mount it, check that it is empty and remove it (rmdir ${file})`);
  t.ok(statSync(file).isDirectory(), 'the watcher removes nothing');
  rmdirSync(file);
  await waitFor(async () => { try { return /^10\.8\.0\.1\s+db-1/m.test(readFileSync(file, 'utf8')); } catch { return false; } }, { what: 'the file written after the directory went' });
  t.ok(lstatSync(file).isFile());
});
