/**
 * A mirror of some etcd prefixes that never misses a change: read everything once at one revision, then
 * watch from the next revision. What can go wrong, and what is done about it:
 *
 * - Many events in one revision (a lease revoke or expiry, `del --prefix`, a txn): every one is delivered,
 *   in order (src/etcd/watch-cursor.ts).
 * - Reconnect (etcd restarted, network blip): the etcd3 watcher resumes by itself, but from the header
 *   revision of the last response it saw, which can be ahead of the events it delivered (etcd sends large
 *   catch-ups in fragments stamped with the current revision). So the resume point is pinned to the
 *   watch cursor (the last event actually delivered, and how many of its revision's events were), by
 *   rewriting the watcher's start revision after each response: nothing applied twice, nothing skipped.
 * - Compaction past the resume point: the watcher emits `error` ("Watcher canceled … compacted"). The
 *   mirror reads everything again (a resync) and watches from there.
 * - A wiped or replaced etcd: the watch silently delivers nothing. Detected from response headers (cluster
 *   id changed, revision or raft term going backwards), on watch responses and on a slow probe; resync.
 * - etcd down: reads are retried with backoff until it is back; nothing is reported meanwhile, so consumers
 *   keep their last good state.
 */
import type { Etcd3, IKeyValue, IResponseHeader, Watcher } from 'etcd3';
import { WatchCursor } from './watch-cursor.js';

/** One key as the mirror reports it. */
export interface MirrorKeyValue {
  readonly key: string;
  readonly value: Buffer;
  /** Lease id, "0" when none. */
  readonly lease: string;
  readonly modRevision: number;
}

/** A change from the watch. */
export interface MirrorChange {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** Empty for a delete. */
  readonly value: Buffer;
  /** Lease id of a put, "0" when none (and always "0" for a delete: the consumer knows the old one). */
  readonly lease: string;
  readonly revision: number;
}

export interface WatchPrefixesOptions {
  readonly prefixes: readonly string[];
  readonly signal: AbortSignal;
  /** sd-daemon style log line (`<4>…`). */
  readonly log: (line: string) => void;
  /** The full state at `revision` (first read, and every resync). Replaces whatever the consumer had. */
  readonly onSnapshot: (revision: number, kvs: readonly MirrorKeyValue[]) => void;
  /** Changes of one watch response, in revision order. */
  readonly onChanges: (changes: readonly MirrorChange[], revision: number) => void;
  /** How often to check the headers of an idle connection, ms. Default 5000. */
  readonly probeIntervalMs?: number;
}

/** The identity of the etcd we are talking to, to notice when it is replaced. */
interface Identity {
  clusterId: string;
  raftTerm: bigint;
  /** Revision of the last probe (or the snapshot). */
  revision: number;
}

function toKv(kv: IKeyValue): MirrorKeyValue {
  return { key: kv.key.toString('utf8'), value: kv.value, lease: String(kv.lease ?? '0'), modRevision: Number(kv.mod_revision) };
}

/** Reads every prefix at one revision (the first read's). */
export async function readPrefixes(client: Etcd3, prefixes: readonly string[]): Promise<{ revision: number; header: IResponseHeader; kvs: MirrorKeyValue[] }> {
  const first = await client.getAll().prefix(prefixes[0]!).exec();
  const revision = Number(first.header.revision);
  const kvs = first.kvs.map(toKv);
  for (const p of prefixes.slice(1)) {
    const res = await client.getAll().prefix(p).revision(revision).exec();
    kvs.push(...res.kvs.map(toKv));
  }
  return { revision, header: first.header, kvs };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Why one watch round ended. */
type RoundEnd = { readonly resync: string } | { readonly aborted: true };

/**
 * Mirrors `prefixes` until `signal` aborts: snapshot, watch, and a resync whenever the watch cannot be
 * trusted to continue (see the module comment).
 */
export async function watchPrefixes(client: Etcd3, opts: WatchPrefixesOptions): Promise<void> {
  const { signal, log } = opts;
  let delay = 50;
  let failedReads = 0;
  while (!signal.aborted) {
    let snap: Awaited<ReturnType<typeof readPrefixes>>;
    try {
      snap = await readPrefixes(client, opts.prefixes);
    } catch (e) {
      if (signal.aborted) break;
      if (failedReads++ === 0) log(`<4>cannot read from etcd (${(e as Error).message}); keeping the last state and retrying`);
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 1000);
      continue;
    }
    if (failedReads > 0) log(`<5>etcd is back: read ${snap.kvs.length} keys at revision ${snap.revision}`);
    failedReads = 0;
    delay = 50;
    opts.onSnapshot(snap.revision, snap.kvs);
    // The consumer may have what it waited for (fleetkit await): a signal aborted already never fires.
    if (signal.aborted) break;
    const identity: Identity = { clusterId: snap.header.cluster_id, raftTerm: BigInt(snap.header.raft_term), revision: snap.revision };
    const end = await watchRound(client, opts, snap.revision, identity);
    if ('aborted' in end) break;
    log(`<4>full resync: ${end.resync}`);
  }
}

/** Watches every prefix from `revision + 1` until a resync is needed or the signal aborts. */
function watchRound(client: Etcd3, opts: WatchPrefixesOptions, revision: number, identity: Identity): Promise<RoundEnd> {
  const { signal, log } = opts;
  return new Promise<RoundEnd>((resolve) => {
    const watchers: Watcher[] = [];
    const dead = new Set<Watcher>();
    let finished = false;
    let disconnected = false;
    // Per watcher, where it stands: where a reconnect must resume.
    const cursors = opts.prefixes.map(() => new WatchCursor(revision));

    /**
     * A header from this etcd: resync when it shows a different or rewound cluster. What "rewound" means
     * depends on where the header comes from. A watch response may be sent before and read after a newer
     * read's response, so its revision is only compared with the changes already delivered on that same
     * watch (a header never names a revision older than the events it carries or follows). The probe's
     * reads are linearizable and sequential: each must be at least the last probe's revision and raft term,
     * and at least every change delivered.
     */
    const checkHeader = (h: IResponseHeader | undefined, floor: number, probe: boolean): boolean => {
      if (!h) return true;
      const rev = Number(h.revision);
      const term = BigInt(h.raft_term);
      const why =
        h.cluster_id !== identity.clusterId ? `etcd cluster id changed (${identity.clusterId} → ${h.cluster_id})`
        : rev < floor ? `etcd revision went backwards (${floor} → ${rev}): data replaced or wiped`
        : probe && term < identity.raftTerm ? `etcd raft term went backwards (${identity.raftTerm} → ${term}): data replaced or wiped`
        : undefined;
      if (why) {
        finish({ resync: why });
        return false;
      }
      if (probe) {
        identity.revision = rev;
        identity.raftTerm = term;
      }
      return true;
    };

    const finish = (end: RoundEnd): void => {
      if (finished) return;
      finished = true;
      clearInterval(probe);
      signal.removeEventListener('abort', onAbort);
      // Cancel the live watchers (not one etcd cancelled: etcd3 would wait forever for its end). Best effort
      // and bounded: during an outage etcd3 just drops them.
      const live = watchers.filter((w) => !dead.has(w));
      const bounded = Promise.race([Promise.allSettled(live.map((w) => w.cancel())), new Promise((r) => setTimeout(r, 1000).unref())]);
      void bounded.then(() => resolve(end));
    };
    const onAbort = (): void => finish({ aborted: true });
    signal.addEventListener('abort', onAbort, { once: true });

    opts.prefixes.forEach((prefix, i) => {
      const w = client.watch().prefix(prefix).startRevision(String(revision + 1)).watcher();
      watchers.push(w);
      // etcd3's own listeners (registered first) set start_revision from the header; ours run after and pin
      // it to the last delivered change, so a reconnect replays anything not yet delivered.
      const cursor = cursors[i]!;
      const pin = (): void => {
        w.request.start_revision = String(cursor.resumeFrom);
      };
      w.on('connected', (res) => {
        pin();
        // A new stream replays from resumeFrom: count that revision's events again.
        cursor.restart();
        if (finished || !checkHeader(res.header, cursor.revision, false)) return;
        if (disconnected) log(`<5>watch of ${prefix} resumed from revision ${cursor.resumeFrom}`);
        disconnected = false;
      });
      w.on('data', (res) => {
        if (finished) return;
        const events = res.events.map((ev) => ({ ev, revision: Number(ev.kv.mod_revision) }));
        const changes: MirrorChange[] = cursor.accept(events).map(({ ev, revision: rev }) => (
          { type: ev.type === 'Put' ? 'put' : 'delete', key: ev.kv.key.toString('utf8'), value: ev.kv.value, lease: String(ev.kv.lease ?? '0'), revision: rev }));
        pin();
        if (!checkHeader(res.header, cursor.revision, false)) return;
        if (changes.length > 0) opts.onChanges(changes, cursor.revision);
      });
      w.on('disconnected', (err) => {
        if (finished || disconnected) return;
        disconnected = true;
        log(`<4>lost the etcd watch (${err.message}); keeping the last state, resuming from revision ${cursor.resumeFrom} when etcd is back`);
      });
      // Always listen for `error`: an unhandled one would crash the process. It means the watch was cancelled
      // by the server (compaction, permissions): only a fresh read can restore a trustworthy state.
      w.on('error', (err) => {
        dead.add(w);
        if (finished) return;
        // etcd3 drops the cancel reason of a compaction; ask etcd whether the resume point is gone.
        void client
          .get(prefix)
          .revision(cursor.resumeFrom)
          .exec()
          .then(
            () => `watch of ${prefix} cancelled by etcd (${err.message})`,
            (e: Error) => (/compacted/.test(e.message) ? `revision ${cursor.resumeFrom} of ${prefix} was compacted` : `watch of ${prefix} cancelled by etcd (${err.message})`),
          )
          .then((why) => finish({ resync: why }));
      });
    });

    const probe = setInterval(() => {
      if (disconnected) return;
      client
        .get(opts.prefixes[0]!)
        .exec()
        .then((res) => {
          if (!finished) checkHeader(res.header, Math.max(identity.revision, ...cursors.map((c) => c.revision)), true);
        })
        .catch(() => undefined); // an outage shows on the watch itself
    }, opts.probeIntervalMs ?? 5000);
    probe.unref();
  });
}
