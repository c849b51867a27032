/**
 * What the watcher knows of etcd: announcements (validated), flannel's config and leases, and the lease of
 * each key (to tell an expiry from a delete). Fed with snapshots and changes; pure apart from the log
 * callback, so tests drive it without etcd.
 */
import { parseFlannelConfig, parseLease, type FlannelConfig, type FlannelLease } from '../flannel/flannel-etcd.js';
import { isRejection, parseAnnouncement, quoteForLog, type Announcement } from './parse-announcement.js';
import type { ReservedNames } from './reserved-names.js';
import { selectEntries, type Selection } from './select-entries.js';

/** Where the watched keys live. */
export interface HostsKeyLayout {
  /** `<prefix>/<cluster>/`, with the trailing slash. */
  readonly announcements: string;
  /** flannel's prefix without a trailing slash (`/coreos.com/network`), or undefined when not watched. */
  readonly flannel: string | undefined;
}

/** The last change applied, for the hook (`etcdctl exec-watch` names). */
export interface LastChange {
  readonly action: 'set' | 'delete' | 'expire';
  readonly key: string;
  /** The raw bytes: the hook decides what may enter its environment (src/hosts/run-hook.ts). */
  readonly value: Buffer;
}

/** A key/value as applied. */
export interface StateKeyValue {
  readonly key: string;
  readonly value: Buffer;
  readonly lease: string;
}

/** The mirrored state. */
export class HostsState {
  private readonly layout: HostsKeyLayout;
  private readonly log: (line: string) => void;
  private readonly announcements = new Map<string, Announcement>();
  private readonly leases = new Map<string, FlannelLease>();
  private readonly leaseOfKey = new Map<string, string>();
  private flannelConfig: FlannelConfig | undefined;
  /** Reason last logged per key, so a record left out is logged once per change, not once per write. */
  private readonly logged = new Map<string, string>();
  revision = 0;
  lastChange: LastChange | undefined;

  constructor(layout: HostsKeyLayout, log: (line: string) => void) {
    this.layout = layout;
    this.log = log;
  }

  /** Replaces everything with a full read at `revision`. */
  applySnapshot(revision: number, kvs: readonly StateKeyValue[]): void {
    this.announcements.clear();
    this.leases.clear();
    this.leaseOfKey.clear();
    this.flannelConfig = undefined;
    for (const kv of kvs) this.put(kv);
    this.revision = revision;
  }

  /** Applies one change from the watch. */
  applyChange(type: 'put' | 'delete', kv: StateKeyValue, revision: number): void {
    if (type === 'put') {
      this.put(kv);
      this.lastChange = { action: 'set', key: kv.key, value: kv.value };
    } else {
      const hadLease = (this.leaseOfKey.get(kv.key) ?? '0') !== '0';
      this.remove(kv.key);
      this.lastChange = { action: hadLease ? 'expire' : 'delete', key: kv.key, value: Buffer.alloc(0) };
    }
    this.revision = Math.max(this.revision, revision);
  }

  private note(key: string, reason: string | undefined): void {
    if (reason === undefined) {
      this.logged.delete(key);
      return;
    }
    if (this.logged.get(key) === reason) return;
    this.logged.set(key, reason);
    this.log(`<4>ignoring ${quoteForLog(key, 200)}: ${reason}`);
  }

  private put(kv: StateKeyValue): void {
    const { key, value } = kv;
    this.leaseOfKey.set(key, kv.lease);
    const f = this.layout.flannel;
    if (key.startsWith(this.layout.announcements)) {
      const a = parseAnnouncement(key, value);
      if (isRejection(a)) {
        this.announcements.delete(key);
        this.note(key, a.reject);
      } else {
        this.announcements.set(key, a);
        this.note(key, undefined);
      }
    } else if (f !== undefined && key === `${f}/config`) {
      const c = parseFlannelConfig(value);
      // A broken config is logged and treated as no config: refusing every entry over a typo would empty
      // the hosts file of every host at once.
      this.flannelConfig = isRejection(c) ? undefined : c;
      this.note(key, isRejection(c) ? `${c.reject}; flannel subnet checks are off until it is fixed` : undefined);
    } else if (f !== undefined && key.startsWith(`${f}/subnets/`)) {
      const l = parseLease(key, value);
      if (isRejection(l)) this.leases.delete(key);
      else this.leases.set(key, l);
      this.note(key, isRejection(l) ? l.reject : undefined);
    }
  }

  private remove(key: string): void {
    this.leaseOfKey.delete(key);
    this.announcements.delete(key);
    this.leases.delete(key);
    this.logged.delete(key);
    if (this.layout.flannel !== undefined && key === `${this.layout.flannel}/config`) this.flannelConfig = undefined;
  }

  /** The entries to write now, `reserved` names refused; records left out for a new reason are logged. */
  select(reserved?: ReservedNames): Selection {
    const sel = selectEntries(this.announcements.values(), { config: this.flannelConfig, leases: this.leases }, reserved);
    for (const key of this.announcements.keys()) this.note(key, sel.excluded.get(key));
    return sel;
  }
}
