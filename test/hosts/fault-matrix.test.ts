/**
 * The fault matrix: real etcd (this test's own, so it can be restarted), real `fleetkit agent` processes,
 * real dockerd, and two real `fleetkit watch-hosts` processes (one renaming, behind a TCP proxy that can
 * cut it off; one writing in place, straight to etcd). After every case each hosts file must be
 * byte-equal to an oracle computed here from `etcdctl get --prefix -w json`, independently of the
 * watcher's code, and both watchers must still be the processes they were before the case.
 *
 * Each case puts a marker record last (a new IP per case), so the revision etcdctl reports is the one the
 * watchers last saw, and the oracle predicts their header byte for byte.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Etcd3, Lease } from 'etcd3';
import { dockerPart, etcdPart, waitFor } from '../env/parts.js';
import { prng } from '../support/prng.js';
import { spawnCli, type CliChild } from '../announce/fixtures/cli-process.js';
import { announceCli, runHttpContainer, tempDir as agentTempDir } from '../announce/fixtures/fixture.js';
import { etcdClient, etcdProxy, record, tempDir, uniqueName } from './fixture.js';

const run = promisify(execFile);
const TTL = 5;

/** What etcd holds under `prefix`, from etcdctl (not from the watcher's etcd code). */
async function etcdctlGet(url: string, prefix: string): Promise<{ revision: number; kvs: { key: string; value: string; lease: string }[] }> {
  const { stdout } = await run('etcdctl', ['--endpoints', url, 'get', prefix, '--prefix', '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' }, maxBuffer: 64 << 20 });
  // Lease ids are 63-bit: keep them as text (JSON.parse would round them to a double).
  const j = JSON.parse(stdout.replace(/"lease":(\d+)/g, '"lease":"$1"')) as { header: { revision: number }; kvs?: { key: string; value: string; lease?: string }[] };
  const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
  return { revision: Number(j.header.revision), kvs: (j.kvs ?? []).map((kv) => ({ key: b64(kv.key), value: b64(kv.value), lease: String(kv.lease ?? 0) })) };
}

/**
 * The hosts file etcd's state calls for, written out from the README's format: the cluster's block alone
 * (the file had nothing else), one `IP NAME NAME.CLUSTER` line per record, sorted by name.
 */
function oracleText(cluster: string, revision: number, values: readonly string[]): string {
  const entries = values.map((v) => JSON.parse(v) as { ip: string; hostname: string }).sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  return `# BEGIN fleetkit ${cluster}\n` +
    `# Managed by fleetkit watch-hosts: cluster ${cluster}, etcd revision ${revision}, ${entries.length} entries. Edits inside this block are overwritten.\n` +
    entries.map((e) => `${e.ip} ${e.hostname} ${e.hostname}.${cluster}\n`).join('') +
    `# END fleetkit ${cluster}\n`;
}

t.test('fault matrix: every case ends with each hosts file equal to etcd, same watcher processes', async (t) => {
  const etcd = await etcdPart(t, { private: true });
  const docker = await dockerPart(t);
  const client: Etcd3 = await etcdClient(t, etcd.endpoints);
  const proxy = await etcdProxy(t, etcd.clientUrl);
  const cluster = 'fm';
  const prefix = `/${uniqueName('m')}`;
  const kp = `${prefix}/${cluster}/`;
  const dir = tempDir(t);
  const files = { rename: join(dir, 'hosts-rename'), inPlace: join(dir, 'hosts-in-place') };
  const watchArgs = ['watch-hosts', '--prefix', prefix, '--cluster', cluster, '--debounce', '5ms', '--max-delay', '100ms'];
  const watchers: [string, CliChild][] = [
    ['rename', await spawnCli(t, [...watchArgs, '--etcd', proxy.url, '--out', files.rename])],
    ['in-place', await spawnCli(t, [...watchArgs, '--etcd', etcd.clientUrl, '--out', files.inPlace, '--keep-inode'])],
  ];
  const pids = watchers.map(([, w]) => w.child.pid);

  let caseNo = 0;
  const recovery: string[] = [];
  /** Puts the case's marker, then waits until both files equal the oracle (and `until` holds of etcd). */
  async function settle(name: string, since: number, until: (kvs: { key: string; lease: string }[]) => boolean = () => true): Promise<number> {
    caseNo++;
    let last = '';
    await waitFor(async () => {
      const now = await etcdctlGet(etcd.clientUrl, kp);
      if (!until(now.kvs)) return (last = 'etcd not there yet'), false;
      const want = oracleText(cluster, now.revision, now.kvs.map((kv) => kv.value));
      for (const f of Object.values(files)) {
        const got = await readFile(f, 'utf8').catch(() => '<missing>');
        if (got !== want) return (last = `${f}:\n${got}\nwanted:\n${want}`), false;
      }
      return true;
    }, { what: `case "${name}": both files equal etcd (last: ${last.slice(0, 1500)})`, timeoutMs: 20_000, intervalMs: 20 });
    const ms = Math.round(performance.now() - since);
    watchers.forEach(([kind, w], i) => t.ok(w.child.exitCode === null && w.child.pid === pids[i], `case "${name}": the ${kind} watcher is the same process (pid ${pids[i]})`));
    recovery.push(`${name}: ${ms} ms`);
    t.comment(`case "${name}": files equal etcd ${ms} ms after the fault`);
    return ms;
  }
  const marker = async (): Promise<void> => void (await client.put(`${kp}zz/marker`).value(record('marker', `10.99.0.${caseNo + 1}`)));
  const leaseOf = async (keyPart: string): Promise<string> => {
    const kv = (await etcdctlGet(etcd.clientUrl, kp)).kvs.find((k) => k.key.includes(keyPart));
    if (!kv || kv.lease === '0') throw new Error(`no leased key with ${keyPart}`);
    return BigInt(kv.lease).toString(16);
  };

  /** A real agent process with its own state dir and machine id, announcing `n` http containers. */
  async function startAgent(tag: string, machine: string, n: number): Promise<{ agent: CliChild; names: string[]; stateDir: string; args: string[] }> {
    const stateDir = await agentTempDir(t, `fm-${tag}`);
    const args = ['agent', '--etcd', etcd.clientUrl, '--etcd-prefix', prefix, '--state-dir', stateDir, '--docker-host', docker.dockerHost,
      '--flannel-env', join(stateDir, 'none.env'), '--machine-id', machine];
    const agent = await spawnCli(t, args);
    await waitFor(() => agent.lines.some((l) => l.includes('agent ready')), { what: `agent ${tag} ready`, timeoutMs: 40_000 });
    const names = Array.from({ length: n }, (_, i) => `${uniqueName(`fm${tag}`)}-${i}`);
    await Promise.all(names.map((c) => runHttpContainer(t, docker, c)));
    for (const [i, c] of names.entries()) {
      const r = await announceCli(['--key', `${kp}${tag}/${i}`, '--container', c, '--port', '8080', '--ttl', `${TTL}s`, '--hostname', `${tag}-${i}`, '--state-dir', stateDir]);
      if (r.code !== 0) throw new Error(`announce ${tag}/${i}: ${r.err}`);
    }
    await waitFor(async () => (await etcdctlGet(etcd.clientUrl, `${kp}${tag}/`)).kvs.length === n, { what: `agent ${tag}'s ${n} announcements`, timeoutMs: 40_000 });
    return { agent, names, stateDir, args };
  }
  const hasKeysOf = (tag: string) => (kvs: { key: string }[]): boolean => kvs.some((kv) => kv.key.startsWith(`${kp}${tag}/`));

  const a = await startAgent('a', 'a'.repeat(32), 3);
  await marker();
  await settle('start', performance.now());

  // 1. Lease revoke: every key on the agent's lease goes at one revision. The agent is stopped meanwhile so
  // it cannot put them back before the files are checked; once continued it announces them again.
  process.kill(a.agent.child.pid!, 'SIGSTOP');
  let t0 = performance.now();
  await run('etcdctl', ['--endpoints', etcd.clientUrl, 'lease', 'revoke', await leaseOf(`${kp}a/`)], { env: { ...process.env, ETCDCTL_API: '3' } });
  await marker();
  await settle('lease revoke', t0, (kvs) => !hasKeysOf('a')(kvs));
  process.kill(a.agent.child.pid!, 'SIGCONT');
  t0 = performance.now();
  await settle('lease revoke: the agent announces again', t0, hasKeysOf('a'));

  // 2. Lease expiry after the agent is kill -9ed: its keys stay until the TTL runs out, then go at once.
  a.agent.child.kill('SIGKILL');
  t0 = performance.now();
  await a.agent.exited;
  await marker();
  const expiry = await settle('lease expiry after kill -9 of the agent', t0, (kvs) => !hasKeysOf('a')(kvs));
  t.ok(expiry <= (TTL + 1) * 1000, `expired entries left both files ${expiry} ms after kill -9 (TTL ${TTL} s + 1 s)`);

  // 3. del --prefix: several keys deleted at one revision.
  const txn = client.if(kp, 'Version', '==', 0).then(...Array.from({ length: 6 }, (_, i) => client.put(`${kp}db/${i}`).value(record(`db-${i}`, `10.98.0.${i + 1}`))));
  await txn.commit();
  await marker();
  await settle('six puts in one txn', performance.now());
  t0 = performance.now();
  await run('etcdctl', ['--endpoints', etcd.clientUrl, 'del', '--prefix', `${kp}db/`], { env: { ...process.env, ETCDCTL_API: '3' } });
  await marker();
  await settle('del --prefix', t0, (kvs) => !hasKeysOf('db')(kvs));

  // 4. Host crash: a second agent (own state dir, own machine id) killed -9 together with its containers.
  const b = await startAgent('b', 'b'.repeat(32), 3);
  await marker();
  await settle('second host up', performance.now());
  t0 = performance.now();
  b.agent.child.kill('SIGKILL');
  await Promise.all(b.names.map((c) => docker.docker(['kill', c])));
  await marker();
  const crash = await settle('host crash (agent and containers killed -9)', t0, (kvs) => !hasKeysOf('b')(kvs));
  t.ok(crash <= (TTL + 1) * 1000, `every watcher dropped the crashed host's entries ${crash} ms after the crash (TTL ${TTL} s + 1 s)`);

  // 5. etcd restarted during a burst of puts.
  let stop = false;
  let puts = 0;
  const burst = (async () => {
    for (let i = 0; !stop && i < 5000; i++) {
      try {
        await client.put(`${kp}burst/${i % 150}`).value(record(`burst-${i % 150}`, `10.97.${(i >> 8) & 255}.${i & 255}`));
        puts++;
      } catch {
        await new Promise((r) => setTimeout(r, 20)); // etcd is down: go on once it is back
      }
    }
  })();
  await waitFor(() => puts >= 100, { what: 'burst under way', timeoutMs: 20_000 });
  await etcd.restart();
  t0 = performance.now();
  const atRestart = puts;
  await waitFor(() => puts >= atRestart + 100, { what: 'burst going on after the restart', timeoutMs: 30_000 });
  stop = true;
  await burst;
  await marker();
  await settle('etcd restart during a burst', t0);

  // 6. Compaction during a disconnect: the renaming watcher is cut off while keys change and history is
  // compacted past its revision; it must read everything again.
  proxy.cut();
  await client.delete().prefix(`${kp}burst/`);
  for (let i = 0; i < 5; i++) await client.put(`${kp}cmp/${i}`).value(record(`cmp-${i}`, `10.96.0.${i + 1}`));
  const rev = (await client.put(`${kp}cmp/5`).value(record('cmp-5', '10.96.0.6')).exec()).header.revision;
  await client.kv.compact({ revision: rev, physical: true });
  proxy.restore();
  t0 = performance.now();
  await marker();
  await settle('compaction during a disconnect', t0);

  // 7. 1,000 random puts, deletes and lease revokes, several keys per revision (txns), seeded.
  const rnd = prng(14);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const name = (i: number): string => `r-${i}`;
  /** `n` distinct numbers below `max` (a txn may name a key once). */
  const distinct = (n: number, max: number): number[] => { const s = new Set<number>(); while (s.size < n) s.add(pick(max)); return [...s]; };
  const leases: Lease[] = [];
  // Eight at a time (the choices are the seed's; only etcd's order among the eight varies): the oracle is
  // read from etcd, so it holds whatever order etcd applied them in.
  const batch: Promise<unknown>[] = [];
  const go = async (p: Promise<unknown>): Promise<void> => {
    batch.push(p);
    if (batch.length >= 8) await Promise.all(batch.splice(0));
  };
  for (let op = 0; op < 1000; op++) {
    const kind = rnd();
    if (kind < 0.55) {
      const n = 1 + pick(4);
      const ops = distinct(n, 80).map((i) => client.put(`${kp}rnd/${i}`).value(record(name(i), `10.95.${pick(256)}.${1 + pick(254)}`)));
      await go(client.if(kp, 'Version', '==', 0).then(...ops).commit());
    } else if (kind < 0.8) {
      const n = 1 + pick(4);
      await go(client.if(kp, 'Version', '==', 0).then(...distinct(n, 80).map((i) => client.delete().key(`${kp}rnd/${i}`))).commit());
    } else if (kind < 0.92 || leases.length === 0) {
      const lease = client.lease(60, { autoKeepAlive: false });
      for (const i of distinct(1 + pick(4), 40).map((k) => 80 + k)) { await lease.put(`${kp}rnd/${i}`).value(record(name(i), `10.94.${pick(256)}.${1 + pick(254)}`)); }
      leases.push(lease);
    } else {
      await go(leases.splice(pick(leases.length), 1)[0]!.revoke());
    }
  }
  await Promise.all(batch);
  t0 = performance.now();
  await marker();
  await settle('1,000 random puts, deletes and lease revokes', t0);
  for (const l of leases) await l.revoke();

  t.comment(`recovery times: ${recovery.join('; ')}`);
  for (const [, w] of watchers) w.child.kill('SIGTERM');
  await Promise.all(watchers.map(([, w]) => w.exited));
});
