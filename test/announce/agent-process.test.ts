/**
 * The agent as a real process: the sidekick command registers over the socket; kill -9 leaves keys to
 * expire within their TTL; a restart brings them back from the persisted registry (and `announce --list`
 * waits for it and lists them); with --revoke-on-exit, SIGTERM revokes every lease before the process exits 0.
 * A container labelled with its unit has facts on the same lease: they vanish with it after kill -9.
 */
import t from 'tap';
import { join } from 'node:path';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { MACHINE, announceCli, etcdReader, runHttpContainer, tempDir, uniqueName } from './fixtures/fixture.js';
import { spawnCli } from './fixtures/cli-process.js';
import { LABEL_UNIT } from '../../src/etcd/container-facts.js';
import { factsKey } from '../../src/etcd/key-layout.js';

t.test('kill -9, restart, SIGTERM', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const stateDir = await tempDir(t, 'state');
  const prefix = `/fk-proc-${process.pid}`;
  const agentArgs = ['agent', '--etcd', etcd.clientUrl, '--etcd-prefix', prefix, '--state-dir', stateDir,
    '--docker-host', docker.dockerHost, '--flannel-env', join(stateDir, 'none.env'), '--machine-id', MACHINE, '--revoke-on-exit', '--facts-ttl', '5s'];
  const names = [uniqueName('a'), uniqueName('b')];
  const unit = `fk-proc-${process.pid}@1.service`;
  await runHttpContainer(t, docker, names[0]!, ['--label', `${LABEL_UNIT}=${unit}`]);
  await runHttpContainer(t, docker, names[1]!);
  const keys = [`${prefix}/c/a/1`, `${prefix}/c/b/1`];
  const facts = factsKey(prefix, MACHINE, unit);

  let agent = await spawnCli(t, agentArgs);
  await waitFor(() => agent.lines.some((l) => l.includes('agent ready')), { what: 'agent ready', timeoutMs: 40_000 });
  for (const [i, key] of keys.entries()) {
    const r = await announceCli(['--key', key, '--container', names[i]!, '--port', '8080', '--ttl', i === 0 ? '5s' : '6s', '--state-dir', stateDir]);
    t.equal(r.code, 0, `announce ${key}: ${r.err}`);
  }
  const present = async (): Promise<boolean> => (await Promise.all(keys.map((k) => reader.get(k).string()))).every((v) => v !== null);
  const absent = async (): Promise<boolean> => (await Promise.all(keys.map((k) => reader.get(k).string()))).every((v) => v === null);
  await waitFor(present, { what: 'both keys announced', timeoutMs: 40_000 });
  await waitFor(async () => (await reader.get(facts).string()) !== null, { what: 'container facts published', timeoutMs: 15_000 });
  const lease5 = async (k: string): Promise<string | undefined> => (await reader.get(k).exec()).kvs[0]?.lease;
  t.equal(await lease5(facts), await lease5(keys[0]!), 'facts share the lease of the announcements with the same TTL');

  agent.child.kill('SIGKILL');
  const killedAt = Date.now();
  await agent.exited;
  await waitFor(absent, { what: 'keys expired after kill -9', timeoutMs: 10_000, intervalMs: 50 });
  const expiredAfter = Date.now() - killedAt;
  t.ok(expiredAfter <= 6000 + 1000, `keys (TTL 5 s and 6 s) expired ${expiredAfter} ms after kill -9 (≤ TTL + 1 s)`);
  t.equal(await reader.get(facts).string(), null, 'the facts went with the lease');

  // Restart over the stale socket: the registry file and docker ps bring both back, no sidekick involved.
  // `announce --list`, asked before the agent is up, waits for it (the image form's readiness check).
  const listed = announceCli(['--list', '--state-dir', stateDir, '--agent-wait', '40s']);
  agent = await spawnCli(t, agentArgs);
  const list = await listed;
  t.equal(list.code, 0, `announce --list waited for the agent: ${list.err}`);
  t.same(list.out.trim().split('\n').map((l) => (JSON.parse(l) as { key: string }).key).sort(), [...keys].sort(), '--list shows the registrations the agent recovered');
  await waitFor(present, { what: 'keys back after agent restart', timeoutMs: 40_000 });
  t.ok(agent.lines.some((l) => /^holding 2 registration/.test(l)), 'recovered from the persisted registry');

  // SIGTERM: at the moment the process is gone, no key may be left.
  agent.child.kill('SIGTERM');
  const code = await agent.exited;
  t.equal(code, 0, 'exit 0 on SIGTERM');
  t.ok(await absent(), 'every key gone before the agent exited');
  t.ok(agent.lines.some((l) => l.startsWith('stopped: revoked 2 lease(s)')), 'one lease per TTL, both revoked');

  // No agent now: the sidekick fails with a message naming the socket and the unit to start.
  const r = await announceCli(['--key', keys[0]!, '--container', names[0]!, '--state-dir', stateDir, '--agent-wait', '300ms']);
  t.equal(r.code, 1);
  t.match(r.err, `no fleetkit agent answers on ${join(stateDir, 'agent.sock')}`);
  t.match(r.err, 'systemctl start fleetkit-agent-CLUSTER.service');
  // The image form's readiness check fails the same way, so a unit whose agent never answers fails to start.
  const noList = await announceCli(['--list', '--state-dir', stateDir, '--agent-wait', '300ms']);
  t.equal(noList.code, 1, 'announce --list without an agent exits 1');
  t.match(noList.err, `no fleetkit agent answers on ${join(stateDir, 'agent.sock')}`);
  t.equal(noList.out, '', 'and lists nothing');
});

t.test('announce --standalone announces one container in the foreground', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const dir = await tempDir(t, 'standalone');
  const name = uniqueName('solo');
  const key = `/fk-solo-${process.pid}/c/solo/1`;
  await runHttpContainer(t, docker, name);
  const solo = await spawnCli(t, ['announce', '--standalone', '--etcd', etcd.clientUrl, '--etcd-prefix', `/fk-solo-${process.pid}`,
    '--key', key, '--container', name, '--ttl', '5s', '--docker-host', docker.dockerHost, '--flannel-env', join(dir, 'none.env'), '--machine-id', MACHINE]);
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: 'standalone announcement', timeoutMs: 40_000 });
  t.equal((await docker.docker(['kill', name])).code, 0);
  await waitFor(async () => (await reader.get(key).string()) === null, { what: 'standalone withdraws on kill', timeoutMs: 3000 });
  t.equal((await docker.docker(['start', name])).code, 0);
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: 'standalone back after restart', timeoutMs: 15_000 });
  solo.child.kill('SIGTERM');
  t.equal(await solo.exited, 0);
  t.equal(await reader.get(key).string(), null, 'key revoked on SIGTERM');
});
