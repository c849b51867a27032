// Builds dist/fleetkit.cjs: fleetkit and its dependencies in one file, no node_modules at run time.
// Heavy packages stay behind dynamic import() and so are only evaluated by the commands that use them.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const started = performance.now();
await build({
  entryPoints: [join(root, 'src/cli/bin.ts')],
  outfile: join(root, 'dist/fleetkit.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
process.stderr.write(`bundle: dist/fleetkit.cjs in ${Math.round(performance.now() - started)} ms\n`);
