/**
 * Watches what the cluster shows the world, with timestamps: the announcement keys in etcd (an etcd watch,
 * so each change carries the moment it was seen, not the moment a poll noticed it) and the entries of the
 * hosts file (read every few milliseconds; the file is small). The flow's timings come from here.
 */
import { readFile } from 'node:fs/promises';
import { connectEtcd } from '../../src/etcd/connect.js';
import { isFactsKey } from '../../src/etcd/key-layout.js';
import { waitFor } from '../env/parts.js';
import { hostsEntries } from './e2e-cluster.js';

/** A record as the agent writes it (src/announce/record.ts). */
export interface Announced {
  readonly ip: string;
  readonly port?: number;
  readonly hostname: string;
  readonly host: string;
  readonly machine: string;
  readonly container: string;
  readonly version: number;
  readonly time: string;
}

/** A value observed at a moment (ms since the epoch). */
export interface Seen<T> {
  readonly at: number;
  readonly value: T;
}

type Client = Awaited<ReturnType<typeof connectEtcd>>;
type Watcher = Awaited<ReturnType<ReturnType<ReturnType<Client['watch']>['prefix']>['create']>>;

/** Live view of one cluster's keys and hosts file. */
export class Observer {
  /** key → value and when it last changed (deleted keys are absent, with their deletion time in `gone`). */
  readonly keys = new Map<string, Seen<string>>();
  readonly gone = new Map<string, number>();
  /** The hosts file's entries (hostname → IP) and when they last changed. */
  hosts: Seen<Map<string, string>> = { at: 0, value: new Map() };
  private hostsText: string | undefined;
  private polling: NodeJS.Timeout | undefined;
  private reading = false;

  private constructor(
    readonly client: Client,
    private readonly watcher: Watcher,
    private readonly hostsFile: string,
  ) {}

  /** Starts watching `prefix` in etcd (from now on, after reading what is there) and the hosts file. */
  static async start(endpoints: readonly string[], prefix: string, hostsFile: string): Promise<Observer> {
    const client = await connectEtcd({ endpoints });
    const initial = await client.getAll().prefix(`${prefix}/`).exec();
    const watcher = await client.watch().prefix(`${prefix}/`).startRevision(String(Number(initial.header.revision) + 1)).create();
    const o = new Observer(client, watcher, hostsFile);
    // The agents' container facts (`<prefix>/_facts/…`) are bookkeeping beside the announcements, not keys of
    // the cluster: they stay with the agent's lease after a destroy, saying the container is gone.
    const kept = (kv: { key: Buffer }): boolean => !isFactsKey(prefix, kv.key.toString());
    for (const kv of initial.kvs.filter(kept)) o.keys.set(kv.key.toString(), { at: Date.now(), value: kv.value.toString() });
    watcher.on('put', (kv) => {
      if (!kept(kv)) return;
      o.keys.set(kv.key.toString(), { at: Date.now(), value: kv.value.toString() });
      o.gone.delete(kv.key.toString());
    });
    watcher.on('delete', (kv) => {
      if (!kept(kv)) return;
      o.keys.delete(kv.key.toString());
      o.gone.set(kv.key.toString(), Date.now());
    });
    await o.readHosts();
    o.polling = setInterval(() => void o.readHosts(), 5);
    return o;
  }

  private async readHosts(): Promise<void> {
    if (this.reading) return;
    this.reading = true;
    try {
      const text = await readFile(this.hostsFile, 'utf8').catch(() => '');
      if (text !== this.hostsText) {
        const at = Date.now();
        const entries = hostsEntries(text);
        const before = [...this.hosts.value].sort().join();
        this.hostsText = text;
        if ([...entries].sort().join() !== before || this.hosts.at === 0) this.hosts = { at, value: entries };
      }
    } finally {
      this.reading = false;
    }
  }

  /** The hosts file's text as last read. */
  get hostsFileText(): string {
    return this.hostsText ?? '';
  }

  /** The parsed record under `key`, if announced. */
  record(key: string): Announced | undefined {
    const v = this.keys.get(key)?.value;
    return v === undefined ? undefined : (JSON.parse(v) as Announced);
  }

  /** Waits until `key` holds a record accepted by `ok`; resolves with it and the moment it was put. */
  async announced(key: string, ok: (r: Announced) => boolean, timeoutMs: number): Promise<Seen<Announced>> {
    return waitFor(() => {
      const r = this.record(key);
      return r && ok(r) ? { at: this.keys.get(key)!.at, value: r } : undefined;
    }, { what: `${key} announced in etcd`, timeoutMs, intervalMs: 2 });
  }

  /** Waits until `key` is absent; resolves with the moment it was deleted (0 when never seen). */
  async withdrawn(key: string, timeoutMs: number): Promise<number> {
    return waitFor(() => (this.keys.has(key) ? undefined : { at: this.gone.get(key) ?? 0 }), { what: `${key} gone from etcd`, timeoutMs, intervalMs: 2 }).then((x) => x.at);
  }

  /** Waits until the hosts file's entries satisfy `ok`; resolves with them and the moment they were read. */
  async hostsMatch(what: string, ok: (entries: Map<string, string>) => boolean, timeoutMs: number): Promise<Seen<Map<string, string>>> {
    return waitFor(() => (ok(this.hosts.value) ? this.hosts : undefined), { what: `hosts file ${what}`, timeoutMs, intervalMs: 2 });
  }

  /** Stops watching. */
  async close(): Promise<void> {
    clearInterval(this.polling);
    await this.watcher.cancel().catch(() => undefined);
    this.client.close();
  }
}
