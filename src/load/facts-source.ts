/**
 * What load's and start's health wait reads from etcd: the container facts the agents publish
 * (read-facts.ts), as the restart count and last exit the wait needs where the host keeps none (fleet), and
 * the announcements a container with `x-announce` needs (`announcement-check.ts`). Opened lazily (etcd3 is
 * heavy). A failed read is remembered for 5 s, so that rounds of the wait do not each wait out the deadline:
 * facts then read as none (the wait falls back on the host's view), announcements as unreadable (unknown,
 * never as missing or present). The wait reads the facts less the records their agents no longer keep up
 * (`keptFacts`); the baseline read before the start jobs (`facts`) keeps every record: a dead agent's last
 * count is still what a restarted one continues from.
 */
import type { Etcd3 } from 'etcd3';
import type { EtcdOptions } from '../etcd/connect.js';
import type { ContainerFactsRecord } from '../etcd/container-facts.js';
import { briefReason, ETCD_CHECK } from '../ops/unreachable.js';
import { isPerHostKey, keyTemplatePattern } from '../ops/announcement-keys.js';
import type { ContainerFacts, FactsReading, UnkeptFacts } from './wait-healthy.js';
import { KeptRecords } from './kept-records.js';

/** The wait's etcd reads, and the close of its client. */
export interface FactsSource {
  /** How messages name it: `etcd at http://127.0.0.1:2379`. */
  readonly endpoint: string;
  /** What to check when it cannot be read. */
  readonly check: string;
  facts(names: readonly string[]): Promise<ReadonlyMap<string, ContainerFacts>>;
  /** The same, less the records their agents no longer keep up (checked at most once a second): the wait's read. */
  keptFacts(names: readonly string[]): Promise<FactsReading>;
  /**
   * The values of those of `keys` that exist; rejects when etcd cannot be read. A key that names the host
   * (`%H %l %m`: a global sidekick's, one key per machine) stands for every key it matches, each returned
   * under its own name.
   */
  announcements(keys: readonly string[]): Promise<ReadonlyMap<string, string>>;
  close(): void;
}

/** The directory a key is in, with its slash: `/services/web/api/1` → `/services/web/api/`. */
const dirOf = (key: string): string => key.slice(0, key.lastIndexOf('/') + 1);

/**
 * What the health wait reads of a unit's facts records (one per machine whose agent saw its container): a unit
 * runs on one machine (a global unit on many; a unit that moved left a record of its stopped container behind
 * for a while). The running ones first; of those, the most restarts is the truth about the worst, and its last
 * exit, container and start go with it. The one reduction load's wait and a rolling replace's wait both use,
 * and load's check for a container older than its unit (`outdated.ts`).
 */
export function factsOfRecords(records: readonly ContainerFactsRecord[]): ContainerFacts | undefined {
  if (!records.length) return undefined;
  const running = records.filter((r) => r.phase === 'running');
  const worst = (running.length ? running : records).reduce((a, b) => (b.restarts > a.restarts ? b : a));
  const started = worst.startedAt === undefined ? NaN : Date.parse(worst.startedAt);
  // Every running container's config, not only the worst one's: one old container is enough to be outdated.
  const hashes = [...new Set(running.flatMap((r) => (r.configHash ? [r.configHash] : [])))].sort();
  return {
    ...(hashes.length ? { configHashes: hashes } : {}),
    restarts: worst.restarts, lastExit: worst.lastExit, machine: worst.machine, running: worst.phase === 'running',
    ...(worst.containerId !== undefined ? { containerId: worst.containerId } : {}),
    ...(Number.isFinite(started) ? { startedAt: started } : {}),
    ...(worst.phase === 'running' && worst.refused !== undefined ? { refused: worst.refused } : {}),
  };
}

/**
 * The health wait's reading of `byUnit`: the records their agents keep up (`keepers`, refreshed here at most
 * once a second) reduced by factsOfRecords, those they no longer keep up set aside with why. The one place
 * load's wait and a rolling replace's wait apply read-facts.ts factsKeeper.
 */
export async function keptFactsOf(byUnit: ReadonlyMap<string, readonly ContainerFactsRecord[]>, keepers: KeptRecords | undefined): Promise<FactsReading> {
  await keepers?.refresh([...byUnit.values()].flat());
  const facts = new Map<string, ContainerFacts>();
  const unkept = new Map<string, UnkeptFacts[]>();
  for (const [unit, records] of byUnit) {
    const gone = records.filter((r) => keepers?.kept(r) === false);
    if (gone.length) unkept.set(unit, gone.map((r) => ({ machine: r.machine, phase: r.phase, updatedAt: r.updatedAt, why: keepers!.of(r)!.why ?? 'not kept up' })));
    const f = factsOfRecords(records.filter((r) => !gone.includes(r)));
    if (f) facts.set(unit, f);
  }
  return { facts, unkept };
}

/** Reads of the etcd `options` name, facts under `prefix`; each read bounded by `timeoutMs`. */
export function etcdFacts(options: EtcdOptions, prefix: string, timeoutMs: number): FactsSource {
  let client: Promise<Etcd3> | undefined;
  let failed: { until: number; error: Error } | undefined;
  const open = async (): Promise<Etcd3> => {
    const { connectEtcd } = await import('../etcd/connect.js');
    client ??= connectEtcd({ ...options, callTimeoutMs: timeoutMs });
    return client;
  };
  /** `read`, unless etcd failed within the last 5 s: then that failure again, at once. */
  const guarded = async <T>(read: () => Promise<T>): Promise<T> => {
    if (failed && Date.now() < failed.until) throw failed.error;
    try {
      const out = await read();
      failed = undefined;
      return out;
    } catch (e) {
      // gRPC wraps the errno in a long text: the reason, briefly, in the one line the user sees.
      const error = new Error(briefReason(e instanceof Error ? e.message : String(e), timeoutMs));
      failed = { until: Date.now() + 5000, error };
      throw error;
    }
  };
  const records = async (names: readonly string[]): Promise<Map<string, ContainerFactsRecord[]>> => {
    const { readContainerFacts } = await import('../etcd/read-facts.js');
    return guarded(async () => readContainerFacts(await open(), prefix, names)).catch(() => new Map<string, ContainerFactsRecord[]>());
  };
  const keepers = new KeptRecords(async (rs) => {
    const { keepersInOrder } = await import('../etcd/read-facts.js');
    return guarded(async () => keepersInOrder(await open(), prefix, rs));
  });
  return {
    endpoint: `etcd at ${options.endpoints.join(',')}`,
    check: ETCD_CHECK,
    async facts(names) {
      const out = new Map<string, ContainerFacts>();
      for (const [unit, rs] of await records(names)) {
        const f = factsOfRecords(rs);
        if (f) out.set(unit, f);
      }
      return out;
    },
    async keptFacts(names) {
      return keptFactsOf(await records(names), keepers);
    },
    async announcements(keys) {
      const wanted = new Set(keys);
      const patterns = keys.filter(isPerHostKey).map(keyTemplatePattern);
      // One range read per directory (a cluster's keys share one), not one read per key; a per-host key's
      // directory is the one above its first specifier.
      const dirs = [...new Set(keys.map((k) => dirOf(isPerHostKey(k) ? k.slice(0, k.search(/%[iHlm]/)) : k)))];
      return guarded(async () => {
        const c = await open();
        const out = new Map<string, string>();
        for (const kv of await Promise.all(dirs.map((d) => c.getAll().prefix(d).strings()))) {
          for (const [k, v] of Object.entries(kv)) if (wanted.has(k) || patterns.some((p) => p.test(k))) out.set(k, v);
        }
        return out;
      });
    },
    close() {
      client?.then((c) => c.close(), () => undefined);
    },
  };
}
