#!/usr/bin/env node
// Benchmark of `fleetkit watch-hosts` against the classic baseline, in one run, against one private etcd:
//
//   baseline:  etcdctl watch --prefix P -- sh regen.sh    (regen.sh: etcdctl get --prefix → sed → mv)
//   fleetkit:  fleetkit watch-hosts --prefix … --cluster … --out FILE
//
// Idle: N single puts (default 1,000), each once the previous one is in the file plus 50 ms; latency is
// from just before the put to the moment the new file is in place. Detection: fs.watch on the file's
// directory (inotify): every rename/change event re-reads the file and checks for the new entry.
// Burst: 10,000 announcements put as fast as one client can (64 in flight). Reported: time from when the last
// put was sent until the rename of the first file that holds all 10,000 (convergence), number of writes and
// the shortest gap between two writes (renames seen by inotify in a worker thread of their own), and CPU
// seconds (utime+stime, children included) of the watcher process vs the baseline's process tree (etcdctl
// + the sh/etcdctl/sed/mv it runs) up to convergence.
//
// Usage: node bench/watch-hosts.mjs [--idle N] [--burst N] [--baseline-timeout S] [--dir DIR]
// Needs etcd and etcdctl on PATH. Starts its own etcd with test/env/etcd.sh and removes it at the end.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { build } from 'esbuild';
import { Etcd3 } from 'etcd3';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({ options: { idle: { type: 'string' }, burst: { type: 'string' }, 'baseline-timeout': { type: 'string' }, dir: { type: 'string' } } });
const IDLE = Number(args.idle ?? 1000);
const BURST = Number(args.burst ?? 10_000);
const BASELINE_TIMEOUT_MS = Number(args['baseline-timeout'] ?? 120) * 1000;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK']).stdout.toString().trim() || 100);

// --dir: where the hosts files go (default the temp dir, beside etcd's data). /dev/shm puts them on tmpfs,
// as /run is on a host: the fsyncs then cost nothing and do not queue behind etcd's WAL fsyncs.
const work = mkdtempSync(join(args.dir ?? tmpdir(), 'fk-bench-hosts-'));
const etcdDir = join(mkdtempSync(join(tmpdir(), 'fk-bench-etcd-')), 'etcd');
const children = new Set();
function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  spawnSync('bash', [join(root, 'test/env/etcd.sh'), 'stop', etcdDir], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
  rmSync(dirname(etcdDir), { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

// ---- etcd
const started = spawnSync('bash', [join(root, 'test/env/etcd.sh'), 'start', etcdDir], { encoding: 'utf8' });
if (started.status !== 0) throw new Error(`etcd did not start: ${started.stderr}`);
const ETCD = started.stdout.trim().split('\n').pop();
const client = new Etcd3({ hosts: ETCD });

// ---- the watcher under test, bundled from source (dependencies from node_modules)
const entry = join(work, 'entry.ts');
// Only the command itself (the full CLI bundle is scripts/bundle.mjs's job): same code path as bin/.
writeFileSync(
  entry,
  `import { run } from ${JSON.stringify(join(root, 'src/cli/watch-hosts.ts'))};\n` +
    `import { processIO } from ${JSON.stringify(join(root, 'src/cli/io.ts'))};\n` +
    `const ac = new AbortController(); process.once('SIGTERM', () => ac.abort()); process.once('SIGINT', () => ac.abort());\n` +
    `run(process.argv.slice(3), processIO(ac.signal)).then((c) => (process.exitCode = c), (e) => { process.stderr.write(String(e?.format?.() ?? e?.stack ?? e) + '\\n'); process.exitCode = 1; });\n`,
);
// Inside the project, so that its external packages resolve from node_modules.
const bundle = join(root, 'node_modules', '.cache', 'fleetkit-bench', `watch-hosts-${process.pid}.cjs`);
process.on('exit', () => rmSync(bundle, { force: true }));
await build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', outfile: bundle, packages: 'external', logLevel: 'error', nodePaths: [join(root, 'node_modules')] });

// ---- helpers
const record = (name, ip) => JSON.stringify({ ip, hostname: name, host: 'h1', machine: 'f'.repeat(32), container: name, version: 1, time: new Date().toISOString() });
const ipOf = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // fields after "comm)": state=0 … utime=11 stime=12 cutime=13 cstime=14
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * Records each rename of `file` (a new inode) with its time, in a worker thread that does nothing else: the
 * main thread reads and splits a 10,000-line file on every event, and timestamps taken behind that work
 * would shrink the gaps between writes as seen here.
 */
function renameRecorder(file) {
  const w = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const { watch, statSync } = require('node:fs');
     const { dirname, basename } = require('node:path');
     let last;
     const base = basename(workerData);
     watch(dirname(workerData), (ev, name) => {
       if (name !== base) return;
       const now = performance.timeOrigin + performance.now();
       try {
         const ino = statSync(workerData).ino;
         if (ino !== last) (last = ino), parentPort.postMessage({ t: now, ino });
       } catch {}
     });
     parentPort.postMessage('ready');`,
    { eval: true, workerData: file },
  );
  const times = [];
  const ready = new Promise((r) =>
    w.on('message', (m) => {
      if (m === 'ready') return r();
      const t = m.t - performance.timeOrigin;
      times.push(t);
    }),
  );
  return { ready, times, close: () => w.terminate() };
}

/** The file's text and the inode it was read from (which write it is). */
function readWithInode(file) {
  const fd = openSync(file, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    // ctime: Linux sets it when the inode is renamed into place, so it stamps the write itself (on this
    // process's performance clock), whatever the inode number (numbers of deleted files are reused).
    return { ino: Number(st.ino), ctime: Number(st.ctimeNs) / 1e6 - performance.timeOrigin, text: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/**
 * Watches `file` through its directory; resolves waits on a predicate of its text with the time the change
 * was seen and the inode that satisfied it.
 */
function fileWatcher(file) {
  const waiters = new Set();
  const dir = dirname(file);
  const base = file.slice(dir.length + 1);
  const w = watch(dir, (ev, name) => {
    if (name !== base) return;
    const now = performance.now();
    let read;
    try {
      read = readWithInode(file);
    } catch {
      return;
    }
    for (const wt of waiters) if (wt.pred(read.text)) (waiters.delete(wt), wt.resolve({ at: now, ino: read.ino, ctime: read.ctime }));
  });
  return {
    until(pred, timeoutMs) {
      return new Promise((resolve, reject) => {
        const wt = { pred, resolve: (x) => (clearTimeout(timer), resolve(x)) };
        const timer = setTimeout(() => (waiters.delete(wt), reject(new Error('timeout'))), timeoutMs);
        waiters.add(wt);
        try {
          const read = readWithInode(file);
          if (pred(read.text)) (waiters.delete(wt), wt.resolve({ at: performance.now(), ino: read.ino, ctime: read.ctime }));
        } catch {}
      });
    },
    close: () => w.close(),
  };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : String(x));

function startTool(kind, prefix, cluster, out) {
  let child;
  if (kind === 'fleetkit') {
    child = spawn(process.execPath, [bundle, 'watch-hosts', '--etcd', ETCD, '--prefix', prefix, '--cluster', cluster, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  } else {
    const regen = join(work, 'regen.sh');
    writeFileSync(
      regen,
      `#!/bin/sh\n# Rebuild the hosts file from scratch: every announcement, then an atomic rename.\n` +
        `etcdctl --endpoints=${ETCD} get --prefix "${prefix}/${cluster}/" --print-value-only |\n` +
        `  sed -n 's/^{"ip":"\\([^"]*\\)","hostname":"\\([^"]*\\)".*/\\1 \\2 \\2.${cluster}/p' > "${out}.tmp" && mv "${out}.tmp" "${out}"\n`,
    );
    child = spawn('etcdctl', [`--endpoints=${ETCD}`, 'watch', '--prefix', `${prefix}/${cluster}/`, '--', 'sh', regen], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCDCTL_API: '3' } });
  }
  let err = '';
  // fleetkit logs each write ("wrote /path…", behind the logger's prefix, or "<6>" under journald): its times (at receipt) give the exact write count and gaps.
  const wrote = [];
  child.stderr.on('data', (d) => {
    err = (err + d).slice(-4000);
    const now = performance.now();
    for (const l of String(d).split('\n')) if (/(^|<6>|: )wrote \//.test(l)) wrote.push(now);
  });
  children.add(child);
  return { child, wrote, stop: () => (child.kill('SIGTERM'), children.delete(child)), stderr: () => err };
}

async function runIdle(kind) {
  const prefix = `/bench-${kind}`;
  const cluster = 'idle';
  const dir = join(work, `${kind}-idle`);
  spawnSync('mkdir', ['-p', dir]);
  const out = join(dir, 'hosts');
  // A realistic file: 100 announcements before the measured puts.
  for (let i = 0; i < 100; i++) await client.put(`${prefix}/${cluster}/base/${i}`).value(record(`base-${i}`, ipOf(i)));
  const fw = fileWatcher(out);
  const tool = startTool(kind, prefix, cluster, out);
  // The baseline only writes on an event, and misses those before its watch is set up: poke until it writes.
  const poke = kind === 'baseline' && setInterval(() => void client.put(`${prefix}/${cluster}/base/0`).value(record('base-0', ipOf(0))).exec(), 200);
  await fw.until((t) => t.includes(' base-99 '), 10_000).catch((e) => {
    throw new Error(`${kind} wrote no file: ${tool.stderr()}`, { cause: e });
  });
  if (poke) clearInterval(poke);
  await sleep(100);
  const lat = [];
  const ack = [];
  for (let i = 0; i < IDLE; i++) {
    const name = `idle-${i}`;
    const wait = fw.until((t) => t.includes(` ${name} `), 10_000);
    const t0 = performance.now();
    await client.put(`${prefix}/${cluster}/idle/${i}`).value(record(name, ipOf(1000 + i)));
    ack.push(performance.now() - t0);
    lat.push((await wait).at - t0);
    await sleep(50);
  }
  tool.stop();
  fw.close();
  // The put's own round trip (etcd's commit, a WAL fsync) is part of every latency: shown apart.
  return { p50: pct(lat, 50), p99: pct(lat, 99), max: Math.max(...lat), ackP50: pct(ack, 50), ackP99: pct(ack, 99) };
}

async function runBurst(kind) {
  const prefix = `/bench-${kind}`;
  const cluster = 'burst';
  const dir = join(work, `${kind}-burst`);
  spawnSync('mkdir', ['-p', dir]);
  const out = join(dir, 'hosts');
  const fw = fileWatcher(out);
  const renames = renameRecorder(out);
  await renames.ready;
  const tool = startTool(kind, prefix, cluster, out);
  // Wait until it watches: a marker put must reach the file (fleetkit writes at start, the baseline on events).
  const marker = setInterval(() => void client.put(`${prefix}/${cluster}/marker`).value(record('marker', '10.255.0.1')).exec(), 200);
  await fw.until((t) => t.includes(' marker '), 10_000).catch((e) => {
    throw new Error(`${kind} did not write the marker: ${tool.stderr()}`, { cause: e });
  });
  clearInterval(marker);
  await sleep(300);
  const cpu0 = cpuSeconds(tool.child.pid);
  const lastName = `b-${BURST - 1}`;
  // Complete = every entry present: count lines.
  const complete = (t) => t.includes(` ${lastName} `) && t.split('\n').filter((l) => / b-\d+ /.test(l)).length === BURST;
  const done = fw.until(complete, BASELINE_TIMEOUT_MS + 60_000).catch(() => ({ at: NaN, ino: undefined }));
  const t0 = performance.now();
  // Timed from when the last put was sent, not from its ack: under load this process reads acks late, and the
  // complete file was often renamed before the last ack was read (the old figure went negative). No file can be
  // complete before the last put is sent, so this is an upper bound on the time from etcd's commit.
  let tLastSent = NaN;
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < BURST) {
        const i = next++;
        if (i === BURST - 1) tLastSent = performance.now();
        await client.put(`${prefix}/${cluster}/b/${i}`).value(record(`b-${i}`, ipOf(i)));
      }
    }),
  );
  const tLast = performance.now();
  const timeout = sleep(kind === 'fleetkit' ? 10_000 : BASELINE_TIMEOUT_MS).then(() => ({ at: NaN, ino: undefined }));
  const seen = await Promise.race([done, timeout]);
  // Convergence is timed to the rename that put the complete file in place (the ctime of the inode read),
  // not to when this thread got round to reading it: reading and counting 10,000 lines after
  // every write delays what this thread sees by several ms, which would blur the fleetkit figure most.
  const tDone = seen.ctime ?? seen.at;
  const cpu = cpuSeconds(tool.child.pid) - cpu0;
  // The same window for both: until 10 s after the last put (a baseline still working off its backlog of
  // one regen per event keeps spending CPU after it first showed a complete file).
  await sleep(Math.max(0, tLast + 10_000 - performance.now()));
  const cpuWindow = cpuSeconds(tool.child.pid) - cpu0;
  // Writes: new inodes seen through inotify by the recorder thread (each rename is a new inode; inotify may
  // report one rename twice, the inode tells them apart). fleetkit also logs each write: that count is
  // printed beside.
  const ws = renames.times.filter((w) => w >= t0);
  let minGap = Infinity;
  for (let i = 1; i < ws.length; i++) minGap = Math.min(minGap, ws[i] - ws[i - 1]);
  tool.stop();
  fw.close();
  await renames.close();
  return { ownLogWrites: tool.wrote.filter((w) => w >= t0).length, putSeconds: (tLast - t0) / 1000, convergenceMs: tDone - tLastSent, seenMs: seen.at - tLastSent, sincePutStartMs: tDone - t0, writes: ws.length, minGapMs: minGap, cpu, cpuWindow };
}

const results = {};
for (const kind of ['fleetkit', 'baseline']) {
  process.stderr.write(`${kind}: idle (${IDLE} puts)…\n`);
  const idle = await runIdle(kind);
  process.stderr.write(`${kind}: burst (${BURST} puts)…\n`);
  const burst = await runBurst(kind);
  results[kind] = { idle, burst };
}
client.close();

const F = results.fleetkit;
const B = results.baseline;
console.log(`watch-hosts bench — etcd ${ETCD}, files in ${work}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}, ${IDLE} idle puts, ${BURST}-put burst (64 in flight, one client)`);
console.log(`                         fleetkit      baseline (etcdctl watch -- sh regen.sh)`);
console.log(`idle p50 ms          ${f1(F.idle.p50).padStart(12)}  ${f1(B.idle.p50).padStart(12)}`);
console.log(`idle p99 ms          ${f1(F.idle.p99).padStart(12)}  ${f1(B.idle.p99).padStart(12)}     target fleetkit ≤ 25`);
console.log(`idle max ms          ${f1(F.idle.max).padStart(12)}  ${f1(B.idle.max).padStart(12)}`);
console.log(`  of which put ack   ${`${f1(F.idle.ackP50)}/${f1(F.idle.ackP99)}`.padStart(12)}  ${`${f1(B.idle.ackP50)}/${f1(B.idle.ackP99)}`.padStart(12)}     p50/p99 of the put's own round trip (etcd commit)`);
console.log(`burst put time s     ${f1(F.burst.putSeconds).padStart(12)}  ${f1(B.burst.putSeconds).padStart(12)}`);
console.log(`burst convergence ms ${f1(F.burst.convergenceMs).padStart(12)}  ${f1(B.burst.convergenceMs).padStart(12)}     last put sent → rename of the complete file; target fleetkit ≤ 1000 (NaN: not within ${BASELINE_TIMEOUT_MS / 1000} s)`);
console.log(`  as seen here ms    ${f1(F.burst.seenMs).padStart(12)}  ${f1(B.burst.seenMs).padStart(12)}     (when this process had read and counted it)`);
console.log(`burst writes         ${String(F.burst.writes).padStart(12)}  ${String(B.burst.writes).padStart(12)}     (fleetkit's own log: ${F.burst.ownLogWrites})`);
console.log(`burst min gap ms     ${f1(F.burst.minGapMs).padStart(12)}  ${f1(B.burst.minGapMs).padStart(12)}     target fleetkit ≥ 50 (≤ 1 write per 50 ms)`);
console.log(`burst CPU s          ${F.burst.cpu.toFixed(2).padStart(12)}  ${B.burst.cpu.toFixed(2).padStart(12)}     up to convergence (baseline: up to the timeout if it never converged)`);
console.log(`burst CPU s, 10 s     ${F.burst.cpuWindow.toFixed(2).padStart(11)}  ${B.burst.cpuWindow.toFixed(2).padStart(12)}     from the first put until 10 s after the last (same window for both)`);
const conv = B.burst.convergenceMs / F.burst.convergenceMs;
const cpu = B.burst.cpu / F.burst.cpu;
const cpuW = B.burst.cpuWindow / F.burst.cpuWindow;
console.log(`ratio baseline/fleetkit: convergence ${Number.isFinite(conv) ? conv.toFixed(1) + '×' : `> ${(BASELINE_TIMEOUT_MS / F.burst.convergenceMs).toFixed(0)}× (baseline did not converge)`}, CPU ${cpu.toFixed(1)}× to convergence, ${cpuW.toFixed(1)}× over the 10 s window   (target ≥ 20× on both)`);
const ok = F.idle.p99 <= 25 && F.burst.convergenceMs <= 1000 && F.burst.minGapMs >= 50;
console.log(ok ? 'fleetkit targets met (idle p99, burst convergence, write rate)' : 'fleetkit targets NOT met');
process.exitCode = ok ? 0 : 1;
