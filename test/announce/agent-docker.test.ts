/**
 * The agent follows a real container: announced only once healthy, withdrawn at once when killed, back
 * after a restart once healthy again, and gone when withdrawn.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { MACHINE, etcdReader, healthOf, inProcessAgent, runHttpContainer, uniqueName } from './fixtures/fixture.js';

t.test('a container with a health check', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const { agent, lines, stateDir, prefix } = await inProcessAgent(t, etcd, docker);
  const name = uniqueName('web');
  const key = `${prefix}/web/app/1`;
  await runHttpContainer(t, docker, name);

  const state = await agent.register({ key, container: name, port: 8080, ttl: 10, hostname: 'app-1' });
  t.equal(state, 'down', 'a starting container is registered but not announced');
  t.equal(await reader.get(key).string(), null, 'no key while health is starting');
  const persisted = JSON.parse(await readFile(join(stateDir, 'registry.json'), 'utf8'));
  t.same(persisted.registrations.map((r: { key: string }) => r.key), [key], 'registry persisted before the reply');

  // Poll etcd for the key; the moment it appears docker must already call the container healthy.
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: `key ${key}`, timeoutMs: 15_000, intervalMs: 20 });
  t.equal(await healthOf(docker, name), 'healthy', 'key appears only once healthy');
  const record = JSON.parse((await reader.get(key).string())!);
  const ip = (await docker.docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name])).stdout.trim();
  t.match(record, { ip, port: 8080, hostname: 'app-1', machine: MACHINE, container: name, version: 1 });
  t.match(record.time, /^\d{4}-\d\d-\d\dT/);
  const lease = (await reader.get(key).exec()).kvs[0]?.lease;
  t.not(lease, '0', 'the key lives on a lease');

  const killedAt = Date.now();
  t.equal((await docker.docker(['kill', name])).code, 0);
  // `docker kill` returns once the container is dead; the CLI's own start-up is not the agent's latency.
  const deadAt = Date.now();
  await waitFor(async () => (await reader.get(key).string()) === null, { what: 'key withdrawn after docker kill', timeoutMs: 5000, intervalMs: 5 });
  const took = Date.now() - deadAt;
  t.ok(took < 1000, `key gone ${took} ms after docker kill returned (${Date.now() - killedAt} ms after it was run; bench/agent-kill.mjs measures the p99)`);
  t.ok(lines.some((l) => l.startsWith('<6>') && l.includes(key) && l.includes(name) && /down \((kill|die)\)/.test(l)), 'log line names key, container and cause');

  t.equal((await docker.docker(['start', name])).code, 0);
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: 'key back after restart', timeoutMs: 15_000, intervalMs: 20 });
  t.equal(await healthOf(docker, name), 'healthy', 'back only once healthy again');
  t.equal(agent.stateOf(key), 'announced');

  t.equal(await agent.withdraw(key), true);
  await waitFor(async () => (await reader.get(key).string()) === null, { what: 'key deleted by withdraw', timeoutMs: 3000 });
  t.equal(agent.registry.size, 0);
  const after = JSON.parse(await readFile(join(stateDir, 'registry.json'), 'utf8'));
  t.same(after.registrations, [], 'withdraw persisted');
});

t.test('a health check turning unhealthy withdraws the key; healthy again announces it', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const { agent, prefix } = await inProcessAgent(t, etcd, docker);
  const name = uniqueName('plain');
  const key = `${prefix}/plain/1`;
  // A health check that turns unhealthy when /tmp/bad exists.
  await runHttpContainer(t, docker, name, ['--health-cmd', 'test ! -e /tmp/bad', '--health-interval', '500ms', '--health-retries', '1']);
  await agent.register({ key, container: name, ttl: 10 });
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: 'announced when healthy', timeoutMs: 10_000 });
  t.equal((await docker.docker(['exec', name, 'touch', '/tmp/bad'])).code, 0);
  await waitFor(async () => (await reader.get(key).string()) === null, { what: 'withdrawn when unhealthy', timeoutMs: 10_000 });
  t.equal(await healthOf(docker, name), 'unhealthy');
  t.equal((await docker.docker(['exec', name, 'rm', '/tmp/bad'])).code, 0);
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: 'announced again when healthy', timeoutMs: 10_000 });
});

t.test('a container without a health check: announced while running, withdrawn on docker stop', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const { agent, prefix } = await inProcessAgent(t, etcd, docker);
  const name = uniqueName('nohc');
  const key = `${prefix}/nohc/1`;
  const r = await docker.docker(['run', '-d', '--init', '--name', name, docker.busyboxImage, 'sleep', '300']);
  t.equal(r.code, 0, r.stderr);
  t.teardown(async () => void (await docker.docker(['rm', '-f', name])));
  t.equal(await agent.register({ key, container: name, ttl: 10 }), 'announced', 'no health check: running is enough');
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: 'announced', timeoutMs: 5000 });
  t.equal((await docker.docker(['stop', '-t', '1', name])).code, 0);
  await waitFor(async () => (await reader.get(key).string()) === null, { what: 'withdrawn on stop', timeoutMs: 3000 });
  t.equal(agent.stateOf(key), 'down');
});
