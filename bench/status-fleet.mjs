// Bench: `fleetkit status` over 1,000 announced instances in the fleet test server (2 ms latency per
// request, its own process, as fleetd is) and a real etcd (test/env/etcd.sh), reading the local hosts file only.
//   node bench/status-fleet.mjs [INSTANCES=1000] [RUNS=7]
// The spec has one service with INSTANCES replicas and x-announce, so fleet holds INSTANCES container units,
// as many discovery sidekicks and the cluster's two host units; etcd holds INSTANCES announcements (leased,
// fresh) and the container facts an agent would publish for each; the hosts file is written by
// `fleetkit watch-hosts --once`. So the cluster is healthy and status must exit 0 (checked on every run).
// Timed: the built CLI (bin/fleetkit.cjs) as a process, from spawn to exit, RUNS times: median and p90.
// Baseline, same run, same server: what fleetctl fetches for `list-unit-files` and `list-units` — every page
// of GET /fleet/v1/units and of GET /fleet/v1/state, one keep-alive connection, in-process, no rendering.
// Target: status median < 1 s. Exits 1 when it is missed or a run does not exit 0.
import { execFile, execFileSync, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Etcd3 } from 'etcd3';
import { importBundled } from './load-bundle.mjs';
import { median } from './stats.mjs';

const INSTANCES = Number(process.argv[2] ?? 1000);
const RUNS = Number(process.argv[3] ?? 7);
const LATENCY = 2;
const TARGET_MS = 1000;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'bin/fleetkit.cjs');
const run = promisify(execFile);
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.ceil(0.9 * xs.length) - 1];

const { encodeFacts, factsKey, announcementKey } = await importBundled([
  "export { encodeFacts } from './src/etcd/container-facts.ts';",
  "export { factsKey, announcementKey } from './src/etcd/key-layout.ts';",
]);

const dir = mkdtempSync(join(tmpdir(), 'fk-status-bench-'));
const etcdDir = join(dir, 'etcd');
const quiet = { stdio: ['ignore', 'ignore', 'inherit'] };
execFileSync('bash', [join(root, 'test/env/etcd.sh'), 'start', etcdDir], quiet);
const etcdUrl = readFileSync(join(etcdDir, 'part.env'), 'utf8').match(/^ETCD_URL=(.*)$/m)[1];
const prefix = '/fkbench';
const machines = Array.from({ length: 10 }, (_, i) => ({ id: (i + 1).toString(16).padStart(32, 'a'), primaryIP: `10.0.0.${i + 1}`, metadata: { role: 'worker' } }));
const spec = join(dir, 'cluster.yaml');
const hosts = join(dir, 'hosts');
writeFileSync(spec, `name: bench\nx-fleetkit:\n  etcd: { endpoints: [${etcdUrl}], prefix: ${prefix} }\nservices:\n  web:\n    image: local/httpd\n` +
  `    ports: ["80"]\n    deploy: { replicas: ${INSTANCES} }\n    x-announce: { port: 80, ttl: 300s }\n`);
writeFileSync(hosts, '127.0.0.1 localhost\n::1 localhost ip6-localhost\n');

/** Every page of GET /fleet/v1/PATH on one keep-alive connection; returns the items under `key`. */
async function pages(agent, socketPath, path, key) {
  const items = [];
  let token;
  for (let i = 0; i < 1000; i++) {
    const q = `alt=json${token ? `&nextPageToken=${encodeURIComponent(token)}` : ''}`;
    const body = await new Promise((resolve, reject) => {
      http.get({ socketPath, agent, path: `/fleet/v1/${path}?${q}` }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(Buffer.concat(chunks).toString())) : reject(new Error(`GET ${path}: ${res.statusCode}`))));
      }).on('error', reject);
    });
    items.push(...(body[key] ?? []));
    token = body.nextPageToken;
    if (!token) return items;
  }
  throw new Error(`GET ${path}: more than 1000 pages`);
}

async function fleetkitStatus(endpoint) {
  const t0 = performance.now();
  const r = await run(process.execPath, [cli, 'status', spec, '--endpoint', endpoint, '--hosts-file', hosts, '--machine-id', machines[0].id], { cwd: dir, maxBuffer: 64 << 20 })
    .catch((e) => e);
  const ms = performance.now() - t0;
  const code = r.code ?? 0;
  if (code !== 0) throw new Error(`fleetkit status exited ${code}:\n${(r.stdout ?? '').split('\n').filter((l) => /^\s*!|could not|agree/.test(l)).slice(0, 20).join('\n')}\n${(r.stderr ?? '').slice(-1500)}`);
  return { ms, lines: r.stdout.split('\n').length, summary: r.stdout.trim().split('\n').at(-1) };
}

const child = fork(new URL('./load-fleet-server.mjs', import.meta.url), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await once(child, 'message');
child.send({ socketPath: join(dir, 'fleet.sock'), latencyMs: LATENCY, machines });
const [server] = await once(child, 'message');
const etcd = new Etcd3({ hosts: [etcdUrl] });
try {
  // Setup, not timed: the units into fleet (the test server's agents settle before answering).
  await run(process.execPath, [cli, 'load', spec, '--no-wait', '--parallel', '16', '--endpoint', server.endpoint], { cwd: dir, maxBuffer: 64 << 20 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const states = await pages(agent, server.socketPath, 'state', 'states');
  const where = new Map(states.map((s) => [s.name, s.machineID]));
  const lease = etcd.lease(600);
  const now = new Date().toISOString();
  for (let i = 1; i <= INSTANCES; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, INSTANCES - i + 1) }, async (_, k) => {
      const n = i + k;
      const unit = `web@${n}.service`;
      const machine = where.get(unit);
      if (!machine) throw new Error(`${unit} is not scheduled`);
      const ip = `10.${1 + (n >> 8)}.${n & 255}.2`;
      await lease.put(announcementKey(prefix, 'bench', 'web', String(n))).value(JSON.stringify({ ip, port: 80, hostname: `web-${n}`, host: 'h', machine, container: `bench-web-${n}`, version: 1, time: now }));
      await lease.put(factsKey(prefix, machine, unit)).value(encodeFacts({ v: 1, unit, machine, phase: 'running', restarts: 0, startedAt: now, updatedAt: now }));
    }));
  }
  await run(process.execPath, [cli, 'watch-hosts', spec, '--once', '--out', hosts], { cwd: dir });

  console.log(`load average before: ${load()}`);
  const rows = [];
  for (let r = 1; r <= RUNS; r++) {
    const t0 = performance.now();
    const u = await pages(agent, server.socketPath, 'units', 'units');
    const s = await pages(agent, server.socketPath, 'state', 'states');
    const base = performance.now() - t0;
    const st = await fleetkitStatus(server.endpoint);
    const v0 = performance.now();
    await run(process.execPath, [cli, '--version']);
    const startup = performance.now() - v0;
    rows.push({ startup, status: st.ms, base, units: u.length, states: s.length, lines: st.lines, summary: st.summary, load: load() });
  }
  agent.destroy();

  const f = (ms) => `${(ms / 1000).toFixed(3)} s`;
  const last = rows.at(-1);
  const st = rows.map((x) => x.status);
  const bs = rows.map((x) => x.base);
  console.log(`fleet test server (own process): unix socket, ${LATENCY} ms latency per request, ${machines.length} machines; etcd 3.4 (test/env/etcd.sh)`);
  console.log(`${last.units} fleet units (${INSTANCES} web@N, ${INSTANCES} sidekicks, host units), ${last.states} states, ${INSTANCES} leased announcements + ${INSTANCES} container facts`);
  rows.forEach((x, i) => console.log(`run ${i + 1}: fleetkit status ${f(x.status)} (${x.lines} lines); GET /units + /state, all pages ${f(x.base)}; load average ${x.load}`));
  console.log(`status says: ${last.summary}`);
  console.log(`fleetkit status (bin/fleetkit.cjs, process, exit 0): median ${f(median(st))}, p90 ${f(p90(st))}, over ${RUNS} runs`);
  console.log(`baseline, fleetctl's fetch for list-unit-files + list-units (every page of GET /fleet/v1/units and /fleet/v1/state, in-process): median ${f(median(bs))}, p90 ${f(p90(bs))}`);
  console.log(`for scale: \`fleetkit --version\` (process start, no I/O) median ${f(median(rows.map((x) => x.startup)))}`);
  console.log(`target: status median < 1 s: ${median(st) < TARGET_MS ? 'met' : 'NOT met'}; load average after: ${load()}`);
  process.exitCode = median(st) < TARGET_MS ? 0 : 1;
} finally {
  etcd.close();
  child.send('close');
  await once(child, 'exit');
  try { execFileSync('bash', [join(root, 'test/env/etcd.sh'), 'stop', etcdDir], quiet); } catch { /* reported by the script */ }
  rmSync(dir, { recursive: true, force: true });
}
// The etcd client's lease keep-alive outlives close(): leave once everything is stopped.
process.exit();
