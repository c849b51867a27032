// Shared by the load benches: bundles the TypeScript they exercise (the CLI, the fleet test server) into
// one temporary ES module with esbuild, so a bench runs with plain `node` and measures the code as shipped.
import { build } from 'esbuild';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles `exports` (lines of `export … from './src/…ts'`, relative to the repository) and imports it. */
export async function importBundled(exports) {
  const outfile = join(await mkdtemp(join(tmpdir(), 'fk-load-bench-')), 'bench.mjs');
  await build({
    stdin: { contents: exports.join('\n'), resolveDir: root, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    external: ['x11'],
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  try {
    return await import(pathToFileURL(outfile).href);
  } finally {
    await rm(dirname(outfile), { recursive: true, force: true });
  }
}
