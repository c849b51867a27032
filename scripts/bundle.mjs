// Builds dist/fleetkit.cjs: fleetkit and its dependencies in one file, no node_modules at run time.
// Heavy packages stay behind dynamic import() and so are only evaluated by the commands that use them.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { inlineEtcdProtos } from './inline-etcd-protos.mjs';
import { absentOptionalModules } from './absent-optional-modules.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

// Templates: src/render/template-specs.ts compiles templates/*.hbs at run time with the full handlebars
// compiler. The bundle swaps it for a module of the same exports whose templates were precompiled here and
// need only handlebars/runtime: no compiler, no template files at run time, a faster start.
const templatesPlugin = {
  name: 'precompiled-templates',
  setup(b) {
    b.onResolve({ filter: /^\.\/template-specs\.js$/ }, (args) =>
      args.importer.endsWith(join('src', 'render', 'templates.ts')) ? { path: 'template-specs', namespace: 'fleetkit-templates' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'fleetkit-templates' }, () => {
      const Handlebars = createRequire(import.meta.url)('handlebars');
      const source = readFileSync(join(root, 'src/render/template-specs.ts'), 'utf8');
      const names = JSON.parse(/TEMPLATE_NAMES = (\[[^\]]*\])/.exec(source)[1].replaceAll("'", '"'));
      const options = { noEscape: true, strict: true };
      const specs = names.map((n) => `  ${JSON.stringify(n)}: hb.template(${Handlebars.precompile(readFileSync(join(root, 'templates', `${n}.hbs`), 'utf8'), options)}),`);
      return {
        resolveDir: root,
        loader: 'js',
        contents: [
          "import Handlebars from 'handlebars/runtime';",
          `export const TEMPLATE_NAMES = ${JSON.stringify(names)};`,
          `export const COMPILE_OPTIONS = ${JSON.stringify(options)};`,
          'export function loadTemplates() {',
          '  const hb = Handlebars.create();',
          '  return {',
          ...specs,
          '  };',
          '}',
        ].join('\n'),
      };
    });
  },
};

const started = performance.now();
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  // dbus-next requires the optional `x11` package only for X11 bus addresses, which fleetkit never uses.
  external: ['x11'],
  // The bundle reads no file at run time: etcd3's .proto definitions are inlined, and optional native
  // modules are absent on purpose (see the two plugins).
  plugins: [templatesPlugin, inlineEtcdProtos(), absentOptionalModules()],
};
// `node dist/fleetkit.cjs ARGS…` runs the CLI (the image's entrypoint, the SEA's main); `require()` of the
// file only exports runProcess (bin/).
const selfRun = { js: 'if(require.main===module)module.exports.runProcess(process.argv.slice(2));' };
await Promise.all([
  build({ ...common, footer: selfRun, entryPoints: [join(root, 'src/cli/bin.ts')], outfile: join(root, 'dist/fleetkit.cjs') }),
  // bin/gen-units.cjs: the render path alone (a few hundred KB instead of the whole CLI), for start-up time.
  build({ ...common, entryPoints: [join(root, 'src/cli/gen-units-bin.ts')], outfile: join(root, 'dist/gen-units.cjs') }),
]);
// V8 code cache for bin/gen-units.cjs, made by one real render of the seed example (see that file).
rmSync(join(root, 'dist/gen-units.cache'), { force: true });
const scratch = mkdtempSync(join(tmpdir(), 'fleetkit-cache-'));
const warm = spawnSync(process.execPath, [join(root, 'bin/gen-units.cjs'), join(root, 'examples/seed/cluster.yaml'), '-o', scratch], {
  env: { ...process.env, FLEETKIT_WRITE_CODE_CACHE: '1' },
  encoding: 'utf8',
});
rmSync(scratch, { recursive: true, force: true });
if (warm.status !== 0) process.stderr.write(`bundle: no code cache for gen-units (${warm.stderr.trim()})\n`);
process.stderr.write(`bundle: dist/fleetkit.cjs, dist/gen-units.cjs, dist/gen-units.cache in ${Math.round(performance.now() - started)} ms\n`);
