// `npm run sea`: fleetkit as one executable file for hosts without Node — the binary form of
// `runtime.fleetkit` (/opt/bin/fleetkit, fetched by cloud-config and checked against its sha256).
// It is this machine's node with the single-file build injected as a Node single executable application
// (SEA, with V8's code cache of the bundle), made without postject: see inject-sea-blob.mjs.
//
// Usage: node scripts/sea.mjs [--output FILE] [--no-bundle]
//   --output     default dist/fleetkit-<platform>-<arch>; FILE.sha256 is written beside it
//   --no-bundle  use dist/fleetkit.cjs as it is instead of rebuilding it first
// Prints the file's path; the sha256 (for runtime.fleetkit.sha256) and size go to stderr.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { injectSeaBlob } from './inject-sea-blob.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { output: { type: 'string' }, 'no-bundle': { type: 'boolean' } } });
const output = resolve(values.output ?? join(root, 'dist', `fleetkit-${process.platform}-${process.arch}`));
const started = performance.now();

function fail(message) {
  process.stderr.write(`sea: ${message}\n`);
  process.exit(1);
}

if (process.platform !== 'linux') fail(`only Linux (ELF) binaries are made here, not ${process.platform}`);
if (!values['no-bundle']) {
  const b = spawnSync(process.execPath, [join(root, 'scripts/bundle.mjs')], { stdio: 'inherit' });
  if (b.status !== 0) fail('the bundle did not build');
}

const work = mkdtempSync(join(tmpdir(), 'fleetkit-sea-'));
try {
  const config = join(work, 'sea-config.json');
  const blob = join(work, 'fleetkit.blob');
  // useCodeCache: the blob carries V8's compiled form of the bundle, so start-up skips most parsing.
  writeFileSync(config, JSON.stringify({ main: join(root, 'dist/fleetkit.cjs'), output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  const prep = spawnSync(process.execPath, ['--experimental-sea-config', config], { encoding: 'utf8' });
  if (prep.status !== 0) fail(`node --experimental-sea-config failed: ${prep.stderr.trim()}`);
  let exe;
  try {
    exe = injectSeaBlob(readFileSync(process.execPath), readFileSync(blob));
  } catch (e) {
    fail(`${process.execPath}: ${e.message}`);
  }
  // Written beside the target and renamed: a running copy of an older build is never overwritten in place.
  const partial = join(dirname(output), `.${basename(output)}.partial`);
  writeFileSync(partial, exe);
  chmodSync(partial, 0o755);
  renameSync(partial, output);
  const sha256 = createHash('sha256').update(exe).digest('hex');
  writeFileSync(`${output}.sha256`, `${sha256}  ${basename(output)}\n`);
  process.stdout.write(`${output}\n`);
  process.stderr.write(`sea: ${output} ${(exe.length / 1e6).toFixed(1)} MB sha256 ${sha256} in ${Math.round(performance.now() - started)} ms\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
