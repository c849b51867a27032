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
  /** Known from the host's word that the machine's agent unit is not active (not from its lease). */
  readonly agentDown?: boolean;
}

/** What etcd says of the lease a facts record is written on: none, expired, or how long of its TTL is left. */
export type LeaseLife =
  | { readonly none: true }
  | { readonly expired: true }
  | { readonly leftS: number; readonly grantedS: number };

/** The host's word on the agent unit of a record's machine (fleet shows it; systemd's status view does not). */
export interface AgentUnitWord {
  readonly unit: string;
  readonly activeState: string | undefined;
  readonly subState?: string | undefined;
}

/**
 * The one rule for whether a facts record is still kept up by the agent that wrote it, from whatever evidence
 * the caller has: stop's, unload's and destroy's wait, load's and start's health wait, and status all call it.
 * - An agent writes every record on a lease it renews every TTL/3 (lease-pool.ts): a record without a lease,
 *   or on one no longer renewed (isLeaseRenewed, on etcd's clock), stands only because nobody removed it yet
 *   (the agent was killed, stopped without revoking, is hung or cut off from etcd).
 * - A host that shows the machine's agent unit not active says the same at once (killed, stopped).
 * What it then says is what its agent saw last, not what is so now. With no evidence against it, a record
 * stands.
 */
export function factsKeeper(e: { readonly lease?: LeaseLife | undefined; readonly agent?: AgentUnitWord | undefined }): FactsKeeper {
  if (e.agent && e.agent.activeState !== 'active') return { kept: false, agentDown: true, why: `${e.agent.unit} is ${e.agent.activeState ?? '?'}/${e.agent.subState ?? '?'} there` };
  const l = e.lease;
  if (!l) return { kept: true };
  if ('none' in l) return { kept: false, why: 'it has no etcd lease (an agent writes every record on one it renews)' };
  if ('expired' in l) return { kept: false, why: 'its etcd lease has expired' };
  return isLeaseRenewed(l.leftS, l.grantedS)
    ? { kept: true }
    : { kept: false, why: `its etcd lease (TTL ${l.grantedS} s) has not been renewed for ${Math.max(0, l.grantedS - Math.max(0, l.leftS))} s` };
}

/**
 * What etcd says of each lease (ids as etcd3 gives them, `0` for none): one LeaseTimeToLive per lease. Rejects
 * when etcd does not answer.
 */
export async function leaseLives(client: Pick<Etcd3, 'leaseClient'>, ids: Iterable<string>): Promise<Map<string, LeaseLife>> {
  const out = new Map<string, LeaseLife>();
  await Promise.all([...new Set(ids)].map(async (id) => {
    if (id === '0' || id === '') return void out.set(id, { none: true });
    try {
      const r = await client.leaseClient.leaseTimeToLive({ ID: id });
      out.set(id, { leftS: Number(r.TTL), grantedS: Number(r.grantedTTL) });
    } catch (e) {
      // Expired between the two reads: its keys go with it.
      if (!/not found/i.test((e as Error).message)) throw e;
      out.set(id, { expired: true });
    }
  }));
  return out;
}

/**
 * Whether each of `records` is still kept up by the agent that wrote it (factsKeeper, on its lease), by
 * factsKey. A record no longer in etcd is left out. One range read per machine and one LeaseTimeToLive per
 * lease; rejects when etcd does not answer.
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
  const lives = await leaseLives(client, leaseOf.values());
  return new Map([...leaseOf].map(([key, lease]) => [key, factsKeeper({ lease: lives.get(lease) })]));
}

/** factsKeepers, in the order of `records` (undefined: the record is no longer in etcd). */
export async function keepersInOrder(
  client: Pick<Etcd3, 'getAll' | 'leaseClient'>,
  prefix: string,
  records: ReadonlyArray<Pick<ContainerFactsRecord, 'machine' | 'unit'>>,
): Promise<Array<FactsKeeper | undefined>> {
  const byKey = await factsKeepers(client, prefix, records);
  return records.map((r) => byKey.get(factsKey(prefix, r.machine, r.unit)));
}
