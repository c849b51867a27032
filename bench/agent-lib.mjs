// Shared by the agent benches: private etcd and dockerd from the project's test environment scripts, the
// agent bundled with esbuild (dependencies left in node_modules: etcd3 reads its .proto files at run time)
// and started as its own process, and a raw client of its socket.
import { build } from 'esbuild';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MACHINE = '0123456789abcdef0123456789abcdef';
const envDir = join(root, 'test/env');

function partEnv(dir) {
  return Object.fromEntries(readFileSync(join(dir, 'part.env'), 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/** Starts a private etcd and dockerd under one temp dir; `stop()` removes both. */
export function startParts(tag) {
  const base = mkdtempSync(join(tmpdir(), `fleetkit-bench-${tag}-`));
  const etcdDir = join(base, 'etcd');
  const engineDir = join(base, 'engine');
  const name = `fkbn${process.pid % 100000}`;
  const quiet = { stdio: ['ignore', 'ignore', 'inherit'] };
  execFileSync('bash', [join(envDir, 'etcd.sh'), 'start', etcdDir], quiet);
  execFileSync('bash', [join(envDir, 'engine.sh'), 'start', engineDir, name], quiet);
  const etcdUrl = partEnv(etcdDir).ETCD_URL;
  const socketPath = join(engineDir, 'docker.sock');
  return {
    base, etcdUrl, socketPath, dockerHost: `unix://${socketPath}`,
    docker: (...args) => execFileSync('docker', args, { env: { ...process.env, DOCKER_HOST: `unix://${socketPath}` }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    stop() {
      try { execFileSync('bash', [join(envDir, 'engine.sh'), 'stop', engineDir], quiet); } catch { /* reported by the script */ }
      try { execFileSync('bash', [join(envDir, 'etcd.sh'), 'stop', etcdDir], quiet); } catch { /* idem */ }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Bundles `fleetkit agent` (src/cli/agent.ts) into node_modules/.cache and returns the file. */
export async function bundleAgent() {
  const dir = join(root, 'node_modules/.cache/fleetkit-bench');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'agent.cjs');
  await build({
    stdin: {
      resolveDir: root, loader: 'ts',
      contents: `import { run } from './src/cli/agent.ts'; import { processIO } from './src/cli/io.ts';
        const ac = new AbortController(); process.once('SIGTERM', () => ac.abort());
        run(process.argv.slice(2), processIO(ac.signal)).then((c) => { process.exitCode = c; }, (e) => { console.error(e); process.exitCode = 1; });`,
    },
    bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile, packages: 'external', logLevel: 'warning',
  });
  return outfile;
}

/** Starts the bundled agent; resolves once it logs "agent ready". */
export async function spawnAgent(bundle, parts, stateDir, extraArgs = [], nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, bundle, '--etcd', parts.etcdUrl, '--etcd-prefix', '/bench', '--state-dir', stateDir,
    '--docker-host', parts.dockerHost, '--flannel-env', join(stateDir, 'none.env'), '--machine-id', MACHINE, ...extraArgs],
  { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  child.stdout.setEncoding('utf8').on('data', (s) => lines.push(...s.split('\n').filter(Boolean)));
  await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (lines.some((l) => l.includes('agent ready'))) { clearInterval(t); resolve(); }
      if (child.exitCode !== null) { clearInterval(t); reject(new Error(`agent exited: ${lines.join('\n')}`)); }
    }, 20);
  });
  return { child, lines, exited: new Promise((r) => child.on('exit', (code) => r(code))) };
}

/** Sends request lines over one connection to the agent socket; resolves with the replies. */
export function agentRequests(stateDir, requests) {
  return new Promise((resolve, reject) => {
    const s = createConnection(join(stateDir, 'agent.sock'));
    let buf = '';
    const replies = [];
    s.setEncoding('utf8');
    s.on('connect', () => s.write(requests.map((r) => `${JSON.stringify(r)}\n`).join('')));
    s.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        replies.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
      }
      if (replies.length === requests.length) { s.end(); resolve(replies); }
    });
    s.on('error', reject);
  });
}

/** POST to the docker API (no CLI start-up in the measured time). */
export function dockerApi(socketPath, method, path) {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', reject);
    req.end();
  });
}

/** RSS of a process in kB (VmRSS). */
export function rssKb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** CPU ticks (user + system) of a process. */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/**
 * Requests etcd has served, from its /metrics: every completed unary call (grpc_server_handled_total: puts,
 * deletes, grants, revokes, ranges) plus every lease renewal (etcd_debugging_lease_renewed_total: one per
 * keep-alive message on a stream, which handled_total only counts when the stream ends).
 */
export async function etcdRequests(etcdUrl) {
  const text = await (await fetch(`${etcdUrl}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('grpc_server_handled_total{') || line.startsWith('etcd_debugging_lease_renewed_total ')) n += Number(line.split(' ').pop());
  }
  return n;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
