/**
 * A healthy host for `fleetkit doctor`, from real parts: the run's etcd (v2 on) and Docker engine, a fleet
 * test server on a unix socket, a real `fleetkit agent` process, flannel's subnet.env with its lease in etcd
 * (under a prefix of this test's own), a hosts file in a temp dir, and a cluster.yaml naming all of them.
 * Each fault test breaks one of these for real and runs doctor on it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import { connectEtcd } from '../../src/etcd/connect.js';
import { dockerPart, etcdPart, freePort, waitFor, type TestLike } from '../env/parts.js';
import { fleetServerPart } from '../fleet-server/server.js';

export const BIN = fileURLToPath(new URL('../../bin/fleetkit.cjs', import.meta.url));

/** One check as --json prints it. */
export interface Report {
  readonly check: string;
  readonly status: 'ok' | 'fail' | 'unknown' | 'skip';
  readonly message: string;
  readonly hint: string | null;
  readonly ms: number;
}

export interface DoctorRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The --json lines by check (empty when the run was not --json). */
  readonly byCheck: Map<string, Report>;
}

/** Parses --json output: one object per line. */
export function parseJsonLines(stdout: string): Map<string, Report> {
  const out = new Map<string, Report>();
  for (const line of stdout.split('\n').filter(Boolean)) {
    const r = JSON.parse(line) as Report;
    out.set(r.check, r);
  }
  return out;
}

/** `fleetkit doctor ARGS` in-process, output captured. */
export async function doctor(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<DoctorRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = {
    stdout: { write: (c: string) => (stdout += c), isTTY: false },
    stderr: { write: (c: string) => (stderr += c), isTTY: false },
    env: { PATH: process.env['PATH'], ...env },
    cwd: process.cwd(),
    signal: new AbortController().signal,
  };
  const code = await main(['doctor', ...args], io);
  return { code, stdout, stderr, byCheck: args.includes('--json') ? parseJsonLines(stdout) : new Map() };
}

/** `fleetkit doctor ARGS` as a process of the built bundle, under `wrap` (faketime, unshare). */
export function doctorProcess(args: readonly string[], wrap: readonly string[] = []): Promise<DoctorRun> {
  const argv = [...wrap, process.execPath, BIN, 'doctor', ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, byCheck: args.includes('--json') ? parseJsonLines(stdout) : new Map() }));
  });
}

let seq = 0;

/** A temp dir removed when `t` ends. */
export async function tempDir(t: TestLike, what: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `fk-doctor-${what}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface HealthyHost {
  readonly dir: string;
  readonly spec: string;
  /** Flags that go with the spec: fleet's endpoint, subnet.env. */
  readonly flags: string[];
  readonly etcdUrl: string;
  readonly prefix: string;
  readonly flannelPrefix: string;
  readonly subnetEnv: string;
  readonly stateDir: string;
  readonly hostsFile: string;
  readonly dockerSocket: string;
  /** The spec's text with `extra` lines added under x-fleetkit (written to a new file). */
  specWith(extra: { etcd?: string; runtime?: string; target?: string; services?: string }): Promise<string>;
}

/** flannel's lease value, as flanneld writes it. */
export const LEASE = JSON.stringify({ PublicIP: '127.0.0.1', PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '22:6f:2a:3b:4c:5d' } });

/** Sets up the healthy host; `agent: false` leaves the agent out. */
export async function healthyHost(t: TestLike, o: { agent?: boolean } = {}): Promise<HealthyHost> {
  const etcd = await etcdPart(t);
  const docker = await dockerPart(t);
  const dir = await tempDir(t, 'host');
  const tag = `${process.pid}-${++seq}`;
  const prefix = `/fk-doctor-${tag}`;
  const flannelPrefix = `/fk-doctor-${tag}/network`;
  // The spec's runtime.stateDir; the cluster's agent keeps its socket in runtimeDir/NAME.
  const runtimeDir = join(dir, 'state');
  const stateDir = join(runtimeDir, 'doctor');
  const hostsFile = join(dir, 'hosts');
  await writeFile(hostsFile, '127.0.0.1 localhost\n');
  // flanneld's subnet.env for the subnet 10.77.42.0/24, and its lease: a key with a TTL (v3).
  const subnetEnv = join(dir, 'subnet.env');
  await writeFile(subnetEnv, 'FLANNEL_NETWORK=10.77.0.0/16\nFLANNEL_SUBNET=10.77.42.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n');
  const client = await connectEtcd({ endpoints: etcd.endpoints });
  t.teardown(() => client.close());
  const lease = client.lease(60, { autoKeepAlive: false });
  t.teardown(() => lease.revoke().catch(() => undefined));
  await lease.put(`${flannelPrefix}/subnets/10.77.42.0-24`).value(LEASE);
  await client.put(`${flannelPrefix}/config`).value('{"Network":"10.77.0.0/16","Backend":{"Type":"vxlan"}}');
  const fleet = await fleetServerPart(t, { socketPath: join(dir, 'fleet.sock') });
  const specText = (extra: { etcd?: string; runtime?: string; target?: string; services?: string }): string => `name: doctor
x-fleetkit:
${extra.target ? `  target: ${extra.target}\n` : ''}  etcd: { endpoints: [${etcd.clientUrl}], prefix: ${prefix}${extra.etcd ?? ''} }
  flannel: { network: 10.77.0.0/16, prefix: ${flannelPrefix} }
  runtime: { dockerSocket: ${docker.socketPath}, stateDir: ${runtimeDir}${extra.runtime ?? ''} }
  hosts: { file: ${hostsFile} }
services:
${extra.services ?? '  web: { image: local/busybox:latest }'}
`;
  const spec = join(dir, 'cluster.yaml');
  await writeFile(spec, specText({}));
  if (o.agent !== false) {
    const agent = spawn(process.execPath, [BIN, 'agent', '--etcd', etcd.clientUrl, '--etcd-prefix', prefix, '--state-dir', stateDir,
      '--docker-host', docker.dockerHost, '--flannel-env', subnetEnv, '--flannel-prefix', flannelPrefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    agent.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    agent.stderr.setEncoding('utf8').on('data', (s: string) => (out += s));
    t.teardown(() => void agent.kill('SIGKILL'));
    await waitFor(() => out.includes('agent ready'), { what: `the agent is ready (${out})`, timeoutMs: 30_000 });
  }
  let n = 0;
  return {
    dir, spec, etcdUrl: etcd.clientUrl, prefix, flannelPrefix, subnetEnv, stateDir, hostsFile, dockerSocket: docker.socketPath,
    flags: ['--endpoint', fleet.endpoint, '--flannel-env', subnetEnv],
    async specWith(extra) {
      const path = join(dir, `cluster-${++n}.yaml`);
      await writeFile(path, specText(extra));
      return path;
    },
  };
}

/** An etcd process of this test's own, on free loopback ports, with `extra` flags; killed when `t` ends. */
export async function ownEtcd(t: TestLike, dir: string, o: { extra?: readonly string[]; https?: { ca: string; cert: string; key: string } } = {}): Promise<{ url: string; kill(): Promise<void> }> {
  const [client, peer] = [await freePort(), await freePort()];
  const scheme = o.https ? 'https' : 'http';
  const url = `${scheme}://127.0.0.1:${client}`;
  const tls = o.https ? ['--cert-file', o.https.cert, '--key-file', o.https.key, '--trusted-ca-file', o.https.ca, '--client-cert-auth'] : [];
  const child = spawn('/usr/bin/etcd', ['--name', 'd', '--data-dir', join(dir, `etcd-${client}`), '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `d=http://127.0.0.1:${peer}`,
    '--heartbeat-interval=10', '--election-timeout=100', ...tls, ...(o.extra ?? [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => void (log = (log + s).slice(-4000)));
  const exited = new Promise((r) => child.once('exit', r));
  t.teardown(() => void child.kill('SIGKILL'));
  // Ready when it has said so: its client port serves (also over TLS, before anyone could connect).
  await waitFor(() => /ready to serve client requests/.test(log), { what: `etcd ${url} ready`, timeoutMs: 30_000 });
  return { url, kill: async () => void (child.kill('SIGKILL'), await exited) };
}

/** A CA and a certificate for 127.0.0.1 (server and client use), made by openssl, as the TLS tests do. */
export function makeCert(dir: string, name: string): { ca: string; cert: string; key: string } {
  const openssl = (...args: string[]): void => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name} CA`, '-keyout', `${name}-ca-key.pem`, '-out', `${name}-ca.pem`);
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name} member`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.pem`, '-CAkey', `${name}-ca-key.pem`, '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
  return { ca: join(dir, `${name}-ca.pem`), cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) };
}
