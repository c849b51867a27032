/**
 * etcd killed and restarted under a running agent: registrations keep being accepted, and once etcd
 * answers every live announcement is back within 2 s, including those made during the outage; a lease
 * lost during a long outage is replaced and its keys put again.
 */
import t from 'tap';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { etcdReader, inProcessAgent, runHttpContainer, uniqueName } from './fixtures/fixture.js';

t.test('etcd killed for 5 s, then restarted', async (t) => {
  const etcd = await etcdPart(t, { private: true });
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const { agent, lines, prefix } = await inProcessAgent(t, etcd, docker);
  const names = [uniqueName('o1'), uniqueName('o2'), uniqueName('o3'), uniqueName('o4')];
  await Promise.all(names.map((n) => runHttpContainer(t, docker, n)));
  await Promise.all(names.map((n) => waitFor(async () => (await docker.docker(['inspect', '-f', '{{.State.Health.Status}}', n])).stdout.trim() === 'healthy', { what: `${n} healthy`, timeoutMs: 15_000 })));
  const key = (i: number): string => `${prefix}/c/o/${i}`;
  await agent.register({ key: key(0), container: names[0], ttl: 10 });
  await agent.register({ key: key(1), container: names[1], ttl: 10 });
  await agent.register({ key: key(3), container: names[3], ttl: 20 });
  await agent.settled();

  await etcd.kill();
  // During the outage: a new registration is accepted, and one container dies.
  t.equal(await agent.register({ key: key(2), container: names[2], ttl: 10 }), 'announced', 'registration accepted while etcd is down');
  t.equal((await docker.docker(['kill', names[3]!])).code, 0);
  await waitFor(() => agent.stateOf(key(3)) === 'down', { what: 'agent saw the kill' });
  await new Promise((r) => setTimeout(r, 5000));
  t.ok(lines.some((l) => l.startsWith('<4>etcd write of')), 'the outage is logged as a warning');

  await etcd.start(); // resolves once etcd answers /health
  const back = Date.now();
  const want = async (): Promise<boolean> => {
    const got = await Promise.all([0, 1, 2, 3].map((i) => reader.get(key(i)).string()));
    return got[0] !== null && got[1] !== null && got[2] !== null && got[3] === null;
  };
  await waitFor(want, { what: 'every live announcement back, the dead one gone', timeoutMs: 10_000, intervalMs: 20 });
  const took = Date.now() - back;
  t.ok(took < 2000, `all announcements back ${took} ms after etcd answered`);
  t.ok(lines.some((l) => l.startsWith('<6>etcd answers again')));
});

t.test('an outage longer than twice the TTL: the lost lease is replaced', async (t) => {
  const etcd = await etcdPart(t, { private: true });
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const { agent, lines, prefix } = await inProcessAgent(t, etcd, docker, { minTtl: 2 });
  const name = uniqueName('lost');
  await runHttpContainer(t, docker, name);
  const key = `${prefix}/c/lost/1`;
  await agent.register({ key, container: name, ttl: 2 });
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: 'announced', timeoutMs: 15_000 });
  const before = (await reader.get(key).exec()).kvs[0]!.lease;

  await etcd.kill();
  await waitFor(() => lines.some((l) => l.includes('lease for TTL 2s lost')), { what: 'lease lost', timeoutMs: 10_000 });
  await etcd.start();
  await waitFor(async () => {
    const kv = (await reader.get(key).exec()).kvs[0];
    return kv !== undefined && kv.lease !== before;
  }, { what: 'key on a new lease', timeoutMs: 5000, intervalMs: 20 });
  // The old lease (renewed by the restart) runs out; the key must outlive it on the new, kept-alive lease.
  await new Promise((r) => setTimeout(r, 5000));
  t.not(await reader.get(key).string(), null, 'key still there after the old lease expired');
});
