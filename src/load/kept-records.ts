/**
 * The agents' word on facts records, as the waits that poll every 250 ms read it (stop's, unload's and
 * destroy's in stop-facts.ts; load's and start's health wait through facts-source.ts): whether each record is
 * still kept up by its agent (read-facts.ts factsKeeper, on its lease), checked at most once a second however
 * often the wait polls. A lease is renewed every TTL/3 (at least 1.6 s), so a check a second loses nothing;
 * each check costs one range read per machine and one LeaseTimeToLive per lease.
 */
import type { ContainerFactsRecord } from '../etcd/container-facts.js';
import type { FactsKeeper } from '../etcd/read-facts.js';

/** Whether each record is still kept up by its agent (read-facts.ts keepersInOrder), in the order given. */
export type KeepersCheck = (records: readonly ContainerFactsRecord[]) => Promise<ReadonlyArray<FactsKeeper | undefined>>;

/** How often the leases are checked. */
export const KEEPER_CHECK_MS = 1000;

/** The last word on each record's agent, refreshed at most once per `everyMs`. */
export class KeptRecords {
  private readonly known = new Map<string, FactsKeeper>();
  private next = 0;

  constructor(private readonly check: KeepersCheck, private readonly everyMs = KEEPER_CHECK_MS) {}

  /** Checks `records` when a check is due. etcd not answering says nothing of the agents: the last word stands. */
  async refresh(records: readonly ContainerFactsRecord[]): Promise<void> {
    if (!records.length || Date.now() < this.next) return;
    this.next = Date.now() + this.everyMs;
    const found = await this.check(records).catch(() => undefined);
    records.forEach((r, i) => {
      const k = found?.[i];
      if (k) this.known.set(`${r.machine}/${r.unit}`, k);
    });
  }

  /** The last word on `r`'s agent; undefined while none was read (the record stands). */
  of(r: Pick<ContainerFactsRecord, 'machine' | 'unit'>): FactsKeeper | undefined {
    return this.known.get(`${r.machine}/${r.unit}`);
  }

  /** Whether `r` is kept up, as far as known: only a word that it is not sets it aside. */
  kept(r: Pick<ContainerFactsRecord, 'machine' | 'unit'>): boolean {
    return this.of(r)?.kept !== false;
  }
}
