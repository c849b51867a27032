/**
 * One etcd lease per distinct TTL, shared by every announcement with that TTL. A lease costs one keep-alive
 * every TTL/3 whatever the number of keys on it, so 500 announcements with a 60 s TTL cost 3 keep-alives a
 * minute instead of 1,500. Withdrawing one announcement deletes its key; the shared lease lives on.
 */
import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from '../log/logger.js';
import type { LeaseFactory } from './lease-takeover.js';

/**
 * How far past its keep-alive a lease may fall before its keeper counts as gone, s. etcd3 renews every TTL/3,
 * so a kept lease never has less than 2/3 of its TTL left (less a round trip); a new agent process takes the
 * previous one's leases over and renews them at once (lease-takeover.ts), within a restart of a few seconds
 * (the agent unit's RestartSec=2). Past this margin nobody has renewed it: the agent was killed, stopped
 * without revoking, is hung or cut off from etcd.
 */
export const RENEWAL_MARGIN_S = 5;

/**
 * Whether a lease that etcd says has `leftS` of `grantedS` seconds left is still being renewed by its keeper
 * (judged on etcd's clock: no machine's clock enters). A lease of 7 s or less is never judged before it expires.
 */
export function isLeaseRenewed(leftS: number, grantedS: number): boolean {
  return leftS > 0 && leftS >= (grantedS * 2) / 3 - RENEWAL_MARGIN_S;
}

/** Leases a previous agent process left (by TTL), to take over, and where to report each lease granted. */
export interface LeaseHandover {
  readonly factory: LeaseFactory;
  /** Lease ids by TTL, from the state dir; each is tried once per grant until one succeeds. */
  readonly takeOver: ReadonlyMap<number, string>;
  /** Called with every lease the pool holds after a grant or takeover (persist them for the next process). */
  readonly onChange: (leases: ReadonlyMap<number, string>) => void;
}

/** Client-side request counters (what the agent asked of etcd). */
export interface EtcdRequestCounts {
  grants: number;
  keepalives: number;
  revokes: number;
  puts: number;
  deletes: number;
}

interface Group {
  lease: Lease;
  id: Promise<string>;
  granted: boolean;
}

/** Grants, keeps alive, re-grants and revokes the agent's leases. */
export class LeasePool {
  readonly #client: Etcd3;
  readonly #log: Logger;
  readonly #onLost: (ttl: number) => void;
  readonly #groups = new Map<number, Group>();
  readonly counts: EtcdRequestCounts;
  readonly #handover: LeaseHandover | undefined;
  readonly #takeOver: Map<number, string>;
  readonly #held = new Map<number, string>();
  #closed = false;

  /** `onLost(ttl)` is called when a granted lease is gone: its keys must be put again on a new one. */
  constructor(client: Etcd3, log: Logger, onLost: (ttl: number) => void, counts: EtcdRequestCounts, handover?: LeaseHandover) {
    this.#client = client;
    this.#log = log;
    this.#onLost = onLost;
    this.counts = counts;
    this.#handover = handover;
    this.#takeOver = new Map(handover?.takeOver ?? []);
  }

  /** The lease id (decimal string) for `ttl`, granting a lease first if there is none. Rejects during an outage. */
  async leaseId(ttl: number): Promise<string> {
    if (this.#closed) throw new Error('agent is stopping');
    let g = this.#groups.get(ttl);
    if (!g) {
      this.counts.grants++;
      const previous = this.#takeOver.get(ttl);
      const lease = this.#handover ? this.#handover.factory(ttl, previous) : this.#client.lease(ttl);
      const group: Group = { lease, id: lease.grant(), granted: false };
      void group.id.then((id) => {
        if (this.#groups.get(ttl) !== group || this.#closed) return;
        this.#takeOver.delete(ttl);
        if (previous === id) this.#log.info(`took over lease ${id} (TTL ${ttl}s) from the previous agent: its keys stay`);
        else if (previous !== undefined) this.#log.info(`the previous agent's lease ${previous} (TTL ${ttl}s) is gone: granted lease ${id}`);
        this.#held.set(ttl, id);
        this.#handover?.onChange(new Map(this.#held));
      }, () => undefined);
      g = group;
      this.#groups.set(ttl, group);
      lease.on('keepaliveFired', () => void this.counts.keepalives++);
      lease.on('lost', (err: Error) => {
        if (this.#groups.get(ttl) === group) {
          this.#groups.delete(ttl);
          this.#held.delete(ttl);
        }
        // A failed grant also emits `lost`; leaseId's caller already sees that rejection and retries.
        if (!group.granted || this.#closed) return;
        this.#log.warn(`etcd lease for TTL ${ttl}s lost (${err.message}); granting a new one and putting its keys again`);
        this.#onLost(ttl);
      });
      group.id.catch(() => {
        if (this.#groups.get(ttl) === group) this.#groups.delete(ttl);
      });
    }
    const id = await g.id;
    g.granted = true;
    return id;
  }

  /** TTLs with a live lease. */
  ttls(): number[] {
    return [...this.#groups.keys()];
  }

  /** Revokes every lease (their keys vanish at once) within `timeoutMs`; returns how many were revoked. */
  async revokeAll(timeoutMs: number): Promise<{ revoked: number; failed: string[] }> {
    this.#closed = true;
    const groups = [...this.#groups.entries()];
    this.#groups.clear();
    const failed: string[] = [];
    let revoked = 0;
    await Promise.all(groups.map(async ([ttl, g]) => {
      this.counts.revokes++;
      try {
        await withTimeout(g.lease.revoke(), timeoutMs);
        revoked++;
      } catch (e) {
        g.lease.release();
        failed.push(`TTL ${ttl}s: ${(e as Error).message}`);
      }
    }));
    return { revoked, failed };
  }

  /**
   * Stops keep-alives without revoking: the keys live until their TTL runs out, unless a new agent process
   * takes the leases over first (an upgrade or restart), or this is a test of a crash.
   */
  releaseAll(): void {
    this.#closed = true;
    for (const g of this.#groups.values()) g.lease.release();
    this.#groups.clear();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms); }),
  ]);
}
