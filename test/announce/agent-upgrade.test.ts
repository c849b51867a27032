/**
 * An agent upgrade or restart keeps every announcement: real `fleetkit agent` processes with three announced
 * containers, and a real `fleetkit watch-hosts` writing a hosts file. The agent is stopped with SIGTERM and
 * started again, then killed -9 and started again. An observer reads the hosts file on every change it is told
 * of (fs.watch) and every 10 ms besides: no read may lack a line. Afterwards etcd holds the keys, facts
 * included, on the same lease, kept alive by the new process.
 */
import t from 'tap';
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { MACHINE, announceCli, etcdReader, runHttpContainer, tempDir, uniqueName } from './fixtures/fixture.js';
import { spawnCli, type CliChild } from './fixtures/cli-process.js';
import { LABEL_UNIT } from '../../src/etcd/container-facts.js';
import { factsKey } from '../../src/etcd/key-layout.js';

// The old agent's lease lives on for up to TTL after its last keep-alive (every TTL/3): the new agent must
// take it over within 2/3 of TTL at worst, spawn and resync included. 20 s left 13 s, which a loaded CI
// run once missed (the lease expired and a new one was granted).
const TTL = 45;

t.test('SIGTERM and kill -9 of the agent, each followed by a new agent: no hosts line lost, same lease', async (t) => {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const reader = await etcdReader(t, etcd);
  const stateDir = await tempDir(t, 'upgrade');
  const hostsDir = await tempDir(t, 'upgrade-hosts');
  const hosts = join(hostsDir, 'hosts');
  const prefix = `/fk-upgrade-${process.pid}`;
  const cluster = 'up';
  const agentArgs = ['agent', '--etcd', etcd.clientUrl, '--etcd-prefix', prefix, '--state-dir', stateDir, '--docker-host', docker.dockerHost,
    '--flannel-env', join(stateDir, 'none.env'), '--machine-id', MACHINE, '--facts-ttl', `${TTL}s`];
  const names = [0, 1, 2].map((i) => `${uniqueName('up')}-${i}`);
  const unit = (i: number): string => `fk-up-${process.pid}@${i}.service`;
  await Promise.all(names.map((n, i) => runHttpContainer(t, docker, n, ['--label', `${LABEL_UNIT}=${unit(i)}`])));
  const keys = names.map((_, i) => `${prefix}/${cluster}/web/${i}`);
  const facts = names.map((_, i) => factsKey(prefix, MACHINE, unit(i)));

  const startAgent = async (): Promise<CliChild> => {
    const a = await spawnCli(t, agentArgs);
    await waitFor(() => a.lines.some((l) => l.includes('agent ready')), { what: 'agent ready', timeoutMs: 40_000 });
    return a;
  };
  let agent = await startAgent();
  for (const [i, key] of keys.entries()) {
    const r = await announceCli(['--key', key, '--container', names[i]!, '--port', '8080', '--ttl', `${TTL}s`, '--hostname', `web-${i}`, '--state-dir', stateDir]);
    t.equal(r.code, 0, `announce ${key}: ${r.err}`);
  }
  const watcher = await spawnCli(t, ['watch-hosts', '--etcd', etcd.clientUrl, '--prefix', prefix, '--cluster', cluster, '--out', hosts, '--debounce', '5ms']);
  const lineOf = (text: string, i: number): string | undefined => text.split('\n').find((l) => new RegExp(`\\sweb-${i}\\sweb-${i}\\.${cluster}$`).test(l));
  const full = await waitFor(async () => {
    const text = await readFile(hosts, 'utf8').catch(() => '');
    return [0, 1, 2].every((i) => lineOf(text, i)) ? text : undefined;
  }, { what: 'three lines in the hosts file', timeoutMs: 40_000 });
  const lines = [0, 1, 2].map((i) => lineOf(full, i)!);
  await waitFor(async () => (await Promise.all(facts.map((k) => reader.get(k).string()))).every((v) => v !== null), { what: 'facts published', timeoutMs: 15_000 });

  /** Every key's lease id (decimal text, as etcd3 gives it). */
  const leases = async (): Promise<string[]> => Promise.all([...keys, ...facts].map(async (k) => (await reader.get(k).exec()).kvs[0]?.lease ?? 'none'));
  const before = await leases();
  t.equal(new Set(before).size, 1, 'announcements and facts (same TTL) share one lease');
  const lease = before[0]!;
  t.not(lease, 'none');

  // The observer: a read on every change fs.watch reports, and every 10 ms besides.
  const reads: string[] = [];
  const missing: string[] = [];
  let observing = true;
  const look = async (): Promise<void> => {
    const text = await readFile(hosts, 'utf8').catch((e: NodeJS.ErrnoException) => `<${e.code}>`);
    reads.push(text);
    for (const l of lines) if (!text.includes(l)) missing.push(`${l} missing from:\n${text}`);
  };
  const fsw = watch(dirname(hosts), (_, f) => void (f === basename(hosts) && look()));
  const poll = (async () => {
    for (let i = 0; observing && i < 20_000; i++) {
      await look();
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  t.teardown(() => {
    observing = false;
    fsw.close();
  });

  const swap = async (how: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
    agent.child.kill(how);
    const code = await agent.exited;
    if (how === 'SIGTERM') {
      t.equal(code, 0, 'SIGTERM: exit 0');
      t.ok(agent.lines.some((l) => l.includes('stopping: keeping leases')), 'SIGTERM keeps the leases');
      t.strictSame(await leases(), before, 'nothing revoked: every key still on its lease while no agent runs');
    }
    agent = await startAgent();
    await waitFor(() => agent.lines.some((l) => l.includes(`took over lease ${lease} (TTL ${TTL}s)`)), { what: `${how}: the new agent takes over lease ${lease}`, timeoutMs: TTL * 1000 });
    // The new agent puts every key again (its resync); they must land on the same lease.
    await waitFor(() => keys.every((k) => agent.lines.some((l) => l.includes(`announced ${k}`))), { what: `${how}: keys announced again`, timeoutMs: 20_000 });
    await waitFor(() => facts.every((k) => agent.lines.some((l) => l.includes(`announced ${k}`))), { what: `${how}: facts written again`, timeoutMs: 20_000 });
    t.strictSame(await leases(), before, `${how}: every key on lease ${lease} after the swap`);
    t.notOk(agent.lines.some((l) => l.includes('granted lease')), `${how}: no new lease granted`);
  };
  await swap('SIGTERM');
  await swap('SIGKILL');

  // The new process keeps the lease alive: its remaining TTL goes up again (a keep-alive every TTL/3).
  const left = async (): Promise<number> => Number((await reader.leaseClient.leaseTimeToLive({ ID: lease })).TTL);
  let low = await left();
  await waitFor(async () => {
    const v = await left();
    low = Math.min(low, v);
    return v > low;
  }, { what: 'a keep-alive from the new agent (the remaining TTL goes down, then up)', timeoutMs: TTL * 1000, intervalMs: 200 });

  observing = false;
  await poll;
  fsw.close();
  t.ok(reads.length > 50, `${reads.length} reads of the hosts file during the swaps`);
  t.strictSame(missing.slice(0, 3), [], 'no read lacked a line');
  t.equal(watcher.child.exitCode, null, 'the watcher ran throughout');

  // A stop for good with --revoke-on-exit: every key goes at once.
  agent.child.kill('SIGTERM');
  await agent.exited;
  agent = await spawnCli(t, [...agentArgs, '--revoke-on-exit']);
  await waitFor(() => agent.lines.some((l) => l.includes(`took over lease ${lease}`)), { what: 'the last agent takes over', timeoutMs: 40_000 });
  agent.child.kill('SIGTERM');
  t.equal(await agent.exited, 0);
  t.strictSame(await leases(), keys.concat(facts).map(() => 'none'), '--revoke-on-exit: no key left once the agent exited');
});
