/**
 * A fresh host has no state dir (/run is empty after boot): the agent makes it, and says plainly when it
 * cannot.
 */
import t from 'tap';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerPart, etcdPart } from '../env/parts.js';
import { inProcessAgent, tempDir } from './fixtures/fixture.js';

t.test('the agent creates a missing state dir and listens in it', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const stateDir = join(await tempDir(t, 'fresh'), 'run', 'fleetkit');
  t.notOk(existsSync(stateDir), 'the dir does not exist before');
  await inProcessAgent(t, etcd, docker, { stateDir });
  t.ok(statSync(stateDir).isDirectory(), 'made by the agent');
  t.ok(statSync(join(stateDir, 'agent.sock')).isSocket(), 'the socket is in it');
});

t.test('a state dir that cannot be made is a plain error', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const file = join(await tempDir(t, 'blocked'), 'not-a-dir');
  writeFileSync(file, '');
  await t.rejects(inProcessAgent(t, etcd, docker, { stateDir: join(file, 'fleetkit') }), {
    code: 'ERR_USAGE',
    message: new RegExp(`cannot create the agent's state dir ${file}/fleetkit: ENOTDIR`),
  });
});
