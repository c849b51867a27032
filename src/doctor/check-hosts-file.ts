/**
 * The hosts file can be written the way watch-hosts writes it (src/fs/write-file-safe.ts), found without
 * writing it: by rename, the directory must take a new file (write and search permission, a writable file
 * system); in place (`hosts.keepInode`), or when the file is a mount point of its own (a rename over it
 * fails, so the writer writes in place), the file itself must be writable. A symbolic link is refused by the
 * writer, so it is refused here. `access(2)` answers for this process's user, as root too (EROFS).
 */
import { constants } from 'node:fs';
import { access, lstat, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fail, ok, type CheckDef } from './check.js';

export interface HostsFileCheckOptions {
  readonly path: string;
  /** watch-hosts --keep-inode (the spec's hosts.keepInode). */
  readonly keepInode: boolean;
}

const WHY: Readonly<Record<string, string>> = { EROFS: 'read-only file system', EACCES: 'permission denied', EPERM: 'operation not permitted', ENOENT: 'does not exist', ENOTDIR: 'a part of the path is not a directory' };

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return WHY[code] ? `${WHY[code]} (${code})` : (e as Error).message;
}

export function hostsFileCheck(o: HostsFileCheckOptions): CheckDef {
  const dir = dirname(o.path);
  const fixDir = `make ${dir} writable for the user fleetkit-hosts-CLUSTER.service runs as (a read-only /etc: point hosts.file at a writable path and bind-mount it), or set hosts.file`;
  return {
    name: 'hosts-file',
    async run() {
      const l = await lstat(o.path).catch((e: NodeJS.ErrnoException) => e);
      if (l instanceof Error && l.code !== 'ENOENT') return fail(`cannot look at ${o.path}: ${reason(l)}`, fixDir);
      const exists = !(l instanceof Error);
      if (exists && l.isSymbolicLink()) {
        return fail(`${o.path} is a symbolic link, and watch-hosts does not write through a link`, 'point hosts.file at the file it links to, or remove the link (watch-hosts --follow-symlink writes through it)');
      }
      if (exists && !l.isFile()) return fail(`${o.path} is not a regular file`, 'set hosts.file to a file path');
      const d = await stat(dir).catch((e: NodeJS.ErrnoException) => e);
      if (d instanceof Error) return fail(`the directory ${dir} of the hosts file: ${reason(d)}`, fixDir);
      if (!d.isDirectory()) return fail(`${dir} is not a directory`, 'set hosts.file to a path in a directory');
      // A file that is a mount point of its own (a bind mount, as Docker gives a container its /etc/hosts)
      // cannot be renamed over: the writer writes it in place.
      const inPlace = o.keepInode || (exists && (l.dev !== d.dev || (await isMountPoint(o.path))));
      if (inPlace && exists) {
        const e = await access(o.path, constants.W_OK).then(() => undefined, (err: unknown) => err);
        if (e) return fail(`${o.path} cannot be written in place: ${reason(e)}`, `make ${o.path} writable for fleetkit-hosts-CLUSTER.service's user`);
        return ok(`${o.path} is writable in place${o.keepInode ? ' (hosts.keepInode)' : ' (it is a mount point of its own)'}`);
      }
      const e = await access(dir, constants.W_OK | constants.X_OK).then(() => undefined, (err: unknown) => err);
      if (e) return fail(`${o.path} cannot be replaced: its directory ${dir}: ${reason(e)}`, fixDir);
      return ok(`${o.path} can be replaced (its directory ${dir} is writable)${exists ? '' : '; the file does not exist yet'}`);
    },
  };
}

/** `\040` in /proc/self/mountinfo is a space (octal escapes for space, tab, newline, backslash). */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * True when `path` is a mount point in this process's mount namespace. A bind mount of a file from the same
 * file system keeps its st_dev, so only the mount table tells (field 5 of mountinfo, proc(5)).
 */
async function isMountPoint(path: string): Promise<boolean> {
  const table = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return table.split('\n').some((line) => {
    const field = line.split(' ')[4];
    return field !== undefined && unescapeMount(field) === path;
  });
}
