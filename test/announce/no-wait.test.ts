/**
 * The sidekick's `announce --no-wait`: the agent replies as soon as it holds the registration, so a sidekick
 * unit is active at once (fleetctl start gives each unit 2 s); the agent then follows the container and
 * announces it once it runs. Without --no-wait the sidekick waits for the container and fails when it is not
 * there in time (the agent's container wait).
 */
import t from 'tap';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { announceCli, etcdReader, inProcessAgent, runHttpContainer, uniqueName } from './fixtures/fixture.js';

t.test('--no-wait returns before the container exists; the agent announces it when it starts', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const { stateDir, prefix } = await inProcessAgent(t, etcd, docker, { containerWaitMs: 1000 });
  const name = uniqueName('late');
  const key = `${prefix}/c/late/1`;

  const waiting = await announceCli(['--key', key, '--container', name, '--port', '8080', '--ttl', '5s', '--state-dir', stateDir]);
  t.equal(waiting.code, 2, 'without --no-wait: the container is not there within the agent\'s wait');
  t.match(waiting.err, `no container named ${name}`);

  const r = await announceCli(['--key', key, '--container', name, '--port', '8080', '--ttl', '5s', '--state-dir', stateDir, '--no-wait']);
  t.equal(r.code, 0, r.err);
  t.match(r.err, new RegExp(`${key} registered for container ${name} \\((pending|down)\\)`), 'accepted while the container is not running');
  t.equal(await reader.get(key).string(), null, 'nothing announced while the container does not exist');
  const listed = await announceCli(['--list', '--state-dir', stateDir]);
  t.match(listed.out, `"key":"${key}"`, 'the agent holds it');

  await runHttpContainer(t, docker, name);
  await waitFor(async () => (await reader.get(key).string()) !== null, { what: `${key} announced once ${name} runs`, timeoutMs: 40_000 });
});
