/**
 * Container facts as the agent publishes them, on real dockerd and etcd: a crash loop's restart count and
 * exit code, a requested stop (clean) against a kill (not clean), containers found at start, an etcd outage,
 * and labels that cannot become a record.
 */
import t from 'tap';
import type { Etcd3 } from 'etcd3';
import { dockerPart, etcdPart, waitFor, type DockerPart, type TestLike } from '../env/parts.js';
import { MACHINE, etcdReader, inProcessAgent, uniqueName } from './fixtures/fixture.js';
import { decodeFacts, isCleanExit, LABEL_CLUSTER, LABEL_CONFIG_HASH, LABEL_UNIT, type ContainerFactsRecord } from '../../src/etcd/container-facts.js';
import { factsDir, factsKey } from '../../src/etcd/key-layout.js';
import { readContainerFacts } from '../../src/etcd/read-facts.js';

const HASH = '0123456789abcdef0123456789abcdef';
let n = 0;
const unitName = (what: string): string => `fk-${what}-${process.pid}-${++n}.service`;

/** `docker run -d` of busybox with fleetkit's labels; removed when `t` ends. */
async function run(t: TestLike, docker: DockerPart, name: string, labels: Record<string, string>, args: readonly string[]): Promise<void> {
  const l = Object.entries(labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const r = await docker.docker(['run', '-d', '--name', name, ...l, ...args]);
  if (r.code !== 0) throw new Error(`docker run ${name}: ${r.stderr}`);
  t.teardown(async () => void (await docker.docker(['rm', '-f', name])));
}

async function factsOf(reader: Etcd3, prefix: string, unit: string): Promise<ContainerFactsRecord | undefined> {
  return (await readContainerFacts(reader, prefix, [unit])).get(unit)?.[0];
}

/** Waits until the unit's record satisfies `ok`; returns it. */
function until(reader: Etcd3, prefix: string, unit: string, what: string, ok: (r: ContainerFactsRecord) => boolean, timeoutMs = 15_000): Promise<ContainerFactsRecord> {
  return waitFor(async () => {
    const r = await factsOf(reader, prefix, unit);
    return r && ok(r) ? r : undefined;
  }, { what: `${unit}: ${what}`, timeoutMs, intervalMs: 25 });
}

t.test('facts of a crash loop, a stop and a kill', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const { prefix } = await inProcessAgent(t, etcd, docker, { factsTtl: 5, factsRetainMs: 4000 });

  t.test('a container that exits 1, started again by hand 3 times', async (t) => {
    const unit = unitName('crash');
    const name = uniqueName('crash');
    await run(t, docker, name, { [LABEL_UNIT]: unit, [LABEL_CONFIG_HASH]: HASH }, [docker.busyboxImage, 'sh', '-c', 'exit 1']);
    let r = await until(reader, prefix, unit, 'first exit', (r) => r.phase === 'exited' && r.lastExit === 1);
    t.equal(r.restarts, 0, 'started once: no restart');
    for (let i = 1; i <= 3; i++) {
      t.equal((await docker.docker(['start', name])).code, 0);
      r = await until(reader, prefix, unit, `restart ${i} exited`, (r) => r.restarts === i && r.phase === 'exited');
    }
    t.equal(r.restarts, 3, 'three restarts');
    t.equal(r.lastExit, 1, 'last exit 1');
    t.notOk(isCleanExit(r.lastExit, r.stopRequested), 'not a clean exit');
    t.equal(r.configHash, HASH, 'the hash of the running configuration, from the label');
    t.equal(r.machine, MACHINE);
    t.ok(r.startedAt && r.finishedAt && Date.parse(r.finishedAt) >= Date.parse(r.startedAt), 'start and finish times');
    const kv = (await reader.get(factsKey(prefix, MACHINE, unit)).exec()).kvs[0]!;
    t.not(kv.lease, '0', 'the facts key is on a lease');
  });

  t.test('docker stop: exit 143 after a requested stop, clean', async (t) => {
    const unit = unitName('stop');
    const name = uniqueName('stop');
    // --init: docker-init passes SIGTERM to the sleep and exits 128+15, as a well-behaved service does.
    await run(t, docker, name, { [LABEL_UNIT]: unit }, ['--init', docker.busyboxImage, 'sleep', '300']);
    await until(reader, prefix, unit, 'running', (r) => r.phase === 'running');
    t.equal((await docker.docker(['stop', '-t', '10', name])).code, 0);
    const r = await until(reader, prefix, unit, 'stopped', (r) => r.phase === 'exited' && r.stopRequested === true);
    t.equal(r.lastExit, 143);
    t.ok(isCleanExit(r.lastExit, r.stopRequested), 'clean');
    t.equal(r.restarts, 0);
    t.equal(r.configHash, undefined, 'no hash label, no hash');
  });

  t.test('docker kill -s KILL without a stop: exit 137, not clean', async (t) => {
    const unit = unitName('kill');
    const name = uniqueName('kill');
    await run(t, docker, name, { [LABEL_UNIT]: unit }, ['--init', docker.busyboxImage, 'sleep', '300']);
    await until(reader, prefix, unit, 'running', (r) => r.phase === 'running');
    t.equal((await docker.docker(['kill', '-s', 'KILL', name])).code, 0);
    const r = await until(reader, prefix, unit, 'killed', (r) => r.phase === 'exited');
    t.equal(r.lastExit, 137);
    t.equal(r.stopRequested, false, 'no stop was asked for');
    t.notOk(isCleanExit(r.lastExit, r.stopRequested), 'not clean');
    // Removed: its facts stay, with the last exit, as absent.
    t.equal((await docker.docker(['rm', name])).code, 0);
    const gone = await until(reader, prefix, unit, 'absent', (r) => r.phase === 'absent');
    t.equal(gone.lastExit, 137, 'the last exit outlives the container');
    // Gone for longer than the retention (4 s here, 10 min by default): the facts go too.
    await waitFor(async () => (await reader.get(factsKey(prefix, MACHINE, unit)).string()) === null, { what: 'facts deleted after the retention', timeoutMs: 15_000 });
  });

  t.test('labels that are not unit names: skipped, one log line each, nothing malformed in etcd', async (t) => {
    const { lines, prefix: p2 } = await inProcessAgent(t, etcd, docker, { factsTtl: 5 });
    const good = unitName('good');
    const bad = ['web@1.service\nExecStart=/bin/sh -c reboot', `${'x'.repeat(100_000)}.service`, 'web@1.service/../../other', ''];
    const names = bad.map(() => uniqueName('bad'));
    for (const [i, label] of bad.entries()) await run(t, docker, names[i]!, { [LABEL_UNIT]: label }, [docker.busyboxImage, 'sh', '-c', 'exit 3']);
    // A valid unit with a hash label that is no hash: published, without the hash.
    const goodName = uniqueName('good');
    await run(t, docker, goodName, { [LABEL_UNIT]: good, [LABEL_CONFIG_HASH]: 'a b\nc' }, [docker.busyboxImage, 'sh', '-c', 'exit 3']);
    const r = await until(reader, p2, good, 'exited', (r) => r.phase === 'exited' && r.lastExit === 3);
    t.equal(r.configHash, undefined, 'a malformed hash label is left out');
    // Each bad container gave a start and a die (two events): one line each all the same.
    for (const name of names) {
      await waitFor(() => lines.some((l) => l.includes(`container ${name}:`)), { what: `the line for ${name}` });
      t.equal(lines.filter((l) => l.includes(`container ${name}:`)).length, 1, `one line for ${name}`);
    }
    t.ok(lines.every((l) => l.length < 1000), 'no log line carries the huge label');
    const kvs = await reader.getAll().prefix(factsDir(p2)).strings();
    t.strictSame(Object.keys(kvs), [factsKey(p2, MACHINE, good)], 'only the valid unit has a key');
    for (const v of Object.values(kvs)) t.ok(decodeFacts(v), 'every value decodes');
  });
});

t.test('containers found at start and after an etcd outage', async (t) => {
  const etcd = await etcdPart(t, { private: true });
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const up = unitName('up');
  const dies = unitName('dies');
  const removed = unitName('removed');
  const [upName, diesName, removedName] = [uniqueName('up'), uniqueName('dies'), uniqueName('removed')];
  await run(t, docker, upName, { [LABEL_UNIT]: up, [LABEL_CONFIG_HASH]: HASH }, ['--init', docker.busyboxImage, 'sleep', '300']);
  await run(t, docker, diesName, { [LABEL_UNIT]: dies }, ['--init', docker.busyboxImage, 'sleep', '300']);
  await run(t, docker, removedName, { [LABEL_UNIT]: removed }, [docker.busyboxImage, 'sh', '-c', 'exit 7']);
  await waitFor(async () => (await docker.docker(['inspect', '-f', '{{.State.Status}}', removedName])).stdout.trim() === 'exited', { what: 'exited' });

  // The agent starts after the containers: it finds them with docker ps -a and inspect.
  const { lines, prefix } = await inProcessAgent(t, etcd, docker, { factsTtl: 5 });
  const first = await until(reader, prefix, up, 'found running', (r) => r.phase === 'running');
  t.equal(first.restarts, 0, 'a container found running counts from 0 (docker keeps no count for --rm containers)');
  t.equal(first.configHash, HASH);
  const ex = await until(reader, prefix, removed, 'found exited', (r) => r.phase === 'exited');
  t.equal(ex.lastExit, 7, 'the exit code from inspect');
  t.equal(ex.stopRequested, undefined, 'an exit the agent did not see claims no stop');
  t.ok(ex.finishedAt, 'finish time from inspect');

  await etcd.kill();
  t.equal((await docker.docker(['kill', '-s', 'KILL', diesName])).code, 0);
  t.equal((await docker.docker(['rm', '-f', removedName])).code, 0);
  await waitFor(() => lines.some((l) => l.includes('etcd write of')), { what: 'the agent saw etcd fail', timeoutMs: 15_000 });
  await etcd.start();
  const d = await until(reader, prefix, dies, 'the kill during the outage', (r) => r.phase === 'exited' && r.lastExit === 137);
  t.equal(d.stopRequested, false);
  await until(reader, prefix, removed, 'the removal during the outage', (r) => r.phase === 'absent');
  t.equal((await factsOf(reader, prefix, up))!.phase, 'running', 'the container that stayed up is still running');
  t.ok(lines.some((l) => l.includes('etcd answers again')));
});

t.test('an agent with --cluster publishes only its own cluster\'s containers (two agents on a host never share a key)', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const { prefix } = await inProcessAgent(t, etcd, docker, { factsTtl: 5, cluster: 'shop' });
  const own = unitName('own');
  const other = unitName('other');
  // The other cluster's container starts first: were it not left out, its record would be written first.
  await run(t, docker, uniqueName('other'), { [LABEL_UNIT]: other, [LABEL_CLUSTER]: 'blog' }, [docker.busyboxImage, 'sh', '-c', 'exit 3']);
  await run(t, docker, uniqueName('own'), { [LABEL_UNIT]: own, [LABEL_CLUSTER]: 'shop' }, [docker.busyboxImage, 'sh', '-c', 'exit 4']);
  const r = await until(reader, prefix, own, 'own exit', (r) => r.phase === 'exited' && r.lastExit === 4);
  t.equal(r.unit, own);
  const keys = (await reader.getAll().prefix(factsDir(prefix)).keys()).sort();
  t.same(keys, [factsKey(prefix, MACHINE, own)], 'only the own cluster\'s unit has a facts key');
});
