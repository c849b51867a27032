/**
 * flannel on this host: subnet.env exists (flanneld writes it once it holds a lease), names the cluster's
 * network, and its subnet's lease is in etcd with a TTL, in the keyspace this host's flannel uses: v3 for
 * current flannel, v2 for the flanneld of the Container Linux era (target `legacy`).
 */
import { isRejection } from '../hosts/parse-announcement.js';
import { flannelSubnetsPrefix, parseLease } from '../flannel/flannel-etcd.js';
import { flannelLeaseName } from '../flannel/public-ip.js';
import { loadFlannelEnv } from '../flannel/subnet-env.js';
import { parseSubnet } from '../net/ip-address.js';
import { fail, failFrom, ok, skip, type CheckDef } from './check.js';
import { etcdUnknown, type EtcdSession } from './check-etcd.js';
import { HttpGetError } from './http-get.js';

export interface FlannelCheckOptions {
  /** flanneld's subnet.env. */
  readonly envFile: string;
  /** flannel's etcd prefix, no trailing slash. */
  readonly prefix: string;
  /** The spec's `flannel.network`, when there is a spec. */
  readonly network: string | undefined;
  /** Which etcd API this host's flannel keeps its leases in. */
  readonly api: 'v2' | 'v3';
}

const RESTART = 'check flanneld: systemctl status flanneld; journalctl -u flanneld (it renews its lease while it runs)';

export function flannelCheck(session: EtcdSession, o: FlannelCheckOptions | string): CheckDef {
  return {
    name: 'flannel',
    after: ['etcd'],
    async run(ctx) {
      if (typeof o === 'string') return skip(o);
      let env;
      try {
        env = await loadFlannelEnv(o.envFile);
      } catch (e) {
        return failFrom(e);
      }
      if (!env) return fail(`${o.envFile} does not exist: flanneld holds no subnet on this host`, `start flanneld (it writes ${o.envFile} once it has a lease), or pass --flannel-env where it writes it`);
      if (o.network !== undefined && !sameCidr(env.network, o.network)) {
        return fail(`${o.envFile} names the network ${env.network}, but the cluster's flannel.network is ${o.network}`, 'flanneld read another config: check its etcd prefix (flannel.prefix) and the config under it');
      }
      const waiting = etcdUnknown(session);
      if (waiting) return waiting;
      const name = flannelLeaseName(env);
      const key = `${flannelSubnetsPrefix(o.prefix)}${name}`;
      const subnet = `${name!.replace('-', '/')}`;
      let value: string | undefined;
      let leased: boolean;
      if (o.api === 'v3') {
        const client = await session.etcd3(ctx.timeoutMs);
        const r = await client.get(key).exec();
        const kv = r.kvs[0];
        value = kv?.value.toString();
        leased = kv !== undefined && kv.lease !== '0';
      } else {
        try {
          const a = await session.get(session.facts.url!, `/v2/keys${key}?quorum=false`, ctx, true);
          const node = a.status === 200 ? (JSON.parse(a.body) as { node?: { value?: unknown; ttl?: unknown } }).node : undefined;
          value = typeof node?.value === 'string' ? node.value : undefined;
          leased = typeof node?.ttl === 'number' && node.ttl > 0;
        } catch (e) {
          if (e instanceof HttpGetError) return fail(`etcd's v2 API at ${session.facts.url}: ${e.reason}`);
          throw e;
        }
      }
      if (value === undefined) return fail(`the subnet ${subnet} in ${o.envFile} has no lease in etcd (${o.api} ${key}): the lease expired or another flannel holds its network`, RESTART);
      const lease = parseLease(key, value);
      if (isRejection(lease)) return fail(`flannel's lease ${key} is unusable: ${lease.reject}`, RESTART);
      if (!leased) return fail(`flannel's lease ${key} has no TTL: it never expires, so it was not written by flanneld`, 'remove the key and restart flanneld');
      return ok(`subnet ${subnet} (${o.envFile}) is leased in etcd (${o.api} ${key})`);
    },
  };
}

/** Same network, however written (`10.1.0.0/16` and `10.1.0.1/16`). */
function sameCidr(a: string, b: string): boolean {
  const x = parseSubnet(a);
  const y = parseSubnet(b);
  return x !== undefined && y !== undefined && x.family === y.family && x.network === y.network && x.prefixLen === y.prefixLen;
}
