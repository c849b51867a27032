// The root filesystem of the fleetkit image, made from this machine's files: its node binary with the
// shared libraries it links (as ldd reports them, the dynamic loader included), a minimal /etc, the bundle
// and the launcher. Nothing is fetched, so it builds offline.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BUNDLE, LAUNCHER, NODE } from './layout.mjs';

/**
 * Absolute paths of the shared objects `binary` loads, as `ldd` resolves them on this machine, the dynamic
 * loader (its PT_INTERP path) included. The vDSO has no file and is skipped. Throws if ldd finds a
 * library missing.
 * @param {string} binary
 * @returns {string[]}
 */
export function sharedLibraries(binary) {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const paths = [];
  for (const line of out.split('\n')) {
    if (/=>\s*not found/.test(line)) throw new Error(`ldd ${binary}: ${line.trim()}`);
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) paths.push(m[1]);
  }
  if (!paths.some((p) => /\/ld-linux[^/]*\.so/.test(p) || /\/ld-musl/.test(p))) throw new Error(`ldd ${binary}: no dynamic loader found in:\n${out}`);
  return paths;
}

/** Copies `from` (symlinks followed) to `root` + `to`, keeping the mode. */
function put(root, from, to, mode) {
  const dest = join(root, to);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(realpathSync(from), dest);
  if (mode !== undefined) chmodSync(dest, mode);
}

/** Writes `text` at `root` + `to`. */
function write(root, to, text, mode = 0o644) {
  const dest = join(root, to);
  mkdirSync(dirname(dest), { recursive: true });
  writeFileSync(dest, text);
  chmodSync(dest, mode);
}

/**
 * Fills the empty directory `root`.
 * - Libraries go to the very paths ldd names (merged-/usr symlinks become plain directories), so the
 *   loader's built-in search path finds them without an /etc/ld.so.cache.
 * - No CA certificates: this node carries its own root store (it is not built to use the system's), and
 *   etcd's TLS CA comes from the spec's file, mounted by the unit.
 * - /etc/nsswitch.conf pins name lookups to files then DNS (glibc's default without the file differs).
 * @param {string} root
 * @param {{ node: string, bundle: string, launcher: string }} from files on this machine
 */
export function assembleRootfs(root, from) {
  put(root, from.node, NODE, 0o755);
  for (const lib of sharedLibraries(from.node)) put(root, lib, lib, 0o755);
  put(root, from.bundle, BUNDLE, 0o644);
  put(root, from.launcher, LAUNCHER, 0o755);
  write(root, '/etc/passwd', 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  write(root, '/etc/group', 'root:x:0:\nnogroup:x:65534:\n');
  write(root, '/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n');
  for (const [dir, mode] of [['/tmp', 0o1777], ['/root', 0o700], ['/run', 0o755], ['/proc', 0o755], ['/sys', 0o755], ['/dev', 0o755]]) {
    mkdirSync(join(root, dir), { recursive: true });
    chmodSync(join(root, dir), mode);
  }
}

/**
 * Makes the V8 code cache the launcher reads (BUNDLE + `.cache`, see image/fleetkit) by running the
 * launcher of `root` once with `node`, which must be the binary the image carries: V8 takes a cache only
 * from its own version and flags.
 * @param {string} root
 * @param {string} node
 */
export function warmCodeCache(root, node) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const r = spawnSync(node, [join(root, LAUNCHER), 'announce', '--help'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the launcher did not run: ${r.stderr}`);
}
