/**
 * `npm run sea`: the single executable for hosts without Node. Made into a temp dir, run from an empty
 * directory with no node on PATH; and the injector's refusals.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpec } from '../../src/cluster/load.js';
import { renderCluster } from '../../src/render/render.js';
import { inTreeCli } from './in-tree.js';
import { ROOT, VERSION } from './standalone.js';

const dir = mkdtempSync(join(tmpdir(), 'fk-sea-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const exe = join(dir, 'fleetkit');
const made = spawnSync(process.execPath, [join(ROOT, 'scripts/sea.mjs'), '--no-bundle', '--output', exe], {
  encoding: 'utf8',
  env: { ...process.env, NODE_OPTIONS: '' },
});

/** Runs the executable in `dir` with a PATH that has no node on it and no NODE_* variables. */
async function sea(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(exe, [...args], { cwd: dir, env: { PATH: '/nonexistent', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}

t.test('npm run sea writes an executable and its sha256', async (t) => {
  t.equal(made.status, 0, made.stderr);
  t.equal(made.stdout, `${exe}\n`);
  t.ok(statSync(exe).mode & 0o100, 'executable');
  const sum = createHash('sha256').update(readFileSync(exe)).digest('hex');
  t.equal(readFileSync(`${exe}.sha256`, 'utf8'), `${sum}  fleetkit\n`, 'sha256sum --check format, for runtime.fleetkit.sha256');
  t.comment(made.stderr.trim());
});

t.test('--version and gen-units on the seed example, without node', async (t) => {
  const v = await sea(['--version']);
  t.equal(v.code, 0, v.stderr);
  t.equal(v.stdout, `fleetkit ${VERSION}\n`);
  t.equal(v.stderr, '', 'no experimental-feature warning');
  const seed = join(dir, 'cluster.yaml');
  copyFileSync(join(ROOT, 'examples/seed/cluster.yaml'), seed);
  const r = await sea(['gen', 'cluster.yaml', '-o', 'units']);
  t.equal(r.code, 0, r.stderr);
  const expected = renderCluster(parseSpec(readFileSync(seed, 'utf8'), seed));
  t.strictSame(readdirSync(join(dir, 'units')).sort(), expected.files.map((f) => f.path).sort());
  for (const f of expected.files) t.equal(readFileSync(join(dir, 'units', f.path), 'utf8'), f.text, f.path);
  t.strictSame(r.stdout.trim().split('\n'), expected.start.map((u) => `units/${u}`));
  const help = await sea(['announce', '--help']);
  t.equal(help.stdout, (await inTreeCli(['announce', '--help'], dir)).stdout, 'announce --help as the sources print it');
  writeFileSync(join(dir, 'bad.yaml'), 'name: x\nservices:\n  web:\n    image: nginx\n    ports: ["99999:80"]\n');
  const bad = await sea(['gen', 'bad.yaml', '--stdout']);
  t.equal(bad.code, 2, 'exit 2 on a bad spec');
  t.match(bad.stderr, 'bad.yaml:5:');
});

t.test('the injector refuses what it cannot do', async (t) => {
  const { injectSeaBlob } = (await import('../../scripts/inject-sea-blob.mjs' as string)) as {
    injectSeaBlob: (elf: Buffer, blob: Buffer) => Buffer;
  };
  t.throws(() => injectSeaBlob(readFileSync(exe), Buffer.from('x')), /already carries a SEA blob/);
  t.throws(() => injectSeaBlob(Buffer.from('#!/bin/sh\necho not elf\n'.padEnd(64)), Buffer.from('x')), /not a 64-bit little-endian ELF/);
  const node = readFileSync(process.execPath);
  const injected = injectSeaBlob(node, Buffer.from('blob'));
  t.ok(injected.subarray(64, 0x200000).equals(node.subarray(64, 0x200000)), 'nothing in the file moves: only the header changes before the end');
  t.equal(injected.readUInt16LE(0x38), node.readUInt16LE(0x38) + 2, 'two program headers more (PT_LOAD, PT_NOTE)');
});
