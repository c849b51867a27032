/**
 * Taking over a lease a previous agent process granted, so an agent upgrade or restart keeps every key on it:
 * nothing is deleted, no watcher sees a gap, and no hosts file loses a line. etcd has no "attach": a lease is
 * an id, and whoever sends keep-alives for it keeps it. So the new process asks etcd how long the stored id
 * has left (LeaseTimeToLive) and, when it is alive with the same TTL, keeps it alive as its own.
 *
 * etcd3's Lease always starts with a LeaseGrant. The factory hands it a connection wrapper whose LeaseGrant
 * answers with the stored id when etcd still holds it (and grants a new lease when it does not); keep-alives,
 * revoke and loss detection stay etcd3's own. This rests on etcd3 1.1's Lease(pool, namespace, ttl)
 * constructor and its pool's `exec`/`withConnection`; test/announce/agent-upgrade.test.ts fails if they change.
 * Like connect.ts, it loads etcd3 lazily.
 */
import type { Etcd3, Lease } from 'etcd3';

/** Makes the lease for `ttl`: a new grant, or (with `takeOver`) the stored lease while etcd still holds it. */
export type LeaseFactory = (ttl: number, takeOver?: string) => Lease;

interface Callable {
  exec(service: string, method: string, params: unknown, options?: unknown): Promise<unknown>;
  withConnection(service: string, fn: (args: unknown) => unknown): Promise<unknown>;
  markFailed(resource: unknown, error: Error): void;
  readonly callOptionsFactory: unknown;
}

/** A factory for `client`'s leases. */
export async function leaseFactory(client: Etcd3): Promise<LeaseFactory> {
  const { Lease: LeaseClass } = await import('etcd3');
  const inner = client as unknown as { pool: Callable; nsApplicator: unknown };
  const pool = inner.pool;
  return (ttl, takeOver) => {
    if (takeOver === undefined) return client.lease(ttl);
    const wrapper: Callable = {
      get callOptionsFactory() {
        return pool.callOptionsFactory;
      },
      async exec(service, method, params, options) {
        if (service !== 'Lease' || method !== 'leaseGrant') return pool.exec(service, method, params, options);
        let left: { ID: string; TTL: string; grantedTTL: string; header: unknown };
        try {
          left = (await pool.exec('Lease', 'leaseTimeToLive', { ID: takeOver }, options)) as typeof left;
        } catch (e) {
          // Not found: it expired (or was revoked) and etcd forgot it. Any other error (etcd down) fails the
          // grant; the caller tries again later, with the same id.
          if (!/not found/i.test((e as Error).message)) throw e;
          return pool.exec(service, method, params, options);
        }
        if (Number(left.TTL) > 0 && Number(left.grantedTTL) === ttl) return { header: left.header, ID: takeOver, TTL: left.TTL, error: '' };
        return pool.exec(service, method, params, options);
      },
      withConnection: (service, fn) => pool.withConnection(service, fn),
      markFailed: (resource, error) => pool.markFailed(resource, error),
    };
    return new LeaseClass(wrapper as never, inner.nsApplicator as never, ttl);
  };
}
