/**
 * Writing a file in place, keeping its inode (every bind mount of it sees the change): the `inPlace` mode
 * of src/fs/write-file-safe.ts.
 *
 * A file cannot be replaced atomically in place, so the order of operations keeps every state that lasts
 * a valid file, and a failure leaves the old content, byte for byte:
 *
 * 1. The old content is read first (it is what a failure restores).
 * 2. Space is reserved before a byte changes: when the new content needs more blocks than the file has,
 *    `fallocate --keep-size` allocates them without changing the visible size or content. On a full
 *    disk this is what fails, with the file untouched.
 * 3. ONE pwrite at offset 0 of the new content, padded with newlines to the old length when it is shorter
 *    (a racing reader sees new lines followed by blank lines, never the old tail glued to the new head),
 *    fsync, then ftruncate to the exact length, fsync.
 * 4. If step 3 fails anyway (a file system without fallocate, an I/O error), the old bytes are written
 *    back: they fit in the blocks the file already had, so that write does not need free space.
 *
 * What remains is the kernel's copy of the one write: a reader racing it can see pages of both versions
 * (test/hosts/stream-in-place.test.ts measures it). That is the price of keeping the inode; rename stays
 * the default. Docker rewrites container hosts files in place too.
 */
import { spawn } from 'node:child_process';
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

export interface WriteInPlaceOptions {
  /** Open the path even when it is a symlink (the caller has decided to write through it). */
  readonly followSymlink: boolean;
}

/** Reads the whole file through `fh` (positioned reads: the handle's offset is not used). */
async function readAll(fh: FileHandle, size: number): Promise<Buffer> {
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const { bytesRead } = await fh.read(buf, off, size - off, off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

/** Writes all of `buf` at offset 0 onwards (one pwrite unless the kernel writes less). */
export async function pwriteAll(fh: FileHandle, buf: Buffer): Promise<void> {
  let off = 0;
  while (off < buf.length) off += (await fh.write(buf, off, buf.length - off, off)).bytesWritten;
}

/** An error with an errno-style code, as node:fs throws them. */
function errnoError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/**
 * Allocates `length` bytes of blocks for the open file without changing its size (fallocate(2) with
 * FALLOC_FL_KEEP_SIZE, through util-linux's fallocate on the inherited descriptor: Node has no binding).
 * Resolves false when the file system or the host cannot do it (the restore of step 4 covers that case);
 * rejects with ENOSPC/EDQUOT when the space is not there.
 */
function reserveSpace(fh: FileHandle, length: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn('fallocate', ['--keep-size', '--offset', '0', '--length', String(length), '/proc/self/fd/3'], {
      stdio: ['ignore', 'ignore', 'pipe', fh.fd],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', () => resolve(false)); // no fallocate program
    child.once('close', (code) => {
      if (code === 0) return resolve(true);
      if (/No space left/i.test(err)) return reject(errnoError('ENOSPC', `no space left on device to write ${length} bytes`));
      if (/quota/i.test(err)) return reject(errnoError('EDQUOT', `disk quota exceeded writing ${length} bytes`));
      resolve(false);
    });
  });
}

/** Bytes of blocks the file has (a write within them needs no new block). */
function allocatedBytes(st: Stats): number {
  return st.blocks * 512;
}

/** Writes `data` over the file at `path`, keeping its inode (see the module comment). The file must exist. */
export async function writeInPlace(path: string, data: Buffer, opts: WriteInPlaceOptions): Promise<void> {
  const fh = await open(path, constants.O_RDWR | (opts.followSymlink ? 0 : constants.O_NOFOLLOW));
  try {
    const st = await fh.stat();
    const old = await readAll(fh, st.size);
    if (old.equals(data)) return;
    const padded = old.length > data.length ? Buffer.concat([data, Buffer.alloc(old.length - data.length, 0x0a)]) : data;
    if (padded.length > Math.max(old.length, allocatedBytes(st))) await reserveSpace(fh, padded.length);
    try {
      await pwriteAll(fh, padded);
      await fh.sync();
      if (padded.length !== data.length) {
        await fh.truncate(data.length);
        await fh.sync();
      }
    } catch (e) {
      await restore(fh, old).catch(() => undefined);
      throw e;
    }
  } finally {
    await fh.close();
  }
}

/** Puts the old content back after a failed write: within the old blocks, so it needs no free space. */
async function restore(fh: FileHandle, old: Buffer): Promise<void> {
  await pwriteAll(fh, old);
  await fh.truncate(old.length);
  await fh.sync();
}
