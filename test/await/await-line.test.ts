// The pure parts of depends_on: the rule for when a dependency counts as announced (shared by `fleetkit
// await` and status), and the target check reading the docker command behind `fleetkit await … --`.
import t from 'tap';
import { keySatisfied, missingServices, waitingFor } from '../../src/cluster/dependency-wait.js';
import { dockerFeatures } from '../../src/target/check-unit.js';
import { TARGETS } from '../../src/target/targets.js';

t.test('exact keys, and a directory satisfied by any key under it', async (t) => {
  const present = new Set(['/s/c/db/1', '/s/c/queue/host-a']);
  t.ok(keySatisfied('/s/c/db/1', present));
  t.notOk(keySatisfied('/s/c/db/10', present), 'an exact key is not a prefix');
  t.notOk(keySatisfied('/s/c/db/', new Set(['/s/c/db/'])), 'the directory itself is no announcement');
  t.ok(keySatisfied('/s/c/queue/', present));
  t.strictSame(missingServices([{ service: 'db', keys: ['/s/c/db/1', '/s/c/db/2'] }, { service: 'queue', keys: ['/s/c/queue/'] }], present), ['db']);
});

t.test('"waiting for" only when active, the container known not to run, and a dependency missing', async (t) => {
  const deps = [{ service: 'db', keys: ['/s/c/db/1'] }, { service: 'cache', keys: [] }, { service: 'mq', keys: ['/s/c/mq/1'] }];
  const none = new Set<string>();
  t.equal(waitingFor({ unitActive: true, containerRunning: false, deps, announced: none }), 'waiting for db, mq', 'a dependency that is not awaited (no keys) is not named');
  t.equal(waitingFor({ unitActive: true, containerRunning: false, deps, announced: new Set(['/s/c/db/1']) }), 'waiting for mq');
  t.equal(waitingFor({ unitActive: true, containerRunning: undefined, deps, announced: none }), undefined, 'unknown container: no claim');
  t.equal(waitingFor({ unitActive: false, containerRunning: false, deps, announced: none }), undefined);
  t.equal(waitingFor({ unitActive: true, containerRunning: true, deps, announced: none }), undefined);
});

t.test('the target check reads the docker command after the wait', async (t) => {
  const line = '/opt/bin/fleetkit await --etcd http://127.0.0.1:2379 --need db=/s/c/db/1 -- /usr/bin/docker run --rm --pull=missing --init img';
  const legacy = dockerFeatures('Service', 'ExecStart', line, TARGETS.legacy);
  t.strictSame(legacy.filter((f) => !f.ok).map((f) => f.what), ['docker run --pull', 'docker run --init']);
  t.ok(dockerFeatures('Service', 'ExecStart', line, TARGETS.current).every((f) => f.ok));
  t.strictSame(dockerFeatures('Service', 'ExecStart', '/opt/bin/fleetkit await --need db=/k -- /bin/true --pull', TARGETS.legacy), [], 'only docker is checked');
});

t.test('the configuration hash of a waiting unit is read past the wait, and matches its label', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { parseSpec } = await import('../../src/cluster/load.js');
  const { renderCluster } = await import('../../src/render/render.js');
  const { configHashOfUnit } = await import('../../src/render/config-hash.js');
  const spec = parseSpec(readFileSync(new URL('../render/cases/depends.yaml', import.meta.url), 'utf8'), 'depends.yaml');
  const api = renderCluster(spec).files.find((f) => f.name === 'api@.service')!;
  t.match(api.text, /ExecStart=\/opt\/bin\/fleetkit await /);
  const hash = configHashOfUnit(api.text, api.name);
  t.type(hash, 'string');
  t.match(api.text, `fleetkit.config-hash=${hash}`);
});
