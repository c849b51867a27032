/**
 * What the reachability tests share: fleetkit run as a real process (a connection left open keeps it alive,
 * so "it ended by itself" means something), and a proxy in front of a unix socket whose connections a test
 * can cut, as a restarting bus or server would.
 */
import { spawn } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/fleetkit.cjs', import.meta.url));

/** What a fleetkit process did. */
export interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Still running after the limit, and killed. */
  readonly killed: boolean;
  /** From spawn to exit. */
  readonly ms: number;
}

/** Runs `fleetkit ARGS` as a process; kills it (and says so) if it is still running after `killAfterMs`. */
export function fleetkitProcess(args: readonly string[], env: Record<string, string>, killAfterMs = 20_000): Promise<ProcessResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed, ms: Date.now() - started });
    });
  });
}

/** A proxy listening on `listenPath` that pipes each connection to `targetPath`; `cut()` ends every one. */
export async function cuttableProxy(t: { teardown(fn: () => unknown): void }, targetPath: string, listenPath: string): Promise<{ server: Server; cut(): void }> {
  const pairs = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPath);
    pairs.add(client);
    pairs.add(upstream);
    client.pipe(upstream).pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(listenPath, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, cut: () => { for (const s of pairs) s.destroy(); } };
}
