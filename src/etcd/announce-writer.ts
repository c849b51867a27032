/**
 * Keeps etcd equal to the agent's desired announcements: a put under the TTL's shared lease for every live
 * announcement, a delete for every one that went down or was withdrawn. Desired state is kept in memory and
 * every failed write is retried with backoff, so registrations and container changes during an etcd outage
 * land as soon as etcd answers, and a lost lease is replaced and its keys put again.
 */
import type { Etcd3 } from 'etcd3';
import type { Logger } from '../log/logger.js';
import { LeasePool, type EtcdRequestCounts, type LeaseHandover } from './lease-pool.js';

interface KeyState {
  /** Desired value; undefined: the key must not exist. */
  value: string | undefined;
  ttl: number;
  /** Bumped on every change; a write that finishes for an older version is written again. */
  version: number;
  synced: number;
  busy: boolean;
  /** What to say in the log line when the write lands. */
  note: string;
}

/** Options for AnnounceWriter. */
export interface AnnounceWriterOptions {
  readonly client: Etcd3;
  readonly log: Logger;
  /** Longest retry delay after a failed write, ms. Default 1000 (the outage test allows 2 s). */
  readonly maxRetryMs?: number;
  /** Called when a write lands after failed ones (etcd answers again): etcd may have lost what it held. */
  readonly onRecovered?: () => void;
  /** Leases to take over from a previous agent process, and where to record the leases held. */
  readonly handover?: LeaseHandover;
}

/** Desired-state writer for announcement keys. */
export class AnnounceWriter {
  readonly #client: Etcd3;
  readonly #log: Logger;
  readonly #keys = new Map<string, KeyState>();
  readonly #pool: LeasePool;
  readonly #maxRetry: number;
  readonly #onRecovered: (() => void) | undefined;
  readonly counts: EtcdRequestCounts = { grants: 0, keepalives: 0, revokes: 0, puts: 0, deletes: 0 };
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = 50;
  #failing = false;
  #closed = false;
  #idle: Array<() => void> = [];

  constructor(options: AnnounceWriterOptions) {
    this.#client = options.client;
    this.#log = options.log;
    this.#maxRetry = options.maxRetryMs ?? 1000;
    this.#onRecovered = options.onRecovered;
    this.#pool = new LeasePool(options.client, options.log, (ttl) => this.#leaseLost(ttl), this.counts, options.handover);
  }

  /** Announces `key` with `value` under the lease for `ttl`. */
  put(key: string, value: string, ttl: number, note: string): void {
    const s = this.#keys.get(key);
    if (s && s.value === value && s.ttl === ttl) return;
    this.#change(key, value, ttl, note);
  }

  /** Deletes `key` (if this agent announced it or might have). */
  delete(key: string, note: string): void {
    const s = this.#keys.get(key);
    if (s && s.value === undefined) return;
    this.#change(key, undefined, s?.ttl ?? 0, note);
  }

  /** Keys whose last write landed with a value. */
  announced(): string[] {
    return [...this.#keys].filter(([, s]) => s.value !== undefined && s.synced === s.version).map(([k]) => k);
  }

  /** Resolves when every desired change has landed in etcd. */
  settled(): Promise<void> {
    if (this.#pending() === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Revokes every lease (all keys go at once) and stops. */
  async close(options: { readonly revoke: boolean; readonly timeoutMs?: number }): Promise<{ revoked: number; failed: string[] }> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    if (!options.revoke) {
      this.#pool.releaseAll();
      return { revoked: 0, failed: [] };
    }
    return this.#pool.revokeAll(options.timeoutMs ?? 3000);
  }

  #pending(): number {
    let n = 0;
    for (const s of this.#keys.values()) if (s.synced !== s.version || s.busy) n++;
    return n;
  }

  #change(key: string, value: string | undefined, ttl: number, note: string): void {
    const s = this.#keys.get(key) ?? { value: undefined, ttl, version: 0, synced: 0, busy: false, note };
    s.value = value;
    s.ttl = ttl;
    s.version++;
    s.note = note;
    this.#keys.set(key, s);
    void this.#write(key, s);
  }

  #leaseLost(ttl: number): void {
    if (this.#closed) return;
    for (const [key, s] of this.#keys) {
      if (s.ttl === ttl && s.value !== undefined) {
        s.version++;
        s.note = 'again on a new lease';
        void this.#write(key, s);
      }
    }
  }

  async #write(key: string, s: KeyState): Promise<void> {
    if (s.busy || this.#closed) return;
    // One write per key at a time, so a put and a delete of the same key never overtake each other.
    s.busy = true;
    const version = s.version;
    try {
      if (s.value === undefined) {
        this.counts.deletes++;
        await this.#client.delete().key(key);
        this.#log.info(`withdrew ${key} ${s.note}`);
      } else {
        const id = await this.#pool.leaseId(s.ttl);
        this.counts.puts++;
        await this.#client.put(key).value(s.value).lease(id);
        this.#log.info(`announced ${key} ${s.note}`);
      }
      s.synced = version;
      if (this.#failing) {
        this.#failing = false;
        this.#retryDelay = 50;
        this.#log.info(`etcd answers again; writing ${this.#pending() - 1} pending change(s)`);
        this.#retryAll();
        this.#onRecovered?.();
      }
    } catch (e) {
      if (this.#closed) return;
      if (!this.#failing) this.#log.warn(`etcd write of ${key} failed (${(e as Error).message}); retrying with backoff, registrations are still accepted`);
      this.#failing = true;
      this.#scheduleRetry();
    } finally {
      s.busy = false;
    }
    if (s.synced !== s.version && !this.#failing) void this.#write(key, s);
    if (this.#pending() === 0) for (const f of this.#idle.splice(0)) f();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer || this.#closed) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#retryAll();
    }, this.#retryDelay);
    this.#retryDelay = Math.min(this.#retryDelay * 2, this.#maxRetry);
  }

  #retryAll(): void {
    if (this.#closed) return;
    // During an outage, probe with one key first rather than hammering etcd with every pending write.
    for (const [key, s] of this.#keys) {
      if (s.synced !== s.version && !s.busy) {
        void this.#write(key, s);
        if (this.#failing) return;
      }
    }
  }
}
