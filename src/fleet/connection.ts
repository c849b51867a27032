/**
 * How fleetkit reaches fleet's API, by fleetctl's conventions: `--tunnel HOST` (or FLEETCTL_TUNNEL) goes
 * through the system's ssh, `--ca-file`, `--cert-file`, `--key-file` (or FLEETCTL_CA_FILE, FLEETCTL_CERT_FILE,
 * FLEETCTL_KEY_FILE) secure an https endpoint. A flag wins over its variable.
 *
 * The tunnel is one `ssh` per connection with its stdin/stdout as the byte stream: for a unix endpoint the
 * remote end runs `fleetctl fd-forward SOCKET` (what fleetctl itself runs on the far side, fleetctl/fdforward.go),
 * for a TCP endpoint ssh forwards with `-W HOST:PORT`. BatchMode keeps ssh from prompting: fleetkit has no
 * terminal to give it. The remote host's key is checked by ssh's own known_hosts.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { UsageError } from '../errors.js';
import type { FleetClientOptions } from './fleet-client.js';
import type { FleetEndpoint } from './endpoint.js';

/** The connection flags as a command parsed them. */
export interface FleetConnectionFlags {
  readonly tunnel?: string | undefined;
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/** The flag spec fragment every command that talks to fleet accepts. */
export const fleetConnectionFlagSpec = {
  tunnel: { type: 'string' },
  'ca-file': { type: 'string' },
  'cert-file': { type: 'string' },
  'key-file': { type: 'string' },
} as const;

/** The help lines for those flags. */
export const FLEET_CONNECTION_HELP = `  --tunnel [USER@]HOST[:PORT]  reach fleet through ssh to HOST (default $FLEETCTL_TUNNEL)
  --ca-file F, --cert-file F, --key-file F
                         TLS for an https endpoint (default $FLEETCTL_CA_FILE, $FLEETCTL_CERT_FILE,
                         $FLEETCTL_KEY_FILE)
`;

/** Client options (TLS material, tunnel) from flags and the environment. */
export function fleetConnectionFrom(endpoint: FleetEndpoint, flags: FleetConnectionFlags, env: Readonly<Record<string, string | undefined>>): Pick<FleetClientOptions, 'tls' | 'connect'> {
  const pick = (flag: string | undefined, name: string): string | undefined => flag ?? (env[name]?.trim() || undefined);
  const files = { ca: pick(flags.caFile, 'FLEETCTL_CA_FILE'), cert: pick(flags.certFile, 'FLEETCTL_CERT_FILE'), key: pick(flags.keyFile, 'FLEETCTL_KEY_FILE') };
  const https = endpoint.kind === 'http' && endpoint.url.protocol === 'https:';
  if (!https && (files.ca || files.cert || files.key)) {
    throw new UsageError(`--ca-file, --cert-file and --key-file need an https:// endpoint, not ${endpoint.text}`, 'write the endpoint as https://HOST:PORT');
  }
  if (Boolean(files.cert) !== Boolean(files.key)) throw new UsageError('--cert-file and --key-file go together: the client certificate and its key');
  const read = (path: string | undefined, what: string): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new UsageError(`cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const tls = https ? { ca: read(files.ca, 'CA file'), cert: read(files.cert, 'certificate file'), key: read(files.key, 'key file') } : undefined;
  const tunnel = pick(flags.tunnel, 'FLEETCTL_TUNNEL');
  const argv = tunnel ? sshArgv(tunnel, endpoint) : undefined; // checked now: a bad value is a usage error
  return {
    ...(tls ? { tls: Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined)) } : {}),
    ...(argv ? { connect: () => sshStream(argv) } : {}),
  };
}

/** ssh's argv for one connection to `endpoint` through `tunnel` (`[user@]host[:port]`, fleetctl's form). */
export function sshArgv(tunnel: string, endpoint: FleetEndpoint): string[] {
  const m = /^(?:([^@\s]+)@)?(\[[^\]]+\]|[^:\s@]+)(?::(\d+))?$/.exec(tunnel);
  if (!m || tunnel.startsWith('-')) throw new UsageError(`--tunnel "${tunnel}" is not [USER@]HOST[:PORT]`, 'e.g. --tunnel core@10.0.0.1 or --tunnel 10.0.0.1:2222');
  const [, user, host, port] = m;
  const argv = ['-o', 'BatchMode=yes', '-T', ...(port ? ['-p', port] : []), ...(user ? ['-l', user] : [])];
  if (endpoint.kind === 'unix') return [...argv, '--', host!.replace(/^\[|\]$/g, ''), 'fleetctl', 'fd-forward', endpoint.socketPath];
  const target = `${endpoint.url.hostname}:${endpoint.url.port || (endpoint.url.protocol === 'https:' ? '443' : '80')}`;
  return [...argv, '-W', target, '--', host!.replace(/^\[|\]$/g, '')];
}

/** A Duplex over an ssh child's stdin/stdout; ssh's exit with an error ends it with ssh's last stderr line. */
function sshStream(argv: readonly string[]): Duplex {
  const child = spawn('ssh', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
  let lastErr = '';
  child.stderr.on('data', (c: Buffer) => (lastErr = c.toString('utf8').trim().split('\n').at(-1) ?? lastErr));
  const stream = new Duplex({
    write(chunk, _enc, cb) {
      child.stdin.write(chunk, cb);
    },
    final(cb) {
      child.stdin.end();
      cb();
    },
    read() {
      child.stdout.resume();
    },
    destroy(err, cb) {
      child.kill();
      cb(err);
    },
  });
  child.stdout.on('data', (c: Buffer) => {
    if (!stream.push(c)) child.stdout.pause();
  });
  child.stdout.on('end', () => stream.push(null));
  child.on('error', (e: NodeJS.ErrnoException) => stream.destroy(Object.assign(new Error(`cannot run ssh for --tunnel: ${e.message}`), { code: e.code === 'ENOENT' ? 'ECONNREFUSED' : e.code })));
  child.on('exit', (code) => {
    if (code) stream.destroy(Object.assign(new Error(`ssh exited ${code}${lastErr ? `: ${lastErr}` : ''}`), { code: 'ECONNRESET' }));
  });
  // http.Agent treats the stream as a socket.
  Object.assign(stream, { setKeepAlive: () => stream, setNoDelay: () => stream, setTimeout: () => stream, ref: () => stream, unref: () => stream });
  return stream;
}
