// Bench: one agent holding 1, 100 and 500 announcements vs the classic shell sidekick (one `sh` +
// `etcdctl lease grant` / `put --lease` / `lease keep-alive` per announcement) for the same counts, in the
// same run, against the same private etcd and dockerd. Per side and count: resident memory (sum of VmRSS of
// every process of that side), CPU over an idle window (/proc/PID/stat), and etcd requests per minute
// counted by etcd itself (deltas of grpc_server_handled_total + etcd_debugging_lease_renewed_total from
// /metrics over the window: every unary call and every keep-alive; nothing else talks to etcd meanwhile).
// Targets (issue): agent with 500 announcements ≤ 120 MB RSS; idle CPU ≤ 1% of a core.
//   node bench/agent-memory.mjs [COUNTS=1,100,500] [REAL_CONTAINERS=50] [WINDOW_S=30]
// Registrations are spread over REAL_CONTAINERS running busybox containers (`sleep`): 500 real containers
// would cost ~500 containerd shims on this 2-core machine for no change in what the agent does per key
// (it inspects each registered container and holds one record per key).
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { agentRequests, bundleAgent, cpuTicks, etcdRequests, rssKb, sleep, spawnAgent, startParts } from './agent-lib.mjs';

const COUNTS = (process.argv[2] ?? '1,100,500').split(',').map(Number);
const REAL = Number(process.argv[3] ?? 50);
const WINDOW_S = Number(process.argv[4] ?? 30);
const TTL = 60;
// Extra node flags for the agent process (e.g. AGENT_NODE_ARGS=--max-semi-space-size=2), and SKIP_CLASSIC=1.
const NODE_ARGS = (process.env.AGENT_NODE_ARGS ?? '').split(' ').filter(Boolean);
const HZ = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

const parts = startParts('memory');
const client = new Etcd3({ hosts: parts.etcdUrl });
const countKeys = (prefix) => client.getAll().prefix(prefix).count();
const waitKeys = async (prefix, n, what) => {
  for (let i = 0; i < 1200; i++) {
    if ((await countKeys(prefix)) === n) return;
    await sleep(100);
  }
  throw new Error(`${what}: ${await countKeys(prefix)} of ${n} keys after 120 s`);
};

/** Every descendant of `pid` (itself included). */
function tree(pid) {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    let kids = '';
    try { kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8'); } catch { /* gone */ }
    out.push(...kids.split(' ').filter(Boolean).map(Number));
  }
  return out;
}
const sum = (pids, f) => pids.reduce((a, p) => { try { return a + f(p); } catch { return a; } }, 0);

/** Measures the processes `pids()` over the idle window. */
async function measure(pids) {
  await sleep(3000); // let start-up work settle
  const p0 = pids();
  const rss = sum(p0, rssKb);
  const cpu0 = sum(p0, cpuTicks);
  const m0 = await etcdRequests(parts.etcdUrl);
  const t0 = performance.now();
  await sleep(WINDOW_S * 1000);
  const secs = (performance.now() - t0) / 1000;
  const m1 = await etcdRequests(parts.etcdUrl);
  const cpu = ((sum(pids(), cpuTicks) - cpu0) / HZ / secs) * 100;
  // The two /metrics reads are plain HTTP, not gRPC: they are not in the count.
  return { rssMB: rss / 1024, processes: p0.length, cpuPct: cpu, reqPerMin: ((m1 - m0) / secs) * 60 };
}

const results = [];
try {
  const t0 = performance.now();
  const names = [];
  for (let i = 0; i < Math.min(REAL, Math.max(...COUNTS)); i++) {
    const name = `bench-${i}`;
    parts.docker('run', '-d', '--init', '--name', name, 'local/busybox:latest', 'sleep', '3600');
    names.push(name);
  }
  console.log(`${names.length} busybox containers started in ${((performance.now() - t0) / 1000).toFixed(1)} s (vfs)`);
  const bundle = await bundleAgent();

  for (const n of COUNTS) {
    // fleetkit: one agent process, n registrations over its socket.
    const stateDir = mkdtempSync(join(tmpdir(), 'fleetkit-bench-state-'));
    const agent = await spawnAgent(bundle, parts, stateDir, [], NODE_ARGS);
    const prefix = `/bench/agent${n}/`;
    const regs = Array.from({ length: n }, (_, i) => ({ op: 'register', registration: { key: `${prefix}c${i}`, container: names[i % names.length], port: 80, ttl: TTL, hostname: `c-${i}` } }));
    const r0 = performance.now();
    // Sidekicks register concurrently (each is its own unit): CONNS connections share the registrations.
    const CONNS = Math.min(50, n);
    const replies = (await Promise.all(Array.from({ length: CONNS }, (_, c) => agentRequests(stateDir, regs.filter((_, i) => i % CONNS === c))))).flat();
    if (replies.some((r) => !r.ok)) throw new Error(JSON.stringify(replies.find((r) => !r.ok)));
    await waitKeys(prefix, n, 'agent');
    const announceMs = performance.now() - r0;
    const a = await measure(() => [agent.child.pid]);
    results.push({ side: 'fleetkit agent', n, ...a, announceMs });
    agent.child.kill('SIGTERM');
    await agent.exited;
    if ((await countKeys(prefix)) !== 0) throw new Error('agent left keys behind after SIGTERM');

    // classic: one sh + etcdctl keep-alive per announcement.
    if (process.env.SKIP_CLASSIC) continue;
    const cprefix = `/bench/classic${n}/`;
    const value = JSON.stringify({ ip: '10.213.0.2', port: 80, hostname: 'c', host: 'h', machine: 'm', container: 'c', version: 1, time: new Date().toISOString() });
    const e = parts.etcdUrl;
    const shells = [];
    const c0 = performance.now();
    for (let i = 0; i < n; i++) {
      const script = `L=$(etcdctl --endpoints=${e} lease grant ${TTL} | cut -d' ' -f2); ` +
        `etcdctl --endpoints=${e} put --lease=$L ${cprefix}c${i} '${value}' >/dev/null; ` +
        `etcdctl --endpoints=${e} lease keep-alive $L >/dev/null`;
      shells.push(spawn('sh', ['-c', script], { stdio: 'ignore', detached: true, env: { ...process.env, ETCDCTL_API: '3' } }));
    }
    await waitKeys(cprefix, n, 'classic');
    const classicMs = performance.now() - c0;
    const c = await measure(() => shells.flatMap((s) => tree(s.pid)));
    results.push({ side: 'classic sh+etcdctl', n, ...c, announceMs: classicMs });
    for (const s of shells) try { process.kill(-s.pid, 'SIGKILL'); } catch { /* gone */ }
    await client.delete().prefix(cprefix);
  }

  console.log(`\nidle window ${WINDOW_S} s, TTL ${TTL} s; requests counted by etcd (grpc_server_handled_total + etcd_debugging_lease_renewed_total deltas)`);
  console.log('side                  count  procs   RSS MB   CPU %core  etcd req/min  time to announce all');
  for (const r of results) {
    console.log(`${r.side.padEnd(20)} ${String(r.n).padStart(6)} ${String(r.processes).padStart(6)} ${r.rssMB.toFixed(1).padStart(8)} ${r.cpuPct.toFixed(2).padStart(10)} ${r.reqPerMin.toFixed(1).padStart(13)} ${(r.announceMs / 1000).toFixed(2).padStart(10)} s`);
  }
  const a500 = results.find((r) => r.side === 'fleetkit agent' && r.n === 500);
  if (a500) {
    console.log(`\nagent with 500: ${a500.rssMB.toFixed(1)} MB RSS (target ≤ 120: ${a500.rssMB <= 120 ? 'met' : 'MISSED'}), ` +
      `idle CPU ${a500.cpuPct.toFixed(2)}% of a core (target ≤ 1: ${a500.cpuPct <= 1 ? 'met' : 'MISSED'})`);
  }
} finally {
  client.close();
  parts.stop();
}
