/**
 * Events from etcd's announcements: a put of a new key is `create`, of an existing key `update`, a delete is
 * `delete`. Tracks the values it has seen so a delete can say what went away, and so a full resync (after a
 * compaction or a replaced etcd) yields exactly the differences. Pure apart from the state it keeps.
 */
import { isRejection, parseAnnouncement } from '../hosts/parse-announcement.js';
import type { OpsEvent } from './ops-event.js';

function describe(key: string, value: Buffer | undefined): { text: string; machine: string | null; bad: boolean } {
  if (!value) return { text: '', machine: null, bad: false };
  const a = parseAnnouncement(key, value);
  if (isRejection(a)) return { text: `unusable value: ${a.reject}`, machine: null, bad: true };
  const r = a.record;
  return { text: `${r.hostname} at ${r.ip}${r.port !== undefined ? `:${r.port}` : ''}${r.container ? ` (container ${r.container})` : ''}`, machine: r.machine || null, bad: false };
}

/** The announcements seen so far, and the events their changes make. */
export class AnnouncementTracker {
  private readonly values = new Map<string, Buffer>();
  private primed = false;

  /**
   * A full read at a revision. The first one is the baseline (no events); later ones (resyncs) give the
   * differences with what was known.
   */
  snapshot(kvs: readonly { readonly key: string; readonly value: Buffer }[], time: Date): OpsEvent[] {
    const next = new Map(kvs.map((kv) => [kv.key, kv.value]));
    const out: OpsEvent[] = [];
    if (this.primed) {
      for (const [key, value] of next) {
        const old = this.values.get(key);
        if (!old || !old.equals(value)) out.push(this.event(old ? 'update' : 'create', key, value, time));
      }
      for (const [key, old] of this.values) if (!next.has(key)) out.push(this.event('delete', key, old, time));
    }
    this.values.clear();
    for (const [k, v] of next) this.values.set(k, v);
    this.primed = true;
    return out;
  }

  /** Changes from the watch, in revision order. */
  changes(changes: readonly { readonly type: 'put' | 'delete'; readonly key: string; readonly value: Buffer }[], time: Date): OpsEvent[] {
    const out: OpsEvent[] = [];
    for (const c of changes) {
      const old = this.values.get(c.key);
      if (c.type === 'delete') {
        if (old === undefined) continue;
        this.values.delete(c.key);
        out.push(this.event('delete', c.key, old, time));
      } else {
        this.values.set(c.key, c.value);
        out.push(this.event(old ? 'update' : 'create', c.key, c.value, time));
      }
    }
    return out;
  }

  private event(action: 'create' | 'update' | 'delete', key: string, value: Buffer, time: Date): OpsEvent {
    const d = describe(key, value);
    const message = action === 'delete' ? `withdrawn${d.text ? `: was ${d.text}` : ''}` : `${action === 'create' ? 'announced' : 'updated'}: ${d.text}`;
    return { time: time.toISOString(), source: 'announcement', action, severity: d.bad && action !== 'delete' ? 'WARNING' : 'INFO', subject: key, machine: d.machine, message };
  }
}
