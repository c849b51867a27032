// The npm package as a user gets it: `npm pack` of the repository (the bundles, bin/, LICENSE; no runtime
// dependencies), installed from the tarball into a clean prefix with `npm install -g --prefix`, offline and
// without dev tools, then `fleetkit --version` and `gen-units` on the seed example from there. And
// `npm ci --omit=dev` on the repository, which must need nothing (no build step, no esbuild).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT, VERSION } from './standalone.js';

const tmp = mkdtempSync(join(tmpdir(), 'fleetkit-npm-'));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

/** npm and the installed commands with nothing of the test runner's environment and no network. */
function run(cmd: string, args: readonly string[], cwd: string): { code: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${dirname(process.execPath)}:/usr/bin:/bin`,
    npm_config_cache: join(tmp, 'npm-cache'),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  delete env.NODE_OPTIONS;
  delete env.NODE_PATH;
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;

t.test('package.json: no runtime dependencies, no install-time build, a license file', async (t) => {
  t.notOk('dependencies' in pkg, 'everything the commands need is in the bundle');
  t.notOk('prepare' in (pkg['scripts'] as object), 'installs run no build (esbuild is a dev tool)');
  t.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^\s+Apache License\s+Version 2\.0, January 2004[\s\S]+END OF TERMS AND CONDITIONS/);
  t.equal(pkg['license'], 'Apache-2.0');
});

// The bundles were built by `npm test` (npm run build); pack them as they are: a build here would rewrite
// dist/ under the other test files of the run.
const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], ROOT);
const tarball = join(tmp, `fleetkit-${VERSION}.tgz`);

t.test('npm pack: the bundles, bin/ and LICENSE, nothing else to run', async (t) => {
  t.equal(packed.code, 0, packed.stderr);
  t.ok(existsSync(tarball), tarball);
  const list = run('tar', ['tzf', tarball], tmp).stdout.trim().split('\n').sort();
  for (const f of ['package/LICENSE', 'package/bin/fleetkit.cjs', 'package/bin/gen-units.cjs', 'package/dist/fleetkit.cjs', 'package/dist/gen-units.cjs', 'package/package.json']) {
    t.ok(list.includes(f), `holds ${f}`);
  }
  t.notOk(list.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/') || f.startsWith('package/templates/')), 'no sources, tests or templates (the bundle has them precompiled)');
});

t.test('npm install -g from the tarball into a clean prefix, offline, then the commands', async (t) => {
  const prefix = join(tmp, 'prefix');
  const install = run('npm', ['install', '-g', '--prefix', prefix, tarball], tmp);
  t.equal(install.code, 0, install.stderr);
  const installed = join(prefix, 'lib/node_modules/fleetkit');
  t.ok(existsSync(join(installed, 'dist/fleetkit.cjs')), 'the bundle is installed');
  t.notOk(existsSync(join(installed, 'node_modules')), 'no dependency was installed with it');
  t.strictSame(readdirSync(join(prefix, 'lib/node_modules')), ['fleetkit'], 'one package in the prefix');

  const version = run(join(prefix, 'bin/fleetkit'), ['--version'], tmp);
  t.equal(version.code, 0, version.stderr);
  t.equal(version.stdout.trim(), `fleetkit ${VERSION}`);

  const work = join(tmp, 'work');
  run('mkdir', ['-p', work], tmp);
  copyFileSync(join(ROOT, 'examples/seed/cluster.yaml'), join(work, 'cluster.yaml'));
  const gen = run(join(prefix, 'bin/gen-units'), ['cluster.yaml', '-o', 'units'], work);
  t.equal(gen.code, 0, gen.stderr);
  t.match(gen.stdout, /^units\/fleetkit-agent-web\.service$/m);
  // The committed render of the seed example (checked against the sources by test/render/examples.test.ts).
  const expected = readdirSync(join(ROOT, 'examples/seed/units')).sort();
  t.strictSame(readdirSync(join(work, 'units')).sort(), expected);
  for (const f of expected) t.equal(readFileSync(join(work, 'units', f), 'utf8'), readFileSync(join(ROOT, 'examples/seed/units', f), 'utf8'), `units/${f} as committed`);

  const bad = run(join(prefix, 'bin/gen-units'), ['missing.yaml'], work);
  t.equal(bad.code, 2, 'a missing spec is a usage error');
  t.notMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});

t.test('npm ci --omit=dev on the repository needs nothing', async (t) => {
  const repo = join(tmp, 'repo');
  run('mkdir', ['-p', repo], tmp);
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, f), join(repo, f));
  const ci = run('npm', ['ci', '--omit=dev'], repo);
  t.equal(ci.code, 0, ci.stderr);
  const modules = existsSync(join(repo, 'node_modules')) ? readdirSync(join(repo, 'node_modules')).filter((n) => !n.startsWith('.')) : [];
  t.strictSame(modules, [], 'no package installed');
});
