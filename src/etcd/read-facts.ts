/**
 * Reading container facts (container-facts.ts) for a set of units, in one range read of `<prefix>/_facts/`:
 * the one reader that status, load's health wait and a rolling replace call, for fleet and systemd alike.
 * The client is the caller's (connect.ts loads etcd3 lazily); this module imports only its type.
 *
 * A record is kept only when it decodes and names the machine and unit of the key it is stored under: a value
 * copied to another key, or written by hand, is not evidence about that key's unit. Whatever is left out is
 * "no facts" for the caller, which must then say unknown, never healthy.
 */
import type { Etcd3 } from 'etcd3';
import { decodeFacts, type ContainerFactsRecord } from './container-facts.js';
import { factsDir, factsKey, parseFactsKey } from './key-layout.js';
import { isLeaseRenewed } from './lease-pool.js';

/** Options for readContainerFacts. */
export interface ReadFactsOptions {
  /** Called once per key under the facts dir whose value was left out (unreadable, or naming another key). */
  readonly onInvalid?: (key: string, reason: string) => void;
  /** Read only what this machine's agent published (`<prefix>/_facts/<machine>/`). */
  readonly machine?: string;
}

/**
 * The record stored at one facts key, or why it is left out: the one check every reader of facts keys makes
 * (this module's range read, and status's single read of the whole prefix).
 */
export function factsAtKey(prefix: string, key: string, value: string): { readonly record: ContainerFactsRecord } | { readonly invalid: string } {
  const where = parseFactsKey(prefix, key);
  if (!where) return { invalid: 'not a facts key (<prefix>/_facts/<machine>/<unit>)' };
  const record = decodeFacts(value);
  if (!record) return { invalid: 'not a well-formed container facts record' };
  if (record.unit !== where.unit || record.machine !== where.machine) return { invalid: `the record names ${record.machine}/${record.unit}, not its key` };
  return { record };
}

/**
 * The facts of `units` (full names: `web@2.service`; every unit when undefined), by unit: one record per
 * machine whose agent published one, ordered by machine id. A unit no agent reported is absent from the map.
 */
export async function readContainerFacts(
  client: Pick<Etcd3, 'getAll'>,
  prefix: string,
  units?: Iterable<string>,
  options: ReadFactsOptions = {},
): Promise<Map<string, ContainerFactsRecord[]>> {
  const wanted = units === undefined ? undefined : new Set(units);
  const dir = options.machine === undefined ? factsDir(prefix) : `${factsDir(prefix)}${options.machine}/`;
  const kv = await client.getAll().prefix(dir).strings();
  const out = new Map<string, ContainerFactsRecord[]>();
  for (const key of Object.keys(kv).sort()) {
    const where = parseFactsKey(prefix, key);
    if (wanted && where && !wanted.has(where.unit)) continue;
    const fact = factsAtKey(prefix, key, kv[key]!);
    if ('invalid' in fact) {
      options.onInvalid?.(key, fact.invalid);
      continue;
    }
    const record = fact.record;
    let list = out.get(record.unit);
    if (!list) out.set(record.unit, (list = []));
    list.push(record);
  }
  return out;
}

/** Whether the agent that wrote a facts record still keeps it up; `why` says how it is known that it does not. */
export interface FactsKeeper {
  readonly kept: boolean;
  readonly why?: string;
}

/**
 * Whether each of `records` is still kept up by the agent that wrote it, by factsKey: an agent writes every
 * record on a lease it renews (lease-pool.ts), so a record without a lease, or on a lease that is no longer
 * renewed (isLeaseRenewed, on etcd's clock), stands only because nobody has removed it yet: what it says is
 * what its agent saw last, not what is so now. A record no longer in etcd is left out. One range read per
 * machine and one LeaseTimeToLive per lease; rejects when etcd does not answer.
 */
export async function factsKeepers(
  client: Pick<Etcd3, 'getAll' | 'leaseClient'>,
  prefix: string,
  records: ReadonlyArray<Pick<ContainerFactsRecord, 'machine' | 'unit'>>,
): Promise<Map<string, FactsKeeper>> {
  const wanted = new Set(records.map((r) => factsKey(prefix, r.machine, r.unit)));
  const machines = [...new Set(records.map((r) => r.machine))];
  const leaseOf = new Map<string, string>();
  await Promise.all(machines.map(async (m) => {
    const res = await client.getAll().prefix(`${factsDir(prefix)}${m}/`).exec();
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      if (wanted.has(key)) leaseOf.set(key, String(kv.lease));
    }
  }));
  const leases = new Map<string, FactsKeeper>();
  await Promise.all([...new Set(leaseOf.values())].filter((l) => l !== '0').map(async (id) => {
    try {
      const r = await client.leaseClient.leaseTimeToLive({ ID: id });
      const left = Number(r.TTL);
      const granted = Number(r.grantedTTL);
      leases.set(id, isLeaseRenewed(left, granted)
        ? { kept: true }
        : { kept: false, why: `its etcd lease (TTL ${granted} s) has not been renewed for ${Math.max(0, granted - Math.max(0, left))} s` });
    } catch (e) {
      // Expired between the two reads: its keys go with it.
      if (!/not found/i.test((e as Error).message)) throw e;
      leases.set(id, { kept: false, why: 'its etcd lease has expired' });
    }
  }));
  const out = new Map<string, FactsKeeper>();
  for (const [key, lease] of leaseOf) {
    out.set(key, lease === '0' ? { kept: false, why: 'it has no etcd lease (an agent writes every record on one it renews)' } : leases.get(lease)!);
  }
  return out;
}
