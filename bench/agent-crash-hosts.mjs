#!/usr/bin/env node
// Bench: an agent serving N containers (default 100) is killed -9; how long until the last of its entries has
// left the hosts file of a running `fleetkit watch-hosts`, next to the lease TTL (the bound: the keys expire
// with the lease, all at one revision, and the watcher must apply every one of them). Reported beside it: when
// etcd's watch saw the last delete (what the watcher can do no better than). Then, in the same run, the
// watcher's own bench (bench/watch-hosts.mjs: idle put → file p99 and burst convergence against the
// `etcdctl watch` + script baseline), so that neither regresses.
//
//   node bench/agent-crash-hosts.mjs [--containers N] [--ttl S] [--idle N] [--burst N]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { Etcd3 } from 'etcd3';
import { agentRequests, bundleAgent, root, spawnAgent, startParts } from './agent-lib.mjs';

const { values: args } = parseArgs({ options: { containers: { type: 'string' }, ttl: { type: 'string' }, idle: { type: 'string' }, burst: { type: 'string' } } });
const N = Number(args.containers ?? 100);
const TTL = Number(args.ttl ?? 10);
const cluster = 'c';

/** Bundles `fleetkit watch-hosts` like bundleAgent does the agent. */
async function bundleWatcher() {
  const outfile = join(root, 'node_modules/.cache/fleetkit-bench/watch-hosts.cjs');
  await build({
    stdin: {
      resolveDir: root, loader: 'ts',
      contents: `import { run } from './src/cli/watch-hosts.ts'; import { processIO } from './src/cli/io.ts';
        const ac = new AbortController(); process.once('SIGTERM', () => ac.abort());
        run(process.argv.slice(2), processIO(ac.signal)).then((c) => { process.exitCode = c; }, (e) => { console.error(e); process.exitCode = 1; });`,
    },
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile, packages: 'external', logLevel: 'warning',
  });
  return outfile;
}

const entriesIn = (file) => {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => / crash-\d+ /.test(l)).length;
  } catch {
    return -1;
  }
};
async function until(what, pred, timeoutMs) {
  const end = performance.now() + timeoutMs;
  while (!pred()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
  return performance.now();
}

const parts = startParts('crash');
const client = new Etcd3({ hosts: parts.etcdUrl });
let watcher;
try {
  const stateDir = mkdtempSync(join(tmpdir(), 'fleetkit-bench-state-'));
  const [agentBundle, watcherBundle] = await Promise.all([bundleAgent(), bundleWatcher()]);
  const agent = await spawnAgent(agentBundle, parts, stateDir);
  const out = join(parts.base, 'hosts');
  watcher = spawn(process.execPath, [watcherBundle, '--etcd', parts.etcdUrl, '--prefix', '/bench', '--cluster', cluster, '--out', out], { stdio: ['ignore', 'ignore', 'inherit'] });

  const names = Array.from({ length: N }, (_, i) => `bench-crash-${i}`);
  const t0 = performance.now();
  for (const n of names) parts.docker('run', '-d', '--name', n, 'local/busybox:latest', 'sleep', '3600');
  process.stdout.write(`started ${N} containers in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const replies = await agentRequests(stateDir, names.map((container, i) => ({ op: 'register', registration: { key: `/bench/${cluster}/crash/${i}`, container, ttl: TTL, hostname: `crash-${i}` } })));
  const refused = replies.filter((r) => !r.ok);
  if (refused.length) throw new Error(`registrations refused: ${JSON.stringify(refused[0])}`);
  await until(`${N} entries in the hosts file`, () => entriesIn(out) === N, 120_000);

  // etcd's side: the moment a watch on the prefix sees the last delete.
  let left = N;
  let etcdDone = 0;
  const w = await client.watch().prefix(`/bench/${cluster}/crash/`).create();
  w.on('delete', () => { if (--left === 0) etcdDone = performance.now(); });

  const killedAt = performance.now();
  agent.child.kill('SIGKILL');
  const fileDone = await until('the last entry to leave the file', () => entriesIn(out) === 0, (TTL + 30) * 1000);
  await until('etcd watch delete events', () => etcdDone > 0, 5000);
  await w.cancel();
  process.stdout.write(`agent serving ${N} containers killed -9 (lease TTL ${TTL} s):\n`);
  process.stdout.write(`  last entry left the hosts file after ${(fileDone - killedAt).toFixed(0)} ms (TTL ${TTL * 1000} ms; bound TTL + 1 s: ${fileDone - killedAt <= TTL * 1000 + 1000 ? 'met' : 'MISSED'})\n`);
  process.stdout.write(`  etcd's watch saw the last delete after ${(etcdDone - killedAt).toFixed(0)} ms; the file followed ${(fileDone - etcdDone).toFixed(0)} ms later\n`);
  process.stdout.write('  before every event of a revision was applied, the watcher removed one entry of the lease and kept the others until it restarted\n');
  watcher.kill('SIGTERM');
  for (const n of names) try { parts.docker('rm', '-f', n); } catch { /* gone with the engine */ }
} finally {
  client.close();
  watcher?.kill('SIGKILL');
  parts.stop();
}

// The same run: the watcher's idle and burst figures against the etcdctl watch + script baseline.
process.stdout.write('\nwatch-hosts idle and burst, same run (bench/watch-hosts.mjs):\n');
const sub = spawnSync(process.execPath, [join(root, 'bench/watch-hosts.mjs'), '--idle', args.idle ?? '200', '--burst', args.burst ?? '10000'], { stdio: 'inherit' });
process.exitCode = sub.status ?? 1;
