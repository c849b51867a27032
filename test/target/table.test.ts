// The directive and flag table (src/target/feature-table.ts) against the real output: every example and every
// test spec is rendered for every target, and every directive, value and docker flag of every unit must be in
// the table (an unknown one fails here, so the table stays complete) and exist on the target.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSpec } from '../../src/cluster/load.js';
import type { ClusterSpec } from '../../src/cluster/types.js';
import { renderCluster } from '../../src/render/render.js';
import { DIRECTIVES, DOCKER_FLAGS, PROPERTIES, VALUES, directiveRow, flagRow } from '../../src/target/feature-table.js';
import { checkUnit, dockerFeatures, unitFeatures } from '../../src/target/check-unit.js';
import { TARGETS, TARGET_NAMES, formatDocker } from '../../src/target/targets.js';
import { parseUnit } from '../../src/unit/parse.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every YAML file under `dir` outside golden output. */
function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'golden' || n === 'node_modules' ? [] : yamlFiles(p);
    return /\.ya?ml$/.test(n) ? [p] : [];
  });
}

// Every spec of the repository: the examples and every test spec that loads (error cases do not render).
const specs: Array<[string, ClusterSpec]> = [];
for (const file of [...yamlFiles(join(root, 'examples')), ...yamlFiles(join(root, 'test'))]) {
  try {
    specs.push([relative(root, file), parseSpec(readFileSync(file, 'utf8'), relative(root, file))]);
  } catch {
    // not a loadable cluster spec (an error case, a golden boot document)
  }
}

t.test('the specs exercise every template and both runtime forms', async (t) => {
  const names = specs.map(([f]) => f);
  for (const f of ['examples/seed/cluster.yaml', 'examples/large/cluster.yaml', 'examples/e2e/cluster.yaml', 'test/render/cases/container.yaml', 'test/render/cases/image-runtime.yaml', 'test/render/cases/legacy.yaml']) {
    t.ok(names.includes(f), `${f} is among the rendered specs`);
  }
});

for (const name of TARGET_NAMES) {
  const target = TARGETS[name];
  t.test(`every unit rendered for ${name} uses only what ${name} has`, async (t) => {
    let checked = 0;
    const refused: string[] = [];
    for (const [file, spec] of specs) {
      let r;
      try {
        r = renderCluster({ ...spec, target: name });
      } catch (e) {
        // A spec that asks for something the target lacks is refused with the version it needs, never rendered.
        t.match(e, { code: 'ERR_UNIT_TARGET', message: /needs (Docker|systemd) [\d.]+; target legacy has/ }, `${file} refused for ${name}`);
        refused.push(file);
        continue;
      }
      for (const f of r.files) {
        for (const feature of unitFeatures(f.unit, target)) {
          checked++;
          if (feature.needs === undefined) t.fail(`${file}: ${f.name}: ${feature.what} is not in the feature table`);
          else if (!feature.ok) t.fail(`${file}: ${f.name}: ${feature.what} needs ${feature.needs}; ${name} has systemd ${target.systemd}, Docker ${formatDocker(target.docker)}`);
        }
      }
    }
    t.ok(checked > 300, `${checked} directives and flags checked`);
    // e2e asks for init: true (docker run --init, Docker 1.13); the others for healthcheck.start_period
    // (docker run --health-start-period, Docker 17.05).
    // (The Compose corpus asks for much that legacy lacks; each refusal is checked for its message above.)
    t.strictSame(refused.filter((f) => !f.startsWith('test/compose-corpus/')).sort(), name === 'legacy' ? ['examples/e2e/cluster.yaml', 'examples/large/cluster.yaml', 'test/render/cases/container.yaml'] : [], 'specs refused');
  });
}

t.test('the pinned versions', async (t) => {
  t.equal(directiveRow('Unit', 'Upholds')?.since, 249);
  t.equal(PROPERTIES.find((r) => r.name === 'NRestarts')?.since, 235);
  t.strictSame(flagRow('run', '--pull')?.since, [20, 10]);
  t.strictSame(flagRow('run', '--init')?.since, [1, 13]);
  t.strictSame(flagRow('run', '--health-start-period')?.since, [17, 5]);
  t.equal(VALUES.find((v) => v.name === 'Restart')?.since, 244, 'Restart= in a oneshot');
  t.strictSame(TARGETS.current, { name: 'current', systemd: 252, docker: [20, 10], hosts: 'Flatcar, Debian 12' });
  t.equal(TARGETS.legacy.systemd, 231);
  t.strictSame(TARGETS.legacy.docker, [1, 12]);
});

t.test('every row names its source, and no row is listed twice', async (t) => {
  const rows = [...DIRECTIVES, ...VALUES, ...PROPERTIES, ...DOCKER_FLAGS];
  for (const r of rows) t.ok(r.source.length > 10, `${'name' in r ? r.name : r.command}: ${r.source}`);
  const keys = DIRECTIVES.map((r) => `${r.section}.${r.name}`);
  t.equal(new Set(keys).size, keys.length, 'directives are unique');
  const flags = DOCKER_FLAGS.flatMap((r) => (r.names.length ? r.names.map((n) => `${r.command} ${n}`) : [`${r.command}`]));
  t.equal(new Set(flags).size, flags.length, 'docker flags are unique');
});

t.test('the check finds what a target lacks and what the table does not know', async (t) => {
  const unit = parseUnit('x@.service', [
    '[Unit]',
    'Upholds=y@%i.service',
    'Frobnicate=yes',
    '[Service]',
    'Type=oneshot',
    'Restart=on-failure',
    'ExecStartPre=-/usr/bin/docker -H unix:///run/d.sock rm x-%i',
    'ExecStart=/usr/bin/docker run --rm --init --pull=missing --health-start-period 5s --frob x -e A=1 local/img:1 --not-a-docker-flag',
    'ExecStop=/usr/bin/docker pause x-%i',
    '[X-Fleet]',
    'Anything=goes',
    '',
  ].join('\n'));
  const legacy = checkUnit(unit, TARGETS.legacy).map((f) => `${f.what} ${f.needs ?? 'unknown'}`);
  t.strictSame(legacy, [
    'Upholds= systemd 249',
    'Frobnicate= unknown',
    'docker run --init Docker 1.13',
    'docker run --pull Docker 20.10',
    'docker run --health-start-period Docker 17.05',
    'docker run --frob unknown',
    'docker pause unknown',
    'Restart=on-failure with Type=oneshot systemd 244',
  ]);
  const current = checkUnit(unit, TARGETS.current).map((f) => f.what);
  t.strictSame(current, ['Frobnicate=', 'docker run --frob', 'docker pause'], 'current lacks only what nobody has');
});

t.test('docker words after the image are the container\'s, not docker flags', async (t) => {
  const f = dockerFeatures('Service', 'ExecStart', '/usr/bin/docker run --name a -v /x:/y img --pull=always --init', TARGETS.legacy);
  t.strictSame(f.map((x) => x.what), ['docker run', 'docker run --name', 'docker run -v']);
  t.strictSame(dockerFeatures('Service', 'ExecStart', '/opt/bin/fleetkit agent --pull', TARGETS.legacy), [], 'not docker');
});
