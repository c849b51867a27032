/**
 * Finding and reading a cluster file as `docker compose` does: default names and their order, parent
 * directories, stdin, `.env` and `--env-file`, the project name's precedence, interpolation before the
 * schema (typed values, located errors naming the variable), and env_file read with the .env rules.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCluster, type ClusterFileOptions } from '../../src/cluster/cluster-file.js';
import { SpecError, UsageError, formatWarning } from '../../src/errors.js';
import { dockerRunArgs } from '../../src/render/docker-run-args.js';

const root = mkdtempSync(join(tmpdir(), 'fleetkit-cluster-file-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh directory `name` holding `files`. */
function dir(files: Record<string, string>, name = `proj-${++n}`): string {
  const d = join(root, name);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), text);
  }
  mkdirSync(d, { recursive: true });
  return d;
}
const svc = (image: string) => `services:\n  web:\n    image: ${image}\n`;
const load = (o: Partial<ClusterFileOptions> & { cwd: string }) => loadCluster({ file: undefined, env: {}, ...o });
const warnings = (w: readonly Parameters<typeof formatWarning>[0][]) => w.map((x) => formatWarning(x));

t.test('default names in compose-go order; the first wins, with a warning', async (t) => {
  const all = { 'cluster.yaml': svc('e'), 'docker-compose.yaml': svc('d'), 'docker-compose.yml': svc('c'), 'compose.yml': svc('b'), 'compose.yaml': svc('a') };
  const order = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml', 'cluster.yaml'];
  for (let i = 0; i < order.length; i++) {
    const files = Object.fromEntries(order.slice(i).map((f) => [f, all[f as keyof typeof all]]));
    const cwd = dir(files);
    const got = await load({ cwd });
    t.equal(got.shown, order[i], `${order.slice(i).join(', ')} → ${order[i]}`);
    t.equal(got.spec.services[0]?.image, all[order[i] as keyof typeof all].trim().split(' ').pop());
    if (i < order.length - 1) t.match(warnings(got.warnings)[0], new RegExp(`found several cluster files: ${order.slice(i).join(', ')}; using ${order[i]}`));
    else t.same(got.warnings, []);
  }
});

t.test('the nearest parent directory that has one; its name names the cluster', async (t) => {
  const top = dir({ 'compose.yaml': svc('nginx'), 'a/b/.keep': '' }, 'ShopFront');
  const got = await load({ cwd: join(top, 'a/b') });
  t.equal(got.shown, '../../compose.yaml');
  t.equal(got.spec.name, 'shopfront', 'the directory of the file, lower-cased');
});

t.test('a directory name that normalizes to a label names the cluster; one that does not is a located problem', async (t) => {
  const good = dir({ 'compose.yaml': svc('nginx') }, 'My.Shop');
  t.equal((await load({ cwd: good })).spec.name, 'myshop', 'lower case, "." dropped (compose-go NormalizeProjectName)');
  const bad = dir({ 'compose.yaml': svc('nginx') }, 'my_shop');
  const err = await load({ cwd: bad }).catch((e: unknown) => e);
  t.ok(err instanceof SpecError);
  t.match((err as SpecError).format(), /compose\.yaml:1:1: the cluster is named after its directory, "my_shop", which is not an RFC 1123 label/);
  t.match((err as SpecError).format(), /hint: add name: NAME at the top, or pass -p NAME/);
});

t.test('none found: a usage error naming every default name', async (t) => {
  const empty = dir({ '.keep': '' }, 'empty');
  const err = await load({ cwd: empty }).catch((e: unknown) => e);
  // The temp dir's parents (/tmp, /) hold no compose file on the test machines.
  t.ok(err instanceof UsageError);
  t.match((err as UsageError).message, /no compose\.yaml, compose\.yml, docker-compose\.yml, docker-compose\.yaml, cluster\.yaml in /);
});

t.test('"-" reads stdin; .env and the name come from the working directory', async (t) => {
  const cwd = dir({ '.env': 'TAG=1.27\n' }, 'from-stdin');
  const got = await load({ cwd, file: '-', readStdin: async () => svc('nginx:${TAG}') });
  t.equal(got.shown, '<stdin>');
  t.equal(got.spec.services[0]?.image, 'nginx:1.27');
  t.equal(got.spec.name, 'from-stdin');
});

t.test('the name: -p, then COMPOSE_PROJECT_NAME (shell, then .env), then name:, then the directory', async (t) => {
  const cwd = dir({ 'compose.yaml': `name: from-file\n${svc('nginx')}`, '.env': 'COMPOSE_PROJECT_NAME=from-dotenv\n' }, 'from-dir');
  t.equal((await load({ cwd, projectName: 'from-flag', env: { COMPOSE_PROJECT_NAME: 'from-shell' } })).spec.name, 'from-flag');
  t.equal((await load({ cwd, env: { COMPOSE_PROJECT_NAME: 'from-shell' } })).spec.name, 'from-shell');
  t.equal((await load({ cwd })).spec.name, 'from-dotenv');
  const noDotenv = dir({ 'compose.yaml': `name: from-file\n${svc('nginx')}` }, 'from-dir2');
  t.equal((await load({ cwd: noDotenv })).spec.name, 'from-file');
  t.equal((await load({ cwd: dir({ 'compose.yaml': svc('nginx') }, 'from-dir3') })).spec.name, 'from-dir3');
  const bad = await load({ cwd, projectName: 'Shop' }).catch((e: unknown) => e);
  t.ok(bad instanceof UsageError);
  t.match((bad as UsageError).message, /^-p\/--project-name: invalid cluster name "Shop"/);
  const badEnv = await load({ cwd, env: { COMPOSE_PROJECT_NAME: 'a_b' } }).catch((e: unknown) => e);
  t.match((badEnv as UsageError).message, /^COMPOSE_PROJECT_NAME: invalid cluster name "a_b"/);
});

t.test('variables: the shell over .env; --env-file replaces .env; .env interpolates from the shell', async (t) => {
  const file = `name: v\nservices:\n  web:\n    image: "nginx:\${TAG}"\n    environment: { A: "\${A}", B: "\${B:-none}", C: "\${C}" }\n`;
  const cwd = dir({ 'compose.yaml': file, '.env': 'TAG=from-dotenv\nA=dotenv-a\nC=${TAG}-c\n', 'other.env': 'TAG=from-other\n', 'more.env': 'B=more-b\nTAG=from-more\n' });
  const env = (o: Partial<ClusterFileOptions> = {}) => load({ cwd, ...o }).then((g) => [g.spec.services[0]?.image, Object.fromEntries(g.spec.services[0]?.environment ?? [])]);
  t.same(await env(), ['nginx:from-dotenv', { A: 'dotenv-a', B: 'none', C: 'from-dotenv-c' }]);
  t.same(await env({ env: { TAG: 'from-shell' } }), ['nginx:from-shell', { A: 'dotenv-a', B: 'none', C: 'from-shell-c' }], 'the shell wins, also inside .env');
  t.same(await env({ envFiles: ['other.env', 'more.env'] }), ['nginx:from-more', { A: '', B: 'more-b', C: '' }], '.env is not read; later files win');
  const missing = await load({ cwd, envFiles: ['nope.env'] }).catch((e: unknown) => e);
  t.ok(missing instanceof UsageError);
  t.match((missing as UsageError).message, /--env-file nope\.env: cannot read: ENOENT/);
});

t.test('interpolation comes before the schema: typed values from variables; keys stay as written', async (t) => {
  const file = ['name: typed', 'services:', '  web:', '    image: nginx', '    scale: ${N}', '    healthcheck: { test: [CMD, "true"], retries: "${R:-3}", disable: "${OFF:-false}" }', '    labels: { "${KEY}": v }', ''].join('\n');
  const got = await load({ cwd: dir({ 'compose.yaml': file }), env: { N: '4', KEY: 'k' } });
  const web = got.spec.services[0];
  t.equal(web?.replicas, 4);
  t.equal(web?.healthcheck?.retries, 3);
  t.same(web?.labels, [['${KEY}', 'v']]);
});

t.test('every problem in one pass, located, naming the variable: .env, the file and env files together', async (t) => {
  const file = [
    'name: bad',
    'services:',
    '  web:',
    '    image: "nginx:${TAG:?set TAG to the release}"',
    '    scale: ${N}',
    '    command: "echo ${oops"',
    '    env_file: ./web.env',
    '    ports: ["80a"]',
    '',
  ].join('\n');
  const cwd = dir({ 'compose.yaml': file, '.env': 'N=many\nBROKEN KEY=1\n', 'web.env': 'OK=1\nQ="open\n' });
  const err = await load({ cwd }).catch((e: unknown) => e);
  t.ok(err instanceof SpecError);
  t.same((err as SpecError).format().split('\n').filter((l) => !l.startsWith('  hint')), [
    'compose.yaml:4:12: services.web.image: required variable TAG is missing a value: set TAG to the release',
    'compose.yaml:5:12: services.web.scale: expected a whole number, got "many"',
    'compose.yaml:6:14: services.web.command: invalid interpolation format in "echo ${oops": "${" must be followed by a name and an optional :-, -, :?, ?, :+ or + part, then "}"',
    'compose.yaml:8:13: services.web.ports[0]: expected a whole number from 1 to 65535, got "80a"',
    '.env:2:1: a variable name cannot contain a space: "BROKEN KEY=1"',
    'web.env:2:1: unterminated quoted value: "\\"open"',
    '6 problems; nothing was written.',
  ]);
});

t.test('env_file: read beside the file with the .env rules; environment wins; optional files may be missing', async (t) => {
  const file = [
    'name: envs',
    'services:',
    '  web:',
    '    image: nginx',
    '    env_file: [./a.env, { path: ./b.env }, { path: ./missing.env, required: false }]',
    '    environment: [SHARED=from-environment]',
    '',
  ].join('\n');
  const cwd = dir({ 'compose.yaml': file, 'a.env': 'SHARED=from-a\nONLY_A="x\\ny"\nFROM_SHELL=$USER_NAME\n', 'b.env': "ONLY_A=from-b\nRAW='$HOME'\n" });
  const got = await load({ cwd, env: { USER_NAME: 'ann' } });
  t.same(got.spec.services[0]?.environment, [['SHARED', 'from-environment'], ['ONLY_A', 'from-b'], ['FROM_SHELL', 'ann'], ['RAW', '$HOME']]);
  t.notOk(dockerRunArgs(got.spec.services[0]!, 'web-1').includes('--env-file'), 'no --env-file: docker never reads a file on the host');
  const missing = await load({ cwd: dir({ 'compose.yaml': file.replace('./b.env', './nope.env'), 'a.env': '' }) }).catch((e: unknown) => e);
  t.match((missing as SpecError).format(), /compose\.yaml:5:\d+: services\.web\.env_file\[1\]\.path: env file "\.\/nope\.env" cannot be read: no such file/);
});

t.test('warnings: an unset variable, a $NAME taken from the shell, a deprecated top-level key; all located', async (t) => {
  const file = ['name: w', 'etcd: { prefix: /svc }', 'services:', '  web:', '    image: nginx', '    command: ["sh", "-c", "echo $HOME ${HOME} $$HOME $NOT_SET"]', ''].join('\n');
  const got = await load({ cwd: dir({ 'compose.yaml': file }), env: { HOME: '/home/ann' } });
  t.same(got.spec.services[0]?.command, ['sh', '-c', 'echo /home/ann /home/ann $HOME ']);
  t.same(got.spec.etcd.prefix, '/svc');
  t.same(warnings(got.warnings).map((w) => w.split('\n')[0]), [
    'compose.yaml:2:1: etcd: warning: top-level "etcd" is deprecated: fleetkit\'s own keys go under x-fleetkit, which docker compose also accepts',
    'compose.yaml:6:27: services.web.command[2]: warning: variable NOT_SET is not set; it becomes an empty string',
    'compose.yaml:6:27: services.web.command[2]: warning: $HOME is replaced by the value of HOME in your shell',
  ]);
});
