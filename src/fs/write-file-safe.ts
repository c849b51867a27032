/**
 * The one way fleetkit writes a file: hosts files, unit files, the agent's registry, cloud-config output
 * (which may hold secrets). What it guarantees, and why:
 *
 * - Readers see the old file or the new one, never part of one, and a crash leaves one of the two: the
 *   content goes to a temp file in the target's directory, which is fsynced, renamed over the target, and
 *   the directory fsynced (without the file fsync a crash can leave an empty file behind the new name).
 * - No one else can read or plant the temp file: its name holds 96 random bits, it is created with O_EXCL
 *   and O_NOFOLLOW (a file or symlink someone made at that name first is never used), and its mode is set
 *   with fchmod before the first byte is written (open's mode is filtered by the umask; fchmod is exact).
 * - An existing file keeps its mode and, when we are root, its owner; a secret gets 0600 whatever it had.
 * - A symlink at the target is refused (ERR_SYMLINK) unless the caller asks to write through it; then its
 *   final target is written (rename over a link would replace the link, not update what it points to).
 * - `inPlace` (watch-hosts --keep-inode) keeps the inode, for files that containers bind-mount; see
 *   src/fs/write-in-place.ts for its full-disk guarantee. A rename over a mount point fails (EBUSY, or EXDEV
 *   on some kernels): that file is written in place instead, as it must be. A file that does not exist yet is
 *   created whole without replacing anything (createFileSafe): a file someone else made in the meantime, and
 *   already bind-mounted, keeps its inode and is written in place.
 * - `createFileSafe` makes a file only where nothing is: the temp file is hard-linked to the target (link(2)
 *   fails with EEXIST where rename(2) would replace), so two writers racing to create it end with one inode.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fchownSync, fsyncSync, lstatSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { link, lstat, open, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FleetkitError } from '../errors.js';
import { pwriteAll, writeInPlace } from './write-in-place.js';

export interface WriteFileSafeOptions {
  /** Mode of a file that does not exist yet. Default 0o644. An existing file keeps its own. */
  readonly mode?: number;
  /** The content is secret: mode 0600 (also over an existing file with a wider mode), owned by us. */
  readonly secret?: boolean;
  /** Write through a symlink at the target (to the file it points to) instead of refusing. */
  readonly followSymlink?: boolean;
  /** Keep the inode: write in place (see the module comment). */
  readonly inPlace?: boolean;
  /** fsync the directory after the rename. Default true; a batch of files turns it off and calls syncDir once. */
  readonly syncDir?: boolean;
}

/** What was done: the strategy used in the end (a rename may fall back to in-place). */
export interface WriteFileSafeResult {
  readonly inPlace: boolean;
  /** True when a rename was impossible (the target is a mount point) and the file was written in place. */
  readonly fellBack: boolean;
}

const O_TEMP = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** `.NAME.<24 hex>.tmp` beside the target: unguessable, and hidden from globs such as `*.service`. */
function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(12).toString('hex')}.tmp`);
}

function symlinkError(path: string): FleetkitError {
  return new FleetkitError('ERR_SYMLINK', `${path} is a symbolic link: fleetkit does not write through a link unless asked to`, {
    hint: 'write to the file it points to, or remove the link (watch-hosts: --follow-symlink writes through it)',
  });
}

function notAFileError(path: string): FleetkitError {
  return new FleetkitError('ERR_NOT_A_FILE', `${path} exists and is not a regular file`, { hint: 'choose another output path' });
}

/** Mode and owner the new file gets: see the module comment. */
function finalMode(before: Stats | undefined, opts: WriteFileSafeOptions): { readonly mode: number; readonly owner: { uid: number; gid: number } | undefined } {
  if (opts.secret) return { mode: 0o600, owner: undefined };
  if (!before) return { mode: opts.mode ?? 0o644, owner: undefined };
  // Only root can give a file away, and only root needs to (a file made by root for another user).
  const owner = process.getuid?.() === 0 ? { uid: before.uid, gid: before.gid } : undefined;
  return { mode: before.mode & 0o7777, owner };
}

/** The path actually written and what is there now; refuses links (unless asked) and non-files. */
async function resolveTarget(path: string, opts: WriteFileSafeOptions): Promise<{ readonly target: string; readonly before: Stats | undefined }> {
  const l = await lstat(path).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!l) return { target: path, before: undefined };
  if (l.isSymbolicLink()) {
    if (!opts.followSymlink) throw symlinkError(path);
    const target = await realpath(path).catch(() => undefined);
    // A dangling link: create the file it names (relative to the link's directory).
    if (target === undefined) return { target: resolve(dirname(path), await readlink(path)), before: undefined };
    const before = await stat(target);
    if (!before.isFile()) throw notAFileError(target);
    return { target, before };
  }
  if (!l.isFile()) throw notAFileError(path);
  return { target: path, before: l };
}

/** fsyncs a directory, so a rename in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Synchronous twin of syncDir. */
export function syncDirSync(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A temp file beside `target` holding `buf`, fsynced, with its final mode and owner. Returns its path. */
async function writeTemp(target: string, buf: Buffer, mode: number, owner: { uid: number; gid: number } | undefined): Promise<string> {
  const tmp = tempPath(target);
  const fh = await open(tmp, O_TEMP, 0o600);
  try {
    await fh.chmod(mode);
    if (owner) await fh.chown(owner.uid, owner.gid);
    await pwriteAll(fh, buf);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  return tmp;
}

/**
 * Creates `path` holding `data`, whole, when nothing is at that path; leaves whatever is there (a file, a
 * directory, a link) untouched and resolves false. Readers see no file or the whole one.
 */
export async function createFileSafe(path: string, data: Buffer | string, opts: Pick<WriteFileSafeOptions, 'mode' | 'syncDir'> = {}): Promise<boolean> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const tmp = await writeTemp(path, buf, opts.mode ?? 0o644, undefined);
  try {
    await link(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  if (opts.syncDir ?? true) await syncDir(dirname(path));
  return true;
}

/** Writes `data` to `path` safely (see the module comment). */
export async function writeFileSafe(path: string, data: Buffer | string, opts: WriteFileSafeOptions = {}): Promise<WriteFileSafeResult> {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const { target, before } = await resolveTarget(path, opts);
  const { mode, owner } = finalMode(before, opts);
  if (opts.inPlace && before) {
    await writeInPlace(target, buf, { followSymlink: Boolean(opts.followSymlink) });
    return { inPlace: true, fellBack: false };
  }
  // In place, and no file yet: create it without replacing one made meanwhile (it may be mounted already).
  if (opts.inPlace && !opts.secret) {
    if (await createFileSafe(target, buf, opts)) return { inPlace: false, fellBack: false };
    return writeFileSafe(path, buf, opts);
  }
  const tmp = await writeTemp(target, buf, mode, owner);
  try {
    await rename(tmp, target);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    // EBUSY: the target is a mount point (bind-mounted into our namespace); EXDEV: the same on some kernels.
    if ((code === 'EBUSY' || code === 'EXDEV') && before) {
      await writeInPlace(target, buf, { followSymlink: Boolean(opts.followSymlink) });
      return { inPlace: true, fellBack: true };
    }
    throw e;
  }
  if (opts.syncDir ?? true) await syncDir(dirname(target));
  return { inPlace: false, fellBack: false };
}

/**
 * Synchronous twin of writeFileSafe's rename mode, for writers of thousands of small files (gen-units),
 * where a thread-pool round trip per step costs more than the writes. Pass `syncDir: false` and call
 * syncDirSync once after the batch.
 */
export function writeFileSafeSync(path: string, data: Buffer | string, opts: Omit<WriteFileSafeOptions, 'inPlace'> = {}): void {
  let target = path;
  let before: Stats | undefined;
  try {
    before = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (before?.isSymbolicLink()) {
    if (!opts.followSymlink) throw symlinkError(path);
    target = realpathSync(path);
    before = statSync(target);
  }
  if (before && !before.isFile()) throw notAFileError(target);
  const { mode, owner } = finalMode(before, opts);
  const tmp = tempPath(target);
  const fd = openSync(tmp, O_TEMP, 0o600);
  try {
    fchmodSync(fd, mode);
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, off);
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    try {
      unlinkSync(tmp);
    } catch {
      /* best effort */
    }
    throw e;
  }
  try {
    renameSync(tmp, target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* best effort */
    }
    throw e;
  }
  if (opts.syncDir ?? true) syncDirSync(dirname(target));
}
