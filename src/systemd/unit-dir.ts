/**
 * Where unit files go, and writing them so systemd never reads half a file (write a temp file beside the
 * target, then rename over it).
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { writeFileSafe } from '../fs/write-file-safe.js';
import { join } from 'node:path';
import { homedir } from 'node:os';

export interface UnitDirOptions {
  /** The user manager instead of the system one. */
  readonly user: boolean;
  /** `/run/...` (gone at reboot) instead of `/etc/...`. */
  readonly runtime: boolean;
  /** An explicit directory; units outside the manager's search path get linked. */
  readonly unitDir: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * systemd's own places: `/etc/systemd/system` or `/run/systemd/system`; for `--user`,
 * `$XDG_CONFIG_HOME/systemd/user` (default `~/.config`) or `$XDG_RUNTIME_DIR/systemd/user`.
 */
export function unitDirFor(o: UnitDirOptions): string {
  if (o.unitDir) return o.unitDir;
  if (!o.user) return o.runtime ? '/run/systemd/system' : '/etc/systemd/system';
  if (o.runtime) {
    const rt = o.env['XDG_RUNTIME_DIR'];
    return join(rt || `/run/user/${process.getuid?.() ?? 0}`, 'systemd/user');
  }
  const config = o.env['XDG_CONFIG_HOME'] || join(o.env['HOME'] || homedir(), '.config');
  return join(config, 'systemd/user');
}

/** A unit file's text, or undefined when there is none. */
export async function readUnitFileText(dir: string, name: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, name), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Writes a unit file safely (src/fs/write-file-safe.ts), mode 0644, creating the directory. A symlink there
 * (a masked unit → /dev/null, a `systemctl link`ed file) is refused, not replaced behind the admin's back.
 */
export async function writeUnitFile(dir: string, name: string, text: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  await writeFileSafe(target, text, { mode: 0o644 });
  return target;
}

/** Removes a unit file; false when there was none. */
export async function removeUnitFile(dir: string, name: string): Promise<boolean> {
  try {
    await rm(join(dir, name));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** The unit files in `dir` (regular names only, no temp files), with their texts. */
export async function listUnitFiles(dir: string): Promise<{ name: string; text: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: { name: string; text: string }[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.') || !/\.[a-z]+$/.test(name)) continue;
    const text = await readUnitFileText(dir, name).catch(() => undefined);
    if (text !== undefined) out.push({ name, text });
  }
  return out;
}
