/**
 * The fleet client against servers that are not well-behaved fleetds (loopback listeners): one deadline per
 * request covers headers and body (a trickling answer), a silent server, a redirect, a non-JSON answer, a
 * body over the size cap, paging that loops — and SIGTERM in the middle of a load, whose summary says what
 * was done and what was not, with exit status 143.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetClient } from '../../src/fleet/fleet-client.js';
import { parseFleetEndpoint } from '../../src/fleet/endpoint.js';
import { RemoteError } from '../../src/errors.js';
import { runFleetkit } from '../cli/load-io.js';

const root = join(import.meta.dirname, '../..');
const dir = await mkdtemp(join(tmpdir(), 'fk-strict-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

/** An HTTP server on 127.0.0.1 whose answers `handle` writes; closed (sockets too) when `t` ends. */
async function httpServer(t: Test, handle: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<{ url: string; server: Server }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(req, res, n++));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  const addr = server.address();
  return { url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, server };
}

/** Writes `{"units":[]}` padded with spaces one byte per 20 ms, forever (until the socket closes). */
function trickle(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100000' });
  res.write('{');
  const timer = setInterval(() => {
    if (res.destroyed) return clearInterval(timer);
    res.write(' ');
  }, 20);
  res.on('close', () => clearInterval(timer));
}

/** The error `p` rejects with, or a failure when it resolves or takes longer than 10 s. */
async function rejection(p: Promise<unknown>): Promise<RemoteError> {
  const guard = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still pending after 10 s')), 10_000).unref());
  try {
    await Promise.race([p, guard]);
  } catch (e) {
    if (e instanceof RemoteError) return e;
    throw e;
  }
  throw new Error('resolved; expected a rejection');
}

const client = (url: string, extra: Partial<ConstructorParameters<typeof FleetClient>[0]> = {}): FleetClient =>
  new FleetClient({ endpoint: parseFleetEndpoint(url), timeoutMs: 400, ...extra });

t.test('a trickling answer: the deadline covers the body, though every byte arrives in time', async (t) => {
  const { url } = await httpServer(t, (_req, res) => trickle(res));
  const c = client(url);
  const start = performance.now();
  const e = await rejection(c.listUnits());
  c.close();
  t.same([e.code, e.message], ['ERR_FLEET_TIMEOUT', `fleet at ${url} did not answer GET /fleet/v1/units within 400 ms`]);
  t.ok(performance.now() - start >= 390, 'not before the deadline');
});

t.test('a silent server (accepts, never answers) times out', async (t) => {
  const sockets: Socket[] = [];
  const silent = createTcpServer((s) => void sockets.push(s.on('error', () => undefined)));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const addr = silent.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const c = client(url);
  const e = await rejection(c.getUnit('web@1.service'));
  c.close();
  t.same([e.code, e.message], ['ERR_FLEET_TIMEOUT', `fleet at ${url} did not answer GET web@1.service within 400 ms`]);
});

t.test('a redirect is an error, not a success, and is not followed', async (t) => {
  const { url } = await httpServer(t, (req, res) => {
    res.writeHead(301, { Location: 'http://127.0.0.2:1/fleet/v1/units/x.service' });
    res.end();
  });
  const c = client(url);
  const e = await rejection(c.putUnit({ name: 'x.service', options: [{ section: 'Service', name: 'ExecStart', value: '/bin/true' }] }, 'launched'));
  c.close();
  t.equal(e.code, 'ERR_FLEET_PROTOCOL');
  t.match(e.message, /^fleet answered PUT x\.service with a redirect \(301 to http:\/\/127\.0\.0\.2:1\/fleet\/v1\/units\/x\.service\); fleetkit does not follow redirects$/);
});

t.test('an answer that is not JSON (an HTML error page from a proxy) is an error', async (t) => {
  const { url } = await httpServer(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<html><body>Gateway</body></html>');
  });
  const c = client(url);
  const e = await rejection(c.listMachines());
  c.close();
  t.equal(e.code, 'ERR_FLEET_PROTOCOL');
  t.match(e.message, /not a JSON object: <html>/);
});

t.test('a body over the size cap stops reading', async (t) => {
  let written = 0;
  const { url } = await httpServer(t, (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const pump = (): void => {
      while (!res.destroyed && written < 64 * 1024 * 1024) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
    };
    res.write('{"units":[');
    pump();
  });
  const c = client(url, { maxBodyBytes: 1024 * 1024, timeoutMs: 5000 });
  const e = await rejection(c.listUnits());
  c.close();
  t.equal(e.code, 'ERR_FLEET_PROTOCOL');
  t.equal(e.message, `fleet's answer to GET /fleet/v1/units is larger than ${1024 * 1024} bytes; reading stopped`);
  t.ok(written < 16 * 1024 * 1024, 'the server could not push much more than the cap');
});

t.test('paging that loops back to a token it sent before is an error', async (t) => {
  const { url } = await httpServer(t, (req, res, n) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    // page 1 → token B, page B → token C, page C → token B again
    const token = n === 0 ? 'AgACAA==' : n % 2 === 1 ? 'AgADAA==' : 'AgACAA==';
    res.end(JSON.stringify({ units: [{ name: `u${n}.service`, desiredState: 'inactive', currentState: 'inactive', options: [] }], nextPageToken: token }));
  });
  const c = client(url);
  const e = await rejection(c.listUnits());
  c.close();
  t.equal(e.code, 'ERR_FLEET_PROTOCOL');
  t.equal(e.message, `fleet's paging of /units loops: page 3 points back to token "AgACAA=="`);
});

t.test('load --request-timeout against a trickling fleet: exit 1, the request named', async (t) => {
  const { url } = await httpServer(t, (_req, res) => trickle(res));
  await writeFile(join(dir, 'a.service'), '[Service]\nExecStart=/bin/sleep 1000\n');
  const r = await runFleetkit(['load', 'a.service', '--request-timeout', '300ms'], { env: { FLEETCTL_ENDPOINT: url }, cwd: dir });
  t.equal(r.code, 1);
  t.match(r.stderr, /fleet at http:\/\/127\.0\.0\.1:\d+ did not answer GET \/fleet\/v1\/units within 300 ms/);
});

t.test('SIGTERM during a load: what was done and what was not, exit 143', async (t) => {
  let term: () => void = () => undefined;
  const { url } = await httpServer(t, (req, res) => {
    if (req.method === 'GET') return void res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    if (req.url?.startsWith('/fleet/v1/units/a.service')) return void res.writeHead(201).end();
    term(); // b.service: never answered; SIGTERM arrives while it is in flight
  });
  for (const n of ['a', 'b', 'c']) await writeFile(join(dir, `${n}.service`), `[Service]\nExecStart=/bin/sleep 100${n.charCodeAt(0)}\n`);
  const child = spawn(process.execPath, [join(root, 'bin/fleetkit.cjs'), 'load', 'a.service', 'b.service', 'c.service', '--parallel', '1', '--no-wait'], {
    cwd: dir,
    env: { PATH: process.env['PATH'], FLEETCTL_ENDPOINT: url },
  });
  term = () => child.kill('SIGTERM');
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const [code] = (await once(child, 'exit')) as [number | null];
  t.equal(code, 143, stderr);
  t.match(stdout, /^load: 1 created, 0 replaced, 0 unchanged, 0 failed, 2 interrupted$/m);
  t.match(stderr, /b\.service: interrupted while waiting for fleet's answer to PUT b\.service \(fleet may have carried it out\)/);
  t.match(stderr, /c\.service: interrupted: PUT c\.service was not sent/);
});
