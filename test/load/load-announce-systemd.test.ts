/**
 * load waits for the announcement in etcd, on the real systemd, dockerd and etcd with the real agent
 * (dist/fleetkit.cjs) run by the rendered units: a container unit with `x-announce` is healthy only once its
 * container is announced. Each fault ends in what load prints and what etcd holds:
 * - healthy: exit 0, and the key holds a record of the running container made after it started;
 * - the announcement deleted by hand while container and sidekick stay active: exit 1, "not announced";
 * - etcd not reachable: exit 1, `unknown`, one line naming the endpoint (never healthy);
 * - a container whose health check fails (the agent never announces it): exit 1 at the timeout;
 * - a record from before the container started put back by hand: it does not count;
 * - `--no-announcements`: the sidekick's state is enough, as before;
 * - the cluster's agent stopped: start by name says at once that nothing will announce the container.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectEtcd } from '../../src/etcd/connect.js';
import { announcementKey } from '../../src/etcd/key-layout.js';
import { serializeRecord } from '../../src/announce/record.js';
import { dockerPart, etcdPart, freePort, systemdPart, waitFor } from '../env/parts.js';
import { runFleetkit } from '../cli/load-io.js';
import { writeFleetkitShim } from '../env/fleetkit-shim.js';

const [etcd, docker, sd] = await Promise.all([etcdPart(t), dockerPart(t), systemdPart(t)]);
const client = await connectEtcd({ endpoints: etcd.endpoints });
t.teardown(() => client.close());
const dir = mkdtempSync(join(tmpdir(), 'fk-load-announce-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const fleetkit = writeFleetkitShim(join(dir, 'fleetkit'));
const env = { ...sd.env, PATH: process.env['PATH'] };
const prefix = `/fk-la-${process.pid}`;
// Names of their own: the systemd part is shared with the other tests of the run.
const P = `la${process.pid}`;

/** A spec of one announced service in cluster `name`; `sick`: its health check never passes. */
function spec(name: string, service: string, sick: boolean): string {
  const file = join(dir, `${name}.yaml`);
  const containers = join(dir, `containers-${name}`);
  // The containers' hosts file exists before a container mounts it (watch-hosts makes it as it starts).
  writeFileSync(containers, '127.0.0.1\tlocalhost\n');
  writeFileSync(file, `name: ${name}
etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix} }
runtime: { dockerSocket: ${docker.socketPath}, fleetkit: { binary: ${fleetkit} }, stateDir: ${join(dir, `state-${name}`)} }
hosts: { file: ${join(dir, `hosts-${name}`)}, containers: ${containers} }
services:
  ${service}:
    image: ${docker.busyboxImage}
    command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    stop_grace_period: 2s
${sick ? '    healthcheck: { test: ["CMD", "false"], interval: 1s, retries: 1 }\n' : ''}    x-announce: { port: 80, ttl: 10s }
`);
  return file;
}
const common = ['--systemd', '--user', '--unit-dir', sd.unitDir, '--journal-dir', sd.journalDir];
const load = (file: string, ...extra: string[]) => runFleetkit(['load', file, ...common, ...extra], { env, cwd: dir });
const active = async (...units: string[]) => (await sd.systemctl(['is-active', ...units])).stdout.trim().split('\n').every((s) => s === 'active');
const esc = (s: string) => s.replace(/[.@/]/g, '\\$&');

const good = spec(`${P}a`, `${P}w`, false);
const sick = spec(`${P}b`, `${P}s`, true);
t.teardown(async () => {
  for (const f of [good, sick]) await runFleetkit(['destroy', f, ...common], { env, cwd: dir });
  await client.delete().prefix(prefix);
});
const W = `${P}w@1.service`;
const WS = `${P}w-discovery@1.service`;
const key = announcementKey(prefix, `${P}a`, `${P}w`, '1');

t.test('healthy: load ends once the container is announced, with a record made after it started', async (t) => {
  const r = await load(good, '--timeout', '90s');
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, new RegExp(`^${esc(W)}\\s+created\\s+active`, 'm'));
  t.match(r.stdout, new RegExp(`^${esc(WS)}\\s+created\\s+active`, 'm'));
  const value = await client.get(key).string();
  t.ok(value, `${key} holds the announcement when load returns`);
  const record = JSON.parse(value ?? '{}') as { container?: string; time?: string };
  t.equal(record.container, `${P}w-1`);
  const started = (await docker.docker(['inspect', '-f', '{{.State.StartedAt}}', `${P}w-1`])).stdout.trim();
  t.ok(Date.parse(record.time ?? '') >= Date.parse(started), `made (${record.time}) after the container started (${started})`);
});

t.test('the announcement deleted by hand while both units stay active: load fails, saying so', async (t) => {
  await client.delete().key(key);
  const r = await load(good, '--timeout', '4s');
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stdout, new RegExp(`^${esc(W)}\\s+unchanged\\s+unannounced`, 'm'));
  t.match(r.stderr, new RegExp(`${esc(W)}: active, but not announced in etcd at ${esc(key)} after \\d+s`));
  t.notMatch(r.stdout, /^load: .* 0 failed/m, 'the summary counts it failed');
  t.ok(await active(W, WS), 'container unit and sidekick are active all along: their state alone would have passed');
  t.equal(await client.get(key).string(), null, 'load wrote nothing to etcd');

  const old = await load(good, '--timeout', '4s', '--no-announcements');
  t.equal(old.code, 0, `--no-announcements: the units' states are enough\n${old.stdout}${old.stderr}`);
});

t.test('etcd not reachable: unknown, exit 1, one line naming the endpoint', async (t) => {
  const port = await freePort();
  const r = await load(good, '--timeout', '3s', '--etcd', `http://127.0.0.1:${port}`);
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stdout, new RegExp(`^${esc(W)}\\s+unchanged\\s+unknown`, 'm'));
  t.match(r.stderr, new RegExp(`${esc(W)}: active, but its announcement at ${esc(key)} could not be read: etcd at http://127\\.0\\.0\\.1:${port}: connection refused; is etcd running .*--no-announcements waits without it\\)$`, 'm'));
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

t.test('a container whose health check fails is never announced: load fails at its timeout', async (t) => {
  const S = `${P}s@1.service`;
  const skey = announcementKey(prefix, `${P}b`, `${P}s`, '1');
  const r = await load(sick, '--timeout', '8s');
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stderr, new RegExp(`${esc(S)}: active, but not announced in etcd at ${esc(skey)} after \\d+s`));
  t.ok(await active(S, `${P}s-discovery@1.service`), 'both units active');
  t.equal(await client.get(skey).string(), null, 'the agent did not announce it');

  await t.test('an old record put back by hand does not count', async (t) => {
    const old = serializeRecord({ ip: '10.1.2.3', port: 80, hostname: `${P}s-1`, host: 'h', machine: 'f'.repeat(32), container: `${P}s-1`, version: 1, time: new Date(Date.now() - 3_600_000).toISOString() });
    await client.put(skey).value(old);
    const again = await load(sick, '--timeout', '3s');
    t.equal(again.code, 1, again.stdout + again.stderr);
    t.match(again.stderr, new RegExp(`${esc(S)}: active, but the announcement at ${esc(skey)} \\(made .*\\) is older than its container's start`));
    await client.delete().key(skey);
  });
});

t.test('announced again by the agent: a load waiting on it ends as soon as it appears', async (t) => {
  // The agent puts the key again once the container is registered anew (a restart of the sidekick).
  await client.delete().key(key);
  const pending = load(good, '--timeout', '60s');
  await waitFor(async () => (await sd.systemctl(['restart', WS])).code === 0, { what: 'sidekick restarted' });
  const r = await pending;
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.ok(await client.get(key).string(), 'announced');
});

t.test("the cluster's agent stopped: start by name says at once that nothing will announce the container", async (t) => {
  const agent = `fleetkit-agent-${P}a.service`;
  t.ok(await active(agent), 'the agent runs');
  await sd.systemctl(['stop', agent]);
  t.teardown(() => sd.systemctl(['start', agent]));
  // Its lease went with it, or will within its TTL: the announcement is gone as etcd would have it then.
  await client.delete().key(key);
  const started = Date.now();
  const r = await runFleetkit(['start', W, ...common, '--timeout', '60s'], { env, cwd: dir });
  const took = Date.now() - started;
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stdout, new RegExp(`^${esc(W)}\\s+\\S+\\s+unannounced`, 'm'));
  t.match(r.stderr, new RegExp(`^${esc(W)}: active, but not announced in etcd at ${esc(key)}, and nothing will announce it: ${esc(agent)} is inactive/dead \\(for \\d+s\\); .*fleetkit start ${esc(agent)}`, 'm'));
  t.ok(took < 30_000, `said after ${took} ms, not at the 60 s timeout`);

  await t.test('the agent started again: the same start waits and passes once it announces', async (t) => {
    await sd.systemctl(['start', agent]);
    const again = await runFleetkit(['start', W, ...common, '--timeout', '60s'], { env, cwd: dir });
    t.equal(again.code, 0, again.stdout + again.stderr);
    t.ok(await client.get(key).string(), 'announced again');
  });
});
