/**
 * Helpers for the watch-hosts tests: an etcd client, a watcher running in this process against real
 * etcd, a hosts-file reader that checks every line, a reader loop in another process, and a TCP proxy
 * that can cut the watcher off from etcd while etcd keeps running.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { connectEtcd } from '../../src/etcd/connect.js';
import { watchHosts, type WatchHostsOptions, type WatchHostsStats } from '../../src/hosts/watch-hosts.js';
import type { EtcdPart, TestLike } from '../env/parts.js';

let counter = 0;
/** A name no other test uses (tests share one etcd). */
export function uniqueName(base: string): string {
  return `${base}${process.pid.toString(36)}${(++counter).toString(36)}${Date.now().toString(36).slice(-4)}`;
}

/** A temp dir removed when `t` ends. */
export function tempDir(t: TestLike): string {
  const dir = mkdtempSync(join(tmpdir(), 'fk-hosts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An etcd client closed when `t` ends. */
export async function etcdClient(t: TestLike, endpoints: readonly string[]): Promise<Etcd3> {
  const c = await connectEtcd({ endpoints });
  t.teardown(() => c.close());
  return c;
}

/** A record value as the agent writes it. */
export function record(hostname: string, ip: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ip, hostname, host: 'h1', machine: 'f'.repeat(32), container: hostname, version: 1, time: '2026-01-01T00:00:00Z', ...extra });
}

export interface RunningWatcher {
  readonly out: string;
  readonly logs: string[];
  readonly stats: Promise<WatchHostsStats>;
  stop(): Promise<WatchHostsStats>;
}

/** Runs watchHosts in this process until stop() (or the end of `t`). */
export async function startWatcher(
  t: TestLike,
  endpoints: readonly string[],
  opts: Partial<WatchHostsOptions> & { readonly cluster: string; readonly out: string; readonly prefix: string },
): Promise<RunningWatcher> {
  const client = await connectEtcd({ endpoints, maxReconnectDelayMs: 200 });
  const ac = new AbortController();
  const logs: string[] = [];
  const stats = watchHosts(client, {
    layout: { announcements: `${opts.prefix}/${opts.cluster}/`, flannel: undefined },
    writeMode: 'rename',
    quietMs: 10,
    maxDelayMs: 250,
    hook: undefined,
    env: process.env,
    signal: ac.signal,
    log: (l) => void logs.push(l),
    probeIntervalMs: 300,
    ...opts,
  }).finally(() => client.close());
  const stop = async (): Promise<WatchHostsStats> => {
    ac.abort();
    return stats;
  };
  t.teardown(stop);
  return { out: opts.out, logs, stats, stop };
}

/**
 * Parses a hosts file written for `cluster`, throwing on anything malformed: a BEGIN/header/END frame and
 * between them only `IP NAME NAME.CLUSTER` lines. Returns name → IP.
 */
export function parseHostsBlock(text: string, cluster: string): Map<string, string> {
  const lines = text.split('\n');
  const begin = lines.indexOf(`# BEGIN fleetkit ${cluster}`);
  const end = lines.indexOf(`# END fleetkit ${cluster}`);
  if (begin < 0 || end < begin) throw new Error(`no complete block in ${JSON.stringify(text.slice(0, 200))}`);
  const header = lines[begin + 1] ?? '';
  const m = /, (\d+) entries\./.exec(header);
  if (!m) throw new Error(`bad header ${JSON.stringify(header)}`);
  const out = new Map<string, string>();
  for (const line of lines.slice(begin + 2, end)) {
    const parts = line.split(' ');
    if (parts.length !== 3 || parts[2] !== `${parts[1]}.${cluster}` || !/^[0-9a-f.:]+$/.test(parts[0]!)) {
      throw new Error(`bad line ${JSON.stringify(line)}`);
    }
    out.set(parts[1]!, parts[0]!);
  }
  if (out.size !== Number(m[1])) throw new Error(`header says ${m[1]} entries, block has ${out.size}`);
  return out;
}

/** The block of the file now, or undefined when the file or the block is missing. */
export async function readHosts(path: string, cluster: string): Promise<Map<string, string> | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  return text === undefined ? undefined : parseHostsBlock(text, cluster);
}

/** What etcd holds under the prefix, as the hosts block should show it (name → IP). */
export async function expectedFromEtcd(client: Etcd3, prefix: string): Promise<Map<string, string>> {
  const all = await client.getAll().prefix(prefix).strings();
  const m = new Map<string, string>();
  for (const v of Object.values(all)) {
    const r = JSON.parse(v) as { hostname: string; ip: string };
    m.set(r.hostname, r.ip);
  }
  return m;
}

/** Same content, as sorted arrays (for readable diffs). */
export function entriesOf(m: Map<string, string> | undefined): string[] {
  return m ? [...m].map(([k, v]) => `${v} ${k}`).sort() : [];
}

/**
 * A reader loop in another process: reads the file as fast as it can and checks each read with the same
 * rules as parseHostsBlock. stop() returns {reads, bad, firstBad, sizes: entry counts seen in order (deduped)}.
 */
export function startReaderLoop(t: TestLike, path: string, cluster: string) {
  const code = `
    const fs = require('fs');
    let reads = 0, bad = 0, firstBad, missing = 0; const sizes = [];
    const check = ${parseHostsBlock.toString()};
    let stop = false; process.on('SIGTERM', () => { stop = true; });
    function loop() {
      for (let i = 0; i < 200; i++) {
        let text; try { text = fs.readFileSync(${JSON.stringify(path)}, 'utf8'); } catch { missing++; continue; }
        reads++;
        try { const n = check(text, ${JSON.stringify(cluster)}).size; if (sizes[sizes.length - 1] !== n) sizes.push(n); }
        catch (e) { bad++; if (!firstBad) firstBad = String(e.message); }
      }
      if (stop) { process.stdout.write(JSON.stringify({ reads, bad, firstBad, missing, sizes })); process.exit(0); }
      setImmediate(loop);
    }
    loop();`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let outText = '';
  child.stdout.on('data', (d: Buffer) => (outText += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  t.teardown(() => void child.kill('SIGKILL'));
  return {
    async stop(): Promise<{ reads: number; bad: number; firstBad?: string; missing: number; sizes: number[] }> {
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(outText);
    },
  };
}

/** A TCP proxy to etcd that can be cut (all connections dropped, new ones refused) and restored. */
export async function etcdProxy(t: TestLike, target: string): Promise<{ url: string; cut(): void; restore(): void; retarget(url: string): void }> {
  let to = new URL(target);
  let open = true;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    if (!open) return void s.destroy();
    const up = connect(Number(to.port), to.hostname);
    sockets.add(s).add(up);
    const close = (): void => {
      s.destroy();
      up.destroy();
      sockets.delete(s);
      sockets.delete(up);
    };
    s.on('error', close).on('close', close);
    up.on('error', close).on('close', close);
    s.pipe(up).pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    restore() {
      open = true;
    },
    retarget(url: string) {
      to = new URL(url);
    },
  };
}

export type { EtcdPart };
