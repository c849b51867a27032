/**
 * Writing the hosts file so that no reader ever sees half of it, and so that containers that bind-mount it
 * see the change.
 *
 * Two strategies, because the two goals pull apart:
 *
 * - `rename` (default): temp file in the same directory, fsync, rename over the target, fsync the
 *   directory (the file fsync keeps a crash from leaving an empty file behind the new name; on a disk busy
 *   with etcd's own fsyncs it can take seconds, so keep the file on tmpfs such as /run when that matters:
 *   it is rebuilt from etcd at start anyway). Readers of the path see the old file or the new one, never a mix, and a crash leaves one of
 *   the two. But rename gives the path a new inode, and a bind mount pins an inode: a container started
 *   with `-v FILE:/etc/hosts` keeps reading the old content forever.
 *
 * - `in-place` (`--keep-inode`): the inode stays, so bind mounts see every update. A file cannot be
 *   replaced atomically in place, so the order of operations is chosen to keep every state a reader can
 *   see a valid hosts file: the new content is written with ONE pwrite at offset 0, padded with newlines
 *   up to the old length when it is shorter (a reader sees new lines followed by blank lines, never the old
 *   tail glued to the new head), fsync, then ftruncate to the exact length, fsync. What remains is the
 *   kernel's copy of that one write: a reader racing it can see pages of both versions (test/hosts/
 *   stream.test.ts measures it: about 1 read in 10,000 under a continuous stream of writes, none in rename
 *   mode). That is the price of keeping the inode; Docker rewrites container hosts files in place too.
 *   Hence rename stays the default, and `--keep-inode` is for files that containers bind-mount.
 *
 *   Why not the other ways out: a symlink in a bind-mounted directory needs the image's /etc/hosts changed
 *   and Docker mounts its own file over /etc/hosts anyway; detecting which inodes other mount namespaces
 *   pin means scanning /proc on every write.
 *
 * When the target is itself a mount point (the watcher runs in a container that got the file bind-mounted),
 * rename fails with EBUSY: the write falls back to in-place, as it must.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { writeAll, writeFileAtomic } from '../fs/write-file-atomic.js';

/** How the file is replaced; see the module comment. */
export type WriteMode = 'rename' | 'in-place';

export interface WriteHostsFileOptions {
  readonly mode: WriteMode;
  /** File mode for a file that does not exist yet. Default 0o644. */
  readonly fileMode?: number;
}

/** What was done: the strategy used in the end (a rename may fall back to in-place). */
export interface WriteResult {
  readonly mode: WriteMode;
  readonly fellBack: boolean;
}

/** One padded pwrite, fsync, ftruncate, fsync: the inode (and every bind mount of it) stays. */
async function writeInPlace(path: string, data: Buffer, fileMode: number): Promise<void> {
  const fh = await open(path, constants.O_RDWR | constants.O_CREAT, fileMode);
  try {
    const { size } = await fh.stat();
    const padded = size > data.length ? Buffer.concat([data, Buffer.alloc(size - data.length, 0x0a)]) : data;
    await writeAll(fh, padded);
    await fh.sync();
    if (padded.length !== data.length) {
      await fh.truncate(data.length);
      await fh.sync();
    }
  } finally {
    await fh.close();
  }
}

/** Writes `content` to `path` with the chosen strategy (see the module comment). */
export async function writeHostsFile(path: string, content: string, opts: WriteHostsFileOptions): Promise<WriteResult> {
  const data = Buffer.from(content, 'utf8');
  const fileMode = opts.fileMode ?? 0o644;
  if (opts.mode === 'in-place') {
    await writeInPlace(path, data, fileMode);
    return { mode: 'in-place', fellBack: false };
  }
  try {
    await writeFileAtomic(path, data, fileMode);
    return { mode: 'rename', fellBack: false };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // EBUSY: the target is a mount point (bind-mounted into our namespace); EXDEV: same reason on some kernels.
    if (code !== 'EBUSY' && code !== 'EXDEV') throw e;
    await writeInPlace(path, data, fileMode);
    return { mode: 'in-place', fellBack: true };
  }
}
