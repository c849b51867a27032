/**
 * Atomic file replacement, shared by every file fleetkit keeps on a host (the hosts file, the agent's
 * registry).
 */
import { constants } from 'node:fs';
import { open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

let tempCounter = 0;

/** fsyncs a directory, so a rename in it survives a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes all of `buf` at offset 0 onwards (one pwrite unless the kernel writes less). */
export async function writeAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off, off)).bytesWritten;
}

/**
 * Temp file in the same directory, fsync, rename, fsync the directory: readers see the old file or the new
 * one, never part of one, and a crash leaves one of the two. An existing file keeps its mode (and, for root,
 * its owner); a new one gets `fileMode`. The temp file is removed on any failure.
 */
export async function writeFileAtomic(path: string, data: Buffer, fileMode: number): Promise<void> {
  const dir = dirname(path);
  const before = await stat(path).catch(() => undefined);
  const tmp = join(dir, `.${basename(path)}.fleetkit-${process.pid}-${++tempCounter}.tmp`);
  const fh = await open(tmp, 'wx', before ? before.mode & 0o7777 : fileMode);
  try {
    await writeAll(fh, data);
    // Keep the owner a previous writer (or the admin) gave the file; only root can, and only root needs to.
    if (before && process.getuid?.() === 0) await fh.chown(before.uid, before.gid);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
}
