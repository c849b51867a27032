/**
 * The safe file writer on a real file system: temp names nobody can guess or plant, modes and owners set
 * before the content, symlinks refused unless asked, the in-place mode keeping the inode.
 */
import t from 'tap';
import { watch } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileSafe, writeFileSafe, writeFileSafeSync } from '../../src/fs/write-file-safe.js';
import type { TestLike } from '../env/parts.js';

async function dir(t: TestLike): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'fk-fs-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}
type Writer = (path: string, data: string, opts?: Parameters<typeof writeFileSafe>[2]) => Promise<unknown>;
const writers: [string, Writer][] = [
  ['async', (p, d, o) => writeFileSafe(p, d, o)],
  ['sync', async (p, d, o) => writeFileSafeSync(p, d, o)],
];

for (const [kind, write] of writers) {
  t.test(`${kind}: new file, existing file, secret`, async (t) => {
    const d = await dir(t);
    const old = process.umask(0o077); // a strict umask must not narrow the mode asked for
    t.teardown(() => void process.umask(old));
    await write(join(d, 'new'), 'one\n', { mode: 0o644 });
    t.equal((await stat(join(d, 'new'))).mode & 0o7777, 0o644, 'a new file gets the mode asked for, whatever the umask');
    t.equal(await readFile(join(d, 'new'), 'utf8'), 'one\n');

    await writeFile(join(d, 'kept'), 'x');
    await chmod(join(d, 'kept'), 0o640);
    await chown(join(d, 'kept'), 4321, 4322);
    await write(join(d, 'kept'), 'two\n', { mode: 0o644 });
    const st = await stat(join(d, 'kept'));
    t.same([st.mode & 0o7777, st.uid, st.gid], [0o640, 4321, 4322], 'an existing file keeps its mode and owner');

    await writeFile(join(d, 'secret'), 'x', { mode: 0o644 });
    await write(join(d, 'secret'), 'key\n', { secret: true });
    t.equal((await stat(join(d, 'secret'))).mode & 0o7777, 0o600, 'a secret is 0600 even over a wider file');
    t.same((await readdir(d)).sort(), ['kept', 'new', 'secret'], 'no temp file left behind');
  });

  t.test(`${kind}: a symlink at the target is refused unless asked`, async (t) => {
    const d = await dir(t);
    await writeFile(join(d, 'real'), 'original\n');
    await symlink('real', join(d, 'link'));
    await t.rejects(write(join(d, 'link'), 'new\n'), { code: 'ERR_SYMLINK', message: /link is a symbolic link/ });
    t.equal(await readlink(join(d, 'link')), 'real', 'the link is left alone');
    t.equal(await readFile(join(d, 'real'), 'utf8'), 'original\n', 'its target is not written');
    await write(join(d, 'link'), 'new\n', { followSymlink: true });
    t.ok((await lstat(join(d, 'link'))).isSymbolicLink(), 'asked: the link stays a link');
    t.equal(await readFile(join(d, 'real'), 'utf8'), 'new\n', 'and the file it points to is written');
    await mkdir(join(d, 'sub'));
    await t.rejects(write(join(d, 'sub'), 'x'), { code: 'ERR_NOT_A_FILE' });
  });

  t.test(`${kind}: files and links planted at guessable temp names are never used`, async (t) => {
    const d = await dir(t);
    const target = join(d, 'hosts');
    await writeFile(target, 'old\n');
    // Names earlier versions used, and the attacker's target the links point to.
    const loot = join(d, 'loot');
    await writeFile(loot, '');
    const guesses = [`${target}.tmp-${process.pid}`, join(d, `.hosts.${process.pid}.tmp`), join(d, `.hosts.fleetkit-${process.pid}-1.tmp`)];
    for (const [i, g] of guesses.entries()) {
      if (i % 2) await symlink(loot, g);
      else await writeFile(g, '', { mode: 0o666 });
    }
    // Watch the directory: every name the writer makes, as the kernel reports it.
    const seen: string[] = [];
    const w = watch(d, (_ev, name) => name && seen.push(String(name)));
    await write(target, 'secret content\n', { secret: true });
    await write(target, 'secret content 2\n', { secret: true });
    await new Promise((r) => setTimeout(r, 50)); // let inotify deliver
    w.close();
    t.equal(await readFile(loot, 'utf8'), '', 'nothing reached the file behind a planted link');
    for (const g of guesses) t.equal((await lstat(g)).size < 100 ? 'untouched' : 'written', 'untouched', `${g} untouched`);
    t.equal(await readFile(target, 'utf8'), 'secret content 2\n');
    const temps = [...new Set(seen.filter((n) => n !== 'hosts'))];
    t.equal(temps.length, 2, `one fresh temp name per write (${temps.join(', ')})`);
    for (const n of temps) {
      t.match(n, /^\.hosts\.[0-9a-f]{24}\.tmp$/, 'hidden, in the target directory, 96 random bits');
      t.notMatch(n, new RegExp(String(process.pid)), 'no pid in the name');
    }
  });
}

t.test('in place: the inode stays, a shorter content leaves no tail', async (t) => {
  const d = await dir(t);
  const p = join(d, 'hosts');
  await writeFile(p, 'a long first version of the file\n'.repeat(20));
  await chmod(p, 0o604);
  const ino = (await stat(p)).ino;
  const r = await writeFileSafe(p, 'short\n', { inPlace: true });
  t.same(r, { inPlace: true, fellBack: false });
  t.equal(await readFile(p, 'utf8'), 'short\n');
  const grown = 'x'.repeat(9000) + '\n';
  await writeFileSafe(p, grown, { inPlace: true });
  t.equal(await readFile(p, 'utf8'), grown, 'grown past the blocks it had');
  const st = await stat(p);
  t.same([st.ino, st.mode & 0o7777], [ino, 0o604], 'same inode, same mode');
  await symlink('hosts', join(d, 'link'));
  await t.rejects(writeFileSafe(join(d, 'link'), 'x', { inPlace: true }), { code: 'ERR_SYMLINK' });
  // A file that does not exist yet has no inode to keep: it is created whole (createFileSafe).
  t.same(await writeFileSafe(join(d, 'fresh'), 'y\n', { inPlace: true }), { inPlace: false, fellBack: false });
  t.equal(await readFile(join(d, 'fresh'), 'utf8'), 'y\n');
});

t.test('create only where nothing is: racing creators end with one inode, nothing is replaced', async (t) => {
  const d = await dir(t);
  const p = join(d, 'containers');
  // 20 creators at once, as container units starting together each make the file before docker mounts it.
  const made = await Promise.all(Array.from({ length: 20 }, (_, i) => createFileSafe(p, `writer ${i}\n`)));
  t.equal(made.filter(Boolean).length, 1, 'exactly one created it');
  const winner = made.indexOf(true);
  t.equal(await readFile(p, 'utf8'), `writer ${winner}\n`, 'the winner\'s content, whole');
  t.equal((await stat(p)).mode & 0o7777, 0o644);
  const ino = (await stat(p)).ino;
  t.equal(await createFileSafe(p, 'again\n'), false, 'an existing file is left');
  t.same([(await stat(p)).ino, await readFile(p, 'utf8')], [ino, `writer ${winner}\n`]);
  await mkdir(join(d, 'dir'));
  t.equal(await createFileSafe(join(d, 'dir'), 'x'), false, 'a directory is left');
  t.ok((await lstat(join(d, 'dir'))).isDirectory());
  await symlink('nowhere', join(d, 'dangling'));
  t.equal(await createFileSafe(join(d, 'dangling'), 'x'), false, 'a link, even a dangling one, is left');
  t.equal(await readlink(join(d, 'dangling')), 'nowhere');
  t.same((await readdir(d)).filter((n) => n.endsWith('.tmp')), [], 'no temp file left behind');
  // In place with no file yet: racing writers never replace each other's inode.
  const q = join(d, 'raced');
  await Promise.all(Array.from({ length: 10 }, (_, i) => writeFileSafe(q, `w${i}\n`, { inPlace: true })));
  t.match(await readFile(q, 'utf8'), /^w\d\n$/, 'one whole version');
});
