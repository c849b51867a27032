/**
 * The etcd adapter's connection: the only place that imports `etcd3` (lazily, it pulls in gRPC). Settings
 * come from the spec's `etcd` block or the command line. Fault handling is tuned for fleetkit's jobs: an
 * agent and a watcher must notice an etcd that is back within a fraction of a second, not after etcd3's
 * default 5 s circuit breaker and 30 s watch backoff.
 */
import type { Etcd3, IOptions } from 'etcd3';
import { RemoteError, UsageError } from '../errors.js';
import { readEtcdPassword, readEtcdTls, type EtcdTlsPaths } from './settings-files.js';

/** How to reach etcd. Paths, never secrets inline: the password is read from `passwordFile` here. */
export interface EtcdOptions {
  readonly endpoints: readonly string[];
  readonly tls?: EtcdTlsPaths | undefined;
  readonly auth?: { readonly user: string; readonly passwordFile: string } | undefined;
  /** Max delay between watch reconnect attempts, ms. Default 500. */
  readonly maxReconnectDelayMs?: number;
  /** Per-call deadline for unary calls, ms. Default 5000. */
  readonly callTimeoutMs?: number;
}

/** Builds etcd3's options from fleetkit's. Exported for tests of the TLS/auth mapping. */
export async function etcdClientOptions(opts: EtcdOptions): Promise<IOptions> {
  if (opts.endpoints.length === 0) throw new UsageError('no etcd endpoint given', 'set etcd.endpoints in cluster.yaml or pass --etcd URL');
  for (const e of opts.endpoints) {
    if (!/^https?:\/\/[^/\s]+\/?$/.test(e)) {
      throw new UsageError(`etcd endpoint "${e}" is not a URL of the form http(s)://host:port`, 'e.g. --etcd http://127.0.0.1:2379');
    }
  }
  const cockatiel = await import('cockatiel');
  const { handleWhen, retry, circuitBreaker, ConsecutiveBreaker, ExponentialBackoff } = cockatiel;
  const { isRecoverableError } = await import('etcd3');
  const maxDelay = opts.maxReconnectDelayMs ?? 500;
  const callTimeout = opts.callTimeoutMs ?? 5000;
  const options: IOptions = {
    hosts: opts.endpoints.map((e) => e.replace(/\/$/, '')),
    dialTimeout: 3000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeout }),
    faultHandling: {
      // A short breaker: a dead member is skipped for 300 ms, not 5 s, so a restarted single etcd is used at once.
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 300, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), { maxAttempts: 2, backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay }) }),
      // etcd3 types this as IBackoff but calls it as a factory (see reference/etcd-flannel.md): the cast is deliberate.
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay }) as unknown as NonNullable<IOptions['faultHandling']>['watchBackoff'],
    },
  };
  const pem = await readEtcdTls(opts.tls);
  if (pem) {
    options.credentials = {
      rootCertificate: pem.ca,
      ...(pem.key ? { privateKey: pem.key } : {}),
      ...(pem.cert ? { certChain: pem.cert } : {}),
    };
  }
  if (opts.auth) options.auth = { username: opts.auth.user, password: await readEtcdPassword(opts.auth.passwordFile) };
  return options;
}

/** Opens a client (no request is sent yet: etcd3 connects on first use). */
export async function connectEtcd(opts: EtcdOptions): Promise<Etcd3> {
  const options = await etcdClientOptions(opts);
  const { Etcd3 } = await import('etcd3');
  return new Etcd3(options);
}

/** Turns an etcd3 error into a RemoteError that names the endpoints and what was being done. */
export function etcdError(e: unknown, doing: string, endpoints: readonly string[]): RemoteError {
  const msg = (e as Error)?.message ?? String(e);
  return new RemoteError('etcd', 'ERR_ETCD', `etcd ${doing} failed (${endpoints.join(', ')}): ${msg}`, {
    hint: 'is etcd running and reachable? check etcd.endpoints in cluster.yaml or --etcd',
    cause: e,
  });
}
