// Bench: time from `docker kill` (API call issued) to the announcement's key being deleted in etcd (seen by
// a watch), over RUNS kills of a container with a health check; the agent runs as its own process.
// Target (issue): p99 ≤ 200 ms. Baseline in the same run: the classic sidekick's worst case, its TTL.
//   node bench/agent-kill.mjs [RUNS=20]
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { agentRequests, bundleAgent, dockerApi, spawnAgent, startParts } from './agent-lib.mjs';

const RUNS = Number(process.argv[2] ?? 20);
const parts = startParts('kill');
const client = new Etcd3({ hosts: parts.etcdUrl });
try {
  const stateDir = mkdtempSync(join(tmpdir(), 'fleetkit-bench-state-'));
  const agent = await spawnAgent(await bundleAgent(), parts, stateDir);
  const name = 'bench-kill-1';
  const key = '/bench/c/kill/1';
  parts.docker('run', '-d', '--init', '--name', name, 'local/httpd:latest');
  const [reply] = await agentRequests(stateDir, [{ op: 'register', registration: { key, container: name, port: 8080, ttl: 60 } }]);
  if (!reply.ok) throw new Error(JSON.stringify(reply));
  const events = [];
  const watcher = await client.watch().key(key).create();
  watcher.on('put', () => events.push({ type: 'put', at: performance.now() }));
  watcher.on('delete', () => events.push({ type: 'delete', at: performance.now() }));
  const waitFor = async (type, since) => {
    for (let i = 0; i < 3000; i++) {
      const e = events.find((x) => x.type === type && x.at >= since);
      if (e) return e.at;
      await new Promise((r) => setTimeout(r, 1));
    }
    throw new Error(`no ${type} event for ${key}`);
  };
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const before = performance.now();
    if (i > 0) await dockerApi(parts.socketPath, 'POST', `/containers/${name}/start`);
    await waitFor('put', before); // announced again once healthy
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    await dockerApi(parts.socketPath, 'POST', `/containers/${name}/kill`);
    times.push((await waitFor('delete', t0)) - t0);
  }
  console.log(`  in run order: ${times.map((x) => x.toFixed(0)).join(" ")} ms`);
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)];
  console.log(`docker kill → key deleted, ${RUNS} runs (agent process, watch on the key):`);
  console.log(`  min ${times[0].toFixed(1)} ms  p50 ${q(50).toFixed(1)} ms  p99 ${q(99).toFixed(1)} ms  max ${times.at(-1).toFixed(1)} ms`);
  console.log(`  target p99 ≤ 200 ms: ${q(99) <= 200 ? 'met' : 'MISSED'}`);
  console.log('  classic sidekick (etcdctl set … --ttl 60; sleep 45): the key stays until the TTL runs out, up to 60,000 ms');
  await watcher.cancel();
  agent.child.kill('SIGTERM');
  await agent.exited;
} finally {
  client.close();
  parts.stop();
}
