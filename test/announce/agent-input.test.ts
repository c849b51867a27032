/**
 * Bad input never reaches etcd: missing container, bad TTL, key outside the prefix, a container that does
 * not exist, an etcd that does not answer. Each gives a clear message and a stable code.
 */
import t from 'tap';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { dockerPart, etcdPart, freePort } from '../env/parts.js';
import { MACHINE, announceCli, etcdReader, inProcessAgent, runHttpContainer, tempDir, uniqueName } from './fixtures/fixture.js';

/** Sends one raw line to the agent's socket. */
function rawRequest(path: string, line: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(`${line}\n`));
    s.on('data', (d: string) => {
      buf += d;
      if (buf.includes('\n')) (s.end(), resolve(JSON.parse(buf)));
    });
    s.on('error', reject);
  });
}

t.test('the sidekick command and the agent refuse bad registrations', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const { agent, stateDir, prefix } = await inProcessAgent(t, etcd, docker);
  const name = uniqueName('in');
  await runHttpContainer(t, docker, name);
  const base = ['--state-dir', stateDir, '--port', '8080'];
  const cases: Array<[string, string[], RegExp]> = [
    ['missing container', ['--key', `${prefix}/c/x/1`, ...base], /--container is required/],
    ['bad TTL', ['--key', `${prefix}/c/x/1`, '--container', name, '--ttl', '5x', ...base], /--ttl must be a duration/],
    ['TTL below 5 s', ['--key', `${prefix}/c/x/1`, '--container', name, '--ttl', '1s', ...base], /TTL 1 for key .* must be whole seconds from 5/],
    ['fractional TTL', ['--key', `${prefix}/c/x/1`, '--container', name, '--ttl', '5500ms', ...base], /--ttl must be whole seconds/],
    ['key outside the prefix', ['--key', '/elsewhere/c/x/1', '--container', name, ...base], /the agent refused: key "\/elsewhere\/c\/x\/1" is outside the prefix/],
    ['key with ..', ['--key', `${prefix}/../x`, '--container', name, ...base], /relative or unusual segment/],
    ['no such container', ['--key', `${prefix}/c/x/1`, '--container', 'fk-no-such-container', ...base], /no container named fk-no-such-container on this host/],
  ];
  for (const [what, args, message] of cases) {
    const r = await announceCli(args);
    t.equal(r.code, 2, `${what}: exit 2`);
    t.match(r.err, message, `${what}: ${r.err.trim()}`);
    t.notMatch(r.err, /\n\s+at /, `${what}: no stack trace`);
  }
  // The agent validates too: the socket is the trust boundary.
  const sock = join(stateDir, 'agent.sock');
  t.match(await rawRequest(sock, JSON.stringify({ op: 'register', registration: { key: `${prefix}/c/x/1`, container: name, ttl: 1 } })), { ok: false, code: 'ERR_TTL' });
  t.match(await rawRequest(sock, JSON.stringify({ op: 'register', registration: { key: `${prefix}/c/x/1`, ttl: 60 } })), { ok: false, code: 'ERR_NO_CONTAINER' });
  t.match(await rawRequest(sock, JSON.stringify({ op: 'register', registration: { key: `${prefix}/c/x/1`, container: name, ttl: 60, extra: { ip: '1.2.3.4' } } })), { ok: false, code: 'ERR_EXTRA' });
  t.match(await rawRequest(sock, 'not json'), { ok: false, code: 'ERR_REQUEST' });
  t.equal(agent.registry.size, 0, 'nothing registered');
  t.equal((await reader.getAll().prefix(`${prefix}/`).keys()).length, 0, 'nothing announced');
});

t.test('an etcd endpoint that does not answer', async (t) => {
  const docker = await dockerPart(t);
  const dir = await tempDir(t, 'noetcd');
  const name = uniqueName('noetcd');
  await runHttpContainer(t, docker, name);
  const port = await freePort();
  const r = await announceCli(['--standalone', '--etcd', `http://127.0.0.1:${port}`, '--key', '/services/c/x/1', '--container', name,
    '--docker-host', docker.dockerHost, '--flannel-env', join(dir, 'none.env'), '--machine-id', MACHINE]);
  t.equal(r.code, 1);
  t.match(r.err, `etcd first read failed (http://127.0.0.1:${port})`);
  t.match(r.err, 'hint: is etcd running and reachable?');
  const bad = await announceCli(['--standalone', '--etcd', 'localhost:2379', '--key', '/services/c/x/1', '--container', name]);
  t.equal(bad.code, 2);
  t.match(bad.err, 'is not a URL of the form http(s)://host:port');

  // The agent itself keeps running (etcd may come up later at boot), says so, and accepts registrations.
  const etcd = { endpoints: [`http://127.0.0.1:${port}`] } as Parameters<typeof inProcessAgent>[1];
  const { agent, lines } = await inProcessAgent(t, etcd, docker, { prefix: '/services' });
  t.ok(lines.some((l) => l.startsWith(`<3>etcd does not answer (http://127.0.0.1:${port})`)), 'clear <3> line naming the endpoint');
  await agent.register({ key: '/services/c/x/1', container: name, ttl: 60 });
  t.equal(agent.registry.size, 1, 'registration accepted while etcd is unreachable');
  await agent.close({ revoke: true });
});
