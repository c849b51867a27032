// `npm run image`: the fleetkit container image, built without any registry. A root filesystem is
// assembled from this machine's node, its shared libraries and the single-file build (image/), tarred
// and `docker import`ed as fleetkit:<package version>, with the entrypoint and environment of
// image/layout.mjs. image/Dockerfile builds the same image from a registry base instead.
//
// Usage: node scripts/image.mjs [--tag NAME:TAG] [--tar FILE] [--save FILE] [--no-bundle]
//   --tag        image name (default fleetkit:<version from package.json>)
//   --tar        also keep the root filesystem tarball at FILE (e.g. to `docker import` it elsewhere)
//   --save       also write the image as a `docker save` archive (for `docker load` on hosts)
//   --no-bundle  use dist/fleetkit.cjs as it is instead of rebuilding it first
// The docker CLI talks to $DOCKER_HOST like any docker command.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { assembleRootfs, warmCodeCache } from '../image/assemble-rootfs.mjs';
import { ENTRYPOINT, ENV, WORKDIR } from '../image/layout.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const { values } = parseArgs({
  options: { tag: { type: 'string' }, tar: { type: 'string' }, save: { type: 'string' }, 'no-bundle': { type: 'boolean' } },
});
const tag = values.tag ?? `fleetkit:${version}`;
const started = performance.now();

function fail(message) {
  process.stderr.write(`image: ${message}\n`);
  process.exit(1);
}

if (!values['no-bundle']) {
  const b = spawnSync(process.execPath, [join(root, 'scripts/bundle.mjs')], { stdio: 'inherit' });
  if (b.status !== 0) fail('the bundle did not build');
}
const bundle = join(root, 'dist/fleetkit.cjs');
try {
  statSync(bundle);
} catch {
  fail(`${bundle} is missing: run npm run build (or drop --no-bundle)`);
}

const work = mkdtempSync(join(tmpdir(), 'fleetkit-image-'));
try {
  const rootfs = join(work, 'rootfs');
  assembleRootfs(rootfs, { node: process.execPath, bundle, launcher: join(root, 'image/fleetkit') });
  // The node in the image is this one, so the code cache made here is the one it accepts.
  warmCodeCache(rootfs, process.execPath);
  // Sorted names, fixed times and owners: the same inputs give the same tarball.
  const tar = join(work, 'rootfs.tar');
  execFileSync('tar', ['--create', '--file', tar, '--directory', rootfs, '--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '.']);
  if (values.tar) copyFileSync(tar, values.tar);
  const changes = [
    `ENTRYPOINT ${JSON.stringify(ENTRYPOINT)}`,
    ...ENV.map((e) => `ENV ${e}`),
    `WORKDIR ${WORKDIR}`,
    `LABEL org.opencontainers.image.title=fleetkit org.opencontainers.image.version=${version}`,
  ];
  const imported = spawnSync('docker', ['import', ...changes.flatMap((c) => ['--change', c]), tar, tag], { encoding: 'utf8' });
  if (imported.status !== 0) fail(`docker import failed: ${imported.stderr.trim() || imported.error?.message}`);
  if (values.save) execFileSync('docker', ['image', 'save', '--output', values.save, tag]);
  const size = Number(execFileSync('docker', ['image', 'inspect', '--format', '{{.Size}}', tag], { encoding: 'utf8' }).trim());
  process.stdout.write(`${tag}\n`);
  process.stderr.write(
    `image: ${tag} ${imported.stdout.trim().slice(0, 19)} ${(size / 1e6).toFixed(1)} MB ` +
      `(tarball ${(statSync(tar).size / 1e6).toFixed(1)} MB) in ${Math.round(performance.now() - started)} ms\n`,
  );
} finally {
  rmSync(work, { recursive: true, force: true });
}
