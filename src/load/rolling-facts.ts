/**
 * What makes an instance count as replaced: its agent reports a container that runs, carries the new
 * configuration hash (the `fleetkit.config-hash` label, `render/config-hash.ts`), is not the container that
 * ran before the stop, and started after the replace began. fleet reporting the new unit hash is not enough:
 * fleet's agent can keep the old process under the new hash. Read from the container facts the agents
 * publish in etcd (`etcd/read-facts.ts`); etcd3 is loaded only when a rolling replace asks.
 */
import type { Etcd3 } from 'etcd3';
import type { EtcdOptions } from '../etcd/connect.js';
import type { ContainerFactsRecord } from '../etcd/container-facts.js';
import type { FactsKeeper } from '../etcd/read-facts.js';

/** Reads the facts of units and their announcements, and closes its connection when done. */
export interface ReplaceEvidence {
  /** The facts of `units` by unit (one record per machine that reported). */
  facts(units: readonly string[]): Promise<ReadonlyMap<string, readonly ContainerFactsRecord[]>>;
  /** Whether each record is still kept up by the agent that wrote it (read-facts.ts factsKeepers), in order. */
  keepers(records: readonly ContainerFactsRecord[]): Promise<ReadonlyArray<FactsKeeper | undefined>>;
  /** etcd's revision now: an announcement created after it was put after this moment. */
  revision(): Promise<bigint>;
  /** The announcement keys of `keys` that exist, with the revision that created them. */
  announced(keys: readonly string[]): Promise<ReadonlyMap<string, bigint>>;
  close(): void;
}

/**
 * The etcd key a sidekick announces (`fleetkit announce --key K`, `%i` its instance), read from its unit;
 * undefined for a unit that announces nothing.
 */
export function announcementKeyOf(unit: { readonly name: string; readonly options: readonly { section: string; name: string; value: string }[] }): string | undefined {
  const exec = unit.options.filter((o) => o.section === 'Service' && o.name === 'ExecStart').map((o) => o.value).find((v) => /\sannounce\s/.test(v) && !/--withdraw/.test(v));
  const m = exec ? /\s--key[ =](\S+)/.exec(exec) : null;
  if (!m) return undefined;
  const at = unit.name.indexOf('@');
  const instance = at >= 0 ? unit.name.slice(at + 1, unit.name.lastIndexOf('.')) : '';
  return m[1]!.replace(/%i/g, instance);
}

/** Facts read from etcd at `etcd.prefix`, connecting on first use. */
export function etcdEvidence(etcd: EtcdOptions & { readonly prefix: string }): ReplaceEvidence {
  let client: Promise<Etcd3> | undefined;
  return {
    async facts(units) {
      const [{ connectEtcd }, { readContainerFacts }] = await Promise.all([import('../etcd/connect.js'), import('../etcd/read-facts.js')]);
      client ??= connectEtcd(etcd);
      return readContainerFacts(await client, etcd.prefix, units);
    },
    async keepers(records) {
      const [{ connectEtcd }, { keepersInOrder }] = await Promise.all([import('../etcd/connect.js'), import('../etcd/read-facts.js')]);
      client ??= connectEtcd(etcd);
      return keepersInOrder(await client, etcd.prefix, records);
    },
    async revision() {
      const [{ connectEtcd }] = await Promise.all([import('../etcd/connect.js')]);
      client ??= connectEtcd(etcd);
      const r = await (await client).get(etcd.prefix).exec();
      return BigInt(r.header.revision);
    },
    async announced(keys) {
      const [{ connectEtcd }] = await Promise.all([import('../etcd/connect.js')]);
      client ??= connectEtcd(etcd);
      const c = await client;
      const out = new Map<string, bigint>();
      await Promise.all(keys.map(async (k) => {
        const r = await c.get(k).exec();
        const kv = r.kvs[0];
        if (kv) out.set(k, BigInt(kv.create_revision));
      }));
      return out;
    },
    close() {
      void client?.then((c) => c.close(), () => undefined);
    },
  };
}

/** Slack for the clocks of the machine that reports `startedAt` and of this one. */
const SKEW_MS = 2000;

/**
 * Why `records` do not show the new container yet (one sentence), or undefined when one does: running,
 * `hash` on it, another container than any of `before`, started at or after `since` (ms since the epoch).
 * With `machines` (a global unit: every machine that should run it), each of them must report such a
 * container: one that reports none, or still its old one, is not replaced yet.
 */
export function notReplacedYet(records: readonly ContainerFactsRecord[] | undefined, hash: string, before: ReadonlySet<string>, since: number, machines?: readonly string[]): string | undefined {
  if (!machines?.length) return notNewOn(records, hash, before, since);
  for (const m of machines) {
    const why = notNewOn(records?.filter((r) => r.machine === m), hash, before, since);
    if (why) return `on machine ${m.slice(0, 8)} (${machines.length > 1 ? `one of ${machines.length}` : 'its one machine'}), ${why}`;
  }
  return undefined;
}

function notNewOn(records: readonly ContainerFactsRecord[] | undefined, hash: string, before: ReadonlySet<string>, since: number): string | undefined {
  if (!records?.length) return 'no agent has reported its container';
  const running = records.filter((r) => r.phase === 'running');
  if (!running.length) return `its container is ${records.map((r) => r.phase).join(', ')}`;
  const fresh = running.filter((r) => r.containerId === undefined || !before.has(r.containerId));
  if (!fresh.length) return 'the container that ran before the stop still runs';
  const current = fresh.filter((r) => r.configHash === hash);
  if (!current.length) return `its container carries config hash ${fresh.map((r) => r.configHash ?? 'none').join(', ')}, not the new ${hash}`;
  const late = current.filter((r) => r.startedAt !== undefined && Date.parse(r.startedAt) >= since - SKEW_MS);
  if (!late.length) return 'its container started before the replace';
  return undefined;
}
