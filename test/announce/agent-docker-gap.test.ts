/**
 * The docker event stream drops (dockerd stopped and started again): the agent does not exit, reconnects,
 * resyncs with `docker ps` + inspect, and follows the container again.
 */
import t from 'tap';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { etcdReader, inProcessAgent, runHttpContainer, uniqueName } from './fixtures/fixture.js';

t.test('dockerd restart', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t, { private: true });
  const reader = await etcdReader(t, etcd);
  const { agent, lines, prefix } = await inProcessAgent(t, etcd, docker);
  const name = uniqueName('gap');
  const key = `${prefix}/c/gap/1`;
  await runHttpContainer(t, docker, name);
  await agent.register({ key, container: name, ttl: 10 });
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: 'announced', timeoutMs: 15_000 });

  await docker.stop(); // stops the container too (no live-restore), then the event stream drops
  await waitFor(async () => (await reader.get(key).string()) === null, { what: 'withdrawn when dockerd stopped the container', timeoutMs: 10_000 });
  await waitFor(() => lines.some((l) => l.startsWith('<4>docker event stream down')), { what: 'gap logged' });
  await docker.start();
  t.equal((await docker.docker(['start', name])).code, 0);
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: 'announced again after dockerd came back', timeoutMs: 20_000 });
  t.ok(lines.some((l) => l.startsWith('<6>docker event stream back')), 'reconnected and resynced');

  t.equal((await docker.docker(['kill', name])).code, 0);
  await waitFor(async () => (await reader.get(key).string()) === null, { what: 'events followed again after the gap', timeoutMs: 3000 });
});
