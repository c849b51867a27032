/**
 * etcd with authentication and a role limited to the announce prefix: the agent logs in with
 * --etcd-user / --etcd-password-file settings, announces, and revokes on close.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connectEtcd } from '../../src/etcd/connect.js';
import { etcdOptionsFrom } from '../../src/cli/etcd-flags.js';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { inProcessAgent, runHttpContainer, tempDir, uniqueName } from './fixtures/fixture.js';

const run = promisify(execFile);

t.test('user/password with a prefix-limited role', async (t) => {
  const etcd = await etcdPart(t, { private: true });
  const docker = await dockerPart(t);
  const dir = await tempDir(t, 'auth');
  const ctl = (...args: string[]) => run('etcdctl', ['--endpoints', etcd.clientUrl, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
  await ctl('user', 'add', 'root', '--new-user-password=rootpw');
  await ctl('user', 'grant-role', 'root', 'root');
  await ctl('role', 'add', 'announcer');
  await ctl('role', 'grant-permission', 'announcer', '--prefix=true', 'readwrite', '/fk-auth/');
  await ctl('user', 'add', 'agent', '--new-user-password=agentpw');
  await ctl('user', 'grant-role', 'agent', 'announcer');
  await ctl('auth', 'enable');
  await writeFile(join(dir, 'agent.pw'), 'agentpw\n', { mode: 0o600 });
  await writeFile(join(dir, 'root.pw'), 'rootpw\n', { mode: 0o600 });

  const { prefix, ...options } = etcdOptionsFrom({ etcd: [etcd.clientUrl], 'etcd-prefix': '/fk-auth', 'etcd-user': 'agent', 'etcd-password-file': join(dir, 'agent.pw') }, undefined, {});
  t.equal(prefix, '/fk-auth');
  const root = await connectEtcd({ endpoints: etcd.endpoints, auth: { user: 'root', passwordFile: join(dir, 'root.pw') } });
  t.teardown(() => root.close());

  const name = uniqueName('auth');
  await runHttpContainer(t, docker, name);
  const { agent, lines } = await inProcessAgent(t, etcd, docker, { etcd: options, prefix });
  const key = '/fk-auth/c/auth/1';
  await agent.register({ key, container: name, ttl: 10 });
  await waitFor(async () => (await root.get(key).string()) !== null, { what: 'announced with a limited user', timeoutMs: 15_000 });
  t.notOk(lines.some((l) => l.startsWith('<3>') || l.startsWith('<4>')), 'no errors or warnings');
  await agent.close({ revoke: true });
  t.equal(await root.get(key).string(), null, 'revoked on close');
});
