/**
 * fleetctl's ways to reach fleet, through `fleetkit load` as a process: TLS with --ca-file/--cert-file/
 * --key-file (and their FLEETCTL_* variables) against a loopback TLS server that requires a client
 * certificate (certificates made here with openssl), and --tunnel (and FLEETCTL_TUNNEL) through the system's
 * ssh — a fake `ssh` first on PATH that records its argv and carries stdio to the fleet test server's socket,
 * as there is no sshd here.
 */
import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleetServerPart, type FleetServer } from '../fleet-server/server.js';

const root = join(import.meta.dirname, '../..');
const dir = await mkdtemp(join(tmpdir(), 'fk-conn-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
await writeFile(join(dir, 'a.service'), '[Service]\nExecStart=/bin/sleep 1000\n');

/** `fleetkit ARGS` as a process in `dir` with `env` over a minimal environment. */
async function fleetkit(args: readonly string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(root, 'bin/fleetkit.cjs'), ...args], { cwd: dir, env: { PATH: process.env['PATH'] ?? '', ...env } });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c));
  child.stderr.on('data', (c: Buffer) => (err += c));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}

const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
async function makeCertificates(): Promise<void> {
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=fleetkit test CA');
  for (const [name, ext] of [['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n'], ['client', 'extendedKeyUsage=clientAuth\n']] as const) {
    await writeFile(join(dir, `${name}.ext`), ext);
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', '-extfile', `${name}.ext`);
  }
}

/** A TLS front on 127.0.0.1 that demands a client certificate of our CA and passes requests to `s`. */
async function tlsFront(t: Test, s: FleetServer): Promise<{ url: string; clients: string[] }> {
  const clients: string[] = [];
  const front = createHttpsServer({
    key: await readFile(join(dir, 'server.key')),
    cert: await readFile(join(dir, 'server.pem')),
    ca: await readFile(join(dir, 'ca.pem')),
    requestCert: true,
    rejectUnauthorized: true,
  }, (req, res) => {
    clients.push(String((req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN));
    const up = request({ socketPath: s.socketPath, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => front.close(() => r())));
  const addr = front.address();
  return { url: `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`, clients };
}

t.test('TLS: --ca-file/--cert-file/--key-file and FLEETCTL_* variables', async (t) => {
  await makeCertificates();
  const s = await fleetServerPart(t, { socketPath: join(dir, 'tls-fleet.sock') });
  const { url, clients } = await tlsFront(t, s);
  const files = ['--ca-file', join(dir, 'ca.pem'), '--cert-file', join(dir, 'client.pem'), '--key-file', join(dir, 'client.key')];

  const flags = await fleetkit(['load', 'a.service', '--endpoint', url, ...files, '--no-block'], {});
  t.equal(flags.code, 0, flags.err);
  t.same(s.units().map((u) => [u.name, u.desiredState]), [['a.service', 'launched']]);
  t.ok(clients.length > 0 && clients.every((c) => c === 'client'), 'every request carried the client certificate');

  const vars = await fleetkit(['destroy', 'a.service', '--no-block'], {
    FLEETCTL_ENDPOINT: url, FLEETCTL_CA_FILE: join(dir, 'ca.pem'), FLEETCTL_CERT_FILE: join(dir, 'client.pem'), FLEETCTL_KEY_FILE: join(dir, 'client.key'),
  });
  t.equal(vars.code, 0, vars.err);
  t.same(s.units(), [], 'destroyed through the variables');

  const noCa = await fleetkit(['load', 'a.service', '--endpoint', url, '--no-block'], {});
  t.equal(noCa.code, 1);
  t.match(noCa.err, /unable to get local issuer certificate|self-signed certificate/i, 'the server is not trusted without the CA');
  const noCert = await fleetkit(['load', 'a.service', '--endpoint', url, '--ca-file', join(dir, 'ca.pem'), '--no-block'], {});
  t.equal(noCert.code, 1, 'the server refuses a client without a certificate');
  t.match(noCert.err, /TLS with fleet at https:\/\/127\.0\.0\.1:\d+ failed/, 'the refusal is reported as TLS, naming the endpoint');
  t.match(noCert.err, /--cert-file/, 'the hint names the client certificate flags');
  t.notMatch(noCert.err, /crashed/, 'a refused client certificate is not blamed on fleetd');
  const half = await fleetkit(['load', 'a.service', '--endpoint', url, '--cert-file', join(dir, 'client.pem')], {});
  t.same([half.code, /--cert-file and --key-file go together/.test(half.err)], [2, true]);
  const plain = await fleetkit(['load', 'a.service', '--endpoint', s.endpoint, '--ca-file', join(dir, 'ca.pem')], {});
  t.same([plain.code, /need an https:\/\/ endpoint/.test(plain.err)], [2, true]);
});

t.test('--tunnel and FLEETCTL_TUNNEL run the system\'s ssh per connection', async (t) => {
  const s = await fleetServerPart(t, { socketPath: join(dir, 'tunnel-fleet.sock'), tcp: true });
  const bin = join(dir, 'bin');
  await rm(bin, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(bin));
  const log = join(dir, 'ssh-argv.jsonl');
  // A stand-in for ssh: records its argv, then carries stdin/stdout to the fleet server's unix socket.
  await writeFile(join(bin, 'ssh'), `#!${process.execPath}
const fs = require('node:fs');
const net = require('node:net');
fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify(process.argv.slice(2)) + '\\n');
const sock = net.createConnection(${JSON.stringify(s.socketPath)});
process.stdin.pipe(sock);
sock.pipe(process.stdout);
sock.on('close', () => process.exit(0));
`);
  await chmod(join(bin, 'ssh'), 0o755);
  const path = `${bin}:${process.env['PATH'] ?? ''}`;

  const unix = await fleetkit(['load', 'a.service', '--endpoint', 'unix:///var/run/fleet.sock', '--tunnel', 'core@fleet-host:2222', '--no-block'], { PATH: path });
  t.equal(unix.code, 0, unix.err);
  t.same(s.units().map((u) => u.name), ['a.service'], 'the unit arrived through the tunnel');
  const viaEnv = await fleetkit(['destroy', 'a.service', '--no-block'], { PATH: path, FLEETCTL_TUNNEL: 'fleet-host', FLEETCTL_ENDPOINT: 'http://127.0.0.1:4001' });
  t.equal(viaEnv.code, 0, viaEnv.err);
  t.same(s.units(), []);
  const calls = (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as string[]);
  t.same(calls[0], ['-o', 'BatchMode=yes', '-T', '-p', '2222', '-l', 'core', '--', 'fleet-host', 'fleetctl', 'fd-forward', '/var/run/fleet.sock'], 'a unix endpoint: fleetctl fd-forward on the far side');
  t.same(calls.at(-1), ['-o', 'BatchMode=yes', '-T', '-W', '127.0.0.1:4001', '--', 'fleet-host'], 'a TCP endpoint: ssh -W');
  const bad = await fleetkit(['load', 'a.service', '--tunnel', '-oProxyCommand=x'], { PATH: path });
  t.same([bad.code, /is not \[USER@\]HOST\[:PORT\]/.test(bad.err)], [2, true], 'an option smuggled in as a host is refused');
});
